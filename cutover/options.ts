/**
 * Strict parsing of every value the command line takes, and the check a library entry point runs on
 * a request before it reads the router or writes anything.
 *
 * Nothing malformed is repaired: an empty element, a stray comma, odd whitespace, a decimal where a
 * whole number is needed, `1e1` or `0x10` is an error that names the flag, the value given and the fix.
 * Every parser throws {@link UserError} (the CLI exits 2 on it).
 *
 * The forms each value takes (documented in `--help`, built from {@link NUMBER_FLAGS}):
 * - weights (`--steps`, `--pause-at`): whole percents in decimal, comma-separated, no spaces
 *   (`10,25,50,100`); `--steps` also takes a preset name (`linear-25`);
 * - `--interval` (seconds) and `--min-success` (percent): a decimal with up to 3 places (`2.5`, `99.5`);
 * - every other number: a whole number (`500`, not `500.0`).
 *
 * Plan rules (strictly rising, 1 to 100, ending at 100, no jump over `--max-step`) are
 * `checkStepPlan`'s and gate rules `checkGate`'s; this module only adds the syntax and the bounds of
 * each flag, so each rule has one definition.
 *
 * Pure, but for {@link parseReportPath}, which looks at the file system through a {@link FileProbe}.
 */
import * as fs from "fs";
import * as path from "path";
import { checkStepPlan, Color, COLORS } from "../components/types";
import { UserError } from "../stack/errors";
import { checkFileName, MAX_NAME_LENGTH, parseSnapshotName, shown } from "../stack/names";

export { checkFileName, MAX_NAME_LENGTH, parseSnapshotName, shown };
import { checkGate, PlanRequest, PRESETS } from "./core";
import { DEFAULT_GATE, GateSpec } from "./types";
import { checkFlagSteps, FLAG_STEP_PREFIX, formatFlagStep, isFlagStep, parseFlagStep, StepSpec, stepFromConfig } from "./flags";

// ---------------------------------------------------------------------------------------------
// Showing what was given.
// ---------------------------------------------------------------------------------------------


/** `<what> is <value>: <fix>` as a UserError. */
function refuse(what: string, value: unknown, fix: string): UserError {
    return new UserError(`${what} is ${shown(value)}: ${fix}`);
}

// ---------------------------------------------------------------------------------------------
// Numbers.
// ---------------------------------------------------------------------------------------------

/** What a numeric flag accepts, in the flag's own unit. */
export interface NumberRule {
    /** The unit the flag is given in. */
    readonly unit: string;
    /** Whole numbers only; otherwise a decimal with up to `decimals` places. */
    readonly integer: boolean;
    /** Places after the point when decimals are allowed. */
    readonly decimals?: number;
    /** What a decimal value is called in messages ("a number of seconds"). */
    readonly noun?: string;
    readonly min: number;
    readonly max: number;
    /** An example value, for the messages and the help. */
    readonly example: string;
    /** The gate setting the flag sets, and how its value converts to the gate's unit. */
    readonly gate?: { readonly key: keyof GateSpec; readonly unit: string; readonly convert: (v: number) => number };
}

