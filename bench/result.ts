/**
 * The bench protocol: what every bench reports, so `npm run bench` (bench/run.ts) gathers the figures
 * without parsing prose.
 *
 * When the environment variable `BENCH_JSON` names a file, a bench writes there one JSON object, a
 * {@link BenchResult}. Whether or not it is set, the bench prints its figures as a table.
 *
 * @example
 * ```ts
 * writeBenchResult({
 *     name: "gates", title: "Streaming gates", command: "npm run bench:gates",
 *     startedAt: started.toISOString(), durationMs: Date.now() - started.getTime(),
 *     figures: [
 *         measured("error onset → verdict", 612, "ms", atMost(1000, "ms")), // goal ≤ 1000 ms: met
 *         figure("requests per second", 1012, "requests/s"),               // no goal: met null
 *     ],
 *     notes: ["2-core machine, run alone"],
 * });
 * ```
 */
import * as fs from "fs";

/** A goal a figure is held to, and whether the figure met it. */
export interface Goal {
    /** The goal as people read it, e.g. "≤ 1000 ms". */
    readonly goal: string;
    readonly met: boolean;
}

/** One measured figure. */
export interface Figure {
    /** What was measured, e.g. "error onset → verdict (20%-failing green at 10%)". */
    readonly measure: string;
    /** The figure; a number wherever it is one. */
    readonly value: number | string;
    /** Its unit ("ms", "s", "×", "requests"…); "" for a plain count. */
    readonly unit: string;
    /** The goal, or null when the figure has none. */
    readonly goal: string | null;
    /** true or false against the goal; null when there is no goal. */
    readonly met: boolean | null;
}

/** What one bench reports: the object written to `BENCH_JSON`. */
export interface BenchResult {
    /** Short name, as in `--only`: "setup", "clone", "revert", "gates", "kills", "demo". */
    readonly name: string;
    /** Heading for bench/RESULTS.md, e.g. "Clone speed". */
    readonly title: string;
    /** The command that reproduces it, e.g. "npm run bench:clone". */
    readonly command: string;
    /** ISO time the bench started. */
    readonly startedAt: string;
    readonly durationMs: number;
    readonly figures: readonly Figure[];
    /** Free text lines: conditions, what was skipped and why. */
    readonly notes?: readonly string[];
    /** An optional extra markdown table (or any markdown) for bench/RESULTS.md. */
    readonly markdown?: string;
}

/**
 * A figure; pass a {@link Goal} (see {@link atMost}, {@link atLeast}, {@link equals}) when there is one.
 *
 * @example figure("restore (XFS reflink), scale 68", 202, "ms", { goal: "≤ 1000 ms", met: true })
 */
export function figure(measure: string, value: number | string, unit: string, goal?: Goal): Figure {
    return { measure, value, unit, goal: goal?.goal ?? null, met: goal ? goal.met : null };
}

/** "612 ms", "0.89×", "12%", "3". */
const joinUnit = (v: string, unit: string) => (!unit ? v : unit === "×" || unit === "%" ? `${v}${unit}` : `${v} ${unit}`);
const withUnit = (n: number, unit: string) => joinUnit(String(n), unit);

/** Goal `value ≤ limit`. @example atMost(1000, "ms")(612) */
export function atMost(limit: number, unit = ""): (value: number) => Goal {
    return (value) => ({ goal: `≤ ${withUnit(limit, unit)}`, met: value <= limit });
}

/** Goal `value < limit`. */
export function below(limit: number, unit = ""): (value: number) => Goal {
    return (value) => ({ goal: `< ${withUnit(limit, unit)}`, met: value < limit });
}

/** Goal `value ≥ limit`. */
export function atLeast(limit: number, unit = ""): (value: number) => Goal {
    return (value) => ({ goal: `≥ ${withUnit(limit, unit)}`, met: value >= limit });
}

/** Goal `value = expected`. */
export function equals(expected: number | string, unit = ""): (value: number | string) => Goal {
    return (value) => ({ goal: `= ${typeof expected === "number" ? withUnit(expected, unit) : expected}`, met: value === expected });
}

/** A figure held to a goal function: `measured("x", 612, "ms", atMost(1000, "ms"))`. */
export function measured<V extends number | string>(measure: string, value: V, unit: string, goal: (v: V) => Goal): Figure {
    return figure(measure, value, unit, goal(value));
}

