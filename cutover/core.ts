/**
 * The cutover as a pure state machine: plan → steps → verdicts → promote or revert.
 *
 * Every function here is plain: given a checkpoint and what the driver saw, it returns the next
 * checkpoint, the next action and the events to emit. Time comes in as an argument (`now`, an ISO
 * string); nothing here touches a process, a clock or the network.
 */
import { checkStepPlan, checkTraffic, COLORS, idleColor, liveColor, otherColor } from "../components/types";
import {
    Action,
    Checkpoint,
    Color,
    CutoverEvent,
    CutoverPlan,
    DEFAULT_GATE,
    FINAL_PHASES,
    GateSpec,
    Input,
    MigrateStep,
    Sample,
    TrafficWeights,
    Verdict,
} from "./types";
import { breachEvidence } from "./sequential";
import { pointOfNoReturn } from "./migrationsPlan";
import { checkFlagSteps, FlagStep, flagsOn, formatFlagStep, isFlagStep, StepSpec, stepFromConfig } from "./flags";
import { after, formatDuration, windowsOf } from "./watch";
import { describeOpening, nextOpening, openingAt } from "./windows";
import { checkReplicatedSteps } from "../components/local/ops/replicationPlan";
import { checkRdsBlueGreenSteps, RDS_BLUE_GREEN } from "./rdsSwitchPlan";

/** A plan or gate the user asked for cannot be carried out; the message says why and what to do. */
export class CutoverError extends Error {
    constructor(message: string) {
        super(message);
        this.name = "CutoverError";
    }
}

/** Well-known step plans, after the CodeDeploy presets users already know. */
export const PRESETS: Readonly<Record<string, number[]>> = {
    "canary-10": [10, 100],
    "linear-10": [10, 20, 30, 40, 50, 60, 70, 80, 90, 100],
    "linear-25": [25, 50, 75, 100],
    "all-at-once": [100],
};

/** The weights with `to` at `w` and the other color at 100 - w. */
export function weightsFor(to: Color, w: number): TrafficWeights {
    return to === "green" ? { blue: 100 - w, green: w } : { blue: w, green: 100 - w };
}

/** The weights with all traffic on one color. */
export const allOn = (c: Color): TrafficWeights => weightsFor(c, 100);

/** Equal weights, color by color. */
export function sameWeights(a: TrafficWeights, b: TrafficWeights): boolean {
    return COLORS.every((c) => a[c] === b[c]);
}

/** Same split of traffic, even when the router scales weights (90/10 serves like 9/1). */
export function sameSplit(a: TrafficWeights, b: TrafficWeights): boolean {
    return a.blue * b.green === a.green * b.blue && (a.blue + a.green > 0) === (b.blue + b.green > 0);
}

export const formatWeights = (w: TrafficWeights): string => `blue ${w.blue} / green ${w.green}`;

/** Checks a gate's numbers; returns a message or undefined. */
export function checkGate(g: GateSpec): string | undefined {
    if (!(g.minSuccessRate >= 0 && g.minSuccessRate <= 1)) {
        return `minimum success rate is ${g.minSuccessRate}: give a share from 0 to 1 (0.99 is 99%)`;
    }
    if (!(g.maxLatencyMs > 0)) {
        return `maximum latency is ${g.maxLatencyMs} ms: give a positive number of milliseconds`;
    }
    if (!(g.latencyPercentile >= 50 && g.latencyPercentile <= 99.9)) {
        return `latency percentile is ${g.latencyPercentile}: give a percentile from 50 to 99.9 (95 or 99 are usual)`;
    }
    if (!(g.falseAlarmRate > 0 && g.falseAlarmRate <= 0.1)) {
        return `false-alarm rate is ${g.falseAlarmRate}: give a chance above 0 and at most 0.1 (0.001 is one window in a thousand)`;
    }
    for (const k of ["minRequests", "intervalMs", "failureLimit", "inconclusiveLimit", "windowsPerStep"] as const) {
        const v = g[k];
        const floor = k === "minRequests" ? 0 : 1;
        if (!Number.isInteger(v) || v < floor) {
            return `gate ${k} is ${v}: it must be an integer of at least ${floor}`;
        }
    }
    if (!Number.isInteger(g.tickMs) || g.tickMs < 10) {
        return `gate tickMs is ${g.tickMs}: it must be an integer of at least 10 ms (a window shorter than the tick is read once, at its end)`;
    }
    return undefined;
}

