/**
 * Pre-traffic probes: a few real requests through a test listener, which always forwards to the idle
 * color, before any live traffic reaches it (CodeDeploy's AfterAllowTestTraffic, Flagger's
 * pre-rollout). Shared by every platform.
 */
import { Color, Sample } from "./types";

export interface ProbeOptions {
    /** Requests to send. @default 20 */
    readonly requests?: number;
    /** Per-request timeout in milliseconds. @default 5000 */
    readonly timeoutMs?: number;
}

/** Sends GETs to url one after another; errors are non-2xx answers, resets and timeouts. */
export async function probe(url: string, color: Color, o: ProbeOptions = {}): Promise<Sample> {
    const n = o.requests ?? 20;
    let errors = 0;
    let totalMs = 0;
    const t0 = Date.now();
    for (let i = 0; i < n; i++) {
        const started = Date.now();
        try {
            const r = await fetch(url, { signal: AbortSignal.timeout(o.timeoutMs ?? 5000) });
            await r.arrayBuffer();
            if (r.status < 200 || r.status > 299) {
                errors++;
            }
        } catch {
            errors++;
        }
        totalMs += Date.now() - started;
    }
    return { color, requests: n, errors, latencyMs: n > 0 ? totalMs / n : undefined, healthy: errors < n, windowMs: Date.now() - t0 };
}
