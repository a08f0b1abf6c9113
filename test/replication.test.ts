/**
 * A `replicated` pair end to end, with real PostgreSQL, HAProxy and the example app (run it under
 * `flock /tmp/switchyard-e2e.lock`): green's database restored from blue's snapshot while blue takes
 * writes, kept in sync by logical replication; a switchover and a revert under steady writes through
 * the router, every written id looked for in both databases; the lag gate; a breaking change named.
 */
import * as assert from "assert";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { spawn } from "child_process";
import { Client } from "pg";
import * as ops from "../components/local/ops";
import * as repl from "../components/local/ops/replication";
import { checkSwitchable, DbSwitchRefused, reconcileReplication, switchDatabases } from "../cutover/dbswitch";
import { startWriteLoad, WriteLoadResult } from "../cutover/dbswitchLoad";
import { ReplicatedPair, startReplicatedPair } from "../components/local/ops/replicationPair";
import * as YAML from "yaml";
import * as stackRun from "../stack/run";
import { program } from "../index";
import * as cut from "../cutover";
import { freePort, portBlock } from "./support/ports";
import { localPairConfig } from "./support/stacks";
import { tempProject, TempProject, withEnv } from "./support/project";
import { rngOf, seeded } from "./support/kills";

const ROOT = path.resolve(__dirname, "..");
const APP = path.join(ROOT, "examples", "app");

async function query(port: number, sql: string, params: unknown[] = [], database = "app"): Promise<Record<string, unknown>[]> {
    const c = new Client({ host: "127.0.0.1", port, user: "postgres", database });
    await c.connect();
    try {
        return (await c.query(sql, params)).rows;
    } finally {
        await c.end();
    }
}

/** name → id of every item whose name starts with prefix, and names found more than once. */
async function itemsOf(port: number, prefix: string, database = "app"): Promise<{ ids: Map<string, number>; dupes: string[] }> {
    const rows = await query(port, "SELECT id::int AS id, name FROM items WHERE name LIKE $1", [`${prefix}-%`], database);
    const ids = new Map<string, number>();
    const dupes: string[] = [];
    for (const r of rows) {
        if (ids.has(r.name as string)) dupes.push(r.name as string);
        ids.set(r.name as string, r.id as number);
    }
    return { ids, dupes };
}

async function waitCaughtUp(from: repl.DbSide, to: repl.DbSide["color"], timeoutMs = 20_000, sides = { blue: blueSide, green: greenSide }): Promise<void> {
    const end = Date.now() + timeoutMs;
    const marker = `sync ${Date.now()} ${Math.random()}`;
    await query(from.port, `INSERT INTO ${repl.MARKER_TABLE} (token) VALUES ($1)`, [marker], from.database);
    const toPort = sides[to].port;
    while ((await query(toPort, `SELECT 1 FROM ${repl.MARKER_TABLE} WHERE token = $1`, [marker], from.database)).length === 0) {
        if (Date.now() > end) throw new Error(`${to} did not catch up with ${from.color} within ${timeoutMs} ms`);
        await ops.sleep(20);
    }
}

/** Every acknowledged write is in both databases once, with the same id; no refused write is anywhere. */
async function assertNoLossNoDupe(w: WriteLoadResult, prefix: string, sides = { blue: blueSide, green: greenSide }): Promise<{ blue: number; green: number }> {
    const [b, g] = [await itemsOf(sides.blue.port, prefix, sides.blue.database), await itemsOf(sides.green.port, prefix, sides.green.database)];
    assert.deepStrictEqual(b.dupes, [], "a write duplicated on blue");
    assert.deepStrictEqual(g.dupes, [], "a write duplicated on green");
    const lostBlue = w.acked.filter((id) => !b.ids.has(id));
    const lostGreen = w.acked.filter((id) => !g.ids.has(id));
    assert.deepStrictEqual(lostBlue.slice(0, 5), [], `${lostBlue.length} acknowledged writes missing on blue`);
    assert.deepStrictEqual(lostGreen.slice(0, 5), [], `${lostGreen.length} acknowledged writes missing on green`);
    const refusedFound = w.failed.filter((id) => b.ids.has(id) || g.ids.has(id));
    assert.deepStrictEqual(refusedFound, [], "a write answered with an error was committed");
    // Same rows on both sides, with the same ids (sequences carried over, nothing applied twice).
    assert.strictEqual(b.ids.size, g.ids.size, `blue has ${b.ids.size} rows of the run, green ${g.ids.size}`);
    for (const [name, id] of b.ids) assert.strictEqual(g.ids.get(name), id, `${name} has id ${id} on blue but ${g.ids.get(name)} on green`);
    const sent = new Set([...w.acked, ...w.failed, ...w.unknown]);
    assert.deepStrictEqual([...b.ids.keys()].filter((n) => !sent.has(n)), [], "a row nobody wrote");
    return { blue: b.ids.size, green: g.ids.size };
}

