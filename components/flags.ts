/**
 * Feature flags as a stack declares them (`switchyard:flags`), checked strictly, and turned into the
 * flag-definitions file that flagd (OpenFeature's reference flag daemon) and its in-process providers
 * serve.
 *
 * A flag has variants (by default `on: true`, `off: false`), a default variant served to everyone
 * the rollout does not reach, the users counted as internal, and a rollout stage:
 * - `"off"`: everyone gets the default variant;
 * - `"internal"`: internal users get the on variant, others the default;
 * - a percentage `p` (0 to 100): internal users, and `p`% of the others picked by flagd's
 *   `fractional` operator on the flag's key and the user's targeting key, so a user's answer is
 *   sticky, and a user reached at 10% is still reached at 50% (the buckets only grow).
 *
 * The stage is what a cutover's flag step sets ({@link withRollout}) and reads back
 * ({@link rolloutOf} from config, {@link servedRollouts} from the served file).
 *
 * The app's side of the contract, each term defined here once: the targeting key is the user id of
 * the {@link USER_ID_HEADER} header; a context attribute `x` comes from the header `x-user-x`
 * ({@link ATTRIBUTE_HEADER_PREFIX}); every answer carries {@link FLAGS_HEADER} listing the variant
 * each flag served it (`new-checkout=on`, {@link formatFlagsHeader}).
 *
 * Pure: no I/O.
 */
import { FeatureFlag } from "@openfeature/flagd-core";

/** The stack configuration key flags are declared under. */
export const FLAGS_CONFIG_KEY = "switchyard:flags";

/** `$schema` of a flagd flag-definitions file. */
export const FLAGD_SCHEMA = "https://flagd.dev/schema/v0/flags.json";

/**
 * The environment variable giving an app the flag-definitions file's path. It is the one the
 * OpenFeature flagd provider reads for its in-process file mode (`resolverType: "in-process"`), so
 * a provider created with no options finds the file.
 */
export const FLAGS_FILE_ENV = "FLAGD_OFFLINE_FLAG_SOURCE_PATH";

/** The request header the app takes the user id (the targeting key) from. */
export const USER_ID_HEADER = "x-user-id";

/** A request header `x-user-<name>` gives the evaluation context's attribute `<name>` (e.g. `x-user-group`). */
export const ATTRIBUTE_HEADER_PREFIX = "x-user-";

/** The answer header listing the variant each flag served the request: `new-checkout=on,dark-mode=off`. */
export const FLAGS_HEADER = "x-flags";

/** flagd's flag states. */
export type FlagState = "ENABLED" | "DISABLED";
export const FLAG_STATES: readonly FlagState[] = ["ENABLED", "DISABLED"];

/** A variant's value, as flagd takes it. */
export type FlagValue = boolean | string | number | { readonly [key: string]: unknown };

/** How far a flag is rolled out: off, internal users only, or internal users and a percentage of the others. */
export type RolloutStage = "off" | "internal" | number;

/** The rollout stages that are not percentages. */
export const NAMED_STAGES = ["off", "internal"] as const;

/**
 * Who counts as internal: a context attribute (from the header `x-user-<attribute>`) that is one of
 * `values`, or ends with `endsWith` (an email domain), or a JsonLogic `rule` of your own.
 *
 * @example { attribute: "group", values: ["internal"] }       // header x-user-group: internal
 * @example { attribute: "email", endsWith: "@example.com" }   // header x-user-email: ann@example.com
 * @example { rule: { "==": [{ "var": "tier" }, "staff"] } }
 */
export interface InternalUsers {
    /**
     * The evaluation context attribute to look at.
     * @default "group"
     */
    readonly attribute?: string;
    /**
     * Values of the attribute that mark an internal user.
     * @default ["internal"] (when neither endsWith nor rule is given)
     */
    readonly values?: readonly string[];
    /** A suffix of the attribute that marks an internal user, e.g. an email domain `"@example.com"`. */
    readonly endsWith?: string;
    /**
     * A JsonLogic rule (an object, or its JSON text) true for internal users; flagd's operators
     * (`starts_with`, `ends_with`, `sem_ver`) may be used. Replaces attribute, values and endsWith.
     */
    readonly rule?: Record<string, unknown> | string;
}

