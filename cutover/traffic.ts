/**
 * Real HTTP traffic from autocannon, bounded in count or time: the steady load that runs through a
 * cutover (`switchyard cutover --load`), the demo, the benches and the tests, and the color count
 * that tells which color answered (like Flagger's load tester, for a stack with no real traffic yet).
 *
 * autocannon sends the requests: in a closed loop (each connection sends its next request when the
 * last is answered), or paced at a fixed rate. Which color answered comes from its per-response hook:
 * the `x-color` header the example apps send, else the `color` of a JSON body.
 *
 * The rate is paced here, one request per connection every `connections / rate` seconds, connections
 * staggered, rather than by autocannon's own `overallRate`, which sends each second's share at the
 * start of the second and then waits: a fault in the other nine tenths of that second would meet no
 * request, and a gate would see traffic in bursts.
 *
 * A **failed request** here is one a user would have seen fail: a non-2xx answer, a connection
 * refused or reset with a request on it, a connection closed before its answer, or a timeout.
 * autocannon counts these apart (non2xx; errors, which also count every refused reconnect with no
 * request on it; and not at all, a connection closed under a request), so the counts below come from
 * each connection's own events instead.
 *
 * @example
 * const r = await runLoad("http://127.0.0.1:8080/", { connections: 8, durationMs: 5000 });
 * console.log(formatLoad(r)); // 41,203 requests (8,240/s), 0 failed; p50 0.9 ms, p99 2.1 ms; served by {"blue":41203}
 *
 * const bg = startLoad(url, { connections: 4, durationMs: 600_000, rate: 1000 });
 * await cutover(...);
 * const l = await bg.stop();
 */
import { EventEmitter } from "events";
import autocannon from "autocannon";
import * as hdr from "hdr-histogram-js";

/** One answer, as the per-response hook saw it. */
export interface Answer {
    /** HTTP status. */
    readonly status: number;
    /** The color that answered (`x-color` header, else the JSON body's `color`), when it says. */
    readonly color?: string;
    /** When it arrived, on `performance.now()`'s clock. */
    readonly at: number;
    /** The body, as text. */
    readonly body: string;
    /** The answer's headers (lower-case names). */
    readonly headers?: Readonly<Record<string, unknown>>;
}

/** A request that failed with no answer. */
export interface NoAnswer {
    /** Why: the connection's error code (e.g. "ECONNREFUSED"), "connection closed before the answer", or "timeout after N ms". */
    readonly reason: string;
    /** When it was seen, on `performance.now()`'s clock. */
    readonly at: number;
}

export interface LoadOptions {
    /** Concurrent connections, each sending its next request when the last is answered. @default 4 */
    readonly connections?: number;
    /** How long to send, unless `amount` is given or `stop()` comes first. @default 10_000 */
    readonly durationMs?: number;
    /** Send this many requests, then stop (`durationMs` is ignored). Connections are capped at it. */
    readonly amount?: number;
    /**
     * At most this many requests per second over all connections, evenly paced: each connection sends
     * one every `connections / rate` seconds (later when an answer is late; never in a burst to catch
     * up). Connections are capped so that none waits longer than half `timeoutMs` between requests.
     * @default unlimited (closed loop)
     */
    readonly rate?: number;
    /** A request unanswered this long fails as a timeout; at least 1000 (autocannon's unit is seconds). @default 5000 */
    readonly timeoutMs?: number;
    /** After a connection is refused or reset, wait this long before connecting again (a client backing off, not a spin). @default 10 */
    readonly reconnectDelayMs?: number;
    /** Called on every answer (any status), e.g. to time the last answer from a color. */
    readonly onAnswer?: (a: Answer) => void;
    /** Called on every request that failed with no answer (connection refused, reset or closed under it; timeout). */
    readonly onNoAnswer?: (f: NoAnswer) => void;
    /**
     * Headers of each request, made afresh for every one (e.g. a user id from many users, for flags
     * rolled out to a share of them). @default none
     * @example () => ({ "x-user-id": `u${Math.floor(rng() * 2000)}` })
     */
    readonly headers?: () => Record<string, string>;
}

