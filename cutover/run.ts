/**
 * The driver: carries out the core's actions on a platform port and feeds the results back, until
 * the cutover is promoted, reverted or failed. The only side effects are the port's; the only output
 * is the event stream.
 */
import { advance, earlyFailure, Transition, windowEnds } from "./core";
import { Action, Checkpoint, Color, CutoverEvent, CutoverPlan, CutoverPort, FlagStage, FlagStep, Input, MigrationsPort, Sample, TrafficWeights } from "./types";
import type { DatabaseSwitch } from "./switchStep";

export interface DriveOptions {
    /** Receives every event, in order. */
    readonly onEvent?: (e: CutoverEvent) => void;
    /** Aborting it reverts the cutover (Ctrl-C does this in the CLI). */
    readonly signal?: AbortSignal;
    /** The clock. @default () => new Date() */
    readonly now?: () => Date;
}

/** Waits ms, or rejects when the signal aborts. */
export function pause(ms: number, signal?: AbortSignal): Promise<void> {
    return new Promise((resolve, reject) => {
        if (signal?.aborted) {
            reject(new Error("aborted"));
            return;
        }
        const timer = setTimeout(() => {
            signal?.removeEventListener("abort", onAbort);
            resolve();
        }, ms);
        const onAbort = () => {
            clearTimeout(timer);
            reject(new Error("aborted"));
        };
        signal?.addEventListener("abort", onAbort, { once: true });
    });
}

/**
 * A stack `up` running in the background while the step it records is already observed: the step's
 * weights went to the router first. At most one runs at a time; the next step, a pass and the end of
 * the cutover wait for it, so the state never lags the router by more than one step.
 */
interface Pending {
    readonly done: Promise<void>;
    error?: Error;
}

/** What one run of the driver carries between actions. */
interface Context {
    readonly port: CutoverPort;
    readonly plan: CutoverPlan;
    readonly signal?: AbortSignal;
    readonly emit: (e: CutoverEvent) => void;
    readonly now: () => string;
    pending?: Pending;
}

function background(work: Promise<void>): Pending {
    const p: { done: Promise<void>; error?: Error } = { done: Promise.resolve() };
    p.done = work.then(
        () => undefined,
        (e: Error) => {
            p.error = e;
        },
    );
    return p;
}

/** Waits for the step's `up` in the background, if any; throws its error. */
async function settle(ctx: Context): Promise<void> {
    const p = ctx.pending;
    if (!p) return;
    await p.done;
    ctx.pending = undefined;
    if (p.error) throw p.error;
}