export interface PlanRequest {
    /** The weights in stack state now. */
    readonly current: TrafficWeights;
    /** The color to move traffic to. @default the idle color */
    readonly to?: Color;
    /**
     * Weights of `to`, step by step, and flag steps among them (`{ flag: "new-checkout", stage: 10 }`);
     * or a preset's name.
     * @default the stack's `switchyard:cutover.steps`, else "linear-25"
     * @example [{ flag: "new-checkout", stage: "internal" }, { flag: "new-checkout", stage: 10 }, 100]
     */
    readonly steps?: readonly StepSpec[] | string;
    /**
     * The flags the stack declares (`switchyard:flags`): a flag step naming any other is refused.
     * @default undefined (not checked)
     */
    readonly flagNames?: readonly string[];
    /** Largest jump between two steps. @default 100 */
    readonly maxStep?: number;
    readonly gate?: Partial<GateSpec>;
    /** @default true */
    readonly pretest?: boolean;
    /** @default true */
    readonly backup?: boolean;
    /** Weights of the new color to pause at (each one of the steps, below 100). @default [] */
    readonly pauseAt?: number[];
    /**
     * A migrate step after the backup (`--migrate`): the pending migrations and what each one's
     * backward migration would drop, which names the point of no return (`migrationsPlan.ts`).
     * @default undefined (no migrate step)
     */
    readonly migrate?: { readonly pending: readonly string[]; readonly downs: readonly { id: string; drops: readonly string[] }[] };
    /** Rollout windows as declared (`switchyard:cutover.window`), checked already. @default [] */
    readonly windows?: readonly string[];
    /** The watch after 100%, in milliseconds. @default 0 */
    readonly watchMs?: number;
    /** The keep-warm time after the watch, in milliseconds. @default undefined */
    readonly keepWarmMs?: number;
    /**
     * The pair's database mode (its `databaseMode` output). `replicated`: the cutover is one
     * switchover step (`switchStep.ts`); a gradual shift is refused, and the steps default to [100].
     * `rds-blue-green` (an AWS pair with an RDS blue/green deployment, `rdsSwitch.ts`): the same.
     * @default undefined (one shared database)
     */
    readonly databaseMode?: string;
}

/**
 * Validates a request into a plan. Steps at or below the new color's current weight are already
 * done and are dropped, so a plan can pick up where traffic stands.
 */
export function makePlan(req: PlanRequest): CutoverPlan {
    const bad = checkTraffic(req.current);
    if (bad) {
        throw new CutoverError(`the stack's weights are not valid: ${bad}`);
    }
    const to = req.to ?? idleColor(req.current);
    if (!(COLORS as readonly string[]).includes(to)) {
        throw new CutoverError(`cannot cut over to ${JSON.stringify(to)}: use blue or green`);
    }
    const from = otherColor(to);
    let given: readonly StepSpec[];
    if (typeof req.steps === "string") {
        const preset = PRESETS[req.steps];
        if (!preset) {
            throw new CutoverError(`no step preset named "${req.steps}": use one of ${Object.keys(PRESETS).join(", ")}, or a list such as 10,25,50,100`);
        }
        given = preset;
    } else {
        given = req.steps ?? (req.databaseMode === "replicated" || req.databaseMode === RDS_BLUE_GREEN ? PRESETS["all-at-once"] : PRESETS["linear-25"]);
    }
    const steps = given.filter((s): s is number => !isFlagStep(s));
    const flags = given.filter(isFlagStep);
    const problem = checkStepPlan(steps, req.maxStep ?? 100) ?? checkFlagSteps(flags, req.flagNames);
    if (problem) {
        throw new CutoverError(problem);
    }
    const split = req.databaseMode === "replicated" ? checkReplicatedSteps(steps) : req.databaseMode === RDS_BLUE_GREEN ? checkRdsBlueGreenSteps(steps) : undefined;
    if (split) {
        throw new CutoverError(split);
    }
    if (req.current[to] === 100 && req.current[from] === 0) {
        throw new CutoverError(`${to} already receives all traffic (${formatWeights(req.current)}): nothing to cut over`);
    }
    const gate: GateSpec = { ...DEFAULT_GATE, ...stripUndefined(req.gate ?? {}) };
    const gateProblem = checkGate(gate);
    if (gateProblem) {
        throw new CutoverError(gateProblem);
    }
    const pauseAt = req.pauseAt ?? [];
    const stray = pauseAt.filter((p) => !steps.includes(p) || p >= 100);
    if (stray.length > 0) {
        throw new CutoverError(`cannot pause at ${stray.join(", ")}: a pause must be one of the steps (${steps.join(", ")}) below 100`);
    }
    const currentShare = Math.round((100 * req.current[to]) / (req.current.blue + req.current.green));
    // Weight steps already done are dropped; a flag step stays, at the weight standing before it.
    const kept: number[] = [];
    const flagSteps: Record<number, FlagStep> = {};
    let standing = currentShare;
    for (const s of given) {
        if (isFlagStep(s)) {
            flagSteps[kept.length] = { flag: s.flag, stage: s.stage };
            kept.push(standing);
        } else if (s > currentShare) {
            kept.push(s);
            standing = s;
        }
    }
    return {
        from,
        to,
        steps: kept,
        ...(flags.length > 0 ? { flagSteps } : {}),
        gate,
        pretest: req.pretest ?? true,
        backup: req.backup ?? true,
        pauseAt,
        ...(req.migrate ? { migrate: migrateStep(req.migrate, kept, to) } : {}),
        ...rolloutOf(req),
    };
}

/** The rollout settings a plan or checkpoint carries, only those set. */
function rolloutOf(r: { windows?: readonly string[]; watchMs?: number; keepWarmMs?: number }): Pick<CutoverPlan, "windows" | "watchMs" | "keepWarmMs"> {
    return {
        ...(r.windows && r.windows.length > 0 ? { windows: [...r.windows] } : {}),
        ...(r.watchMs ? { watchMs: r.watchMs } : {}),
        ...(r.keepWarmMs !== undefined ? { keepWarmMs: r.keepWarmMs } : {}),
    };
}

