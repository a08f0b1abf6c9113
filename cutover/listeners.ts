/**
 * More listeners on the cutover's event stream: a webhook that receives every event as JSON, and a
 * report file written at the end. Neither can stop or slow a cutover: deliveries are queued, bounded
 * in time, and their failures are reported, not thrown.
 */
import * as fs from "fs";
import { Checkpoint, CutoverEvent } from "./types";

export interface Listener {
    readonly onEvent: (e: CutoverEvent) => void;
    /** Waits for what is queued (bounded); call once the cutover has ended. */
    readonly close: (final?: Checkpoint) => Promise<void>;
}

export interface WebhookOptions {
    /** Sent with every event, to tell stacks apart. */
    readonly stack: string;
    /** Per-delivery timeout. @default 5000 */
    readonly timeoutMs?: number;
    /** Told of the first failed delivery (and how many failed in all, at close). */
    readonly onError?: (message: string) => void;
}

/** POSTs `{ stack, event }` as JSON to url for each event, in order. A 2xx answer is a delivery. */
export function webhook(url: string, o: WebhookOptions): Listener {
    let chain = Promise.resolve();
    let failed = 0;
    const deliver = async (event: CutoverEvent) => {
        try {
            const r = await fetch(url, {
                method: "POST",
                headers: { "content-type": "application/json" },
                body: JSON.stringify({ stack: o.stack, event }),
                signal: AbortSignal.timeout(o.timeoutMs ?? 5000),
            });
            await r.arrayBuffer();
            if (r.status < 200 || r.status > 299) throw new Error(`answered HTTP ${r.status}`);
        } catch (e) {
            if (failed++ === 0) o.onError?.(`webhook ${url}: the "${event.type}" event was not delivered (${(e as Error).message}); the cutover goes on`);
        }
    };
    return {
        onEvent: (e) => {
            chain = chain.then(() => deliver(e));
        },
        close: async () => {
            await chain;
            if (failed > 1) o.onError?.(`webhook ${url}: ${failed} events in all were not delivered`);
        },
    };
}

/** The report a cutover leaves behind: every event and the final checkpoint. */
export interface CutoverReport {
    readonly stack: string;
    readonly events: CutoverEvent[];
    readonly final?: Checkpoint;
}

/** Collects the events and writes them, with the final checkpoint, to file as JSON at close. */
export function report(file: string, stack: string): Listener {
    const events: CutoverEvent[] = [];
    return {
        onEvent: (e) => void events.push(e),
        close: async (final) => {
            const body: CutoverReport = { stack, events, final };
            fs.writeFileSync(file, JSON.stringify(body, null, 2) + "\n");
        },
    };
}
