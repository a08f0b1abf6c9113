/**
 * Rollout windows, the watch after promotion and keep-warm end to end on the local platform: the
 * real engine, HAProxy, two app processes, PostgreSQL and a steady load, driven through the CLI.
 * Asserts what an operator sees: a refusal outside the window naming the next one (exit 2, nothing
 * changed); a breach during the watch reverting at once; the old color's process gone after
 * `scale-down` (pid dead, port closed) and back, serving, after `revert`; and a SIGKILL during the
 * watch followed by `revert` or `resume` ending with intent, state and router agreeing; a SIGKILL of
 * `scale-down` at seeded instants (inside its engine `up` too) followed by `scale-down` or `revert`;
 * and a window closing mid-cutover: a pause at the next step boundary naming the next opening, then
 * `resume --force` to the end, `status` showing the watch and the keep-warm deadline.
 *
 * Durations are tiny: a 2-second gate window, a watch of 6 s, keep-warm 2 s. The kills' seed is
 * printed; `SWITCHYARD_KILL_SEED=<n>` repeats a run. The two scale-down kills start from the promoted
 * cutover the test before each left (each makes one when run alone, with --grep).
 */
import * as assert from "assert";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import * as YAML from "yaml";
import { ChildProcess, execFileSync, spawn } from "child_process";
import * as run from "../stack/run";
import * as cut from "../cutover";
import { readWeights } from "../components/local/ops/haproxy";
import { isAlive } from "../components/local/ops/proc";
import { countColors, portOpen, startLoad } from "./support/http";
import { localPairConfig } from "./support/stacks";
import { withEnv } from "./support/project";
import { portBlock } from "./support/ports";
import { rngOf, seeded } from "./support/kills";

const ROOT = path.resolve(__dirname, "..");
const BIN = path.join(ROOT, "bin", "switchyard");
const PROJECT = "switchyard-watch";
const STACK = "pair";
const GATE_FLAGS = ["--interval", "2", "--min-requests", "5", "--no-pretest", "--no-backup", "--json"];

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** A daily window that is closed now: it opens 6 hours from now, for one hour (UTC). */
function closedWindow(now = new Date()): string {
    const at = new Date(now.getTime() + 6 * 3600_000);
    const hh = (d: Date) => `${String(d.getUTCHours()).padStart(2, "0")}:${String(d.getUTCMinutes()).padStart(2, "0")}`;
    return `daily ${hh(at)}-${hh(new Date(at.getTime() + 3600_000))} UTC`;
}

/** The command lines of a process group's processes (`ps`): where a kill of the group lands. */
function groupCommands(pgid: number): string[][] {
    const out = execFileSync("ps", ["-e", "-o", "pgid=,args="], { encoding: "utf8" });
    return out
        .split("\n")
        .map((l) => l.trim().split(/\s+/))
        .filter(([g]) => Number(g) === pgid)
        .map(([, ...args]) => args);
}

/** Whether one of them is the engine's `up` (`pulumi up …`, the CLI's own path first). */
const engineUp = (cmds: string[][]) => cmds.some((a) => path.basename(a[0] ?? "") === "pulumi" && a.includes("up"));

/** `HH:MM` of an instant, UTC. */
const hhmm = (d: Date) => `${String(d.getUTCHours()).padStart(2, "0")}:${String(d.getUTCMinutes()).padStart(2, "0")}`;

