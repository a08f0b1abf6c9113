/**
 * Faults during cutovers and sandboxes, on the local platform with the real engine, HAProxy, app
 * processes and PostgreSQL. Each fault has its own `describe`, and each shows three things:
 * - the operation ends, within a bound, with a clear error or a revert whose reason names the fault
 *   (never a hang, never a JavaScript stack trace as the message);
 * - afterwards the stack is consistent: the weights in its state, in its config file and served by
 *   HAProxy agree, `preview` shows no changes, and a new cutover runs to promotion;
 * - nothing is left half-made (a sandbox's data directory, process or port).
 *
 * The disk case mounts a small tmpfs under the state backend (root only; it is skipped, saying why,
 * when mounting is impossible) and always unmounts it.
 */
import * as assert from "assert";
import * as fs from "fs";
import * as path from "path";
import * as YAML from "yaml";
import { spawn, spawnSync } from "child_process";
import * as run from "../stack/run";
import * as cut from "../cutover";
import { snapshotStack } from "../stack/snapshot";
import { program } from "../index";
import { storageFault } from "../cutover/local";
import { listSnapshots } from "../components/local/ops/clone";
import { readWeights, serverHealth } from "../components/local/ops/haproxy";
import { PG_OS_USER, pgBinDir, serverStatus } from "../components/local/ops/postgres";
import { isAlive } from "../components/local/ops/proc";
import { localPairConfig, localSandboxConfig } from "./support/stacks";
import { tempProject, TempProject, withEnv } from "./support/project";
import { countColors, load, LoadResult, portOpen } from "./support/http";
import { processesIn } from "./support/procs";

// Ports of this file only: 22000..22799, outside the kernel's ephemeral range (32768..60999).
const BASE = 22000 + (process.pid % 40) * 20;

const GATE: Partial<cut.GateSpec> = { intervalMs: 1500, minRequests: 10 };
const BLUE: cut.TrafficWeights = { blue: 100, green: 0 };

/** Rejects when p has not settled within ms: no fault may hang an operation. */
async function within<T>(ms: number, what: string, p: Promise<T>): Promise<T> {
    let timer: NodeJS.Timeout | undefined;
    const limit = new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`${what} did not end within ${ms / 1000} s`)), ms);
    });
    try {
        return await Promise.race([p, limit]);
    } finally {
        clearTimeout(timer);
    }
}

/** A message an operator can read: one cause, no JavaScript stack frames. */
function assertReadable(message: string | undefined, what: string): void {
    assert.ok(message, `${what} has a message`);
    assert.doesNotMatch(message, /\n\s+at .+:\d+:\d+\)?/, `${what} carries a JavaScript stack trace:\n${message}`);
    assert.doesNotMatch(message, /^(TypeError|ReferenceError|RangeError)\b/, `${what} is an unhandled exception: ${message}`);
}

async function waitFor(what: string, ok: () => boolean | Promise<boolean>, ms = 20_000): Promise<void> {
    const end = Date.now() + ms;
    while (!(await ok())) {
        if (Date.now() > end) throw new Error(`${what} within ${ms / 1000} s`);
        await new Promise((r) => setTimeout(r, 100));
    }
}


/**
 * One project with its own backend and SWITCHYARD_HOME, and a local pair `pair` on ports from base:
 * what every case needs to drive, observe and tear down a stack.
 */
class Bench {
    proj!: TempProject;
    home!: string;
    logs = "";
    out!: Record<string, { value: unknown }>;

    constructor(readonly base: number, private readonly stateDir?: () => string) {}

    env = () => ({ PULUMI_BACKEND_URL: `file://${this.stateDir?.() ?? this.proj.stateDir}`, SWITCHYARD_HOME: this.home });
    target = (stackName = "pair"): run.StackTarget => ({ stackName, root: this.proj.root, program, onOutput: (s) => (this.logs += s) });
    inEnv = <T>(fn: () => Promise<T>) => withEnv(this.env(), fn);
    url = () => this.out.url.value as string;
    socket = () => this.out.adminSocket.value as string;
    appPid = (c: cut.Color): number => {
        const pids = this.out.appPids.value as number[] | Record<cut.Color, number>;
        return Array.isArray(pids) ? pids[c === "blue" ? 0 : 1] : pids[c];
    };
    configFile = (stack = "pair") => path.join(this.proj.root, "stacks", `Pulumi.${stack}.yaml`);