/** A plan's migrate step: the pending migrations and its point of no return among the steps. */
function migrateStep(m: NonNullable<PlanRequest["migrate"]>, steps: readonly number[], to: Color): MigrateStep {
    const pnr = pointOfNoReturn(steps, m.downs.filter((d) => m.pending.includes(d.id)), to);
    return { pending: [...m.pending], ...(pnr ? { noReturn: pnr.step, noReturnWhy: pnr.why } : {}) };
}

/**
 * The steps `switchyard:cutover.steps` declares, read strictly: weights, and flag steps as
 * `"flag:<name>=<stage>"` or `{ flag, stage }`. Throws a CutoverError naming the key and the step.
 */
export function plannedSteps(declared: readonly unknown[] | undefined): StepSpec[] | undefined {
    return declared?.map((v, i) => {
        const s = stepFromConfig(v);
        if (typeof s === "string") {
            throw new CutoverError(`switchyard:cutover.steps: step ${i + 1} (${JSON.stringify(v)}): ${s}`);
        }
        return s;
    });
}

function stripUndefined<T extends object>(o: T): Partial<T> {
    return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}

/**
 * A failure the evidence already proves, before the window's end: the color is unhealthy, or the
 * sequential test (`sequential.ts`) finds its errors, or its requests slower than the ceiling,
 * conclusively above the gate's limit. The false-alarm rate is split between the two tests, so a
 * color that meets the gate is failed early in at most `falseAlarmRate` of its windows. Undefined
 * while the evidence is not conclusive: the window goes on.
 */
export function earlyFailure(s: Sample, g: GateSpec): Verdict | undefined {
    const reasons: string[] = [];
    if (!s.healthy) {
        reasons.push(`${s.color} fails its health check`);
    }
    const alpha = g.falseAlarmRate / 2;
    const successRate = s.requests > 0 ? (s.requests - s.errors) / s.requests : undefined;
    if (breachEvidence(s.errors, s.requests, 1 - g.minSuccessRate, alpha).conclusive) {
        reasons.push(
            `success rate ${pct(successRate as number)} < ${pct(g.minSuccessRate)} (${s.errors} of ${s.requests} requests failed; ` +
                `conclusive by the sequential test, false alarms ≤ ${fmtShare(alpha)} of windows)`,
        );
    }
    if (s.timed !== undefined && s.slow !== undefined && breachEvidence(s.slow, s.timed, 1 - g.latencyPercentile / 100, alpha).conclusive) {
        reasons.push(
            `p${g.latencyPercentile} latency > ${g.maxLatencyMs} ms (${s.slow} of ${s.timed} timed requests slower; ` +
                `conclusive by the sequential test, false alarms ≤ ${fmtShare(alpha)} of windows)`,
        );
    }
    if (reasons.length === 0) {
        return undefined;
    }
    return { outcome: "fail", successRate, reasons, ...(s.windowMs < g.intervalMs ? { early: true } : {}) };
}

/**
 * Whether a window being read at every tick ends now: on a failure the evidence proves, or once it
 * has run its full length. Pure; the driver's loop and the simulations share it.
 */
export function windowEnds(s: Sample, g: GateSpec, elapsedMs: number): boolean {
    return earlyFailure(s, g) !== undefined || elapsedMs >= g.intervalMs;
}

/**
 * The gate's verdict on a window: a failure the evidence proves (`earlyFailure`); then, over the
 * whole window, the success rate and the latency percentile (the mean where the platform measures no
 * percentile) against the gate: below it without proof is inconclusive (another window decides, as
 * with too few requests), or with `strict` (a pretest, before any live traffic) a failure; else a pass.
 */
export function judge(s: Sample, g: GateSpec, o: { readonly strict?: boolean } = {}): Verdict {
    const proven = earlyFailure(s, g);
    if (proven) {
        return proven;
    }
    const unproven: string[] = [];
    const successRate = s.requests > 0 ? (s.requests - s.errors) / s.requests : undefined;
    if (successRate !== undefined && successRate < g.minSuccessRate) {
        unproven.push(`success rate ${pct(successRate)} < ${pct(g.minSuccessRate)} (${s.errors} of ${s.requests} requests failed)`);
    }
    if (s.percentileMs !== undefined && (s.timed ?? 0) > 0) {
        if (s.percentileMs > g.maxLatencyMs) {
            unproven.push(`p${s.percentile ?? g.latencyPercentile} latency ${Math.round(s.percentileMs)} ms > ${g.maxLatencyMs} ms (${s.slow ?? "?"} of ${s.timed} timed requests slower)`);
        }
    } else if (s.latencyMs !== undefined && s.requests > 0 && s.latencyMs > g.maxLatencyMs) {
        // A mean alone (CloudWatch's TargetResponseTime) carries no evidence to wait for: it fails.
        return { outcome: "fail", successRate, reasons: [`mean latency ${Math.round(s.latencyMs)} ms > ${g.maxLatencyMs} ms (the platform measures no percentile)`] };
    }
    if (unproven.length > 0 && o.strict) {
        // A pretest: a few probes before any live traffic, where any breach stops the cutover.
        return { outcome: "fail", successRate, reasons: unproven };
    }
    if (unproven.length > 0) {
        // Below the gate over the window, but not conclusively (the sequential test above would have
        // said so): noise in a small sample is not a failure. Another window decides; a breach that
        // is real soon becomes conclusive, and `inconclusiveLimit` such windows in a row revert.
        return { outcome: "inconclusive", successRate, reasons: [...unproven.map((r) => `${r}, not conclusively`), "another window decides"] };
    }
    if (s.requests < g.minRequests) {
        return {
            outcome: "inconclusive",
            successRate,
            reasons: [`${s.requests} requests to ${s.color} in the window, fewer than the ${g.minRequests} needed to judge`],
        };
    }
    const ok = [successRate === undefined ? "healthy, no requests" : `success rate ${pct(successRate)} over ${s.requests} requests`];
    if (s.percentileMs !== undefined && (s.timed ?? 0) > 0) {
        ok.push(`p${s.percentile ?? g.latencyPercentile} latency ${Math.round(s.percentileMs)} ms`);
    }
    if (s.latencyMs !== undefined && s.requests > 0) {
        ok.push(`mean latency ${Math.round(s.latencyMs)} ms`);
    }
    return { outcome: "pass", successRate, reasons: ok };
}

