/**
 * The cutover's library API: what `switchyard cutover | status | resume | revert` call. Each reads
 * the stack's state, picks the platform's adapter, and runs the pure core through the driver.
 *
 * @example
 * const cp = await cutover({ stackName: "local" }, { steps: [10, 50, 100] }, { onEvent: console.log });
 */
import { projectEnv, projectOf, StackTarget, UserError } from "../stack/run";
import { checkStateStorage } from "../stack/storage";
import { CutoverError, describeStep, forcedOutsideWindows, formatWeights, makePlan, plannedSteps, operatorRevert, planOf, PlanRequest, resume as resumeCore, sameSplit, start } from "./core";
import { utcStamp } from "../stack/snapshot";
import { drive, DriveOptions } from "./run";
import { AutomationStackStore, Intent, lockCutover, StackState, StackStore } from "./stackState";
import { validateRequest } from "./options";
import { requireTests } from "./preflight";
import { impactGate, ImpactGateOptions } from "./impactGate";
import { Checkpoint, CutoverPlan, CutoverPort, FINAL_PHASES, GateSpec, TrafficWeights } from "./types";
import { CommandMigrations, commandMigrations } from "./migrations";
import { formatDuration, RolloutSettings, rolloutSettings, scaleDownDue, windowsOf } from "./watch";
import { refuseOutsideWindows } from "./windows";
import { formatStage, RolloutStage } from "../components/flags";
import { cutoverDatabaseMode, deploymentIdOf, RDS_BLUE_GREEN, switchoverTimeoutOf } from "./rdsSwitchPlan";
import { readReplicationStatus, ReplicationStatus } from "./replicationStatus";

export * from "./types";
export * from "./core";
export { drive, pause } from "./run";
export { probe } from "./probe";
export { AutomationStackStore, StackStore, StackState, Intent, lockCutover } from "./stackState";
export { validateRequest } from "./options";
export { requiredTestsMissing, checkRequiredTests, describeTestGaps, requireTests, requiredSuites, TestGap, RecordedRun } from "./preflight";
export { impactGate, ImpactGateOptions, highRiskSuites } from "./impactGate";
export { runSession, SessionOptions, SessionResult, SessionDrive } from "./session";
export { Listener, webhook, report, slackBody, WebhookFormat, WEBHOOK_FORMATS } from "./listeners";
export { formatEvent, jsonLine, formatPlan, describeMigration } from "./display";
export { CommandMigrations, CommandMigrationsOptions, commandMigrations } from "./migrations";
export { dataDropped, pointOfNoReturn, sqlSections, SAFE_TO_REVERSE } from "./migrationsPlan";
export { parseDuration, formatDuration, rolloutSettings, RolloutSettings, scaleDownDue, DEFAULT_KEEP_WARM_MS } from "./watch";
export { parseWindows, refuseOutsideWindows, nextOpening, openingAt, describeOpening } from "./windows";
export { judgeReplication, readReplicationStatus, formatReplication, ReplicationStatus, ReplicationDirection } from "./replicationStatus";

/** Which pair of the stack a command acts on: `--pair`, needed when the stack has several. */
export interface PairOption {
    /** The pair's name in the program. @default the stack's only pair */
    readonly pair?: string;
}

/** Picks the adapter for the pair's platform (its component's type). */
export async function portFor(target: StackTarget, store: StackStore, state: StackState): Promise<CutoverPort> {
    const platform = state.platform;
    if (platform === "local") {
        const { LocalCutoverPort } = await import("./local");
        const flags = state.flagsFile && state.flags ? { file: state.flagsFile, config: state.flags } : undefined;
        return new LocalCutoverPort(store, target, state.outputs, state.pair, flags);
    }
    if (platform === "aws") {
        const { AwsCutoverPort } = await import("./aws");
        const { S3Flags } = await import("./flagsS3");
        const flags = state.flagsUri && state.flags ? new S3Flags(state.flagsUri, state.flags) : undefined;
        return new AwsCutoverPort(store, state.outputs, { stackName: `stack "${target.stackName}"`, ...(flags ? { flags } : {}) });
    }
    throw new UserError(`stack "${target.stackName}" reports platform ${JSON.stringify(platform)}: the cutover drives "local" and "aws"`);
}

