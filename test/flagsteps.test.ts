/**
 * Flag steps end to end on the local platform: the real engine, HAProxy, two app processes that
 * evaluate the flag from the stack's flagd file, PostgreSQL, and load from 2,000 distinct users (one
 * in ten internal). Asserts what an operator sees: the flag's stage in the stack's config, in its
 * state and in the served file; answers served with the flag on or off; and, after a SIGKILL of the
 * whole process group half-way through a flag step, `revert` or `resume` leaving all three agreeing;
 * then SIGKILLs at seeded random instants across flag steps (before and inside the intent, inside the
 * flag file's write and read-back, inside the step's `up`, inside its window, inside a revert turning
 * the flag off), each followed by a seeded `resume` or `revert` that must end consistent.
 *
 * Randomness (which user sends each request; the kills' aims, stages, delays and recoveries) is seeded
 * and the seed printed: FLAGSTEPS_SEED=<n>.
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
import { parseFlagsHeader, servedRollouts } from "../components/flags";
import { startLoad } from "./support/http";
import { localPairConfig } from "./support/stacks";
import { withEnv } from "./support/project";
import { portBlock } from "./support/ports";
import { processesIn } from "./support/procs";
import { FLAG_AIMS, flagLanding, flagSchedule, KillRecord, rngOf, seeded, tally } from "./support/kills";

const ROOT = path.resolve(__dirname, "..");
const BIN = path.join(ROOT, "bin", "switchyard");
const PROJECT = "switchyard-flagsteps";
const STACK = "pair";
const FLAG = "new-checkout";
const GATE: Partial<cut.GateSpec> = { intervalMs: 2000, minRequests: 5 };
const GATE_FLAGS = ["--interval", "2", "--min-requests", "5", "--no-pretest", "--no-backup", "--json"];
const RESUME_FLAGS = ["--interval", "2", "--min-requests", "5", "--json"];

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

describe("flag steps on the local platform (real engine, HAProxy, apps evaluating flagd's file, load)", function () {
    this.timeout(600_000);
    const seed = Number(process.env.FLAGSTEPS_SEED ?? Math.floor(Math.random() * 2 ** 31));
    const rng = seeded(seed);
    let root: string;
    let stateDir: string;
    let home: string;
    let out: Record<string, unknown>;
    let flagsFile = "";
    let load: ReturnType<typeof startLoad> | undefined;
    let engineLog = "";
    /** Answers of the steady load: the variant of the flag each was served, and failures. */
    const answers: { at: number; status: number; variant?: string }[] = [];

    const env = () => ({ PULUMI_BACKEND_URL: `file://${stateDir}`, SWITCHYARD_HOME: home });
    const target = (): run.StackTarget => ({ stackName: STACK, root, onOutput: (s) => (engineLog += s) });
    const inEnv = <T>(fn: () => Promise<T>) => withEnv(env(), fn);
    const appUrl = (c: cut.Color) => `http://127.0.0.1:${(out.appPorts as Record<cut.Color, number>)[c]}`;
    const setFlaggedFailRate = (rate: number) =>
        Promise.all(
            (["blue", "green"] as const).map((c) =>
                fetch(`${appUrl(c)}/admin/faults`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ flaggedFailRate: rate }) }),
            ),
        );

    /** The flag's stage in the stack's config file, in its state (the FlagsFile resource) and in the served file. */
    async function stageEverywhere(): Promise<{ config: unknown; state: unknown; served: unknown }> {
        const file = YAML.parse(fs.readFileSync(path.join(root, "stacks", `Pulumi.${STACK}.yaml`), "utf8"));
        const config = file.config["switchyard:flags"]?.[FLAG]?.rollout ?? "off";
        const res = await flagsResource();
        const state = (res.flags as Record<string, { rollout?: unknown }> | undefined)?.[FLAG]?.rollout ?? "off";
        const served = servedRollouts(fs.readFileSync(flagsFile, "utf8"))[FLAG];
        return { config, state, served };
    }

    /** The outputs of the stack's flagd file resource in its state (path, flags, content). */
    async function flagsResource(): Promise<Record<string, unknown>> {
        const stack = await inEnv(() => run.openStack(target()));
        const res = (await run.stateResources(stack)).find((r) => r.type === "pulumi-nodejs:dynamic/switchyard-local:FlagsFile");
        assert.ok(res, "the stack's state holds a flags file");
        return res.outputs;
    }

    /** A `switchyard` command in its own process group, its JSON events parsed as they come. */
    function cli(args: string[]): { child: ChildProcess; events: cut.CutoverEvent[]; text: () => string; exit: Promise<number | null>; until: (pred: (e: cut.CutoverEvent) => boolean, ms?: number) => Promise<void> } {
        const child = spawn(process.execPath, [BIN, "--cwd", root, ...args], {
            cwd: ROOT,
            env: { ...process.env, ...env(), PATH: `${path.dirname(process.execPath)}:${process.env.PATH ?? ""}` },
            detached: true,
            stdio: ["ignore", "pipe", "pipe"],
        });
        const events: cut.CutoverEvent[] = [];
        let text = "";
        let buf = "";
        child.stdout!.on("data", (d: Buffer) => {
            text += d;
            buf += d;
            for (let i = buf.indexOf("\n"); i >= 0; i = buf.indexOf("\n")) {
                const line = buf.slice(0, i);
                buf = buf.slice(i + 1);
                if (line.startsWith('{"type"')) events.push(JSON.parse(line) as cut.CutoverEvent);
            }
        });
        child.stderr!.on("data", (d: Buffer) => (text += d));
        const exit = new Promise<number | null>((resolve) => child.on("close", resolve));
        let exited = false;
        void exit.then(() => (exited = true));
        const until = async (pred: (e: cut.CutoverEvent) => boolean, ms = 180_000) => {
            const end = Date.now() + ms;
            while (!events.some(pred)) {
                if (exited) throw new Error(`\`switchyard ${args.join(" ")}\` ended before the event awaited:\n${text}`);
                if (Date.now() > end) throw new Error(`no such event within ${ms / 1000} s:\n${text}`);
                await sleep(5);
            }
        };
        return { child, events, text: () => text, exit, until };
    }

    /** SIGKILL to the whole process group (maybe sent already); waits until none of it is left. */
    async function killGroup(c: { child: ChildProcess; exit: Promise<number | null> }): Promise<void> {
        try {
            process.kill(-(c.child.pid as number), "SIGKILL");
        } catch (e) {
            if ((e as NodeJS.ErrnoException).code !== "ESRCH") throw e;
        }
        await c.exit;
        for (let i = 0; i < 150; i++) {
            try {
                process.kill(-(c.child.pid as number), 0);
            } catch {
                return;
            }
            await sleep(100);
        }
        assert.fail(`processes of the killed group ${c.child.pid} are left`);
    }

    before(async function () {
        process.stdout.write(`    flag steps seed: ${seed} (replay with FLAGSTEPS_SEED=${seed})\n`);
        const base = await portBlock(5);
        root = fs.mkdtempSync(path.join(os.tmpdir(), "switchyard-flagsteps-"));
        stateDir = path.join(root, ".state");
        home = path.join(root, "home");
        fs.mkdirSync(stateDir);
        fs.mkdirSync(path.join(root, "stacks"));
        fs.writeFileSync(path.join(root, "Pulumi.yaml"), `name: ${PROJECT}\nruntime: nodejs\nmain: ${path.join(ROOT, "stack", "classic.ts")}\nstackConfigDir: stacks\n`);
        const config = localPairConfig(base, { "switchyard:traffic": { blue: 100, green: 0 }, "switchyard:cutover": { steps: [100] }, "switchyard:flags": { [FLAG]: {} } });
        config["switchyard:app"] = { ...(config["switchyard:app"] as object), cwd: ROOT };
        fs.writeFileSync(path.join(root, "stacks", `Pulumi.${STACK}.yaml`), YAML.stringify({ config }));
        const up = cli(["up", STACK, "--no-policy"]);
        assert.strictEqual(await up.exit, 0, `up failed:\n${up.text()}`);
        out = (await inEnv(() => run.outputs(target()))) as unknown as Record<string, unknown>;
        out = Object.fromEntries(Object.entries(out).map(([k, v]) => [k, (v as { value: unknown }).value]));
        flagsFile = (await flagsResource()).path as string;
        assert.ok(fs.existsSync(flagsFile), `the pair serves a flags file (${flagsFile})`);

        // 2,000 users, one in ten internal; each request from one of them at random (seeded).
        load = startLoad(out.url as string, {
            connections: 4,
            rate: 400,
            durationMs: 3600_000,
            timeoutMs: 10_000,
            headers: () => {
                const u = Math.floor(rng() * 2000);
                return { "x-user-id": `user-${u}`, ...(u % 10 === 0 ? { "x-user-group": "internal" } : {}) };
            },
            onAnswer: (a) => {
                const flags = a.headers?.["x-flags"];
                answers.push({ at: performance.now(), status: a.status, variant: parseFlagsHeader(typeof flags === "string" ? flags : undefined)[FLAG] });
            },
        });
    });

    after(async () => {
        await load?.stop();
        await inEnv(() => run.destroy(target())).catch(() => undefined);
        fs.rmSync(root, { recursive: true, force: true });
    });

    afterEach(function () {
        if (this.currentTest?.state === "failed") process.stderr.write(engineLog.slice(-4000));
        engineLog = "";
    });

    it("a breach of the flagged requests at 10% turns the flag off first, then reverts; config, state and the served file end off", async () => {
        const events: cut.CutoverEvent[] = [];
        let breachAt = 0;
        const cp = await inEnv(() =>
            cut.cutover(
                target(),
                { steps: [{ flag: FLAG, stage: "internal" }, { flag: FLAG, stage: 10 }, 100], gate: GATE, pretest: false, backup: false },
                {
                    onEvent: (e) => {
                        events.push(e);
                        // The flagged path starts failing once 10% of users get it.
                        if (e.type === "step" && e.flag?.stage === 10) {
                            breachAt = performance.now();
                            void setFlaggedFailRate(1);
                        }
                    },
                },
            ),
        );
        try {
            assert.strictEqual(cp.phase, "reverted", cp.reason);
            assert.match(cp.reason ?? "", /^gate failed at flag:new-checkout=10: success rate/);
            const types = events.map((e) => (e.type === "flag" ? `flag ${e.stage}->${e.served}` : e.type));
            const internalPassed = events.some((e) => e.type === "verdict" && e.step === 1 && e.verdict.outcome === "pass");
            assert.ok(internalPassed, `the internal step passed its gate: ${types.join(", ")}`);
            // The flag went off (read back) before the weights were set back.
            const off = types.indexOf("flag off->off");
            const revert = types.indexOf("revert");
            assert.ok(revert > 0 && off > revert && types.indexOf("applied", off) > off, types.join(", "));
            const verdictAt = Date.parse((events.find((e) => e.type === "verdict" && e.verdict.outcome === "fail") as { at: string }).at);
            const offAt = Date.parse((events.find((e) => e.type === "flag" && e.stage === "off") as { at: string }).at);
            assert.ok(offAt - verdictAt <= 1000, `flag off ${offAt - verdictAt} ms after the verdict`);
            // And as users saw it: no answer served with the flag on later than 1 s after the verdict.
            await sleep(1500);
            const lastOn = Math.max(...answers.filter((a) => a.variant === "on").map((a) => performance.timeOrigin + a.at));
            assert.ok(lastOn - verdictAt <= 1000, `an answer was served with the flag on ${Math.round(lastOn - verdictAt)} ms after the verdict`);
            assert.ok(breachAt > 0);
        } finally {
            await setFlaggedFailRate(0);
        }
        assert.deepStrictEqual(await stageEverywhere(), { config: "off", state: "off", served: "off" });
        assert.deepStrictEqual(await readWeights(out.adminSocket as string), { blue: 100, green: 0 });
        // What the apps serve follows the file: within a second no one gets the flag on.
        await sleep(1000);
        const from = answers.length;
        await sleep(1500);
        const since = answers.slice(from);
        assert.ok(since.length > 100, `${since.length} answers`);
        assert.strictEqual(since.filter((a) => a.variant === "on").length, 0, "no answer is served the flag on after the revert");
        const s = await inEnv(() => cut.status(target()));
        assert.ok(s.inAgreement, s.disagreements.join("; "));
    });

    it("SIGKILL of the process group half-way through a flag step: `revert` turns the flag off in config, state and the served file", async () => {
        const c = cli(["cutover", STACK, "--steps", `flag:${FLAG}=internal,flag:${FLAG}=10,100`, ...GATE_FLAGS]);
        // Killed once the 10% stage is set and read back, while its `up` runs.
        await c.until((e) => e.type === "flag" && e.stage === 10);
        await killGroup(c);
        const served = servedRollouts(fs.readFileSync(flagsFile, "utf8"))[FLAG];
        assert.strictEqual(served, 10, "the kill left the flag on at 10% in the served file");
        const before = await inEnv(() => cut.status(target()));
        assert.strictEqual(before.intent?.action, "flag", "the intent names the flag step cut short");

        const cp = await inEnv(() => cut.revert(target()));
        assert.strictEqual(cp.phase, "reverted", cp.reason);
        assert.deepStrictEqual(await stageEverywhere(), { config: "off", state: "off", served: "off" });
        const s = await inEnv(() => cut.status(target()));
        assert.ok(s.inAgreement && s.intent === undefined, s.disagreements.join("; "));
        assert.deepStrictEqual(s.weightsServed, { blue: 100, green: 0 });
    });

    it("SIGKILL half-way through a flag step: `resume` sets it again and goes on to promotion; all three agree", async () => {
        const c = cli(["cutover", STACK, "--steps", `flag:${FLAG}=internal,100`, ...GATE_FLAGS]);
        await c.until((e) => e.type === "flag" && e.stage === "internal");
        await killGroup(c);
        const cp = await inEnv(() => cut.resume(target(), GATE));
        assert.strictEqual(cp.phase, "promoted", cp.reason);
        assert.deepStrictEqual(await stageEverywhere(), { config: "internal", state: "internal", served: "internal" });
        const s = await inEnv(() => cut.status(target()));
        assert.ok(s.inAgreement && s.intent === undefined, s.disagreements.join("; "));
        assert.deepStrictEqual(s.weightsServed, { blue: 0, green: 100 });
        // Internal users get it on, others not.
        const ask = async (headers: Record<string, string>) => {
            const r = await fetch(`${out.url}/checkout`, { headers });
            return parseFlagsHeader(r.headers.get("x-flags") ?? undefined)[FLAG];
        };
        assert.strictEqual(await ask({ "x-user-id": "staff-1", "x-user-group": "internal" }), "on");
        assert.strictEqual(await ask({ "x-user-id": "customer-1" }), "off");
    });
    it("SIGKILLs at seeded random instants across flag steps: after each, `resume` or `revert` ends with config, state, served file and weights agreeing", async function () {
        this.timeout(15 * 60_000);
        const krng = rngOf(seeded(seed + 1));
        const aims = flagSchedule(krng, 1);
        const recordsDir = path.join(stateDir, ".pulumi", "switchyard", PROJECT, STACK);
        fs.mkdirSync(recordsDir, { recursive: true });
        const flagsDir = path.dirname(flagsFile);
        const flagTmps = () => fs.readdirSync(flagsDir).filter((n) => n.startsWith(`.${path.basename(flagsFile)}.`) && n.endsWith(".tmp"));
        const records: KillRecord[] = [];
        const t0 = performance.now();

        /** SIGKILL to the group the moment a file named so appears in dir (inotify), `delayMs` later. */
        const killOnFile = (c: ReturnType<typeof cli>, dir: string, match: RegExp, delayMs: number) =>
            new Promise<void>((resolve, reject) => {
                const w = fs.watch(dir, (_e, name) => {
                    if (!name || !match.test(String(name))) return;
                    w.close();
                    const kill = () => {
                        try {
                            process.kill(-(c.child.pid as number), "SIGKILL");
                        } catch {
                            /* gone already */
                        }
                        resolve();
                    };
                    if (delayMs > 0) setTimeout(kill, delayMs);
                    else kill();
                });
                void c.exit.then(() => {
                    w.close();
                    reject(new Error(`\`switchyard cutover\` ended before ${match} appeared in ${dir}:\n${c.text()}`));
                });
            });

        /** Processes of the Pulumi engine working in the test's project folder (none once a command has ended). */
        const enginesLeft = () =>
            processesIn(root).filter((pid) => {
                try {
                    return /pulumi/.test(fs.readFileSync(`/proc/${pid}/cmdline`, "utf8"));
                } catch {
                    return false;
                }
            });

        // Every aim once; an extra kill only while the run stays within its budget (the box is shared).
        const BUDGET_MS = 240_000;
        for (const [i, aim] of aims.entries()) {
            const spent = performance.now() - t0;
            if (i >= FLAG_AIMS.length && spent + spent / i > BUDGET_MS) {
                process.stdout.write(`    kill ${i + 1}/${aims.length} (${aim}) skipped: ${(spent / 1000).toFixed(0)} s spent of a ${BUDGET_MS / 1000} s budget\n`);
                continue;
            }
            const before = await stageEverywhere();
            const stages: cut.FlagStage[] = ["internal", 10, 25, 50];
            const stage = krng.pick(stages.filter((x) => x !== before.served));
            const c = cli(["cutover", STACK, "--steps", `flag:${FLAG}=${stage},100`, ...GATE_FLAGS]);
            let trigger = "";
            let delay = 0;
            let failing = false;
            if (aim === "flag-intent") {
                if (krng.chance(0.5)) {
                    delay = krng.int(0, 60);
                    trigger = "started";
                    await c.until((e) => e.type === "started");
                    await sleep(delay);
                } else {
                    delay = krng.int(0, 2);
                    trigger = "intent record appears";
                    await killOnFile(c, recordsDir, /^intent\.json/, delay);
                }
            } else if (aim === "flag-write") {
                delay = krng.int(0, 1);
                trigger = "flag file's temporary appears";
                await killOnFile(c, flagsDir, /\.tmp$/, delay);
            } else if (aim === "flag-up") {
                await c.until((e) => e.type === "flag" && e.stage === stage);
                delay = krng.int(0, 4000);
                trigger = "flag";
                await sleep(delay);
            } else if (aim === "flag-window") {
                await c.until((e) => e.type === "applied");
                delay = krng.int(50, 1500);
                trigger = "applied";
                await sleep(delay);
            } else {
                await c.until((e) => e.type === "applied");
                failing = true;
                await setFlaggedFailRate(1);
                await c.until((e) => e.type === "revert", 60_000);
                delay = krng.int(0, 2000);
                trigger = "revert";
                await sleep(delay);
            }
            await killGroup(c);
            if (failing) await setFlaggedFailRate(0);
            // What the command had printed by the kill (read to its end), and what it left on disk.
            const types = c.events.map((e) => e.type);
            const intentFile = path.join(recordsDir, "intent.json");
            const intent = fs.existsSync(intentFile) ? (JSON.parse(fs.readFileSync(intentFile, "utf8")) as { action?: string }) : undefined;
            const evidence = {
                intent: intent?.action === "flag",
                intentTmp: fs.readdirSync(recordsDir).some((n) => /^intent\.json\.\d+\.tmp$/.test(n)),
                fileTmp: flagTmps().length > 0,
                fileAtStage: servedRollouts(fs.readFileSync(flagsFile, "utf8"))[FLAG] === stage,
            };
            const landed = flagLanding(types, evidence);
            const what = `kill ${i + 1}/${aims.length} (${aim}, ${trigger} +${delay} ms, flag:${FLAG}=${stage}, landed ${landed})`;

            // `status` as the operator sees it now: the flag's three places as they are, any disagreement named.
            const mid = await inEnv(() => cut.status(target()));
            const places = await stageEverywhere();
            const shown = mid.flags?.find((f) => f.name === FLAG);
            assert.ok(shown, `${what}: status shows the flag`);
            assert.deepStrictEqual({ config: shown.config ?? "off", state: shown.state ?? "off", served: shown.served }, places, `${what}: status shows the flag's places as they are`);
            const split = new Set(Object.values(places).map(String)).size > 1;
            assert.strictEqual(mid.disagreements.some((d) => d.startsWith(`flag ${FLAG}: `)), split, `${what}: ${JSON.stringify(places)}; status: ${mid.disagreements.join("; ")}`);

            // The recovery, with no manual step: resume or revert as the seed picks (revert when nothing is unfinished).
            const unfinished = mid.intent !== undefined || (mid.checkpoint !== undefined && !cut.FINAL_PHASES.includes(mid.checkpoint.phase));
            const cmd = unfinished && krng.chance(0.5) ? "resume" : "revert";
            const r = cli([cmd, STACK, ...(cmd === "resume" ? RESUME_FLAGS : ["--json"])]);
            const timer = setTimeout(() => void killGroup(r), 240_000);
            const code = await r.exit;
            clearTimeout(timer);
            const ok = code === 0 || (code === 1 && /cutover reverted: (gate failed|no verdict)/.test(r.text()));
            records.push({ row: landed, consistent: false });
            assert.ok(ok, `${what} then ${cmd}: exit ${code}:\n${r.text()}`);
            const done = r.events.at(-1);
            assert.ok(done?.type === "done", `${what} then ${cmd}: no end printed:\n${r.text()}`);

            const s = await inEnv(() => cut.status(target()));
            assert.ok(s.inAgreement, `${what} then ${cmd}: status disagrees: ${s.disagreements.join("; ")}`);
            assert.strictEqual(s.intent, undefined, `${what} then ${cmd}: an intent is left`);
            assert.ok(s.checkpoint && cut.FINAL_PHASES.includes(s.checkpoint.phase), `${what} then ${cmd}: the cutover has not ended (${s.checkpoint?.phase})`);
            assert.ok(cut.sameSplit(s.weightsServed, s.weightsInState) && (s.weightsServed.blue === 100 || s.weightsServed.green === 100), `${what} then ${cmd}: weights ${JSON.stringify(s.weightsServed)}`);
            const end = await stageEverywhere();
            const want = done.phase === "reverted" ? "off" : stage;
            assert.deepStrictEqual(end, { config: want, state: want, served: want }, `${what} then ${cmd} (${done.phase})`);
            assert.deepStrictEqual(flagTmps(), [], `${what} then ${cmd}: temporary flag files are left`);
            assert.deepStrictEqual(enginesLeft(), [], `${what} then ${cmd}: engine processes are left`);
            records[records.length - 1] = { row: landed, consistent: true };
            process.stdout.write(
                `    ${what} → ${cmd} exit ${code} (${done.phase}) → consistent: flag ${want} in config, state and file; ${s.weightsServed.blue}/${s.weightsServed.green}\n`,
            );
        }
        process.stdout.write([`    flag-step kills, seed ${seed}, ${((performance.now() - t0) / 1000).toFixed(0)} s:`, ...tally(records).map((l) => `    ${l}`), ""].join("\n"));
    });
});
