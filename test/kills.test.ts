/**
 * The kill suite: the whole process group of a `switchyard` command (the CLI, the Pulumi engine and
 * its plugins) gets SIGKILL at random instants of a cutover on a real local pair (PostgreSQL, two app
 * processes, HAProxy) under steady HTTP load: inside the backup, inside a step's `up`, during an
 * observation window, inside a revert (`switchyard revert`, and a cutover whose gate failed), and
 * between phases. After each kill, with no manual step, `resume` or `revert` must leave the stack
 * consistent:
 * - it exits 0, or 1 only with a gate's verdict (never a lock or engine error);
 * - `status --json` shows intent, state, config and router in agreement, and no unfinished action;
 * - `preview` shows no change;
 * - no process of the killed group is left, and no half-made snapshot keeps a server running;
 * - the next cutover starts (every few kills one runs to promotion), and the run ends at blue 100.
 * Throughout, HAProxy's weights are read ten times a second: every sample must be a split it may
 * serve; and no request through it may fail except those the test makes the new color fail.
 *
 * The randomness is seeded and the seed printed; `KILL_SEED=<n>` replays a run's schedule, delays
 * and choices (as far as the processes' timing lets: a kill may land a little earlier or later).
 * Slow (about ten minutes): it starts real processes, so run it alone (`bash bench/kills.sh [seed]`).
 */
import * as assert from "assert";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import * as YAML from "yaml";
import { ChildProcess, spawn } from "child_process";
import * as run from "../stack/run";
import * as cut from "../cutover";
import { readWeights } from "../components/local/ops/haproxy";
import { startLoad } from "./support/http";
import { localPairConfig } from "./support/stacks";
import { withEnv } from "./support/project";
import { Aim, badSplit, changesIn, expectedLanding, KillRecord, Landing, landing, rngOf, schedule, seeded, tally } from "./support/kills";
import { processesIn } from "./support/procs";

const ROOT = path.resolve(__dirname, "..");
const BIN = path.join(ROOT, "bin", "switchyard");
// Ports of this file only: 24400..24404 (router, test, blue, green, database).
const BASE = 24400;
const PROJECT = "switchyard-kills";
const STACK = "pair";
const GATE_FLAGS = ["--interval", "1", "--min-requests", "5"];
const STEPS = ["--steps", "50,100"];

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** A `switchyard` command in its own process group, its `--json` events parsed as they come. */
interface Cli {
    readonly args: string[];
    readonly child: ChildProcess;
    readonly events: cut.CutoverEvent[];
    out: string;
    err: string;
    /** The exit code; null when a signal ended it. */
    readonly exit: Promise<number | null>;
    exited: boolean;
    /** Resolves with the index of the first event from `from` on that passes `pred`; rejects if the command ends first. */
    event(pred: (e: cut.CutoverEvent) => boolean, from?: number, ms?: number): Promise<number>;
}

/** The processes of a process group that have not exited (zombies left out), from procfs. */
function groupMembers(pgid: number): string[] {
    const out: string[] = [];
    for (const ent of fs.readdirSync("/proc")) {
        if (!/^\d+$/.test(ent)) continue;
        try {
            const stat = fs.readFileSync(`/proc/${ent}/stat`, "utf8");
            const rest = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
            if (Number(rest[2]) === pgid && rest[0] !== "Z" && rest[0] !== "X") {
                out.push(`${ent} ${stat.slice(stat.indexOf("(") + 1, stat.lastIndexOf(")"))}`);
            }
        } catch {
            /* gone */
        }
    }
    return out;
}