const newId = (now: Date) => `cutover-${utcStamp(now)}`;

/** Runs fn holding the stack's cutover lock (beside its records in the backend). */
async function withLock<T>(target: StackTarget, o: PairOption, fn: (store: AutomationStackStore) => Promise<T>): Promise<T> {
    const store = new AutomationStackStore(target, o.pair);
    // The lock and the records live beside the state: a full or read-only disk is named before any write.
    checkStateStorage(projectEnv(projectOf(target)).PULUMI_BACKEND_URL);
    const release = lockCutover(store.dir, target.stackName);
    try {
        return await fn(store);
    } finally {
        release();
    }
}

async function open(target: StackTarget, store: AutomationStackStore): Promise<{ store: StackStore; state: StackState; port: CutoverPort }> {
    const state = await store.readState();
    const port = await portFor(target, store, state);
    // The migrate step's tool: switchyard:migrations.command against the pair's database URL.
    const migrations = commandMigrations(state.migrations, state.outputs.databaseUrl, projectOf(target).root);
    if (migrations) port.migrations = migrations;
    // A replicated pair (each color its own database): its step and its revert are switchovers.
    if (state.platform === "local") {
        const { localDatabaseSwitch } = await import("./switchStep");
        const databases = localDatabaseSwitch(state.outputs);
        if (databases) port.databases = databases;
    }
    // An AWS pair with an RDS blue/green deployment: its step is the RDS switchover, its revert moves the router only (no switchback).
    // A bad switchyard:cutover.switchoverTimeout refuses the switchover itself (and a new cutover's plan), never a revert or `status`.
    if (state.platform === "aws" && deploymentIdOf(state.outputs) !== undefined) {
        const timeout = switchoverTimeoutOf(state.cutoverDeclared);
        const { rdsDatabaseSwitch } = await import("./rdsSwitch");
        const databases =
            port.applyNow &&
            rdsDatabaseSwitch(state.outputs, { route: (w) => port.applyNow!(w), ...(typeof timeout === "number" ? { switchoverTimeoutSeconds: timeout } : { refusal: `stack "${target.stackName}": ${timeout}` }) });
        if (databases) port.databases = databases;
    }
    return { store, state, port };
}

/** `cutover`'s options beyond the plan. */
export interface CutoverOptions extends DriveOptions, PairOption {
    impact?: ImpactGateOptions;
    /**
     * A migrate step after the backup (`--migrate`): `switchyard:migrations.command up` against the
     * stack's database; reverted by `<command> down <n>` before the plan's point of no return.
     * @default false
     */
    migrate?: boolean;
    /** Start (or resume) outside the stack's rollout windows (`switchyard:cutover.window`). @default false */
    force?: boolean;
    /**
     * The watch after 100% (`--watch`), a duration such as `30m` or `24h`; wins over
     * `switchyard:cutover.watch`. @default the stack's, else none
     */
    watch?: string;
}

/** The stack's rollout settings (`switchyard:cutover.window`, `.watch`, `.keepWarm`), checked; a bad one is refused naming its key. */
function rolloutFor(target: StackTarget, state: StackState, opts: { watch?: string }): RolloutSettings {
    const { settings, errors } = rolloutSettings(state.cutoverDeclared, opts);
    if (errors.length > 0) throw new UserError(`stack "${target.stackName}": ${errors.join("; ")}`);
    return settings;
}

/**
 * Refused (nothing changed) outside every rollout window, naming the next one, unless `force`.
 * Returns true when `force` overrode a refusal: the cutover then records the waiver and runs on.
 */
function refuseOutsideWindow(target: StackTarget, windows: readonly string[] | undefined, now: Date, force?: boolean, what = "a cutover"): boolean {
    const refusal = refuseOutsideWindows(windowsOf(windows), now);
    if (refusal && !force) throw new UserError(`stack "${target.stackName}": ${what} is refused ${refusal}`);
    return refusal !== undefined;
}

