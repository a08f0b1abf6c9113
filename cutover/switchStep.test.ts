/**
 * A replicated pair's cutover step, the pure parts: the plan refuses a gradual shift and defaults
 * to one step; a switchover refused before anything moved stops the cutover (no revert); one that
 * failed after it moved reverts; the event's line; the port read from the pair's outputs.
 */
import * as assert from "assert";
import { advance, allOn, CutoverError, makePlan, operatorRevert, resume, start } from "./core";
import { formatEvent } from "./display";
import { drive } from "./run";
import { DatabaseSwitch, DbSwitchRefused, localDatabaseSwitch, NOP_DATABASE_SWITCH, replicatedStepsProblem } from "./switchStep";
import { Checkpoint, Color, CutoverEvent, CutoverPort, Sample, TrafficWeights } from "./types";

const T0 = "2026-11-30T10:00:00Z";
const BLUE = { blue: 100, green: 0 };

describe("a replicated pair's switchover step (pure)", () => {
    it("the plan refuses a gradual shift, saying both colors would take writes", () => {
        assert.throws(
            () => makePlan({ current: BLUE, steps: [10, 50, 100], databaseMode: "replicated" }),
            (e: Error) => e instanceof CutoverError && /refused for database mode "replicated"/.test(e.message) && /both colors would take writes/.test(e.message) && /10, 50/.test(e.message),
        );
        assert.throws(() => makePlan({ current: BLUE, steps: "canary-10", databaseMode: "replicated" }), /both colors would take writes/);
        // A shared database keeps its gradual shift.
        assert.deepStrictEqual(makePlan({ current: BLUE, steps: [10, 50, 100] }).steps, [10, 50, 100]);
    });

    it("the plan defaults to one step of 100 for a replicated pair (linear-25 otherwise)", () => {
        assert.deepStrictEqual(makePlan({ current: BLUE, databaseMode: "replicated" }).steps, [100]);
        assert.deepStrictEqual(makePlan({ current: BLUE }).steps, [25, 50, 75, 100]);
        assert.deepStrictEqual(makePlan({ current: BLUE, steps: [100], databaseMode: "replicated" }).steps, [100]);
        assert.strictEqual(replicatedStepsProblem("shared", [10, 100]), undefined);
        assert.match(replicatedStepsProblem("replicated", [10, 100]) ?? "", /10%/);
    });

    it("a switchover refused before anything moved (the lag gate) stops the cutover, traffic where it stood, no revert", () => {
        const plan = makePlan({ current: BLUE, databaseMode: "replicated", pretest: false, backup: false });
        const t0 = start(plan, BLUE, "c1", T0);
        assert.deepStrictEqual(t0.action, { kind: "apply", weights: allOn("green"), step: 0 });
        const msg = "switchover from blue to green refused: green is 3.0 MiB behind blue (limit 1.0 MiB): the switchover waits until it catches up";
        const t1 = advance(t0.checkpoint, plan, { kind: "error", message: msg, unmoved: true }, T0);
        assert.deepStrictEqual(t1.action, { kind: "done", phase: "failed" });
        assert.strictEqual(t1.checkpoint.step, -1);
        assert.deepStrictEqual(t1.checkpoint.weights, BLUE);
        assert.match(t1.checkpoint.reason ?? "", /3\.0 MiB behind blue/);
        assert.ok(!t1.events.some((e) => e.type === "revert"), "no revert event");
    });

    it("a switchover that failed after it moved reverts (the switchover the other way)", () => {
        const plan = makePlan({ current: BLUE, databaseMode: "replicated", pretest: false, backup: false });
        const t0 = start(plan, BLUE, "c1", T0);
        const t1 = advance(t0.checkpoint, plan, { kind: "error", message: "the way back did not start streaming" }, T0);
        assert.deepStrictEqual(t1.action, { kind: "revert", weights: BLUE, reason: "the way back did not start streaming" });
    });

    it("the switchover and reconcile events as operator lines", () => {
        const line = formatEvent({ type: "switchover", at: T0, from: "blue", to: "green", pauseMs: 212, refusedWrites: 3, lag: "green is 0 bytes behind blue: within the limit" });
        assert.match(line ?? "", /switchover blue → green: writes paused 212 ms, 3 refused; replication now green → blue/);
        assert.match(formatEvent({ type: "reconciled", at: T0, did: "dropped the subscription green→blue" }) ?? "", /replication: dropped the subscription green→blue/);
    });

    it("the port comes from the pair's outputs: none for a shared database, the missing output named", async () => {
        assert.strictEqual(localDatabaseSwitch({ adminSocket: "/x", databaseUrl: "postgres://postgres@127.0.0.1:5432/app" }), undefined);
        assert.throws(
            () => localDatabaseSwitch({ databaseMode: "replicated", adminSocket: "/x", databaseUrl: "postgres://postgres@127.0.0.1:5432/app" }),
            /exports no greenDatabaseUrl/,
        );
        assert.ok(localDatabaseSwitch({ databaseMode: "replicated", adminSocket: "/x", databaseUrl: "postgres://postgres@127.0.0.1:5432/app", greenDatabaseUrl: "postgres://postgres@127.0.0.1:5433/app" }));
        assert.deepStrictEqual(await NOP_DATABASE_SWITCH.reconcile(), []);
    });
});

