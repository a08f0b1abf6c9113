/**
 * The gate's early stop: a sequential test that may declare a failure as soon as the evidence is
 * conclusive, however often the counters are read, with a false-alarm rate that holds under that
 * continuous monitoring. Pure.
 *
 * The test is Wald's sequential probability ratio test, one-sided, on a share of "bad" requests
 * (errors, or requests slower than the latency ceiling):
 * - H0: the bad share is `allowed` (the gate's limit: 1% for a 99% success rate, or for p99);
 * - H1: the bad share is `breach` (a clear breach, `breachShare(allowed)`).
 *
 * The likelihood ratio of H1 to H0, taken over the requests seen so far, is a nonnegative martingale
 * when the bad share is `allowed`, and a supermartingale when it is lower. By Ville's inequality it
 * ever reaches 1/α with probability at most α. So a color that meets the gate is failed early with
 * probability at most α per window, whether the ratio is read once or every 250 ms. Reading counters
 * in batches only looks at the ratio at fewer moments, which keeps the bound.
 *
 * A pass is never declared early: it needs the full window and the minimum request count (`core.ts`).
 */

/** How bad a share must be to count as a clear breach: 5× the allowed share, at least 2 points more, and halfway to 1 at most. */
export function breachShare(allowed: number): number {
    return Math.min((1 + allowed) / 2, Math.max(5 * allowed, allowed + 0.02));
}

export interface Evidence {
    /** Log of the likelihood ratio of a breach to the limit, over the requests seen. */
    readonly logRatio: number;
    /** The log ratio at which the evidence is conclusive: ln(1/α). */
    readonly bound: number;
    readonly conclusive: boolean;
}

/**
 * The evidence that the share of bad requests exceeds `allowed`, from `bad` of `total` requests.
 *
 * @param allowed the gate's limit on the bad share, 0..1 (0: any bad request is a breach)
 * @param alpha the false-alarm rate, 0..1 exclusive
 * @example
 * breachEvidence(20, 100, 0.01, 0.001).conclusive // true: 20 errors in 100 requests against a 99% gate
 * breachEvidence(1, 100, 0.01, 0.001).conclusive  // false
 */
export function breachEvidence(bad: number, total: number, allowed: number, alpha: number): Evidence {
    const bound = Math.log(1 / alpha);
    const good = Math.max(0, total - bad);
    if (bad <= 0 || allowed >= 1) {
        return { logRatio: allowed >= 1 ? -Infinity : good * Math.log((1 - breachShare(allowed)) / (1 - allowed)), bound, conclusive: false };
    }
    if (allowed <= 0) {
        // Nothing bad is allowed: one bad request is proof.
        return { logRatio: Infinity, bound, conclusive: true };
    }
    const breach = breachShare(allowed);
    const logRatio = bad * Math.log(breach / allowed) + good * Math.log((1 - breach) / (1 - allowed));
    return { logRatio, bound, conclusive: logRatio >= bound };
}

/**
 * The fewest bad requests, all in a row with no good one, that make the evidence conclusive: what a
 * clear breach costs before it is caught, at best.
 *
 * @example
 * minimumBadToFail(0.01, 0.001) // 5 (ln 1000 / ln 5)
 */
export function minimumBadToFail(allowed: number, alpha: number): number {
    if (allowed <= 0) return 1;
    if (allowed >= 1) return Infinity;
    return Math.ceil(Math.log(1 / alpha) / Math.log(breachShare(allowed) / allowed));
}
