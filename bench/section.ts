/**
 * The section `npm run bench` appends to bench/RESULTS.md, and its gaps: pure functions over the
 * benches' outcomes and the machine (no clock, no files).
 */
import { BenchResult, figuresTable, valueText } from "./result";
import type { Machine } from "./machine";

/** How a bench's run ended. */
export type BenchStatus =
    /** It exited 0 and reported its result. */
    | "ok"
    /** It exited non-zero (or was killed by a signal). */
    | "failed"
    /** It ran past its time limit and was stopped. */
    | "timeout"
    /** It could not start: its file does not exist (yet). */
    | "missing"
    /** It exited 0 but wrote no result to BENCH_JSON (or an unreadable one). */
    | "no-result"
    /** The e2e lock was not free within the wait limit. */
    | "no-lock";

/** One bench's run, as the runner saw it. */
export interface BenchOutcome {
    readonly name: string;
    /** Heading when the bench reported none. */
    readonly title: string;
    /** What the runner ran, e.g. "npm run bench:clone". */
    readonly command: string;
    readonly status: BenchStatus;
    /** Its result, when it wrote one (also for a failed bench that reported before failing). */
    readonly result?: BenchResult;
    readonly exitCode?: number | null;
    readonly signal?: string | null;
    /** Wall time of the bench, lock wait excluded. */
    readonly durationMs?: number;
    /** Why it is missing, or what was wrong with its result. */
    readonly reason?: string;
    /** Its last output lines, kept for a failed bench. */
    readonly tail?: readonly string[];
}

/** A missed goal or a bench that did not report. */
export interface Gap {
    readonly bench: string;
    readonly text: string;
    /** Output lines that show why, for a failed bench. */
    readonly tail?: readonly string[];
}

/** How an outcome's status reads, e.g. "exited 1", "stopped at its 40 min limit". */
export function statusText(o: BenchOutcome): string {
    switch (o.status) {
        case "ok":
            return "exit 0";
        case "failed":
            return o.signal ? `killed by ${o.signal}` : `exit ${o.exitCode}`;
        case "timeout":
            return `stopped at its time limit${o.reason ? ` (${o.reason})` : ""}`;
        case "missing":
            return `not run${o.reason ? `: ${o.reason}` : ""}`;
        case "no-result":
            return `exit 0 but no result${o.reason ? `: ${o.reason}` : ""}`;
        case "no-lock":
            return `not run: ${o.reason ?? "the e2e lock was not free"}`;
    }
}

/** Every figure with met = false, and every bench that failed, timed out, is missing or reported nothing. */
export function gapsOf(outcomes: readonly BenchOutcome[]): Gap[] {
    const gaps: Gap[] = [];
    for (const o of outcomes) {
        if (o.status !== "ok") {
            const what = o.status === "missing" || o.status === "no-lock" ? statusText(o) : `did not complete: ${statusText(o)}`;
            gaps.push({ bench: o.name, text: `\`${o.command}\` ${what}`, tail: o.tail });
        }
        for (const f of o.result?.figures ?? []) {
            if (f.met === false) gaps.push({ bench: o.name, text: `${f.measure}: ${valueText(f)}, goal ${f.goal}` });
        }
    }
    return gaps;
}

const GiB = 1024 ** 3;

/** The machine as a one-row markdown table. */
export function machineTable(m: Machine): string {
    return [
        "| cores | memory | CPU | kernel | Node | HAProxy | PostgreSQL | Pulumi CLI | commit |",
        "|---|---|---|---|---|---|---|---|---|",
        `| ${m.cores} | ${(m.memoryBytes / GiB).toFixed(1)} GiB | ${m.cpu} | ${m.kernel} | ${m.node} | ${m.haproxy} | ${m.postgres} | ${m.pulumi} | ${m.commit} |`,
    ].join("\n");
}

/** Seconds or minutes, as people read a wall time: "48 s", "6 min 12 s". */
export function durationText(ms: number): string {
    const s = Math.round(ms / 1000);
    return s < 120 ? `${s} s` : `${Math.floor(s / 60)} min ${s % 60} s`;
}

/** One bench's subsection: title, command, status, figures, extra markdown, notes. */
export function benchSubsection(o: BenchOutcome): string {
    const r = o.result;
    const title = r?.title ?? o.title;
    const cmd = r && r.command !== o.command ? `\`${o.command}\` (the bench's own command: \`${r.command}\`)` : `\`${o.command}\``;
    const lines = [`### ${title}`, "", `Command: ${cmd}; ${statusText(o)}${o.durationMs !== undefined ? `, ${durationText(o.durationMs)}` : ""}.`, ""];
    if (r && r.figures.length > 0) lines.push(figuresTable(r.figures), "");
    if (r?.markdown) lines.push(r.markdown.trim(), "");
    if (r?.notes?.length) lines.push(...r.notes.map((n) => `- ${n}`), "");
    if (!r) lines.push("No figures: see Gaps.", "");
    return lines.join("\n");
}

/** The whole section appended to bench/RESULTS.md. `date` is an ISO time. */
export function renderSection(input: { date: string; command: string; machine: Machine; outcomes: readonly BenchOutcome[] }): string {
    const gaps = gapsOf(input.outcomes);
    const lines = [
        "",
        `## npm run bench, ${input.date.slice(0, 16)}Z`,
        "",
        `Command: \`${input.command}\`; benches, in order: ${input.outcomes.map((o) => `\`${o.command}\``).join(", ")}.`,
        "",
        machineTable(input.machine),
        "",
        ...input.outcomes.map(benchSubsection),
        "### Gaps",
        "",
    ];
    if (gaps.length === 0) lines.push("None: every bench reported and every goal was met.", "");
    for (const g of gaps) {
        lines.push(`- ${g.bench}: ${g.text}`);
        if (g.tail?.length) lines.push("", "  ```", ...g.tail.map((l) => `  ${l}`), "  ```", "");
    }
    if (gaps.length > 0 && lines[lines.length - 1] !== "") lines.push("");
    return lines.join("\n");
}
