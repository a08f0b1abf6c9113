/**
 * The streaming gate, pure: the sequential test's bound, and whole cutovers simulated tick by tick
 * through the same decisions the driver makes (`windowEnds`, `judge`, `advance`). Random draws come
 * from one seeded generator, printed (set GATE_SEED to replay).
 */
import * as assert from "assert";
import { advance, earlyFailure, judge, makePlan, start, weightsFor, windowEnds } from "./core";
import { breachEvidence, breachShare, minimumBadToFail } from "./sequential";
import { Checkpoint, CutoverPlan, DEFAULT_GATE, GateSpec, Sample } from "./types";

const SEED = Number(process.env.GATE_SEED ?? Date.now() % 2 ** 31);

/** mulberry32: a small, well-known seeded generator. */
function rng(seed: number): () => number {
    let a = seed >>> 0;
    return () => {
        a = (a + 0x6d2b79f5) >>> 0;
        let t = a;
        t = Math.imul(t ^ (t >>> 15), t | 1);
        t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
        return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
    };
}

/** Draws how many of n requests are bad, each with chance p. */
function binomial(next: () => number, n: number, p: number): number {
    let k = 0;
    for (let i = 0; i < n; i++) if (next() < p) k++;
    return k;
}

interface Green {
    /** Share of green's requests that fail, 0..1. */
    readonly failShare: number;
    /** Share of green's requests slower than the gate's ceiling. */
    readonly slowShare?: number;
}

interface Simulated {
    readonly phase: Checkpoint["phase"];
    /** Time from the first step's onset to a failing verdict, in ms. */
    readonly verdictMs?: number;
    /** Failed requests green answered before the verdict. */
    readonly errors: number;
    readonly reason?: string;
}

/**
 * One cutover, tick by tick: at each step the router serves the weight at once; each tick green gets
 * its share of `rps` requests, some failing, some slow; the window ends as the driver's would.
 */
function simulate(next: () => number, plan: CutoverPlan, rps: number, green: Green): Simulated {
    const g = plan.gate;
    let t = start(plan, { blue: 100, green: 0 }, "sim", "t");
    let clock = 0;
    let errors = 0;
    let onset: number | undefined;
    let window: { requests: number; errors: number; timed: number; slow: number; elapsed: number } | undefined;
    for (let guard = 0; guard < 10_000 && t.action.kind !== "done"; guard++) {
        const a = t.action;
        if (a.kind === "apply" || a.kind === "revert") {
            onset ??= clock;
            t = advance(t.checkpoint, plan, { kind: "applied", served: a.weights }, "t");
            window = undefined;
            continue;
        }
        if (a.kind !== "observe") throw new Error(`unexpected action ${a.kind}`);
        window ??= { requests: 0, errors: 0, timed: 0, slow: 0, elapsed: 0 };
        const share = t.checkpoint.weights.green / 100;
        const n = Math.round((rps * share * g.tickMs) / 1000);
        const bad = binomial(next, n, green.failShare);
        window.requests += n;
        window.errors += bad;
        window.timed += n;
        window.slow += binomial(next, n, green.slowShare ?? 0);
        window.elapsed += g.tickMs;
        clock += g.tickMs;
        errors += bad;
        const s: Sample = { color: "green", requests: window.requests, errors: window.errors, timed: window.timed, slow: window.slow, healthy: true, windowMs: window.elapsed };
        if (!windowEnds(s, g, window.elapsed)) continue;
        t = advance(t.checkpoint, plan, { kind: "sampled", sample: s }, "t");
        window = undefined;
        if (t.checkpoint.phase === "reverting") {
            return { phase: "reverted", verdictMs: clock - (onset ?? 0), errors, reason: t.checkpoint.reason };
        }
    }
    return { phase: t.checkpoint.phase, errors };
}

const plan = (gate: Partial<GateSpec> = {}, steps = [10, 25, 50, 100]) => makePlan({ current: { blue: 100, green: 0 }, steps, gate, pretest: false, backup: false });

