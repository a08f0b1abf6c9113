/**
 * Error hints say only what can be true: "traffic may still reach <color>" appears when a revert
 * failed after traffic moved there and before the router was reverted, never otherwise. Driven
 * through the real driver on a port that fails where it is told to. No process, no network.
 */
import * as assert from "assert";
import { operatorRevert, start } from "./core";
import { drive } from "./run";
import { Checkpoint, CutoverPlan, CutoverPort, DEFAULT_GATE, Sample, TrafficWeights } from "./types";

const T0 = "2026-11-24T10:00:00Z";

/** A port whose router and stack calls fail on demand. */
class FailingPort implements CutoverPort {
    readonly platform = "test";
    served: TrafficWeights;
    constructor(
        start: TrafficWeights,
        /** applyNow: the router refuses every change of weights, or only the revert's (all on blue); applyAfter: `up` fails after that many. */
        private readonly fail: { applyNow?: "always" | "revert"; applyAfter?: number },
    ) {
        this.served = start;
    }
    private applies = 0;
    async readState() {
        return { weights: this.served };
    }
    async recordIntent(): Promise<void> {}
    async apply(w: TrafficWeights): Promise<void> {
        if (this.fail.applyAfter !== undefined && this.applies++ >= this.fail.applyAfter) {
            throw new Error("up of the stack failed: disk full");
        }
        this.served = w;
    }
    async applyNow(w: TrafficWeights): Promise<void> {
        if (this.fail.applyNow === "always" || (this.fail.applyNow === "revert" && w.green === 0)) {
            throw new Error("the router refuses connections");
        }
        this.served = w;
    }
    async record(_cp: Checkpoint): Promise<void> {}
    async servedWeights() {
        return this.served;
    }
    async sample(color: "blue" | "green", windowMs: number): Promise<Sample> {
        return { color, requests: 100, errors: 50, healthy: true, windowMs };
    }
    async pretest(color: "blue" | "green"): Promise<Sample> {
        return { color, requests: 20, errors: 0, healthy: true, windowMs: 0 };
    }
    async backup(): Promise<string> {
        return "b";
    }
}

const plan = (over: Partial<CutoverPlan> = {}): CutoverPlan => ({ from: "blue", to: "green", steps: [10, 50, 100], gate: DEFAULT_GATE, pretest: false, backup: false, pauseAt: [], ...over });
const BLUE = { blue: 100, green: 0 };

describe("cutover: error hints say only what can be true", () => {
    it("a revert that fails after a step moved traffic, with the router unreachable: traffic may still reach green", async () => {
        const port = new FailingPort(BLUE, { applyNow: "revert", applyAfter: 1 });
        const cp = await drive(port, plan(), start(plan(), BLUE, "c1", T0));
        assert.strictEqual(cp.phase, "failed");
        assert.match(cp.reason ?? "", /^revert failed: the router could not be reverted at once \(the router refuses connections\), nor through the stack: .*; traffic may still reach green$/);
    });

    it("a revert whose router change succeeded but whose stack record failed: no such hint (the router serves blue alone)", async () => {
        const port = new FailingPort(BLUE, { applyAfter: 1 });
        const cp = await drive(port, plan(), start(plan(), BLUE, "c1", T0));
        assert.strictEqual(cp.phase, "failed");
        assert.match(cp.reason ?? "", /^revert failed: the router was reverted at once, but recording the revert in the stack failed: .*run `switchyard revert` again$/);
        assert.doesNotMatch(cp.reason ?? "", /may still reach/);
        assert.deepStrictEqual(port.served, BLUE, "the router does serve blue alone");
    });

    it("a revert before any step (stopped during the pretest) that fails: no traffic moved, no such hint", async () => {
        const p = plan({ pretest: true });
        const port = new FailingPort(BLUE, { applyNow: "always", applyAfter: 0 });
        const ctl = new AbortController();
        ctl.abort("stopped by the operator (Ctrl-C)");
        const cp = await drive(port, p, start(p, BLUE, "c1", T0), { signal: ctl.signal });
        assert.strictEqual(cp.phase, "failed");
        assert.strictEqual(cp.step, -1);
        assert.match(cp.reason ?? "", /^revert failed: /);
        assert.doesNotMatch(cp.reason ?? "", /may still reach/);
    });

    it("an operator revert of a stack already all on blue that fails: no such hint; with green serving some: the hint", async () => {
        const onBlue = new FailingPort(BLUE, { applyNow: "always", applyAfter: 0 });
        const first = operatorRevert(BLUE, undefined, "c2", T0);
        const quiet = await drive(onBlue, plan({ steps: [100] }), first);
        assert.strictEqual(quiet.phase, "failed");
        assert.doesNotMatch(quiet.reason ?? "", /may still reach/);

        const split = { blue: 80, green: 20 };
        const some = new FailingPort(split, { applyNow: "always", applyAfter: 0 });
        const loud = await drive(some, plan({ steps: [100] }), operatorRevert(split, undefined, "c3", T0));
        assert.match(loud.reason ?? "", /; traffic may still reach green$/);
    });
});