    create(stacks: Record<string, Record<string, unknown>>): void {
        this.proj = tempProject(Object.fromEntries(Object.entries(stacks).map(([k, v]) => [k, YAML.stringify({ config: v })])));
        this.home = path.join(this.proj.root, "home");
    }

    async up(stack = "pair"): Promise<Record<string, { value: unknown }>> {
        const r = await this.inEnv(() => run.up(this.target(stack)));
        if (stack === "pair") this.out = r.outputs;
        return r.outputs;
    }

    async refreshOutputs(): Promise<void> {
        this.out = await this.inEnv(() => run.outputs(this.target()));
    }

    /** Runs fn under steady load through the router; returns both results. */
    async underLoad<T>(fn: () => Promise<T>): Promise<{ result: T; load: LoadResult }> {
        let done = false;
        const l = load(this.url(), { concurrency: 2, durationMs: 300_000, stopWhen: () => done, pauseMs: 5 });
        try {
            return { result: await fn(), load: await ((done = true), l) };
        } finally {
            done = true;
            await l;
        }
    }

    /** The weights `switchyard:traffic` holds in the stack's config file. */
    configWeights(): cut.TrafficWeights {
        const w = YAML.parse(fs.readFileSync(this.configFile(), "utf8")).config["switchyard:traffic"] as Record<string, unknown>;
        return { blue: Number(w.blue), green: Number(w.green) };
    }

    /**
     * The stack is consistent: the weights in state, in the config file and served by HAProxy agree
     * (and are `expected`), no cutover is left half-way, and a preview shows no change.
     */
    async assertConsistent(expected: cut.TrafficWeights): Promise<void> {
        const s = await this.inEnv(() => cut.status(this.target()));
        assert.deepStrictEqual(s.weightsInState, expected, "the weights in the stack's state");
        assert.deepStrictEqual(this.configWeights(), expected, "the weights in the stack's config file");
        assert.deepStrictEqual(await readWeights(this.socket()), expected, "the weights HAProxy serves");
        assert.ok(s.inAgreement, `status reports state and router in agreement: ${JSON.stringify(s)}`);
        assert.ok(!s.checkpoint || cut.FINAL_PHASES.includes(s.checkpoint.phase), `no cutover is left half-way: ${JSON.stringify(s.checkpoint)}`);
        const p = await this.inEnv(() => run.preview(this.target()));
        const changes = Object.entries(p.changeSummary).filter(([op, n]) => op !== "same" && (n ?? 0) > 0);
        assert.deepStrictEqual(changes, [], `preview shows no changes (${this.logs.slice(-2000)})`);
    }

    /** A new cutover runs to promotion under load; then blue alone serves again for the next case. */
    async assertCutoverPromotes(): Promise<void> {
        // A restarted process is back in HAProxy's rotation once its health checks pass (rise 2).
        await waitFor("both colors UP in HAProxy", async () => {
            const h = await serverHealth(this.socket());
            return h.blue.status.startsWith("UP") && h.green.status.startsWith("UP");
        }, 30_000);
        const { result: cp, load: l } = await this.underLoad(() =>
            within(240_000, "the cutover after recovery", this.inEnv(() => cut.cutover(this.target(), { steps: [50, 100], gate: GATE, pretest: false, backup: false }))),
        );
        assert.strictEqual(cp.phase, "promoted", `the cutover after recovery: ${cp.reason}`);
        assert.strictEqual(l.failed, 0, `failed requests during the cutover after recovery: ${l.failed} of ${l.total} (${l.errors.slice(0, 3).join(", ")})`);
        assert.deepStrictEqual(await readWeights(this.socket()), { blue: 0, green: 100 });
        const back = await within(180_000, "the revert after promotion", this.inEnv(() => cut.revert(this.target())));
        assert.strictEqual(back.phase, "reverted", back.reason);
        await this.refreshOutputs();
        await this.assertConsistent(BLUE);
    }

