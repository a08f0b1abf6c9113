/**
 * The streaming gate, pure: the sequential test's bound, and whole cutovers simulated tick by tick
 * through the same decisions the driver makes (`windowEnds`, `judge`, `advance`). Random draws come
 * from one seeded generator, printed (set GATE_SEED to replay).
 */
import * as assert from "assert";
import { earlyFailure, judge, makePlan, weightsFor } from "./core";
import { binomial, rng, simulate } from "./simulate";
import { breachEvidence, breachShare, minimumBadToFail } from "./sequential";
import { DEFAULT_GATE, GateSpec, Sample } from "./types";

const SEED = Number(process.env.GATE_SEED ?? Date.now() % 2 ** 31);

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
        // Ville: at most α of runs ever alarm. Four standard deviations of a binomial count of margin.
        const margin = 4 * Math.sqrt(alpha * (1 - alpha) * runs);
        assert.ok(alarms <= alpha * runs + margin, `${alarms} of ${runs} runs alarmed; the bound is ${alpha * runs} (+${margin.toFixed(1)})`);
    });

    it("no false revert: 1,000 simulated cutovers of a green at 99.9% success against a 99% gate, at 1,000 requests/s", () => {
        const next = rng(SEED + 1);
        const p = plan();
        const reverted = Array.from({ length: 1000 }, () => simulate(next, p, 1000, { failShare: 0.001 })).filter((r) => r.phase !== "promoted");
        assert.deepStrictEqual(reverted.slice(0, 3), [], `${reverted.length} of 1,000 were not promoted`);
    });

    it("a green failing 20% at step 10%, 1,000 requests/s: 99% of 1,000 are reverted within 1 s of onset (all within 1.5 s), every one with errors within 1.5x the minimum", () => {
        const next = rng(SEED + 2);
        const p = plan();
        const runs = Array.from({ length: 1000 }, () => simulate(next, p, 1000, { failShare: 0.2 }));
        const minimum = 0.1 * 1000 * 0.2 * 1; // weight × rate × failure share × 1 s
        const times = runs.map((r) => r.verdictMs ?? Infinity).sort((a, b) => a - b);
        const worstErrors = Math.max(...runs.map((r) => r.errors));
        assert.ok(runs.every((r) => r.phase === "reverted" && /success rate/.test(r.reason ?? "")), "all reverted on the success rate");
        // A tick reads about 25 of green's requests; a run whose first ticks draw few failures needs a
        // tick or two more (over 60 seeds of 1,000 runs: the 99th percentile 1,000 ms, the slowest 1,250 ms).
        assert.ok(times[989] <= 1000, `99th percentile of the verdicts ${times[989]} ms after onset`);
        assert.ok(times[999] <= 1500, `slowest verdict ${times[999]} ms after onset`);
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

    it("judges the percentile at the window's end (a breach not yet proven is another window), and the mean only where the platform measures no percentile", () => {
        const base: Sample = { color: "green", requests: 500, errors: 0, healthy: true, windowMs: 5000 };
        const g: GateSpec = { ...DEFAULT_GATE, falseAlarmRate: 1e-9 };
        const tail = judge({ ...base, latencyMs: 40, timed: 500, slow: 8, percentileMs: 900, percentile: 99 }, g);
        assert.strictEqual(tail.outcome, "inconclusive", "over the limit, but not conclusively at this false-alarm rate: another window");
        assert.match(tail.reasons.join(), /p99 latency 900 ms > 500 ms \(8 of 500 timed requests slower\), not conclusively/);
        const proven = judge({ ...base, latencyMs: 40, timed: 500, slow: 60, percentileMs: 900, percentile: 99 }, g);
        assert.deepStrictEqual([proven.outcome, proven.early], ["fail", undefined], "conclusive at the window's end: a failure, not an early one");
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
        assert.doesNotThrow(() => plan({ tickMs: 250, intervalMs: 200 }), "a window shorter than the tick is read once, at its end");
        assert.deepStrictEqual(weightsFor("green", 10), { blue: 90, green: 10 });
    });
});