/** One flag of `switchyard:flags`. */
export interface FlagArgs {
    /**
     * The flag's variants, by name.
     * @default { on: true, off: false }
     */
    readonly variants?: Readonly<Record<string, FlagValue>>;
    /**
     * The variant everyone the rollout does not reach gets.
     * @default "off"
     */
    readonly defaultVariant?: string;
    /**
     * The variant the rollout serves.
     * @default "on"
     */
    readonly onVariant?: string;
    /**
     * Who counts as internal.
     * @default { attribute: "group", values: ["internal"] }
     */
    readonly internal?: InternalUsers;
    /**
     * How far the flag is rolled out.
     * @default "off"
     * @example "internal"
     * @example 10
     */
    readonly rollout?: RolloutStage;
    /**
     * flagd's state: a DISABLED flag is not served at all (the app falls back to its code default).
     * @default "ENABLED"
     */
    readonly state?: FlagState;
}

/** `switchyard:flags`: flags by name. */
export type FlagsConfig = Readonly<Record<string, FlagArgs>>;

/** One flag of a flagd flag-definitions file. */
export interface FlagdFlag {
    readonly state: FlagState;
    readonly variants: Readonly<Record<string, FlagValue>>;
    readonly defaultVariant: string;
    readonly targeting?: Record<string, unknown>;
    readonly metadata?: Readonly<Record<string, string | number | boolean>>;
}

/** A flagd flag-definitions file. */
export interface FlagdDocument {
    readonly $schema: string;
    readonly flags: Readonly<Record<string, FlagdFlag>>;
}

/** The metadata key of a flagd flag recording the stage it was written at ("off", "internal" or "10"). */
export const ROLLOUT_METADATA_KEY = "switchyardRollout";

const DEFAULT_VARIANTS: Readonly<Record<string, FlagValue>> = { on: true, off: false };
const DEFAULT_INTERNAL: InternalUsers = { attribute: "group", values: ["internal"] };
const NAME_RE = /^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$/;
const FLAG_KEYS = ["variants", "defaultVariant", "onVariant", "internal", "rollout", "state"] as const;
const INTERNAL_KEYS = ["attribute", "values", "endsWith", "rule"] as const;

const isObject = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === "object" && !Array.isArray(v);
const list = (xs: readonly string[]) => xs.map((x) => JSON.stringify(x)).join(", ");

/** Where a flag's problems are reported: `switchyard:flags.new-checkout`. */
export function flagKey(name: string): string {
    return `${FLAGS_CONFIG_KEY}.${name}`;
}

/** What is wrong with a rollout stage, or undefined. */
export function checkStage(stage: unknown): string | undefined {
    if (stage === "off" || stage === "internal") return undefined;
    if (typeof stage === "number" && Number.isInteger(stage) && stage >= 0 && stage <= 100) return undefined;
    return `rollout is ${JSON.stringify(stage)}: use "off", "internal" or a whole percentage from 0 to 100`;
}

/** A stage as typed ("off", "internal", "10" or "10%"), or undefined when it is none. */
export function parseStage(text: string): RolloutStage | undefined {
    const t = text.trim();
    if (t === "off" || t === "internal") return t;
    const m = /^(\d{1,3})%?$/.exec(t);
    if (!m) return undefined;
    const n = Number(m[1]);
    return n <= 100 ? n : undefined;
}

/** A stage as shown: `off`, `internal`, `10%`. */
export function formatStage(stage: RolloutStage): string {
    return typeof stage === "number" ? `${stage}%` : stage;
}