    /** Destroys the stacks; if a destroy fails, stops what the outputs name, so no process outlives the test. */
    async teardown(stacks: string[]): Promise<void> {
        for (const s of stacks) {
            await this.inEnv(() => run.destroy(this.target(s))).catch((e: Error) => process.stderr.write(`destroy ${s} failed: ${e.message.slice(0, 500)}\n`));
        }
        const pids = this.out ? [this.appPid("blue"), this.appPid("green"), this.out.routerPid?.value as number] : [];
        for (const pid of pids.filter((p) => p > 0 && isAlive(p))) {
            process.stderr.write(`stopping process ${pid} left by a failed destroy\n`);
            try {
                process.kill(-pid, "SIGKILL");
            } catch {
                process.kill(pid, "SIGKILL");
            }
        }
        const pg = path.join(this.home ?? "/nonexistent", "data");
        if (this.home && fs.existsSync(pg)) {
            for (const pid of processesIn(pg)) process.kill(pid, "SIGKILL");
        }
    }

    failed(title: string | undefined): void {
        process.stderr.write(`\n--- engine output before "${title}" failed ---\n${this.logs.slice(-6000)}\n`);
    }
}

describe("faults during cutovers and sandboxes (real engine, HAProxy, apps, PostgreSQL)", function () {
    this.timeout(900_000);
    const b = new Bench(BASE);

    before(async () => {
        b.create({
            pair: localPairConfig(BASE, { "switchyard:traffic": BLUE, "switchyard:cutover": { steps: [25, 50, 100] } }),
            sandbox: localSandboxConfig(BASE, { "switchyard:app": { command: "node examples/app/server.js", healthCheck: { path: "/healthz" }, startTimeoutMs: 15_000 } }),
        });
        await b.up();
    });

    after(async () => {
        await b.teardown(["sandbox", "pair"]);
        b.proj?.cleanup();
    });

    // Each case starts from the stack's outputs as they are (an earlier case may have restarted a process).
    beforeEach(() => b.refreshOutputs());

    afterEach(function () {
        if (this.currentTest?.state === "failed") b.failed(this.currentTest.title);
        b.logs = "";
    });

    describe("HAProxy killed mid-cutover", () => {
        it("reverts with a reason naming the dead router; the revert's up starts it again on blue; the stack is consistent and cuts over again", async () => {
            const killed: number[] = [];
            const { result: cp } = await b.underLoad(() =>
                within(
                    240_000,
                    "the cutover with HAProxy killed",
                    b.inEnv(() =>
                        cut.cutover(b.target(), { steps: [25, 50, 100], gate: { ...GATE, intervalMs: 3000 }, pretest: false, backup: false }, {
                            onEvent: (e) => {
                                // While the first step is observed: HAProxy dies as an OOM kill would end it.
                                if (e.type === "applied" && e.served.green > 0 && killed.length === 0) {
                                    const pid = b.out.routerPid.value as number;
                                    process.kill(pid, "SIGKILL");
                                    killed.push(pid);
                                }
                            },
                        }),
                    ),
                ),
            );
            assert.strictEqual(killed.length, 1, "HAProxy was killed during the first step");
            assert.strictEqual(cp.phase, "reverted", `the cutover reverted: ${cp.reason}`);
            assert.match(cp.reason ?? "", new RegExp(`the router \\(HAProxy, pid ${killed[0]}\\) is not running: its admin socket \\S+ (refuses connections|is gone|reset the connection|closed the connection)`));
            assertReadable(cp.reason, "the revert's reason");

            await b.refreshOutputs();
            const pid = b.out.routerPid.value as number;
            assert.ok(pid !== killed[0] && isAlive(pid), `a new HAProxy runs (pid ${pid}, the killed one was ${killed[0]})`);
            assert.deepStrictEqual((await countColors(b.url(), 40, 2)).colors, { blue: 40 }, "blue alone answers through the new router");
            await b.assertConsistent(BLUE);
            await b.assertCutoverPromotes();
        });

        it("status names the dead router, not a socket error; up starts it again", async () => {
            const pid = b.out.routerPid.value as number;
            process.kill(pid, "SIGKILL");
            await waitFor(`HAProxy ${pid} exits`, () => !isAlive(pid));
            // Whether status reports the router beside the state or stops at it, it names it.
            const shown = await within(60_000, "status", b.inEnv(() => cut.status(b.target()))).then(
                (s) => JSON.stringify(s),
                (e: Error) => e.message,
            );
            assert.match(shown, new RegExp(`the router \\(HAProxy, pid ${pid}\\) is not running`));
            assertReadable(shown, "status's answer");
            // The documented recovery: `up` starts the router again, with the weights in the stack.
            await within(180_000, "the up that restarts the router", b.up());
            assert.ok(isAlive(b.out.routerPid.value as number));
            await b.assertConsistent(BLUE);
        });
    });

    describe("the new color's app crashing while its step is observed", () => {
        it("reverts at once with a reason naming the crashed app; blue alone serves; green runs again and the cutover promotes", async () => {
            const greenPid = b.appPid("green");
            let crashed = false;
            const { result: cp, load: l } = await b.underLoad(() =>
                within(
                    240_000,
                    "the cutover with green crashing",
                    b.inEnv(() =>
                        cut.cutover(b.target(), { steps: [25, 50, 100], gate: { ...GATE, intervalMs: 3000, failureLimit: 3 }, pretest: false, backup: false }, {
                            onEvent: (e) => {
                                if (e.type === "applied" && e.served.green > 0 && !crashed) {
                                    process.kill(-greenPid, "SIGKILL"); // the whole process group, as a crash takes it down
                                    crashed = true;
                                }
                            },
                        }),
                    ),
                ),
            );
            assert.ok(crashed, "green crashed during its first step");
            assert.strictEqual(cp.phase, "reverted", `the cutover reverted: ${cp.reason}`);
            assert.match(cp.reason ?? "", new RegExp(`green's app \\(pid ${greenPid}\\) is not running: it exited during the cutover`));
            assertReadable(cp.reason, "the revert's reason");
            assert.ok((l.colors.blue ?? 0) > 0, "blue served throughout");

            assert.deepStrictEqual((await countColors(b.url(), 40, 2)).colors, { blue: 40 }, "blue alone answers after the revert");
            await b.refreshOutputs();
            const newGreen = b.appPid("green");
            assert.ok(newGreen !== greenPid && isAlive(newGreen), `the revert's up started green again (pid ${newGreen})`);
            await b.assertConsistent(BLUE);
            await b.assertCutoverPromotes();
        });
    });

    describe("PostgreSQL down while a sandbox is restored", () => {
        const pgCtl = (dataDir: string, ...args: string[]) => {
            const r = spawnSync("runuser", ["-u", PG_OS_USER, "--", path.join(pgBinDir(), "pg_ctl"), "-D", dataDir, ...args], { encoding: "utf8", timeout: 90_000 });
            assert.strictEqual(r.status, 0, `pg_ctl ${args.join(" ")}: ${r.stderr}`);
        };
        const sandboxDir = () => path.join(b.home, "data", "sandbox");
        let rows: string[] = [];

        before(async () => {
            for (let i = 0; i < 5; i++) {
                const r = await fetch(`${b.url()}/items`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ name: `row-${i}` }) });
                assert.ok(r.ok);
            }
            rows = ((await (await fetch(`${b.url()}/items`)).json()) as { name: string }[]).map((r) => r.name).sort();
            await b.inEnv(() => snapshotStack(b.target(), { name: "before-faults" }));
        });

        it("with production's PostgreSQL stopped, a cutover's backup fails before any traffic moves, naming the server, with no partial snapshot", async () => {
            const dataDir = b.out.dataDir.value as string;
            pgCtl(dataDir, "-m", "fast", "-w", "-t", "60", "stop");
            try {
                const cp = await within(180_000, "the cutover with PostgreSQL down", b.inEnv(() => cut.cutover(b.target(), { steps: [25, 50, 100], gate: GATE, pretest: false })));
                assert.strictEqual(cp.phase, "failed");
                assert.match(cp.reason ?? "", new RegExp(`snapshot pair-pre-cutover-\\S+ of ${dataDir} failed: PostgreSQL on 127\\.0\\.0\\.1:${BASE + 4} refuses connections \\(ECONNREFUSED\\)`));
                assertReadable(cp.reason, "the failure's reason");
                assert.strictEqual(cp.step, -1, "no step was applied");
                assert.deepStrictEqual(await readWeights(b.socket()), BLUE, "traffic never moved");
                const root = b.out.snapshotRoot.value as string;
                assert.deepStrictEqual(fs.readdirSync(root).filter((n) => n.endsWith(".partial")), [], "no partial snapshot is left");
                assert.deepStrictEqual(listSnapshots(root).map((s) => s.name), ["before-faults"], "no new snapshot");
            } finally {
                if (!serverStatus(dataDir).running) await within(180_000, "the up that restarts PostgreSQL", b.up());
            }
            assert.ok(serverStatus(dataDir).running, "the stack's up (the cutover's record, or the documented recovery) started PostgreSQL again");
            await waitFor("the pair answers again", async () => (await countColors(b.url(), 4, 1)).failed === 0, 60_000);
            await b.assertConsistent(BLUE);
        });

        it("with production's PostgreSQL stopped, a sandbox still restores from its sealed snapshot; production's up starts its server again", async () => {
            const dataDir = b.out.dataDir.value as string;
            pgCtl(dataDir, "-m", "fast", "-w", "-t", "60", "stop");
            try {
                const sb = await within(240_000, "the sandbox's up", b.up("sandbox"));
                assert.strictEqual(sb.sourceSnapshot.value, "before-faults");
                const inSandbox = ((await (await fetch(`${sb.url.value as string}/items`)).json()) as { name: string }[]).map((r) => r.name).sort();
                assert.deepStrictEqual(inSandbox, rows, "the sandbox holds the snapshot's rows: the restore needs no running production server");
                assert.ok(!serverStatus(dataDir).running, "production's server was left as it was");
            } finally {
                await within(180_000, "the up that restarts PostgreSQL", b.up());
            }
            assert.ok(serverStatus(dataDir).running);
            await waitFor("the pair answers again", async () => (await countColors(b.url(), 4, 1)).failed === 0, 60_000);
            await b.assertConsistent(BLUE);
            await within(180_000, "the sandbox's destroy", b.inEnv(() => run.destroy(b.target("sandbox"))));
            assert.ok(!fs.existsSync(sandboxDir()), "the sandbox's folder is gone");
        });

        it("with the sandbox's own server killed while it starts, the up fails naming PostgreSQL, leaves no data directory, process or port, and the next up succeeds", async () => {
            const pgDir = path.join(sandboxDir(), "pg");
            const killed: number[] = [];
            // The restored server's postmaster is killed the moment its pid file names it (a crash at
            // start). Between that file and "ready to accept connections" lie a few milliseconds, so
            // the watcher is a shell loop of builtins (no fork, no timer), apart from this event loop.
            const watch =
                'f="$1/postmaster.pid"; last=""; while :; do if [ -s "$f" ]; then { read -r p; read -r d; } < "$f"; ' +
                'if [ "$d" = "$1" ] && [ -n "$p" ] && [ "$p" != "$last" ]; then kill -9 "$p" 2>/dev/null && echo "$p"; last="$p"; fi; fi; done';
            const killer = spawn("bash", ["-c", watch, "watch", pgDir], { stdio: ["ignore", "pipe", "inherit"] });
            killer.stdout.setEncoding("utf8");
            killer.stdout.on("data", (d: string) => killed.push(...d.trim().split("\n").map(Number)));
            const killerGone = new Promise((r) => killer.once("exit", r));
            let err: Error | undefined;
            try {
                err = await within(240_000, "the sandbox's up", b.up("sandbox")).then(
                    () => undefined,
                    (e: Error) => e,
                );
            } finally {
                killer.kill("SIGKILL");
                await killerGone;
            }
            assert.ok(killed.length > 0, "the sandbox's server was killed while it started");
            assert.ok(err, `the sandbox's up failed (killed ${killed.join(", ")})`);
            assertReadable(err.message, "the sandbox's up error");
            const text = err.message + b.logs;
            assert.match(text, new RegExp(`restore of \\S+before-faults failed: PostgreSQL in ${pgDir} (exited while starting|did not start)`));
            assert.match(text, /shop-sandbox-db/, "the failed resource is named");

            assert.ok(!fs.existsSync(pgDir), "no half-made data directory");
            assert.ok(!fs.existsSync(`${pgDir}.log`), "no log of it");
            await waitFor("no process of the sandbox's server", () => processesIn(sandboxDir()).length === 0);
            for (const port of [BASE + 5, BASE + 6]) assert.strictEqual(await portOpen(port), false, `port ${port} is free`);

            const sb = await within(240_000, "the next sandbox up", b.up("sandbox"));
            const inSandbox = ((await (await fetch(`${sb.url.value as string}/items`)).json()) as { name: string }[]).map((r) => r.name).sort();
            assert.deepStrictEqual(inSandbox, rows, "the next up restores the sandbox");
            b.logs = "";
            const p = await b.inEnv(() => run.preview(b.target("sandbox")));
            // Every run of a sandbox's program renews its expiry (now + ttlHours): that is the only change.
            const changes = Object.entries(p.changeSummary).filter(([op, n]) => op !== "same" && (n ?? 0) > 0);
            assert.deepStrictEqual(changes, [["update", 1]], "the sandbox's preview shows nothing but its expiry renewed");
            assert.match(b.logs, /shop-sandbox-db update \[diff: ~expiresAt\]/);
            await within(180_000, "the sandbox's destroy", b.inEnv(() => run.destroy(b.target("sandbox"))));
            assert.ok(!fs.existsSync(sandboxDir()));
        });
    });
});

