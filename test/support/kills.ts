/**
 * The kill suite's pure parts (test/kills.test.ts): a seeded random source, the schedule of kill
 * instants, where a kill landed judged from the events the killed command printed, the check of
 * one HAProxy weight sample, and the per-phase tally. Nothing here touches a process or a file.
 */
import { rng } from "../../cutover/simulate";

/** A seeded source of numbers in [0, 1) (mulberry32, shared with the gate's simulations); the same seed gives the same run. */
export const seeded = rng;

export interface Rng {
    /** An integer in [lo, hi], both included. */
    int(lo: number, hi: number): number;
    pick<T>(xs: readonly T[]): T;
    chance(p: number): boolean;
    shuffle<T>(xs: readonly T[]): T[];
}

export function rngOf(next: () => number): Rng {
    const int = (lo: number, hi: number) => lo + Math.floor(next() * (hi - lo + 1));
    return {
        int,
        pick: (xs) => xs[int(0, xs.length - 1)],
        chance: (p) => next() < p,
        shuffle: (xs) => {
            const out = [...xs];
            for (let i = out.length - 1; i > 0; i--) {
                const j = int(0, i);
                [out[i], out[j]] = [out[j], out[i]];
            }
            return out;
        },
    };
}

/**
 * What a kill aims at:
 * - `backup`: inside the database snapshot a cutover takes before its first step;
 * - `step-up`: inside a step (intent, router, config and the stack's `up`, a few seconds);
 * - `observe`: during a gate's observation window;
 * - `revert-cmd`: inside `switchyard revert`, run after a cutover was promoted;
 * - `gate-revert`: inside the revert of a cutover whose gate failed (the new color made to fail);
 * - `between`: at once on an event, where one phase hands over to the next.
 */
export type Aim = "backup" | "step-up" | "observe" | "revert-cmd" | "gate-revert" | "between";

export const AIMS: readonly Aim[] = ["backup", "step-up", "observe", "revert-cmd", "gate-revert", "between"];

/** How many kills each aim gets in one run (at least 20 in all). */
export const DEFAULT_MIX: Readonly<Record<Aim, number>> = {
    backup: 3,
    "step-up": 5,
    observe: 3,
    "revert-cmd": 3,
    "gate-revert": 3,
    between: 4,
};

/**
 * The order of the kills: every aim as often as the mix says, shuffled by the seed, with the
 * `revert-cmd` kills (each preceded by a whole cutover to promotion) spread out, so that a full
 * cutover runs every few kills.
 */
export function schedule(rng: Rng, mix: Readonly<Record<Aim, number>> = DEFAULT_MIX): Aim[] {
    const reverts = mix["revert-cmd"];
    const others = rng.shuffle(AIMS.filter((a) => a !== "revert-cmd").flatMap((a) => Array<Aim>(mix[a]).fill(a)));
    if (reverts === 0) {
        return others;
    }
    // Cut the others into `reverts` runs of near-equal length; each run ends with a revert-cmd.
    const out: Aim[] = [];
    let at = 0;
    for (let i = 0; i < reverts; i++) {
        const end = Math.round(((i + 1) * others.length) / reverts);
        out.push(...others.slice(at, end), "revert-cmd");
        at = end;
    }
    return out;
}

/** Where a kill landed, judged from what the killed command had printed. */
export type Landing = "startup" | "pretest" | "backup" | "step-up" | "observe" | "revert" | "ended";

/**
 * The phase a command was in when it was killed, from the event types it had printed by then. The
 * driver prints a transition's events before it performs the transition's action, so the last
 * event names the action under way: after `step`, the step's intent, router change and `up`; after a
 * step's `applied`, its observation window; after `revert`, the revert. A command that printed nothing
 * was still starting (reading the stack).
 */
export function landing(events: readonly string[], plan: { pretest: boolean; backup: boolean }): Landing {
    let at: Landing = "startup";
    for (const e of events) {
        switch (e) {
            case "started":
                at = plan.pretest ? "pretest" : plan.backup ? "backup" : "step-up";
                break;
            case "pretest":
                at = plan.backup ? "backup" : "step-up";
                break;
            case "backup":
            case "step":
                at = "step-up";
                break;
            case "applied":
                at = at === "revert" ? "revert" : "observe";
                break;
            case "sample":
            case "verdict":
                at = "observe";
                break;
            case "revert":
                at = "revert";
                break;
            case "resumed":
                break;
            case "paused":
            case "done":
                at = "ended";
                break;
        }
    }
    return at;
}

/** The phase an aim means to land in (`between` lands wherever the next phase begins). */
export function expectedLanding(aim: Aim): Landing | undefined {
    switch (aim) {
        case "backup":
            return "backup";
        case "step-up":
            return "step-up";
        case "observe":
            return "observe";
        case "revert-cmd":
        case "gate-revert":
            return "revert";
        case "between":
            return undefined;
    }
}