/** "met", "**missed**" or "" (no goal). */
export function verdictText(met: boolean | null): string {
    return met === null ? "" : met ? "met" : "**missed**";
}

/** A figure's value with its unit, numbers rounded to a sensible precision. */
export function valueText(f: Pick<Figure, "value" | "unit">): string {
    return joinUnit(typeof f.value === "number" ? formatNumber(f.value) : f.value, f.unit);
}

/** 1234.567 → "1235", 14.56 → "14.6", 0.8912 → "0.89", 0.00213 → "0.0021". */
export function formatNumber(n: number): string {
    if (!Number.isFinite(n)) return String(n);
    const a = Math.abs(n);
    if (Number.isInteger(n) || a >= 100) return String(Math.round(n));
    if (a >= 10) return n.toFixed(1);
    if (a >= 0.1) return n.toFixed(2);
    return n.toPrecision(2);
}

const cell = (s: string) => s.replace(/\|/g, "\\|").replace(/\n/g, " ");

/** The figures as a markdown table: measure, value, goal, met. */
export function figuresTable(figures: readonly Figure[]): string {
    return [
        "| measure | value | goal | met |",
        "|---|---|---|---|",
        ...figures.map((f) => `| ${cell(f.measure)} | ${cell(valueText(f))} | ${cell(f.goal ?? "")} | ${verdictText(f.met)} |`),
    ].join("\n");
}

/** Checks that a parsed value is a {@link BenchResult}; throws naming the first bad field. */
export function parseBenchResult(raw: unknown): BenchResult {
    const o = raw as Record<string, unknown>;
    const need = (cond: boolean, what: string) => {
        if (!cond) throw new Error(`not a bench result: ${what}`);
    };
    need(typeof o === "object" && o !== null && !Array.isArray(o), "not an object");
    for (const k of ["name", "title", "command", "startedAt"]) need(typeof o[k] === "string", `"${k}" is not a string`);
    need(typeof o.durationMs === "number", `"durationMs" is not a number`);
    need(Array.isArray(o.figures), `"figures" is not an array`);
    (o.figures as unknown[]).forEach((x, i) => {
        const f = x as Record<string, unknown>;
        need(typeof f === "object" && f !== null, `figure ${i} is not an object`);
        need(typeof f.measure === "string", `figure ${i}: "measure" is not a string`);
        need(typeof f.value === "number" || typeof f.value === "string", `figure ${i}: "value" is neither a number nor a string`);
        need(typeof f.unit === "string", `figure ${i}: "unit" is not a string`);
        need(f.goal === null || typeof f.goal === "string", `figure ${i}: "goal" is neither a string nor null`);
        need(f.met === null || typeof f.met === "boolean", `figure ${i}: "met" is neither a boolean nor null`);
        need((f.goal === null) === (f.met === null), `figure ${i}: "met" must be null exactly when there is no goal`);
    });
    need(o.notes === undefined || (Array.isArray(o.notes) && o.notes.every((n) => typeof n === "string")), `"notes" is not a list of strings`);
    need(o.markdown === undefined || typeof o.markdown === "string", `"markdown" is not a string`);
    return o as unknown as BenchResult;
}

/** Reads and checks a result file a bench wrote. */
export function readBenchResult(file: string): BenchResult {
    return parseBenchResult(JSON.parse(fs.readFileSync(file, "utf8")));
}

/** The readable form printed to stdout: title, command, the figures' table, notes. */
export function formatBenchResult(r: BenchResult): string {
    return [
        "",
        `${r.title} (${r.name}): ${(r.durationMs / 1000).toFixed(1)} s, \`${r.command}\``,
        "",
        figuresTable(r.figures),
        ...(r.markdown ? ["", r.markdown] : []),
        ...(r.notes?.length ? ["", ...r.notes.map((n) => `- ${n}`)] : []),
        "",
    ].join("\n");
}

/**
 * Reports a bench's result: writes it to the file `BENCH_JSON` names (when set) and always prints it
 * as a table to stdout.
 *
 * @param env where to read `BENCH_JSON` from. @default process.env
 */
export function writeBenchResult(result: BenchResult, env: NodeJS.ProcessEnv = process.env): void {
    const checked = parseBenchResult(JSON.parse(JSON.stringify(result)));
    const file = env.BENCH_JSON;
    if (file) fs.writeFileSync(file, `${JSON.stringify(checked, null, 2)}\n`);
    process.stdout.write(`${formatBenchResult(checked)}\n`);
}