let blueSide: repl.DbSide;
let greenSide: repl.DbSide;

describe("replicated databases: switchover and revert under writes (real PostgreSQL, HAProxy, app)", function () {
    this.timeout(180_000);
    let dir: string;
    let pair: ReplicatedPair | undefined;
    let router: { port: number };
    let socket: string;
    const seed = Date.now() % 100_000;
    const run = `r${seed}`;
    let snapshotWrites: { committed: string[]; failed: number };

    before(async () => {
        console.log(`      run id ${run}`);
        dir = fs.mkdtempSync(path.join(os.tmpdir(), "switchyard-repl-"));
        const [blueDb, greenDb, blueApp, greenApp, routerPort, test] = [await freePort(), await freePort(), await freePort(), await freePort(), await freePort(), await freePort()];
        // Writes committed on blue all through the snapshot and the replica's start.
        let stop = false;
        const committed: string[] = [];
        let failed = 0;
        const writer = async (blue: repl.DbSide): Promise<void> => {
            let c: Client | undefined;
            for (let i = 0; !stop; i++) {
                try {
                    if (!c) {
                        c = new Client({ host: "127.0.0.1", port: blue.port, user: "postgres", database: "app" });
                        c.on("error", () => undefined); // blue restarts once, to turn on wal_level = logical
                        await c.connect();
                    }
                    const name = `${run}snap-${i}`;
                    await c.query("INSERT INTO items (name) VALUES ($1)", [name]);
                    committed.push(name);
                } catch {
                    failed++;
                    await c?.end().catch(() => undefined);
                    c = undefined;
                    await ops.sleep(50);
                }
            }
            await c?.end().catch(() => undefined);
        };
        let writing: Promise<void> | undefined;
        pair = await startReplicatedPair({
            dir: path.join(dir, "pair"),
            ports: { blueDb, greenDb, blueApp, greenApp, router: routerPort, test },
            appDir: APP,
            blueMigrations: 1,
            duringReplica: (blue) => void (writing = writer(blue)),
        });
        console.log(`      replica at ${pair.replica.lsn} (${pair.replica.method}) in ${pair.replica.durationMs} ms; ${committed.length} writes committed on blue meanwhile`);
        await ops.sleep(300);
        stop = true;
        await writing;
        snapshotWrites = { committed, failed };
        blueSide = pair.blue;
        greenSide = pair.green;
        socket = pair.socketPath;
        router = { port: routerPort };
    });

    after(async () => {
        await pair?.stop();
        if (dir) fs.rmSync(dir, { recursive: true, force: true });
    });

    it("green starts exactly at its snapshot's position: every write blue committed meanwhile is in green once", async () => {
        await waitCaughtUp(blueSide, "green");
        assert.ok(snapshotWrites.committed.length > 100, `only ${snapshotWrites.committed.length} writes during the snapshot`);
        const [b, g] = [await itemsOf(blueSide.port, `${run}snap`), await itemsOf(greenSide.port, `${run}snap`)];
        assert.deepStrictEqual(g.dupes, []);
        const missing = snapshotWrites.committed.filter((n) => !g.ids.has(n));
        assert.deepStrictEqual(missing, [], `${missing.length} writes committed on blue are missing on green`);
        assert.strictEqual(g.ids.size, b.ids.size);
        for (const [name, id] of b.ids) assert.strictEqual(g.ids.get(name), id);
        assert.deepStrictEqual((await repl.readReplicationState(blueSide, greenSide)).streams, ["blue→green"]);
    });

    it("the lag is read, and the gate refuses a switchover while green is behind, giving the lag", async () => {
        const lag = await repl.readLag(blueSide, "green");
        assert.ok(lag.slotExists && lag.streaming, JSON.stringify(lag));
        await repl.setSubscriptionEnabled("blue", greenSide, false);
        try {
            await query(blueSide.port, "INSERT INTO items (name) SELECT 'behind-' || g FROM generate_series(1, 5000) g");
            await assert.rejects(
                switchDatabases({ socketPath: socket, from: blueSide, to: greenSide }),
                (e: Error) => e instanceof DbSwitchRefused && /green is \d+(\.\d)? (KiB|MiB|bytes).* behind blue/.test(e.message) && /not streaming/.test(e.message),
            );
            assert.deepStrictEqual(await ops.readWeights(socket), { blue: 100, green: 0 }, "the refused switchover changed the weights");
        } finally {
            await repl.setSubscriptionEnabled("blue", greenSide, true);
        }
        await waitCaughtUp(blueSide, "green");
        const after = await repl.readLag(blueSide, "green");
        assert.ok(repl.judgeLag(after).ok, repl.judgeLag(after).message);
    });

    it("a switchover then a revert under 250 writes/s lose no row and duplicate none; replication runs one way at a time", async () => {
        const w = startWriteLoad(`http://127.0.0.1:${router.port}`, { rate: 250, connections: 10, prefix: run, durationMs: 60_000 });
        await ops.sleep(2000);
        const sw = await switchDatabases({ socketPath: socket, from: blueSide, to: greenSide });
        console.log(`      switchover: writes paused ${sw.pauseMs.toFixed(1)} ms (catch-up ${sw.catchUpMs.toFixed(1)} ms), ${sw.refusedWrites} refused`);
        assert.deepStrictEqual(await ops.readWeights(socket), { blue: 0, green: 100 });
        assert.deepStrictEqual((await repl.readReplicationState(blueSide, greenSide)).streams, ["green→blue"]);
        assert.deepStrictEqual(sw.reverseColumns["public.items"], ["id", "name", "created_at"], "the way back carries blue's columns only");
        await ops.sleep(2000);
        const rv = await switchDatabases({ socketPath: socket, from: greenSide, to: blueSide });
        console.log(`      revert: writes paused ${rv.pauseMs.toFixed(1)} ms (catch-up ${rv.catchUpMs.toFixed(1)} ms), ${rv.refusedWrites} refused`);
        assert.deepStrictEqual(await ops.readWeights(socket), { blue: 100, green: 0 });
        assert.deepStrictEqual((await repl.readReplicationState(blueSide, greenSide)).streams, ["blue→green"]);
        await ops.sleep(1500);
        const r = await w.stop();
        await waitCaughtUp(blueSide, "green");
        const counts = await assertNoLossNoDupe(r, run);
        console.log(
            `      ${r.acked.length} writes acknowledged (${r.rps.toFixed(0)}/s), ${r.failed.length} refused, ${r.unknown.length} unanswered; ` +
                `rows: blue ${counts.blue}, green ${counts.green}; 0 lost; slowest acknowledged write ${r.maxLatencyMs.toFixed(0)} ms`,
        );
        assert.ok(r.rps >= 200, `only ${r.rps.toFixed(0)} writes/s`);
        // The only failures: writes that reached the old color as it closed (refused by its write gate, nothing committed).
        for (const e of r.errors) assert.match(e, /writes are refused here/, `a write failed otherwise: ${e}`);
        assert.ok(r.failed.length <= 60, `${r.failed.length} writes refused: more than the writes in flight around two pauses`);
        assert.ok(sw.pauseMs < 5000 && rv.pauseMs < 5000, "a write pause of 5 s or more");
    });

    it("a change that would break replication is named before the switchover", async () => {
        await query(blueSide.port, "CREATE TABLE extra (id int PRIMARY KEY, v text)");
        await query(greenSide.port, "CREATE TABLE extra (id int PRIMARY KEY, v integer)");
        try {
            await assert.rejects(checkSwitchable(blueSide, greenSide), (e: Error) => e instanceof DbSwitchRefused && /column public\.extra\.v is text on blue but integer on green/.test(e.message));
            await query(greenSide.port, "DROP TABLE extra");
            await assert.rejects(checkSwitchable(blueSide, greenSide), (e: Error) => /table public\.extra exists on blue but not on green/.test(e.message));
        } finally {
            await query(blueSide.port, "DROP TABLE IF EXISTS extra");
            await query(greenSide.port, "DROP TABLE IF EXISTS extra");
        }
        await checkSwitchable(blueSide, greenSide);
    });

    /** Runs a switchover blue→green in a child process and SIGKILLs it at `step`. */
    async function killSwitchoverAt(step: string): Promise<void> {
        const child = spawn(process.execPath, ["-r", "ts-node/register/transpile-only", path.join(ROOT, "test", "fixtures", "dbswitch-child.ts")], {
            cwd: ROOT,
            env: { ...process.env, SOCKET: socket, BLUE_PORT: String(blueSide.port), GREEN_PORT: String(greenSide.port), HOLD_AT: step },
            stdio: ["ignore", "pipe", "inherit"],
        });
        await new Promise<void>((resolve, reject) => {
            let out = "";
            child.stdout!.on("data", (d) => {
                out += String(d);
                if (out.includes(`at ${step}`)) {
                    child.kill("SIGKILL");
                    resolve();
                }
            });
            child.on("exit", () => reject(new Error(`the switchover ended before its step ${step}: ${out}`)));
        });
        await new Promise((r) => child.once("exit", r));
    }

    for (const [step, live] of [["weights", "blue"], ["release", "green"]] as const) {
        it(`SIGKILL of a switchover at its step "${step}", then reconcile: ${live} live, no row lost, replication one way`, async () => {
            const prefix = `${run}k${step}`;
            const w = startWriteLoad(`http://127.0.0.1:${router.port}`, { rate: 250, connections: 10, prefix, durationMs: 60_000 });
            await ops.sleep(1500);
            await killSwitchoverAt(step);
            const weights = await ops.readWeights(socket);
            assert.deepStrictEqual(weights, live === "green" ? { blue: 0, green: 100 } : { blue: 100, green: 0 }, `killed at ${step}`);
            const fixed = await reconcileReplication({ socketPath: socket, blue: blueSide, green: greenSide });
            console.log(`      killed at ${step}; reconcile: ${fixed.did.join("; ")}`);
            assert.strictEqual(fixed.live, live);
            const other = live === "blue" ? "green" : "blue";
            assert.deepStrictEqual((await repl.readReplicationState(blueSide, greenSide)).streams, [`${live}→${other}`]);
            await ops.sleep(1500);
            if (live === "green") await switchDatabases({ socketPath: socket, from: greenSide, to: blueSide });
            const r = await w.stop();
            await waitCaughtUp(blueSide, "green");
            await assertNoLossNoDupe(r, prefix);
            for (const e of r.errors) assert.match(e, /writes are refused here/, `a write failed otherwise: ${e}`);
            console.log(`      ${r.acked.length} writes acknowledged, ${r.failed.length} refused, 0 lost`);
            assert.deepStrictEqual((await repl.readReplicationState(blueSide, greenSide)).streams, ["blue→green"]);
        });
    }
});