/** A weight sample HAProxy may serve: two integers from 0 to 100, not both 0. Undefined if valid. */
export function badSplit(w: { blue: unknown; green: unknown }): string | undefined {
    const ok = (x: unknown) => Number.isInteger(x) && (x as number) >= 0 && (x as number) <= 100;
    if (!ok(w.blue) || !ok(w.green)) {
        return `weights ${JSON.stringify(w)} are not two integers from 0 to 100`;
    }
    if (w.blue === 0 && w.green === 0) {
        return "both weights are 0: nothing would be served";
    }
    return undefined;
}

/** The kinds of change in a preview's summary other than `same`, with their counts. */
export function changesIn(summary: Readonly<Record<string, number>> | undefined): Record<string, number> {
    return Object.fromEntries(Object.entries(summary ?? {}).filter(([k, n]) => k !== "same" && n > 0));
}

/** One kill and what followed it. */
export interface KillRecord {
    /** The row it is counted in: the phase it landed in, or `between phases`. */
    readonly row: string;
    readonly consistent: boolean;
}

/** The per-phase tally, as Markdown table rows: phase, kills tried, consistent endings. */
export function tally(records: readonly KillRecord[]): string[] {
    const rows = new Map<string, { tried: number; consistent: number }>();
    for (const r of records) {
        const row = rows.get(r.row) ?? { tried: 0, consistent: 0 };
        row.tried++;
        if (r.consistent) row.consistent++;
        rows.set(r.row, row);
    }
    const total = records.filter((r) => r.consistent).length;
    return [
        "| phase killed in | kills | consistent endings |",
        "|---|---|---|",
        ...[...rows.entries()].sort(([a], [b]) => a.localeCompare(b)).map(([k, v]) => `| ${k} | ${v.tried} | ${v.consistent} |`),
        `| **all** | **${records.length}** | **${total}** |`,
    ];
}

/**
 * What a kill across a flag step aims at (test/flagsteps.test.ts):
 * - `flag-intent`: before or inside the flag step's intent record;
 * - `flag-write`: inside the flag file's write and read-back (ahead of the step's `up`);
 * - `flag-up`: inside the step's background engine `up`, which records the stage in config and state;
 * - `flag-window`: during the flag step's observation window;
 * - `flag-revert`: inside a revert that turns the flag off (the flagged path made to fail).
 */
export type FlagAim = "flag-intent" | "flag-write" | "flag-up" | "flag-window" | "flag-revert";

export const FLAG_AIMS: readonly FlagAim[] = ["flag-intent", "flag-write", "flag-up", "flag-window", "flag-revert"];

/** The kills across flag steps: every aim once, shuffled by the seed, then `extra` more picked by it. */
export function flagSchedule(rng: Rng, extra = 1): FlagAim[] {
    return [...rng.shuffle(FLAG_AIMS), ...Array.from({ length: extra }, () => rng.pick(FLAG_AIMS))];
}

/** What was found on disk after a kill across a flag step. */
export interface FlagEvidence {
    /** The flag step's intent is recorded. */
    readonly intent: boolean;
    /** A temporary file of the intent record is left (its writer killed inside the write). */
    readonly intentTmp: boolean;
    /** A temporary file of the flag file is left (its writer killed inside the write). */
    readonly fileTmp: boolean;
    /** The served flag file holds the step's stage (it held another before the cutover). */
    readonly fileAtStage: boolean;
}

/** Where a kill across a flag step landed (a row of the tally). */
export type FlagLanding =
    | "before the intent (still starting)"
    | "before the intent"
    | "inside the intent's write"
    | "after the intent, before the flag file"
    | "inside the flag file's write"
    | "inside the flag file's read-back"
    | "inside the step's `up`"
    | "inside the flag step's window"
    | "inside a revert turning the flag off"
    | "after the command's end";

/**
 * Where a kill across a flag step landed: the phase from the events printed (`landing`), refined
 * inside the step by what was left on disk. The driver prints the step's `flag` event once the file
 * is written and read back, then runs the `up`; before it, the intent is recorded, then the file
 * written (a temporary file renamed into place).
 */
export function flagLanding(events: readonly string[], e: FlagEvidence): FlagLanding {
    const at = landing(events, { pretest: false, backup: false });
    switch (at) {
        case "revert":
            return "inside a revert turning the flag off";
        case "observe":
            return "inside the flag step's window";
        case "ended":
            return "after the command's end";
        default:
            break;
    }
    if (events.includes("flag")) return "inside the step's `up`";
    if (e.fileTmp) return "inside the flag file's write";
    if (e.fileAtStage) return "inside the flag file's read-back";
    if (e.intent) return "after the intent, before the flag file";
    if (e.intentTmp) return "inside the intent's write";
    return at === "startup" ? "before the intent (still starting)" : "before the intent";
}