/** The migrate step of a plan: the stack's pending migrations and what their backward migrations drop. */
async function migratePlan(target: StackTarget, port: CutoverPort): Promise<PlanRequest["migrate"]> {
    const m = port.migrations;
    if (!(m instanceof CommandMigrations)) {
        throw new UserError(`stack "${target.stackName}" names no switchyard:migrations.command, or its pair exports no databaseUrl: --migrate needs both`);
    }
    try {
        return await m.pending();
    } catch (e) {
        throw new UserError(`stack "${target.stackName}": the migrate step cannot be planned: ${(e as Error).message}`);
    }
}

/**
 * What a backup cut short left half-made (a kill inside it) is removed before `resume` takes the
 * backup again or `revert` undoes the cutover; each removal is said.
 */
async function discardPartialBackups(target: StackTarget, port: CutoverPort): Promise<void> {
    const notice = target.onNotice ?? target.onOutput ?? ((s: string) => process.stderr.write(s));
    for (const name of (await port.discardPartialBackups?.()) ?? []) {
        notice(`switchyard: removed the half-made snapshot ${name}, left by a backup that was cut short\n`);
    }
}

/**
 * A replicated pair's replication put in agreement with the router before `resume` or `revert`
 * goes on (a switchover cut short may have left it stopped, or running both ways): from the color
 * the router sends writes to, one way only. Each change is emitted as a `reconciled` event.
 */
async function reconcileDatabases(port: CutoverPort, opts: DriveOptions): Promise<void> {
    if (!port.databases) return;
    for (const did of await port.databases.reconcile()) opts.onEvent?.({ type: "reconciled", at: new Date().toISOString(), did });
}

/**
 * The checkpoint to go on from: an unfinished intent's (the action was cut short: resume redoes it,
 * revert undoes it), else the last one recorded.
 */
export function effectiveCheckpoint(state: Pick<StackState, "checkpoint" | "intent">): Checkpoint | undefined {
    return state.intent?.checkpoint ?? state.checkpoint;
}

/** The user's gate settings over the platform's defaults. */
function withDefaults(port: CutoverPort, gate: Partial<GateSpec> = {}): Partial<GateSpec> {
    const given = Object.fromEntries(Object.entries(gate).filter(([, v]) => v !== undefined));
    return { ...port.gateDefaults, ...given };
}

function refuseUnfinished(target: StackTarget, cp: Checkpoint | undefined): void {
    if (cp && !FINAL_PHASES.includes(cp.phase)) {
        throw new UserError(
            `stack "${target.stackName}" has an unfinished cutover ${cp.id} (${cp.phase} at step ${cp.step + 1} of ${cp.steps.length}, ` +
                `${describeStep(cp, Math.max(cp.step, 0))}): run \`switchyard resume ${target.stackName}\` or \`switchyard revert ${target.stackName}\``,
        );
    }
}

function asUserError<T>(fn: () => T): T {
    try {
        return fn();
    } catch (e) {
        throw e instanceof CutoverError ? new UserError(e.message) : e;
    }
}

/** Moves traffic to the new color step by step behind the health gate; reverts at once when it fails. */
export async function cutover(target: StackTarget, req: Omit<PlanRequest, "current" | "migrate">, opts: CutoverOptions = {}): Promise<Checkpoint> {
    validateRequest(target, req);
    return withLock(target, opts, async (store) => {
        const { state, port } = await open(target, store);
        refuseUnfinished(target, effectiveCheckpoint(state));
        const plan = await planFor(target, req, opts, state, port);
        const now = (opts.now ?? (() => new Date()))();
        const forced = refuseOutsideWindow(target, plan.windows, now, opts.force);
        if (plan.flagSteps && !port.flags) {
            throw new UserError(`stack "${target.stackName}" serves no flag file (no flagsFile output on ${port.platform}): a plan with flag steps cannot run; run \`switchyard up ${target.stackName}\` with switchyard:flags declared`);
        }
        // switchyard:cutover.requireTests: refused, nothing changed, without a passing run of each suite.
        await requireTests(target, plan.to, state.outputs);
        // The impact map (with `impact`): shown, and a plan its risk tier does not allow refused, nothing changed.
        if (opts.impact) await impactGate(target, plan, state.outputs, opts.impact);
        // Back to a color scaled down after an earlier cutover: up first, health-checked (its new process read again).
        const ready = (await bringBackUp(port, withScaleDownCutShort(state), plan.to, opts)) ? (await open(target, store)).port : port;
        const first = start(plan, state.weights, newId(now), now.toISOString());
        return drive(ready, plan, forced ? forcedOutsideWindows(first, now.toISOString()) : first, opts);
    });
}

