/**
 * A cutover command as a program runs it: the event listeners (terminal lines or JSON lines, a
 * webhook, a report file), Ctrl-C handling (the first reverts, a second leaves at once) and optional
 * synthetic load through the pair's URL. The CLI, the demo and the tests share it.
 *
 * @example
 * const r = await runSession({ stackName: "local" }, { json: false }, (drive) => cutover(target, {}, drive));
 * process.exitCode = r.ok ? 0 : 1;
 */
import { formatEvent, jsonLine } from "./display";
import { Listener, report, webhook, WebhookFormat } from "./listeners";
import { formatLoad, LoadResult, RunningLoad, startLoad } from "./traffic";
import { Checkpoint, CutoverEvent, Phase } from "./types";
import { AutomationStackStore } from "./stackState";
import { StackTarget, UserError } from "../stack/run";

export interface SessionOptions {
    /** Print events as JSON lines instead of text lines. */
    readonly json?: boolean;
    /** POST every event to this URL. */
    readonly webhook?: string;
    /** The webhook body's shape: JSON events, or Slack-compatible text. @default "json" */
    readonly webhookFormat?: WebhookFormat;
    /** Write every event and the final checkpoint to this file at the end. */
    readonly report?: string;
    /** Synthetic clients through the pair's URL during the cutover (autocannon connections, each at most 500 requests a second). @default 0 (none) */
    readonly load?: number;
    /** The pair, when the stack has several. */
    readonly pair?: string;
    /** Where event lines go. @default process.stdout */
    readonly write?: (line: string) => void;
    /** Where warnings go (a failed webhook delivery, the load's summary). @default process.stderr */
    readonly warn?: (line: string) => void;
    /** Stop on SIGINT: the first reverts, a second exits 130. @default true */
    readonly handleSigint?: boolean;
    /** More listeners on the event stream. */
    readonly listeners?: readonly Listener[];
}

export interface SessionResult {
    readonly checkpoint: Checkpoint;
    /** The phase hoped for was reached (or a pause asked for). */
    readonly ok: boolean;
    /** The synthetic load's counts, when there was one. */
    readonly load?: LoadResult;
}

/** What a driven command gets: the one event stream and the abort signal. */
export interface SessionDrive {
    readonly onEvent: (e: CutoverEvent) => void;
    readonly signal: AbortSignal;
    readonly pair?: string;
}

/**
 * Runs a cutover command (`cutover`, `resume` or `revert`) with its listeners; `hoped` is the phase
 * that counts as success (`promoted`, or `reverted` for a revert; a pause asked for is success too).
 */
export async function runSession(target: StackTarget, o: SessionOptions, hoped: Phase, fn: (drive: SessionDrive) => Promise<Checkpoint>): Promise<SessionResult> {
    const write = o.write ?? ((l: string) => void process.stdout.write(l + "\n"));
    const warn = o.warn ?? ((l: string) => void process.stderr.write(l + "\n"));
    const listeners: Listener[] = [
        {
            onEvent: (e: CutoverEvent) => {
                const line = o.json ? jsonLine(e) : formatEvent(e);
                if (line !== undefined) write(line);
            },
            close: async () => undefined,
        },
        ...(o.webhook ? [webhook(o.webhook, { stack: target.stackName, format: o.webhookFormat, onError: (m) => warn(`switchyard: ${m}`) })] : []),
        ...(o.report ? [report(o.report, target.stackName)] : []),
        ...(o.listeners ?? []),
    ];
    const ctl = new AbortController();
    const onSigint = () => {
        warn("\nswitchyard: stopping: reverting traffic (Ctrl-C again to leave at once)");
        ctl.abort("stopped by the operator (Ctrl-C)");
        process.once("SIGINT", () => process.exit(130));
    };
    if (o.handleSigint !== false) {
        process.once("SIGINT", onSigint);
    }
    let traffic: RunningLoad | undefined;
    if (o.load) {
        const url = (await new AutomationStackStore(target, o.pair).readState()).outputs.url;
        if (typeof url !== "string") {
            throw new UserError(`the pair of stack "${target.stackName}" has no url to send synthetic traffic to: run \`switchyard up ${target.stackName}\` first`);
        }
        traffic = startLoad(url, { connections: o.load, durationMs: 24 * 3600_000, rate: o.load * 500 });
    }
    let final: Checkpoint | undefined;
    let loadResult: LoadResult | undefined;
    try {
        final = await fn({ onEvent: (e) => listeners.forEach((l) => l.onEvent(e)), signal: ctl.signal, pair: o.pair });
    } finally {
        process.removeListener("SIGINT", onSigint);
        const stopping = traffic?.stop();
        await Promise.all(listeners.map((l) => l.close(final)));
        if (stopping) {
            loadResult = await stopping;
            warn(`switchyard: synthetic load: ${formatLoad(loadResult)}`);
        }
    }
    // A revert the operator asked for ends as asked when reverted, also when `resume` finished it.
    const asked = final.phase === hoped || final.phase === "paused" || (final.phase === "reverted" && final.requested === "revert");
    return { checkpoint: final, ok: asked, load: loadResult };
}