const fmtShare = (x: number) => `${+(x * 100).toPrecision(3)}%`;

const pct = (x: number) => `${(Math.floor(x * 10000) / 100).toFixed(2)}%`;

/** The result of one transition. */
export interface Transition {
    readonly checkpoint: Checkpoint;
    readonly action: Action;
    readonly events: CutoverEvent[];
}

/** A new checkpoint with its counters at zero. */
function fresh(id: string, from: Color, steps: number[], step: number, phase: Checkpoint["phase"], weights: TrafficWeights, now: string): Checkpoint {
    return { id, from, to: otherColor(from), steps, step, phase, failures: 0, inconclusive: 0, passes: 0, weights, startedAt: now, updatedAt: now };
}

/** Starts a plan. `id` names the cutover (the driver makes it). */
export function start(plan: CutoverPlan, current: TrafficWeights, id: string, now: string): Transition {
    const cp: Checkpoint = {
        ...fresh(id, plan.from, plan.steps, -1, plan.pretest ? "pretest" : plan.backup ? "backup" : plan.migrate ? "migrating" : "stepping", current, now),
        ...(plan.pauseAt.length > 0 ? { pauseAt: plan.pauseAt } : {}),
        ...(plan.flagSteps ? { flagSteps: plan.flagSteps } : {}),
        ...(plan.migrate ? { migrate: plan.migrate } : {}),
        ...rolloutOf(plan),
    };
    const started: CutoverEvent = { type: "started", at: now, from: plan.from, to: plan.to, steps: plan.steps, ...(plan.flagSteps ? { flagSteps: plan.flagSteps } : {}) };
    if (plan.pretest) {
        return { checkpoint: cp, action: { kind: "pretest", color: plan.to }, events: [started] };
    }
    if (plan.backup) {
        return { checkpoint: cp, action: { kind: "backup" }, events: [started] };
    }
    const t = afterBackup(cp, now);
    return { ...t, events: [started, ...t.events] };
}

/** After pretest and backup: the migrate step, when the plan has one not run yet, else the first step. */
function afterBackup(cp: Checkpoint, now: string): Transition {
    if (cp.migrate && cp.migrate.applied === undefined) {
        return { checkpoint: { ...cp, phase: "migrating", updatedAt: now }, action: { kind: "migrate" }, events: [] };
    }
    return nextStep(cp, now);
}

/**
 * Picks a stopped cutover up from its checkpoint: the step it stood at is applied again (the weights
 * are idempotent) and judged afresh; a pretest or backup is done again.
 */
export function resume(cp: Checkpoint, plan: CutoverPlan, now: string): Transition {
    if (FINAL_PHASES.includes(cp.phase)) {
        throw new CutoverError(`cutover ${cp.id} has ended (${cp.phase}): start a new one`);
    }
    const ev: CutoverEvent = { type: "resumed", at: now, step: cp.step, phase: cp.phase };
    const base: Checkpoint = { ...cp, failures: 0, inconclusive: 0, passes: 0, updatedAt: now };
    if (cp.phase === "reverting") {
        return { checkpoint: base, action: revertAgain(cp, "revert resumed"), events: [ev] };
    }
    if (cp.phase === "pretest") {
        return { checkpoint: base, action: { kind: "pretest", color: cp.to }, events: [ev] };
    }
    if (cp.phase === "backup" && plan.backup) {
        return { checkpoint: base, action: { kind: "backup" }, events: [ev] };
    }
    if (cp.phase === "backup" || cp.phase === "migrating") {
        // The migrate step again: `up` applies what is still pending; the checkpoint's `before` says which are this cutover's.
        const t = afterBackup(base, now);
        return { ...t, events: [ev, ...t.events] };
    }
    if (cp.phase === "watching") {
        // The watch goes on to its end (or ends now, when its end has passed).
        const t = watchOn(base, plan, now);
        return { ...t, events: [ev, ...t.events] };
    }
    if (cp.phase === "paused") {
        // The paused step passed its gate: go on to the next one (a window's closing is behind it).
        const t = nextStep({ ...base, reason: undefined }, now);
        return { ...t, events: [ev, ...t.events] };
    }
    const atStep = Math.max(cp.step, 0);
    const again: Checkpoint = { ...base, phase: "stepping", step: atStep - 1 };
    const t = nextStep(again, now);
    return { ...t, events: [ev, ...t.events] };
}