/** Every numeric flag of the CLI, with the bounds and forms it accepts. The one definition of each. */
export const NUMBER_FLAGS = {
    "--interval": {
        unit: "seconds",
        integer: false,
        decimals: 3,
        noun: "a number of seconds",
        min: 0.1,
        max: 3600,
        example: "5 or 2.5",
        gate: { key: "intervalMs", unit: "milliseconds", convert: (s: number) => Math.round(s * 1000) },
    },
    "--min-success": {
        unit: "percent",
        integer: false,
        decimals: 3,
        noun: "a percentage",
        min: 0,
        max: 100,
        example: "99 or 99.5",
        gate: { key: "minSuccessRate", unit: "a share: 0.99 is 99%", convert: (p: number) => p / 100 },
    },
    "--max-latency": { unit: "milliseconds", integer: true, min: 1, max: 600_000, example: "500", gate: { key: "maxLatencyMs", unit: "milliseconds", convert: (v: number) => v } },
    "--latency-percentile": {
        unit: "percentile",
        integer: false,
        decimals: 1,
        noun: "a percentile",
        min: 50,
        max: 99.9,
        example: "99 or 95",
        gate: { key: "latencyPercentile", unit: "percentile", convert: (v: number) => v },
    },
    "--min-requests": { unit: "requests", integer: true, min: 0, max: 1_000_000, example: "20", gate: { key: "minRequests", unit: "requests", convert: (v: number) => v } },
    "--failure-limit": { unit: "windows", integer: true, min: 1, max: 100, example: "1", gate: { key: "failureLimit", unit: "windows", convert: (v: number) => v } },
    "--windows": { unit: "windows", integer: true, min: 1, max: 100, example: "1", gate: { key: "windowsPerStep", unit: "windows", convert: (v: number) => v } },
    "--max-step": { unit: "weight points", integer: true, min: 1, max: 100, example: "25" },
    "--load": { unit: "clients", integer: true, min: 1, max: 64, example: "4" },
    "--last": { unit: "migrations", integer: true, min: 1, max: 1000, example: "1" },
    "--requests": { unit: "requests", integer: true, min: 1, max: 100_000, example: "200" },
} as const satisfies Record<string, NumberRule>;

export type NumberFlag = keyof typeof NUMBER_FLAGS;

/** Gate settings with no flag of their own (library callers only). */
const GATE_ONLY_RULES: Partial<Record<keyof GateSpec, { integer: boolean; min: number; max: number; unit: string }>> = {
    inconclusiveLimit: { integer: true, min: 1, max: 100, unit: "windows" },
    falseAlarmRate: { integer: false, min: 1e-9, max: 0.1, unit: "a chance per window: 0.001 is one in a thousand" },
    tickMs: { integer: true, min: 10, max: 60_000, unit: "milliseconds" },
};

const fmtNumber = (n: number) => n.toLocaleString("en-US", { maximumFractionDigits: 3 });

/** "a whole number of seconds from 1 to 3,600" and the like, for messages and the help. */
export function describeRule(r: NumberRule): string {
    const kind = r.integer ? `a whole number of ${r.unit}` : `${r.noun ?? `a number of ${r.unit}`} (decimals allowed, up to ${r.decimals} places)`;
    return `${kind}, from ${fmtNumber(r.min)} to ${fmtNumber(r.max)}, e.g. ${r.example}`;
}

/** The help line of a numeric flag: its purpose, then the form and bounds it accepts. */
export function flagHelp(flag: NumberFlag, purpose: string): string {
    return `${purpose}: ${describeRule(NUMBER_FLAGS[flag])}`;
}

/** Why a text is not a plain decimal number, for the message; undefined when it is one. */
function numberSyntaxProblem(text: string, integer: boolean, decimals = 0): string | undefined {
    if (text === "") return "it is empty";
    if (/\s/.test(text)) return "it holds whitespace; write the number alone";
    if (/^[+-]/.test(text)) return text.startsWith("-") ? "it is negative" : "write it without a sign";
    if (/^0[xob]/i.test(text)) return "write it in plain decimal digits";
    if (/^[\d.]+e[+-]?\d+$/i.test(text)) return "write it in plain decimal digits, not in exponent form";
    if (/^\d+,\d+$/.test(text)) return integer ? "it is not a whole number" : "use a point for decimals, not a comma";
    if (/^\d*\.?\d+[a-z%]+$/i.test(text)) return "give the number alone, without a unit";
    if (/^\d+\.\d*$|^\.\d+$/.test(text)) {
        if (integer) return "it is not a whole number";
        if (!/^\d+\.\d+$/.test(text)) return "write digits on both sides of the point, e.g. 0.5";
        if (text.split(".")[1].length > decimals) return `it has more than ${decimals} decimal places`;
    }
    if (!/^\d+(\.\d+)?$/.test(text)) return "it is not a number";
    if (/^0\d/.test(text)) return "write it without leading zeros";
    return undefined;
}

/**
 * Parses a numeric flag's value: plain decimal digits (and a point, where decimals are allowed),
 * within the flag's bounds.
 */