describe("database mode replicated through the stack (real engine, PostgreSQL, app, HAProxy)", function () {
    this.timeout(300_000);
    let proj: TempProject;
    let home: string;
    let base: number;
    const env = () => ({ PULUMI_BACKEND_URL: `file://${proj.stateDir}`, SWITCHYARD_HOME: home });
    let logs = "";
    const target = (): stackRun.StackTarget => ({ stackName: "pair", root: proj.root, program, onOutput: (s) => (logs += s) });

    before(async () => {
        base = await portBlock(6);
        proj = tempProject({});
        home = path.join(proj.root, "home");
        const config = localPairConfig(base, {
            "switchyard:traffic": { blue: 100, green: 0 },
            "switchyard:database": { mode: "replicated", name: "shop" },
            "switchyard:cutover": { steps: [100] },
            "switchyard:local": { ports: { router: base, test: base + 1, blue: base + 2, green: base + 3, database: base + 4, greenDatabase: base + 5 } },
        });
        fs.writeFileSync(path.join(proj.root, "stacks", "Pulumi.pair.yaml"), YAML.stringify({ config }));
    });
    after(async () => {
        await withEnv(env(), () => stackRun.destroy(target())).catch(() => undefined);
    });

    it("up makes green's own database from blue's, kept in sync; its lag is an output; destroy leaves nothing", async () => {
        const up = await withEnv(env(), () => stackRun.up(target()));
        const out = Object.fromEntries(Object.entries(up.outputs).map(([k, v]) => [k, v.value])) as Record<string, unknown>;
        const pair = out;
        assert.strictEqual(pair.greenDatabasePort, base + 5, JSON.stringify(out));
        assert.deepStrictEqual(pair.replicationStreams, ["blue→green"]);
        assert.strictEqual(typeof pair.replicationLagBytes, "number");
        // A write through the router lands on blue and reaches green's own server.
        const res = await fetch(`http://127.0.0.1:${base}/items`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ name: "through-the-stack" }) });
        assert.strictEqual(res.status, 201);
        const q = async (port: number) => {
            const c = new Client({ host: "127.0.0.1", port, user: "postgres", database: "shop" });
            await c.connect();
            try {
                return (await c.query("SELECT count(*)::int AS n FROM items WHERE name = 'through-the-stack'")).rows[0].n as number;
            } finally {
                await c.end();
            }
        };
        let n = 0;
        for (let i = 0; i < 200 && n === 0; i++) {
            n = await q(base + 5);
            if (!n) await ops.sleep(25);
        }
        assert.strictEqual(await q(base + 4), 1);
        assert.strictEqual(n, 1, "the write did not reach green's database");
        // Green's app is on green's own server: its health check fails when that one stops.
        const greenDir = pair.greenDataDir as string;
        assert.ok(ops.serverStatus(greenDir).running);
        await withEnv(env(), () => stackRun.destroy(target()));
        assert.ok(!ops.serverStatus(greenDir).running, "green's server still runs after destroy");
        assert.ok(!fs.existsSync(greenDir));
    });
});