/** The JsonLogic text or object of a rule, parsed; or the reason it does not parse. */
function ruleObject(rule: unknown): { rule?: Record<string, unknown>; problem?: string } {
    let r = rule;
    if (typeof r === "string") {
        try {
            r = JSON.parse(r);
        } catch (e) {
            return { problem: `internal.rule does not parse as JSON (${(e as Error).message}): give a JsonLogic object such as {"==":[{"var":"group"},"internal"]}` };
        }
    }
    if (!isObject(r) || Object.keys(r).length === 0) {
        return { problem: `internal.rule is ${JSON.stringify(rule)}: give a JsonLogic object such as {"==":[{"var":"group"},"internal"]}` };
    }
    return { rule: r };
}

const silent = { error() {}, warn() {}, info() {}, debug() {} };

/**
 * What is wrong with a flagd flag's targeting, as flagd itself would find it (flagd-core compiles
 * the JsonLogic with flagd's operators), or undefined.
 */
export function targetingProblem(name: string, flag: FlagdFlag): string | undefined {
    let f: FeatureFlag;
    try {
        f = new FeatureFlag(name, flag as never, silent);
    } catch (e) {
        return (e as Error).message;
    }
    const r = f.evaluate({ targetingKey: "switchyard-probe" }, silent);
    if (r.reason === "ERROR" && /targeting/i.test(r.errorMessage ?? "")) {
        return `its targeting does not parse as JsonLogic with flagd's operators: ${JSON.stringify(flag.targeting)}`;
    }
    return undefined;
}