export function parseNumberFlag(flag: NumberFlag, text: string): number {
    const r: NumberRule = NUMBER_FLAGS[flag];
    const problem = numberSyntaxProblem(text, r.integer, r.decimals);
    const want = `give ${describeRule(r)}`;
    if (problem) {
        throw refuse(flag, text, `${problem}; ${want}`);
    }
    const n = Number(text);
    if (!(n >= r.min && n <= r.max)) {
        throw refuse(flag, text, `it is out of range; ${want}`);
    }
    return n;
}

/** A commander `argParser` for a numeric flag. */
export const numberParser =
    (flag: NumberFlag) =>
    (text: string): number =>
        parseNumberFlag(flag, text);

// ---------------------------------------------------------------------------------------------
// Weights: --steps and --pause-at.
// ---------------------------------------------------------------------------------------------

/**
 * The most steps a plan may have. Steps are whole percents from 1 to 100, strictly rising, so no
 * valid plan is longer; a longer list is refused before its elements are read.
 */
export const MAX_STEPS = 100;

const LIST_EXAMPLE = "10,25,50,100";

/** Parses a comma-separated list of whole percents (no spaces, no empty element). */
function parseWeightList(flag: string, text: string, example: string): number[] {
    if (text === "") {
        throw refuse(flag, text, `it is empty; give weights separated by commas, e.g. ${example}`);
    }
    const parts = text.split(",");
    if (parts.length > MAX_STEPS) {
        throw refuse(
            flag,
            text,
            `it lists ${parts.length} weights, more than the cap of ${MAX_STEPS} steps (whole percents from 1 to 100, strictly rising); give fewer, e.g. ${example}, or a preset`,
        );
    }
    if (/\s/.test(text)) {
        throw refuse(flag, text, `it holds whitespace; write the weights with commas and no spaces, e.g. ${example}`);
    }
    return parts.map((p, i) => {
        const at = `element ${i + 1} of ${parts.length}`;
        if (p === "") {
            const where = i === 0 ? "a leading comma" : i === parts.length - 1 ? "a trailing comma" : "two commas in a row";
            throw refuse(flag, text, `${at} is empty (${where}); write the weights with one comma between each, e.g. ${example}`);
        }
        const problem = numberSyntaxProblem(p, true);
        if (problem) {
            throw refuse(flag, text, `${at} (${JSON.stringify(p)}) is not a whole percent: ${problem}; give each weight as a whole number from 1 to 100, e.g. ${example}`);
        }
        return Number(p);
    });
}

/** The weights of a plan (its weight steps, without its flag steps): a preset's or the list's. */
export function stepsOf(steps: readonly StepSpec[] | string): number[] | undefined {
    return typeof steps === "string" ? PRESETS[steps] : steps.filter((s): s is number => !isFlagStep(s));
}

const FLAG_LIST_EXAMPLE = "flag:new-checkout=internal,flag:new-checkout=10,50,100";

/**
 * Parses a list of steps holding flag steps (`flag:<name>=<stage>`) among whole-percent weights.
 * Every element is read strictly; the weights keep the plan rules and each flag's stages rise.
 */
function parseMixedSteps(flag: string, text: string): StepSpec[] {
    if (/\s/.test(text)) {
        throw refuse(flag, text, `it holds whitespace; write the steps with commas and no spaces, e.g. ${FLAG_LIST_EXAMPLE}`);
    }
    const parts = text.split(",");
    if (parts.length > 2 * MAX_STEPS) {
        throw refuse(flag, text, `it lists ${parts.length} steps, more than the cap of ${2 * MAX_STEPS}; give fewer`);
    }
    const steps = parts.map((p, i): StepSpec => {
        const at = `element ${i + 1} of ${parts.length}`;
        if (p === "") {
            const where = i === 0 ? "a leading comma" : i === parts.length - 1 ? "a trailing comma" : "two commas in a row";
            throw refuse(flag, text, `${at} is empty (${where}); write the steps with one comma between each, e.g. ${FLAG_LIST_EXAMPLE}`);
        }
        if (p.startsWith(FLAG_STEP_PREFIX)) {
            const step = parseFlagStep(p);
            if (typeof step === "string") {
                throw refuse(flag, text, `${at} (${JSON.stringify(p)}): ${step}`);
            }
            return step;
        }
        const problem = numberSyntaxProblem(p, true);
        if (problem) {
            throw refuse(flag, text, `${at} (${JSON.stringify(p)}) is neither a whole percent nor a flag step: ${problem}; e.g. ${FLAG_LIST_EXAMPLE}`);
        }
        return Number(p);
    });
    const problem = checkStepPlan(stepsOf(steps)) ?? checkFlagSteps(steps.filter(isFlagStep));
    if (problem) {
        throw refuse(flag, text, `${problem}; give a plan such as ${FLAG_LIST_EXAMPLE}`);
    }
    return steps;
}

