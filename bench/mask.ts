/**
 * Masking speed: a 1 GB table of personal data masked by `maskDatabase` (components/local/ops/mask.ts:
 * one UPDATE of the table, in one transaction), against PostgreSQL's own copy of the same table
 * (`CREATE TABLE … AS SELECT *`). Goal: masking ≤ 2× the copy.
 *
 * For the choice between the two ways of rewriting a table once, it also times the same masking
 * expressions in a `CREATE TABLE … AS SELECT` (the copy half of a copy-and-swap, before any index,
 * constraint or foreign key is rebuilt).
 *
 * Run: npm run bench:mask   (under the e2e lock: `flock /tmp/switchyard-e2e.lock npm run bench:mask`).
 * Env: BENCH_MASK_GB (default 1: the table's heap size in GB), BENCH_DIR (default /var/tmp).
 * The table is made with generate_series in SQL; everything is removed at the end.
 */
import * as fs from "fs";
import * as path from "path";
import { Client } from "pg";
import * as ops from "../components/local/ops";
import { maskExpression, MaskRule } from "../components/masking";
import { atMost, figure, measured, writeBenchResult } from "./result";
import { reportFailure, withCleanup } from "./support";
import { freePort } from "../test/support/ports";

const GB = Number(process.env.BENCH_MASK_GB ?? 1);
/** About 205 bytes of heap per row (measured): 1 GB ≈ 5.2 M rows. */
const ROWS = Math.round((GB * 1024 ** 3) / 205);
const base = path.join(process.env.BENCH_DIR ?? "/var/tmp", `switchyard-bench-mask-${process.pid}`);
const dataDir = path.join(base, "pg");

const RULES: MaskRule[] = [
    { table: "customers", column: "email", rule: "hash" },
    { table: "customers", column: "name", rule: "fake", kind: "name" },
    { table: "customers", column: "phone", rule: "fake", kind: "phone" },
    { table: "customers", column: "address", rule: "fake", kind: "address" },
    { table: "customers", column: "card", rule: "partial", first: 0, last: 4 },
];

