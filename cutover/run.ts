/**
 * The driver: carries out the core's actions on a platform port and feeds the results back, until
 * the cutover is promoted, reverted or failed. The only side effects are the port's; the only output
 * is the event stream.
 */
import { advance, Transition } from "./core";
import { Action, Checkpoint, CutoverEvent, CutoverPlan, CutoverPort, Input, TrafficWeights } from "./types";

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

async function perform(port: CutoverPort, action: Action, cp: Checkpoint, signal: AbortSignal | undefined, emit: (e: CutoverEvent) => void, now: () => string): Promise<Input> {
    const intent = (kind: "apply" | "revert" | "backup", weights?: TrafficWeights) =>
        port.recordIntent({ id: cp.id, action: kind, weights, checkpoint: cp, at: now() });
    switch (action.kind) {
        case "pretest":
            return { kind: "pretested", sample: await port.pretest(action.color) };
        case "backup":
            await intent("backup");
            return { kind: "backedUp", name: await port.backup() };
        case "revert":
        case "apply": {
            // Intent first, then the router (at once, read back), then the stack's config and `up`. An
            // `up` is never interrupted half-way: an abort is seen once it has finished.
            const reverting = action.kind === "revert";
            try {
                await intent(action.kind, action.weights);
            } catch (e) {
                // A revert goes on without its intent (a full or read-only disk under the backend):
                // taking traffic off the new color matters more than the record, and the router's
                // read-back says where traffic stands. The failure to record surfaces below.
                if (!reverting) {
                    throw e;
                }
            }
            let direct: string | undefined;
            if (port.applyNow) {
                try {
                    await port.applyNow(action.weights);
                    if (reverting) {
                        emit({ type: "applied", at: now(), served: await port.servedWeights() });
                    }
                } catch (e) {
                    if (!reverting) {
                        throw e;
                    }
                    // The router cannot be reached (a dead HAProxy): the stack's `up` sets the weights
                    // instead, and starts a router it finds stopped.
                    direct = (e as Error).message;
                }
            }
            try {
                await port.apply(action.weights, cp);
            } catch (e) {
                if (reverting && port.applyNow) {
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
            return { kind: "applied", served: await port.servedWeights() };
        }
        case "observe":
            return { kind: "sampled", sample: await port.sample(action.color, action.windowMs, signal) };
        case "done":
            throw new Error("nothing to perform after done");
    }
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
    let t = first;
    emit(t.events);
    while (t.action.kind !== "done") {
        let input: Input;
        const signal = opts.signal;
        if (signal?.aborted && t.checkpoint.phase !== "reverting") {
            input = { kind: "abort", reason: abortReason(signal) };
        } else {
            try {
                input = await perform(port, t.action, t.checkpoint, signal, (e) => emit([e]), now);
            } catch (e) {
                input =
                    signal?.aborted && t.checkpoint.phase !== "reverting"
                        ? { kind: "abort", reason: abortReason(signal) }
                        : { kind: "error", message: (e as Error).message, ...((e as { routerReverted?: boolean }).routerReverted ? { routerReverted: true } : {}) };
            }
        }
        t = advance(t.checkpoint, plan, input, now());
        emit(t.events);
    }
    try {
        await port.record(t.checkpoint);
    } catch (e) {
        const cp = t.checkpoint;
        throw new Error(`cutover ${cp.id} ended ${cp.phase}${cp.reason ? ` (${cp.reason})` : ""}, but recording that in the stack failed: ${(e as Error).message}`);
    }
    return t.checkpoint;
}
