/**
 * Rollout windows: the hours in which a cutover may run (`switchyard:cutover.window`), such as
 * `Sat 02:00-05:00 UTC`. Pure: the instant is an argument, time zones come from the runtime's ICU
 * data through luxon, so a window in `Europe/Paris` keeps its wall-clock hours across daylight saving.
 *
 * Grammar of one window, case-insensitive:
 *
 *     [days] HH:MM-HH:MM [zone]
 *
 * - days: a day (`Sat`), a range (`Mon-Fri`), a list (`Sat,Sun`), or `daily`; omitted means every day.
 * - the end may be earlier than the start: the window then runs past midnight into the next day
 *   (`Fri 22:00-02:00` is Friday 22:00 to Saturday 02:00). `24:00` is allowed as an end.
 * - zone: `UTC` (the default) or an IANA name such as `Europe/Paris`.
 */
import { DateTime, IANAZone } from "luxon";

/** One parsed window. Days are ISO weekdays, 1 (Monday) to 7 (Sunday). */
export interface RolloutWindow {
    /** The text it was parsed from, as the user wrote it (trimmed). */
    readonly text: string;
    readonly days: readonly number[];
    /** Minutes after midnight. */
    readonly startMinute: number;
    /** Length in minutes, 1 to 1440. */
    readonly minutes: number;
    readonly zone: string;
}

const DAYS = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"];
const EXAMPLE = "e.g. `Sat 02:00-05:00 UTC`, `Mon-Fri 22:00-02:00 Europe/Paris` or `daily 03:00-04:00`";

const FULL = ["monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"];

/** ISO weekday of `Sat` or `saturday` (any case), or undefined. */
function dayOf(token: string): number | undefined {
    const t = token.toLowerCase();
    const i = DAYS.indexOf(t) >= 0 ? DAYS.indexOf(t) : FULL.indexOf(t);
    return i >= 0 ? i + 1 : undefined;
}

function parseDays(text: string): number[] | string {
    if (/^(daily|every ?day)$/i.test(text)) return [1, 2, 3, 4, 5, 6, 7];
    const days = new Set<number>();
    for (const part of text.split(",")) {
        const range = part.split("-");
        if (range.length > 2 || range.some((r) => r === "")) return `"${part}" is not a day or a range of days`;
        const [a, b] = range.map(dayOf);
        if (a === undefined || (range.length === 2 && b === undefined)) return `"${part}" is not a day: use Mon, Tue, Wed, Thu, Fri, Sat or Sun`;
        if (b === undefined) {
            days.add(a);
        } else {
            for (let d = a; ; d = (d % 7) + 1) {
                days.add(d);
                if (d === b) break;
            }
        }
    }
    return [...days].sort((x, y) => x - y);
}

function parseClock(text: string, end: boolean): number | string {
    const m = /^(\d{2}):(\d{2})$/.exec(text);
    if (!m) return `"${text}" is not a time: write HH:MM on a 24-hour clock`;
    const h = Number(m[1]);
    const min = Number(m[2]);
    if (min > 59 || h > 24 || (h === 24 && (min !== 0 || !end))) return `"${text}" is not a time of day`;
    return h * 60 + min;
}

/**
 * Parses one window; returns it, or a message saying what is wrong with it.
 *
 * @example
 * parseWindow("Sat 02:00-05:00 UTC") // { days: [6], startMinute: 120, minutes: 180, zone: "UTC", … }
 */
export function parseWindow(input: string): RolloutWindow | string {
    const text = String(input).trim();
    const words = text.split(/\s+/).filter((w) => w !== "");
    const at = words.findIndex((w) => /^\d{1,2}:\d{1,2}-\d{1,2}:\d{1,2}$/.test(w));
    if (text === "" || at < 0 || at > 1 || words.length - at > 2) return `window "${text}" does not read as [days] HH:MM-HH:MM [zone] (${EXAMPLE})`;
    const days = at === 1 ? parseDays(words[0]) : [1, 2, 3, 4, 5, 6, 7];
    if (typeof days === "string") return `window "${text}": ${days}`;
    const [from, to] = words[at].split("-");
    const start = parseClock(from, false);
    const stop = parseClock(to, true);
    if (typeof start === "string") return `window "${text}": ${start}`;
    if (typeof stop === "string") return `window "${text}": ${stop}`;
    const zone = words[at + 1] ?? "UTC";
    const normalized = /^utc$/i.test(zone) ? "UTC" : zone;
    if (normalized !== "UTC" && !IANAZone.isValidZone(normalized)) return `window "${text}": "${zone}" is not a time zone: use UTC or an IANA name such as Europe/Paris`;
    const minutes = stop > start ? stop - start : stop + 1440 - start;
    if (stop === start) return `window "${text}" is empty: its start and end are the same time`;
    return { text, days, startMinute: start, minutes, zone: normalized };
}