/** Problems of one flag, each without the flag's key in front. */
function flagProblems(name: string, value: unknown): string[] {
    if (!NAME_RE.test(name)) {
        return [`the flag name is not one: use letters, digits, ".", "_" and "-" (up to 63, starting with a letter or digit)`];
    }
    if (!isObject(value)) {
        return [`is ${JSON.stringify(value)}: give an object such as {"rollout": "off"}`];
    }
    const problems: string[] = [];
    const stray = Object.keys(value).filter((k) => !(FLAG_KEYS as readonly string[]).includes(k));
    if (stray.length > 0) {
        problems.push(`${list(stray)} is not a key of a flag: use ${list(FLAG_KEYS)}`);
    }
    const variants = value.variants === undefined ? DEFAULT_VARIANTS : value.variants;
    let names: string[] = [];
    if (!isObject(variants) || Object.keys(variants).length === 0) {
        problems.push(`variants is ${JSON.stringify(variants)}: give an object of variants by name, e.g. {"on": true, "off": false}`);
    } else {
        names = Object.keys(variants);
        const kinds = new Set<string>();
        for (const [v, x] of Object.entries(variants)) {
            if (!NAME_RE.test(v)) {
                problems.push(`variant name ${JSON.stringify(v)} is not one: use letters, digits, ".", "_" and "-"`);
            }
            const kind = typeof x === "boolean" || typeof x === "string" ? typeof x : typeof x === "number" && Number.isFinite(x) ? "number" : isObject(x) ? "object" : undefined;
            if (kind === undefined) {
                problems.push(`variant ${JSON.stringify(v)} is ${JSON.stringify(x)}: give a boolean, string, number or object`);
            } else {
                kinds.add(kind);
            }
        }
        if (kinds.size > 1) {
            problems.push(`variants mix ${[...kinds].join(" and ")} values: flagd serves one type per flag`);
        }
    }
    for (const key of ["defaultVariant", "onVariant"] as const) {
        const v = value[key] ?? (key === "defaultVariant" ? "off" : "on");
        if (names.length > 0 && (typeof v !== "string" || !names.includes(v))) {
            problems.push(
                `${key} ${JSON.stringify(v)} is not a variant${value[key] === undefined ? " (the default)" : ""}: use one of ${list(names)}` +
                    (value[key] === undefined ? ` or set ${key}` : ""),
            );
        }
    }
    if (value.defaultVariant !== undefined && value.defaultVariant === value.onVariant) {
        problems.push(`defaultVariant and onVariant are both ${JSON.stringify(value.onVariant)}: the rollout would change nothing`);
    }
    if (value.rollout !== undefined) {
        const p = checkStage(value.rollout);
        if (p) problems.push(typeof value.rollout === "number" && value.rollout > 100 ? `${p} (a percentage over 100)` : p);
    }
    if (value.state !== undefined && !(FLAG_STATES as readonly unknown[]).includes(value.state)) {
        problems.push(`state is ${JSON.stringify(value.state)}: use ${list(FLAG_STATES)}`);
    }
    const internal = value.internal;
    if (internal !== undefined) {
        if (!isObject(internal)) {
            problems.push(`internal is ${JSON.stringify(internal)}: give an object such as {"attribute": "group", "values": ["internal"]}`);
        } else {
            const strayI = Object.keys(internal).filter((k) => !(INTERNAL_KEYS as readonly string[]).includes(k));
            if (strayI.length > 0) problems.push(`internal has ${list(strayI)}, which it does not take: use ${list(INTERNAL_KEYS)}`);
            if (internal.attribute !== undefined && (typeof internal.attribute !== "string" || !/^[A-Za-z][A-Za-z0-9_-]*$/.test(internal.attribute))) {
                problems.push(`internal.attribute is ${JSON.stringify(internal.attribute)}: give an attribute name such as "group" (the header x-user-group)`);
            }
            if (internal.values !== undefined && (!Array.isArray(internal.values) || internal.values.length === 0 || !internal.values.every((x) => typeof x === "string" && x !== ""))) {
                problems.push(`internal.values is ${JSON.stringify(internal.values)}: give a list of strings such as ["internal"]`);
            }
            if (internal.endsWith !== undefined && (typeof internal.endsWith !== "string" || internal.endsWith === "")) {
                problems.push(`internal.endsWith is ${JSON.stringify(internal.endsWith)}: give a suffix such as "@example.com"`);
            }
            if (internal.rule !== undefined) {
                const { problem } = ruleObject(internal.rule);
                if (problem) problems.push(problem);
                else if (internal.attribute !== undefined || internal.values !== undefined || internal.endsWith !== undefined) {
                    problems.push(`internal.rule replaces attribute, values and endsWith: give the rule alone`);
                }
            }
        }
    }
    if (problems.length === 0) {
        // Every stage must parse: a flag that is fine off but broken at 10% would fail mid-cutover.
        for (const stage of ["internal", 10] as const) {
            const p = targetingProblem(name, toFlagdFlag(name, { ...(value as FlagArgs), rollout: stage }));
            if (p) {
                problems.push(p.replace(/^its targeting/, "internal.rule"));
                break;
            }
        }
    }
    return problems;
}

/**
 * Every problem of a `switchyard:flags` value, each naming the flag:
 * `switchyard:flags.new-checkout: defaultVariant "maybe" is not a variant: use one of "on", "off"`.
 */
export function checkFlags(flags: unknown): string[] {
    if (flags === undefined) return [];
    if (!isObject(flags)) {
        return [`${FLAGS_CONFIG_KEY} is ${JSON.stringify(flags)}: give an object of flags by name, e.g. {"new-checkout": {"rollout": "off"}}`];
    }
    return Object.entries(flags).flatMap(([name, value]) => flagProblems(name, value).map((p) => `${flagKey(name)}: ${p}`));
}

/** The flags, checked; throws an Error listing every problem, each naming its flag. */
export function parseFlags(flags: unknown): FlagsConfig {
    const problems = checkFlags(flags);
    if (problems.length > 0) {
        throw new Error(problems.join("\n"));
    }
    return (flags ?? {}) as FlagsConfig;
}

