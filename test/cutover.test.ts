/**
 * The cutover end to end on the local platform: the real engine, HAProxy, app processes and
 * PostgreSQL, with real HTTP load while the weights move. Each case asserts what an operator sees:
 * weights served, requests failed, the checkpoint in stack state, the backup taken.
 */
import * as assert from "assert";
import * as fs from "fs";
import * as path from "path";
import * as YAML from "yaml";
import { spawn } from "child_process";
import * as cut from "../cutover";
import { listSnapshots } from "../components/local/ops/clone";
import { readWeights, serverHealth, serverStats } from "../components/local/ops/haproxy";
import { localPairConfig } from "./support/stacks";
import { useStack } from "./support/pairStack";
import { countColors, load, LoadResult } from "./support/http";


function pairConfig(base: number): Record<string, unknown> {
    return localPairConfig(base, { "switchyard:traffic": { blue: 100, green: 0 }, "switchyard:cutover": { steps: [25, 50, 100] } });
}

const GATE: Partial<cut.GateSpec> = { intervalMs: 1500, minRequests: 10 };

describe("cutover on the local platform (real engine, HAProxy, load)", function () {
    this.timeout(300_000);
    const ps = useStack(pairConfig);
    const { env, target, inEnv } = ps;
    const url = () => ps.out.url.value as string;
    const socket = () => ps.out.adminSocket.value as string;
    const appUrl = (color: "blue" | "green") => `http://127.0.0.1:${color === "blue" ? ps.base + 2 : ps.base + 3}`;
    const setFaults = (color: "blue" | "green", failRate: number, latencyMs = 0) =>
        fetch(`${appUrl(color)}/admin/faults`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ failRate, latencyMs }) });

    /** Runs fn under steady load through the router; returns both results. */
    async function underLoad<T>(fn: () => Promise<T>): Promise<{ result: T; load: LoadResult }> {
        let done = false;
        const l = load(url(), { concurrency: 4, durationMs: 120_000, stopWhen: () => done });
        try {
            return { result: await fn(), load: await ((done = true), l) };
        } finally {
            done = true;
            await l;
        }
    }

    it("promotes green step by step under load with zero failed requests, each step read back from HAProxy and kept in state", async () => {
        const events: cut.CutoverEvent[] = [];
        const { result: cp, load: l } = await underLoad(() => inEnv(() => cut.cutover(target(), { gate: GATE }, { onEvent: (e) => events.push(e) })));
        assert.strictEqual(cp.phase, "promoted", cp.reason);
        assert.ok(l.total > 200, `steady load sent ${l.total} requests`);
        assert.strictEqual(l.failed, 0, `failed requests during the cutover: ${l.failed} of ${l.total} (${l.errors.slice(0, 3).join(", ")})`);
        assert.ok((l.colors.green ?? 0) > 0 && (l.colors.blue ?? 0) > 0, "both colors served during the cutover");

        const served = events.filter((e): e is Extract<cut.CutoverEvent, { type: "applied" }> => e.type === "applied").map((e) => e.served);
        assert.deepStrictEqual(served, [{ blue: 75, green: 25 }, { blue: 50, green: 50 }, { blue: 0, green: 100 }]);
        assert.deepStrictEqual(events.map((e) => e.type).slice(0, 3), ["started", "pretest", "backup"]);
        assert.ok(events.filter((e) => e.type === "verdict").every((e) => e.type === "verdict" && e.verdict.outcome === "pass"));

        assert.deepStrictEqual(await readWeights(socket()), { blue: 0, green: 100 }, "HAProxy serves green alone");
        const after = await countColors(url(), 100, 4);
        assert.deepStrictEqual(after.colors, { green: 100 });

        const state = await inEnv(() => cut.status(target()));
        assert.deepStrictEqual(state.weightsInState, { blue: 0, green: 100 }, "the weights are in stack state");
        assert.strictEqual(state.checkpoint?.phase, "promoted", "the checkpoint is recorded beside the state");
        assert.strictEqual(state.intent, undefined, "no action is left unfinished");
        const file = YAML.parse(fs.readFileSync(path.join(ps.proj.root, "stacks", "Pulumi.pair.yaml"), "utf8"));
        assert.deepStrictEqual(file.config["switchyard:traffic"], { blue: 0, green: 100 }, "the stack's config file agrees");

        const snaps = listSnapshots(ps.out.snapshotRoot.value as string).map((s) => s.name);
        assert.ok(snaps.includes(cp.backup as string), `the backup ${cp.backup} is among the snapshots ${snaps.join(", ")}`);
        assert.ok(fs.existsSync(`/proc/${(ps.out.appPids.value as number[])[0]}`), "blue is kept warm after the promotion");
    });

    it("status shows state and router in agreement; revert brings blue back at once", async () => {
        const s = await inEnv(() => cut.status(target()));
        assert.deepStrictEqual([s.weightsInState, s.weightsServed, s.inAgreement], [{ blue: 0, green: 100 }, { blue: 0, green: 100 }, true]);
        const cp = await inEnv(() => cut.revert(target()));
        assert.strictEqual(cp.phase, "reverted");
        assert.deepStrictEqual(await readWeights(socket()), { blue: 100, green: 0 });
        assert.deepStrictEqual((await countColors(url(), 50, 4)).colors, { blue: 50 });
    });

    it("reverts at once when green fails its gate: blue alone serves again, and the reason is kept in state", async () => {
        await setFaults("green", 0.5);
        try {
            const events: cut.CutoverEvent[] = [];
            const { result: cp, load: l } = await underLoad(() =>
                inEnv(() => cut.cutover(target(), { gate: GATE, pretest: false, backup: false }, { onEvent: (e) => events.push(e) })),
            );
            assert.strictEqual(cp.phase, "reverted");
            assert.match(cp.reason ?? "", /gate failed at green 25%: success rate \d+\.\d+% < 99\.00%/);
            const applied = events.filter((e) => e.type === "applied").map((e) => e.type === "applied" && e.served);
            assert.deepStrictEqual(
                applied,
                [{ blue: 75, green: 25 }, { blue: 100, green: 0 }, { blue: 100, green: 0 }],
                "no step past the failing one; the revert is read back from HAProxy at once (runtime API), then again after the stack's up",
            );
            const types = events.map((e) => e.type);
            assert.deepStrictEqual(types.slice(types.indexOf("revert"), types.indexOf("revert") + 2), ["revert", "applied"], "traffic is back on blue before the up runs");
            assert.ok(l.failed > 0, "green's injected failures were seen by the load");
            assert.deepStrictEqual(await readWeights(socket()), { blue: 100, green: 0 });
            assert.deepStrictEqual((await countColors(url(), 100, 4)).colors, { blue: 100 }, "after the revert, blue alone answers");
            const state = (await inEnv(() => cut.status(target()))).checkpoint as cut.Checkpoint;
            assert.strictEqual(state.phase, "reverted");
            assert.match(state.reason ?? "", /success rate/);
        } finally {
            await setFaults("green", 0);
        }
    });

    it("reverts when green turns slow under live traffic: the latency gate, timed from HAProxy's request log", async () => {
        await setFaults("green", 0, 700);
        try {
            const { result: cp } = await underLoad(() => inEnv(() => cut.cutover(target(), { gate: { ...GATE, intervalMs: 3000, minRequests: 3 }, pretest: false, backup: false })));
            assert.strictEqual(cp.phase, "reverted");
            assert.match(cp.reason ?? "", /gate failed at green 25%: p99 latency/);
            assert.deepStrictEqual(await readWeights(socket()), { blue: 100, green: 0 });
        } finally {
            await setFaults("green", 0, 0);
        }
    });

    it("a failing pretest through the test listener stops the cutover before any live traffic moves", async () => {
        await setFaults("green", 1);
        try {
            const cp = await inEnv(() => cut.cutover(target(), { gate: GATE, backup: false }));
            assert.strictEqual(cp.phase, "failed");
            assert.match(cp.reason ?? "", /pretest of green through the test listener failed: .*success rate 0\.00% < 99\.00% \(20 of 20 requests failed[;)]/);
            assert.deepStrictEqual(await readWeights(socket()), { blue: 100, green: 0 });
        } finally {
            await setFaults("green", 0);
        }
    });

    it("an abort (Ctrl-C) mid-cutover reverts; a second cutover at the same time is refused", async () => {
        const ctl = new AbortController();
        let second: Error | undefined;
        const cp = await inEnv(() =>
            cut.cutover(target(), { gate: { ...GATE, minRequests: 0 }, pretest: false, backup: false }, {
                signal: ctl.signal,
                onEvent: (e) => {
                    if (e.type === "applied" && !ctl.signal.aborted) {
                        cut.cutover(target(), {}).catch((err: Error) => (second = err));
                        ctl.abort("stopped by the operator (Ctrl-C)");
                    }
                },
            }),
        );
        assert.strictEqual(cp.phase, "reverted");
        assert.strictEqual(cp.reason, "stopped by the operator (Ctrl-C)");
        assert.deepStrictEqual(await readWeights(socket()), { blue: 100, green: 0 });
        assert.match(String(second?.message), /a cutover of stack "pair" is already running \(pid \d+\)/);
    });

    it("a cutover killed with SIGKILL half-way leaves its checkpoint in state; resume finishes it from that step", async () => {
        const child = spawn(process.execPath, ["-r", "ts-node/register/transpile-only", path.join(__dirname, "fixtures", "cutover-child.ts"), ps.proj.root], {
            cwd: path.resolve(__dirname, ".."),
            env: { ...process.env, ...env() },
            stdio: ["ignore", "pipe", "pipe"],
        });
        let seen = "";
        let stderr = "";
        child.stderr.on("data", (d) => (stderr += d));
        const exited = new Promise<number | null>((resolve) => child.on("exit", (code) => resolve(code)));
        await new Promise<void>((resolve, reject) => {
            const timer = setTimeout(() => reject(new Error(`the child cutover did not apply its first step: ${seen}${stderr}`)), 120_000);
            child.stdout.on("data", (d) => {
                seen += d;
                if (seen.includes('"type":"applied"')) {
                    clearTimeout(timer);
                    child.kill("SIGKILL"); // mid-observation of step 1 (a 60 s window)
                    resolve();
                }
            });
        });
        await exited;
        assert.deepStrictEqual(await readWeights(socket()), { blue: 75, green: 25 }, "the killed cutover left step 1 served");
        // The step's `up` runs in the background while its window is observed: killed at once, the
        // step is known from its intent (recorded before the router moved) or, if that `up` had
        // finished, from the checkpoint it recorded.
        const st = await inEnv(() => cut.status(target()));
        const stopped = cut.effectiveCheckpoint(st) as cut.Checkpoint;
        assert.deepStrictEqual([stopped.phase, stopped.step, stopped.weights], ["stepping", 0, { blue: 75, green: 25 }], "the step is recorded beside the state");
        if (st.intent) assert.deepStrictEqual([st.intent.action, st.intent.weights], ["apply", { blue: 75, green: 25 }], "the intent names the half-done step");
        await assert.rejects(inEnv(() => cut.cutover(target(), {})), /has an unfinished cutover cutover-\S+ \(stepping at step 1 of 3, green 25%\): run `switchyard resume pair`/);

        const events: cut.CutoverEvent[] = [];
        const cp = await inEnv(() => cut.resume(target(), { intervalMs: 500, minRequests: 0 }, { onEvent: (e) => events.push(e) }));
        assert.strictEqual(cp.phase, "promoted");
        assert.strictEqual(cp.id, stopped.id, "the same cutover, resumed");
        const applied = events.filter((e) => e.type === "applied").map((e) => e.type === "applied" && e.served);
        assert.deepStrictEqual(applied, [{ blue: 75, green: 25 }, { blue: 50, green: 50 }, { blue: 0, green: 100 }]);
        assert.deepStrictEqual(await readWeights(socket()), { blue: 0, green: 100 });
        await inEnv(() => cut.revert(target()));
    });

    it("pauses at 50% once its gate passes, with both colors serving; a new cutover is refused; resume promotes", async () => {
        try {
            const gate = { ...GATE, minRequests: 0 };
            const paused = await inEnv(() => cut.cutover(target(), { gate, pretest: false, backup: false, pauseAt: [50] }));
            assert.strictEqual(paused.phase, "paused");
            assert.deepStrictEqual(await readWeights(socket()), { blue: 50, green: 50 });
            // Both servers must be fully up in HAProxy before the split can be judged ("UP 1/3" is a server
            // failing its checks, about to leave the rotation); say so if one is not.
            let health = await serverHealth(socket());
            for (let i = 0; i < 50 && !(health.blue.status === "UP" && health.green.status === "UP"); i++) {
                await new Promise((r) => setTimeout(r, 200));
                health = await serverHealth(socket());
            }
            const served = await countColors(url(), 200, 4);
            assert.ok(
                (served.colors.blue ?? 0) > 50 && (served.colors.green ?? 0) > 50,
                `both colors serve while paused: ${JSON.stringify(served.colors)}; HAProxy health ${JSON.stringify(health)}, stats ${JSON.stringify(await serverStats(socket()))}`,
            );
            const s = await inEnv(() => cut.status(target()));
            assert.deepStrictEqual([s.checkpoint?.phase, s.weightsInState, s.inAgreement], ["paused", { blue: 50, green: 50 }, true]);
            await assert.rejects(inEnv(() => cut.cutover(target(), {})), /has an unfinished cutover cutover-\S+ \(paused at step 2 of 3, green 50%\)/);
            const done = await inEnv(() => cut.resume(target(), gate));
            assert.strictEqual(done.phase, "promoted");
            assert.strictEqual(done.id, paused.id);
            assert.deepStrictEqual(await readWeights(socket()), { blue: 0, green: 100 });
        } finally {
            // Whatever happened, blue alone serves again before the next case.
            await inEnv(() => cut.revert(target()));
        }
    });

    it("refuses bad plans and an empty resume with clear messages, changing nothing", async () => {
        await assert.rejects(inEnv(() => cut.cutover(target(), { steps: [50, 25, 100] })), /step 2 \(25\) does not rise above the step before it \(50\)/);
        await assert.rejects(inEnv(() => cut.cutover(target(), { steps: "quick" })), /no preset has that name/);
        await assert.rejects(inEnv(() => cut.resume(target())), /has no unfinished cutover to resume \(the last one, cutover-\S+, reverted\)/);
        assert.deepStrictEqual(await readWeights(socket()), { blue: 100, green: 0 });
    });
});