/**
 * The driver on an in-memory pair: the router's weights and the direction of replication are two
 * variables, and every call is logged in order, so the step's order (intent, switchover, `up`) and
 * the revert's can be read. No process, no network.
 */
class MemoryPair implements CutoverPort, DatabaseSwitch {
    readonly platform = "memory";
    served: TrafficWeights = { blue: 100, green: 0 };
    direction: string = "blue→green";
    lagRefusal?: string;
    readonly log: string[] = [];
    databases: DatabaseSwitch = this;
    async switchover(from: Color, to: Color) {
        if (this.lagRefusal) throw new DbSwitchRefused(`switchover from ${from} to ${to} refused: ${this.lagRefusal}`);
        this.log.push(`switchover ${from}→${to}`);
        this.served = allOn(to);
        this.direction = `${to}→${from}`;
        return { from, to, pauseMs: 12, refusedWrites: 0, lag: "0 bytes" };
    }
    async reconcile() {
        const live = this.served.green > 0 ? "green" : "blue";
        const want = `${live}→${live === "blue" ? "green" : "blue"}`;
        if (this.direction === want) return [];
        this.direction = want;
        this.log.push(`reconcile ${want}`);
        return [`subscribed to ${live}`];
    }
    async readState() {
        return { weights: this.served };
    }
    async recordIntent(i: { action: string }) {
        this.log.push(`intent ${i.action}`);
    }
    async apply(w: TrafficWeights) {
        this.log.push(`up ${w.blue}/${w.green}`);
    }
    async applyNow(w: TrafficWeights) {
        this.log.push(`router ${w.blue}/${w.green}`);
        this.served = w;
    }
    async record(_cp: Checkpoint) {}
    async servedWeights() {
        return this.served;
    }
    async sample(color: Color, windowMs: number): Promise<Sample> {
        return { color, requests: 100, errors: 0, latencyMs: 5, healthy: true, windowMs };
    }
    async pretest(color: Color): Promise<Sample> {
        return { color, requests: 20, errors: 0, healthy: true, windowMs: 0 };
    }
    async backup() {
        return "b";
    }
}

describe("a replicated pair's switchover step through the driver (in memory)", () => {
    const plan = () => makePlan({ current: { blue: 100, green: 0 }, databaseMode: "replicated", pretest: false, backup: false, gate: { intervalMs: 1, tickMs: 10, minRequests: 1 } });

    it("the step: its intent, then the switchover (the router moves in it, never by weights alone), then up; a revert is the switchover back", async () => {
        const pair = new MemoryPair();
        const events: CutoverEvent[] = [];
        const cp = await drive(pair, plan(), start(plan(), pair.served, "c1", T0), { onEvent: (e) => events.push(e) });
        assert.strictEqual(cp.phase, "promoted", cp.reason);
        assert.deepStrictEqual(pair.log, ["intent switch", "switchover blue→green", "up 0/100"]);
        assert.ok(events.some((e) => e.type === "switchover" && e.pauseMs === 12));
        const back = operatorRevert(pair.served, cp, "c2", T0);
        const rv = await drive(pair, plan(), back);
        assert.strictEqual(rv.phase, "reverted", rv.reason);
        assert.deepStrictEqual(pair.log.slice(3), ["intent revert", "switchover green→blue", "up 100/0"]);
        assert.strictEqual(pair.direction, "blue→green");
    });

    it("refused by the lag gate: failed with the lag in the reason, nothing moved, no up", async () => {
        const pair = new MemoryPair();
        pair.lagRefusal = "green is 2.9 MiB behind blue (limit 1.0 MiB): the switchover waits until it catches up";
        const cp = await drive(pair, plan(), start(plan(), pair.served, "c1", T0));
        assert.strictEqual(cp.phase, "failed");
        assert.match(cp.reason ?? "", /2\.9 MiB behind blue/);
        assert.deepStrictEqual(pair.log, ["intent switch"]);
        assert.deepStrictEqual(pair.served, { blue: 100, green: 0 });
    });

    it("resumed after a kill that left the router on green: no second switchover, replication reconciled, up records it", async () => {
        const pair = new MemoryPair();
        const t = start(plan(), pair.served, "c1", T0);
        // Killed after the weights changed, before the way back was subscribed.
        pair.served = { blue: 0, green: 100 };
        const cp = await drive(pair, plan(), resume(t.checkpoint, plan(), T0));
        assert.strictEqual(cp.phase, "promoted", cp.reason);
        assert.deepStrictEqual(pair.log, ["intent switch", "reconcile green→blue", "up 0/100"]);
    });
});
