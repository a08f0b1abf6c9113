/**
 * Flag steps, the pure part: parsing (`--steps`, `switchyard:cutover.steps`), plans, the core's
 * transitions (flag set, read back, judged; on revert, flags off first) and the driver over an
 * in-memory port, with no process, clock or network.
 */
import * as assert from "assert";
import { advance, formatSteps, makePlan, operatorRevert, planOf, plannedSteps, resume, start, Transition } from "./core";
import { checkFlagSteps, flagsOn, nopFlags, parseFlagStep } from "./flags";
import { checkCutoverFlags, parseStepsFlag, validateRequest } from "./options";
import { drive } from "./run";
import { formatEvent } from "./display";
import { Checkpoint, CutoverEvent, CutoverPort, DEFAULT_GATE, FlagStage, Sample, TrafficWeights, Watch } from "./types";

const T0 = "2026-11-30T10:00:00Z";
const CURRENT = { blue: 100, green: 0 };
const ok = (color: "blue" | "green" = "green", requests = 100, errors = 0): Sample => ({ color, requests, errors, healthy: true, windowMs: 5000 });

describe("flag steps: parsing", () => {
    it("reads flag steps among weights from --steps", () => {
        assert.deepStrictEqual(parseStepsFlag("flag:new-checkout=internal,flag:new-checkout=10,flag:new-checkout=50,100"), [
            { flag: "new-checkout", stage: "internal" },
            { flag: "new-checkout", stage: 10 },
            { flag: "new-checkout", stage: 50 },
            100,
        ]);
        assert.deepStrictEqual(parseStepsFlag("10,flag:a.b_c=100,100"), [10, { flag: "a.b_c", stage: 100 }, 100]);
        // Weights alone are as before.
        assert.deepStrictEqual(parseStepsFlag("10,50,100"), [10, 50, 100]);
    });

    const refused: [string, RegExp][] = [
        ["flag:=10,100", /element 1 of 2 \("flag:=10"\): it names no flag/],
        ["flag:x=10.5,100", /"10\.5" of flag x is not a whole percent/],
        ["flag:x=,100", /gives flag x no stage/],
        ["flag:x,100", /names no stage/],
        ["flag:x=010,100", /leading zero/],
        ["flag:x=10%,100", /"10%" of flag x is not internal or a whole percent/],
        ["flag:x=101,100", /not internal or a whole percent from 1 to 100/],
        ["flag:x=0,100", /"0" of flag x is not internal or a whole percent/],
        ["flag:x=off,100", /never sets a flag off/],
        ["flag:x=50,flag:x=10,100", /flag:x=10 does not rise above the flag's step before it \(50\)/],
        ["flag:x=10,flag:x=internal,100", /flag:x=internal does not rise/],
        ["flag:x=10,flag:x=10,100", /flag:x=10 does not rise/],
        ["flag:x=10,50", /end at 50/],
        ["flag:x=10,,100", /element 2 of 3 is empty \(two commas in a row\)/],
        ["flag:x=10, 100", /whitespace/],
        ["flag:-x=10,100", /flag name "-x" is not a flag key/],
        ["flag:x=10,1e2", /element 2 of 2 \("1e2"\) is neither a whole percent nor a flag step/],
    ];
    for (const [text, re] of refused) {
        it(`refuses ${JSON.stringify(text)}, naming --steps and the value`, () => {
            assert.throws(
                () => parseStepsFlag(text),
                (e: Error) => e.name === "UserError" && e.message.startsWith(`--steps is ${JSON.stringify(text)}`) && re.test(e.message),
            );
        });
    }

    it("a flag step alone parses, or says what is wrong", () => {
        assert.deepStrictEqual(parseFlagStep("flag:x=internal"), { flag: "x", stage: "internal" });
        assert.match(parseFlagStep("flags:x=1") as string, /starts with flag:/);
    });

    it("refuses a flag the stack does not declare, naming it and the declared ones", () => {
        assert.match(checkFlagSteps([{ flag: "nope", stage: 10 }], ["new-checkout"]) ?? "", /names flag "nope", which switchyard:flags does not declare \(the stack declares new-checkout\)/);
        assert.throws(
            () => makePlan({ current: CURRENT, steps: [{ flag: "nope", stage: 10 }, 100], flagNames: [] }),
            /flag:nope=10 names flag "nope", which switchyard:flags does not declare \(the stack declares no flags\)/,
        );
    });

    it("reads switchyard:cutover.steps: weights, flag:<name>=<stage> strings and { flag, stage }", () => {
        assert.deepStrictEqual(plannedSteps(["flag:f=internal", { flag: "f", stage: 10 }, 100]), [{ flag: "f", stage: "internal" }, { flag: "f", stage: 10 }, 100]);
        assert.throws(() => plannedSteps(["flag:f=10.5", 100]), /switchyard:cutover\.steps: step 1 \("flag:f=10\.5"\): the stage "10\.5" of flag f is not a whole percent/);
        assert.throws(() => plannedSteps([true, 100]), /switchyard:cutover\.steps: step 1 \(true\)/);
    });

    it("a library request's flag steps are checked before anything is read", () => {
        validateRequest({ stackName: "s" }, { steps: [{ flag: "f", stage: "internal" }, { flag: "f", stage: 10 }, 100] });
        assert.throws(() => validateRequest({ stackName: "s" }, { steps: [{ flag: "f", stage: 10 }, { flag: "f", stage: 5 }, 100] }), /steps is .*flag:f=5 does not rise/);
        assert.throws(() => validateRequest({ stackName: "s" }, { steps: [{ flag: "f", stage: 10.5 as FlagStage }, 100] }), /steps is .*10\.5/);
        // --pause-at still names a weight step, not a flag step.
        assert.throws(() => checkCutoverFlags({ steps: [{ flag: "f", stage: 10 }, 100], pauseAt: [10] }), /--pause-at is "10": 10 is not a step of the plan \(100\)/);
    });
});

describe("flag steps: plan and core", () => {
    const steps = [{ flag: "f", stage: "internal" as const }, { flag: "f", stage: 10 }, 50, { flag: "f", stage: 50 }, 100];
    const plan = makePlan({ current: CURRENT, steps, pretest: false, backup: false, flagNames: ["f"] });

    it("a plan keeps flag steps at the weight standing before them", () => {
        assert.deepStrictEqual(plan.steps, [0, 0, 50, 50, 100]);
        assert.deepStrictEqual(plan.flagSteps, { 0: { flag: "f", stage: "internal" }, 1: { flag: "f", stage: 10 }, 3: { flag: "f", stage: 50 } });
        // Weight steps already done are dropped; flag steps stay, at the weight standing.
        const later = makePlan({ current: { blue: 50, green: 50 }, steps, pretest: false, backup: false, flagNames: ["f"] });
        assert.deepStrictEqual(later.steps, [50, 50, 50, 100]);
        assert.deepStrictEqual(Object.values(later.flagSteps ?? {}).map((f) => f.stage), ["internal", 10, 50]);
    });

    /** Runs the machine: flags read back as set, weights as asked, samples as given. */
    function run(samples: Sample[], served: (flag: string, stage: FlagStage) => FlagStage | undefined = (_f, s) => s): { t: Transition; actions: string[] } {
        let t = start(plan, CURRENT, "c1", T0);
        const actions: string[] = [];
        let i = 0;
        for (let guard = 0; t.action.kind !== "done"; guard++) {
            assert.ok(guard < 100);
            const a = t.action;
            if (a.kind === "flag") {
                actions.push(`flag ${a.flag}=${a.stage}`);
                t = advance(t.checkpoint, plan, { kind: "flagSet", served: served(a.flag, a.stage) }, T0);
            } else if (a.kind === "apply") {
                actions.push(`apply ${a.weights.green}`);
                t = advance(t.checkpoint, plan, { kind: "applied", served: a.weights }, T0);
            } else if (a.kind === "revert") {
                actions.push(`revert${a.flagsOff ? ` flags off ${a.flagsOff.join(",")}` : ""}`);
                t = advance(t.checkpoint, plan, { kind: "applied", served: a.weights }, T0);
            } else if (a.kind === "observe") {
                actions.push(`observe${a.flag ? ` flag ${a.flag}` : ""}`);
                t = advance(t.checkpoint, plan, { kind: "sampled", sample: samples[Math.min(i++, samples.length - 1)] }, T0);
            } else {
                throw new Error(a.kind);
            }
        }
        return { t, actions };
    }

    it("sets each flag step's stage, judges the flagged requests, and promotes", () => {
        const { t, actions } = run([ok()]);
        assert.deepStrictEqual(actions, ["flag f=internal", "observe flag f", "flag f=10", "observe flag f", "apply 50", "observe", "flag f=50", "observe flag f", "apply 100", "observe"]);
        assert.strictEqual(t.checkpoint.phase, "promoted");
        assert.deepStrictEqual(t.checkpoint.flags, { f: 50 });
    });

    it("a breach at a flag step reverts: the flag off first, then the weights", () => {
        const { t, actions } = run([ok(), ok("green", 400, 80)]);
        assert.deepStrictEqual(actions, ["flag f=internal", "observe flag f", "flag f=10", "observe flag f", "revert flags off f"]);
        assert.strictEqual(t.checkpoint.phase, "reverted");
        assert.deepStrictEqual(t.checkpoint.flags, { f: "off" });
        assert.match(t.checkpoint.reason ?? "", /^gate failed at flag:f=10: /);
    });

    it("a flag file that serves another stage reverts, naming it", () => {
        const { t, actions } = run([ok()], (_f, s) => (s === 10 ? "internal" : s));
        assert.deepStrictEqual(actions.slice(-1), ["revert flags off f"]);
        assert.match(t.checkpoint.reason ?? "", /flag:f=10 was set, but the flag file serves it at internal/);
    });

    it("resume after a kill mid flag step sets the flag's stage again; revert turns it off", () => {
        const t1 = start(plan, CURRENT, "c1", T0);
        const o1 = advance(t1.checkpoint, plan, { kind: "flagSet", served: "internal" }, T0);
        const t2 = advance(o1.checkpoint, plan, { kind: "sampled", sample: ok() }, T0);
        assert.strictEqual(t2.action.kind, "flag");
        // Killed here: the intent holds t2's checkpoint (step 1, flags f=10).
        const cp = t2.checkpoint;
        const r = resume(cp, planOf(cp), T0);
        assert.deepStrictEqual(r.action, { kind: "flag", flag: "f", stage: 10, step: 1 });
        const back = operatorRevert(cp.weights, cp, "r1", T0);
        assert.deepStrictEqual(back.action, { kind: "revert", weights: { blue: 100, green: 0 }, reason: "revert asked for by the operator", flagsOff: ["f"] });
        assert.deepStrictEqual(back.checkpoint.flags, { f: "off" });
        // A revert cut short is taken up again with the flag off again.
        const again = resume(back.checkpoint, planOf(back.checkpoint), T0);
        assert.deepStrictEqual(again.action.kind === "revert" && again.action.flagsOff, ["f"]);
        // ... and by `switchyard revert` too: the checkpoint already says off, config and state may not.
        const other = operatorRevert(cp.weights, back.checkpoint, "r2", T0);
        assert.deepStrictEqual(other.action.kind === "revert" && other.action.flagsOff, ["f"]);
    });

    it("an old checkpoint (weights only, no flag fields) still resumes and reverts", () => {
        const old = JSON.parse(
            '{"id":"c0","from":"blue","to":"green","steps":[10,50,100],"step":1,"phase":"observing","failures":0,"inconclusive":0,"passes":0,"weights":{"blue":50,"green":50},"startedAt":"x","updatedAt":"x"}',
        ) as Checkpoint;
        assert.deepStrictEqual(resume(old, planOf(old), T0).action, { kind: "apply", weights: { blue: 50, green: 50 }, step: 1 });
        assert.deepStrictEqual(operatorRevert(old.weights, old, "r", T0).action, { kind: "revert", weights: { blue: 100, green: 0 }, reason: "revert asked for by the operator" });
    });

    it("a revert after promotion turns the flags the cutover set off", () => {
        const { t } = run([ok()]);
        const back = operatorRevert({ blue: 0, green: 100 }, t.checkpoint, "r", T0);
        assert.deepStrictEqual(back.action.kind === "revert" && back.action.flagsOff, ["f"]);
        assert.deepStrictEqual(flagsOn({ a: "off", b: 10, c: "internal" }), ["b", "c"]);
    });
});

/** An in-memory port: weights and flags set at once, an `up` that records, a watch that reads given samples. */
function memoryPort(samples: (flag: string | undefined) => Sample): CutoverPort & { log: string[]; flagsNow: Record<string, FlagStage> } {
    const flags = nopFlags();
    let weights: TrafficWeights = { ...CURRENT };
    const log: string[] = [];
    return {
        platform: "memory",
        log,
        flagsNow: flags.stages,
        flags: {
            setNow: async (f, s) => {
                log.push(`flag ${f}=${s}`);
                await flags.setNow(f, s);
            },
            served: (f) => flags.served(f),
        },
        readState: async () => ({ weights }),
        recordIntent: async (i) => void log.push(`intent ${i.action}${i.flag ? ` ${i.flag.flag}=${i.flag.stage}` : ""}`),
        apply: async (w, _cp, f) => {
            weights = w;
            log.push(`up ${w.green}${f ? ` ${Object.entries(f).map(([k, v]) => `${k}=${v}`).join(",")}` : ""}`);
        },
        applyNow: async (w) => {
            weights = w;
            log.push(`router ${w.green}`);
        },
        record: async () => undefined,
        servedWeights: async () => weights,
        sample: async () => samples(undefined),
        watch: async (_c, _g, flag): Promise<Watch> => ({ read: async () => samples(flag), close: async () => undefined }),
        pretest: async () => ok(),
        backup: async () => "b",
    };
}

describe("flag steps: the driver", () => {
    const gate = { ...DEFAULT_GATE, intervalMs: 40, tickMs: 10, minRequests: 1 };

    it("records the intent, sets the flag and reads it back, then records it through `up`", async () => {
        const port = memoryPort(() => ok());
        const plan = makePlan({ current: CURRENT, steps: [{ flag: "f", stage: "internal" }, { flag: "f", stage: 10 }, 100], pretest: false, backup: false, gate, flagNames: ["f"] });
        const events: CutoverEvent[] = [];
        const cp = await drive(port, plan, start(plan, CURRENT, "c1", T0), { onEvent: (e) => events.push(e) });
        assert.strictEqual(cp.phase, "promoted");
        assert.deepStrictEqual(port.log, ["intent flag f=internal", "flag f=internal", "up 0 f=internal", "intent flag f=10", "flag f=10", "up 0 f=10", "intent apply", "router 100", "up 100"]);
        assert.deepStrictEqual(
            events.filter((e) => e.type === "flag").map((e) => e.type === "flag" && [e.flag, e.served]),
            [["f", "internal"], ["f", 10]],
        );
    });

    it("a breach on the flagged requests turns the flag off before the weights move", async () => {
        // Flagged requests fail; unflagged ones would pass.
        const port = memoryPort((flag) => (flag ? ok("green", 400, 200) : ok()));
        const plan = makePlan({ current: { blue: 50, green: 50 }, steps: [{ flag: "f", stage: 10 }, 100], pretest: false, backup: false, gate, flagNames: ["f"] });
        const cp = await drive(port, plan, start(plan, { blue: 50, green: 50 }, "c1", T0));
        assert.strictEqual(cp.phase, "reverted");
        assert.deepStrictEqual(port.flagsNow, { f: "off" });
        const off = port.log.indexOf("flag f=off");
        assert.ok(off > 0 && off < port.log.indexOf("router 0"), port.log.join(" | "));
        assert.deepStrictEqual(port.log.slice(-1), ["up 0 f=off"]);
    });

    it("a flag step's `up` still running when the gate halts cannot leave the flag on: the revert holds it off", async () => {
        // The step's `up` writes the step's stage into the flag file 150 ms after it starts (as the
        // stack's file resource does), after the revert has set it off.
        const port = memoryPort((flag) => (flag ? ok("green", 400, 200) : ok()));
        const timeline: [number, FlagStage][] = [];
        const t0 = performance.now();
        const set = port.flags!.setNow;
        const flags = { ...port.flags!, holdPollMs: 5, setNow: async (f: string, s: FlagStage) => (timeline.push([performance.now() - t0, s]), set(f, s)) };
        const slowUp: CutoverPort = {
            ...port,
            flags,
            apply: async (w, cp, f) => {
                if (f && f.f !== "off") {
                    await new Promise((r) => setTimeout(r, 150));
                    port.flagsNow.f = f.f;
                    timeline.push([performance.now() - t0, f.f]);
                    await new Promise((r) => setTimeout(r, 100));
                }
                await port.apply(w, cp, f);
            },
        };
        const plan = makePlan({ current: CURRENT, steps: [{ flag: "f", stage: 10 }, 100], pretest: false, backup: false, gate: { ...gate, intervalMs: 1000 }, flagNames: ["f"] });
        const cp = await drive(slowUp, plan, start(plan, CURRENT, "c1", T0));
        assert.strictEqual(cp.phase, "reverted");
        assert.strictEqual(port.flagsNow.f, "off");
        // The rewrite to 10 by the step's `up` is undone within a few polls.
        const rewrite = timeline.findIndex(([, s], i) => i > 1 && s === 10);
        assert.ok(rewrite > 0, JSON.stringify(timeline));
        const undone = timeline.slice(rewrite).find(([, s]) => s === "off");
        assert.ok(undone && undone[0] - timeline[rewrite][0] < 60, JSON.stringify(timeline));
    });

    it("a platform without a flags port refuses the flag step before traffic moves, and fails", async () => {
        const port = { ...memoryPort(() => ok()), flags: undefined };
        const plan = makePlan({ current: CURRENT, steps: [{ flag: "f", stage: 10 }, 100], pretest: false, backup: false, gate });
        const cp = await drive(port, plan, start(plan, CURRENT, "c1", T0));
        assert.strictEqual(cp.phase, "reverted");
        assert.match(cp.reason ?? "", /the memory platform runs no flag steps/);
    });
});

describe("flag steps: display", () => {
    it("shows a plan's flag steps as written", () => {
        const plan = makePlan({ current: CURRENT, steps: [{ flag: "f", stage: "internal" }, { flag: "f", stage: 10 }, 100], flagNames: ["f"] });
        assert.strictEqual(formatSteps(plan), "flag:f=internal, flag:f=10, 100");
        const started = start(plan, CURRENT, "c", T0).events[0];
        assert.match(formatEvent(started) ?? "", /cutover blue → green in steps flag:f=internal, flag:f=10, 100$/);
        assert.match(formatEvent({ type: "flag", at: T0, flag: "f", stage: "off", served: "off" }) ?? "", /flag f set off: served off$/);
    });
});
