/**
 * Steady writes through the router, each with a unique id, so every write can be looked for in
 * both databases afterwards: autocannon POSTs `/items` with `{ name: "<prefix>-<n>" }` (the example
 * app's write), each connection sending one every `connections / rate` seconds.
 *
 * @example
 * const w = startWriteLoad("http://127.0.0.1:18080", { rate: 250, prefix: "run1" });
 * await switchDatabases(...);
 * const r = await w.stop(); // r.acked: ids answered 2xx; r.failed: answered otherwise; r.unknown: no answer
 */
import autocannon from "autocannon";
import { paceClient } from "./traffic";

export interface WriteLoadOptions {
    /** Writes per second over all connections. @default 250 */
    readonly rate?: number;
    /** Concurrent connections. @default 10 */
    readonly connections?: number;
    /** Stop after this long unless stopped first. @default 60000 */
    readonly durationMs?: number;
    /** The ids' prefix, unique per run. */
    readonly prefix: string;
    /** @default "/items" */
    readonly path?: string;
}

export interface WriteLoadResult {
    /** Ids whose write was answered 2xx. */
    readonly acked: string[];
    /** Ids whose write was answered with an error status. */
    readonly failed: string[];
    /** The answers of the failed writes, each kind once ("500 {\"error\":…}"). */
    readonly errors: string[];
    /** Ids sent with no answer (connection lost, timeout, or in flight at the stop). */
    readonly unknown: string[];
    /** Answered writes per second. */
    readonly rps: number;
    readonly durationMs: number;
    /** The slowest acknowledged write (ms): the longest a write waited, e.g. through a switchover's pause. */
    readonly maxLatencyMs: number;
}

export interface RunningWriteLoad {
    readonly done: Promise<WriteLoadResult>;
    stop(): Promise<WriteLoadResult>;
}

export function startWriteLoad(url: string, o: WriteLoadOptions): RunningWriteLoad {
    const connections = o.connections ?? 10;
    const rate = o.rate ?? 250;
    const intervalMs = (1000 * connections) / rate;
    let clientIndex = 0;
    let n = 0;
    const pending = new Set<string>();
    const acked: string[] = [];
    const failed: string[] = [];
    const errors = new Set<string>();
    let maxLatencyMs = 0;
    const started = performance.now();
    const result = (): WriteLoadResult => {
        const durationMs = performance.now() - started;
        return { acked, failed, errors: [...errors], unknown: [...pending], rps: ((acked.length + failed.length) * 1000) / durationMs, durationMs, maxLatencyMs };
    };
    let resolveDone!: (r: WriteLoadResult) => void;
    let rejectDone!: (e: Error) => void;
    const done = new Promise<WriteLoadResult>((res, rej) => ((resolveDone = res), (rejectDone = rej)));
    const instance = autocannon(
        {
            url,
            connections,
            // Evenly paced (paceClient): autocannon's own rates send each second's share in a burst.
            setupClient: ((client: { _doRequest: () => void; destroyed?: boolean }) => paceClient(client, intervalMs, (intervalMs * clientIndex++) / connections)) as never,
            duration: (o.durationMs ?? 60_000) / 1000,
            timeout: 10,
            requests: [
                {
                    method: "POST",
                    path: o.path ?? "/items",
                    headers: { "content-type": "application/json" },
                    setupRequest: ((req: Record<string, unknown>, context: Record<string, unknown>) => {
                        const id = `${o.prefix}-${++n}`;
                        context.id = id;
                        context.sentAt = performance.now();
                        pending.add(id);
                        return { ...req, body: JSON.stringify({ name: id }) };
                    }) as never,
                    onResponse: ((status: number, body: string, context: Record<string, unknown>) => {
                        const id = context.id as string;
                        if (!pending.delete(id)) return;
                        if (status >= 200 && status < 300) {
                            maxLatencyMs = Math.max(maxLatencyMs, performance.now() - (context.sentAt as number));
                            acked.push(id);
                        } else {
                            failed.push(id);
                            if (errors.size < 10) errors.add(`${status} ${String(body).slice(0, 200)}`);
                        }
                    }) as never,
                },
            ],
        },
        (err: Error | null) => (err ? rejectDone(err) : resolveDone(result())),
    );
    return {
        done,
        stop: () => {
            instance.stop();
            return done;
        },
    };
}