async function perform(ctx: Context, action: Action, cp: Checkpoint): Promise<Input> {
    const { port, signal, emit, now } = ctx;
    const intent = (kind: "apply" | "revert" | "backup" | "flag" | "migrate" | "migrateDown" | "switch", weights?: TrafficWeights, flag?: FlagStep, checkpoint: Checkpoint = cp) =>
        port.recordIntent({ id: cp.id, action: kind, weights, ...(flag ? { flag } : {}), checkpoint, at: now() });
    switch (action.kind) {
        case "pretest":
            return { kind: "pretested", sample: await port.pretest(action.color) };
        case "backup":
            await settle(ctx);
            await intent("backup");
            return { kind: "backedUp", name: await port.backup() };
        case "migrate": {
            // The migrations applied before are recorded in the intent before `up` runs (taken from
            // the checkpoint when a migrate step cut short is taken again), so a kill inside `up`
            // leaves a record of which migrations are this cutover's: those applied now, not before.
            await settle(ctx);
            const m = migrationsOf(port);
            const before = cp.migrate?.before ?? (await m.applied());
            await intent("migrate", cp.weights, undefined, { ...cp, migrate: { ...cp.migrate!, before } });
            let error: string | undefined;
            await m.up().catch((e: Error) => (error = e.message));
            const after = await m.applied();
            return { kind: "migrated", before, applied: after.filter((id) => !before.includes(id)), ...(error !== undefined ? { error } : {}) };
        }
        case "migrateDown": {
            // Traffic is back on the old color: the backward migration of what this cutover applied
            // (read again, as a kill may have cut its `up` or an earlier `down` short), then checked.
            await intent("migrateDown", cp.weights);
            const m = migrationsOf(port);
            const ours = (await m.applied()).filter((id) => !action.before.includes(id));
            try {
                if (ours.length > 0) await m.down(ours.length);
            } catch (e) {
                throw Object.assign(new Error(`traffic is back on ${cp.from}, but the backward migration failed: ${(e as Error).message}`), { routerReverted: true });
            }
            const still = await m.applied();
            return { kind: "migratedDown", removed: ours.filter((id) => !still.includes(id)), remaining: ours.filter((id) => still.includes(id)) };
        }
        case "apply": {
            if (port.databases) return switchStep(ctx, port.databases, action.weights, cp, (w) => intent("switch", w));
            // The previous step's state first (state lags by one step at most), then the intent, then
            // the router (at once, read back), and the window opens while the stack's `up` records
            // the step in the background.
            await settle(ctx);
            await intent("apply", action.weights);
            if (!port.applyNow) {
                await port.apply(action.weights, cp);
                return { kind: "applied", served: await port.servedWeights() };
            }
            await port.applyNow(action.weights);
            const served = await port.servedWeights();
            ctx.pending = background(port.apply(action.weights, cp));
            return { kind: "applied", served };
        }
        case "flag": {
            // As a weight step: the previous step's state first, the intent, the flag set now where
            // the app reads it and read back, and the window opens while the stack's `up` records the
            // flag's stage in `switchyard:flags` (so config, state and the served file agree).
            await settle(ctx);
            const flags = port.flags;
            if (!flags) {
                throw new Error(`the ${port.platform} platform runs no flag steps: it has no flag file to set ${action.flag} in`);
            }
            await intent("flag", cp.weights, { flag: action.flag, stage: action.stage });
            await flags.setNow(action.flag, action.stage);
            const served = await flags.served(action.flag);
            emit({ type: "flag", at: now(), flag: action.flag, stage: action.stage, served });
            ctx.pending = background(port.apply(cp.weights, cp, { [action.flag]: action.stage }));
            return { kind: "flagSet", served };
        }
        case "revert": {
            // Intent, router at once, then the stack. A step's `up` still running is waited for after
            // the router has moved (the engine runs one update at a time); its failure does not
            // matter, since the revert's own `up` sets the weights. An `up` is never interrupted
            // half-way: an abort is seen once it has finished.
            try {
                await intent("revert", action.weights);
            } catch {
                // A revert goes on without its intent (a full or read-only disk under the backend):
                // taking traffic off the new color matters more than the record, and the router's
                // read-back says where traffic stands. The failure to record surfaces below.
            }
            // Flags first: the flagged path is off before any weight moves.
            const flagsOff = action.flagsOff ?? [];
            const flagProblems = await flagsOffNow(ctx, flagsOff);
            let direct: string | undefined;
            if (port.databases) {
                // A replicated pair: the writes go back by the switchover the other way, never by the weights alone.
                await settle(ctx).catch(() => undefined);
                await switchDatabasesTo(ctx, port.databases, action.weights);
            } else if (port.applyNow) {
                try {
                    await port.applyNow(action.weights);
                    emit({ type: "applied", at: now(), served: await port.servedWeights() });
                } catch (e) {
                    // The router cannot be reached (a dead HAProxy): the stack's `up` sets the weights
                    // instead, and starts a router it finds stopped.
                    direct = (e as Error).message;
                }
            }
            if (ctx.pending) {
                // The step's `up` would set the step's weights again when it reaches the router: the
                // router is held at the revert's, and they are set once more after it.
                const held = direct === undefined && port.hold ? await port.hold(action.weights).then(() => true, () => false) : false;
                // Likewise a flag step's `up` would write its stage into the flag file again: held off.
                const flagHold = flagsOff.length > 0 ? holdFlagsOff(ctx, flagsOff) : undefined;
                await ctx.pending.done;
                await flagHold?.stop();
                ctx.pending = undefined;
                if (direct === undefined && port.applyNow) {
                    await port.applyNow(action.weights).catch(() => undefined);
                }
                if (held) await port.hold?.(undefined).catch(() => undefined);
                // A flag step's `up` may have written its stage into the flag file after the flag
                // went off: off again, at once.
                if (flagsOff.length > 0) flagProblems.push(...(await flagsOffNow(ctx, flagsOff, false)));
            }
            const off: Record<string, FlagStage> = Object.fromEntries(flagsOff.map((f) => [f, "off" as const]));
            try {
                await port.apply(action.weights, cp, flagsOff.length > 0 ? off : undefined);
            } catch (e) {
                if (port.applyNow) {
                    throw Object.assign(
                        new Error(
                            direct === undefined
                                ? `the router was reverted at once, but recording the revert in the stack failed: ${(e as Error).message}; run \`switchyard revert\` again`
                                : `the router could not be reverted at once (${direct}), nor through the stack: ${(e as Error).message}`,
                        ),
                        { routerReverted: direct === undefined },
                    );
                }
                throw e;
            }
            if (flagProblems.length > 0) {
                throw Object.assign(new Error(`traffic went back, but ${flagProblems.join("; ")}; run \`switchyard revert\` again`), { routerReverted: true });
            }
            return { kind: "applied", served: await port.servedWeights() };
        }
        case "observe":
            return { kind: "sampled", sample: await observe(ctx, action.color, cp, action.flag) };
        case "done":
            throw new Error("nothing to perform after done");
    }
}

