/**
 * Checking a policy config file (`--policy-config`, Pulumi's `--policy-pack-config`) against the pack:
 * every key a rule of the pack, every level a level, every rule's keys its schema's, every value
 * within its schema. The Pulumi engine checks values against each rule's schema, but it ignores a
 * rule name the pack does not have and a key a rule does not take, so a typo would silently do
 * nothing; the CLI and the library call {@link readPolicyConfigFile} before any preview or update.
 *
 * The engine sends a rule only the `properties` and `required` of its schema, never
 * `additionalProperties`; so the pack also refuses an unknown key itself when a rule runs
 * ({@link strictRuleConfig}), for a plain `pulumi preview --policy-pack`.
 *
 * Pure, but for {@link readPolicyConfigFile}.
 */
import * as fs from "fs";
import { UserError } from "../stack/errors";
import { RULES, RuleSpec } from "./rules";

/** The enforcement levels a rule of this pack takes (it has no remediations). */
export const ENFORCEMENT_LEVELS = ["advisory", "mandatory", "disabled"] as const;

/** The key Pulumi reads as "every rule of the pack" (an enforcement level only). */
export const ALL_RULES = "all";

const LEVEL_KEY = "enforcementLevel";

/** The JSON-schema keywords the rules' config schemas use; a test keeps the schemas within them. */
export const SUPPORTED_SCHEMA_KEYWORDS = ["type", "minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum", "enum", "items", "default", "description"] as const;

interface PropertySchema {
    type?: string;
    minimum?: number;
    maximum?: number;
    exclusiveMinimum?: number;
    exclusiveMaximum?: number;
    enum?: unknown[];
    items?: PropertySchema;
}

const levels = () => ENFORCEMENT_LEVELS.join(", ");

/** The config keys a rule takes (its schema's properties). */
export function ruleKeys(spec: RuleSpec): string[] {
    return Object.keys(spec.configSchema?.properties ?? {});
}

function keysOf(spec: RuleSpec): string {
    const keys = ruleKeys(spec);
    return keys.length > 0 ? `use its keys: ${keys.join(", ")} (and ${LEVEL_KEY})` : `it takes no config keys; give only an ${LEVEL_KEY} (${levels()})`;
}

/** What is wrong with one value against one property schema, or undefined. */
export function checkSchemaValue(schema: PropertySchema, v: unknown, where: string): string | undefined {
    const t = schema.type;
    const typeOk =
        t === undefined ||
        (t === "integer" && typeof v === "number" && Number.isInteger(v)) ||
        (t === "number" && typeof v === "number" && Number.isFinite(v)) ||
        (t === "string" && typeof v === "string") ||
        (t === "boolean" && typeof v === "boolean") ||
        (t === "array" && Array.isArray(v)) ||
        (t === "object" && v !== null && typeof v === "object" && !Array.isArray(v));
    const kind = t === "integer" ? "a whole number" : t === "array" ? "a list" : t === "object" ? "an object" : `a ${t}`;
    if (!typeOk) {
        return `${where} is ${JSON.stringify(v)}: give ${kind}`;
    }
    if (schema.enum && !schema.enum.some((e) => e === v)) {
        return `${where} is ${JSON.stringify(v)}: use one of ${schema.enum.map((e) => JSON.stringify(e)).join(", ")}`;
    }
    if (typeof v === "number") {
        const bounds = [
            schema.minimum !== undefined && !(v >= schema.minimum) ? `at least ${schema.minimum}` : undefined,
            schema.exclusiveMinimum !== undefined && !(v > schema.exclusiveMinimum) ? `greater than ${schema.exclusiveMinimum}` : undefined,
            schema.maximum !== undefined && !(v <= schema.maximum) ? `at most ${schema.maximum}` : undefined,
            schema.exclusiveMaximum !== undefined && !(v < schema.exclusiveMaximum) ? `less than ${schema.exclusiveMaximum}` : undefined,
        ].filter(Boolean);
        if (bounds.length > 0) {
            const range = [
                schema.minimum !== undefined ? `at least ${schema.minimum}` : undefined,
                schema.exclusiveMinimum !== undefined ? `greater than ${schema.exclusiveMinimum}` : undefined,
                schema.maximum !== undefined ? `at most ${schema.maximum}` : undefined,
                schema.exclusiveMaximum !== undefined ? `less than ${schema.exclusiveMaximum}` : undefined,
            ].filter(Boolean);
            return `${where} is ${v}: give ${kind} ${range.join(" and ")}`;
        }
    }
    if (Array.isArray(v) && schema.items) {
        for (const [i, x] of v.entries()) {
            const p = checkSchemaValue(schema.items, x, `${where}[${i}]`);
            if (p) return p;
        }
    }
    return undefined;
}

