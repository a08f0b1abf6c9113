/**
 * The cutover's library API: what `switchyard cutover | status | resume | revert` call. Each reads
 * the stack's state, picks the platform's adapter, and runs the pure core through the driver.
 *
 * @example
 * const cp = await cutover({ stackName: "local" }, { steps: [10, 50, 100] }, { onEvent: console.log });
 */
import * as path from "path";
import { StackTarget, UserError } from "../stack/run";
import { switchyardHome } from "../stack/env";
import { CutoverError, makePlan, operatorRevert, planOf, PlanRequest, resume as resumeCore, sameSplit, start } from "./core";
import { utcStamp } from "../stack/snapshot";
import { drive, DriveOptions } from "./run";
import { AutomationStackStore, lockCutover, StackState, StackStore } from "./stackState";
import { validateRequest } from "./options";
import { Checkpoint, CutoverPort, FINAL_PHASES, GateSpec, TrafficWeights } from "./types";

export * from "./types";
export * from "./core";
export { drive, pause } from "./run";
export { probe } from "./probe";
export { AutomationStackStore, StackStore, StackState, lockCutover } from "./stackState";
export { validateRequest } from "./options";

/** Picks the adapter for the stack's platform (its `platform` output). */
export async function portFor(target: StackTarget, store: StackStore, state: StackState): Promise<CutoverPort> {
    const platform = state.outputs.platform;
    if (platform === "local") {
        const { LocalCutoverPort } = await import("./local");
        return new LocalCutoverPort(store, target, state.outputs);
    }
    if (platform === "aws") {
        const { AwsCutoverPort } = await import("./aws");
        return new AwsCutoverPort(store, state.outputs, { stackName: `stack "${target.stackName}"` });
    }
    throw new UserError(`stack "${target.stackName}" reports platform ${JSON.stringify(platform)}: the cutover drives "local" and "aws"`);
}

const newId = (now: Date) => `cutover-${utcStamp(now)}`;

async function withLock<T>(target: StackTarget, fn: () => Promise<T>): Promise<T> {
    const release = lockCutover(path.join(switchyardHome(), "locks"), target.stackName);
    try {
        return await fn();
    } finally {
        release();
    }
}

async function open(target: StackTarget): Promise<{ store: StackStore; state: StackState; port: CutoverPort }> {
    const store = new AutomationStackStore(target);
    const state = await store.readState();
    return { store, state, port: await portFor(target, store, state) };
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
                `${cp.to} ${cp.steps[Math.max(cp.step, 0)]}%): run \`switchyard resume ${target.stackName}\` or \`switchyard revert ${target.stackName}\``,
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
export async function cutover(target: StackTarget, req: Omit<PlanRequest, "current">, opts: DriveOptions = {}): Promise<Checkpoint> {
    validateRequest(target, req);
    return withLock(target, async () => {
        const { state, port } = await open(target);
        refuseUnfinished(target, state.checkpoint);
        const plan = asUserError(() => makePlan({ ...req, current: state.weights, steps: req.steps ?? state.plannedSteps, gate: withDefaults(port, req.gate) }));
        const now = (opts.now ?? (() => new Date()))();
        return drive(port, plan, start(plan, state.weights, newId(now), now.toISOString()), opts);
    });
}

/** Picks up an unfinished cutover at the step it stood at. */
export async function resume(target: StackTarget, gate: Partial<GateSpec> = {}, opts: DriveOptions = {}): Promise<Checkpoint> {
    validateRequest(target, { gate });
    return withLock(target, async () => {
        const { state, port } = await open(target);
        const cp = state.checkpoint;
        if (!cp || FINAL_PHASES.includes(cp.phase)) {
            throw new UserError(`stack "${target.stackName}" has no unfinished cutover to resume${cp ? ` (the last one, ${cp.id}, ${cp.phase})` : ""}`);
        }
        const plan = asUserError(() => planOf(cp, withDefaults(port, gate)));
        return drive(port, plan, asUserError(() => resumeCore(cp, plan, new Date().toISOString())), opts);
    });
}

/** All traffic back to the color live before the last cutover (or the live one), read back. */
export async function revert(target: StackTarget, opts: DriveOptions & { reason?: string } = {}): Promise<Checkpoint> {
    validateRequest(target);
    return withLock(target, async () => {
        const { state, port } = await open(target);
        const now = (opts.now ?? (() => new Date()))();
        const first = operatorRevert(state.weights, state.checkpoint, newId(now), now.toISOString(), opts.reason);
        return drive(port, planOf(first.checkpoint), first, opts);
    });
}

/** What `status` shows: the weights in state, the ones served, health, and the checkpoint. */
export interface CutoverStatus {
    readonly platform: string;
    readonly weightsInState: TrafficWeights;
    readonly weightsServed: TrafficWeights;
    readonly checkpoint?: Checkpoint;
    readonly inAgreement: boolean;
}

export async function status(target: StackTarget): Promise<CutoverStatus> {
    validateRequest(target);
    const { state, port } = await open(target);
    const served = await port.servedWeights();
    return {
        platform: port.platform,
        weightsInState: state.weights,
        weightsServed: served,
        checkpoint: state.checkpoint,
        inAgreement: sameSplit(state.weights, served),
    };
}

/**
 * Puts weights straight into the stack's config and clears its cutover checkpoint, with no `up`:
 * for resetting a stack that is about to be destroyed or brought up afresh (the demo's `--down`).
 */
export async function resetWeights(target: StackTarget, weights: TrafficWeights): Promise<void> {
    await new AutomationStackStore(target).reset(weights);
}