describe("storageFault: a failed stack write named by the storage that caused it (pure)", () => {
    it("names the backend and the cause from the engine's text, or nothing for another error", () => {
        const at = "file:///x/state";
        assert.strictEqual(
            storageFault("error: write /x/state/.pulumi/stacks/p/pair.json: no space left on device", at),
            "the stack's state backend file:///x/state cannot be written: no space left on device (ENOSPC) (writing /x/state/.pulumi/stacks/p/pair.json)",
        );
        assert.match(storageFault("open /x/state/.pulumi/locks/a.json: read-only file system", at) ?? "", /read-only file system \(EROFS\)/);
        assert.strictEqual(storageFault("connect ECONNREFUSED 127.0.0.1:5432", at), undefined);
        assert.strictEqual(
            storageFault("open /proj/stacks/Pulumi.pair.yaml: read-only file system", at),
            "cannot write /proj/stacks/Pulumi.pair.yaml: read-only file system (EROFS)",
            "a file outside the backend is named, not the backend",
        );
    });
});

describe("the disk holding the state full, or not writable (a tmpfs under the backend)", function () {
    this.timeout(900_000);
    const mnt = (): string => path.join(b.proj.root, "state-disk");
    const b: Bench = new Bench(BASE + 10, () => path.join(mnt(), "state"));
    const backend = () => `file://${mnt()}/state`;
    const filler = () => path.join(mnt(), "filler");
    const sh = (cmd: string, args: string[]) => spawnSync(cmd, args, { encoding: "utf8", timeout: 60_000 });
    let mounted = false;

    before(async function () {
        if (process.getuid?.() !== 0) {
            process.stderr.write("SKIPPED: the disk-fault cases mount a tmpfs, which needs root; run the tests as root to cover them\n");
            this.skip();
        }
        b.create({ pair: localPairConfig(b.base, { "switchyard:traffic": BLUE, "switchyard:cutover": { steps: [25, 50, 100] } }) });
        fs.mkdirSync(mnt());
        const m = sh("mount", ["-t", "tmpfs", "-o", "size=48m,mode=0700", "tmpfs", mnt()]);
        if (m.status !== 0) {
            process.stderr.write(`SKIPPED: cannot mount a tmpfs at ${mnt()}: ${m.stderr.trim()}\n`);
            b.proj.cleanup();
            this.skip();
        }
        mounted = true;
        fs.mkdirSync(path.join(mnt(), "state"));
        await b.up();
    });

    after(async () => {
        if (!mounted) return;
        try {
            sh("mount", ["-o", "remount,rw", mnt()]);
            fs.rmSync(filler(), { force: true });
            await b.teardown(["pair"]);
        } finally {
            let u = sh("umount", [mnt()]);
            if (u.status !== 0) u = sh("umount", ["-l", mnt()]);
            b.proj.cleanup();
            assert.strictEqual(u.status, 0, `umount ${mnt()}: ${u.stderr}`);
        }
    });

    afterEach(function () {
        if (this.currentTest?.state === "failed") b.failed(this.currentTest.title);
        b.logs = "";
        fs.rmSync(filler(), { force: true });
    });

    /** Fills the tmpfs to its last page, then gives back `leave` bytes. */
    function fill(leave = 0): void {
        const fd = fs.openSync(filler(), "w");
        try {
            for (const size of [1 << 20, 4096, 1]) {
                const chunk = Buffer.alloc(size, 1);
                for (;;) {
                    try {
                        fs.writeSync(fd, chunk);
                    } catch (e) {
                        if ((e as NodeJS.ErrnoException).code !== "ENOSPC") throw e;
                        break;
                    }
                }
            }
        } finally {
            fs.closeSync(fd);
        }
        if (leave > 0) fs.truncateSync(filler(), fs.statSync(filler()).size - leave);
    }

    /** The stack's config file and state file, byte for byte. */
    function files(): { config: Buffer; state: Buffer } {
        const dir = path.join(mnt(), "state", ".pulumi", "stacks", "switchyard-test");
        return { config: fs.readFileSync(b.configFile()), state: fs.readFileSync(path.join(dir, "pair.json")) };
    }

    /** The error an operation ends with on the faulty disk (it must end with one, readable, within bounds). */
    async function refused(what: string, op: () => Promise<unknown>): Promise<string> {
        const outcome = await within(240_000, what, op().then(
            (r) => `no error: ${JSON.stringify(r).slice(0, 300)}`,
            (e: Error) => e.message,
        ));
        assertReadable(outcome, `${what}'s error`);
        return outcome;
    }

    const cutoverReq: Parameters<typeof cut.cutover>[1] = { steps: [25, 50, 100], gate: GATE, pretest: false, backup: false };

    it("full to the last page: a cutover and an up are refused before anything is written, naming the backend and ENOSPC; once space is freed the stack is as it was and cuts over", async () => {
        const before = files();
        fill();
        let cutoverError: string;
        let upError: string;
        try {
            cutoverError = await refused("the cutover on a full disk", () => b.inEnv(() => cut.cutover(b.target(), cutoverReq)));
            assert.deepStrictEqual(await readWeights(b.socket()), BLUE, "the router is unchanged");
            upError = await refused("the up on a full disk", () => b.up());
        } finally {
            fs.rmSync(filler(), { force: true });
        }
        for (const m of [cutoverError, upError]) {
            assert.match(m, new RegExp(`${backend()}\\S* .*no space left on device \\(ENOSPC\\)`), "names the backend and the cause");
            assert.match(m, /free space there/, "names the fix");
        }
        const after = files();
        assert.ok(after.config.equals(before.config), "the stack's config file is unchanged");
        assert.ok(after.state.equals(before.state), "the stack's state file is unchanged");
        await b.assertConsistent(BLUE);
        await b.assertCutoverPromotes();
    });

    it("nearly full (room for a small record, not for the state): an up is refused before the engine writes, so the state file is never cut short", async () => {
        const before = files();
        fs.writeFileSync(b.configFile(), YAML.stringify({ config: localPairConfig(b.base, { "switchyard:traffic": { blue: 90, green: 10 }, "switchyard:cutover": { steps: [25, 50, 100] } }) }));
        fill(64 << 10);
        let upError: string;
        try {
            upError = await refused("the up on a nearly full disk", () => b.up());
        } finally {
            fs.rmSync(filler(), { force: true });
            fs.writeFileSync(b.configFile(), before.config);
        }
        assert.match(upError, new RegExp(`the state backend ${backend()} has no room for this operation's writes: no space left on device \\(ENOSPC\\)`));
        const state = files().state;
        assert.ok(state.equals(before.state), "the state file is whole and unchanged");
        assert.doesNotThrow(() => JSON.parse(state.toString("utf8")), "the state file parses");
        assert.deepStrictEqual(await readWeights(b.socket()), BLUE, "the router is unchanged");
        await b.assertConsistent(BLUE);
    });

    it("full while a step is observed: traffic goes back to blue at once though nothing can be recorded; once space is freed, revert records it and the stack cuts over again", async () => {
        let filled = false;
        let outcome = "";
        try {
            const { result } = await b.underLoad(() =>
                within(
                    240_000,
                    "the cutover as the disk fills",
                    b
                        .inEnv(() =>
                            cut.cutover(b.target(), { ...cutoverReq, gate: { ...GATE, intervalMs: 3000, minRequests: 0 } }, {
                                onEvent: (e) => {
                                    if (e.type === "applied" && e.served.green > 0 && !filled) {
                                        fill();
                                        filled = true;
                                    }
                                },
                            }),
                        )
                        .then(
                            (cp) => (assert.notStrictEqual(cp.phase, "promoted"), `${cp.phase}: ${cp.reason}`),
                            (e: Error) => e.message,
                        ),
                ),
            );
            outcome = result;
            assert.ok(filled, "the disk filled during the first step");
            assert.deepStrictEqual(await readWeights(b.socket()), BLUE, `the router serves blue alone again (${outcome})`);
        } finally {
            fs.rmSync(filler(), { force: true });
        }
        assertReadable(outcome, "the cutover's error");
        assert.match(outcome, new RegExp(`${mnt()}/state\\S* .*no space left on device \\(ENOSPC\\)`), "names the backend and the cause");
        assert.match(outcome, /the router was reverted at once/, "says traffic went back");

        const back = await within(180_000, "the revert after freeing space", b.inEnv(() => cut.revert(b.target())));
        assert.strictEqual(back.phase, "reverted", back.reason);
        await b.assertConsistent(BLUE);
        await b.assertCutoverPromotes();
    });

    it("read-only: a cutover and an up are refused before anything is written, naming the backend and EROFS; once writable the stack is as it was and cuts over", async () => {
        const before = files();
        const ro = sh("mount", ["-o", "remount,ro", mnt()]);
        assert.strictEqual(ro.status, 0, `remount read-only: ${ro.stderr}`);
        let cutoverError: string;
        let upError: string;
        try {
            cutoverError = await refused("the cutover on a read-only disk", () => b.inEnv(() => cut.cutover(b.target(), cutoverReq)));
            assert.deepStrictEqual(await readWeights(b.socket()), BLUE, "the router is unchanged");
            upError = await refused("the up on a read-only disk", () => b.up());
        } finally {
            const rw = sh("mount", ["-o", "remount,rw", mnt()]);
            assert.strictEqual(rw.status, 0, `remount read-write: ${rw.stderr}`);
        }
        for (const m of [cutoverError, upError]) {
            assert.match(m, new RegExp(`${backend()}\\S* .*read-only file system \\(EROFS\\)`), "names the backend and the cause");
        }
        const after = files();
        assert.ok(after.config.equals(before.config) && after.state.equals(before.state), "config and state files unchanged");
        await b.assertConsistent(BLUE);
        await b.assertCutoverPromotes();
    });
});