async function planFor(target: StackTarget, req: Omit<PlanRequest, "current" | "migrate">, opts: CutoverOptions, state: StackState, port: CutoverPort): Promise<CutoverPlan> {
    const migrate = opts.migrate ? await migratePlan(target, port) : undefined;
    const rollout = rolloutFor(target, state, opts);
    const timeout = cutoverDatabaseMode(state.outputs) === RDS_BLUE_GREEN ? switchoverTimeoutOf(state.cutoverDeclared) : undefined;
    if (typeof timeout === "string") throw new UserError(`stack "${target.stackName}": ${timeout}`);
    return asUserError(() =>
        makePlan({ ...req, ...rollout, current: state.weights, databaseMode: cutoverDatabaseMode(state.outputs), steps: req.steps ?? plannedSteps(state.plannedSteps), flagNames: Object.keys(state.flags ?? {}), gate: withDefaults(port, req.gate), ...(migrate ? { migrate } : {}) }),
    );
}

/**
 * The plan `cutover` would run (`switchyard cutover --dry-run`): its steps, its migrate step and its
 * point of no return. Reads the stack and its database; changes nothing, records nothing.
 */
export async function planCutover(target: StackTarget, req: Omit<PlanRequest, "current" | "migrate">, opts: CutoverOptions = {}): Promise<CutoverPlan> {
    validateRequest(target, req);
    const { state, port } = await open(target, new AutomationStackStore(target, opts.pair));
    refuseUnfinished(target, effectiveCheckpoint(state));
    return planFor(target, req, opts, state, port);
}

/** Picks up an unfinished cutover at the step it stood at. */
export async function resume(target: StackTarget, gate: Partial<GateSpec> = {}, opts: DriveOptions & PairOption & { force?: boolean } = {}): Promise<Checkpoint> {
    validateRequest(target, { gate });
    return withLock(target, opts, async (store) => {
        const { state, port } = await open(target, store);
        await discardPartialBackups(target, port);
        await reconcileDatabases(port, opts);
        const cp = effectiveCheckpoint(state);
        const now = (opts.now ?? (() => new Date()))();
        if (cp && scaleDownDue(cp, now.toISOString()) && port.scale) {
            // A promoted cutover whose keep-warm time is over: its due scale-down is what is left.
            return scaleDownWith(port, cp, opts);
        }
        let forced = false;
        if (cp && !cp.windowsForced && !FINAL_PHASES.includes(cp.phase) && cp.phase !== "reverting" && cp.phase !== "watching") {
            // Going on with the steps is refused outside the windows; a revert or a watch is not, nor a
            // cutover already forced outside them (`windowsForced`: it runs to its end, also after a kill).
            forced = refuseOutsideWindow(target, cp.windows, now, opts.force, "resuming the cutover");
        }
        if (!cp || FINAL_PHASES.includes(cp.phase)) {
            throw new UserError(`stack "${target.stackName}" has no unfinished cutover to resume${cp ? ` (the last one, ${cp.id}, ${cp.phase})` : ""}`);
        }
        const plan = asUserError(() => planOf(cp, withDefaults(port, gate)));
        const first = asUserError(() => resumeCore(cp, plan, now.toISOString()));
        return drive(port, plan, forced ? forcedOutsideWindows(first, now.toISOString()) : first, opts);
    });
}