describe("a replicated pair's cutover through the library: one switchover step (real engine, PostgreSQL, app, HAProxy)", function () {
    this.timeout(600_000);
    let proj: TempProject;
    let home: string;
    let base: number;
    let url: string;
    let sides: { blue: repl.DbSide; green: repl.DbSide };
    const env = () => ({ PULUMI_BACKEND_URL: `file://${proj.stateDir}`, SWITCHYARD_HOME: home });
    const target = (): stackRun.StackTarget => ({ stackName: "pair", root: proj.root, program, onOutput: () => undefined });
    const inEnv = <T>(f: () => Promise<T>) => withEnv(env(), f);
    const run = `c${Date.now() % 100_000}`;
    const GATE = { intervalMs: 1500, minRequests: 5, windowsPerStep: 1, maxLatencyMs: 3000 };
    const children: number[] = [];

    before(async () => {
        console.log(`      run id ${run}`);
        base = await portBlock(6);
        proj = tempProject({});
        home = path.join(proj.root, "home");
        const config = localPairConfig(base, {
            "switchyard:traffic": { blue: 100, green: 0 },
            "switchyard:database": { mode: "replicated", name: "shop" },
            "switchyard:cutover": { steps: [100] },
            "switchyard:local": { ports: { router: base, test: base + 1, blue: base + 2, green: base + 3, database: base + 4, greenDatabase: base + 5 } },
        });
        fs.writeFileSync(path.join(proj.root, "stacks", "Pulumi.pair.yaml"), YAML.stringify({ config }));
        await inEnv(() => stackRun.up(target()));
        url = `http://127.0.0.1:${base}`;
        sides = { blue: { color: "blue", port: base + 4, database: "shop" }, green: { color: "green", port: base + 5, database: "shop" } };
    });
    after(async () => {
        for (const pid of children) {
            try {
                process.kill(-pid, "SIGKILL");
            } catch {
                /* gone */
            }
        }
        await inEnv(() => stackRun.destroy(target())).catch(() => undefined);
    });

    const streams = async () => (await repl.readReplicationState(sides.blue, sides.green)).streams;

    /** Router, config and state agree, all traffic on `live`, replication from `live` only. */
    async function consistent(live: "blue" | "green"): Promise<void> {
        const st = await inEnv(() => cut.status(target()));
        assert.deepStrictEqual(st.disagreements, [], "intent, state, config and router agree");
        assert.deepStrictEqual(st.weightsServed, live === "blue" ? { blue: 100, green: 0 } : { blue: 0, green: 100 });
        assert.deepStrictEqual(await streams(), [`${live}→${live === "blue" ? "green" : "blue"}`], "replication runs one way, from the live color");
        // status reads the same: the direction, the stream's lag, the idle color's gate closed.
        const other = live === "blue" ? "green" : "blue";
        assert.strictEqual(st.replication?.direction, `${live} → ${other}`, JSON.stringify(st.replication ?? st.replicationUnread));
        assert.deepStrictEqual(st.replication?.writeGates, { [live]: "open", [other]: "closed" });
        assert.ok(st.replication?.lag?.slotExists && typeof st.replication.lag.lagBytes === "number", JSON.stringify(st.replication?.lag));
    }

    /** `live` consistent; then, when green is live (inside keep-warm), the revert is the switchover back, and blue is. */
    async function consistentThenBlue(live: "blue" | "green"): Promise<void> {
        await consistent(live);
        if (live !== "green") return;
        const rv = await inEnv(() => cut.revert(target()));
        assert.strictEqual(rv.phase, "reverted", rv.reason);
        await consistent("blue");
    }

    /** The library's cutover of the pair in a child process group of its own, held at the switchover's step `hold` ("" for none). */
    function cutoverChild(hold: string) {
        const child = spawn(process.execPath, ["-r", "ts-node/register/transpile-only", path.join("test", "fixtures", "switch-cutover-child.ts"), proj.root], {
            cwd: ROOT,
            env: { ...process.env, ...env(), HOLD_AT: hold },
            detached: true,
            stdio: ["ignore", "pipe", "pipe"],
        });
        children.push(child.pid!);
        return child;
    }

    /** Stops the load, waits for the idle side, and checks every id in both databases. */
    async function checkIds(w: ReturnType<typeof startWriteLoad>, prefix: string): Promise<WriteLoadResult> {
        await ops.sleep(1000);
        const r = await w.stop();
        const st = await inEnv(() => cut.status(target()));
        const live = st.weightsServed.blue > 0 ? "blue" : "green";
        await waitCaughtUp(sides[live], live === "blue" ? "green" : "blue", 30_000, sides);
        const counts = await assertNoLossNoDupe(r, prefix, sides);
        for (const e of r.errors) assert.match(e, /writes are refused here/, `a write failed otherwise: ${e}`);
        console.log(
            `      ${r.acked.length} writes acknowledged (${r.rps.toFixed(0)}/s), ${r.failed.length} refused, ${r.unknown.length} unanswered; ` +
                `rows: blue ${counts.blue}, green ${counts.green}; 0 lost, 0 duplicated; slowest acknowledged write ${r.maxLatencyMs.toFixed(0)} ms`,
        );
        return r;
    }

    it("a gradual weight shift is refused, saying why; nothing changed", async () => {
        await assert.rejects(
            inEnv(() => cut.cutover(target(), { steps: [10, 100], pretest: false, backup: false })),
            (e: Error) => /refused for database mode "replicated"/.test(e.message) && /both colors would take writes/.test(e.message),
        );
        await consistent("blue");
    });

    it("the lag gate refuses the switchover step with the lag in its message; nothing moved", async () => {
        await repl.setSubscriptionEnabled("blue", sides.green, false);
        try {
            await query(sides.blue.port, "INSERT INTO items (name) SELECT 'behind-' || g FROM generate_series(1, 5000) g", [], "shop");
            const cp = await inEnv(() => cut.cutover(target(), { pretest: false, backup: false, gate: GATE }));
            assert.strictEqual(cp.phase, "failed");
            assert.match(cp.reason ?? "", /green is \d+(\.\d)? (KiB|MiB|bytes).* behind blue/);
            assert.deepStrictEqual((await inEnv(() => cut.status(target()))).weightsServed, { blue: 100, green: 0 }, "the refused switchover moved the router");
        } finally {
            await repl.setSubscriptionEnabled("blue", sides.green, true);
        }
        await waitCaughtUp(sides.blue, "green", 30_000, sides);
        await consistent("blue");
    });

    it("a cutover then a revert under 250 writes/s: one switchover each, 0 rows lost or duplicated", async () => {
        const w = startWriteLoad(url, { rate: 250, connections: 10, prefix: run, durationMs: 240_000 });
        await ops.sleep(1500);
        const events: cut.CutoverEvent[] = [];
        const cp = await inEnv(() => cut.cutover(target(), { pretest: false, backup: false, gate: GATE }, { onEvent: (e) => events.push(e) }));
        assert.strictEqual(cp.phase, "promoted", cp.reason);
        const sw = events.find((e) => e.type === "switchover");
        assert.ok(sw && sw.type === "switchover" && sw.from === "blue" && sw.to === "green", JSON.stringify(events.map((e) => e.type)));
        assert.ok(!events.some((e) => e.type === "step" && e.weights.green > 0 && e.weights.green < 100), "no split step");
        await consistent("green");
        await ops.sleep(1500);
        const back: cut.CutoverEvent[] = [];
        const rv = await inEnv(() => cut.revert(target(), { onEvent: (e) => back.push(e) }));
        assert.strictEqual(rv.phase, "reverted", rv.reason);
        const sb = back.find((e) => e.type === "switchover");
        assert.ok(sb && sb.type === "switchover" && sb.from === "green" && sb.to === "blue", JSON.stringify(back.map((e) => e.type)));
        await consistent("blue");
        const r = await checkIds(w, run);
        assert.ok(r.rps >= 200, `only ${r.rps.toFixed(0)} writes/s`);
        if (sw?.type === "switchover" && sb?.type === "switchover") console.log(`      write pause: switchover ${sw.pauseMs} ms, revert ${sb.pauseMs} ms`);
    });

    for (const [hold, then, live] of [["weights", "revert", "blue"], ["release", "resume", "green"]] as const) {
        it(`SIGKILL of the process group during the switchover (at its step "${hold}"), then ${then}: ${live} live, consistent, one direction, 0 rows lost`, async () => {
            const prefix = `${run}k${hold}`;
            const w = startWriteLoad(url, { rate: 250, connections: 10, prefix, durationMs: 240_000 });
            await ops.sleep(1000);
            const child = cutoverChild(hold);
            let text = "";
            const exited = new Promise<void>((r) => child.on("exit", () => r()));
            await new Promise<void>((resolve, reject) => {
                const timer = setTimeout(() => reject(new Error(`the switchover did not reach ${hold} in 120 s: ${text.slice(-2000)}`)), 120_000);
                const on = (d: Buffer) => {
                    text += String(d);
                    if (text.includes(`at ${hold}\n`)) {
                        clearTimeout(timer);
                        resolve();
                    }
                };
                child.stdout!.on("data", on);
                child.stderr!.on("data", on);
                void exited.then(() => reject(new Error(`the cutover ended before the switchover's step ${hold}: ${text.slice(-2000)}`)));
            });
            process.kill(-child.pid!, "SIGKILL");
            await exited;
            const st = await inEnv(() => cut.status(target()));
            assert.strictEqual(st.intent?.action, "switch", "the switch step's intent is what the kill left");
            // status names what the kill left: no stream running; killed before the weights moved, blue still live behind a closed gate.
            const rs = st.replication;
            assert.strictEqual(rs?.direction, "none", JSON.stringify(rs ?? st.replicationUnread));
            assert.deepStrictEqual(rs?.paused, ["blue→green"]);
            assert.deepStrictEqual(rs?.writeGates, { blue: "closed", green: "open" });
            assert.strictEqual(rs?.live, live);
            assert.ok(st.disagreements.some((d) => /no replication runs/.test(d) && /switchyard resume pair` or `switchyard revert pair/.test(d)), st.disagreements.join("\n"));
            assert.strictEqual(st.disagreements.some((d) => /^blue's write gate is closed: blue refuses every write/.test(d)), live === "blue", st.disagreements.join("\n"));
            const events: cut.CutoverEvent[] = [];
            const onEvent = (e: cut.CutoverEvent) => events.push(e);
            const cp = then === "revert" ? await inEnv(() => cut.revert(target(), { onEvent })) : await inEnv(() => cut.resume(target(), GATE, { onEvent }));
            console.log(`      killed at ${hold}; ${then}: ${events.filter((e) => e.type === "reconciled" || e.type === "switchover").map((e) => cut.formatEvent(e)).join("; ")}`);
            assert.strictEqual(cp.phase, then === "revert" ? "reverted" : "promoted", cp.reason);
            assert.ok(events.some((e) => e.type === "reconciled"), "replication was put in agreement with the router");
            await consistentThenBlue(live);
            await checkIds(w, prefix);
        });
    }

    it("SIGKILL of the process group at a seeded random instant of the switch step (intent, switchover, its engine up), then a seeded resume or revert: consistent, one direction, 0 rows lost", async () => {
        const seed = process.env.SWITCH_KILL_SEED ? Number(process.env.SWITCH_KILL_SEED) : Math.floor(Math.random() * 2 ** 31);
        const r = rngOf(seeded(seed));
        const delayMs = r.int(0, 9000);
        const then = r.pick(["resume", "revert"] as const);
        console.log(`      seed ${seed} (SWITCH_KILL_SEED=${seed} repeats it): kill ${delayMs} ms after the cutover's first event, then ${then}`);
        const prefix = `${run}kr`;
        const w = startWriteLoad(url, { rate: 250, connections: 10, prefix, durationMs: 240_000 });
        await ops.sleep(1000);
        const child = cutoverChild("");
        let text = "";
        let ended = false;
        const exited = new Promise<void>((res) => child.on("exit", () => ((ended = true), res())));
        const started = new Promise<void>((resolve, reject) => {
            const timer = setTimeout(() => reject(new Error(`the cutover printed no event in 120 s: ${text.slice(-2000)}`)), 120_000);
            const on = (d: Buffer) => {
                text += String(d);
                if (text.includes("{")) {
                    clearTimeout(timer);
                    resolve();
                }
            };
            child.stdout!.on("data", on);
            child.stderr!.on("data", on);
        });
        await Promise.race([started, exited]);
        await Promise.race([ops.sleep(delayMs), exited]);
        const lines = text.trim().split("\n");
        const landed = ended ? `after the cutover ended (${lines[lines.length - 1]})` : `after: ${lines[lines.length - 1].slice(0, 160)}`;
        try {
            process.kill(-child.pid!, "SIGKILL");
        } catch {
            /* already gone */
        }
        await exited;
        console.log(`      killed ${landed}`);
        const before = await inEnv(() => cut.status(target()));
        const pending = before.intent !== undefined || (before.checkpoint !== undefined && !cut.FINAL_PHASES.includes(before.checkpoint.phase));
        let live: "blue" | "green";
        if (then === "resume" && pending) {
            const cp = await inEnv(() => cut.resume(target(), GATE));
            assert.strictEqual(cp.phase, "promoted", cp.reason);
            live = "green";
        } else if (then === "revert" && (pending || before.weightsServed.green === 100)) {
            const cp = await inEnv(() => cut.revert(target()));
            assert.strictEqual(cp.phase, "reverted", cp.reason);
            live = "blue";
        } else {
            // Nothing to resume or to revert: the kill came before the cutover wrote anything, or after it ended.
            live = before.weightsServed.green === 100 ? "green" : "blue";
            console.log(`      nothing pending for ${then}: ${live} live`);
        }
        await consistentThenBlue(live);
        await checkIds(w, prefix);
    });
});