/**
 * Parses `--steps`: a preset's name (returned as is), or weights of the new color such as
 * `10,25,50,100`, checked by the plan rules (`checkStepPlan`).
 */
export function parseStepsFlag(text: string, flag = "--steps"): StepSpec[] | string {
    if (Object.prototype.hasOwnProperty.call(PRESETS, text)) {
        return text;
    }
    if (text.split(",").some((p) => p.startsWith(FLAG_STEP_PREFIX))) {
        return parseMixedSteps(flag, text);
    }
    const presets = Object.keys(PRESETS).join(", ");
    if (/^[A-Za-z]/.test(text)) {
        throw refuse(flag, text, `no preset has that name; use one of ${presets}, or weights such as ${LIST_EXAMPLE}`);
    }
    const steps = parseWeightList(flag, text, LIST_EXAMPLE);
    const problem = checkStepPlan(steps);
    if (problem) {
        throw refuse(flag, text, `${problem}; give a plan such as ${LIST_EXAMPLE}, or a preset: ${presets}`);
    }
    return steps;
}

/** Parses `--pause-at`: weights of the new color below 100, strictly rising, e.g. `50` or `25,50`. */
export function parsePauseAtFlag(text: string, flag = "--pause-at"): number[] {
    const weights = parseWeightList(flag, text, "50 or 25,50");
    const problem = checkPausePoints(weights);
    if (problem) {
        throw refuse(flag, text, problem);
    }
    return weights;
}

/** Pause points: whole percents from 1 to 99, strictly rising. Returns a message, or undefined. */
export function checkPausePoints(pauseAt: unknown): string | undefined {
    if (!Array.isArray(pauseAt)) {
        return "give the pause points as a list of weights, e.g. [50]";
    }
    let prev = 0;
    for (const [i, p] of pauseAt.entries()) {
        if (p === 100) {
            return "a cutover ends at 100 (promoted) and never pauses there; pause at a step below 100, e.g. 50";
        }
        if (typeof p !== "number" || !Number.isInteger(p) || p < 1 || p > 99) {
            return `pause point ${i + 1} (${shown(p)}) is not a whole percent from 1 to 99; pause at a step below 100, e.g. 50`;
        }
        if (p <= prev) {
            return `pause point ${i + 1} (${p}) does not rise above the one before it (${prev}); list each point once, rising, e.g. 25,50`;
        }
        prev = p;
    }
    return undefined;
}

/** Pause points that are not steps of the plan; returns a message, or undefined. */
export function checkPauseInPlan(pauseAt: readonly number[], steps: readonly number[]): string | undefined {
    const stray = pauseAt.filter((p) => !steps.includes(p));
    return stray.length > 0 ? `${stray.join(", ")} ${stray.length > 1 ? "are not steps" : "is not a step"} of the plan (${steps.join(", ")}); pause at one of its steps below 100` : undefined;
}

// ---------------------------------------------------------------------------------------------
// Colors, names, the webhook URL and the report path.
// ---------------------------------------------------------------------------------------------

/** Parses a color: `blue` or `green`, exactly. */
export function parseColor(text: string, flag = "--to"): Color {
    if (!(COLORS as readonly string[]).includes(text)) {
        throw refuse(flag, text, `use ${COLORS.join(" or ")}`);
    }
    return text as Color;
}