/** Latency of the answered requests, in milliseconds (microsecond resolution). */
export interface Latency {
    readonly p50: number;
    readonly p99: number;
    readonly mean: number;
    readonly max: number;
}

export interface LoadResult {
    /** Requests that were answered or failed (those in flight when the load stopped are not counted). */
    readonly total: number;
    /** Non-2xx answers, connections refused, reset or closed under a request, and timeouts. */
    readonly failed: number;
    /** Answers with a status outside 2xx. */
    readonly non2xx: number;
    /** Requests lost with their connection: refused, reset, or closed before the answer. */
    readonly connectionFailures: number;
    /** Requests unanswered after `timeoutMs`. */
    readonly timeouts: number;
    /** The first few kinds of failure, each once, in the order seen (e.g. "HTTP 500 from green", "ECONNREFUSED", "timeout after 5000 ms"). */
    readonly errors: string[];
    /** 2xx answers by the color that sent them ("?" when an answer names none). */
    readonly colors: Record<string, number>;
    /** Non-2xx answers by the color that sent them ("?" when an answer names none, e.g. HAProxy's own 503). */
    readonly failedColors: Record<string, number>;
    /** Latency of every answer, whatever its status. */
    readonly latency: Latency;
    /** Answers per second over the run. */
    readonly rps: number;
    /** How long the load ran. */
    readonly durationMs: number;
}

/** Load running in the background. */
export interface RunningLoad {
    /** Settles with the counts when the load ends by itself (its duration or amount) or is stopped. */
    readonly done: Promise<LoadResult>;
    /** Stops sending (within about 50 ms) and resolves with the counts. Idempotent. */
    stop(): Promise<LoadResult>;
}

/** How often autocannon looks whether it should stop: the delay of `stop()` and of the end of an `amount`. */
const SAMPLE_MS = 50;
/** Kinds of failure kept in a result. */
const MAX_ERRORS = 20;

/** The color an answer names: its `x-color` header, else the JSON body's `color`. Pure. */
export function colorOf(headers: Record<string, unknown> | undefined, body: string | undefined): string | undefined {
    const h = headers?.["x-color"] ?? headers?.["X-Color"];
    if (typeof h === "string" && h) return h;
    if (body && body.charCodeAt(0) === 123 /* { */) {
        try {
            const c = (JSON.parse(body) as { color?: unknown }).color;
            return typeof c === "string" ? c : undefined;
        } catch {
            return undefined;
        }
    }
    return undefined;
}

/** autocannon's client, with the internals the connection accounting and pacing rely on (autocannon 9.0.0, pinned). */
interface ClientInternals extends EventEmitter {
    destroyed: boolean;
    _connect(): void;
    _doRequest(): void;
    pipelinedRequests: { size(): number; clear(): void };
}

/**
 * Paces one autocannon client to a request every `intervalMs`, its first at `offsetMs` (spread the
 * clients' offsets over one interval): autocannon's own rates send each second's share in a burst.
 * A request waiting for its slot goes then, on whatever connection is current.
 */
export function paceClient(client: { _doRequest: () => void; destroyed?: boolean }, intervalMs: number, offsetMs: number): void {
    const send = client._doRequest.bind(client);
    let slot = performance.now() + offsetMs;
    let waiting: NodeJS.Timeout | undefined;
    client._doRequest = () => {
        if (waiting) return;
        const now = performance.now();
        if (now >= slot) {
            slot = Math.max(slot, now - intervalMs) + intervalMs;
            send();
            return;
        }
        waiting = setTimeout(() => {
            waiting = undefined;
            slot += intervalMs;
            if (!client.destroyed) send();
        }, slot - now);
    };
}

/**
 * Starts load on `url` in the background.
 *
 * @example
 * const bg = startLoad(url, { connections: 4, durationMs: 24 * 3600_000, rate: 2000 });
 * // ... the cutover ...
 * const r = await bg.stop();
 */