describe("the streaming gate (sequential test, simulated cutovers)", () => {
    before(() => console.log(`      gate seed ${SEED} (set GATE_SEED to replay)`));

    it("a clear breach is conclusive within a handful of requests; one error in a hundred is not", () => {
        assert.strictEqual(breachShare(0.01), 0.05);
        assert.strictEqual(minimumBadToFail(0.01, 0.001), 5);
        assert.strictEqual(breachEvidence(20, 100, 0.01, 0.001).conclusive, true);
        assert.strictEqual(breachEvidence(1, 100, 0.01, 0.001).conclusive, false);
        assert.strictEqual(breachEvidence(0, 100_000, 0.01, 0.001).conclusive, false);
        assert.strictEqual(breachEvidence(1, 1, 0, 0.001).conclusive, true, "nothing allowed: one bad request proves it");
        assert.strictEqual(breachEvidence(1000, 1000, 1, 0.001).conclusive, false, "everything allowed: nothing proves a breach");
    });

    it("the false-alarm bound holds under continuous monitoring: a color exactly at the limit, read every 25 requests", () => {
        const next = rng(SEED);
        const alpha = 0.01;
        const runs = 2000;
        let alarms = 0;
        for (let r = 0; r < runs; r++) {
            let bad = 0;
            for (let n = 25; n <= 5000; n += 25) {
                bad += binomial(next, 25, 0.01);
                if (breachEvidence(bad, n, 0.01, alpha).conclusive) {
                    alarms++;
                    break;
                }
            }
        }
        // Ville: at most α of runs ever alarm. Three standard deviations of a binomial count of margin.
        const margin = 3 * Math.sqrt(alpha * (1 - alpha) * runs);
        assert.ok(alarms <= alpha * runs + margin, `${alarms} of ${runs} runs alarmed; the bound is ${alpha * runs} (+${margin.toFixed(1)})`);
    });

    it("no false revert: 1,000 simulated cutovers of a green at 99.9% success against a 99% gate, at 1,000 requests/s", () => {
        const next = rng(SEED + 1);
        const p = plan();
        const reverted = Array.from({ length: 1000 }, () => simulate(next, p, 1000, { failShare: 0.001 })).filter((r) => r.phase !== "promoted");
        assert.deepStrictEqual(reverted.slice(0, 3), [], `${reverted.length} of 1,000 were not promoted`);
    });

    it("a green failing 20% at step 10%, 1,000 requests/s: every one of 1,000 is reverted within 1 s of onset, with errors within 1.5x the minimum", () => {
        const next = rng(SEED + 2);
        const p = plan();
        const runs = Array.from({ length: 1000 }, () => simulate(next, p, 1000, { failShare: 0.2 }));
        const minimum = 0.1 * 1000 * 0.2 * 1; // weight × rate × failure share × 1 s
        const slowest = Math.max(...runs.map((r) => r.verdictMs ?? Infinity));
        const worstErrors = Math.max(...runs.map((r) => r.errors));
        assert.ok(runs.every((r) => r.phase === "reverted" && /success rate/.test(r.reason ?? "")), "all reverted on the success rate");
        assert.ok(slowest <= 1000, `slowest verdict ${slowest} ms after onset`);
        assert.ok(worstErrors <= 1.5 * minimum, `at most ${worstErrors} errors reached clients; 1.5x the minimum is ${1.5 * minimum}`);
        assert.ok(runs.every((r) => /conclusive by the sequential test/.test(r.reason ?? "")), "the failure is declared early, on the evidence");
    });

    it("a tail the mean hides: 5% of requests slower than the ceiling fails the p99 gate early; 0.2% passes", () => {
        const next = rng(SEED + 3);
        const slowTail = simulate(next, plan(), 1000, { failShare: 0, slowShare: 0.05 });
        assert.strictEqual(slowTail.phase, "reverted");
        assert.match(slowTail.reason ?? "", /p99 latency > 500 ms \(\d+ of \d+ timed requests slower; conclusive/);
        assert.strictEqual(simulate(next, plan(), 1000, { failShare: 0, slowShare: 0.002 }).phase, "promoted");
    });

    it("judges the percentile at the window's end, and the mean only where the platform measures no percentile", () => {
        const base: Sample = { color: "green", requests: 500, errors: 0, healthy: true, windowMs: 5000 };
        const g: GateSpec = { ...DEFAULT_GATE, falseAlarmRate: 1e-9 };
        const tail = judge({ ...base, latencyMs: 40, timed: 500, slow: 8, percentileMs: 900, percentile: 99 }, g);
        assert.strictEqual(tail.outcome, "fail");
        assert.match(tail.reasons.join(), /p99 latency 900 ms > 500 ms \(8 of 500 timed requests slower\)/);
        assert.strictEqual(judge({ ...base, latencyMs: 40, timed: 500, slow: 2, percentileMs: 120, percentile: 99 }, g).outcome, "pass");
        assert.match(judge({ ...base, latencyMs: 700 }, g).reasons.join(), /mean latency 700 ms > 500 ms \(the platform measures no percentile\)/);
        assert.strictEqual(earlyFailure({ ...base, requests: 10, windowMs: 250 }, g), undefined, "no evidence, no early verdict");
        const unhealthy = earlyFailure({ ...base, requests: 0, healthy: false, windowMs: 250 }, g);
        assert.deepStrictEqual([unhealthy?.outcome, unhealthy?.early], ["fail", true]);
    });

    it("refuses a percentile, false-alarm rate or tick out of range, naming the fix", () => {
        assert.throws(() => plan({ latencyPercentile: 100 }), /latency percentile is 100: give a percentile from 50 to 99\.9/);
        assert.throws(() => plan({ falseAlarmRate: 0 }), /false-alarm rate is 0: give a chance above 0 and at most 0\.1/);
        assert.throws(() => plan({ tickMs: 5 }), /gate tickMs is 5: it must be an integer of at least 10 ms/);
        assert.throws(() => plan({ tickMs: 6000 }), /at most the window \(5000 ms\)/);
        assert.deepStrictEqual(weightsFor("green", 10), { blue: 90, green: 10 });
    });
});
