/**
 * The cutover's small types: plans, gates, samples, checkpoints, actions and events. Shared by the
 * pure core (`core.ts`), the driver (`run.ts`) and the platform adapters (`local.ts`, `aws.ts`).
 * Nothing here touches a process, a clock or the network.
 */
import { Color, TrafficWeights } from "../components/types";
import { FlagsPort, FlagStage, FlagStep } from "./flags";
import type { DatabaseSwitch } from "./switchStep";

export { Color, TrafficWeights, FlagStage, FlagStep };

/**
 * Health gate: what the new color must show, window after window, before its weight rises.
 * Modelled on Flagger's analysis: a success-rate floor, a latency ceiling, and a threshold of failed
 * checks before the rollback.
 */
export interface GateSpec {
    /**
     * Lowest share of non-5xx answers, 0..1, over one window.
     * @default 0.99
     */
    readonly minSuccessRate: number;
    /**
     * Highest response time in milliseconds at the gate's percentile (`latencyPercentile`) over one
     * window: with the defaults, 99% of the new color's requests must be answered within 500 ms.
     * @default 500
     */
    readonly maxLatencyMs: number;
    /**
     * The percentile of response times held to `maxLatencyMs`, from 50 to 99.9 (95 and 99 are usual).
     * @default 99
     */
    readonly latencyPercentile: number;
    /**
     * The chance, at most, that one step's sequential test fails a color that in truth meets the
     * gate (its false-alarm rate, valid however often the counters are read). Lower waits for more
     * evidence before an early failure; a pass always needs the full window.
     * @default 0.001
     */
    readonly falseAlarmRate: number;
    /**
     * How often the counters are read while a window is observed, in milliseconds.
     * @default 250
     */
    readonly tickMs: number;
    /**
     * Fewest requests the new color must serve in a window for the window to count. Below it the
     * window is inconclusive. 0 judges windows with no traffic on health checks alone.
     * @default 20
     */
    readonly minRequests: number;
    /**
     * Length of one observation window in milliseconds (Flagger's `interval`).
     * @default 5000
     */
    readonly intervalMs: number;
    /**
     * Failed windows at one step before the cutover reverts (Flagger's `threshold`).
     * @default 1
     */
    readonly failureLimit: number;
    /**
     * Inconclusive windows in a row at one step before the cutover reverts: a cutover never advances
     * on no evidence.
     * @default 3
     */
    readonly inconclusiveLimit: number;
    /**
     * Passing windows required at each step before the next one.
     * @default 1
     */
    readonly windowsPerStep: number;
}

export const DEFAULT_GATE: GateSpec = {
    minSuccessRate: 0.99,
    maxLatencyMs: 500,
    latencyPercentile: 99,
    falseAlarmRate: 0.001,
    tickMs: 250,
    minRequests: 20,
    intervalMs: 5000,
    failureLimit: 1,
    inconclusiveLimit: 3,
    windowsPerStep: 1,
};

/** What a platform measured of one color over one window. */
export interface Sample {
    readonly color: Color;
    /** Requests the color answered in the window. */
    readonly requests: number;
    /** Of those, answers that count as errors (5xx, resets, timeouts). */
    readonly errors: number;
    /** Mean response time in the window, when the platform knows it. */
    readonly latencyMs?: number;
    /** Requests whose response time was measured (all of them, or a share of them). */
    readonly timed?: number;
    /** Of the timed requests, those slower than the gate's `maxLatencyMs`. */
    readonly slow?: number;
    /** The gate's percentile of the timed requests' response times, in milliseconds. */
    readonly percentileMs?: number;
    /** Which percentile `percentileMs` is (99 for p99). */
    readonly percentile?: number;
    /** Whether the platform's own health check sees the color as up. */
    readonly healthy: boolean;
    /** The window's length in milliseconds. */
    readonly windowMs: number;
    /**
     * At a flag step: the requests counted are those served with this flag on (from either color);
     * `unflagged` answers seen beside them are not judged.
     */
    readonly flag?: { readonly name: string; readonly unflagged: number };
}

export type Outcome = "pass" | "fail" | "inconclusive";

/** A gate's verdict on one sample, with the reasons an operator reads. */
export interface Verdict {
    readonly outcome: Outcome;
    /** Success rate in the window (0..1), when there were requests. */
    readonly successRate?: number;
    readonly reasons: string[];
    /** A failure declared before the window's end, on conclusive evidence (the sequential test). */
    readonly early?: boolean;
}