export function startLoad(url: string, o: LoadOptions = {}): RunningLoad {
    const amount = o.amount;
    if (amount !== undefined && !(Number.isInteger(amount) && amount >= 0)) {
        throw new Error(`amount must be a whole number of requests, not ${amount}`);
    }
    const timeoutMs = Math.max(1000, o.timeoutMs ?? 5000);
    if (o.rate !== undefined && !(o.rate >= 2000 / timeoutMs)) {
        throw new Error(`rate must be at least ${2000 / timeoutMs} requests per second with a ${timeoutMs} ms timeout, not ${o.rate}`);
    }
    // Paced, a connection must send again within half the timeout, or autocannon would time out an idle one.
    const paceCap = o.rate ? Math.floor((o.rate * timeoutMs) / 2000) : Infinity;
    const connections = Math.max(1, Math.min(o.connections ?? 4, amount || Infinity, paceCap));
    const intervalMs = o.rate ? (1000 * connections) / o.rate : 0;
    let clientIndex = 0;
    const reconnectDelayMs = o.reconnectDelayMs ?? 10;
    const started = performance.now();

    const colors: Record<string, number> = {};
    const failedColors: Record<string, number> = {};
    const errors: string[] = [];
    let answered = 0;
    let non2xx = 0;
    let connectionFailures = 0;
    let timeouts = 0;
    // Microseconds; grows as needed.
    const latency = hdr.build({ lowestDiscernibleValue: 1, highestTrackableValue: 60_000_000, numberOfSignificantValueDigits: 3, autoResize: true });
    const note = (what: string) => void (errors.length < MAX_ERRORS && !errors.includes(what) && errors.push(what));

    const result = (): LoadResult => {
        const durationMs = performance.now() - started;
        const ms = (us: number) => Math.round(us) / 1000;
        return {
            total: answered + connectionFailures + timeouts,
            failed: non2xx + connectionFailures + timeouts,
            non2xx,
            connectionFailures,
            timeouts,
            errors: [...errors],
            colors: { ...colors },
            failedColors: { ...failedColors },
            latency: latency.totalCount
                ? { p50: ms(latency.getValueAtPercentile(50)), p99: ms(latency.getValueAtPercentile(99)), mean: ms(latency.mean), max: ms(latency.maxValue) }
                : { p50: 0, p99: 0, mean: 0, max: 0 },
            rps: durationMs > 0 ? (answered * 1000) / durationMs : 0,
            durationMs,
        };
    };

    if (amount === 0) {
        const r = result();
        return { done: Promise.resolve(r), stop: async () => r };
    }

    const noAnswer = (reason: string, n = 1) => {
        note(reason);
        if (o.onNoAnswer) {
            const at = performance.now();
            for (let i = 0; i < n; i++) o.onNoAnswer({ reason, at });
        }
    };

    // Per connection: a request still queued when autocannon reconnects was lost with the old
    // connection (refused, reset, or closed before the answer), whatever autocannon counted; a
    // refused or reset connection is retried after a short delay instead of in a tight loop; with a
    // rate, each request waits for its connection's next slot.
    const setupClient = (client: autocannon.Client) => {
        const c = client as unknown as ClientInternals;
        const connect = c._connect.bind(c);
        let cause: string | undefined;
        c.on("connError", (e: NodeJS.ErrnoException) => void (cause = e.code ?? e.message));
        c.on("timeout", () => {
            timeouts++;
            noAnswer(`timeout after ${timeoutMs} ms`);
        });
        c.on("response", (_status: number, _bytes: number, responseTime: number) => latency.recordValue(Math.max(1, Math.round(responseTime * 1000))));
        c._connect = () => {
            const lost = c.pipelinedRequests.size();
            if (lost > 0) {
                connectionFailures += lost;
                noAnswer(cause ?? "connection closed before the answer", lost);
            }
            c.pipelinedRequests.clear();
            const refused = cause !== undefined;
            cause = undefined;
            if (refused && reconnectDelayMs > 0) {
                setTimeout(() => void (c.destroyed || connect()), reconnectDelayMs);
            } else {
                connect();
            }
        };
        if (intervalMs > 0) paceClient(c, intervalMs, (intervalMs * clientIndex++) / connections);
    };

    const onResponse = (status: number, body: string, _context: object, headers: Record<string, unknown>) => {
        answered++;
        const color = colorOf(headers, body);
        if (status >= 200 && status < 300) {
            const k = color ?? "?";
            colors[k] = (colors[k] ?? 0) + 1;
        } else {
            non2xx++;
            const k = color ?? "?";
            failedColors[k] = (failedColors[k] ?? 0) + 1;
            note(`HTTP ${status}${color ? ` from ${color}` : ""}`);
        }
        o.onAnswer?.({ status, color, at: performance.now(), body, headers });
    };

    let resolveDone!: (r: LoadResult) => void;
    let rejectDone!: (e: Error) => void;
    const done = new Promise<LoadResult>((resolve, reject) => ((resolveDone = resolve), (rejectDone = reject)));
    const instance = autocannon(
        {
            url,
            connections,
            ...(amount ? { amount } : { duration: (o.durationMs ?? 10_000) / 1000 }),
            timeout: timeoutMs / 1000,
            sampleInt: SAMPLE_MS,
            setupClient,
            requests: [
                {
                    method: "GET",
                    onResponse: onResponse as autocannon.Request["onResponse"],
                    ...(o.headers ? { setupRequest: (req: autocannon.Request) => ({ ...req, headers: { ...req.headers, ...o.headers!() } }) } : {}),
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

/** Load for a duration (or an amount), then the counts. */
export function runLoad(url: string, o: LoadOptions = {}): Promise<LoadResult> {
    return startLoad(url, o).done;
}

/**
 * Sends n requests over `concurrency` connections and counts the color each answer names (2xx
 * answers in `colors`; every other outcome in `failed`).
 *
 * @example
 * const { colors, failed } = await countColors(url, 1000, 8); // { colors: { blue: 801, green: 199 }, failed: 0 }
 */
export function countColors(url: string, n: number, concurrency: number): Promise<LoadResult> {
    return runLoad(url, { amount: n, connections: concurrency });
}

/**
 * Steady load until `stopWhen()` is true or `durationMs` passes, whichever first (`stopWhen` is
 * looked at every 25 ms). With `pauseMs`, each connection sends at most 1000/pauseMs requests per
 * second, so the load leaves room for the engine on a small machine.
 */
export async function load(url: string, o: { concurrency: number; durationMs: number; stopWhen: () => boolean; pauseMs?: number }): Promise<LoadResult> {
    const bg = startLoad(url, {
        connections: o.concurrency,
        durationMs: o.durationMs,
        ...(o.pauseMs ? { rate: o.concurrency * Math.max(1, Math.floor(1000 / o.pauseMs)) } : {}),
    });
    let ended = false;
    void bg.done.finally(() => (ended = true));
    while (!ended && !o.stopWhen()) {
        await new Promise((r) => setTimeout(r, 25));
    }
    return bg.stop();
}

/** One line for a load's counts. Pure. */
export function formatLoad(r: LoadResult): string {
    const n = (x: number) => Math.round(x).toLocaleString("en-US");
    const failures = r.failed ? ` (${[r.non2xx && `${n(r.non2xx)} non-2xx`, r.connectionFailures && `${n(r.connectionFailures)} connection`, r.timeouts && `${n(r.timeouts)} timeouts`].filter(Boolean).join(", ")})` : "";
    return (
        `${n(r.total)} requests (${n(r.rps)}/s), ${n(r.failed)} failed${failures}; ` +
        `p50 ${r.latency.p50.toFixed(1)} ms, p99 ${r.latency.p99.toFixed(1)} ms; served by ${JSON.stringify(r.colors)}`
    );
}
