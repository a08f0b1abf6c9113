/**
 * Whole cutovers simulated tick by tick through the decisions the driver makes (`windowEnds`,
 * `advance`): what a gate does with a green of a given failure and slow share, at a given request
 * rate, with no process, clock or network. For choosing a gate, and for the tests and bench that
 * count false reverts and time verdicts. Random draws come from a seeded generator (`rng`).
 */
import { advance, start, windowEnds } from "./core";
import { Checkpoint, CutoverPlan, Sample } from "./types";

/** mulberry32: a small, well-known seeded generator. */
export function rng(seed: number): () => number {
    let a = seed >>> 0;
    return () => {
        a = (a + 0x6d2b79f5) >>> 0;
        let t = a;
        t = Math.imul(t ^ (t >>> 15), t | 1);
        t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
        return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
    };
}

/** Draws how many of n requests are bad, each with chance p. */
export function binomial(next: () => number, n: number, p: number): number {
    let k = 0;
    for (let i = 0; i < n; i++) if (next() < p) k++;
    return k;
}

export interface Green {
    /** Share of green's requests that fail, 0..1. */
    readonly failShare: number;
    /** Share of green's requests slower than the gate's ceiling. */
    readonly slowShare?: number;
}

export interface Simulated {
    readonly phase: Checkpoint["phase"];
    /** Time from the first step's onset to a failing verdict, in ms. */
    readonly verdictMs?: number;
    /** Failed requests green answered before the verdict. */
    readonly errors: number;
    readonly reason?: string;
}

/**
 * One cutover, tick by tick: at each step the router serves the weight at once; each tick green gets
 * its share of `rps` requests, some failing, some slow; the window ends as the driver's would.
 */
export function simulate(next: () => number, plan: CutoverPlan, rps: number, green: Green): Simulated {
    const g = plan.gate;
    let t = start(plan, { blue: 100, green: 0 }, "sim", "t");
    let clock = 0;
    let errors = 0;
    let onset: number | undefined;
    let window: { requests: number; errors: number; timed: number; slow: number; elapsed: number } | undefined;
    for (let guard = 0; guard < 10_000 && t.action.kind !== "done"; guard++) {
        const a = t.action;
        if (a.kind === "apply" || a.kind === "revert") {
            onset ??= clock;
            t = advance(t.checkpoint, plan, { kind: "applied", served: a.weights }, "t");
            window = undefined;
            continue;
        }
        if (a.kind !== "observe") throw new Error(`unexpected action ${a.kind}`);
        window ??= { requests: 0, errors: 0, timed: 0, slow: 0, elapsed: 0 };
        const share = t.checkpoint.weights.green / 100;
        const n = Math.round((rps * share * g.tickMs) / 1000);
        const bad = binomial(next, n, green.failShare);
        window.requests += n;
        window.errors += bad;
        window.timed += n;
        window.slow += binomial(next, n, green.slowShare ?? 0);
        window.elapsed += g.tickMs;
        clock += g.tickMs;
        errors += bad;
        const s: Sample = { color: "green", requests: window.requests, errors: window.errors, timed: window.timed, slow: window.slow, healthy: true, windowMs: window.elapsed };
        if (!windowEnds(s, g, window.elapsed)) continue;
        t = advance(t.checkpoint, plan, { kind: "sampled", sample: s }, "t");
        window = undefined;
        if (t.checkpoint.phase === "reverting") {
            return { phase: "reverted", verdictMs: clock - (onset ?? 0), errors, reason: t.checkpoint.reason };
        }
    }
    return { phase: t.checkpoint.phase, errors };
}

