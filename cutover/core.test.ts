/**
 * The pure cutover core: tables of cases and properties, with no process, clock or network.
 */
import * as assert from "assert";
import fc from "fast-check";
import {
    advance,
    allOn,
    CutoverError,
    judge,
    makePlan,
    operatorRevert,
    planOf,
    resume,
    sameSplit,
    start,
    Transition,
    weightsFor,
} from "./core";
import { Checkpoint, CutoverPlan, DEFAULT_GATE, Input, Sample } from "./types";

const T0 = "2026-11-24T10:00:00Z";
const ok = (requests = 100, errors = 0, latencyMs = 20): Sample => ({ color: "green", requests, errors, latencyMs, healthy: true, windowMs: 1000 });

function plan(over: Partial<CutoverPlan> = {}): CutoverPlan {
    return { from: "blue", to: "green", steps: [10, 50, 100], gate: DEFAULT_GATE, pretest: false, backup: false, pauseAt: [], ...over };
}

/** Feeds inputs to the machine, answering every apply with the weights asked for. */
function runWith(p: CutoverPlan, samples: Sample[], first?: Transition): { t: Transition; applied: number[][]; events: string[] } {
    let t = first ?? start(p, { blue: 100, green: 0 }, "c1", T0);
    const applied: number[][] = [];
    const events: string[] = t.events.map((e) => e.type);
    let i = 0;
    for (let guard = 0; t.action.kind !== "done"; guard++) {
        assert.ok(guard < 1000, "the machine ends");
        const a = t.action;
        let input: Input;
        if (a.kind === "apply" || a.kind === "revert") {
            applied.push([a.weights.blue, a.weights.green]);
            input = { kind: "applied", served: a.weights };
        } else if (a.kind === "observe") {
            input = { kind: "sampled", sample: samples[Math.min(i++, samples.length - 1)] };
        } else if (a.kind === "pretest") {
            input = { kind: "pretested", sample: ok(20) };
        } else {
            input = { kind: "backedUp", name: "snap-1" };
        }
        t = advance(t.checkpoint, p, input, T0);
        events.push(...t.events.map((e) => e.type));
    }
    return { t, applied, events };
}

describe("cutover core: plans", () => {
    it("defaults to the idle color and the linear-25 steps", () => {
        const p = makePlan({ current: { blue: 100, green: 0 } });
        assert.deepStrictEqual([p.from, p.to, p.steps], ["blue", "green", [25, 50, 75, 100]]);
    });
    it("takes a preset by name, and drops steps traffic has already passed", () => {
        assert.deepStrictEqual(makePlan({ current: { blue: 100, green: 0 }, steps: "canary-10" }).steps, [10, 100]);
        assert.deepStrictEqual(makePlan({ current: { blue: 60, green: 40 }, steps: [10, 25, 50, 100] }).steps, [50, 100]);
    });
    it("cuts back from green to blue", () => {
        const p = makePlan({ current: { blue: 0, green: 100 }, steps: [50, 100] });
        assert.deepStrictEqual([p.from, p.to], ["green", "blue"]);
    });
    const refusals: [string, Parameters<typeof makePlan>[0], RegExp][] = [
        ["steps that fall", { current: { blue: 100, green: 0 }, steps: [50, 25, 100] }, /step 2 \(25\) does not rise above the step before it \(50\)/],
        ["steps that stop short of 100", { current: { blue: 100, green: 0 }, steps: [10, 50] }, /the last step must be 100/],
        ["a jump over the maximum", { current: { blue: 100, green: 0 }, steps: [10, 100], maxStep: 50 }, /jumps from 10 to 100 \(90 points\), more than the maximum of 50/],
        ["an unknown preset", { current: { blue: 100, green: 0 }, steps: "fast" }, /no step preset named "fast": use one of canary-10/],
        ["a color already live", { current: { blue: 0, green: 100 }, to: "green" }, /green already receives all traffic/],
        ["a success rate over 1", { current: { blue: 100, green: 0 }, gate: { minSuccessRate: 99 } }, /minimum success rate is 99: give a share from 0 to 1/],
        ["a zero interval", { current: { blue: 100, green: 0 }, gate: { intervalMs: 0 } }, /gate intervalMs is 0/],
        ["weights out of range in state", { current: { blue: 120, green: 0 } }, /traffic weight for blue is 120/],
    ];
    for (const [what, req, message] of refusals) {
        it(`refuses ${what}`, () => assert.throws(() => makePlan(req), (e: Error) => e instanceof CutoverError && message.test(e.message)));
    }
});

