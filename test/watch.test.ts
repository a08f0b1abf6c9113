/**
 * Rollout windows, the watch after promotion and keep-warm end to end on the local platform: the
 * real engine, HAProxy, two app processes, PostgreSQL and a steady load, driven through the CLI.
 * Asserts what an operator sees: a refusal outside the window naming the next one (exit 2, nothing
 * changed); a breach during the watch reverting at once; the old color's process gone after
 * `scale-down` (pid dead, port closed) and back, serving, after `revert`; and a SIGKILL during the
 * watch followed by `revert` or `resume` ending with intent, state and router agreeing.
 *
 * Durations are tiny: a 2-second gate window, a watch of 6 s, keep-warm 2 s.
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
import { isAlive } from "../components/local/ops/proc";
import { countColors, portOpen, startLoad } from "./support/http";
import { localPairConfig } from "./support/stacks";
import { withEnv } from "./support/project";
import { portBlock } from "./support/ports";

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
});