describe("kill suite: SIGKILL of a cutover's whole process group at random instants (real engine, HAProxy, load)", function () {
    this.timeout(30 * 60_000);
    const seed = process.env.KILL_SEED !== undefined && process.env.KILL_SEED !== "" ? Number(process.env.KILL_SEED) : Math.floor(Math.random() * 2 ** 31);
    const rng = rngOf(seeded(seed));
    let root: string;
    let stateDir: string;
    let home: string;
    let out: Record<string, unknown>;
    const running = new Set<Cli>();
    const records: (KillRecord & { line: string })[] = [];
    const samples: { at: number; weights?: cut.TrafficWeights; error?: string }[] = [];
    const traffic = { ok: 0, injected: 0, failed: [] as string[], colors: {} as Record<string, number> };
    let stopBackground = false;
    let background: Promise<unknown> | undefined;
    let engineLog = "";
    let staleLocksCleared = 0;
    let pendingCleared = 0;
    let faultsOn: cut.Color | undefined;

    const env = () => ({ PULUMI_BACKEND_URL: `file://${stateDir}`, SWITCHYARD_HOME: home });
    const appPort = (c: cut.Color) => (out.appPorts as Record<cut.Color, number>)[c];
    const socket = () => out.adminSocket as string;
    const snapshotRoot = () => out.snapshotRoot as string;
    const recordsDir = () => path.join(stateDir, ".pulumi", "switchyard", PROJECT, STACK);

    function cli(args: string[]): Cli {
        const child = spawn(process.execPath, [BIN, "--cwd", root, ...args], {
            cwd: ROOT,
            env: { ...process.env, ...env(), PATH: `${path.dirname(process.execPath)}:${process.env.PATH ?? ""}` },
            detached: true,
            stdio: ["ignore", "pipe", "pipe"],
        });
        const waiters = new Set<() => void>();
        const wake = () => [...waiters].forEach((w) => w());
        let buf = "";
        const c: Cli = {
            args,
            child,
            events: [],
            out: "",
            err: "",
            exited: false,
            exit: new Promise((resolve) =>
                child.on("close", (code) => {
                    c.exited = true;
                    running.delete(c);
                    resolve(code);
                    wake();
                }),
            ),
            event(pred, from = 0, ms = 180_000) {
                return new Promise((resolve, reject) => {
                    const timer = setTimeout(() => settle(new Error(`no such event within ${ms / 1000} s from \`switchyard ${args.join(" ")}\`:\n${c.out}${c.err}`)), ms);
                    const settle = (e: Error | undefined, i?: number) => {
                        clearTimeout(timer);
                        waiters.delete(check);
                        if (e) reject(e);
                        else resolve(i as number);
                    };
                    function check() {
                        for (let i = from; i < c.events.length; i++) {
                            if (pred(c.events[i])) return settle(undefined, i);
                        }
                        if (c.exited) settle(new Error(`\`switchyard ${args.join(" ")}\` ended before the event awaited:\n${c.out}${c.err}`));
                    }
                    waiters.add(check);
                    check();
                });
            },
        };
        child.stdout!.on("data", (d: Buffer) => {
            c.out += d;
            buf += d;
            for (let i = buf.indexOf("\n"); i >= 0; i = buf.indexOf("\n")) {
                const line = buf.slice(0, i);
                buf = buf.slice(i + 1);
                if (line.startsWith("{\"type\"")) {
                    c.events.push(JSON.parse(line) as cut.CutoverEvent);
                }
            }
            wake();
        });
        child.stderr!.on("data", (d: Buffer) => (c.err += d));
        running.add(c);
        return c;
    }

    /** SIGKILL to the command's whole process group; waits until no process of the group is left. */
    async function killGroup(c: Cli): Promise<void> {
        const pgid = c.child.pid as number;
        try {
            process.kill(-pgid, "SIGKILL");
        } catch (e) {
            if ((e as NodeJS.ErrnoException).code !== "ESRCH") throw e;
        }
        await c.exit;
        const end = Date.now() + 15_000;
        while (groupMembers(pgid).length > 0) {
            if (Date.now() > end) assert.fail(`processes of the killed group ${pgid} are still running: ${groupMembers(pgid).join(", ")}`);
            await sleep(50);
        }
    }

    /** Waits for a command to end (killing its group past ms); returns its exit code. */
    async function finish(c: Cli, ms = 240_000): Promise<number | null> {
        let late = false;
        const timer = setTimeout(() => {
            late = true;
            void killGroup(c);
        }, ms);
        try {
            const code = await c.exit;
            assert.ok(!late, `\`switchyard ${c.args.join(" ")}\` did not end within ${ms / 1000} s:\n${c.out}${c.err}`);
            return code;
        } finally {
            clearTimeout(timer);
        }
    }

    /** Counts what a command said it cleared: stale engine locks, operations left pending. */
    function count(text: string): void {
        staleLocksCleared += (text.match(/cleared a stale engine lock/g) ?? []).length;
        pendingCleared += (text.match(/cleared an operation left pending/g) ?? []).length;
    }
    const notices = (c: Cli) => count(c.err);

    async function statusJson(): Promise<cut.CutoverStatus> {
        const c = cli(["status", STACK, "--json"]);
        const code = await finish(c);
        notices(c);
        assert.strictEqual(code, 0, `status exited ${code}:\n${c.out}${c.err}`);
        return JSON.parse(c.out) as cut.CutoverStatus;
    }

    async function setFaults(color: cut.Color, failRate: number): Promise<void> {
        const r = await fetch(`http://127.0.0.1:${appPort(color)}/admin/faults`, {
            method: "POST",
            headers: { "content-type": "application/json" },
            body: JSON.stringify({ failRate }),
        });
        assert.strictEqual(r.status, 200, `faults on ${color}: HTTP ${r.status}`);
        faultsOn = failRate > 0 ? color : undefined;
    }

    /** A cutover with the suite's short gate; pretest and backup as asked. */
    function startCutover(plan: { pretest: boolean; backup: boolean }): Cli {
        return cli(["cutover", STACK, "--json", ...STEPS, ...GATE_FLAGS, ...(plan.pretest ? [] : ["--no-pretest"]), ...(plan.backup ? [] : ["--no-backup"])]);
    }

    /** A cutover to promotion, then nothing else: exit 0, promoted. */
    async function promote(): Promise<void> {
        const c = startCutover({ pretest: false, backup: false });
        const code = await finish(c);
        notices(c);
        assert.strictEqual(code, 0, `a whole cutover did not promote:\n${c.out}${c.err}`);
        const last = c.events.at(-1);
        assert.strictEqual(last?.type === "done" && last.phase, "promoted", `a whole cutover did not promote:\n${c.out}`);
    }

    /** Unfinished work in the backend's records, read without touching the stack. */
    function unfinishedInRecords(): boolean {
        const read = (n: string) => {
            const f = path.join(recordsDir(), `${n}.json`);
            return fs.existsSync(f) ? (JSON.parse(fs.readFileSync(f, "utf8")) as { phase?: string }) : undefined;
        };
        const cp = read("checkpoint") as cut.Checkpoint | undefined;
        return read("intent") !== undefined || (cp !== undefined && !cut.FINAL_PHASES.includes(cp.phase));
    }

    /**
     * The stack after a recovery: status (through the CLI) shows everything in agreement and nothing
     * unfinished, a preview shows no change, and no half-made snapshot keeps a server running.
     */
    async function assertConsistent(what: string): Promise<cut.CutoverStatus> {
        const s = await statusJson();
        assert.ok(s.inAgreement, `${what}: status disagrees: ${s.disagreements.join("; ")}`);
        assert.strictEqual(s.intent, undefined, `${what}: an intent is left: ${JSON.stringify(s.intent)}`);
        assert.ok(s.checkpoint && cut.FINAL_PHASES.includes(s.checkpoint.phase), `${what}: the last cutover has not ended: ${JSON.stringify(s.checkpoint)}`);
        assert.ok(badSplit(s.weightsServed) === undefined && (s.weightsServed.blue === 100 || s.weightsServed.green === 100), `${what}: one color serves alone: ${JSON.stringify(s.weightsServed)}`);
        let log = "";
        const pv = await withEnv(env(), () => run.preview({ stackName: STACK, project: root, onOutput: (t) => (log += t), onNotice: (t) => (log += t) }));
        assert.deepStrictEqual(changesIn(pv.changeSummary), {}, `${what}: preview shows changes ${JSON.stringify(pv.changeSummary)}:\n${log.slice(-3000)}`);
        const strays = fs.existsSync(snapshotRoot()) ? processesIn(snapshotRoot()) : [];
        assert.deepStrictEqual(strays, [], `${what}: processes run from the snapshot folder (a half-made snapshot's server): ${strays.join(", ")}`);
        const partial = fs.existsSync(snapshotRoot()) ? fs.readdirSync(snapshotRoot()).filter((n) => n.endsWith(".partial")) : [];
        assert.deepStrictEqual(partial, [], `${what}: half-made snapshots are left: ${partial.join(", ")}`);
        return s;
    }

    /**
     * The recovery after a kill, with no manual step: `resume` or `revert`, as the seed picks, when a
     * cutover is unfinished, else `revert`; then the checks. Whether one is unfinished is asked of
     * `status` (askStatus), or read from the backend's records without touching the stack, so that
     * `resume` and `revert` meet a stale engine lock and pending operations themselves.
     */
    async function recover(what: string, askStatus: boolean): Promise<{ cmd: string; code: number | null; phase: string; status: cut.CutoverStatus }> {
        const unfinished = askStatus
            ? await withEnv(env(), async () => {
                  const onNotice = (t: string) => {
                      engineLog += t;
                      count(t);
                  };
                  const s = await cut.status({ stackName: STACK, project: root, onOutput: () => undefined, onNotice });
                  return s.intent !== undefined || (s.checkpoint !== undefined && !cut.FINAL_PHASES.includes(s.checkpoint.phase));
              })
            : unfinishedInRecords();
        const cmd = unfinished && rng.chance(0.5) ? "resume" : "revert";
        const r = cli([cmd, STACK, "--json", ...(cmd === "resume" ? GATE_FLAGS : [])]);
        const code = await finish(r);
        notices(r);
        what = `${what} then ${cmd}`;
        const complaints = r.err.split("\n").filter((l) => /lock|engine|pulumi cancel/i.test(l) && !/switchyard: cleared (a stale engine lock|an operation left pending)/.test(l));
        assert.deepStrictEqual(complaints, [], `${what}: a lock or engine error:\n${r.err}`);
        assert.ok(
            code === 0 || (code === 1 && /cutover reverted: (gate failed|no verdict)/.test(r.err)),
            `${what}: exit ${code}, not 0 (nor 1 with a gate's verdict):\n${r.out}${r.err}`,
        );
        const last = r.events.at(-1);
        assert.ok(last?.type === "done", `${what}: the ${cmd} printed no end:\n${r.out}`);
        return { cmd, code, phase: last.phase, status: await assertConsistent(what) };
    }

    before(async function () {
        this.timeout(300_000);
        process.stdout.write(`    kill suite seed: ${seed} (replay with KILL_SEED=${seed})\n`);
        root = fs.mkdtempSync(path.join(os.tmpdir(), "switchyard-kills-"));
        stateDir = path.join(root, ".state");
        home = path.join(root, "home");
        fs.mkdirSync(stateDir);
        fs.mkdirSync(path.join(root, "stacks"));
        fs.writeFileSync(path.join(root, "Pulumi.yaml"), `name: ${PROJECT}\nruntime: nodejs\nmain: ${path.join(ROOT, "stack", "classic.ts")}\nstackConfigDir: stacks\n`);
        const config = localPairConfig(BASE, { "switchyard:traffic": { blue: 100, green: 0 }, "switchyard:cutover": { steps: [50, 100] } });
        config["switchyard:app"] = { ...(config["switchyard:app"] as object), cwd: ROOT };
        fs.writeFileSync(path.join(root, "stacks", `Pulumi.${STACK}.yaml`), YAML.stringify({ config }));

        const up = cli(["up", STACK, "--no-policy"]);
        assert.strictEqual(await finish(up), 0, `up failed:\n${up.out}${up.err}`);
        const o = cli(["outputs", STACK, "--json"]);
        assert.strictEqual(await finish(o), 0, o.err);
        out = JSON.parse(o.out) as Record<string, unknown>;

        // Steady load through the router, and HAProxy's weights read ten times a second, all suite long.
        const url = out.url as string;
        const stamp = () => new Date().toISOString();
        const load = startLoad(url, {
            connections: 2,
            rate: 100,
            durationMs: 3600_000,
            timeoutMs: 10_000,
            onAnswer: (a) => {
                if (a.status === 200) {
                    const c = a.color ?? "?";
                    traffic.colors[c] = (traffic.colors[c] ?? 0) + 1;
                    traffic.ok++;
                } else if (a.status === 500 && a.body.includes("injected failure")) {
                    traffic.injected++;
                } else {
                    traffic.failed.push(`HTTP ${a.status} ${a.body.slice(0, 80)} at ${stamp()}`);
                }
            },
            onNoAnswer: (f) => void traffic.failed.push(`${f.reason} at ${stamp()}`),
        });
        const loadUntilStopped = async () => {
            while (!stopBackground) await sleep(50);
            await load.stop();
        };
        const poll = async () => {
            let next = Date.now();
            while (!stopBackground) {
                try {
                    samples.push({ at: Date.now(), weights: await readWeights(socket()) });
                } catch (e) {
                    samples.push({ at: Date.now(), error: (e as Error).message });
                }
                next = Math.max(next + 100, Date.now() - 1000);
                await sleep(Math.max(0, next - Date.now()));
            }
        };
        background = Promise.all([loadUntilStopped(), poll()]);
    });

    after(async function () {
        this.timeout(300_000);
        stopBackground = true;
        await background;
        for (const c of running) await killGroup(c).catch(() => undefined);
        if (faultsOn) await setFaults(faultsOn, 0).catch(() => undefined);
        if (records.length > 0) {
            process.stdout.write(["", `    kill suite seed ${seed}: per-phase counts`, ...tally(records).map((l) => `    ${l}`), ""].join("\n") + "\n");
        }
        if (root) {
            const d = cli(["destroy", STACK]);
            const code = await finish(d).catch(() => -1);
            const left = fs.existsSync(home) ? processesIn(home) : [];
            for (const pid of left) {
                try {
                    process.kill(pid, "SIGKILL");
                } catch {
                    /* gone */
                }
            }
            fs.rmSync(root, { recursive: true, force: true });
            assert.strictEqual(code, 0, `destroy failed:\n${d.out}${d.err}`);
            assert.deepStrictEqual(left, [], "destroy left processes running from the suite's folder");
        }
    });

    afterEach(function () {
        if (this.currentTest?.state === "failed" && engineLog) {
            process.stderr.write(engineLog.slice(-4000));
        }
    });

    it("after every kill, resume or revert leaves the stack consistent, and the cutover runs again", async () => {
        const aims = schedule(rng);
        assert.ok(aims.length >= 20, `at least 20 kill instants (${aims.length})`);
        const rowOf = (aim: Aim, landed: Landing, boundary?: string): string => {
            if (aim === "between") return `between phases (on "${boundary}")`;
            switch (landed) {
                case "revert":
                    return aim === "gate-revert" ? "inside a revert (gate failed)" : "inside a revert (`switchyard revert`)";
                case "step-up":
                    return "inside a step's `up`";
                case "backup":
                    return "inside the backup";
                case "observe":
                    return "during an observation window";
                case "ended":
                    return "after the command's end";
                default:
                    return landed;
            }
        };

        for (const [i, aim] of aims.entries()) {
            const plan = { pretest: aim === "between" ? false : rng.chance(0.3), backup: aim === "backup" };
            let c: Cli;
            let trigger: string;
            let delay = 0;
            let boundary: string | undefined;
            if (aim === "revert-cmd") {
                await promote();
                c = cli(["revert", STACK, "--json"]);
                await c.event((e) => e.type === "revert");
                delay = rng.int(0, 2500);
                trigger = "revert";
            } else if (aim === "gate-revert") {
                c = startCutover(plan);
                const started = c.events[await c.event((e) => e.type === "started")] as Extract<cut.CutoverEvent, { type: "started" }>;
                await c.event((e) => e.type === "applied");
                await setFaults(started.to, 0.3);
                await c.event((e) => e.type === "revert");
                delay = rng.int(0, 2500);
                trigger = "revert";
            } else if (aim === "backup") {
                c = startCutover(plan);
                trigger = plan.pretest ? "pretest" : "started";
                await c.event((e) => e.type === trigger);
                delay = rng.int(0, 2000);
            } else if (aim === "step-up" || aim === "observe") {
                c = startCutover(plan);
                const step = rng.int(1, 2);
                const at = await c.event((e) => e.type === "step" && e.step === step);
                if (aim === "step-up") {
                    delay = rng.int(0, 3500);
                    trigger = `step ${step}`;
                } else {
                    await c.event((e) => e.type === "applied", at);
                    delay = rng.int(50, 900);
                    trigger = `applied ${step}`;
                }
            } else {
                boundary = rng.pick(["started", "pretest", "step", "applied", "verdict"]);
                plan.pretest = boundary === "started" || boundary === "pretest";
                plan.backup = boundary === "pretest";
                c = startCutover(plan);
                await c.event((e) => e.type === boundary);
                trigger = boundary;
            }
            if (delay > 0) await sleep(delay);
            const typesAtKill = c.events.map((e) => e.type);
            await killGroup(c);
            if (faultsOn) await setFaults(faultsOn, 0);
            const landed = landing(typesAtKill, plan);
            const expected = expectedLanding(aim);
            const row = rowOf(aim, landed, boundary);

            const what = `kill ${i + 1}/${aims.length} (${aim}, ${trigger} +${delay} ms, landed ${landed})`;
            let ending: Awaited<ReturnType<typeof recover>>;
            try {
                ending = await recover(what, i % 2 === 0);
            } catch (e) {
                records.push({ row, consistent: false, line: `${what}: ${(e as Error).message.split("\n")[0]}` });
                throw e;
            }
            const w = ending.status.weightsServed;
            const line =
                `kill ${String(i + 1).padStart(2)}/${aims.length} ${aim.padEnd(11)} ${`${trigger} +${delay} ms`.padEnd(20)} landed ${landed.padEnd(8)}` +
                `${expected && expected !== landed ? " (aimed elsewhere)" : ""} → ${ending.cmd} exit ${ending.code} (${ending.phase}) → consistent, ${w.blue}/${w.green}`;
            process.stdout.write(`    ${line}\n`);
            records.push({ row, consistent: true, line });
        }

        // The suite ends where it started: blue alone, after one more whole cutover and its revert.
        let s = await statusJson();
        if (s.weightsInState.green === 100) {
            await promote();
        }
        await promote();
        const back = cli(["revert", STACK, "--json"]);
        assert.strictEqual(await finish(back), 0, `the last revert failed:\n${back.out}${back.err}`);
        s = await assertConsistent("the last cutover and revert");
        assert.deepStrictEqual(s.weightsInState, { blue: 100, green: 0 });
        process.stdout.write(`    stale engine locks cleared: ${staleLocksCleared}; pending operations cleared: ${pendingCleared}\n`);
    });

    it("HAProxy served a valid split at every sample of the 10 Hz poll, throughout", () => {
        const seconds = samples.length > 1 ? (samples[samples.length - 1].at - samples[0].at) / 1000 : 0;
        process.stdout.write(`    ${samples.length} weight samples over ${seconds.toFixed(0)} s\n`);
        assert.ok(samples.length >= seconds * 5, `the poll kept up at least 5 Hz: ${samples.length} samples in ${seconds.toFixed(0)} s`);
        const bad = samples.map((x) => ({ ...x, problem: x.error ?? badSplit(x.weights as cut.TrafficWeights) })).filter((x) => x.problem);
        assert.deepStrictEqual(bad.slice(0, 5).map((x) => `${new Date(x.at).toISOString()}: ${x.problem}`), [], `${bad.length} bad samples`);
    });

    it("no request through HAProxy failed but those the test made the new color fail", () => {
        process.stdout.write(`    load: ${traffic.ok} answered (${JSON.stringify(traffic.colors)}), ${traffic.injected} injected failures, ${traffic.failed.length} other failures\n`);
        assert.ok(traffic.ok > 1000, `steady load ran: ${traffic.ok} answers`);
        assert.deepStrictEqual(traffic.failed.slice(0, 5), [], `${traffic.failed.length} requests failed`);
    });
});