/** The flag step at a step's index, if it is one. */
export function flagStepAt(cp: Pick<Checkpoint, "flagSteps">, step: number): FlagStep | undefined {
    return cp.flagSteps?.[step];
}

/**
 * A plan's steps as written: weights, and flag steps as `flag:<name>=<stage>`.
 * @example formatSteps({ steps: [0, 100], flagSteps: { 0: { flag: "f", stage: 10 } } }) // "flag:f=10, 100"
 */
export function formatSteps(p: Pick<Checkpoint, "steps" | "flagSteps">): string {
    return p.steps.map((s, i) => (p.flagSteps?.[i] ? formatFlagStep(p.flagSteps[i]) : String(s))).join(", ");
}

/** A step as an operator reads it: `green 50%`, or `flag:new-checkout=10`. */
export function describeStep(cp: Pick<Checkpoint, "flagSteps" | "steps" | "to">, step: number): string {
    const f = flagStepAt(cp, step);
    return f ? formatFlagStep(f) : `${cp.to} ${cp.steps[step]}%`;
}

/**
 * A revert under way, taken up again: all traffic on the old color, and every flag the cutover
 * touched off again (setting a flag off twice is harmless; its checkpoint already says off).
 */
function revertAgain(cp: Checkpoint, reason: string): Action {
    const touched = Object.keys(cp.flags ?? {}).sort();
    return { kind: "revert", weights: allOn(cp.from), reason: cp.reason ?? reason, ...(touched.length > 0 ? { flagsOff: touched } : {}) };
}

function nextStep(cp: Checkpoint, now: string): Transition {
    const step = cp.step + 1;
    const flag = flagStepAt(cp, step);
    if (flag) {
        // A flag step: the weights stay; the flag's stage is set and recorded.
        const next: Checkpoint = { ...cp, step, phase: "stepping", failures: 0, inconclusive: 0, passes: 0, flags: { ...cp.flags, [flag.flag]: flag.stage }, updatedAt: now };
        return {
            checkpoint: next,
            action: { kind: "flag", flag: flag.flag, stage: flag.stage, step },
            events: [{ type: "step", at: now, step: step + 1, of: cp.steps.length, weights: cp.weights, flag }],
        };
    }
    const weights = weightsFor(cp.to, cp.steps[step]);
    const next: Checkpoint = { ...cp, step, phase: "stepping", failures: 0, inconclusive: 0, passes: 0, weights, updatedAt: now };
    return {
        checkpoint: next,
        action: { kind: "apply", weights, step },
        events: [{ type: "step", at: now, step: step + 1, of: cp.steps.length, weights }],
    };
}

function revert(cp: Checkpoint, reason: string, now: string): Transition {
    const weights = allOn(cp.from);
    // A revert taken up again (`switchyard revert` after one was killed) turns off every flag the
    // cutover touched: its checkpoint says off before config and state do.
    const on = cp.phase === "reverting" ? Object.keys(cp.flags ?? {}).sort() : flagsOn(cp.flags);
    const off = on.length > 0 ? { flags: { ...cp.flags, ...Object.fromEntries(on.map((f) => [f, "off" as const])) } } : {};
    const kept = pastNoReturn(cp);
    const events: CutoverEvent[] = [{ type: "revert", at: now, reason, weights }];
    let migrate = cp.migrate;
    if (kept && migrate) {
        migrate = { ...migrate, undone: "kept" };
        events.push({ type: "migrate", at: now, stage: "kept", ids: migrate.applied ?? [], reason: kept });
    }
    return {
        checkpoint: { ...cp, ...off, ...(migrate ? { migrate } : {}), phase: "reverting", reason, weights, updatedAt: now },
        action: { kind: "revert", weights, reason, ...(on.length > 0 ? { flagsOff: on } : {}) },
        events,
    };
}

/**
 * At 100% with its gate passed: the watch, when the plan has one (the gate goes on judging the new
 * color until `watchUntil`, the old color warm), else promoted.
 */
function afterFullWeight(cp: Checkpoint, plan: CutoverPlan, now: string): Transition {
    if (!cp.watchMs) return promote(cp, now, now);
    const until = after(now, cp.watchMs);
    return {
        checkpoint: { ...cp, phase: "watching", watchUntil: until, failures: 0, inconclusive: 0, updatedAt: now },
        action: { kind: "observe", color: cp.to, windowMs: plan.gate.intervalMs },
        events: [{ type: "watching", at: now, color: cp.to, until }],
    };
}

/** During the watch: another window, or promoted once the watch has run to its end. */
function watchOn(cp: Checkpoint, plan: CutoverPlan, now: string): Transition {
    if (cp.watchUntil === undefined || Date.parse(now) >= Date.parse(cp.watchUntil)) return promote(cp, cp.watchUntil ?? now, now);
    return { checkpoint: cp, action: { kind: "observe", color: cp.to, windowMs: plan.gate.intervalMs }, events: [] };
}