/** The color a set of weights sends all traffic to, if one. */
const soleColor = (w: TrafficWeights): Color | undefined => (w.blue > 0 && w.green === 0 ? "blue" : w.green > 0 && w.blue === 0 ? "green" : undefined);

/**
 * Moves a replicated pair's writes so the router sends all traffic where `weights` say: the
 * switchover when the router serves the other color, else replication put in agreement with the
 * router (after a switchover cut short: one way only). Emits what it did.
 */
async function switchDatabasesTo(ctx: Context, db: DatabaseSwitch, weights: TrafficWeights): Promise<void> {
    const to = soleColor(weights);
    if (!to) throw new Error(`a replicated pair switches all traffic at once: ${weights.blue}/${weights.green} splits it`);
    const served = await ctx.port.servedWeights();
    if (soleColor(served) !== to) {
        const from = to === "blue" ? "green" : "blue";
        const r = await db.switchover(from, to);
        ctx.emit({ type: "switchover", at: ctx.now(), ...r });
    } else {
        for (const did of await db.reconcile()) ctx.emit({ type: "reconciled", at: ctx.now(), did });
    }
}

/**
 * A replicated pair's step: the intent (`switch`), the switchover (the router's weights 0/100 in
 * it), then the stack's `up` records the weights (config and state agree with the direction). A
 * switchover refused before anything moved (the lag gate) is an error marked `unmoved`.
 */
async function switchStep(ctx: Context, db: DatabaseSwitch, weights: TrafficWeights, cp: Checkpoint, intent: (w: TrafficWeights) => Promise<void>): Promise<Input> {
    await settle(ctx);
    await intent(weights);
    const before = await ctx.port.servedWeights();
    try {
        await switchDatabasesTo(ctx, db, weights);
    } catch (e) {
        const after = await ctx.port.servedWeights().catch(() => undefined);
        const unmoved = after !== undefined && soleColor(after) === soleColor(before) && soleColor(before) !== soleColor(weights);
        throw Object.assign(new Error((e as Error).message), unmoved ? { unmoved: true } : {});
    }
    await ctx.port.apply(weights, cp);
    return { kind: "applied", served: await ctx.port.servedWeights() };
}

function migrationsOf(port: CutoverPort): MigrationsPort {
    if (!port.migrations) {
        throw new Error(`the stack names no migration tool (switchyard:migrations.command) or no database URL on ${port.platform}: the migrate step cannot run`);
    }
    return port.migrations;
}

/**
 * One window on the new color. With a port that can be read at every tick, the window ends early on
 * a failure the evidence proves (`earlyFailure`), or on a failed `up` of the step; a window that runs
 * its full length waits for the step's `up` before its sample is judged. Without one, a whole window
 * is measured at once.
 */
async function observe(ctx: Context, color: Color, cp: Checkpoint, flag?: string): Promise<Sample> {
    const { port, plan, signal } = ctx;
    const gate = plan.gate;
    if (!port.watch) {
        const sample = await port.sample(color, gate.intervalMs, signal);
        await settle(ctx);
        return sample;
    }
    const w = await port.watch(color, gate, flag);
    try {
        const t0 = performance.now();
        for (;;) {
            await pause(Math.max(1, Math.min(gate.tickMs, gate.intervalMs - (performance.now() - t0))), signal);
            if (ctx.pending?.error) {
                await settle(ctx);
            }
            const s = await w.read();
            ctx.emit({ type: "progress", at: ctx.now(), step: cp.step + 1, sample: s });
            if (windowEnds(s, gate, performance.now() - t0)) {
                // A failure is judged at once; a full window waits for its step's state first.
                if (!earlyFailure(s, gate)) await settle(ctx);
                return s;
            }
        }
    } finally {
        await w.close().catch(() => undefined);
    }
}