/** A flag's rollout stage in config. Throws naming the flag when there is no such flag. */
export function rolloutOf(flags: FlagsConfig, name: string): RolloutStage {
    const flag = flags[name];
    if (flag === undefined) {
        throw new Error(`${flagKey(name)} is not declared: declare it in ${FLAGS_CONFIG_KEY}${Object.keys(flags).length > 0 ? ` (flags: ${Object.keys(flags).join(", ")})` : ""}`);
    }
    return flag.rollout ?? "off";
}

/** The flags with one flag's rollout set to `stage` (a new object). Throws naming the flag on an unknown flag or stage. */
export function withRollout(flags: FlagsConfig, name: string, stage: RolloutStage): FlagsConfig {
    rolloutOf(flags, name);
    const p = checkStage(stage);
    if (p) throw new Error(`${flagKey(name)}: ${p}`);
    return { ...flags, [name]: { ...flags[name], rollout: stage } };
}

/** The JsonLogic condition true for a flag's internal users. */
export function internalCondition(internal: InternalUsers = DEFAULT_INTERNAL): Record<string, unknown> {
    if (internal.rule !== undefined) {
        return ruleObject(internal.rule).rule ?? {};
    }
    const attr = { var: internal.attribute ?? DEFAULT_INTERNAL.attribute };
    const conditions: Record<string, unknown>[] = [];
    if (internal.values !== undefined || internal.endsWith === undefined) {
        conditions.push({ in: [attr, [...(internal.values ?? DEFAULT_INTERNAL.values ?? [])]] });
    }
    if (internal.endsWith !== undefined) {
        conditions.push({ ends_with: [attr, internal.endsWith] });
    }
    return conditions.length === 1 ? conditions[0] : { or: conditions };
}

/** One flag as flagd serves it at its rollout stage. */
export function toFlagdFlag(name: string, flag: FlagArgs): FlagdFlag {
    void name;
    const variants = flag.variants ?? DEFAULT_VARIANTS;
    const off = flag.defaultVariant ?? "off";
    const on = flag.onVariant ?? "on";
    const stage = flag.rollout ?? "off";
    const internal = internalCondition(flag.internal);
    let targeting: Record<string, unknown> | undefined;
    if (stage === "internal" || stage === 0) {
        // null: flagd serves the default variant.
        targeting = { if: [internal, on, null] };
    } else if (stage === 100) {
        targeting = { if: [true, on, null] };
    } else if (typeof stage === "number") {
        // No bucketing expression: flagd buckets on the flag's key and the targeting key.
        targeting = { if: [internal, on, { fractional: [[on, stage], [off, 100 - stage]] }] };
    }
    return {
        state: flag.state ?? "ENABLED",
        variants: { ...variants },
        defaultVariant: off,
        ...(targeting ? { targeting } : {}),
        metadata: { [ROLLOUT_METADATA_KEY]: String(stage) },
    };
}

/** The flagd flag-definitions document of the flags, each at its rollout stage. */
export function toFlagd(flags: FlagsConfig): FlagdDocument {
    const out: Record<string, FlagdFlag> = {};
    for (const name of Object.keys(flags).sort()) {
        out[name] = toFlagdFlag(name, flags[name]);
    }
    return { $schema: FLAGD_SCHEMA, flags: out };
}

/** The flagd file's text: {@link toFlagd} as indented JSON with a final newline. */
export function flagdText(flags: FlagsConfig): string {
    return JSON.stringify(toFlagd(flags), null, 2) + "\n";
}

/**
 * Problems of a flagd flag-definitions document (text or parsed), each naming its flag as
 * `flags.<name>`: a default variant that is not a variant, fractional percentages over 100 or not
 * summing to 100, a targeting rule that does not parse. The policy pack runs it on the served file.
 */