/** Promoted; the old color's scale-down falls due `keepWarmMs` after `warmFrom` (the watch's end). */
function promote(cp: Checkpoint, warmFrom: string, now: string): Transition {
    return finish({ ...cp, ...(cp.keepWarmMs !== undefined ? { scaleDownAt: after(warmFrom, cp.keepWarmMs) } : {}) }, "promoted", now);
}

/**
 * Why a cutover stops at this step boundary: its rollout windows are all closed now. Undefined when
 * it has none or one is open.
 */
export function windowClosed(cp: Pick<Checkpoint, "windows" | "windowsForced">, now: string): string | undefined {
    const windows = windowsOf(cp.windows);
    const at = new Date(now);
    if (cp.windowsForced || windows.length === 0 || openingAt(windows, at)) return undefined;
    const next = nextOpening(windows, at);
    return (
        `the rollout window closed (${windows.map((w) => w.text).join("; ")}): paused at this step boundary; ` +
        `the next one opens ${next ? describeOpening(next, at) : "never"}; \`switchyard resume\` goes on then, or now with --force`
    );
}

/**
 * A cutover the operator started or resumed outside its rollout windows (`--force`): the waiver is
 * recorded in its checkpoint, and it runs on to its end without pausing at a window's closing (a
 * forced start inside a window records none: that window's end still pauses it).
 */
export function forcedOutsideWindows(t: Transition, now: string): Transition {
    return { ...t, checkpoint: { ...t.checkpoint, windowsForced: now } };
}

/**
 * Why a revert moves traffic only and leaves this cutover's migrations applied: it stands at or past
 * the plan's point of no return. Undefined when the backward migration is to run (or nothing ran).
 */
export function pastNoReturn(cp: Pick<Checkpoint, "migrate" | "step" | "steps" | "to" | "flagSteps">): string | undefined {
    const m = cp.migrate;
    if (!m || m.before === undefined || m.undone || m.noReturn === undefined || cp.step < m.noReturn) return undefined;
    return `past the point of no return: ${m.noReturnWhy ?? `step ${m.noReturn + 1}`}; traffic only, the migrations stay applied (restore the backup to go further back)`;
}

/** Once traffic is back: the backward migration when this cutover's is to be undone, else the end. */
function afterTrafficBack(cp: Checkpoint, now: string): Transition {
    const m = cp.migrate;
    if (m && m.before !== undefined && !m.undone) {
        return { checkpoint: cp, action: { kind: "migrateDown", before: m.before }, events: [] };
    }
    return finish(cp, "reverted", now);
}

function finish(cp: Checkpoint, phase: "promoted" | "reverted" | "failed", now: string, reason?: string): Transition {
    const done: Checkpoint = { ...cp, phase, updatedAt: now, reason: reason ?? cp.reason };
    return {
        checkpoint: done,
        action: { kind: "done", phase },
        events: [{ type: "done", at: now, phase, weights: done.weights, reason: done.reason }],
    };
}

/**
 * A promoted cutover's migration, for a revert asked for later: its point of no return, if it had
 * one, is behind it (every step ran), so it stands at the new revert's first step.
 */
function finishedMigration(cp: Checkpoint): NonNullable<Checkpoint["migrate"]> {
    const m = cp.migrate!;
    return m.noReturn === undefined ? m : { ...m, noReturn: -1, noReturnWhy: `the cutover was promoted: ${m.noReturnWhy ?? "the new version took all traffic"}` };
}