/** All traffic back to the color live before the last cutover (or the live one), read back. */
export async function revert(target: StackTarget, opts: DriveOptions & PairOption & { reason?: string } = {}): Promise<Checkpoint> {
    validateRequest(target);
    return withLock(target, opts, async (store) => {
        const { state, port } = await open(target, store);
        await discardPartialBackups(target, port);
        await reconcileDatabases(port, opts);
        const last = effectiveCheckpoint(state);
        await bringBackUp(port, withScaleDownCutShort(state), last?.from, opts);
        const now = (opts.now ?? (() => new Date()))();
        const first = operatorRevert(state.weights, last, newId(now), now.toISOString(), opts.reason);
        return drive(port, planOf(first.checkpoint), first, opts);
    });
}

/**
 * The old color of a promoted cutover, scaled down after its keep-warm time, brought back up (and
 * healthy) before traffic moves to it (`revert`, or a cutover back to it); emits `scaled` with the
 * time it took.
 */
async function bringBackUp(port: CutoverPort, last: Checkpoint | undefined, to: string | undefined, opts: DriveOptions): Promise<boolean> {
    if (last?.phase !== "promoted" || !last.scaledDown || !port.scale || to !== last.from) return false;
    const t0 = performance.now();
    await port.scale(last.from, true);
    const tookMs = Math.round(performance.now() - t0);
    opts.onEvent?.({ type: "scaled", at: new Date().toISOString(), color: last.from, direction: "up", tookMs });
    return true;
}

/**
 * The checkpoint to go on from, with its old color counted as scaled down when a scale-down was cut
 * short (its `scaleDown` intent left behind by a kill): its config already says cold and its process
 * may be gone, so a `revert` (or a cutover back to it) brings it up first.
 */
function withScaleDownCutShort(state: Pick<StackState, "checkpoint" | "intent">): Checkpoint | undefined {
    const cp = effectiveCheckpoint(state);
    return cp && state.intent?.action === "scaleDown" ? { ...cp, scaledDown: cp.scaledDown ?? state.intent.at } : cp;
}

/**
 * Scales the old color of a promoted cutover down and records it; emits `scaled`. The intent comes
 * first: one cut short is finished by `scale-down` or `resume`, or undone by `revert`.
 */
async function scaleDownWith(port: CutoverPort, cp: Checkpoint, opts: DriveOptions): Promise<Checkpoint> {
    const t0 = performance.now();
    await port.recordIntent({ id: cp.id, action: "scaleDown", checkpoint: cp, at: (opts.now ?? (() => new Date()))().toISOString() });
    await port.scale!(cp.from, false);
    const at = (opts.now ?? (() => new Date()))().toISOString();
    const done: Checkpoint = { ...cp, scaledDown: at, updatedAt: at };
    await port.record(done);
    opts.onEvent?.({ type: "scaled", at, color: cp.from, direction: "down", tookMs: Math.round(performance.now() - t0) });
    return done;
}

/**
 * The old color's scale-down, once its keep-warm time is over (`switchyard scale-down`, e.g. from a
 * scheduler): through the stack, then recorded in the checkpoint. Refused, naming why, when none is
 * due (no promoted cutover, the deadline ahead, already done).
 */
export async function scaleDown(target: StackTarget, opts: DriveOptions & PairOption = {}): Promise<Checkpoint> {
    validateRequest(target);
    return withLock(target, opts, async (store) => {
        const { state, port } = await open(target, store);
        const cp = effectiveCheckpoint(state);
        const now = (opts.now ?? (() => new Date()))().toISOString();
        if (!cp || cp.phase !== "promoted") {
            throw new UserError(`stack "${target.stackName}" has no promoted cutover whose old color could be scaled down${cp ? ` (the last one, ${cp.id}, is ${cp.phase})` : ""}`);
        }
        if (cp.scaledDown) throw new UserError(`stack "${target.stackName}": ${cp.from} was already scaled down at ${cp.scaledDown}`);
        if (!scaleDownDue(cp, now)) {
            throw new UserError(`stack "${target.stackName}": ${cp.from} stays warm until ${cp.scaleDownAt ?? "(no keep-warm deadline recorded)"}; nothing to scale down yet`);
        }
        if (!port.scale) throw new UserError(`the ${port.platform} platform cannot scale a color down`);
        return scaleDownWith(port, cp, opts);
    });
}

