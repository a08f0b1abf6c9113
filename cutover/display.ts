/**
 * Listeners on the cutover's event stream: operator lines for the terminal (in the style Flagger's
 * users read), and JSON lines for scripts. Pure formatting.
 */
import { describeStep, formatSteps, formatWeights } from "./core";
import { Checkpoint, CutoverEvent, CutoverPlan } from "./types";
import { formatDuration } from "./watch";

const time = (at: string) => at.slice(11, 19);

/** One event as an operator line; undefined for the ticks of a window (`progress`), which scripts and charts read. */
export function formatEvent(e: CutoverEvent): string | undefined {
    switch (e.type) {
        case "progress":
            return undefined;
        case "started":
            return `${time(e.at)} cutover ${e.from} → ${e.to} in steps ${formatSteps(e)}`;
        case "resumed":
            return `${time(e.at)} resumed at step ${e.step + 1} (${e.phase})`;
        case "pretest":
            return `${time(e.at)} pretest of ${e.color} through the test listener: ${e.verdict.outcome} (${e.verdict.reasons.join("; ")})`;
        case "backup":
            return `${time(e.at)} backup taken: ${e.name}`;
        case "migrate":
            return `${time(e.at)} ${formatMigrate(e)}`;
        case "step":
            return `${time(e.at)} advance: step ${e.step}/${e.of}, ${e.flag ? `flag ${e.flag.flag} to ${e.flag.stage} at ` : ""}${formatWeights(e.weights)}`;
        case "applied":
            return `${time(e.at)} router serves ${formatWeights(e.served)}`;
        case "flag":
            return `${time(e.at)} flag ${e.flag} set ${e.stage}: served ${e.served ?? "not at all"}`;
        case "sample":
            return `${time(e.at)} ${e.sample.flag ? `flag ${e.sample.flag.name} on (${e.sample.flag.unflagged} unflagged answers apart)` : e.sample.color}: ${e.sample.requests} requests, ${e.sample.errors} errors` +
                (e.sample.latencyMs !== undefined ? `, ${Math.round(e.sample.latencyMs)} ms mean` : "") +
                (e.sample.percentileMs !== undefined ? `, p${e.sample.percentile ?? "?"} ${Math.round(e.sample.percentileMs)} ms` : "") +
                `, ${e.sample.healthy ? "healthy" : "UNHEALTHY"} (${(e.sample.windowMs / 1000).toFixed(1)} s window)`;
        case "verdict":
            return `${time(e.at)} gate at step ${e.step}: ${e.verdict.outcome === "fail" ? "HALT" : e.verdict.outcome} (${e.verdict.reasons.join("; ")})`;
        case "paused":
            return `${time(e.at)} paused at step ${e.step}, ${formatWeights(e.weights)}${e.reason ? ` (${e.reason})` : ""}: the old color stays warm; \`switchyard resume\` goes on, \`switchyard revert\` goes back`;
        case "watching":
            return `${time(e.at)} at 100%: watching ${e.color} until ${e.until}, the old color warm; a breach reverts at once`;
        case "scaled":
            return e.direction === "down"
                ? `${time(e.at)} keep-warm over: ${e.color} scaled down through the stack`
                : `${time(e.at)} ${e.color} brought back up and healthy in ${(e.tookMs / 1000).toFixed(1)} s`;
        case "reconciled":
            return `${time(e.at)} replication: ${e.did}`;
        case "switchover":
            if (e.detail !== undefined) return `${time(e.at)} switchover ${e.from} → ${e.to}: ${e.detail}${e.databaseMoved === false ? "" : ` (lag before: ${e.lag})`}`;
            return `${time(e.at)} switchover ${e.from} → ${e.to}: writes paused ${e.pauseMs} ms, ${e.refusedWrites} refused; replication now ${e.to} → ${e.from} (lag before: ${e.lag})`;
        case "revert":
            return `${time(e.at)} REVERT to ${formatWeights(e.weights)}: ${e.reason}`;
        case "done":
            return e.phase === "promoted"
                ? `${time(e.at)} promotion completed: ${formatWeights(e.weights)}; the old color stays up, warm, for \`switchyard revert\``
                : `${time(e.at)} cutover ${e.phase}: ${formatWeights(e.weights)}${e.reason ? ` (${e.reason})` : ""}`;
    }
}