/** One transition: what follows from the checkpoint and what the driver saw. */
export function advance(cp: Checkpoint, plan: CutoverPlan, input: Input, now: string): Transition {
    if (FINAL_PHASES.includes(cp.phase)) {
        throw new CutoverError(`cutover ${cp.id} has ended (${cp.phase}); nothing follows`);
    }
    const at = { ...cp, updatedAt: now };

    if (input.kind === "abort") {
        return cp.phase === "reverting" ? { checkpoint: at, action: revertAgain(cp, input.reason), events: [] } : revert(at, input.reason, now);
    }
    if (input.kind === "error") {
        if (cp.phase === "reverting") {
            // Traffic may still reach the new color only where a step moved some there and the router was not reverted.
            const hint = !input.routerReverted && cp.step >= 0 ? `; traffic may still reach ${cp.to}` : "";
            return finish(at, "failed", now, `revert failed: ${input.message}${hint}`);
        }
        if (cp.phase === "migrating") {
            // The forward migration failed: what it applied before failing is undone (traffic never moved).
            const t = revert(at, `the forward migration failed: ${input.message}`, now);
            return { ...t, events: [{ type: "migrate", at: now, stage: "failed", ids: [], reason: input.message }, ...t.events] };
        }
        if (cp.step < 0) {
            // No live traffic was moved yet: stop where we are.
            return finish(at, "failed", now, input.message);
        }
        if (input.unmoved && cp.step === 0 && cp.phase === "stepping") {
            // The first step changed nothing (a switchover refused by its lag gate): stop, traffic where it stood.
            return finish({ ...at, step: -1, weights: allOn(cp.from) }, "failed", now, input.message);
        }
        return revert(at, input.message, now);
    }

    switch (cp.phase) {
        case "pretest": {
            if (input.kind !== "pretested") break;
            const verdict = judge(input.sample, { ...plan.gate, minRequests: Math.min(plan.gate.minRequests, input.sample.requests || 1) }, { strict: true });
            const ev: CutoverEvent = { type: "pretest", at: now, color: cp.to, verdict };
            if (verdict.outcome !== "pass") {
                const t = finish(at, "failed", now, `pretest of ${cp.to} through the test listener failed: ${verdict.reasons.join("; ")}`);
                return { ...t, events: [ev, ...t.events] };
            }
            if (plan.backup) {
                return { checkpoint: { ...at, phase: "backup" }, action: { kind: "backup" }, events: [ev] };
            }
            const t = afterBackup(at, now);
            return { ...t, events: [ev, ...t.events] };
        }
        case "backup": {
            if (input.kind !== "backedUp") break;
            const t = afterBackup({ ...at, backup: input.name }, now);
            return { ...t, events: [{ type: "backup", at: now, name: input.name }, ...t.events] };
        }
        case "migrating": {
            if (input.kind !== "migrated" || !cp.migrate) break;
            const migrate = { ...cp.migrate, before: input.before, applied: input.applied };
            if (input.error !== undefined) {
                // What it applied before failing is undone once traffic stands on the old color (it never moved).
                const t = revert({ ...at, migrate }, `the forward migration failed: ${input.error}`, now);
                return { ...t, events: [{ type: "migrate", at: now, stage: "failed", ids: input.applied, reason: input.error }, ...t.events] };
            }
            const t = nextStep({ ...at, migrate }, now);
            return { ...t, events: [{ type: "migrate", at: now, stage: "up", ids: input.applied }, ...t.events] };
        }
        case "stepping": {
            const flag = flagStepAt(cp, cp.step);
            if (flag && input.kind === "flagSet") {
                if (input.served !== flag.stage) {
                    const served = input.served === undefined ? "does not serve the flag" : `serves it at ${input.served}`;
                    return revert(at, `${formatFlagStep(flag)} was set, but the flag file ${served}`, now);
                }
                return {
                    checkpoint: { ...at, phase: "observing" },
                    action: { kind: "observe", color: cp.to, windowMs: plan.gate.intervalMs, flag: flag.flag },
                    events: [],
                };
            }
            if (input.kind !== "applied" || flag) break;
            const ev: CutoverEvent = { type: "applied", at: now, served: input.served };
            if (!sameSplit(input.served, cp.weights)) {
                const t = revert(at, `the router serves ${formatWeights(input.served)}, not the ${formatWeights(cp.weights)} asked for`, now);
                return { ...t, events: [ev, ...t.events] };
            }
            return {
                checkpoint: { ...at, phase: "observing" },
                action: { kind: "observe", color: cp.to, windowMs: plan.gate.intervalMs },
                events: [ev],
            };
        }
        case "observing": {
            if (input.kind !== "sampled") break;
            const verdict = judge(input.sample, plan.gate);
            const evs: CutoverEvent[] = [
                { type: "sample", at: now, sample: input.sample },
                { type: "verdict", at: now, step: cp.step + 1, verdict },
            ];
            const flag = flagStepAt(cp, cp.step);
            const observe: Action = { kind: "observe", color: cp.to, windowMs: plan.gate.intervalMs, ...(flag ? { flag: flag.flag } : {}) };
            if (verdict.outcome === "fail") {
                const failures = cp.failures + 1;
                if (failures >= plan.gate.failureLimit) {
                    const t = revert({ ...at, failures }, `gate failed at ${describeStep(cp, cp.step)}: ${verdict.reasons.join("; ")}`, now);
                    return { ...t, events: [...evs, ...t.events] };
                }
                return { checkpoint: { ...at, failures }, action: observe, events: evs };
            }
            if (verdict.outcome === "inconclusive") {
                const inconclusive = cp.inconclusive + 1;
                if (inconclusive >= plan.gate.inconclusiveLimit) {
                    const t = revert(
                        { ...at, inconclusive },
                        `no verdict at ${describeStep(cp, cp.step)} after ${inconclusive} windows: ${verdict.reasons.join("; ")}`,
                        now,
                    );
                    return { ...t, events: [...evs, ...t.events] };
                }
                return { checkpoint: { ...at, inconclusive }, action: observe, events: evs };
            }
            const passes = cp.passes + 1;
            if (passes < plan.gate.windowsPerStep) {
                return { checkpoint: { ...at, passes, inconclusive: 0 }, action: observe, events: evs };
            }
            if (cp.step + 1 >= cp.steps.length) {
                const t = afterFullWeight({ ...at, passes }, plan, now);
                return { ...t, events: [...evs, ...t.events] };
            }
            if (!flag && plan.pauseAt.includes(cp.steps[cp.step])) {
                return {
                    checkpoint: { ...at, passes, phase: "paused" },
                    action: { kind: "done", phase: "paused" },
                    events: [...evs, { type: "paused", at: now, step: cp.step + 1, weights: cp.weights }],
                };
            }
            const closed = windowClosed(cp, now);
            if (closed) {
                // Past the end of its rollout window: it stops at this step boundary; `resume` goes on.
                return {
                    checkpoint: { ...at, passes, phase: "paused", reason: closed },
                    action: { kind: "done", phase: "paused" },
                    events: [...evs, { type: "paused", at: now, step: cp.step + 1, weights: cp.weights, reason: closed }],
                };
            }
            const t = nextStep(at, now);
            return { ...t, events: [...evs, ...t.events] };
        }
        case "watching": {
            if (input.kind !== "sampled") break;
            const verdict = judge(input.sample, plan.gate);
            const evs: CutoverEvent[] = [
                { type: "sample", at: now, sample: input.sample },
                { type: "verdict", at: now, step: cp.step + 1, verdict },
            ];
            if (verdict.outcome === "fail") {
                const failures = cp.failures + 1;
                if (failures >= plan.gate.failureLimit) {
                    const t = revert({ ...at, failures }, `gate failed during the watch after 100% (until ${cp.watchUntil}): ${verdict.reasons.join("; ")}`, now);
                    return { ...t, events: [...evs, ...t.events] };
                }
                return { checkpoint: { ...at, failures }, action: { kind: "observe", color: cp.to, windowMs: plan.gate.intervalMs }, events: evs };
            }
            // A pass or a window with too little traffic (a quiet night is no breach): the watch goes on to its end.
            const t = watchOn(at, plan, now);
            return { ...t, events: [...evs, ...t.events] };
        }
        case "reverting": {
            if (input.kind === "migratedDown" && cp.migrate) {
                if (input.remaining.length > 0) {
                    const why = `the backward migration ran, but the bookkeeping table still lists ${input.remaining.join(", ")}`;
                    const t = finish(at, "failed", now, `revert failed: ${why}; traffic is back on ${cp.from}, the schema is not`);
                    return { ...t, events: [{ type: "migrate", at: now, stage: "failed", ids: input.remaining, reason: why }, ...t.events] };
                }
                const t = finish({ ...at, migrate: { ...cp.migrate, undone: "down" } }, "reverted", now);
                return { ...t, events: [{ type: "migrate", at: now, stage: "down", ids: input.removed }, ...t.events] };
            }
            if (input.kind !== "applied") break;
            const ev: CutoverEvent = { type: "applied", at: now, served: input.served };
            if (!sameSplit(input.served, allOn(cp.from))) {
                const t = finish(at, "failed", now, `revert asked for ${formatWeights(allOn(cp.from))} but the router serves ${formatWeights(input.served)}`);
                return { ...t, events: [ev, ...t.events] };
            }
            const t = afterTrafficBack(at, now);
            return { ...t, events: [ev, ...t.events] };
        }
    }
    throw new CutoverError(`a cutover in phase "${cp.phase}" cannot take "${input.kind}"`);
}