describe("rollout windows, the watch after promotion and keep-warm (local: real engine, HAProxy, apps, load)", function () {
    this.timeout(600_000);
    let root: string;
    let stateDir: string;
    let home: string;
    let out: Record<string, unknown>;
    let load: ReturnType<typeof startLoad> | undefined;
    let window = "";

    const env = () => ({ PULUMI_BACKEND_URL: `file://${stateDir}`, SWITCHYARD_HOME: home });
    const target = (): run.StackTarget => ({ stackName: STACK, root, onOutput: () => undefined });
    const inEnv = <T>(fn: () => Promise<T>) => withEnv(env(), fn);
    const appPort = (c: cut.Color) => (out.appPorts as Record<cut.Color, number>)[c];
    const setFailRate = (c: cut.Color, rate: number) =>
        fetch(`http://127.0.0.1:${appPort(c)}/admin/faults`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ failRate: rate }) });

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

    /** Runs a command to its end; returns its exit code and output. */
    async function cliDone(args: string[]): Promise<{ code: number | null; text: string; events: cut.CutoverEvent[] }> {
        const c = cli(args);
        const code = await c.exit;
        return { code, text: c.text(), events: c.events };
    }

    async function killGroup(c: { child: ChildProcess; exit: Promise<number | null> }): Promise<void> {
        process.kill(-(c.child.pid as number), "SIGKILL");
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

    async function refreshOutputs(): Promise<void> {
        const o = (await inEnv(() => run.outputs(target()))) as unknown as Record<string, { value: unknown }>;
        out = Object.fromEntries(Object.entries(o).map(([k, v]) => [k, v.value]));
    }

    /** Intent, state, config and router agree, and the router serves `w`. */
    async function consistent(w: cut.TrafficWeights): Promise<cut.CutoverStatus> {
        const s = await inEnv(() => cut.status(target()));
        assert.ok(s.inAgreement && s.intent === undefined, s.disagreements.join("; "));
        assert.deepStrictEqual(s.weightsServed, w);
        assert.deepStrictEqual(await readWeights(out.adminSocket as string), w);
        return s;
    }

    before(async function () {
        const base = await portBlock(5);
        root = fs.mkdtempSync(path.join(os.tmpdir(), "switchyard-watch-"));
        stateDir = path.join(root, ".state");
        home = path.join(root, "home");
        fs.mkdirSync(stateDir);
        fs.mkdirSync(path.join(root, "stacks"));
        fs.writeFileSync(path.join(root, "Pulumi.yaml"), `name: ${PROJECT}\nruntime: nodejs\nmain: ${path.join(ROOT, "stack", "classic.ts")}\nstackConfigDir: stacks\n`);
        window = closedWindow();
        const config = localPairConfig(base, { "switchyard:traffic": { blue: 100, green: 0 }, "switchyard:cutover": { steps: [100], window, keepWarm: "2s" } });
        config["switchyard:app"] = { ...(config["switchyard:app"] as object), cwd: ROOT };
        fs.writeFileSync(path.join(root, "stacks", `Pulumi.${STACK}.yaml`), YAML.stringify({ config }));
        const up = await cliDone(["up", STACK, "--no-policy"]);
        assert.strictEqual(up.code, 0, `up failed:\n${up.text}`);
        await refreshOutputs();
        load = startLoad(out.url as string, { connections: 2, rate: 100, durationMs: 3600_000, timeoutMs: 10_000 });
    });

    after(async () => {
        await load?.stop();
        await inEnv(() => run.destroy(target())).catch(() => undefined);
        fs.rmSync(root, { recursive: true, force: true });
    });

    it("a cutover outside its window is refused naming the next one, nothing changed", async () => {
        const r = await cliDone(["cutover", STACK, ...GATE_FLAGS]);
        assert.strictEqual(r.code, 2, r.text);
        assert.match(r.text, /outside the rollout window \(daily \d\d:\d\d-\d\d:\d\d UTC\): the next one opens \w{3} \d{4}-\d\d-\d\d \d\d:\d\d–\d\d:\d\d UTC \(in (5 h 59 min|6 h 0 min)\)/);
        assert.match(r.text, /--force/);
        const s = await consistent({ blue: 100, green: 0 });
        assert.strictEqual(s.checkpoint, undefined, "no cutover was recorded");
        // A bad watch is refused at once, naming the flag.
        const bad = await cliDone(["cutover", STACK, "--force", "--watch", "6 s", ...GATE_FLAGS]);
        assert.strictEqual(bad.code, 2, bad.text);
        assert.match(bad.text, /--watch is "6 s": give a duration/);
    });

    it("with --force it runs; a breach during the watch reverts at once", async () => {
        const c = cli(["cutover", STACK, "--force", "--watch", "60s", ...GATE_FLAGS]);
        await c.until((e) => e.type === "watching");
        const watching = c.events.find((e) => e.type === "watching") as Extract<cut.CutoverEvent, { type: "watching" }>;
        assert.ok(Date.parse(watching.until) - Date.parse(watching.at) === 60_000);
        const st = await inEnv(() => cut.status(target()));
        assert.strictEqual(st.checkpoint?.phase ?? (st.intent?.checkpoint.phase as string), "watching");
        const breach = Date.now();
        await setFailRate("green", 1);
        try {
            const code = await c.exit;
            assert.strictEqual(code, 1, c.text());
            const revert = c.events.find((e) => e.type === "revert") as Extract<cut.CutoverEvent, { type: "revert" }>;
            assert.ok(revert, c.text());
            assert.match(revert.reason, /gate failed during the watch after 100%/);
            const took = Date.parse(revert.at) - breach;
            assert.ok(took < 10_000, `reverted ${took} ms after the breach`);
            process.stdout.write(`      breach during the watch → revert in ${took} ms\n`);
        } finally {
            await setFailRate("green", 0);
        }
        const s = await consistent({ blue: 100, green: 0 });
        assert.strictEqual(s.checkpoint?.phase, "reverted");
    });

    it("after the watch and keep-warm the old color's process is gone; `revert` brings it back and it serves", async () => {
        const r = await cliDone(["cutover", STACK, "--force", "--watch", "6s", ...GATE_FLAGS]);
        assert.strictEqual(r.code, 0, r.text);
        const types = r.events.map((e) => e.type);
        assert.ok(types.indexOf("watching") > 0 && types.filter((t) => t === "verdict").length >= 3, types.join(","));
        const s = await consistent({ blue: 0, green: 100 });
        assert.strictEqual(s.checkpoint?.phase, "promoted");
        assert.ok(s.checkpoint?.scaleDownAt, "the keep-warm deadline is recorded");
        const st = await cliDone(["status", STACK]);
        assert.match(st.text, /watch: +blue kept warm until \S+Z/);

        const bluePid = (out.appPids as number[])[0] ?? (out.appPids as Record<string, number>).blue;
        assert.ok(isAlive(bluePid), "blue runs warm during the keep-warm time");
        await sleep(Math.max(0, Date.parse(s.checkpoint!.scaleDownAt!) - Date.now()) + 200);
        const down = await cliDone(["scale-down", STACK, "--json"]);
        assert.strictEqual(down.code, 0, down.text);
        assert.ok(down.events.some((e) => e.type === "scaled" && e.direction === "down" && e.color === "blue"), down.text);
        assert.ok(!isAlive(bluePid), `blue's process ${bluePid} is gone`);
        assert.strictEqual(await portOpen(appPort("blue")), false, "blue's port is closed");
        assert.match((await cliDone(["status", STACK])).text, /blue scaled down at/);
        const again = await cliDone(["scale-down", STACK]);
        assert.strictEqual(again.code, 2, again.text);
        assert.match(again.text, /already scaled down/);

        const back = await cliDone(["revert", STACK, "--json"]);
        assert.strictEqual(back.code, 0, back.text);
        const up = back.events.find((e) => e.type === "scaled") as Extract<cut.CutoverEvent, { type: "scaled" }>;
        assert.ok(up && up.direction === "up" && up.color === "blue", back.text);
        process.stdout.write(`      blue brought back up in ${up.tookMs} ms\n`);
        assert.match(back.text, /blue brought back up and healthy in|"tookMs"/);
        await refreshOutputs();
        await consistent({ blue: 100, green: 0 });
        const answers = await countColors(out.url as string, 200, 4);
        assert.deepStrictEqual([answers.colors.blue, answers.failed], [200, 0], JSON.stringify(answers));
    });

    it("SIGKILL during the watch: `revert` ends reverted, and after another kill `resume` watches to the end and promotes", async () => {
        const c = cli(["cutover", STACK, "--force", "--watch", "20s", ...GATE_FLAGS]);
        await c.until((e) => e.type === "watching");
        await sleep(500);
        await killGroup(c);
        const killed = await inEnv(() => cut.status(target()));
        assert.strictEqual(cut.effectiveCheckpoint(killed)?.phase, "watching");
        const rev = await cliDone(["revert", STACK, "--json"]);
        assert.strictEqual(rev.code, 0, rev.text);
        assert.strictEqual((await consistent({ blue: 100, green: 0 })).checkpoint?.phase, "reverted");

        const c2 = cli(["cutover", STACK, "--force", "--watch", "8s", ...GATE_FLAGS]);
        await c2.until((e) => e.type === "watching");
        await killGroup(c2);
        const res = await cliDone(["resume", STACK, ...GATE_FLAGS.slice(0, 4), "--json"]);
        assert.strictEqual(res.code, 0, res.text);
        assert.strictEqual(res.events.find((e) => e.type === "done")?.type && (res.events.find((e) => e.type === "done") as { phase: string }).phase, "promoted", res.text);
        const s = await consistent({ blue: 0, green: 100 });
        assert.strictEqual(s.checkpoint?.phase, "promoted");
        assert.ok(Date.parse(s.checkpoint!.updatedAt) >= Date.parse(s.checkpoint!.watchUntil!), "the watch ran to its end");
    });

    it("a later `resume` performs a due scale-down; a cutover back to the scaled-down color brings it up first", async () => {
        const first = await cliDone(["cutover", STACK, "--force", "--watch", "2s", ...GATE_FLAGS]);
        assert.strictEqual(first.code, 0, first.text);
        const done = first.events.find((e) => e.type === "done") as Extract<cut.CutoverEvent, { type: "done" }>;
        const to: cut.Color = done.weights.green === 100 ? "green" : "blue";
        const old: cut.Color = to === "green" ? "blue" : "green";
        await refreshOutputs();
        const cp = (await inEnv(() => cut.status(target()))).checkpoint!;
        await sleep(Math.max(0, Date.parse(cp.scaleDownAt!) - Date.now()) + 200);
        const res = await cliDone(["resume", STACK, "--json"]);
        assert.strictEqual(res.code, 0, res.text);
        assert.ok(res.events.some((e) => e.type === "scaled" && e.direction === "down" && e.color === old), res.text);
        assert.strictEqual(await portOpen(appPort(old)), false, `${old}'s port is closed`);

        const back = await cliDone(["cutover", STACK, "--force", ...GATE_FLAGS]);
        assert.strictEqual(back.code, 0, back.text);
        const types = back.events.map((e) => e.type);
        assert.ok(types.indexOf("scaled") >= 0 && types.indexOf("scaled") < types.indexOf("step"), types.join(","));
        await refreshOutputs();
        await consistent(cut.allOn(old));
        const answers = await countColors(out.url as string, 200, 4);
        assert.deepStrictEqual([answers.colors[old], answers.failed], [200, 0], JSON.stringify(answers));
    });
    /** The stack's `switchyard:cutover` object in its config file, changed by `fn` (no command runs meanwhile). */
    function editCutoverConfig(fn: (c: Record<string, unknown>) => void): void {
        const file = path.join(root, "stacks", `Pulumi.${STACK}.yaml`);
        const doc = YAML.parse(fs.readFileSync(file, "utf8")) as { config: Record<string, unknown> };
        const c = { ...(doc.config["switchyard:cutover"] as Record<string, unknown>) };
        fn(c);
        doc.config["switchyard:cutover"] = c;
        fs.writeFileSync(file, YAML.stringify(doc));
    }

    /** `switchyard:colors.<color>.warm` in the stack's config file (undefined: never set, warm). */
    function warmInConfig(c: cut.Color): unknown {
        const doc = YAML.parse(fs.readFileSync(path.join(root, "stacks", `Pulumi.${STACK}.yaml`), "utf8")) as { config: Record<string, Record<string, { warm?: unknown }>> };
        return doc.config["switchyard:colors"]?.[c]?.warm;
    }

    const pidOf = (c: cut.Color) => (out.appPids as number[])[c === "blue" ? 0 : 1];
    const gate = { intervalMs: 2000, minRequests: 5 };

    /**
     * Engine processes of this stack outside the killed command's process group (Pulumi starts its
     * plugins, the dynamic provider among them, in their own groups): killed, and counted.
     */
    function killEngineStrays(): number {
        let n = 0;
        for (const ent of fs.readdirSync("/proc").filter((e) => /^\d+$/.test(e) && Number(e) !== process.pid)) {
            try {
                const env = fs.readFileSync(`/proc/${ent}/environ`, "utf8");
                const cmd = fs.readFileSync(`/proc/${ent}/cmdline`, "utf8");
                if (env.includes(`PULUMI_BACKEND_URL=file://${stateDir}\0`) && /pulumi/.test(cmd)) {
                    process.kill(Number(ent), "SIGKILL");
                    n++;
                }
            } catch {
                /* gone, or not ours */
            }
        }
        return n;
    }

    /**
     * The scale-down kills: two, the first inside the engine's `up`, the second inside it or anywhere
     * in the command's first seconds (seeded); one followed by `scale-down`, the other by `revert`.
     * Each round starts from a promoted cutover: the one the test before it left, or a new one.
     */
    const kills = (() => {
        const seed = Number(process.env.SWITCHYARD_KILL_SEED ?? Date.now() % 1_000_000);
        const rng = rngOf(seeded(seed));
        return { seed, rng, aims: ["inside-up", rng.pick(["inside-up", "anywhere"] as const)], recoveries: rng.shuffle(["scale-down", "revert"] as const) };
    })();

    /** One SIGKILL of `switchyard scale-down` at a seeded instant, then `scale-down` or `revert`, checked. */
    async function killScaleDown(round: number): Promise<void> {
        const { rng, aims, recoveries } = kills;
        if (round === 0) process.stdout.write(`      seed ${kills.seed} (SWITCHYARD_KILL_SEED=${kills.seed} repeats it)\n`);
        let cp = (await inEnv(() => cut.status(target()))).checkpoint;
        if (cp?.phase !== "promoted" || cp.scaledDown) {
            const to: cut.Color = cp?.phase === "promoted" ? cp.from : (await readWeights(out.adminSocket as string)).green === 100 ? "blue" : "green";
            cp = await inEnv(() => cut.cutover(target(), { to, steps: [100], gate, pretest: false, backup: false }, { force: true }));
        }
        await refreshOutputs();
        const old = cp.from;
        assert.strictEqual(cp.phase, "promoted");
        await sleep(Math.max(0, Date.parse(cp.scaleDownAt!) - Date.now()) + 100);
        const oldPid = pidOf(old);
        assert.ok(isAlive(oldPid), `${old} runs warm before its scale-down`);

        const down = cli(["scale-down", STACK, "--json"]);
        const pgid = down.child.pid as number;
        let engineSeen = false;
        const aim = aims[round];
        const t0 = Date.now();
        /** Waits `ms`, or until `stop` holds, noting whether the engine's `up` ran meanwhile. */
        const watchGroup = async (ms: number, stop = () => false) => {
            const end = Date.now() + ms;
            while (Date.now() < end && down.child.exitCode === null && !stop()) {
                if (engineUp(groupCommands(pgid))) engineSeen = true;
                await sleep(40);
            }
        };
        // Inside the `up`: the engine seen in the command's process group, then a seeded delay; or anywhere in its first seconds.
        if (aim === "inside-up") await watchGroup(60_000, () => engineSeen);
        await watchGroup(aim === "inside-up" ? rng.int(0, 2500) : rng.int(0, 9000));
        const engineNow = engineUp(groupCommands(pgid));
        const scaledOut = down.events.some((e) => e.type === "scaled");
        const finished = down.child.exitCode !== null;
        await killGroup(down).catch((e) => {
            if (!finished) throw e;
        });
        const strays = killEngineStrays();
        const landed = finished ? "after it had finished" : scaledOut ? "after the scale-down was recorded" : engineNow ? "inside the engine's `up`" : engineSeen ? "after the engine's `up`" : "before the engine's `up`";
        const recovery = recoveries[round];
        process.stdout.write(`      kill ${round + 1}: ${aim}, ${Date.now() - t0} ms in, ${landed}${strays ? ` (${strays} engine plugin process(es) outside the group killed too)` : ""}; then \`${recovery}\`\n`);

        const killed = await inEnv(() => cut.status(target()));
        if (!finished && !scaledOut) assert.ok(killed.intent === undefined || killed.intent.action === "scaleDown", JSON.stringify(killed.intent));
        if (engineSeen && !scaledOut && !finished) assert.strictEqual(killed.intent?.action, "scaleDown", "a scale-down cut short inside its `up` leaves its intent");
        if (recovery === "scale-down") {
            // `switchyard scale-down` again (the library call the command makes).
            await inEnv(() => cut.scaleDown(target())).catch((e: Error) => assert.match(e.message, /already scaled down/, "only a scale-down already recorded is refused"));
            assert.ok(!isAlive(oldPid), `${old}'s process ${oldPid} is gone`);
            assert.strictEqual(await portOpen(appPort(old)), false, `${old}'s port is closed`);
            assert.strictEqual(String(warmInConfig(old)), "false", `switchyard:colors.${old}.warm is false in the config file`);
            const s = await consistent(cut.allOn(cp.to));
            assert.ok(s.checkpoint?.scaledDown, "the checkpoint records the scale-down");
            assert.match(cut.describeWatch(s.checkpoint, new Date()) ?? "", new RegExp(`^${old} scaled down at \\S+Z`));
        } else {
            // `switchyard revert` (the library call the command makes).
            const back: cut.CutoverEvent[] = [];
            await inEnv(() => cut.revert(target(), { onEvent: (e) => back.push(e) }));
            const up = back.find((e) => e.type === "scaled") as Extract<cut.CutoverEvent, { type: "scaled" }> | undefined;
            if (up) process.stdout.write(`      ${old} brought back up in ${up.tookMs} ms\n`);
            else assert.ok(!engineSeen && !engineNow, `a scale-down that had begun is brought back up first: ${back.map((e) => e.type).join(", ")}`);
            await refreshOutputs();
            assert.strictEqual(String(warmInConfig(old) ?? true), "true", `switchyard:colors.${old}.warm is true again`);
            assert.ok(isAlive(pidOf(old)), `${old} runs again`);
            const s = await consistent(cut.allOn(old));
            assert.strictEqual(s.checkpoint?.phase, "reverted");
            const answers = await countColors(out.url as string, 100, 4);
            assert.deepStrictEqual([answers.colors[old], answers.failed], [100, 0], `${old} serves through HAProxy: ${JSON.stringify(answers)}`);
        }
    }

    it("SIGKILL of `scale-down` inside its engine `up`, then `scale-down` again or `revert` (seeded), ends consistent", () => killScaleDown(0));

    it("a window closing mid-cutover pauses it at the next step boundary, naming the next opening; `resume --force` finishes it; `status` shows the watch and the keep-warm deadline", async () => {
        // A window that is open now and closes at a minute's turn 20 to 35 s ahead (waiting for one when needed):
        // room for a slow start (the impact preview, the first step's up) on a busy machine.
        let now = Date.now();
        let end = Math.ceil((now + 1) / 60_000) * 60_000;
        if (end - now < 20_000) end += 60_000;
        if (end - now > 35_000) await sleep(end - now - 35_000);
        now = Date.now();
        const opens = hhmm(new Date(end - 600_000));
        const window = `daily ${opens}-${hhmm(new Date(end))} UTC`;
        editCutoverConfig((c) => {
            c.window = window;
            c.watch = "4s";
        });
        const live = (await inEnv(() => cut.status(target()))).weightsServed;
        const to: cut.Color = live.green === 100 ? "blue" : "green";
        // Eight steps of at least 5 s each (a 5-second gate window): more than the time to the window's end.
        const steps = [10, 20, 30, 40, 50, 60, 80, 100];
        process.stdout.write(`      window ${window}, closing ${Math.round((end - now) / 1000)} s after the start; steps ${steps.join(", ")} to ${to}\n`);
        const events: cut.CutoverEvent[] = [];
        const r = { events, cp: await inEnv(() => cut.cutover(target(), { to, steps, gate: { ...gate, intervalMs: 5000 }, pretest: false, backup: false }, { onEvent: (e) => events.push(e) })) };
        const paused = r.events.find((e) => e.type === "paused") as Extract<cut.CutoverEvent, { type: "paused" }>;
        assert.ok(paused, `it paused: ${r.events.map((e) => e.type).join(", ")}`);
        assert.strictEqual(r.cp.phase, "paused");
        assert.match(paused.reason!, new RegExp(`the rollout window closed \\(${window}\\): paused at this step boundary; the next one opens \\w{3} \\d{4}-\\d\\d-\\d\\d ${opens}–${hhmm(new Date(end))} UTC \\(in 23 h \\d+ min\\)`));
        // At a boundary: every step began before the window's end; the step under way then finished
        // with a passing verdict, and the pause came at once after it, at that step's weights.
        const stepsRun = r.events.filter((e) => e.type === "step") as Extract<cut.CutoverEvent, { type: "step" }>[];
        for (const st of stepsRun) assert.ok(Date.parse(st.at) < end, `step ${st.step} began at ${st.at}, before the window's end`);
        assert.ok(Date.parse(paused.at) >= end, `paused at ${paused.at}, after the window's end`);
        assert.ok(stepsRun.length < steps.length, "it stopped before the last step");
        assert.strictEqual(paused.step, stepsRun.length, "paused at the step last begun");
        const before = r.events[r.events.indexOf(paused) - 1] as Extract<cut.CutoverEvent, { type: "verdict" }>;
        assert.deepStrictEqual([before.type, before.verdict.outcome], ["verdict", "pass"]);
        const at = stepsRun[stepsRun.length - 1].weights;
        assert.deepStrictEqual(paused.weights, at);
        const s = await consistent(at);
        assert.strictEqual(s.checkpoint?.phase, "paused");
        process.stdout.write(`      paused at step ${paused.step} (${cut.formatWeights(at)}), ${Date.parse(paused.at) - end} ms after the window closed\n`);

        // Outside the window `resume` is refused, naming the next one; `resume --force` goes on to the end.
        await assert.rejects(inEnv(() => cut.resume(target(), gate)), /resuming the cutover is refused outside the rollout window .*the next one opens .*--force/);
        const res = cli(["resume", STACK, "--force", "--interval", "1", "--min-requests", "3", "--json"]);
        await res.until((e) => e.type === "watching");
        // What `switchyard status` prints on its `watch:` line, read during the watch.
        const watching = await inEnv(() => cut.status(target()));
        assert.match(cut.describeWatch(watching.checkpoint, new Date()) ?? "", new RegExp(`^watching ${to} until \\S+Z \\(a 4s watch\\)`), JSON.stringify(watching.checkpoint));
        assert.strictEqual(await res.exit, 0, res.text());
        assert.ok(!res.events.some((e) => e.type === "paused"), "no second pause after --force");
        const done = await consistent(cut.allOn(to));
        assert.strictEqual(done.checkpoint?.phase, "promoted");
        assert.ok(done.checkpoint?.windowsForced, "the waiver is recorded");
        assert.match(cut.describeWatch(done.checkpoint, new Date()) ?? "", new RegExp(`^${done.checkpoint!.from} kept warm until ${done.checkpoint!.scaleDownAt}`));
        editCutoverConfig((c) => {
            delete c.window;
            delete c.watch;
        });
    });

    it("SIGKILL of `scale-down` at a seeded instant, then the other of `scale-down` and `revert`, ends consistent", () => killScaleDown(1));
});