/** A validated plan: from which color to which, through which weights of the new color. */
export interface CutoverPlan {
    readonly from: Color;
    readonly to: Color;
    /**
     * Weights of `to`, step by step, ending at 100: strictly rising over the weight steps; at a flag
     * step (one of `flagSteps`), the weight standing then, unchanged.
     */
    readonly steps: number[];
    /**
     * The flag steps, by index into `steps`: at such a step the flag's stage is set (weights stay),
     * and the gate judges the flagged requests.
     * @default {} (every step a weight step)
     */
    readonly flagSteps?: Readonly<Record<number, FlagStep>>;
    readonly gate: GateSpec;
    /** Probe the new color through the test listener before any live traffic reaches it. */
    readonly pretest: boolean;
    /** Take a backup snapshot of the database before the first step. */
    readonly backup: boolean;
    /**
     * Weights of `to` at which the cutover stops, once the step's gate has passed, and waits for an
     * operator's `resume` (or `revert`): a bake at a partial weight, with the old color warm.
     * @default []
     */
    readonly pauseAt: number[];
    /**
     * The forward migration as a step of the plan, after the backup and before the first weight
     * (`switchyard:migrations.command up`); a revert before its point of no return runs the backward
     * migration once traffic is back. See `migrationsPlan.ts`.
     * @default undefined (no migrate step)
     */
    readonly migrate?: MigrateStep;
    /**
     * The rollout windows (`switchyard:cutover.window`), as declared: past the end of its window the
     * cutover pauses at its next step boundary. See `windows.ts`.
     * @default [] (any time)
     */
    readonly windows?: readonly string[];
    /**
     * The watch after 100% (`--watch`, `switchyard:cutover.watch`), in milliseconds: the gate keeps
     * judging the new color window after window, the old color warm; a breach reverts at once.
     * @default 0 (promoted at 100%)
     */
    readonly watchMs?: number;
    /**
     * How long the old color stays warm after the watch (`switchyard:cutover.keepWarm`) before
     * `switchyard scale-down` scales it down through the stack, in milliseconds.
     * @default undefined (no scale-down deadline)
     */
    readonly keepWarmMs?: number;
}

/** A plan's migrate step: what it will apply and where its point of no return stands. */
export interface MigrateStep {
    /** The migrations pending when the plan was made (what `up` is expected to apply). */
    readonly pending: readonly string[];
    /**
     * Index into the plan's steps of its point of no return: from that step on the new version has
     * taken live traffic and may have written data the backward migration would drop, so a revert
     * moves traffic only. Undefined: the backward migration drops nothing, a revert runs it at any step.
     */
    readonly noReturn?: number;
    /** Why that step is the point of no return: what the backward migration would drop. */
    readonly noReturnWhy?: string;
}

/**
 * A cutover's migration, in its checkpoint. `before` is recorded (in the migrate step's intent)
 * before `up` runs, so a cutover killed inside the step knows which migrations are its own: those
 * applied now and not before.
 */
export interface MigrationRecord extends MigrateStep {
    /** The migrations applied before this cutover's `up` ran (undefined: it has not run). */
    readonly before?: readonly string[];
    /** The migrations this cutover's `up` applied (undefined until it finished). */
    readonly applied?: readonly string[];
    /** Set once the backward migration ran and was checked, or was skipped (`kept`, with why). */
    readonly undone?: "down" | "kept";
}

export type Phase = "pretest" | "backup" | "migrating" | "stepping" | "observing" | "watching" | "paused" | "reverting" | "promoted" | "reverted" | "failed";

/** Phases after which nothing more happens. */
export const FINAL_PHASES: readonly Phase[] = ["promoted", "reverted", "failed"];

/**
 * Where a cutover stands. It is recorded in the backend beside the stack's state (never in the
 * user's stack file), so `status`, `resume` and `revert` read the same truth; see `stackState.ts`.
 */