/** Parses a stack name before it is joined into any path (`stacks/Pulumi.<name>.yaml`, lock files). */
export function parseStackName(text: string): string {
    const problem = checkFileName("stack name", text);
    if (problem) {
        throw new UserError(problem);
    }
    return text;
}

/** Parses the webhook URL: an absolute http:// or https:// URL with a host. */
export function parseWebhookUrl(text: string, flag = "--webhook"): string {
    const fix = "give an absolute http:// or https:// URL, e.g. https://hooks.example.com/switchyard";
    if (text === "" || /\s/.test(text)) {
        throw refuse(flag, text, `${text === "" ? "it is empty" : "it holds whitespace"}; ${fix}`);
    }
    let url: URL;
    try {
        url = new URL(text);
    } catch {
        throw refuse(flag, text, `it is not a URL; ${fix}`);
    }
    if (url.protocol !== "http:" && url.protocol !== "https:") {
        throw refuse(flag, text, `its scheme is ${url.protocol.replace(/:$/, "")}; ${fix}`);
    }
    if (url.hostname === "") {
        throw refuse(flag, text, `it names no host; ${fix}`);
    }
    return text;
}

/** What {@link parseReportPath} needs to know of the file system. */
export interface FileProbe {
    /** "dir", "file" (or anything else that exists) or undefined when nothing is there. */
    kind(p: string): "dir" | "file" | undefined;
    /** Whether this process may write in (a folder) or to (a file) p. */
    writable(p: string): boolean;
}

/** The real file system. */
export const FS_PROBE: FileProbe = {
    kind(p) {
        try {
            return fs.statSync(p).isDirectory() ? "dir" : "file";
        } catch {
            return undefined;
        }
    },
    writable(p) {
        try {
            fs.accessSync(p, fs.constants.W_OK);
            return true;
        } catch {
            return false;
        }
    },
};

/** What a report file holds, by its name's extension: a page with the chart, or the raw events. */
export type ReportFormat = "html" | "json";

/**
 * The report format a file name asks for: `.html` (a page with the chart) or `.json` (the raw
 * events), in any case; undefined for any other name.
 * @example reportFormat("out/cutover.html") // "html"
 */
export function reportFormat(file: string): ReportFormat | undefined {
    const ext = path.extname(file).toLowerCase();
    return ext === ".html" ? "html" : ext === ".json" ? "json" : undefined;
}

/** Why a report file's name is refused (its extension), with the fix; undefined when it is a .html or .json file. */
export function checkReportFormat(file: string): string | undefined {
    if (reportFormat(file) !== undefined) return undefined;
    const ext = path.extname(file);
    return (
        `${ext ? `its extension ${ext} is` : "it has no extension, which is"} neither .html nor .json; ` +
        `name a .html file for the page with the chart (e.g. ./cutover-report.html) or a .json file for the raw events (e.g. ./cutover-report.json)`
    );
}

/**
 * Parses the report path: a `.html` or `.json` file (new, or one this process may overwrite) in a
 * folder that exists and is writable; never a folder. Returns the absolute path (relative to `cwd`).
 */
export function parseReportPath(text: string, flag = "--report", probe: FileProbe = FS_PROBE, cwd = process.cwd()): string {
    const fix = "give a file in a folder that exists and that you may write in, e.g. ./cutover-report.html";
    if (text === "" || text.includes("\0")) {
        throw refuse(flag, text, `${text === "" ? "it is empty" : "it holds a NUL character"}; ${fix}`);
    }
    if (/[/\\]$/.test(text)) {
        throw refuse(flag, text, `it ends with a path separator, so it names a folder; ${fix}`);
    }
    const file = path.resolve(cwd, text);
    const kind = probe.kind(file);
    if (kind === "dir") {
        throw refuse(flag, text, `${file} is a folder; name a file in it, e.g. ${path.join(file, "cutover-report.html")}`);
    }
    const format = checkReportFormat(file);
    if (format) {
        throw refuse(flag, text, file === text ? format : `${file}: ${format}`);
    }
    const dir = path.dirname(file);
    const dirKind = probe.kind(dir);
    if (dirKind === undefined) {
        throw refuse(flag, text, `its folder ${dir} does not exist; create it first, or ${fix}`);
    }
    if (dirKind !== "dir") {
        throw refuse(flag, text, `${dir} is not a folder; ${fix}`);
    }
    if (kind === "file" ? !probe.writable(file) : !probe.writable(dir)) {
        throw refuse(flag, text, kind === "file" ? `${file} exists and may not be written; ${fix}` : `its folder ${dir} may not be written in; ${fix}`);
    }
    return file;
}

