/**
 * Migration rehearsal end to end: a real pair, a snapshot, a sandbox restored from it, and the
 * example app's migration tool run forward, back and forward again on the sandbox's PostgreSQL.
 * Production's data is fingerprinted before and after: the rehearsal never touches it.
 */
import * as assert from "assert";
import { execFileSync } from "child_process";
import * as fs from "fs";
import * as path from "path";
import * as YAML from "yaml";
import { Client } from "pg";
import * as run from "../stack/run";
import { snapshotStack } from "../stack/snapshot";
import { program } from "../index";
import { fingerprint, formatVerdict, MigrationFailed, rehearse, replicatedProductionIn } from "../rehearsal";
import { destroyExpired, judgeExpiry, listSandboxes } from "../stack/expiry";
import { isAlive } from "../components/local/ops/proc";
import { testRunsFor } from "../stack/testRuns";
import { localPairConfig, localSandboxConfig } from "./support/stacks";
import { tempProject, TempProject, withEnv } from "./support/project";

const BASE = 20200 + (process.pid % 50) * 10;
const MIGRATE = "node examples/app/migrate.js";
const APP_MIGRATIONS = path.resolve(__dirname, "..", "examples", "app", "migrations");

describe("migration rehearsal on a sandbox (real PostgreSQL)", function () {
    this.timeout(300_000);
    let proj: TempProject;
    let home: string;
    let logs = "";
    let prodUrl: string;
    const env = () => ({ PULUMI_BACKEND_URL: `file://${proj.stateDir}`, SWITCHYARD_HOME: home });
    const target = (stackName: string): run.StackTarget => ({ stackName, root: proj.root, program, onOutput: (s) => (logs += s) });
    const inEnv = <T>(fn: () => Promise<T>) => withEnv(env(), fn);

    /** A migrations folder: the app's own, plus a candidate 003 with the given up and down SQL; the command and the folder to lint. */
    function candidate(name: string, up: string, down: string): { command: string; dir: string } {
        const dir = path.join(proj.root, `migrations-${name}`);
        fs.cpSync(APP_MIGRATIONS, dir, { recursive: true });
        fs.writeFileSync(path.join(dir, `003_${name}.up.sql`), up);
        fs.writeFileSync(path.join(dir, `003_${name}.down.sql`), down);
        return { command: `MIGRATIONS_DIR=${dir} ${MIGRATE}`, dir };
    }

    before(async () => {
        proj = tempProject({
            pair: YAML.stringify({ config: localPairConfig(BASE, { "switchyard:traffic": { blue: 100, green: 0 } }) }),
            sandbox: YAML.stringify({ config: localSandboxConfig(BASE, { "switchyard:migrations": { command: MIGRATE } }) }),
        });
        home = path.join(proj.root, "home");
        const up = await inEnv(() => run.up(target("pair")));
        prodUrl = up.outputs.databaseUrl.value as string;
        for (const name of ["espresso", "flat white", "cortado", "mocha"]) {
            const r = await fetch(`${up.outputs.url.value}/items`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ name }) });
            assert.strictEqual(r.status, 201);
        }
        await inEnv(() => snapshotStack(target("pair")));
        await inEnv(() => run.up(target("sandbox")));
    });

    after(async () => {
        await inEnv(async () => {
            for (const s of ["short", "sandbox", "pair"]) await run.destroy(target(s)).catch(() => undefined);
        });
        proj.cleanup();
    });

    afterEach(function () {
        if (this.currentTest?.state === "failed") process.stderr.write(logs.slice(-4000));
        logs = "";
    });

    it("rehearses the release's migration (--last 1) forward, back and forward again: every check passes, production untouched", async () => {
        const prodBefore = await fingerprint(prodUrl);
        const lines: string[] = [];
        const r = await inEnv(() => rehearse(target("sandbox"), { last: 1, cwd: path.resolve(__dirname, ".."), onProgress: (l) => lines.push(l) }));
        assert.ok(r.verdict.ok, JSON.stringify(r.verdict, null, 2));
        assert.deepStrictEqual(r.verdict.applied, ["002_items_add_sku"]);
        const { start, forward, back, again } = r.fingerprints;
        assert.strictEqual(start.tables["public.items"].rows, 4, "the sandbox holds production's rows");
        assert.ok(!start.tables["public.items"].columns.includes("sku text") && forward.tables["public.items"].columns.includes("sku text"));
        assert.deepStrictEqual(back.tables, start.tables, "back restores the start exactly");
        assert.deepStrictEqual(again.tables["public.items"].columns, forward.tables["public.items"].columns);
        assert.match(lines.join("\n"), /back: {4}node examples\/app\/migrate\.js down 1/);
        assert.deepStrictEqual(await fingerprint(prodUrl), prodBefore, "production's database is exactly as before");
    });

    it("records a rehearsal in the sandbox's state as a run of the suite `rehearsal` of its candidate version", async () => {
        const r = await inEnv(() => rehearse(target("sandbox"), { last: 1, record: true, cwd: path.resolve(__dirname, "..") }));
        assert.ok(r.verdict.ok, JSON.stringify(r.verdict, null, 2));
        const runs = await inEnv(() => testRunsFor(target("sandbox")));
        const last = runs[runs.length - 1];
        assert.ok(last, "a run is in the state");
        assert.deepStrictEqual([last.suite, last.version, last.passed], ["rehearsal", "1.1.0", true], JSON.stringify(last));
        assert.match(last.outputTail, /rehearsal passed|passed/i);
    });

    it("lints the example app's two candidates and measures their cost on the sandbox's data: the unsafe one named with its fixes, the safe rewrite passes", async () => {
        const ROWS = 200_000; // enough rows that building the index takes many sampling intervals
        const root = path.resolve(__dirname, "..");
        const sandboxUrl = (await inEnv(() => run.outputs(target("sandbox")))).databaseUrl.value as string;
        const db = new Client({ connectionString: sandboxUrl });
        await db.connect();
        const migrate = (dir: string, ...args: string[]) =>
            execFileSync("node", ["examples/app/migrate.js", ...args], { cwd: root, env: { ...process.env, DATABASE_URL: sandboxUrl, MIGRATIONS_DIR: dir }, encoding: "utf8" });
        try {
            await db.query(`INSERT INTO items (name) SELECT 'bulk ' || g FROM generate_series(1, ${ROWS}) g`);
            const runs: Record<string, Awaited<ReturnType<typeof rehearse>>> = {};
            for (const kind of ["unsafe", "safe"]) {
                const dir = path.join(root, "examples", "app", "candidates", kind);
                const r = await inEnv(() => rehearse(target("sandbox"), { command: `MIGRATIONS_DIR=${dir} ${MIGRATE}`, dir, cwd: root }));
                process.stdout.write(`\n      --- rehearsal of the ${kind} candidate on ${ROWS + 4} rows ---\n${formatVerdict(r.verdict).replace(/^/gm, "      ")}\n`);
                assert.deepStrictEqual(r.verdict.applied, ["003_items_name_index"]);
                assert.strictEqual(r.fingerprints.start.tables["public.items"].rows, ROWS + 4);
                runs[kind] = r;
                migrate(dir, "down", "1"); // the sandbox as it was, for the next candidate and the next tests
            }
            const unsafe = runs.unsafe.verdict;
            assert.strictEqual(unsafe.ok, false);
            assert.deepStrictEqual(
                unsafe.lint?.map((f) => [f.rule, f.line, f.statement]),
                [
                    ["index-without-concurrently", 5, "CREATE INDEX items_name_idx ON items (name)"],
                    ["missing-lock-timeout", 5, "CREATE INDEX items_name_idx ON items (name)"],
                    ["constraint-without-not-valid", 6, "ALTER TABLE items ADD CONSTRAINT items_name_not_blank CHECK (name <> '')"],
                ],
            );
            const lintCheck = unsafe.checks.find((c) => c.name.includes("(lint)"));
            assert.strictEqual(lintCheck?.ok, false);
            assert.match(formatVerdict(unsafe), /003_items_name_index line 5: CREATE INDEX items_name_idx ON items \(name\)\n\s+builds index items_name_idx on items under a SHARE lock[^\n]*\n\s+fix: CREATE INDEX CONCURRENTLY/);
            assert.match(formatVerdict(unsafe), /fix: ADD CONSTRAINT … NOT VALID/);
            assert.ok(unsafe.checks.filter((c) => c !== lintCheck).every((c) => c.ok), "only the lint fails: the data checks pass");
            // the cost, measured: the unsafe build held a lock that blocks writes for the whole build
            const uc = unsafe.cost!.migrations.find((m) => m.migration === "003_items_name_index")!;
            assert.ok(uc.observed && uc.ranMs > 0, JSON.stringify(unsafe.cost));
            const share = uc.locks.find((l) => l.relation === "public.items" && l.mode === "ShareLock");
            assert.ok(share && share.blocks === "writes" && share.heldMs >= unsafe.cost!.intervalMs, JSON.stringify(uc));

            const safe = runs.safe.verdict;
            assert.ok(safe.ok, formatVerdict(safe));
            assert.deepStrictEqual(safe.lint, []);
            const sc = safe.cost!.migrations.find((m) => m.migration === "003_items_name_index")!;
            assert.ok(sc.observed && sc.ranMs > 0, JSON.stringify(safe.cost));
            assert.ok(sc.locks.some((l) => l.mode === "ShareUpdateExclusiveLock" && l.blocks === "no reads or writes" && l.heldMs > 0), JSON.stringify(sc));
            assert.ok(!sc.locks.some((l) => l.mode === "ShareLock"), "the concurrent build never blocks writes");
            assert.strictEqual((await db.query("SELECT count(*)::int AS n FROM items")).rows[0].n, ROWS + 4);
        } finally {
            await db.query("ALTER TABLE items DROP CONSTRAINT IF EXISTS items_name_not_blank; DROP INDEX IF EXISTS items_name_idx");
            await db.query("DELETE FROM schema_migrations WHERE name = '003_items_name_index'");
            await db.query("DELETE FROM items WHERE name LIKE 'bulk %'");
            await db.end();
        }
        assert.strictEqual((await fingerprint(sandboxUrl)).tables["public.items"].rows, 4, "the sandbox is back to production's rows for the next tests");
    });

    it("for a replicated pair (--replicated): the additive release passes; a CHECK … NOT VALID, fine for a shared database, fails that check alone, named with its file and table", async () => {
        const root = path.resolve(__dirname, "..");
        // The pair here shares its database: the sandbox's reference to it, read from the real state, says so
        const resources = await inEnv(async () => run.stateResources(await run.openStack(target("sandbox"))));
        const ref = resources.find((r) => r.type === "pulumi:pulumi:StackReference");
        assert.strictEqual((ref?.outputs.outputs as Record<string, unknown> | undefined)?.role, "blue-green", JSON.stringify(ref?.outputs));
        assert.strictEqual(replicatedProductionIn(resources), undefined);

        const additive = await inEnv(() => rehearse(target("sandbox"), { last: 1, replicated: true, cwd: root }));
        assert.ok(additive.verdict.ok, formatVerdict(additive.verdict));
        assert.deepStrictEqual(additive.verdict.replication?.breaks, []);
        assert.strictEqual(additive.verdict.replication?.because, "--replicated");
        assert.ok(additive.verdict.replication?.tables.includes("public.items"), JSON.stringify(additive.verdict.replication));

        const c = candidate("name_check", "SET lock_timeout = '5s';\nALTER TABLE items ADD CONSTRAINT items_name_not_blank CHECK (name <> '') NOT VALID;", "ALTER TABLE items DROP CONSTRAINT items_name_not_blank;");
        const migrate = (...args: string[]) =>
            execFileSync("node", ["examples/app/migrate.js", ...args], { cwd: root, env: { ...process.env, DATABASE_URL: r0.databaseUrl, MIGRATIONS_DIR: c.dir }, encoding: "utf8" });
        const r0 = await inEnv(() => rehearse(target("sandbox"), { ...c, replicated: true, cwd: root }));
        try {
            const v = r0.verdict;
            assert.strictEqual(v.ok, false);
            assert.deepStrictEqual(v.applied, ["003_name_check"]);
            assert.deepStrictEqual(
                v.replication?.breaks.map((b) => [b.kind, b.table, b.file, b.line, b.statement]),
                [["new-constraint", "public.items", path.join(c.dir, "003_name_check.up.sql"), 2, "ALTER TABLE items ADD CONSTRAINT items_name_not_blank CHECK (name <> '') NOT VALID"]],
            );
            const failed = v.checks.filter((x) => !x.ok).map((x) => x.name);
            assert.deepStrictEqual(failed, ["applied to green alone, the SQL is additive: replication from blue keeps working (--replicated)"], formatVerdict(v));
            assert.match(formatVerdict(v), /003_name_check\.up\.sql line 2: ALTER TABLE items ADD CONSTRAINT items_name_not_blank CHECK \(name <> ''\) NOT VALID\n\s+public\.items: adds a check constraint items_name_not_blank \(NOT VALID\): blue does not have it/);
            // The same candidate for a shared database: the check is not asked for, and it passes
            const shared = await inEnv(() => rehearse(target("sandbox"), { ...c, last: 1, cwd: root }));
            assert.ok(shared.verdict.ok, formatVerdict(shared.verdict));
            assert.strictEqual(shared.verdict.replication, undefined);
        } finally {
            migrate("down", "1"); // the sandbox as it was for the next tests
        }
        assert.deepStrictEqual((await fingerprint(r0.databaseUrl)).migrations, ["001_items", "002_items_add_sku"]);
    });

    it("a candidate whose down loses rows fails the rehearsal, naming the table and the loss", async () => {
        const c = candidate("prices", "ALTER TABLE items ADD COLUMN price integer; UPDATE items SET price = 1;", "DELETE FROM items WHERE id > 2; ALTER TABLE items DROP COLUMN price;");
        const r = await inEnv(() => rehearse(target("sandbox"), { ...c, cwd: path.resolve(__dirname, "..") }));
        assert.strictEqual(r.verdict.ok, false);
        assert.deepStrictEqual(r.verdict.applied, ["003_prices"]);
        const back = r.verdict.checks.find((c) => c.name.startsWith("back restores"));
        assert.deepStrictEqual(back?.findings, ["table public.items went from 4 to 2 rows"]);
        assert.deepStrictEqual(
            r.verdict.lint?.map((f) => `${f.rule}: ${f.statement}`),
            ["missing-lock-timeout: ALTER TABLE items ADD COLUMN price integer"],
            "the candidate's SQL is linted from its own folder",
        );
        assert.strictEqual(r.fingerprints.back.tables["public.items"].rows, 2, "the rows really are gone from the sandbox");
        assert.strictEqual((await fingerprint(prodUrl)).tables["public.items"].rows, 4, "and still in production");
    });

    it("a candidate that drops a column the live version reads fails as a contract step", async () => {
        const c = candidate("drop_name", "ALTER TABLE items DROP COLUMN name;", "ALTER TABLE items ADD COLUMN name text NOT NULL DEFAULT '';");
        const r = await inEnv(() => rehearse(target("sandbox"), { ...c, cwd: path.resolve(__dirname, "..") }));
        assert.strictEqual(r.verdict.ok, false);
        const fwd = r.verdict.checks.find((c) => c.name.startsWith("forward only expands"));
        assert.deepStrictEqual(fwd?.findings, ["column public.items.name dropped with 2 non-null values"]);
    });

    it("a migration that fails stops the rehearsal, naming the phase and the error", async () => {
        const c = candidate("broken", "ALTER TABLE no_such_table ADD COLUMN x int;", "SELECT 1;");
        await assert.rejects(inEnv(() => rehearse(target("sandbox"), { ...c, cwd: path.resolve(__dirname, "..") })), (e: Error) => {
            assert.ok(e instanceof MigrationFailed);
            assert.match(e.message, /the migration command failed while running forward \(exit 1\):\nmigrate: migration 003_broken \(up\) failed: relation "no_such_table" does not exist/);
            return true;
        });
    });

    it("the policy pack passes the sandbox on the real engine, and blocks one that would live too long", async () => {
        const pack = path.resolve(__dirname, "..", "policies");
        let text = "";
        const ok = await inEnv(() => run.preview({ ...target("sandbox"), onOutput: (s) => (text += s) }, { policyPacks: [pack] }));
        assert.ok(ok.changeSummary, text);
        assert.doesNotMatch(text, /\[(mandatory|advisory)\]/, "no policy reports anything on a compliant sandbox");
        const file = path.join(proj.root, "stacks", "Pulumi.sandbox.yaml");
        const saved = fs.readFileSync(file, "utf8");
        try {
            fs.writeFileSync(file, YAML.stringify({ config: localSandboxConfig(BASE, { "switchyard:sandbox": { productionStack: "organization/switchyard-test/pair", ttlHours: 500, color: "green" } }) }));
            text = "";
            await assert.rejects(inEnv(() => run.preview({ ...target("sandbox"), onOutput: (s) => (text += s) }, { policyPacks: [pack] })));
            assert.match(text, /\[mandatory\]\s+sandbox-expiry-max/);
        } finally {
            fs.writeFileSync(file, saved);
        }
    });

    it("lists sandboxes with their expiry, and destroys the expired one only: its process, port and data gone", async () => {
        const short = localSandboxConfig(BASE, {
            "switchyard:name": "shop-short",
            "switchyard:sandbox": { productionStack: "organization/switchyard-test/pair", ttlHours: 0.0005, color: "green" },
            "switchyard:local": { ports: { app: BASE + 7, database: BASE + 8 } },
        });
        fs.writeFileSync(path.join(proj.root, "stacks", "Pulumi.short.yaml"), YAML.stringify({ config: short }));
        const up = await inEnv(() => run.up(target("short")));
        const pid = up.outputs.appPid.value as number;
        await new Promise((r) => setTimeout(r, 2500)); // 0.0005 h = 1.8 s
        const opts = { root: proj.root, program, onOutput: (s: string) => (logs += s) };
        const list = await inEnv(() => listSandboxes(opts));
        assert.deepStrictEqual(list.map((s) => [s.stack, s.expired]).sort(), [["sandbox", false], ["short", true]]);
        const gone = await inEnv(() => destroyExpired(opts));
        assert.deepStrictEqual(gone, ["short"]);
        assert.strictEqual(isAlive(pid), false, "the expired sandbox's app process is gone");
        assert.ok(!fs.existsSync(path.join(home, "data", "short")), "its data directory is gone");
        const after = await inEnv(() => listSandboxes(opts));
        assert.deepStrictEqual(after.map((s) => s.stack), ["sandbox"], "the live sandbox is kept");
    });

    it("expiry judgement: past, future, and none (which counts as expired)", () => {
        const now = new Date("2026-11-24T10:00:00Z");
        assert.deepStrictEqual(judgeExpiry([{ stack: "a", expiresAt: "2026-11-24T09:00:00Z" }, { stack: "b", expiresAt: "2026-11-24T12:00:00Z" }, { stack: "c" }], now), [
            { stack: "a", expiresAt: "2026-11-24T09:00:00Z", expired: true, remainingMs: -3600000 },
            { stack: "b", expiresAt: "2026-11-24T12:00:00Z", expired: false, remainingMs: 7200000 },
            { stack: "c", expired: true },
        ]);
    });

    it("refuses production, a migrations folder that is not one, and a sandbox without a migration command, with the fix named", async () => {
        await assert.rejects(inEnv(() => rehearse(target("pair"))), /stack "pair" holds a blue-green pair \(shop\), which is production: migrations are rehearsed on a sandbox, never on production/);
        await assert.rejects(inEnv(() => rehearse(target("sandbox"), { last: -1 })), /--last is -1/);
        const sandboxUrl = (await inEnv(() => run.outputs(target("sandbox")))).databaseUrl.value as string;
        const before = await fingerprint(sandboxUrl);
        await assert.rejects(inEnv(() => rehearse(target("sandbox"), { last: 1, dir: "no/such/folder" })), /--migrations-dir is "no\/such\/folder", which is not a folder/);
        fs.writeFileSync(
            path.join(proj.root, "stacks", "Pulumi.sandbox.yaml"),
            YAML.stringify({ config: localSandboxConfig(BASE, { "switchyard:migrations": { command: MIGRATE, dir: "examples/app/no-such" } }) }),
        );
        await assert.rejects(inEnv(() => rehearse(target("sandbox"), { last: 1 })), /switchyard:migrations\.dir in stack "sandbox" is "examples\/app\/no-such", which is not a folder/);
        assert.deepStrictEqual(await fingerprint(sandboxUrl), before, "nothing ran: the sandbox's database is as before");
        fs.writeFileSync(path.join(proj.root, "stacks", "Pulumi.sandbox.yaml"), YAML.stringify({ config: localSandboxConfig(BASE) }));
        await assert.rejects(inEnv(() => rehearse(target("sandbox"))), /no migration command: set switchyard:migrations\.command in stack "sandbox"/);
    });
});