export interface Checkpoint {
    readonly id: string;
    readonly from: Color;
    readonly to: Color;
    readonly steps: number[];
    /** The plan's flag steps, by index into steps (absent in checkpoints of plans without any). */
    readonly flagSteps?: Readonly<Record<number, FlagStep>>;
    /** The stages this cutover has set, flag by flag (a revert sets them off, before the weights). */
    readonly flags?: Readonly<Record<string, FlagStage>>;
    /** Index into steps of the step applied last; -1 before the first. */
    readonly step: number;
    readonly phase: Phase;
    /** Failed and inconclusive windows at the current step, and passing ones. */
    readonly failures: number;
    readonly inconclusive: number;
    readonly passes: number;
    /** The weights the cutover last asked for. */
    readonly weights: TrafficWeights;
    readonly startedAt: string;
    readonly updatedAt: string;
    /** Why it reverted or failed. */
    readonly reason?: string;
    /** Name of the backup snapshot taken before the first step. */
    readonly backup?: string;
    /** The plan's pauses, kept so a resumed cutover still stops at the later ones. */
    readonly pauseAt?: number[];
    /**
     * Set when the operator asked for this revert (`switchyard revert`): its end, reverted, is what
     * was asked for, also when `resume` finishes a revert that was cut short.
     */
    readonly requested?: "revert";
    /** The plan's migrate step and how far it got (absent in plans without one). */
    readonly migrate?: MigrationRecord;
    /** The plan's rollout windows, as declared (absent: any time). */
    readonly windows?: readonly string[];
    /**
     * When the operator forced this cutover to start or go on outside its windows (`--force`): it
     * then runs to its end without pausing when a window closes (absent: not forced).
     */
    readonly windowsForced?: string;
    /** The plan's watch after 100%, in milliseconds (absent: none). */
    readonly watchMs?: number;
    /** When the watch ends (set as it starts, phase `watching`). */
    readonly watchUntil?: string;
    /** The plan's keep-warm time, in milliseconds. */
    readonly keepWarmMs?: number;
    /** When the old color is to be scaled down (set at promotion: the watch's end plus keep-warm). */
    readonly scaleDownAt?: string;
    /** When the old color was scaled down (absent: it is still up). */
    readonly scaledDown?: string;
}

/** What the driver must do next. */
export type Action =
    | { readonly kind: "pretest"; readonly color: Color }
    | { readonly kind: "backup" }
    /** The forward migration (`<command> up`); the migrations applied before are read first, or taken from the checkpoint. */
    | { readonly kind: "migrate" }
    /** The backward migration of what this cutover applied (`<command> down <n>`), after traffic is back; then checked. */
    | { readonly kind: "migrateDown"; readonly before: readonly string[] }
    | { readonly kind: "apply"; readonly weights: TrafficWeights; readonly step: number }
    /** A flag step: the flag's stage set now where the app reads it, read back, then recorded through `up`. */
    | { readonly kind: "flag"; readonly flag: string; readonly stage: FlagStage; readonly step: number }
    /** A window on the new color; at a flag step (`flag`), on the requests served with that flag on. */
    | { readonly kind: "observe"; readonly color: Color; readonly windowMs: number; readonly flag?: string }
    /** All traffic back on the old color; the flags in `flagsOff` are turned off first. */
    | { readonly kind: "revert"; readonly weights: TrafficWeights; readonly reason: string; readonly flagsOff?: readonly string[] }
    | { readonly kind: "done"; readonly phase: Phase };

/** What the driver reports back after doing an action, or from outside (an abort). */
export type Input =
    | { readonly kind: "pretested"; readonly sample: Sample }
    | { readonly kind: "backedUp"; readonly name: string }
    /** The forward migration ran: the migrations applied before it and the ones it applied; `error` when it failed part-way. */
    | { readonly kind: "migrated"; readonly before: readonly string[]; readonly applied: readonly string[]; readonly error?: string }
    /** The backward migration ran: what it removed, and what of this cutover's is still listed (should be none). */
    | { readonly kind: "migratedDown"; readonly removed: readonly string[]; readonly remaining: readonly string[] }
    | { readonly kind: "applied"; readonly served: TrafficWeights }
    /** A flag step's stage as read back from where the app reads it (undefined: the flag is not served). */
    | { readonly kind: "flagSet"; readonly served: FlagStage | undefined }
    | { readonly kind: "sampled"; readonly sample: Sample }
    | { readonly kind: "abort"; readonly reason: string }
    /**
     * An action failed. `routerReverted`: a revert reached the router (all traffic back) before it failed.
     * `unmoved`: it changed nothing (a switchover refused by its lag gate): the cutover stops, no revert.
     */
    | { readonly kind: "error"; readonly message: string; readonly routerReverted?: boolean; readonly unmoved?: boolean };