// ---------------------------------------------------------------------------------------------
// A library request, checked whole before anything is read or written.
// ---------------------------------------------------------------------------------------------

/** What `cutover()`, `resume()` and `revert()` take besides the stack: every field optional. */
export type RequestToCheck = Partial<Omit<PlanRequest, "current">>;

const REQUEST_KEYS: readonly (keyof RequestToCheck)[] = ["to", "steps", "maxStep", "gate", "pretest", "backup", "pauseAt"];
const GATE_KEYS = Object.keys(DEFAULT_GATE) as (keyof GateSpec)[];

/** The bounds of each gate setting in its own unit: the flags' bounds, converted. */
function gateRule(key: keyof GateSpec): { integer: boolean; min: number; max: number; unit: string; flag?: string } | undefined {
    for (const [flag, r] of Object.entries(NUMBER_FLAGS) as [NumberFlag, NumberRule][]) {
        if (r.gate?.key === key) {
            const integer = key !== "minSuccessRate";
            return { integer, min: r.gate.convert(r.min), max: r.gate.convert(r.max), unit: r.gate.unit, flag };
        }
    }
    return GATE_ONLY_RULES[key];
}

/** Checks a partial gate: known keys, numbers within bounds, and `checkGate` on the whole. */
export function checkGateRequest(gate: unknown): string | undefined {
    if (gate === undefined) return undefined;
    if (gate === null || typeof gate !== "object" || Array.isArray(gate)) {
        return `gate is ${shown(gate)}: give an object with any of ${GATE_KEYS.join(", ")}`;
    }
    for (const [k, v] of Object.entries(gate)) {
        if (!(GATE_KEYS as string[]).includes(k)) {
            return `gate has no setting ${JSON.stringify(k)}: its settings are ${GATE_KEYS.join(", ")}`;
        }
        if (v === undefined) continue;
        const r = gateRule(k as keyof GateSpec)!;
        const range = r.integer ? `a whole number of ${r.unit} from ${r.min} to ${r.max}` : `a number from ${r.min} to ${r.max} (${r.unit})`;
        const bounds = `${range}${r.flag ? `; ${r.flag} on the command line` : ""}`;
        if (typeof v !== "number" || !Number.isFinite(v) || (r.integer && !Number.isInteger(v)) || v < r.min || v > r.max) {
            return `gate.${k} is ${shown(v)}: give ${bounds}`;
        }
    }
    const whole: GateSpec = { ...DEFAULT_GATE, ...Object.fromEntries(Object.entries(gate).filter(([, v]) => v !== undefined)) };
    return checkGate(whole);
}

/**
 * Checks a request to a library entry point completely (the stack name, the plan, the gate, the pause
 * points) before anything is read from the stack or the router or written anywhere. Throws a
 * UserError naming the value and the fix. Pure.
 *
 * A plan declared in the stack's config (`switchyard:cutover`) is checked later by `makePlan`, once the
 * stack's state has been read, still before the router is.
 */
export function validateRequest(target: { readonly stackName: string }, req: RequestToCheck = {}): void {
    parseStackName(target.stackName);
    const problem = checkRequest(req);
    if (problem) {
        throw new UserError(problem);
    }
}