/**
 * A revert asked for from outside a running cutover (`switchyard revert`): all traffic to the color
 * that was live before, or, with no checkpoint, to the live color now.
 */
export function revertTarget(current: TrafficWeights, cp: Checkpoint | undefined): Color {
    return cp ? cp.from : liveColor(current);
}

/**
 * The plan a checkpoint was made under, with the gate to judge by from here on. A cutover stopped in
 * its backup takes the backup again (it was asked for, and never finished); pretest and backup are
 * otherwise behind it.
 */
export function planOf(cp: Checkpoint, gate: Partial<GateSpec> = {}): CutoverPlan {
    const g: GateSpec = { ...DEFAULT_GATE, ...stripUndefined(gate) };
    const problem = checkGate(g);
    if (problem) {
        throw new CutoverError(problem);
    }
    return {
        from: cp.from,
        to: cp.to,
        steps: cp.steps,
        ...(cp.flagSteps ? { flagSteps: cp.flagSteps } : {}),
        gate: g,
        pretest: false,
        backup: cp.phase === "backup",
        pauseAt: cp.pauseAt ?? [],
        ...(cp.migrate ? { migrate: cp.migrate } : {}),
        ...rolloutOf(cp),
    };
}

/**
 * A revert asked for by the operator (`switchyard revert`): all traffic back on the color that was
 * live before the cutover, whether it is running, stopped or promoted (blue is kept warm for this).
 */
export function operatorRevert(current: TrafficWeights, cp: Checkpoint | undefined, id: string, now: string, reason = "revert asked for by the operator"): Transition {
    const back = revertTarget(current, cp);
    // With no cutover under way, step 0 stands for traffic on the other color now; -1 when it has none.
    // Flags a finished cutover turned on go off too (on revert, flags first, then the weights).
    const base =
        cp && !FINAL_PHASES.includes(cp.phase)
            ? cp
            : {
                  ...fresh(id, back, [100], current[otherColor(back)] > 0 ? 0 : -1, "stepping", current, now),
                  ...(cp?.flags ? { flags: cp.flags } : {}),
                  ...(cp?.migrate && cp.phase === "promoted" && back === cp.from ? { migrate: finishedMigration(cp) } : {}),
              };
    return revert({ ...base, requested: "revert", updatedAt: now }, reason, now);
}