/**
 * Unknown keys in the config the engine hands a rule (its properties, the enforcement level taken
 * out), or undefined. The pack's policies throw this message, so the engine fails the preview.
 */
export function strictRuleConfig(spec: RuleSpec, config: Record<string, unknown>): string | undefined {
    const known = ruleKeys(spec);
    const stray = Object.keys(config).filter((k) => k !== LEVEL_KEY && !known.includes(k));
    if (stray.length === 0) return undefined;
    return `policy config for rule "${spec.name}" has ${stray.map((k) => JSON.stringify(k)).join(", ")}, which it does not take: ${keysOf(spec)}`;
}

/** Every problem of a parsed policy config, each naming the rule or key and the valid choices. */
export function checkPolicyConfig(config: unknown, rules: readonly RuleSpec[] = RULES): string[] {
    const example = '{"cutover-plan-valid": "advisory", "prod-db-backup-retention": {"minDays": 14}}';
    if (config === null || typeof config !== "object" || Array.isArray(config)) {
        return [`it is ${JSON.stringify(config)}, not an object of rules: write e.g. ${example}`];
    }
    const names = rules.map((r) => r.name as string);
    const problems: string[] = [];
    for (const [name, value] of Object.entries(config as Record<string, unknown>)) {
        const spec = rules.find((r) => r.name === name);
        if (name !== ALL_RULES && spec === undefined) {
            problems.push(`"${name}" is not a rule of the pack: use one of its rules: ${names.join(", ")} (or "${ALL_RULES}" for every rule)`);
            continue;
        }
        const rule = `rule "${name}"`;
        const levelProblem = (v: unknown) =>
            (ENFORCEMENT_LEVELS as readonly unknown[]).includes(v) ? undefined : `${rule}: enforcement level ${JSON.stringify(v)} is not one: use ${levels()}`;
        if (typeof value === "string") {
            const p = levelProblem(value);
            if (p) problems.push(p);
            continue;
        }
        if (value === null || typeof value !== "object" || Array.isArray(value)) {
            problems.push(`${rule} is set to ${JSON.stringify(value)}: give an enforcement level (${levels()}) or an object of its keys`);
            continue;
        }
        const obj = value as Record<string, unknown>;
        if (LEVEL_KEY in obj) {
            const p = levelProblem(obj[LEVEL_KEY]);
            if (p) problems.push(p);
        }
        if (spec === undefined) {
            const stray = Object.keys(obj).filter((k) => k !== LEVEL_KEY);
            if (stray.length > 0) {
                problems.push(`"${ALL_RULES}" takes only an ${LEVEL_KEY}, not ${stray.map((k) => JSON.stringify(k)).join(", ")}: set a rule's keys under the rule's name`);
            }
            continue;
        }
        const strict = strictRuleConfig(spec, obj);
        if (strict) {
            problems.push(strict.replace(/^policy config for rule/, "rule"));
        }
        const props = (spec.configSchema?.properties ?? {}) as Record<string, PropertySchema>;
        for (const [k, v] of Object.entries(obj)) {
            if (k in props) {
                const p = checkSchemaValue(props[k], v, `${rule}: ${k}`);
                if (p) problems.push(p);
            }
        }
    }
    return problems;
}

/** Parses and checks a policy config's text; throws a UserError listing every problem. */
export function parsePolicyConfig(text: string, source: string): Record<string, unknown> {
    let config: unknown;
    try {
        config = JSON.parse(text);
    } catch (e) {
        throw new UserError(
            `policy config ${source} is not valid JSON (${(e as Error).message}): write an object such as {"cutover-plan-valid": "advisory"}`,
        );
    }
    const problems = checkPolicyConfig(config);
    if (problems.length > 0) {
        throw new UserError(`policy config ${source} is refused:\n  ${problems.join("\n  ")}`);
    }
    return config as Record<string, unknown>;
}

/** Reads and checks a policy config file (before any preview or update); throws a UserError. */
export function readPolicyConfigFile(file: string): Record<string, unknown> {
    let text: string;
    try {
        if (fs.statSync(file).isDirectory()) {
            throw new UserError(`policy config ${file} is a folder: give the JSON file, e.g. policy-config.json`);
        }
        text = fs.readFileSync(file, "utf8");
    } catch (e) {
        if (e instanceof UserError) throw e;
        const code = (e as NodeJS.ErrnoException).code;
        throw new UserError(
            code === "ENOENT" ? `policy config ${file} does not exist: give the path of a JSON file` : `policy config ${file} cannot be read (${code ?? (e as Error).message})`,
        );
    }
    return parsePolicyConfig(text, file);
}