/** Parses a window or a list of them; throws nothing: a list of messages when any is wrong. */
export function parseWindows(input: string | readonly string[]): { windows: RolloutWindow[]; errors: string[] } {
    // Config values come untyped: a number or an object is one element that is not text, not a list.
    const list: unknown[] = Array.isArray(input) ? [...input] : [input];
    const windows: RolloutWindow[] = [];
    const errors: string[] = [];
    if (list.length === 0) errors.push(`the window list is empty: give at least one window (${EXAMPLE}), or leave the key out`);
    for (const w of list) {
        const r = typeof w === "string" ? parseWindow(w) : `window ${JSON.stringify(w)} is not text (${EXAMPLE})`;
        if (typeof r === "string") errors.push(r);
        else windows.push(r);
    }
    return { windows, errors };
}

/** One opening of a window: from start to end. */
export interface Opening {
    readonly window: RolloutWindow;
    readonly start: Date;
    readonly end: Date;
}

/** The openings of w that start on the days around `at` (yesterday to a week ahead). */
function openingsNear(w: RolloutWindow, at: Date): Opening[] {
    const local = DateTime.fromJSDate(at, { zone: w.zone }).startOf("day");
    const out: Opening[] = [];
    for (let d = -1; d <= 7; d++) {
        const day = local.plus({ days: d });
        if (!w.days.includes(day.weekday)) continue;
        const start = day.set({ hour: Math.floor(w.startMinute / 60), minute: w.startMinute % 60 });
        const end = start.plus({ minutes: w.minutes });
        out.push({ window: w, start: start.toJSDate(), end: end.toJSDate() });
    }
    return out;
}

/** The opening `at` falls in (the one ending last, when several overlap), or undefined. */
export function openingAt(windows: readonly RolloutWindow[], at: Date): Opening | undefined {
    const t = at.getTime();
    const open = windows.flatMap((w) => openingsNear(w, at)).filter((o) => o.start.getTime() <= t && t < o.end.getTime());
    return open.sort((a, b) => b.end.getTime() - a.end.getTime())[0];
}

/** The next opening that starts after `at`. Every window opens at least once a week. */
export function nextOpening(windows: readonly RolloutWindow[], at: Date): Opening | undefined {
    const t = at.getTime();
    return windows
        .flatMap((w) => openingsNear(w, at))
        .filter((o) => o.start.getTime() > t)
        .sort((a, b) => a.start.getTime() - b.start.getTime())[0];
}

/** An opening as a person reads it: `Sat 2026-12-05 02:00–05:00 UTC (in 4 d 11 h)`. */
export function describeOpening(o: Opening, now: Date): string {
    const s = DateTime.fromJSDate(o.start, { zone: o.window.zone });
    const e = DateTime.fromJSDate(o.end, { zone: o.window.zone });
    const mins = Math.round((o.start.getTime() - now.getTime()) / 60000);
    const away = mins < 60 ? `${mins} min` : mins < 1440 ? `${Math.floor(mins / 60)} h ${mins % 60} min` : `${Math.floor(mins / 1440)} d ${Math.floor((mins % 1440) / 60)} h`;
    return `${s.toFormat("ccc yyyy-LL-dd HH:mm")}–${e.toFormat("HH:mm")} ${o.window.zone}${mins > 0 ? ` (in ${away})` : ""}`;
}

/**
 * Whether a cutover may start now: undefined when it may, else the refusal naming the next window.
 * No windows configured means any time.
 */
export function refuseOutsideWindows(windows: readonly RolloutWindow[], now: Date): string | undefined {
    if (windows.length === 0 || openingAt(windows, now)) return undefined;
    const next = nextOpening(windows, now);
    return `outside the rollout window${windows.length > 1 ? "s" : ""} (${windows.map((w) => w.text).join("; ")}): the next one opens ${next ? describeOpening(next, now) : "never"}; wait for it, or pass --force to start now`;
}
