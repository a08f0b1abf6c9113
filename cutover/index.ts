/**
 * The cutover's library API: what `switchyard cutover | status | resume | revert` call. Each reads
 * the stack's state, picks the platform's adapter, and runs the pure core through the driver.
 *
 * @example
 * const cp = await cutover({ stackName: "local" }, { steps: [10, 50, 100] }, { onEvent: console.log });
 */
import { projectEnv, projectOf, StackTarget, UserError } from "../stack/run";
import { checkStateStorage } from "../stack/storage";
import { CutoverError, describeStep, formatWeights, makePlan, plannedSteps, operatorRevert, planOf, PlanRequest, resume as resumeCore, sameSplit, start } from "./core";
import { utcStamp } from "../stack/snapshot";
import { drive, DriveOptions } from "./run";
import { AutomationStackStore, Intent, lockCutover, StackState, StackStore } from "./stackState";
import { validateRequest } from "./options";
import { requireTests } from "./preflight";
import { impactGate, ImpactGateOptions } from "./impactGate";
import { Checkpoint, CutoverPlan, CutoverPort, FINAL_PHASES, GateSpec, TrafficWeights } from "./types";
import { CommandMigrations, commandMigrations } from "./migrations";

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
export { formatEvent, jsonLine, formatPlan } from "./display";
export { CommandMigrations, CommandMigrationsOptions, commandMigrations } from "./migrations";
export { dataDropped, pointOfNoReturn, sqlSections, SAFE_TO_REVERSE } from "./migrationsPlan";

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
        if (plan.flagSteps && !port.flags) {
            throw new UserError(`stack "${target.stackName}" serves no flag file (no flagsFile output on ${port.platform}): a plan with flag steps cannot run; run \`switchyard up ${target.stackName}\` with switchyard:flags declared`);
        }
        // switchyard:cutover.requireTests: refused, nothing changed, without a passing run of each suite.
        await requireTests(target, plan.to, state.outputs);
        // The impact map (with `impact`): shown, and a plan its risk tier does not allow refused, nothing changed.
        if (opts.impact) await impactGate(target, plan, state.outputs, opts.impact);
        const now = (opts.now ?? (() => new Date()))();
        return drive(port, plan, start(plan, state.weights, newId(now), now.toISOString()), opts);
    });
}

async function planFor(target: StackTarget, req: Omit<PlanRequest, "current" | "migrate">, opts: CutoverOptions, state: StackState, port: CutoverPort): Promise<CutoverPlan> {
    const migrate = opts.migrate ? await migratePlan(target, port) : undefined;
    return asUserError(() =>
        makePlan({ ...req, current: state.weights, steps: req.steps ?? plannedSteps(state.plannedSteps), flagNames: Object.keys(state.flags ?? {}), gate: withDefaults(port, req.gate), ...(migrate ? { migrate } : {}) }),
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
export async function resume(target: StackTarget, gate: Partial<GateSpec> = {}, opts: DriveOptions & PairOption = {}): Promise<Checkpoint> {
    validateRequest(target, { gate });
    return withLock(target, opts, async (store) => {
        const { state, port } = await open(target, store);
        await discardPartialBackups(target, port);
        const cp = effectiveCheckpoint(state);
        if (!cp || FINAL_PHASES.includes(cp.phase)) {
            throw new UserError(`stack "${target.stackName}" has no unfinished cutover to resume${cp ? ` (the last one, ${cp.id}, ${cp.phase})` : ""}`);
        }
        const plan = asUserError(() => planOf(cp, withDefaults(port, gate)));
        return drive(port, plan, asUserError(() => resumeCore(cp, plan, new Date().toISOString())), opts);
    });
}

/** All traffic back to the color live before the last cutover (or the live one), read back. */
export async function revert(target: StackTarget, opts: DriveOptions & PairOption & { reason?: string } = {}): Promise<Checkpoint> {
    validateRequest(target);
    return withLock(target, opts, async (store) => {
        const { state, port } = await open(target, store);
        await discardPartialBackups(target, port);
        const now = (opts.now ?? (() => new Date()))();
        const first = operatorRevert(state.weights, effectiveCheckpoint(state), newId(now), now.toISOString(), opts.reason);
        return drive(port, planOf(first.checkpoint), first, opts);
    });
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
    /** Every disagreement, named; empty when intent, state, config and router agree. */
    readonly disagreements: string[];
    readonly inAgreement: boolean;
}

/** Pure: the disagreements among intent, state, config and router. */
export function disagreements(s: Pick<CutoverStatus, "weightsInState" | "weightsInConfig" | "weightsServed" | "intent" | "checkpoint">, stack: string): string[] {
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
    return out;
}

export async function status(target: StackTarget, o: PairOption = {}): Promise<CutoverStatus> {
    validateRequest(target);
    const { state, port } = await open(target, new AutomationStackStore(target, o.pair));
    const served = await port.servedWeights();
    const base = {
        weightsInState: state.weights,
        weightsInConfig: state.configWeights,
        weightsServed: served,
        checkpoint: state.checkpoint,
        intent: state.intent,
    };
    const problems = disagreements(base, target.stackName);
    return { platform: port.platform, pair: state.pair, ...base, disagreements: problems, inAgreement: problems.length === 0 };
}

/**
 * Puts weights straight into the stack's config and clears its cutover checkpoint, with no `up`:
 * for resetting a stack that is about to be destroyed or brought up afresh (the demo's `--down`).
 */
export async function resetWeights(target: StackTarget, weights: TrafficWeights, o: PairOption = {}): Promise<void> {
    await new AutomationStackStore(target, o.pair).reset(weights);
}