/**
 * Keeps flags off while a step's `up` runs: reads them back every `holdPollMs` and sets any that is
 * not off again at once. `stop()` ends it.
 */
function holdFlagsOff(ctx: Context, names: readonly string[]): { stop: () => Promise<void> } {
    const flags = ctx.port.flags;
    let stopped = false;
    const loop = (async () => {
        while (!stopped && flags) {
            await pause(flags.holdPollMs ?? 50);
            for (const f of names) {
                if (stopped) break;
                const s = await flags.served(f).catch(() => "off" as const);
                if (s !== "off" && s !== undefined && !stopped) await flags.setNow(f, "off").catch(() => undefined);
            }
        }
    })();
    return {
        stop: async () => {
            stopped = true;
            await loop;
        },
    };
}

/**
 * Sets flags off where the app reads them and reads each back; returns what failed, named (a revert
 * goes on to the weights whatever happens here). `emitEach`: an event per flag.
 */
async function flagsOffNow(ctx: Context, names: readonly string[], emitEach = true): Promise<string[]> {
    const problems: string[] = [];
    const flags = ctx.port.flags;
    if (names.length === 0) return problems;
    if (!flags) {
        // Without a flags port no flag step ran: nothing was set that could be served on.
        return problems;
    }
    await Promise.all(
        names.map(async (f) => {
            try {
                await flags.setNow(f, "off");
                const served = await flags.served(f);
                if (emitEach) ctx.emit({ type: "flag", at: ctx.now(), flag: f, stage: "off", served });
                if (served !== "off" && served !== undefined) problems.push(`flag ${f} is still served at ${served} after it was set off`);
            } catch (e) {
                problems.push(`flag ${f} could not be turned off: ${(e as Error).message}`);
            }
        }),
    );
    return problems;
}

function abortReason(signal: AbortSignal): string {
    const r = signal.reason as unknown;
    return typeof r === "string" ? r : "stopped by the operator";
}

/**
 * Runs a cutover from a first transition (from `start`, `resume` or `operatorRevert`) to its end, and
 * records the final checkpoint in the stack. Returns the final checkpoint.
 */
export async function drive(port: CutoverPort, plan: CutoverPlan, first: Transition, opts: DriveOptions = {}): Promise<Checkpoint> {
    const now = () => (opts.now ?? (() => new Date()))().toISOString();
    // A listener that throws (a closed pipe, a full disk) must never stop a cutover half-way.
    const emit = (events: CutoverEvent[]) =>
        events.forEach((e) => {
            try {
                opts.onEvent?.(e);
            } catch {
                /* the cutover goes on; the listener misses this event */
            }
        });
    const ctx: Context = { port, plan, signal: opts.signal, emit: (e) => emit([e]), now };
    let t = first;
    emit(t.events);
    while (t.action.kind !== "done") {
        let input: Input;
        const signal = opts.signal;
        if (signal?.aborted && t.checkpoint.phase !== "reverting") {
            input = { kind: "abort", reason: abortReason(signal) };
        } else {
            try {
                input = await perform(ctx, t.action, t.checkpoint);
            } catch (e) {
                input =
                    signal?.aborted && t.checkpoint.phase !== "reverting"
                        ? { kind: "abort", reason: abortReason(signal) }
                        : {
                              kind: "error",
                              message: (e as Error).message,
                              ...((e as { routerReverted?: boolean }).routerReverted ? { routerReverted: true } : {}),
                              ...((e as { unmoved?: boolean }).unmoved ? { unmoved: true } : {}),
                          };
            }
        }
        const was = t.checkpoint.phase;
        t = advance(t.checkpoint, plan, input, now());
        emit(t.events);
        if (t.checkpoint.phase === "watching" && was !== "watching") {
            // The watch and its end are recorded as it starts: a cutover killed during it is resumed to that end, or reverted.
            await settle(ctx).catch(() => undefined);
            await port.record(t.checkpoint);
        }
    }
    // A step's `up` still running (a pause, or a failure before the first step's state caught up).
    await ctx.pending?.done;
    try {
        await port.record(t.checkpoint);
    } catch (e) {
        const cp = t.checkpoint;
        throw new Error(`cutover ${cp.id} ended ${cp.phase}${cp.reason ? ` (${cp.reason})` : ""}, but recording that in the stack failed: ${(e as Error).message}`);
    }
    return t.checkpoint;
}