describe("cutover core: gate verdicts", () => {
    const cases: [string, Sample, string, RegExp][] = [
        ["all good", ok(200, 1, 30), "pass", /success rate 99\.50% over 200 requests; mean latency 30 ms/],
        ["too many errors, conclusively", ok(100, 20), "fail", /success rate 80\.00% < 99\.00% \(20 of 100 requests failed; conclusive by the sequential test/],
        ["too many errors, not conclusively: another window", ok(100, 5), "inconclusive", /success rate 95\.00% < 99\.00% \(5 of 100 requests failed\), not conclusively; another window decides/],
        ["too slow", ok(100, 0, 900), "fail", /mean latency 900 ms > 500 ms/],
        ["down", { ...ok(), healthy: false }, "fail", /green fails its health check/],
        ["too little traffic", ok(5), "inconclusive", /5 requests to green in the window, fewer than the 20 needed to judge/],
        ["errors beat too little traffic", ok(5, 5), "fail", /success rate 0\.00%/],
    ];
    for (const [what, sample, outcome, reason] of cases) {
        it(what, () => {
            const v = judge(sample, DEFAULT_GATE);
            assert.strictEqual(v.outcome, outcome);
            assert.match(v.reasons.join("; "), reason);
        });
    }
    it("a gate with minRequests 0 judges an idle window on health alone", () => {
        assert.strictEqual(judge(ok(0), { ...DEFAULT_GATE, minRequests: 0 }).outcome, "pass");
    });
});

describe("cutover core: transitions", () => {
    it("promotes through every step when every window passes, keeping the old color's weight at the complement", () => {
        const r = runWith(plan(), [ok()]);
        assert.strictEqual(r.t.checkpoint.phase, "promoted");
        assert.deepStrictEqual(r.applied, [[90, 10], [50, 50], [0, 100]]);
        assert.deepStrictEqual(r.t.checkpoint.weights, { blue: 0, green: 100 });
        assert.strictEqual(r.events.at(-1), "done");
    });
    it("reverts at once to all-blue when a window fails, naming the step and the reason", () => {
        const r = runWith(plan(), [ok(), ok(100, 10)]);
        assert.strictEqual(r.t.checkpoint.phase, "reverted");
        assert.deepStrictEqual(r.applied, [[90, 10], [50, 50], [100, 0]]);
        assert.match(r.t.checkpoint.reason ?? "", /gate failed at green 50%: success rate 90\.00% < 99\.00%/);
    });
    it("tolerates failed windows up to the failure limit", () => {
        const p = plan({ gate: { ...DEFAULT_GATE, failureLimit: 2 } });
        assert.strictEqual(runWith(p, [ok(100, 10), ok(), ok()]).t.checkpoint.phase, "promoted");
        assert.strictEqual(runWith(p, [ok(100, 10), ok(100, 10)]).t.checkpoint.phase, "reverted");
    });
    it("never advances on no evidence: inconclusive windows up to the limit, then a revert", () => {
        const r = runWith(plan(), [ok(0)]);
        assert.strictEqual(r.t.checkpoint.phase, "reverted");
        assert.match(r.t.checkpoint.reason ?? "", /no verdict at green 10% after 3 windows/);
        assert.deepStrictEqual(r.applied, [[90, 10], [100, 0]]);
    });
    it("needs windowsPerStep passing windows at each step", () => {
        const r = runWith(plan({ gate: { ...DEFAULT_GATE, windowsPerStep: 2 } }), [ok()]);
        const observed = r.events.filter((e) => e === "verdict").length;
        assert.strictEqual(observed, 6);
    });
    it("reverts when the router serves other weights than asked for (read-back)", () => {
        let t = start(plan(), { blue: 100, green: 0 }, "c1", T0);
        t = advance(t.checkpoint, plan(), { kind: "applied", served: { blue: 100, green: 0 } }, T0);
        assert.strictEqual(t.action.kind, "revert");
        assert.match(t.checkpoint.reason ?? "", /the router serves blue 100 \/ green 0, not the blue 90 \/ green 10 asked for/);
    });
    it("a scaled read-back (9/1 for 90/10) is the same split", () => {
        assert.ok(sameSplit({ blue: 9, green: 1 }, { blue: 90, green: 10 }));
        assert.ok(!sameSplit({ blue: 1, green: 9 }, { blue: 90, green: 10 }));
    });
    it("a revert the router does not honour ends as failed, saying so", () => {
        let t = start(plan(), { blue: 100, green: 0 }, "c1", T0);
        t = advance(t.checkpoint, plan(), { kind: "abort", reason: "Ctrl-C" }, T0);
        assert.deepStrictEqual(t.action, { kind: "revert", weights: allOn("blue"), reason: "Ctrl-C" });
        t = advance(t.checkpoint, plan(), { kind: "applied", served: { blue: 50, green: 50 } }, T0);
        assert.strictEqual(t.checkpoint.phase, "failed");
        assert.match(t.checkpoint.reason ?? "", /revert asked for blue 100 \/ green 0 but the router serves blue 50 \/ green 50/);
    });
    it("a failing pretest stops before any live traffic moves", () => {
        const p = plan({ pretest: true, backup: true });
        let t = start(p, { blue: 100, green: 0 }, "c1", T0);
        assert.deepStrictEqual(t.action, { kind: "pretest", color: "green" });
        t = advance(t.checkpoint, p, { kind: "pretested", sample: ok(20, 20) }, T0);
        assert.strictEqual(t.checkpoint.phase, "failed");
        assert.match(t.checkpoint.reason ?? "", /pretest of green through the test listener failed/);
        assert.deepStrictEqual(t.checkpoint.weights, { blue: 100, green: 0 });
    });
    it("pretest, then backup, then the first step; the backup's name is kept", () => {
        const p = plan({ pretest: true, backup: true });
        const r = runWith(p, [ok()]);
        assert.deepStrictEqual(r.events.slice(0, 4), ["started", "pretest", "backup", "step"]);
        assert.strictEqual(r.t.checkpoint.backup, "snap-1");
    });
    it("an error during the pretest or backup (no traffic moved) fails without a revert; one while applying a step reverts", () => {
        const p = plan({ pretest: true, backup: true });
        const pre = start(p, { blue: 100, green: 0 }, "c1", T0);
        const failed = advance(pre.checkpoint, p, { kind: "error", message: "test listener unreachable" }, T0);
        assert.strictEqual(failed.checkpoint.phase, "failed");
        assert.strictEqual(failed.checkpoint.reason, "test listener unreachable");
        const stepping = start(plan(), { blue: 100, green: 0 }, "c1", T0);
        const during = advance(stepping.checkpoint, plan(), { kind: "error", message: "up failed" }, T0);
        assert.deepStrictEqual(during.action, { kind: "revert", weights: { blue: 100, green: 0 }, reason: "up failed" });
    });
    it("resumes an interrupted cutover at the step it stood at", () => {
        const cp: Checkpoint = { ...start(plan(), { blue: 100, green: 0 }, "c1", T0).checkpoint, step: 1, phase: "observing", weights: weightsFor("green", 50) };
        const t = resume(cp, planOf(cp), T0);
        assert.deepStrictEqual(t.action, { kind: "apply", weights: { blue: 50, green: 50 }, step: 1 });
        assert.deepStrictEqual(t.events.map((e) => e.type), ["resumed", "step"]);
        assert.throws(() => resume({ ...cp, phase: "promoted" }, planOf(cp), T0), /has ended \(promoted\): start a new one/);
    });
    it("resumes a cutover stopped inside its backup by taking the backup again, then its first step", () => {
        const p = plan({ backup: true });
        const inBackup = start(p, { blue: 100, green: 0 }, "c1", T0).checkpoint;
        assert.strictEqual(inBackup.phase, "backup");
        const t = resume(inBackup, planOf(inBackup), T0);
        assert.deepStrictEqual(t.action, { kind: "backup" });
        const next = advance(t.checkpoint, planOf(inBackup), { kind: "backedUp", name: "snap-2" }, T0);
        assert.deepStrictEqual([next.checkpoint.backup, next.action], ["snap-2", { kind: "apply", weights: { blue: 90, green: 10 }, step: 0 }]);
        const stepping = { ...inBackup, phase: "observing" as const, step: 0 };
        assert.strictEqual(planOf(stepping).backup, false, "past the backup, a resume takes none");
    });
    it("an operator revert after promotion brings the old color back (it was kept warm)", () => {
        const promoted = runWith(plan(), [ok()]).t.checkpoint;
        const t = operatorRevert(promoted.weights, promoted, "c2", T0);
        assert.deepStrictEqual(t.action, { kind: "revert", weights: { blue: 100, green: 0 }, reason: "revert asked for by the operator" });
        const none = operatorRevert({ blue: 20, green: 80 }, undefined, "c3", T0);
        assert.deepStrictEqual(none.action.kind === "revert" && none.action.weights, { blue: 0, green: 100 });
        // Marked as asked for, so that a resume finishing it after a kill ends as the revert would have.
        const resumed = resume(t.checkpoint, planOf(t.checkpoint), T0);
        const done = advance(resumed.checkpoint, planOf(t.checkpoint), { kind: "applied", served: { blue: 100, green: 0 } }, T0);
        assert.deepStrictEqual([t.checkpoint.requested, done.checkpoint.phase, done.checkpoint.requested], ["revert", "reverted", "revert"]);
        assert.strictEqual(runWith(plan(), [ok(100, 50)]).t.checkpoint.requested, undefined, "a revert after a failed gate was not asked for");
    });
    it("pauses after a passing gate at a pause weight; resume goes on to the next step and to the later pauses", () => {
        const p = plan({ steps: [10, 25, 50, 100], pauseAt: [25, 50] });
        const first = runWith(p, [ok()], start(p, { blue: 100, green: 0 }, "c1", T0));
        assert.strictEqual(first.t.checkpoint.phase, "paused");
        assert.deepStrictEqual(first.applied, [[90, 10], [75, 25]]);
        assert.strictEqual(first.events.at(-1), "paused");
        const second = runWith(planOf(first.t.checkpoint), [ok()], resume(first.t.checkpoint, planOf(first.t.checkpoint), T0));
        assert.strictEqual(second.t.checkpoint.phase, "paused");
        assert.deepStrictEqual(second.applied, [[50, 50]], "the paused step is not applied again");
        const third = runWith(planOf(second.t.checkpoint), [ok()], resume(second.t.checkpoint, planOf(second.t.checkpoint), T0));
        assert.strictEqual(third.t.checkpoint.phase, "promoted");
        assert.deepStrictEqual(third.applied, [[0, 100]]);
    });
    it("a pause must be one of the steps, below 100", () => {
        assert.throws(() => makePlan({ current: { blue: 100, green: 0 }, steps: [10, 50, 100], pauseAt: [30] }), /cannot pause at 30: a pause must be one of the steps \(10, 50, 100\) below 100/);
        assert.throws(() => makePlan({ current: { blue: 100, green: 0 }, steps: [10, 50, 100], pauseAt: [100] }), /cannot pause at 100/);
    });
    it("an ended cutover takes no more input", () => {
        const done = runWith(plan(), [ok()]).t.checkpoint;
        assert.throws(() => advance(done, plan(), { kind: "sampled", sample: ok() }, T0), /has ended \(promoted\)/);
    });
});

describe("cutover core: properties", () => {
    const stepsArb = fc
        .uniqueArray(fc.integer({ min: 1, max: 99 }), { maxLength: 6 })
        .map((xs) => [...xs.sort((a, b) => a - b), 100]);
    const sampleArb = fc.record({
        requests: fc.integer({ min: 0, max: 300 }),
        errRatio: fc.double({ min: 0, max: 1, noNaN: true }),
        latencyMs: fc.integer({ min: 1, max: 2000 }),
        healthy: fc.boolean(),
    }).map(({ requests, errRatio, latencyMs, healthy }): Sample => ({ color: "green", requests, errors: Math.floor(requests * errRatio), latencyMs, healthy, windowMs: 1000 }));

    it("ends promoted or reverted; weights only rise through the plan's steps; a revert goes all-blue; a fail is never followed by a rise", () => {
        fc.assert(
            fc.property(stepsArb, fc.array(sampleArb, { minLength: 1, maxLength: 30 }), fc.integer({ min: 1, max: 3 }), (steps, samples, failureLimit) => {
                const p = plan({ steps, gate: { ...DEFAULT_GATE, failureLimit } });
                const r = runWith(p, samples);
                assert.ok(["promoted", "reverted"].includes(r.t.checkpoint.phase));
                const greens = r.applied.map(([, g]) => g);
                const rising = r.t.checkpoint.phase === "reverted" ? greens.slice(0, -1) : greens;
                assert.deepStrictEqual(rising, steps.slice(0, rising.length), "steps applied in order, none skipped");
                if (r.t.checkpoint.phase === "reverted") {
                    assert.deepStrictEqual(r.applied.at(-1), [100, 0]);
                } else {
                    assert.deepStrictEqual(greens, steps);
                }
                for (const [b, g] of r.applied) assert.strictEqual(b + g, 100);
            }),
            { numRuns: 300 },
        );
    });

    it("every passing run applies exactly the plan", () => {
        fc.assert(
            fc.property(stepsArb, (steps) => {
                const r = runWith(plan({ steps }), [ok()]);
                assert.deepStrictEqual(r.applied.map(([, g]) => g), steps);
            }),
        );
    });
});
