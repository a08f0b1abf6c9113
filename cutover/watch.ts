/**
 * A cutover's rollout settings beyond its steps, declared in `switchyard:cutover` beside `steps`:
 *
 * - `window`: the rollout windows (`windows.ts`), a window or a list; a cutover starts only inside
 *   one (unless `--force`) and pauses at its next step boundary once its window has closed.
 * - `watch`: after 100%, the gate keeps judging the new color for this long, the old color warm
 *   (Argo's post-promotion analysis); a breach reverts at once. Also `--watch`.
 * - `keepWarm`: how long after the watch the old color stays up; then `switchyard scale-down`
 *   (or a later `resume`/`status`) scales it down through the stack.
 *
 * Pure: durations are parsed strictly, time comes in as an argument.
 */
import { parseWindows, RolloutWindow } from "./windows";
import { CONFIG_KEYS } from "../components/types";

/** The settings key; each setting is a path under it (`switchyard:cutover.window`). */
export const ROLLOUT_KEY = CONFIG_KEYS.cutover;

/**
 * How long the old color stays warm after the watch when `keepWarm` is not given.
 * @default 1 h
 */
export const DEFAULT_KEEP_WARM_MS = 3_600_000;

/** Longest watch or keep-warm accepted: a week. */
export const MAX_DURATION_MS = 7 * 24 * 3_600_000;

const UNITS: Record<string, number> = { s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };

/**
 * Parses a duration strictly: whole numbers with a unit, largest first, no spaces: `6s`, `30m`,
 * `24h`, `1h30m`, `2d`. Returns milliseconds, or a message naming the value and where it came from.
 *
 * @example parseDuration("1h30m", "--watch") // 5_400_000
 */
export function parseDuration(text: unknown, where: string): number | string {
    const bad = `${where} is ${JSON.stringify(text)}: give a duration such as 6s, 30m, 24h or 1h30m (whole numbers, units s, m, h, d; at most 7d)`;
    if (typeof text !== "string" || !/^(\d+d)?(\d+h)?(\d+m)?(\d+s)?$/.test(text) || text === "") return bad;
    let total = 0;
    for (const [, n, u] of text.matchAll(/(\d+)([dhms])/g)) total += Number(n) * UNITS[u];
    if (total <= 0 || total > MAX_DURATION_MS) return bad;
    return total;
}

/** A duration as written: `6s`, `30m`, `1h30m`. */
export function formatDuration(msValue: number): string {
    let rest = Math.round(msValue / 1000) * 1000;
    const out = Object.entries(UNITS)
        .sort((a, b) => b[1] - a[1])
        .map(([u, size]) => {
            const n = Math.floor(rest / size);
            rest -= n * size;
            return n > 0 ? `${n}${u}` : "";
        })
        .join("");
    return out === "" ? "0s" : out;
}

/** The rollout settings, checked. */
export interface RolloutSettings {
    /** The windows' texts as declared (kept in the checkpoint); empty: any time. */
    readonly windows: readonly string[];
    /** The watch after 100%, in milliseconds; 0: none. @default 0 */
    readonly watchMs: number;
    /** The keep-warm time after the watch, in milliseconds. @default 1 h */
    readonly keepWarmMs: number;
}

/**
 * Reads `window`, `watch` and `keepWarm` from the `switchyard:cutover` object (and `--watch`, which
 * wins over `watch`). Throws nothing: the settings, or the messages naming each key and value.
 */
export function rolloutSettings(declared: unknown, flags: { watch?: string } = {}): { settings: RolloutSettings; errors: string[] } {
    const d = (declared && typeof declared === "object" ? declared : {}) as Record<string, unknown>;
    const errors: string[] = [];
    let windows: string[] = [];
    if (d.window !== undefined) {
        const r = parseWindows(d.window as string | string[]);
        errors.push(...r.errors.map((e) => `${ROLLOUT_KEY}.window: ${e}`));
        windows = r.windows.map((w) => w.text);
    }
    const duration = (v: unknown, where: string, dflt: number) => {
        if (v === undefined) return dflt;
        const r = parseDuration(v, where);
        if (typeof r === "string") {
            errors.push(r);
            return dflt;
        }
        return r;
    };
    const watchMs = flags.watch !== undefined ? duration(flags.watch, "--watch", 0) : duration(d.watch, `${ROLLOUT_KEY}.watch`, 0);
    const keepWarmMs = duration(d.keepWarm, `${ROLLOUT_KEY}.keepWarm`, DEFAULT_KEEP_WARM_MS);
    return { settings: { windows, watchMs, keepWarmMs }, errors };
}

/** The rollout settings' names under {@link ROLLOUT_KEY} (`switchyard:cutover.window`, …). */
export const ROLLOUT_SETTINGS = ["window", "watch", "keepWarm"] as const;

/** The rollout settings as a stack declares them, unchecked (what {@link rolloutSettings} reads). */
export type DeclaredRollout = Partial<Record<(typeof ROLLOUT_SETTINGS)[number], unknown>>;

/**
 * The rollout settings of a `switchyard:cutover` object as written, unchecked: what a pair records in
 * its state for the policy pack to check (`rollout-settings-valid`). Undefined when it declares none.
 *
 * @example declaredRollout({ steps: [10, 100], window: "Sat 02:00-05:00 UTC" }) // { window: "Sat 02:00-05:00 UTC" }
 */
export function declaredRollout(declared: unknown): DeclaredRollout | undefined {
    if (!declared || typeof declared !== "object" || Array.isArray(declared)) return undefined;
    const d = declared as Record<string, unknown>;
    const out = Object.fromEntries(ROLLOUT_SETTINGS.filter((k) => d[k] !== undefined).map((k) => [k, d[k]]));
    return Object.keys(out).length > 0 ? out : undefined;
}

/** The windows of a plan or checkpoint, parsed (they were checked when the plan was made). */
export function windowsOf(texts: readonly string[] | undefined): RolloutWindow[] {
    return texts && texts.length > 0 ? parseWindows(texts).windows : [];
}

/** An ISO instant `msValue` after `now`. */
export const after = (now: string, msValue: number): string => new Date(Date.parse(now) + msValue).toISOString();

/**
 * Whether the old color's scale-down is due: a promoted cutover whose keep-warm deadline has passed
 * and whose old color is still up.
 */
export function scaleDownDue(cp: { phase: string; scaleDownAt?: string; scaledDown?: string } | undefined, now: string): boolean {
    return !!cp && cp.phase === "promoted" && cp.scaleDownAt !== undefined && cp.scaledDown === undefined && Date.parse(cp.scaleDownAt) <= Date.parse(now);
}