/** A checkpoint's watch and keep-warm, as `status` shows them; undefined when it has neither. */
export function describeWatch(cp: Checkpoint | undefined, now: Date): string | undefined {
    if (!cp) return undefined;
    const parts: string[] = [];
    if (cp.phase === "watching" && cp.watchUntil) parts.push(`watching ${cp.to} until ${cp.watchUntil}${cp.watchMs ? ` (a ${formatDuration(cp.watchMs)} watch)` : ""}`);
    if (cp.scaledDown) parts.push(`${cp.from} scaled down at ${cp.scaledDown}; \`revert\` brings it back up first`);
    else if (cp.scaleDownAt) parts.push(`${cp.from} kept warm until ${cp.scaleDownAt}${scaleDownDue(cp, now.toISOString()) ? " (due: run `switchyard scale-down`)" : ""}`);
    return parts.length > 0 ? parts.join("; ") : undefined;
}

/** What `status` shows: intent, state, config and router side by side, and where they disagree. */
export interface CutoverStatus {
    readonly platform: string;
    /** The pair's name in the program. */
    readonly pair: string;
    readonly weightsInState: TrafficWeights;
    /** The weights in the stack's config file (undefined when the program gives them). */
    readonly weightsInConfig?: TrafficWeights;
    readonly weightsServed: TrafficWeights;
    readonly checkpoint?: Checkpoint;
    /** An action started and not finished: `resume` finishes it, `revert` undoes it. */
    readonly intent?: Intent;
    /**
     * Each flag the stack serves (`switchyard:flags`): its rollout stage in the config file, in the
     * state (the flags resource) and in the served flagd file (the local file, or the S3 object).
     */
    readonly flags?: readonly FlagPlaces[];
    /** Why the flags could not be read (the served file or object unreachable); their places are then unknown. */
    readonly flagsUnread?: string;
    /** A `replicated` pair's replication: direction, lag, write gates (its problems are among the disagreements). */
    readonly replication?: ReplicationStatus;
    /** Why a replicated pair's replication could not be read (a database server unreachable). */
    readonly replicationUnread?: string;
    /** Every disagreement, named; empty when intent, state, config, router and the flags' places agree. */
    readonly disagreements: string[];
    readonly inAgreement: boolean;
}

/** One flag's rollout stage where `status` looks; undefined where the flag is absent. */
export interface FlagPlaces {
    readonly name: string;
    /** In `switchyard:flags` of the config file; undefined too when the program gives the flags (`configGiven` false). */
    readonly config?: RolloutStage;
    /** Whether the stack's config file declares the flags (else the program gives them, and config is not compared). */
    readonly configGiven: boolean;
    readonly state?: RolloutStage;
    readonly served?: RolloutStage;
}

/**
 * A flag's places as `status` prints them.
 * @example formatFlagPlaces({ name: "f", configGiven: true, config: 10, state: 10, served: 10 }) // "config 10%, state 10%, served 10%"
 */
export function formatFlagPlaces(f: FlagPlaces): string {
    const show = (v: RolloutStage | undefined) => (v === undefined ? "-" : formatStage(v));
    return `${f.configGiven ? `config ${show(f.config)}, ` : ""}state ${show(f.state)}, served ${show(f.served)}`;
}

/**
 * Pure: a flag's disagreement among config, state and served file, named; undefined when they agree.
 * @example flagDisagreement({ name: "f", configGiven: true, config: 10, state: "off", served: 10 }, "dev")
 * // "flag f: the config file holds 10%, the state holds off, the served file serves 10%: ..."
 */
export function flagDisagreement(f: FlagPlaces, stack: string): string | undefined {
    const show = (v: RolloutStage | undefined) => (v === undefined ? "nothing (absent)" : formatStage(v));
    const places: [string, RolloutStage | undefined][] = [...(f.configGiven ? [["the config file holds", f.config] as [string, RolloutStage | undefined]] : []), ["the state holds", f.state], ["the served file serves", f.served]];
    if (new Set(places.map(([, v]) => String(v))).size <= 1) return undefined;
    const fix =
        f.configGiven && f.config !== f.state
            ? "the next `up` would apply the config's"
            : `\`switchyard up ${stack}\` writes the file from the stack again`;
    return `flag ${f.name}: ${places.map(([w, v]) => `${w} ${show(v)}`).join(", ")}: ${fix}`;
}

