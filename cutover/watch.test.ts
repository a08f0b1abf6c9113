/**
 * Rollout windows, the watch after promotion and the keep-warm deadline in the pure core: tables of
 * transitions, time as an argument.
 */
import * as assert from "assert";
import { advance, forcedOutsideWindows, makePlan, operatorRevert, planOf, resume, start, Transition, windowClosed } from "./core";
import { Checkpoint, CutoverPlan, DEFAULT_GATE, Input, Sample } from "./types";
import { DEFAULT_KEEP_WARM_MS, formatDuration, parseDuration, rolloutSettings, scaleDownDue } from "./watch";
import { formatEvent, formatPlan } from "./display";
import { slackBody } from "./listeners";
import { cutoverPlanOf } from "../components/testRuns";
import type * as pulumi from "@pulumi/pulumi";

// 2026-12-05 is a Saturday.
const IN = "2026-12-05T03:00:00.000Z";
const SAT = ["Sat 02:00-05:00 UTC"];
const ok = (requests = 100): Sample => ({ color: "green", requests, errors: 0, healthy: true, windowMs: 1000 });
const bad = (): Sample => ({ color: "green", requests: 200, errors: 100, healthy: true, windowMs: 1000 });
const plus = (iso: string, ms: number) => new Date(Date.parse(iso) + ms).toISOString();

function plan(over: Partial<CutoverPlan> = {}): CutoverPlan {
    return { from: "blue", to: "green", steps: [10, 50, 100], gate: { ...DEFAULT_GATE, intervalMs: 1000 }, pretest: false, backup: false, pauseAt: [], ...over };
}

/** Runs the machine; `clock(i)` is the instant of the i-th input; samples in order (the last repeats). */
function run(p: CutoverPlan, samples: Sample[], clock: (i: number) => string, first?: Transition): { t: Transition; events: string[] } {
    let t = first ?? start(p, { blue: 100, green: 0 }, "c1", clock(0));
    const events = t.events.map((e) => e.type);
    let n = 0;
    let s = 0;
    while (t.action.kind !== "done") {
        assert.ok(n < 500, "the machine ends");
        const a = t.action;
        const input: Input = a.kind === "apply" || a.kind === "revert" ? { kind: "applied", served: a.weights } : { kind: "sampled", sample: samples[Math.min(s++, samples.length - 1)] };
        t = advance(t.checkpoint, p, input, clock(++n));
        events.push(...t.events.map((e) => e.type));
    }
    return { t, events };
}

describe("rollout settings", () => {
    it("parses durations strictly", () => {
        const table: [string, number | RegExp][] = [
            ["6s", 6000],
            ["30m", 1_800_000],
            ["24h", 86_400_000],
            ["1h30m", 5_400_000],
            ["2d", 172_800_000],
            ["", /--watch is "": give a duration/],
            ["30", /give a duration/],
            ["30 m", /give a duration/],
            ["1.5h", /give a duration/],
            ["30m1h", /give a duration/],
            ["0s", /give a duration/],
            ["8d", /at most 7d/],
            ["-5m", /give a duration/],
        ];
        for (const [text, want] of table) {
            const r = parseDuration(text, "--watch");
            if (typeof want === "number") assert.strictEqual(r, want, text);
            else assert.match(String(r), want, text);
        }
        assert.strictEqual(formatDuration(5_400_000), "1h30m");
        assert.strictEqual(formatDuration(6000), "6s");
    });

    it("reads window, watch and keepWarm from switchyard:cutover, naming the key of a bad one", () => {
        const good = rolloutSettings({ steps: [10, 100], window: "Sat 02:00-05:00 UTC", watch: "30m", keepWarm: "2h" });
        assert.deepStrictEqual(good, { settings: { windows: ["Sat 02:00-05:00 UTC"], watchMs: 1_800_000, keepWarmMs: 7_200_000 }, errors: [] });
        assert.strictEqual(rolloutSettings(undefined).settings.keepWarmMs, DEFAULT_KEEP_WARM_MS);
        assert.strictEqual(rolloutSettings({ watch: "30m" }, { watch: "6s" }).settings.watchMs, 6000, "--watch wins");
        const wrong = rolloutSettings({ window: ["Sat 02:00-05:00", "Sta 01:00-02:00"], watch: "forever", keepWarm: 3 });
        assert.strictEqual(wrong.errors.length, 3);
        assert.match(wrong.errors[0], /^switchyard:cutover\.window: .*"Sta" is not a day/);
        assert.match(wrong.errors[1], /^switchyard:cutover\.watch is "forever"/);
        assert.match(wrong.errors[2], /^switchyard:cutover\.keepWarm is 3/);
    });

    it("are checked at preview, where the program reads switchyard:cutover: a bad one names its key", () => {
        const cfg = (v: unknown) => ({ getObject: () => v }) as unknown as pulumi.Config;
        assert.throws(() => cutoverPlanOf(cfg({ steps: [10, 100], window: "Sta 02:00-03:00" })), /switchyard:cutover\.window: window "Sta 02:00-03:00": "Sta" is not a day/);
        assert.throws(() => cutoverPlanOf(cfg({ watch: "1 hour" })), /switchyard:cutover\.watch is "1 hour"/);
        assert.deepStrictEqual(cutoverPlanOf(cfg({ steps: [10, 100], window: ["Sat 02:00-05:00 UTC"], watch: "30m", keepWarm: "2h" })), { steps: [10, 100] });
    });
});

