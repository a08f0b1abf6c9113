/**
 * Migrations as steps of the cutover, end to end: the real engine, a local pair (PostgreSQL shared by
 * both colors, the example app, HAProxy) and the example's migration command.
 * - A plan carrying a reversible migration, reverted at 10% by a failing gate, ends with the old
 *   schema and no data lost (the rehearsal's fingerprints before and after; rows written meanwhile kept).
 * - A migration whose down drops a column puts the point of no return at 10%: a revert there moves
 *   traffic only and says so; `--dry-run` names that point and changes nothing.
 * - SIGKILL of the CLI's whole process group inside the migrate step, then `revert` or `resume`,
 *   ends in a consistent stack: schema, bookkeeping table and weights agree.
 * Run it under `flock /tmp/switchyard-e2e.lock`.
 */
import * as assert from "assert";
import * as fs from "fs";
import * as path from "path";
import * as YAML from "yaml";
import { execFileSync, spawn } from "child_process";
import { Client } from "pg";
import * as run from "../stack/run";
import * as cut from "../cutover";
import { program } from "../index";
import { fingerprint } from "../rehearsal/postgres";
import { localPairConfig } from "./support/stacks";
import { startLoad } from "./support/http";
import { tempProject, TempProject, withEnv } from "./support/project";
import { portBlock } from "./support/ports";

const ROOT = path.resolve(__dirname, "..");
const BIN = path.join(ROOT, "bin", "switchyard");
const MIGRATE = `node ${path.join(ROOT, "examples", "app", "migrate.js")}`;
const GATE = { intervalMs: 1000, minRequests: 5 };

/** The live members of a process group, from procfs. */
function groupMembers(pgid: number): string[] {
    const found: string[] = [];
    for (const ent of fs.readdirSync("/proc")) {
        if (!/^\d+$/.test(ent)) continue;
        try {
            const stat = fs.readFileSync(`/proc/${ent}/stat`, "utf8");
            const rest = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
            if (Number(rest[2]) === pgid && rest[0] !== "Z" && rest[0] !== "X") found.push(`${ent} ${stat.slice(stat.indexOf("(") + 1, stat.lastIndexOf(")"))}`);
        } catch {
            /* gone */
        }
    }
    return found;
}