/** Pure: the disagreements among intent, state, config and router, and each flag's config, state and served file. */
export function disagreements(s: Pick<CutoverStatus, "weightsInState" | "weightsInConfig" | "weightsServed" | "intent" | "checkpoint" | "flags">, stack: string): string[] {
    const out: string[] = [];
    const f = formatWeights;
    if (s.intent) {
        out.push(
            `an unfinished ${s.intent.action}${s.intent.weights ? ` to ${f(s.intent.weights)}` : ""} of cutover ${s.intent.id} (recorded ${s.intent.at}): ` +
                `run \`switchyard resume ${stack}\` to finish it or \`switchyard revert ${stack}\` to undo it`,
        );
    }
    if (s.weightsInConfig && !sameSplit(s.weightsInConfig, s.weightsInState)) {
        out.push(`the config file holds ${f(s.weightsInConfig)} but the state holds ${f(s.weightsInState)}: the next \`up\` would apply the config's`);
    }
    if (!sameSplit(s.weightsServed, s.weightsInState)) {
        out.push(`the router serves ${f(s.weightsServed)} but the state holds ${f(s.weightsInState)}`);
    }
    for (const flag of s.flags ?? []) {
        const d = flagDisagreement(flag, stack);
        if (d) out.push(d);
    }
    return out;
}

export async function status(target: StackTarget, o: PairOption = {}): Promise<CutoverStatus> {
    validateRequest(target);
    const { state, port } = await open(target, new AutomationStackStore(target, o.pair));
    const served = await port.servedWeights();
    const flags = state.flagsFile || state.flagsUri ? await flagPlaces(target) : undefined;
    const base = {
        weightsInState: state.weights,
        weightsInConfig: state.configWeights,
        weightsServed: served,
        checkpoint: state.checkpoint,
        intent: state.intent,
        ...(flags && "places" in flags ? { flags: flags.places } : {}),
    };
    const replication = state.platform === "local" ? await replicationOf(state.outputs, target.stackName) : undefined;
    const problems = [...disagreements(base, target.stackName), ...(replication?.status?.problems ?? [])];
    const unread = {
        ...(flags && "unread" in flags ? { flagsUnread: flags.unread } : {}),
        ...(replication?.status ? { replication: replication.status } : {}),
        ...(replication?.unread ? { replicationUnread: replication.unread } : {}),
    };
    return { platform: port.platform, pair: state.pair, ...base, ...unread, disagreements: problems, inAgreement: problems.length === 0 };
}

/** A local replicated pair's replication (undefined for any other mode), or why it could not be read. */
async function replicationOf(outputs: Record<string, unknown>, stack: string): Promise<{ status?: ReplicationStatus; unread?: string } | undefined> {
    const { replicatedSidesOf } = await import("./switchStep");
    const sides = replicatedSidesOf(outputs);
    if (!sides) return undefined;
    try {
        return { status: await readReplicationStatus({ ...sides, stack }) };
    } catch (e) {
        return { unread: (e as Error).message };
    }
}

/** Each served flag's stage in config, state and served file (`switchyard flags`' reading, no app asked). */
async function flagPlaces(target: StackTarget): Promise<{ places: FlagPlaces[] } | { unread: string }> {
    const { flagsStatus } = await import("../stack/flags");
    try {
        const fs = await flagsStatus(target, { sample: 0 });
        const configGiven = fs.flags.some((f) => f.configured !== undefined);
        return { places: fs.flags.map((f) => ({ name: f.name, configGiven, config: f.configured, state: f.inState, served: f.served })) };
    } catch (e) {
        return { unread: (e as Error).message };
    }
}

/**
 * Puts weights straight into the stack's config and clears its cutover checkpoint, with no `up`:
 * for resetting a stack that is about to be destroyed or brought up afresh (the demo's `--down`).
 */
export async function resetWeights(target: StackTarget, weights: TrafficWeights, o: PairOption = {}): Promise<void> {
    await new AutomationStackStore(target, o.pair).reset(weights);
}