/** A migration stage as an operator reads it. */
export function formatMigrate(e: Extract<CutoverEvent, { type: "migrate" }>): string {
    const ids = e.ids.length > 0 ? e.ids.join(", ") : "none";
    switch (e.stage) {
        case "up":
            return `migrate: forward migration applied ${ids}`;
        case "down":
            return `migrate: backward migration removed ${ids}, checked in the bookkeeping table`;
        case "kept":
            return `migrate: NOT reversed (${ids} stay applied): ${e.reason ?? ""}`;
        case "failed":
            return `migrate: FAILED${e.ids.length > 0 ? ` (${ids})` : ""}: ${e.reason ?? ""}`;
    }
}

/**
 * A plan as `switchyard cutover --dry-run` prints it: pretest, backup, the migrate step, each step,
 * and the point of no return.
 */
export function formatPlan(p: CutoverPlan): string {
    const lines = [`plan: ${p.from} → ${p.to}`];
    let n = 0;
    const item = (s: string) => lines.push(`  ${++n}. ${s}`);
    if (p.pretest) item(`pretest ${p.to} through the test listener`);
    if (p.backup) item("backup snapshot of the database");
    if (p.migrate) {
        item(`migrate: forward migration (\`<command> up\`), pending ${p.migrate.pending.length > 0 ? p.migrate.pending.join(", ") : "none"}`);
    }
    p.steps.forEach((_, i) => {
        const noReturn = p.migrate?.noReturn === i ? "   ← point of no return" : "";
        const pause = p.pauseAt.includes(p.steps[i]) && !p.flagSteps?.[i] ? " (then pause)" : "";
        item(`step ${i + 1}/${p.steps.length}: ${describeStep(p, i)}${pause}${noReturn}`);
    });
    if (p.watchMs) item(`watch ${p.to} at 100% for ${formatDuration(p.watchMs)}, ${p.from} warm; a breach reverts`);
    if (p.keepWarmMs !== undefined) item(`keep ${p.from} warm ${formatDuration(p.keepWarmMs)} more, then \`switchyard scale-down\` scales it down`);
    if (p.windows && p.windows.length > 0) lines.push(`rollout windows: ${p.windows.join("; ")} (past a window's end the cutover pauses at its next step boundary)`);
    if (p.migrate) {
        lines.push(
            p.migrate.noReturn === undefined
                ? "point of no return: none (the backward migration drops no data): a revert at any step runs `<command> down <n>` once traffic is back"
                : `point of no return: step ${p.migrate.noReturn + 1}, ${p.migrate.noReturnWhy}; before it a revert runs \`<command> down <n>\` once traffic is back, from it on a revert moves traffic only`,
        );
    }
    return lines.join("\n") + "\n";
}

/** A checkpoint's migrate step as `status` shows it: what it applied, and whether a revert undid it. */
export function describeMigration(cp: Pick<Checkpoint, "migrate">): string {
    const m = cp.migrate;
    if (!m) return "none";
    const ids = (xs: readonly string[] | undefined) => (xs && xs.length > 0 ? xs.join(", ") : "none");
    const applied = m.applied === undefined ? (m.before === undefined ? `not run yet (pending ${ids(m.pending)})` : "cut short (resume runs up again, revert undoes it)") : `applied ${ids(m.applied)}`;
    const undone = m.undone === "down" ? "; reverted by the backward migration" : m.undone === "kept" ? "; kept by a revert past the point of no return" : "";
    const pnr = m.noReturn === undefined ? "no point of no return" : m.noReturn < 0 ? "past the point of no return: promoted" : `point of no return at step ${m.noReturn + 1}`;
    return `${applied}${undone} (${pnr})`;
}

/** One event as a JSON line. */
export const jsonLine = (e: CutoverEvent): string => JSON.stringify(e);