/** What a switchover did, as the `switchover` event reports it. */
export interface SwitchoverReport {
    readonly from: Color;
    readonly to: Color;
    /** Milliseconds writes waited (lock asked for → weights changed). */
    readonly pauseMs: number;
    /** Writes that waited and were refused on the old side (nothing committed). */
    readonly refusedWrites: number;
    /** The lag when it started, in words. */
    readonly lag: string;
    /**
     * False when only the router moved and the database stayed (an RDS blue/green deployment
     * switched over already: RDS has no switchback). @default true
     */
    readonly databaseMoved?: boolean;
    /** What happened, in words, where the replicated pair's pause and reverse replication do not apply (RDS). @default none */
    readonly detail?: string;
}

/** The one event stream: the terminal display, `--json` lines and reports all listen to it. */
export type CutoverEvent =
    | { readonly type: "started"; readonly at: string; readonly from: Color; readonly to: Color; readonly steps: number[]; readonly flagSteps?: Readonly<Record<number, FlagStep>> }
    | { readonly type: "resumed"; readonly at: string; readonly step: number; readonly phase: Phase }
    | { readonly type: "pretest"; readonly at: string; readonly color: Color; readonly verdict: Verdict }
    | { readonly type: "backup"; readonly at: string; readonly name: string }
    /**
     * The migration stage: `up` applied `ids`; `down` removed them (after traffic went back); `kept`:
     * a revert past the point of no return left them, with `reason`; `failed`: a migration did not
     * do what it should, with `reason`.
     */
    | { readonly type: "migrate"; readonly at: string; readonly stage: "up" | "down" | "kept" | "failed"; readonly ids: readonly string[]; readonly reason?: string }
    | { readonly type: "step"; readonly at: string; readonly step: number; readonly of: number; readonly weights: TrafficWeights; readonly flag?: FlagStep }
    | { readonly type: "applied"; readonly at: string; readonly served: TrafficWeights }
    /** A flag's stage set (by a flag step, or off by a revert) and what is served, read back. */
    | { readonly type: "flag"; readonly at: string; readonly flag: string; readonly stage: FlagStage; readonly served: FlagStage | undefined }
    | { readonly type: "sample"; readonly at: string; readonly sample: Sample }
    /** The window so far, at each read of the counters (every `tickMs`): what a live chart plots. */
    | { readonly type: "progress"; readonly at: string; readonly step: number; readonly sample: Sample }
    | { readonly type: "verdict"; readonly at: string; readonly step: number; readonly verdict: Verdict }
    | { readonly type: "revert"; readonly at: string; readonly reason: string; readonly weights: TrafficWeights }
    | { readonly type: "paused"; readonly at: string; readonly step: number; readonly weights: TrafficWeights; readonly reason?: string }
    /** 100% reached: the gate keeps judging the new color until `until`, the old color warm. */
    | { readonly type: "watching"; readonly at: string; readonly color: Color; readonly until: string }
    /** The old color scaled down through the stack (`down`), or brought back up and healthy (`up`, taking `tookMs`). */
    | { readonly type: "scaled"; readonly at: string; readonly color: Color; readonly direction: "down" | "up"; readonly tookMs: number }
    /** A `replicated` pair's replication put in agreement with the router (after a switchover cut short): one change, in words. */
    | { readonly type: "reconciled"; readonly at: string; readonly did: string }
    /** A `replicated` pair's switchover (`switchStep.ts`): writes moved from `from` to `to`, paused `pauseMs`. */
    | ({ readonly type: "switchover"; readonly at: string } & SwitchoverReport)
    | { readonly type: "done"; readonly at: string; readonly phase: Phase; readonly weights: TrafficWeights; readonly reason?: string };

/** A window being observed on one color, read at every tick. */
export interface Watch {
    /** The color's live traffic since the window opened; `windowMs` is the time since then. */
    read(): Promise<Sample>;
    /** Ends the window (and any logging it turned on). */
    close(): Promise<void>;
}

/**
 * The one port a platform implements. The cutover never knows which platform it drives.
 * - local: HAProxy's runtime API and stats, PostgreSQL snapshots;
 * - AWS: ELBv2 listeners, CloudWatch metrics, RDS snapshots.
 */