async function main(): Promise<void> {
    const started = new Date();
    if (!Number.isFinite(GB) || GB <= 0) throw new Error(`BENCH_MASK_GB is ${process.env.BENCH_MASK_GB}: give a positive number of GB`);
    const port = await freePort();
    fs.mkdirSync(base, { recursive: true });
    await ops.initServer({ dataDir, port, databases: ["bench"] });
    // A client of its own (psql's helper stops a statement at 60 s; these run longer at 1 GB).
    const client = new Client({ host: "127.0.0.1", port, user: "postgres", database: "bench" });
    client.on("error", () => undefined); // the clean-up stops the server under it when the bench fails
    await client.connect();
    const q = async (sql: string): Promise<string> => {
        const r = await client.query(sql);
        const last = Array.isArray(r) ? r[r.length - 1] : r;
        return last.rows?.[0] ? String(Object.values(last.rows[0])[0]) : "";
    };
    const timed = async (sql: string) => {
        await q("CHECKPOINT");
        const t = process.hrtime.bigint();
        await q(sql);
        return Number(process.hrtime.bigint() - t) / 1e6;
    };
    console.log(`making customers: ${ROWS} rows (about ${GB} GB) with generate_series …`);
    await q(
        `CREATE TABLE customers (id bigint PRIMARY KEY, email text NOT NULL, name text NOT NULL, phone text, address text, card text, city text, created_at timestamptz NOT NULL);
         INSERT INTO customers
         SELECT g, 'customer' || g || '@mail.example.org', 'Firstname' || (g % 5000) || ' Lastname' || (g % 7919),
                '+44 (20) ' || lpad((g::bigint * 7919 % 100000000)::text, 8, '0'), g || ' Some Street, Flat ' || (g % 97) || ', Somewhere',
                '4000' || lpad(g::text, 12, '0'), 'City-' || (g % 1000), timestamptz '2020-01-01' + g * interval '1 second'
           FROM generate_series(1, ${ROWS}) g`,
    );
    await q("VACUUM ANALYZE customers");
    const heap = Number(await q("SELECT pg_relation_size('customers')"));
    console.log(`customers: ${(heap / 1024 ** 3).toFixed(2)} GB heap, ${ROWS} rows`);

    const copyMs = await timed("CREATE TABLE customers_copy AS SELECT * FROM customers");
    await q("DROP TABLE customers_copy");
    console.log(`CREATE TABLE … AS SELECT (copy): ${copyMs.toFixed(0)} ms`);

    const info = { columns: Object.fromEntries(["email", "name", "phone", "address", "card"].map((c) => [c, { type: "text", notNull: ["email", "name"].includes(c) }])) };
    const salt = "0123456789abcdef0123456789abcdef";
    const exprs = RULES.map((r) => `${maskExpression(r, info.columns[r.column], salt)} AS "${r.column}"`);
    const ctasMaskedMs = await timed(`CREATE TABLE customers_masked AS SELECT id, ${exprs.join(", ")}, city, created_at FROM customers`);
    await q("DROP TABLE customers_masked");
    console.log(`the masking expressions in a CREATE TABLE … AS SELECT: ${ctasMaskedMs.toFixed(0)} ms`);

    await q("CHECKPOINT");
    const saltFile = path.join(base, "masking.salt");
    const t = process.hrtime.bigint();
    const r = await ops.maskDatabase({ port, database: "bench", role: "sandbox", rules: RULES, saltFile, onProgress: (l) => console.log(l) });
    const maskMs = Number(process.hrtime.bigint() - t) / 1e6;
    const left = await q("SELECT count(*) FROM customers WHERE email LIKE '%@mail.example.org' OR name LIKE 'Firstname%' OR card LIKE '4000%'");
    if (left !== "0" || r.tables[0]?.rows !== ROWS) throw new Error(`masking left ${left} rows unmasked (${r.tables[0]?.rows} of ${ROWS} rewritten)`);
    console.log(`maskDatabase (one UPDATE): ${maskMs.toFixed(0)} ms`);

    await client.end();
    const ratio = Number((maskMs / copyMs).toFixed(2));
    writeBenchResult({
        name: "mask",
        title: "Masking speed",
        command: process.env.BENCH_MASK_GB ? `BENCH_MASK_GB=${GB} npm run bench:mask` : "npm run bench:mask",
        startedAt: started.toISOString(),
        durationMs: Date.now() - started.getTime(),
        figures: [
            figure("table (heap)", Number((heap / 1024 ** 3).toFixed(2)), "GB"),
            figure("rows", ROWS, ""),
            figure("PostgreSQL's copy: CREATE TABLE … AS SELECT *", Math.round(copyMs), "ms"),
            figure("masked by maskDatabase (one UPDATE, one transaction)", Math.round(maskMs), "ms"),
            measured("masked / copy", ratio, "×", atMost(2, "×")),
            figure("the same masking expressions as CREATE TABLE … AS SELECT (copy half of a copy-and-swap)", Math.round(ctasMaskedMs), "ms"),
        ],
        notes: [
            `Rules: ${RULES.map((x) => `${x.column} ${x.rule}${x.kind ? ` ${x.kind}` : ""}`).join(", ")}; city and created_at kept; a primary key on id.`,
            "A CHECKPOINT before each timed step; times include the WAL PostgreSQL writes (wal_level replica, the default).",
            "The copy-and-swap figure leaves out rebuilding the primary key, constraints and foreign keys and swapping the tables, which the UPDATE keeps as they are.",
        ],
    });
}

async function cleanup(): Promise<void> {
    await ops.destroyServer(dataDir).catch(() => undefined);
    fs.rmSync(base, { recursive: true, force: true });
}

withCleanup(main, cleanup).catch(reportFailure);
