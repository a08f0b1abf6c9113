/**
 * The streaming gate end to end on the local platform: the real engine, HAProxy (its counters and its
 * request log) and the example app, under load from autocannon through the router. Each case asserts
 * what the issue asks of the gate: a clear breach reverted within a second of onset, a healthy green
 * promoted, and a tail the mean hides caught on the percentile.
 */
import * as assert from "assert";
import * as cut from "../cutover";
import { readWeights } from "../components/local/ops/haproxy";
import { localPairConfig } from "./support/stacks";
import { useStack } from "./support/pairStack";
import { startLoad, LoadResult } from "./support/http";


type Applied = Extract<cut.CutoverEvent, { type: "applied" }>;
type VerdictEvent = Extract<cut.CutoverEvent, { type: "verdict" }>;

describe("streaming gates on the local platform (real engine, HAProxy, autocannon)", function () {
    this.timeout(300_000);
    const st = useStack((base) => localPairConfig(base, { "switchyard:traffic": { blue: 100, green: 0 } }));
    const { env, target, inEnv } = st;
    const url = () => st.out.url.value as string;
    const socket = () => st.out.adminSocket.value as string;
    const greenUrl = () => `http://127.0.0.1:${st.base + 3}`;
    const setFaults = async (f: { failRate?: number; slowShare?: number; slowMs?: number }) => {
        const r = await fetch(`${greenUrl()}/admin/faults`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(f) });
        assert.strictEqual(r.status, 200);
    };
    const healthy = () => setFaults({ failRate: 0, slowShare: 0, slowMs: 0 });

    /** A cutover under load from autocannon at `rate` requests/s; returns its end, its events and the load's counts. */
    async function underLoad(opts: Omit<cut.PlanRequest, "current">, rate: number): Promise<{ cp: cut.Checkpoint; events: cut.CutoverEvent[]; load: LoadResult }> {
        const events: cut.CutoverEvent[] = [];
        const l = startLoad(url(), { connections: 16, rate, durationMs: 240_000 });
        try {
            const cp = await inEnv(() => cut.cutover(target(), opts, { onEvent: (e) => events.push(e) }));
            return { cp, events, load: await l.stop() };
        } finally {
            await l.stop();
        }
    }

    afterEach(async function () {
        await healthy().catch(() => undefined);
        // Every case starts from blue alone, whatever the last one left.
        if ((await readWeights(socket())).green !== 0) {
            await inEnv(() => cut.revert(target()));
        }
    });

    it("a green failing 20% at step 10% is reverted on conclusive evidence, the verdict within 1 s of the router serving the step", async () => {
        await setFaults({ failRate: 0.2 });
        const { cp, events, load } = await underLoad({ steps: [10, 100], pretest: false, backup: false }, 1000);
        assert.strictEqual(cp.phase, "reverted", cp.reason);
        assert.match(cp.reason ?? "", /gate failed at green 10%: success rate \d+\.\d+% < 99\.00% \(\d+ of \d+ requests failed; conclusive by the sequential test/);
        const onset = events.find((e): e is Applied => e.type === "applied" && e.served.green === 10);
        const verdict = events.find((e): e is VerdictEvent => e.type === "verdict");
        assert.ok(onset && verdict, "the step was applied and judged");
        const ms = Date.parse(verdict.at) - Date.parse(onset.at);
        console.log(`      onset → verdict ${ms} ms; ${verdict.verdict.reasons.join("; ")}; the load saw ${load.failed} failed of ${load.total}`);
        assert.strictEqual(verdict.verdict.early, true, "declared before the 5 s window's end");
        assert.ok(ms <= 1000, `verdict ${ms} ms after onset`);
        assert.ok(load.failed > 0, "the clients saw green's failures");
        assert.deepStrictEqual(await readWeights(socket()), { blue: 100, green: 0 }, "blue alone serves again");
        assert.ok(events.some((e) => e.type === "progress"), "the window was read tick by tick");
    });

    it("a green at 99.9% success is promoted: no false revert against the 99% gate", async () => {
        await setFaults({ failRate: 0.001 });
        const { cp, events, load } = await underLoad({ steps: [10, 50, 100], gate: { intervalMs: 3000 }, pretest: false, backup: false }, 1000);
        assert.strictEqual(cp.phase, "promoted", cp.reason);
        const verdicts = events.filter((e): e is VerdictEvent => e.type === "verdict").map((e) => e.verdict);
        assert.deepStrictEqual(verdicts.map((v) => v.outcome), ["pass", "pass", "pass"]);
        console.log(`      ${verdicts.map((v) => v.reasons.join(", ")).join(" | ")}; load ${load.total} requests, ${load.failed} failed`);
        assert.deepStrictEqual(await readWeights(socket()), { blue: 0, green: 100 });
    });

    it("a green whose p99 breaks the gate while its mean does not is reverted, on the percentile", async () => {
        // 8% of answers 1.2 s late: p99 far over the 500 ms ceiling, the mean (about 100 ms) far under
        // it, and a breach the sequential test proves within a second or two at this rate.
        await setFaults({ slowShare: 0.08, slowMs: 1200 });
        const { cp, events } = await underLoad({ steps: [25, 100], gate: { maxLatencyMs: 500, intervalMs: 5000 }, pretest: false, backup: false }, 400);
        assert.strictEqual(cp.phase, "reverted", cp.reason);
        assert.match(cp.reason ?? "", /(gate failed|no verdict) at green 25%.*: p99 latency/);
        const last = [...events].reverse().find((e): e is Extract<cut.CutoverEvent, { type: "sample" }> => e.type === "sample");
        assert.ok(last, "the window's sample was reported");
        console.log(`      mean ${last.sample.latencyMs?.toFixed(1)} ms, p99 ${last.sample.percentileMs} ms, ${last.sample.slow} of ${last.sample.timed} slower than 500 ms`);
        assert.ok((last.sample.latencyMs ?? Infinity) < 500, `the mean (${last.sample.latencyMs} ms) is under the ceiling`);
        assert.ok((last.sample.timed ?? 0) > 0, "response times came from HAProxy's log");
        assert.deepStrictEqual(await readWeights(socket()), { blue: 100, green: 0 });
    });
});