export function checkFlagdDocument(doc: unknown): string[] {
    let d = doc;
    if (typeof d === "string") {
        try {
            d = JSON.parse(d);
        } catch (e) {
            return [`the flag-definitions file is not JSON: ${(e as Error).message}`];
        }
    }
    if (!isObject(d) || !isObject(d.flags)) {
        return [`the flag-definitions file has no "flags" object`];
    }
    const problems: string[] = [];
    for (const [name, f] of Object.entries(d.flags)) {
        const where = `flags.${name}`;
        if (!isObject(f) || !isObject(f.variants)) {
            problems.push(`${where}: has no variants object`);
            continue;
        }
        const names = Object.keys(f.variants);
        if (typeof f.defaultVariant !== "string" || !names.includes(f.defaultVariant)) {
            problems.push(`${where}: defaultVariant ${JSON.stringify(f.defaultVariant)} is not a variant: use one of ${list(names)}`);
        }
        if (f.state !== undefined && !(FLAG_STATES as readonly unknown[]).includes(f.state)) {
            problems.push(`${where}: state is ${JSON.stringify(f.state)}: use ${list(FLAG_STATES)}`);
        }
        for (const fr of fractionals(f.targeting)) {
            const buckets = fr.filter((b) => Array.isArray(b)) as unknown[][];
            const total = buckets.reduce((s, b) => s + (typeof b[1] === "number" ? b[1] : 1), 0);
            const unknown = buckets.map((b) => b[0]).filter((v) => typeof v === "string" && !names.includes(v));
            if (unknown.length > 0) problems.push(`${where}: fractional serves ${list(unknown as string[])}, not a variant: use one of ${list(names)}`);
            if (buckets.some((b) => typeof b[1] === "number" && (b[1] < 0 || b[1] > 100))) problems.push(`${where}: a fractional percentage is over 100 or below 0: ${JSON.stringify(fr)}`);
            else if (total !== 100) problems.push(`${where}: fractional percentages sum to ${total}, not 100: ${JSON.stringify(fr)}`);
        }
        if (problems.some((p) => p.startsWith(`${where}:`))) continue;
        const p = targetingProblem(name, f as unknown as FlagdFlag);
        if (p) problems.push(`${where}: ${p}`);
    }
    return problems;
}

/** The `fractional` argument lists inside a JsonLogic rule. */
function fractionals(rule: unknown): unknown[][] {
    if (Array.isArray(rule)) return rule.flatMap(fractionals);
    if (!isObject(rule)) return [];
    return Object.entries(rule).flatMap(([k, v]) => (k === "fractional" && Array.isArray(v) ? [v.filter((b) => typeof b !== "string" && !isObject(b)), ...v.flatMap(fractionals)] : fractionals(v)));
}

/**
 * The stage each flag of a served flagd document was written at (from its metadata), as the
 * cutover reads a flag step back. A flag written by something else shows `undefined`.
 */
export function servedRollouts(doc: FlagdDocument | string): Record<string, RolloutStage | undefined> {
    const d = (typeof doc === "string" ? JSON.parse(doc) : doc) as FlagdDocument;
    const out: Record<string, RolloutStage | undefined> = {};
    for (const [name, f] of Object.entries(d.flags ?? {})) {
        const m = f.metadata?.[ROLLOUT_METADATA_KEY];
        out[name] = f.state === "DISABLED" ? "off" : m === undefined ? undefined : parseStage(String(m));
    }
    return out;
}

/** The {@link FLAGS_HEADER} value for the variants served: `dark-mode=off,new-checkout=on`. */
export function formatFlagsHeader(served: Readonly<Record<string, string>>): string {
    return Object.keys(served)
        .sort()
        .map((k) => `${k}=${served[k]}`)
        .join(",");
}

/** The variants a {@link FLAGS_HEADER} value lists, by flag. */
export function parseFlagsHeader(value: string | undefined): Record<string, string> {
    const out: Record<string, string> = {};
    for (const part of (value ?? "").split(",")) {
        const i = part.indexOf("=");
        if (i > 0) out[part.slice(0, i).trim()] = part.slice(i + 1).trim();
    }
    return out;
}
