/**
 * More listeners on the cutover's event stream: a webhook that receives every event but the window's
 * ticks as JSON, and a report file written at the end (a page with a chart, or the raw events).
 * Neither can stop or slow a cutover: deliveries are queued, bounded in time, and their failures are
 * reported, not thrown.
 */
import * as fs from "fs";
import { UserError } from "../stack/errors";
import { formatEvent } from "./display";
import { checkReportFormat, reportFormat } from "./options";
import { reportHtml } from "./report";
import { Checkpoint, CutoverEvent } from "./types";
import { RestoreEvent, formatRestoreEvent } from "./restoreEvents";

export interface Listener<E = CutoverEvent> {
    readonly onEvent: (e: E) => void;
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
    /**
     * The body's shape: `json` posts `{ stack, event }` for every event but the ticks; `slack` posts a
     * Slack-compatible `{ text }` (incoming webhooks of Slack, Mattermost, Rocket.Chat…) for the events
     * people are told of: start, pretest, backup, steps, verdicts, pauses, the revert and the end.
     * @default "json"
     */
    readonly format?: WebhookFormat;
}

/** Body shapes of a webhook. */
export const WEBHOOK_FORMATS = ["json", "slack"] as const;
export type WebhookFormat = (typeof WEBHOOK_FORMATS)[number];

/** Events a chat channel is not sent: the router's read-back and the raw samples (their verdicts are). */
const NOT_CHATTED: readonly CutoverEvent["type"][] = ["progress", "applied", "sample"];

/**
 * The Slack-compatible body of an event, or undefined when people are not told of it: one line of
 * text, as the terminal shows it, after the stack's name; a failure or a revert is marked.
 *
 * @example
 * slackBody("prod", { type: "revert", at, reason: "gate failed at green 10%: …", weights })
 * // { text: ":rotating_light: *prod* … revert …" }
 */
export function slackBody(stack: string, e: CutoverEvent | RestoreEvent): { text: string } | undefined {
    if (e.type === "restore") {
        // `switchyard restore`'s stages: every one is told.
        const mark = e.stage === "failed" ? ":rotating_light: " : e.stage === "restored" ? ":white_check_mark: " : "";
        return { text: `${mark}*${stack}* switchyard: ${formatRestoreEvent(e)}` };
    }
    if (NOT_CHATTED.includes(e.type)) return undefined;
    const line = formatEvent(e);
    if (line === undefined) return undefined;
    const bad = e.type === "revert" || (e.type === "verdict" && e.verdict.outcome === "fail") || (e.type === "done" && e.phase !== "promoted") || (e.type === "migrate" && (e.stage === "failed" || e.stage === "kept"));
    const good = e.type === "done" && e.phase === "promoted";
    const mark = bad ? ":rotating_light: " : good ? ":white_check_mark: " : "";
    return { text: `${mark}*${stack}* switchyard: ${line}` };
}

/** Events a webhook is not sent: a window's `progress` ticks, four a second, are for charts, not hooks. */
export const NOT_POSTED: readonly CutoverEvent["type"][] = ["progress"];

/**
 * POSTs `{ stack, event }` as JSON to url for each event, in order. A 2xx answer is a delivery.
 *
 * Every event is posted but the window's `progress` ticks (one every `tickMs`, 250 ms by default,
 * while a window is observed): they would flood the hook. The window's end still arrives, as its
 * `sample` and `verdict` events, and so do the steps, the revert and the end (`done`). The stages of
 * `switchyard restore` ({@link RestoreEvent}: started, snapshot, restored, failed) are posted too.
 *
 * @example
 * const hook = webhook("https://hooks.example.com/switchyard", { stack: "local", onError: console.error });
 */
export function webhook(url: string, o: WebhookOptions): Listener<CutoverEvent | RestoreEvent> {
    let chain = Promise.resolve();
    let failed = 0;
    const format = o.format ?? "json";
    const deliver = async (event: CutoverEvent | RestoreEvent, body: unknown) => {
        try {
            const r = await fetch(url, {
                method: "POST",
                headers: { "content-type": "application/json" },
                body: JSON.stringify(body),
                signal: AbortSignal.timeout(o.timeoutMs ?? 5000),
            });
            await r.arrayBuffer();
            if (r.status < 200 || r.status > 299) throw new Error(`answered HTTP ${r.status}`);
        } catch (e) {
            if (failed++ === 0) o.onError?.(`webhook ${url}: the "${event.type}" event was not delivered (${(e as Error).message}); the ${event.type === "restore" ? "restore" : "cutover"} goes on`);
        }
    };
    return {
        onEvent: (e) => {
            if (e.type !== "restore" && NOT_POSTED.includes(e.type)) return;
            const body = format === "slack" ? slackBody(o.stack, e) : { stack: o.stack, event: e };
            if (body === undefined) return;
            chain = chain.then(() => deliver(e, body));
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