describe("migrations as cutover steps (real engine, local pair, PostgreSQL)", function () {
    this.timeout(600_000);
    let BASE = 0;
    let proj: TempProject;
    let home: string;
    let dir: string;
    let out: Record<string, { value: unknown }>;
    let logs = "";
    const env = () => ({ PULUMI_BACKEND_URL: `file://${proj.stateDir}`, SWITCHYARD_HOME: home });
    const target: () => run.StackTarget = () => ({ stackName: "pair", root: proj.root, program, onOutput: (s) => (logs += s) });
    const inEnv = <T>(fn: () => Promise<T>) => withEnv(env(), fn);
    const url = () => out.databaseUrl?.value as string;

    async function sql<T = Record<string, unknown>>(text: string): Promise<T[]> {
        const c = new Client({ connectionString: url() });
        await c.connect();
        try {
            return (await c.query(text)).rows as T[];
        } finally {
            await c.end();
        }
    }
    // node-pg-migrate's bookkeeping: the id in `name` (the table's first column, as the rehearsal reads it).
    const applied = async () => (await sql<{ name: string }>("SELECT name FROM schema_migrations ORDER BY name")).map((r) => r.name);
    const hasIndex = async () => (await sql("SELECT 1 FROM pg_indexes WHERE indexname = 'items_name_idx'")).length > 0;
    const columns = async () => (await sql<{ c: string }>("SELECT column_name AS c FROM information_schema.columns WHERE table_name = 'items' ORDER BY 1")).map((r) => r.c);
    const appPort = (c: cut.Color) => (out.appPorts.value as Record<cut.Color, number>)[c];
    const faults = (c: cut.Color, failRate: number) =>
        fetch(`http://127.0.0.1:${appPort(c)}/admin/faults`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ failRate }) }).then((r) => assert.ok(r.ok));
    /** Only the given candidate migrations in the folder the migrate step reads (beside 001 and 002). */
    function candidates(files: Record<string, string>): void {
        for (const f of fs.readdirSync(dir)) if (!/^00[12]_/.test(f)) fs.rmSync(path.join(dir, f));
        for (const [f, text] of Object.entries(files)) fs.writeFileSync(path.join(dir, f), text);
    }
    const safe = () => {
        const from = path.join(ROOT, "examples", "app", "candidates", "safe");
        candidates(Object.fromEntries(fs.readdirSync(from).map((f) => [f, fs.readFileSync(path.join(from, f), "utf8")])));
    };
    async function consistent(): Promise<cut.CutoverStatus> {
        const s = await inEnv(() => cut.status(target()));
        assert.ok(s.inAgreement, `status agrees: ${s.disagreements.join("; ")}`);
        assert.strictEqual(s.intent, undefined, "no unfinished action");
        return s;
    }

    before(async () => {
        BASE = await portBlock(5);
        const tmp = fs.mkdtempSync(path.join(require("os").tmpdir(), "switchyard-migrations-"));
        dir = path.join(tmp, "migrations");
        fs.mkdirSync(dir);
        for (const f of fs.readdirSync(path.join(ROOT, "examples", "app", "migrations"))) fs.copyFileSync(path.join(ROOT, "examples", "app", "migrations", f), path.join(dir, f));
        const config = localPairConfig(BASE, {
            "switchyard:traffic": { blue: 100, green: 0 },
            "switchyard:migrations": { command: `MIGRATIONS_DIR=${dir} ${MIGRATE}`, dir, table: "schema_migrations" },
        });
        proj = tempProject({ pair: YAML.stringify({ config }) });
        // The CLI loads the same config-driven program as the library calls (Pulumi.yaml `main`).
        fs.appendFileSync(path.join(proj.root, "Pulumi.yaml"), `main: ${path.join(ROOT, "stack", "classic.ts")}\n`);
        home = path.join(proj.root, "home");
        out = (await inEnv(() => run.up(target()))).outputs;
        process.stdout.write(`      pair on ports ${BASE}..${BASE + 4}, migrations in ${dir}\n`);
    });

    after(async () => {
        await inEnv(() => run.destroy(target())).catch(() => undefined);
        proj?.cleanup();
        if (dir) fs.rmSync(path.dirname(dir), { recursive: true, force: true });
    });

    afterEach(function () {
        if (this.currentTest?.state === "failed") process.stderr.write(logs.slice(-4000));
        logs = "";
    });

    it("reverted at 10% by a failing gate: traffic back, then the backward migration; the old schema and every row, by fingerprint", async () => {
        safe();
        for (let i = 0; i < 5; i++) await sql(`INSERT INTO items (name) VALUES ('before-${i}')`);
        const fpBefore = await fingerprint(url());
        assert.deepStrictEqual(fpBefore.migrations, ["001_items", "002_items_add_sku"]);
        await faults("green", 1);
        const load = startLoad(out.url.value as string, { rate: 100, durationMs: 60_000 });
        const events: cut.CutoverEvent[] = [];
        let during: string[] = [];
        try {
            const cp = await inEnv(() =>
                cut.cutover(target(), { steps: [10, 100], pretest: false, backup: true, gate: GATE }, {
                    migrate: true,
                    onEvent: (e) => {
                        events.push(e);
                        if (e.type === "migrate" && e.stage === "up") {
                            // The new schema is in place before any live traffic moves: rows written now must survive the revert.
                            during = ["during-0", "during-1", "during-2"];
                            void Promise.all(during.map((n) => sql(`INSERT INTO items (name) VALUES ('${n}')`)));
                        }
                    },
                }),
            );
            assert.strictEqual(cp.phase, "reverted", cp.reason);
            assert.match(cp.reason ?? "", /gate failed at green 10%/);
        } finally {
            await load.stop();
            await faults("green", 0);
        }
        const kinds = events.map((e) => (e.type === "migrate" ? `migrate:${e.stage}` : e.type)).filter((k) => ["backup", "migrate:up", "step", "revert", "applied", "migrate:down", "done"].includes(k));
        assert.deepStrictEqual(kinds.slice(0, 3), ["backup", "migrate:up", "step"], kinds.join(" "));
        assert.ok(kinds.indexOf("migrate:down") > kinds.lastIndexOf("applied"), `the backward migration after traffic is back: ${kinds.join(" ")}`);
        const down = events.find((e) => e.type === "migrate" && e.stage === "down");
        assert.deepStrictEqual(down && down.type === "migrate" && down.ids, ["003_items_name_index"]);

        const fpAfter = await fingerprint(url());
        assert.deepStrictEqual(fpAfter.migrations, fpBefore.migrations, "the bookkeeping table is as before");
        for (const [t, f] of Object.entries(fpBefore.tables)) assert.deepStrictEqual(fpAfter.tables[t]?.columns, f.columns, `${t}: the old columns`);
        assert.strictEqual(await hasIndex(), false, "the migration's index is gone");
        const names = (await sql<{ name: string }>("SELECT name FROM items")).map((r) => r.name);
        for (const n of [...Array.from({ length: 5 }, (_, i) => `before-${i}`), ...during]) assert.ok(names.includes(n), `row ${n} kept`);
        assert.strictEqual(fpAfter.tables["public.items"].rows, fpBefore.tables["public.items"].rows + during.length, "no row lost, none made up");
        assert.deepStrictEqual(fpAfter.corruptIndexes, []);
        const s = await consistent();
        assert.deepStrictEqual(s.weightsServed, { blue: 100, green: 0 });
    });

    it("--dry-run names the point of no return and changes nothing; a revert past it moves traffic only and says so", async () => {
        candidates({
            "004_items_add_note.up.sql": "ALTER TABLE items ADD COLUMN note text;\n",
            "004_items_add_note.down.sql": "ALTER TABLE items DROP COLUMN IF EXISTS note;\n",
        });
        const fp0 = await fingerprint(url());
        const text = execFileSync(process.execPath, [BIN, "--cwd", proj.root, "cutover", "pair", "--migrate", "--dry-run", "--steps", "10,100", "--no-pretest"], {
            cwd: ROOT,
            env: { ...process.env, ...env() },
            encoding: "utf8",
        });
        process.stdout.write(text.replace(/^/gm, "      | "));
        assert.match(text, /migrate: forward migration .*pending 004_items_add_note/);
        assert.match(text, /step 1\/2: green 10%.*point of no return/);
        assert.match(text, /column items\.note/);
        assert.deepStrictEqual(await fingerprint(url()), fp0, "the dry run changed nothing");
        assert.strictEqual((await inEnv(() => cut.status(target()))).checkpoint?.phase, "reverted", "no cutover recorded by the dry run");

        await faults("green", 1);
        const load = startLoad(out.url.value as string, { rate: 100, durationMs: 60_000 });
        const events: cut.CutoverEvent[] = [];
        try {
            const cp = await inEnv(() => cut.cutover(target(), { steps: [10, 100], pretest: false, backup: false, gate: GATE }, { migrate: true, onEvent: (e) => events.push(e) }));
            assert.strictEqual(cp.phase, "reverted", cp.reason);
        } finally {
            await load.stop();
            await faults("green", 0);
        }
        const kept = events.find((e) => e.type === "migrate" && e.stage === "kept") as Extract<cut.CutoverEvent, { type: "migrate" }> | undefined;
        assert.ok(kept, "a `migrate kept` event");
        assert.match(kept.reason ?? "", /past the point of no return.*traffic only/);
        assert.match(cut.formatEvent(kept) ?? "", /NOT reversed/);
        assert.ok(!events.some((e) => e.type === "migrate" && e.stage === "down"), "no backward migration");
        assert.ok((await applied()).includes("004_items_add_note"), "the migration stays applied");
        assert.ok((await columns()).includes("note"), "its column stays");
        const s = await consistent();
        assert.deepStrictEqual(s.weightsServed, { blue: 100, green: 0 });
        execFileSync("sh", ["-c", `MIGRATIONS_DIR=${dir} ${MIGRATE} down 1`], { env: { ...process.env, DATABASE_URL: url() } });
    });

    it("SIGKILL of the process group inside the migrate step, then revert, or resume, ends consistent", async () => {
        // A slow transactional migration: the kill lands inside it.
        candidates({
            "005_items_add_tag.up.sql": "SELECT pg_sleep(4);\nALTER TABLE items ADD COLUMN tag text;\n",
            "005_items_add_tag.down.sql": "-- switchyard:safe-to-reverse (the tag is written by nobody yet)\nALTER TABLE items DROP COLUMN IF EXISTS tag;\n",
        });
        for (const then of ["revert", "resume"] as const) {
            // The library's cutover in a child of its own (the CLI's would first hold this release to the impact map's tier).
            const child = spawn(process.execPath, ["-r", "ts-node/register/transpile-only", path.join("test", "fixtures", "migrate-cutover-child.ts"), proj.root], {
                cwd: ROOT,
                env: { ...process.env, ...env() },
                detached: true,
                stdio: ["ignore", "pipe", "pipe"],
            });
            let text = "";
            child.stdout!.on("data", (d) => (text += d));
            child.stderr!.on("data", (d) => (text += d));
            const exited = new Promise<void>((r) => child.on("exit", () => r()));
            // Inside the migrate step: its intent is recorded and the migration is sleeping.
            const t0 = Date.now();
            while (!(await sql("SELECT 1 FROM pg_stat_activity WHERE query LIKE '%pg_sleep(4)%' AND pid <> pg_backend_pid()")).length) {
                assert.ok(Date.now() - t0 < 120_000, `the migrate step began: ${text.slice(-2000)}`);
                await new Promise((r) => setTimeout(r, 100));
            }
            await new Promise((r) => setTimeout(r, 500));
            const pgid = child.pid!;
            process.kill(-pgid, "SIGKILL");
            await exited;
            for (let i = 0; i < 50 && groupMembers(pgid).length > 0; i++) await new Promise((r) => setTimeout(r, 100));
            assert.deepStrictEqual(groupMembers(pgid), [], "no process of the killed group is left");
            const st = await inEnv(() => cut.status(target()));
            assert.strictEqual(st.intent?.action, "migrate", "the migrate step's intent is what the kill left");

            const load = startLoad(out.url.value as string, { rate: 100, durationMs: 60_000 });
            try {
                const cp =
                    then === "revert"
                        ? await inEnv(() => cut.revert(target()))
                        : await inEnv(() => cut.resume(target(), GATE));
                if (then === "revert") {
                    assert.strictEqual(cp.phase, "reverted", cp.reason);
                    assert.ok(!(await applied()).includes("005_items_add_tag"), "the killed migration is not listed");
                    assert.ok(!(await columns()).includes("tag"), "nor in the schema");
                    assert.deepStrictEqual((await consistent()).weightsServed, { blue: 100, green: 0 });
                } else {
                    assert.strictEqual(cp.phase, "promoted", cp.reason);
                    assert.ok((await applied()).includes("005_items_add_tag"), "resume ran the migration");
                    assert.ok((await columns()).includes("tag"), "and it is in the schema");
                    assert.deepStrictEqual((await consistent()).weightsServed, { blue: 0, green: 100 });
                    // The migration is marked safe to reverse: a revert after promotion runs its down.
                    const back = await inEnv(() => cut.revert(target()));
                    assert.strictEqual(back.phase, "reverted", back.reason);
                    assert.ok(!(await applied()).includes("005_items_add_tag"));
                    assert.ok(!(await columns()).includes("tag"));
                    assert.deepStrictEqual((await consistent()).weightsServed, { blue: 100, green: 0 });
                }
            } finally {
                await load.stop();
            }
        }
    });
});
