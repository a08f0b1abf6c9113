/**
 * More listeners on the cutover's event stream: a webhook that receives every event but the window's
 * ticks as JSON, and a report file written at the end (a page with a chart, or the raw events).
 * Neither can stop or slow a cutover: deliveries are queued, bounded in time, and their failures are
 * reported, not thrown.
 */
import * as fs from "fs";
import { UserError } from "../stack/errors";
import { checkReportFormat, reportFormat } from "./options";
import { reportHtml } from "./report";
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

/** Events a webhook is not sent: a window's `progress` ticks, four a second, are for charts, not hooks. */
export const NOT_POSTED: readonly CutoverEvent["type"][] = ["progress"];

/**
 * POSTs `{ stack, event }` as JSON to url for each event, in order. A 2xx answer is a delivery.
 *
 * Every event is posted but the window's `progress` ticks (one every `tickMs`, 250 ms by default,
 * while a window is observed): they would flood the hook. The window's end still arrives, as its
 * `sample` and `verdict` events, and so do the steps, the revert and the end (`done`).
 *
 * @example
 * const hook = webhook("https://hooks.example.com/switchyard", { stack: "local", onError: console.error });
 */
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
            if (NOT_POSTED.includes(e.type)) return;
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

/**
 * Collects the events and writes the report to file at close, in the format its extension names:
 * - `.html`: one self-contained page with a timeline chart (weights, the new color's request and
 *   error rates and latency, the gate's verdicts, the revert), a header and a table of verdicts
 *   (see `report.ts`);
 * - `.json`: the raw events and the final checkpoint ({@link CutoverReport}).
 *
 * Any other name is refused here, before the cutover runs (a {@link UserError}).
 *
 * @example
 * const r = report("cutover-report.html", "local");
 */
export function report(file: string, stack: string): Listener {
    const problem = checkReportFormat(file);
    if (problem) {
        throw new UserError(`the report file ${file}: ${problem}`);
    }
    const events: CutoverEvent[] = [];
    return {
        onEvent: (e) => void events.push(e),
        close: async (final) => {
            const body: CutoverReport = { stack, events, final };
            const text = reportFormat(file) === "html" ? await reportHtml(body) : JSON.stringify(body, null, 2) + "\n";
            fs.writeFileSync(file, text);
        },
    };
}