describe("cutover core: rollout windows", () => {
    it("carries the windows, the watch and keep-warm from the request to the plan, the checkpoint and back", () => {
        const p = makePlan({ current: { blue: 100, green: 0 }, steps: [10, 100], windows: SAT, watchMs: 6000, keepWarmMs: 2000 });
        assert.deepStrictEqual([p.windows, p.watchMs, p.keepWarmMs], [SAT, 6000, 2000]);
        const cp = start(p, { blue: 100, green: 0 }, "c1", IN).checkpoint;
        assert.deepStrictEqual([cp.windows, cp.watchMs, cp.keepWarmMs], [SAT, 6000, 2000]);
        const back = planOf(cp);
        assert.deepStrictEqual([back.windows, back.watchMs, back.keepWarmMs], [SAT, 6000, 2000]);
    });

    it("pauses at the next step boundary once its window has closed, and names the window", () => {
        // Every input a minute later, from 04:58: the window closes at 05:00, during step 1.
        const t0 = "2026-12-05T04:58:00.000Z";
        const { t, events } = run(plan({ windows: SAT }), [ok()], (i) => plus(t0, i * 60_000));
        assert.strictEqual(t.checkpoint.phase, "paused");
        assert.strictEqual(t.checkpoint.step, 0, "stopped after step 1 passed, before step 2");
        assert.match(t.checkpoint.reason!, /the rollout window closed \(Sat 02:00-05:00 UTC\)/);
        assert.ok(events.includes("paused"));
        const paused = t.events.find((e) => e.type === "paused")!;
        assert.match(formatEvent(paused)!, /paused at step 1.*rollout window closed/);
        // Resumed (the caller refuses it outside a window unless --force): the next step, reason cleared.
        const r = resume(t.checkpoint, planOf(t.checkpoint), "2026-12-12T02:30:00.000Z");
        assert.deepStrictEqual([r.action.kind, r.checkpoint.step, r.checkpoint.reason], ["apply", 1, undefined]);
    });

    it("runs to the end inside its window, and any time without windows", () => {
        const table: [readonly string[] | undefined, string, string][] = [
            [SAT, IN, "promoted"],
            [undefined, "2026-11-30T14:00:00.000Z", "promoted"],
            [["daily 00:00-24:00"], "2026-11-30T14:00:00.000Z", "promoted"],
        ];
        for (const [windows, at, phase] of table) {
            const { t } = run(plan(windows ? { windows } : {}), [ok()], () => at);
            assert.strictEqual(t.checkpoint.phase, phase, String(windows));
        }
        assert.strictEqual(windowClosed({ windows: SAT }, IN), undefined);
        assert.match(windowClosed({ windows: SAT }, "2026-11-30T14:00:00.000Z")!, /closed/);
    });

    it("names the next opening when it pauses, and pauses only at a boundary: the step under way when the window closes finishes first", () => {
        // Inputs a minute apart from 04:59: the window closes during step 1's window; step 1 passes, then the pause.
        const t0 = "2026-12-05T04:59:00.000Z";
        const { t, events } = run(plan({ windows: SAT }), [ok()], (i) => plus(t0, i * 60_000));
        assert.deepStrictEqual(events, ["started", "step", "applied", "sample", "verdict", "paused"]);
        assert.deepStrictEqual([t.checkpoint.step, t.checkpoint.weights], [0, { blue: 90, green: 10 }], "at step 1's weights, nothing half-done");
        // Paused at 05:01 on Saturday: the next opening is the Saturday after.
        assert.match(t.checkpoint.reason!, /the next one opens Sat 2026-12-12 02:00–05:00 UTC \(in 6 d 20 h\)/);
        assert.match(windowClosed({ windows: ["daily 10:00-10:30 UTC"] }, "2026-11-30T14:00:00.000Z")!, /next one opens Tue 2026-12-01 10:00–10:30 UTC \(in 20 h 0 min\)/);
    });

    it("a cutover forced outside its windows (--force) runs to its end; a paused one resumed with --force goes on to the end", () => {
        const out = "2026-11-30T14:00:00.000Z";
        const p = plan({ windows: SAT, steps: [10, 25, 50, 100] });
        const clock = (i: number) => plus(out, i * 1000);
        // Not forced: it stops at the first boundary.
        assert.strictEqual(run(p, [ok()], clock).t.checkpoint.phase, "paused");
        // Forced: the waiver is in the checkpoint, no pause at any boundary.
        const forced = forcedOutsideWindows(start(p, { blue: 100, green: 0 }, "c1", out), out);
        const { t } = run(p, [ok()], clock, forced);
        assert.deepStrictEqual([t.checkpoint.phase, t.checkpoint.windowsForced], ["promoted", out]);
        assert.strictEqual(windowClosed(t.checkpoint, out), undefined);
        // Paused by the window's closing, then resumed with --force: the remaining steps, no second pause.
        const paused = run(p, [ok()], clock).t.checkpoint;
        const later = plus(out, 3_600_000);
        const r = forcedOutsideWindows(resume(paused, planOf(paused), later), later);
        const end = run(planOf(paused), [ok()], (i) => plus(later, i * 1000), r);
        assert.strictEqual(end.t.checkpoint.phase, "promoted");
        assert.ok(!end.events.includes("paused"), end.events.join(","));
        // Resumed without --force (inside the next window): it still pauses when that one closes.
        const resumedIn = resume(paused, planOf(paused), "2026-12-05T04:58:00.000Z");
        assert.strictEqual(resumedIn.checkpoint.windowsForced, undefined);
        const again = run(planOf(paused), [ok()], (i) => plus("2026-12-05T04:58:00.000Z", i * 60_000), resumedIn);
        assert.strictEqual(again.t.checkpoint.phase, "paused");
        assert.strictEqual(again.t.checkpoint.step, 1);
    });
});