function checkRequest(req: RequestToCheck): string | undefined {
    if (req === null || typeof req !== "object") {
        return `the request is ${shown(req)}: give an object with any of ${REQUEST_KEYS.join(", ")}`;
    }
    const unknown = Object.keys(req).filter((k) => !(REQUEST_KEYS as string[]).includes(k));
    if (unknown.length > 0) {
        return `the request has no field ${unknown.map((k) => JSON.stringify(k)).join(", ")}: its fields are ${REQUEST_KEYS.join(", ")}`;
    }
    if (req.to !== undefined && !(COLORS as readonly unknown[]).includes(req.to)) {
        return `to is ${shown(req.to)}: use ${COLORS.join(" or ")}`;
    }
    for (const k of ["pretest", "backup"] as const) {
        if (req[k] !== undefined && typeof req[k] !== "boolean") {
            return `${k} is ${shown(req[k])}: give true or false`;
        }
    }
    if (req.maxStep !== undefined) {
        const r: NumberRule = NUMBER_FLAGS["--max-step"];
        if (typeof req.maxStep !== "number" || !Number.isInteger(req.maxStep) || req.maxStep < r.min || req.maxStep > r.max) {
            return `maxStep is ${shown(req.maxStep)}: give a whole number from ${r.min} to ${r.max} (the largest jump between two steps)`;
        }
    }
    let steps: number[] | undefined;
    if (req.steps !== undefined) {
        if (typeof req.steps === "string") {
            steps = stepsOf(req.steps);
            if (steps === undefined) {
                return `steps is ${shown(req.steps)}: no preset has that name; use one of ${Object.keys(PRESETS).join(", ")}, or a list such as [10, 25, 50, 100]`;
            }
        } else {
            if (Array.isArray(req.steps) && req.steps.length > MAX_STEPS) {
                return `steps is ${shown(req.steps)}: a plan has at most ${MAX_STEPS} steps (whole percents from 1 to 100, strictly rising)`;
            }
            const parsed = Array.isArray(req.steps) ? req.steps.map((s) => (isFlagStep(s) ? stepFromConfig(s) : s)) : req.steps;
            const bad = Array.isArray(parsed) ? parsed.find((s) => typeof s === "string") : undefined;
            if (typeof bad === "string") {
                return `steps is ${shown(req.steps)}: ${bad}`;
            }
            const weights = Array.isArray(parsed) ? stepsOf(parsed as StepSpec[]) : parsed;
            const p = checkStepPlan(weights, req.maxStep ?? 100) ?? checkFlagSteps((parsed as StepSpec[]).filter(isFlagStep));
            if (p) {
                return `steps is ${shown(req.steps)}: ${p}`;
            }
            steps = weights as number[];
        }
    }
    const gate = checkGateRequest(req.gate);
    if (gate) {
        return gate;
    }
    if (req.pauseAt !== undefined) {
        const p = checkPausePoints(req.pauseAt) ?? (steps ? checkPauseInPlan(req.pauseAt, steps) : undefined);
        if (p) {
            return `pauseAt is ${shown(req.pauseAt)}: ${p}`;
        }
    }
    return undefined;
}

/**
 * The checks across the cutover's flags, with the flags named: `--pause-at` among the steps of
 * `--steps`, and `--steps` within `--max-step`. Each flag alone was checked by its parser.
 */
export function checkCutoverFlags(o: { steps?: readonly StepSpec[] | string; pauseAt?: number[]; maxStep?: number }): void {
    const steps = o.steps === undefined ? undefined : stepsOf(o.steps);
    const text = Array.isArray(o.steps) ? o.steps.map((s: StepSpec) => (isFlagStep(s) ? formatFlagStep(s) : String(s))).join(",") : String(o.steps);
    const given = `--steps ${text}`;
    if (steps !== undefined && o.maxStep !== undefined) {
        const p = checkStepPlan(steps, o.maxStep);
        if (p) {
            throw refuse("--steps", text, `with --max-step ${o.maxStep}, ${p}`);
        }
    }
    if (steps !== undefined && o.pauseAt !== undefined) {
        const p = checkPauseInPlan(o.pauseAt, steps);
        if (p) {
            throw refuse("--pause-at", o.pauseAt.join(","), `${p} (${given})`);
        }
    }
}