export interface CutoverPort {
    /** Platform name, for display. */
    readonly platform: string;
    /** Gate settings this platform needs unless the user says otherwise (AWS: one-minute windows). */
    readonly gateDefaults?: Partial<GateSpec>;
    /** The weights in stack state, the checkpoint and any unfinished intent. */
    readState(): Promise<{ weights: TrafficWeights; checkpoint?: Checkpoint }>;
    /** Records, durably and before anything changes, the action about to be taken. */
    recordIntent(intent: { id: string; action: "apply" | "revert" | "backup" | "flag" | "migrate" | "migrateDown" | "switch" | "scaleDown"; weights?: TrafficWeights; flag?: FlagStep; checkpoint: Checkpoint; at: string }): Promise<void>;
    /**
     * Puts the weights in the stack's config and runs `up`, so state agrees; records the checkpoint.
     * With `flags`, those flags' stages go into the stack's `switchyard:flags` first, so config, state
     * and the served flag file agree.
     */
    apply(weights: TrafficWeights, checkpoint: Checkpoint, flags?: Readonly<Record<string, FlagStage>>): Promise<void>;
    /**
     * Sets a flag's stage where the app reads it, at once, and reads it back (flag steps, and the
     * revert's flags off). Optional: a platform without it runs no flag steps.
     */
    readonly flags?: FlagsPort;
    /**
     * Sets weights on the router or load balancer at once, ahead of the stack (HAProxy's runtime API,
     * ELBv2 ModifyListener): every step and every revert goes to the router first, after its intent is
     * recorded, then `apply` brings config and state into agreement. Optional: without it the router
     * changes with `apply`.
     */
    applyNow?(weights: TrafficWeights): Promise<void>;
    /**
     * Holds the router at these weights against a stack `up` already running, which would set the
     * weights of the step it records (a revert decided while a step's `up` runs in the background);
     * undefined releases. Optional: without it, the revert's weights are set again once that `up`
     * has finished.
     */
    hold?(weights: TrafficWeights | undefined): Promise<void>;
    /** Saves a checkpoint with the weights unchanged. */
    record(checkpoint: Checkpoint): Promise<void>;
    /** Reads back the weights the router or load balancer really serves. */
    servedWeights(): Promise<TrafficWeights>;
    /** Measures one color's live traffic over a window. */
    sample(color: Color, windowMs: number, signal?: AbortSignal): Promise<Sample>;
    /**
     * Opens a window on one color's live traffic, read at every tick of the gate (HAProxy's counters
     * and request log, locally), so a clear breach is caught within a tick or two. With `flag` (a
     * flag step), the window counts the requests served with that flag on, from either color.
     * Optional: without it, `sample` measures whole windows.
     */
    watch?(color: Color, gate: GateSpec, flag?: string): Promise<Watch>;
    /** Probes a color through the test listener, before it gets live traffic. */
    pretest(color: Color): Promise<Sample>;
    /** Takes a backup snapshot of the database and waits for it; returns its name. */
    backup(): Promise<string>;
    /**
     * Removes what a backup cut short (a kill inside it) left half-made; returns the names removed.
     * `resume` and `revert` call it first. Optional: a platform whose backups cannot be left half-made
     * has nothing to remove.
     */
    discardPartialBackups?(): Promise<string[]>;
    /**
     * The stack's migration tool (`switchyard:migrations.command`) against its database: a plan's
     * migrate step and the backward migration of a revert. Optional: without it no migrate step runs.
     */
    migrations?: MigrationsPort;
    /**
     * The databases' switchover of a `replicated` pair (`switchStep.ts`): with it, a step to 100% and
     * a revert move the writes and the router together, never the weights alone. Optional: absent
     * for a pair whose colors share one database.
     */
    databases?: DatabaseSwitch;
    /**
     * Scales a color down (`warm: false`) or back up and waits for it to pass its health check,
     * through the stack (locally its app process stopped or started; on AWS the ECS service's desired
     * count). Optional: without it the old color is never scaled down.
     */
    scale?(color: Color, warm: boolean): Promise<void>;
}

/**
 * A migration tool, through the `<command> up` / `<command> down <n>` convention, and its
 * bookkeeping table (`switchyard:migrations.table`). See `migrations.ts`.
 */
export interface MigrationsPort {
    /** The ids the bookkeeping table lists, sorted. */
    applied(): Promise<string[]>;
    /** Applies every pending migration. */
    up(): Promise<void>;
    /** Undoes the last n applied migrations. */
    down(n: number): Promise<void>;
}