describe("cutover core: the watch after promotion", () => {
    const clock = (i: number) => plus(IN, i * 1000);

    it("keeps judging the new color until the watch's end, then promotes with the keep-warm deadline", () => {
        const { t, events } = run(plan({ watchMs: 6000, keepWarmMs: 2000 }), [ok()], clock);
        assert.strictEqual(t.checkpoint.phase, "promoted");
        const watching = events.indexOf("watching");
        assert.ok(watching > 0, events.join(","));
        // After watching: windows judged until the end (inputs a second apart, 6 s).
        const verdictsAfter = events.slice(watching).filter((e) => e === "verdict").length;
        assert.ok(verdictsAfter >= 5 && verdictsAfter <= 7, `${verdictsAfter} windows in the watch`);
        const until = t.checkpoint.watchUntil!;
        assert.strictEqual(t.checkpoint.scaleDownAt, plus(until, 2000), "keep-warm counts from the watch's end");
        assert.strictEqual(scaleDownDue(t.checkpoint, until), false);
        assert.strictEqual(scaleDownDue(t.checkpoint, plus(until, 2000)), true);
        assert.strictEqual(scaleDownDue({ ...t.checkpoint, scaledDown: plus(until, 2500) }, plus(until, 3000)), false);
    });

    it("reverts at once on a breach during the watch", () => {
        // Steps pass (3 windows), then the watch: its second window fails.
        const samples = [ok(), ok(), ok(), ok(), bad()];
        const { t, events } = run(plan({ watchMs: 60_000 }), samples, clock);
        assert.strictEqual(t.checkpoint.phase, "reverted");
        assert.match(t.checkpoint.reason!, /gate failed during the watch after 100%/);
        assert.deepStrictEqual(t.checkpoint.weights, { blue: 100, green: 0 });
        assert.ok(events.indexOf("watching") < events.indexOf("revert"));
        assert.strictEqual(t.checkpoint.scaleDownAt, undefined);
    });

    it("a quiet window during the watch is no breach; a plan without a watch is promoted at 100% with its deadline", () => {
        const { t } = run(plan({ watchMs: 3000 }), [ok(), ok(), ok(), ok(0)], clock);
        assert.strictEqual(t.checkpoint.phase, "promoted");
        const now = run(plan({ keepWarmMs: 3_600_000 }), [ok()], () => IN).t.checkpoint;
        assert.deepStrictEqual([now.phase, now.scaleDownAt, now.watchUntil], ["promoted", plus(IN, 3_600_000), undefined]);
    });

    it("a watch cut short is resumed to its end, or ends at once when its end has passed; a revert during it goes back", () => {
        const p = plan({ watchMs: 10_000, keepWarmMs: 1000 });
        // Run until the watch starts.
        let t = start(p, { blue: 100, green: 0 }, "c1", IN);
        let n = 0;
        while (t.checkpoint.phase !== "watching") {
            const a = t.action;
            t = advance(t.checkpoint, p, a.kind === "apply" ? { kind: "applied", served: a.weights } : { kind: "sampled", sample: ok() }, clock(++n));
        }
        const killed: Checkpoint = t.checkpoint;
        const table: [string, string, string][] = [
            [plus(killed.watchUntil!, -5000), "observe", "watching"],
            [plus(killed.watchUntil!, 1000), "done", "promoted"],
        ];
        for (const [at, action, phase] of table) {
            const r = resume(killed, planOf(killed), at);
            assert.deepStrictEqual([r.action.kind, r.checkpoint.phase], [action, phase], at);
            assert.strictEqual(r.events[0].type, "resumed");
        }
        const r = resume(killed, planOf(killed), plus(killed.watchUntil!, 1000));
        assert.strictEqual(r.checkpoint.scaleDownAt, plus(killed.watchUntil!, 1000), "keep-warm counts from the watch's recorded end");
        const back = operatorRevert(killed.weights, killed, "c2", clock(99));
        assert.deepStrictEqual([back.action.kind, back.checkpoint.phase], ["revert", "reverting"]);
        if (back.action.kind === "revert") assert.deepStrictEqual(back.action.weights, { blue: 100, green: 0 });
    });

    it("formats the watch and the scale events for the terminal and Slack", () => {
        const w = formatEvent({ type: "watching", at: IN, color: "green", until: plus(IN, 6000) })!;
        assert.match(w, /watching green until 2026-12-05T03:00:06.000Z/);
        assert.match(slackBody("prod", { type: "scaled", at: IN, color: "blue", direction: "down", tookMs: 900 })!.text, /\*prod\* switchyard: .*blue scaled down/);
        assert.match(formatEvent({ type: "scaled", at: IN, color: "blue", direction: "up", tookMs: 2500 })!, /blue brought back up and healthy in 2.5 s/);
        const printed = formatPlan(plan({ windows: SAT, watchMs: 1_800_000, keepWarmMs: 3_600_000 }));
        assert.match(printed, /4\. watch green at 100% for 30m, blue warm; a breach reverts\n  5\. keep blue warm 1h more/);
        assert.match(printed, /rollout windows: Sat 02:00-05:00 UTC/);
    });
});
