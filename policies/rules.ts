/**
 * Switchyard's CrossGuard rules as pure functions.
 *
 * Each resource rule takes a resource (type, name, urn, props and the `protect` option) and the rule's
 * config, and returns violation messages (empty when compliant). The stack rule takes every resource.
 * Nothing here needs the Pulumi CLI: `index.ts` wraps these functions into a PolicyPack, and
 * `rules.test.ts` calls them directly.
 *
 * Validation shared with the components (traffic weights, cutover plans, tag keys) comes from
 * ../components/types.ts, so a rule and a component's own check never disagree.
 *
 * Unknown values: during `pulumi preview` some inputs are not known yet (the policy framework hands
 * them over as a proxy that throws `UnknownValueError` when read). A check that needs an unknown value
 * is skipped; the same rule runs again with every value known when `pulumi up` registers the
 * resource, before it is created, so a mandatory violation still blocks it.
 */
import { EnforcementLevel, PolicyConfigSchema, UnknownValueError } from "@pulumi/policy";
import { MAX_WEIGHT, PAIR_TOKENS, RoleTag, TAGS, checkStepPlan, checkTraffic } from "../components/types";
import { ROLLOUT_KEY, rolloutSettings } from "../cutover/watch";
import { PRODUCTION_DATABASE_TOKEN } from "../components/productionDatabase";
import { checkFlagdDocument, checkFlags } from "../components/flags";
import { checkMasking, DatabaseSchema, parseMasking } from "../components/masking";

// ---------------------------------------------------------------------------------------------
// Resource types.
// ---------------------------------------------------------------------------------------------

/** Type tokens of the AWS resources the rules look at (the `aws:alb/...` aliases too). */
export const AWS = {
    rdsInstance: "aws:rds/instance:Instance",
    listener: ["aws:lb/listener:Listener", "aws:alb/listener:Listener"],
    listenerRule: ["aws:lb/listenerRule:ListenerRule", "aws:alb/listenerRule:ListenerRule"],
    targetGroup: ["aws:lb/targetGroup:TargetGroup", "aws:alb/targetGroup:TargetGroup"],
    securityGroup: "aws:ec2/securityGroup:SecurityGroup",
    securityGroupRule: "aws:ec2/securityGroupRule:SecurityGroupRule",
    securityGroupIngressRule: "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule",
} as const;

/** Prefix of the local platform's dynamic resources. */
export const LOCAL_PREFIX = "pulumi-nodejs:dynamic/switchyard-local:";

/** Type tokens of the local platform's resources. */
export const LOCAL = {
    postgresServer: `${LOCAL_PREFIX}PostgresServer`,
    appProcess: `${LOCAL_PREFIX}AppProcess`,
    router: `${LOCAL_PREFIX}Router`,
    dataDirectory: `${LOCAL_PREFIX}DataDirectory`,
    flagsFile: `${LOCAL_PREFIX}FlagsFile`,
    masking: `${LOCAL_PREFIX}Masking`,
} as const;

/** Type tokens of the S3 objects the flags-valid rule reads when they hold a flagd file (`*.flagd.json`). */
export const S3_OBJECT = ["aws:s3/bucketObjectv2:BucketObjectv2", "aws:s3/bucketObject:BucketObject"] as const;

/** Type token of a stack's root resource, whose props (in the stack policy) are the stack's outputs. */
export const STACK_TYPE = "pulumi:pulumi:Stack";

/** Tag the AWS WeightedListener writes when a cutover plan is declared ("10,25,50,100"). */
export const CUTOVER_STEPS_TAG = "switchyard:cutover-steps";

const isListener = (t: string) => (AWS.listener as readonly string[]).includes(t);
const isListenerRule = (t: string) => (AWS.listenerRule as readonly string[]).includes(t);
const isTargetGroup = (t: string) => (AWS.targetGroup as readonly string[]).includes(t);

/** A listener's forward actions are in `defaultActions`, a listener rule's in `actions`. */
function forwardsOf(type: string): { field: string; what: string } | undefined {
    return isListener(type) ? { field: "defaultActions", what: "listener" } : isListenerRule(type) ? { field: "actions", what: "listener rule" } : undefined;
}

// ---------------------------------------------------------------------------------------------
// What a rule sees.
// ---------------------------------------------------------------------------------------------

/** A resource as a rule sees it: what the policy framework passes, minus the framework. */
export interface RuleResource {
    /** Type token, e.g. `aws:rds/instance:Instance`. */
    readonly type: string;
    /** The resource's name (its logical name). */
    readonly name: string;
    readonly urn?: string;
    /** Inputs (resource rules) or outputs (stack rule). */
    readonly props: Record<string, unknown>;
    /** The `protect` resource option. */
    readonly protect?: boolean;
}

/** The two role-tag values. The components' role "blue-green" is tagged "production". */
export type TagRole = RoleTag;

// ---------------------------------------------------------------------------------------------
// Reading values that may be unknown.
// ---------------------------------------------------------------------------------------------

/** A value that is not known yet (preview). */
export const UNKNOWN: unique symbol = Symbol("unknown");
type Unknown = typeof UNKNOWN;

function isUnknownError(e: unknown): boolean {
    return e instanceof UnknownValueError || (e instanceof Error && e.constructor?.name === "UnknownValueError");
}

/** Reads `obj[key]`: undefined when obj is not an object, UNKNOWN when the value is unknown. */
function get(obj: unknown, key: string | number): unknown {
    if (obj === UNKNOWN) {
        return UNKNOWN;
    }
    if (obj === null || obj === undefined || typeof obj !== "object") {
        return undefined;
    }
    try {
        return (obj as Record<string | number, unknown>)[key];
    } catch (e) {
        if (isUnknownError(e)) {
            return UNKNOWN;
        }
        throw e;
    }
}

/** Reads a path, e.g. `at(props, "healthCheck", "path")`. */
function at(obj: unknown, ...path: (string | number)[]): unknown {
    return path.reduce<unknown>((o, k) => get(o, k), obj);
}

/** A plain copy of a value, or UNKNOWN if any part of it is unknown. */
function resolve(v: unknown): unknown {
    if (v === UNKNOWN || v === null || typeof v !== "object") {
        return v;
    }
    try {
        if (Array.isArray(v)) {
            const out: unknown[] = [];
            for (let i = 0; i < v.length; i++) {
                const x = resolve(get(v, i));
                if (x === UNKNOWN) {
                    return UNKNOWN;
                }
                out.push(x);
            }
            return out;
        }
        const out: Record<string, unknown> = {};
        for (const k of Object.keys(v)) {
            const x = resolve(get(v, k));
            if (x === UNKNOWN) {
                return UNKNOWN;
            }
            out[k] = x;
        }
        return out;
    } catch (e) {
        if (isUnknownError(e)) {
            return UNKNOWN;
        }
        throw e;
    }
}

/** The elements of an array (each possibly UNKNOWN); [] when not an array, UNKNOWN when unknown. */
function items(v: unknown): unknown[] | Unknown {
    if (v === UNKNOWN) {
        return UNKNOWN;
    }
    if (!Array.isArray(v)) {
        return [];
    }
    const n = get(v, "length");
    if (typeof n !== "number") {
        return UNKNOWN;
    }
    return Array.from({ length: n }, (_, i) => get(v, i));
}

/** Set: present and not empty (an unknown value counts as set). */
function isSet(v: unknown): boolean {
    return v !== undefined && v !== null && v !== "";
}

/** A value as a message shows it. */
export function fmt(v: unknown): string {
    if (v === undefined) {
        return "undefined";
    }
    if (Array.isArray(v)) {
        return `[${v.map(fmt).join(", ")}]`;
    }
    return JSON.stringify(v);
}

/** The tags of an AWS resource (`tagsAll` under `tags`), unknown tags as UNKNOWN. */
function tagOf(props: unknown, key: string): unknown {
    const t = at(props, "tags", key);
    if (t !== undefined) {
        return t;
    }
    const all = at(props, "tagsAll", key);
    return all === UNKNOWN ? undefined : all;
}

function isLocal(type: string): boolean {
    return type.startsWith(LOCAL_PREFIX);
}

/** Normalizes a role value: "production" (or the components' "blue-green") or "sandbox". */
export function normalizeRole(v: unknown): TagRole | undefined {
    if (v === "production" || v === "blue-green") {
        return "production";
    }
    if (v === "sandbox") {
        return "sandbox";
    }
    return undefined;
}

/** The raw role value: the `switchyard:role` tag (AWS), or the `role` prop (local); UNKNOWN during preview if not known yet. */
function rawRole(r: Pick<RuleResource, "type" | "props">): unknown {
    return isLocal(r.type) ? at(r.props, "role") : tagOf(r.props, TAGS.role);
}

/** A resource's role: the `switchyard:role` tag (AWS), or the `role` prop (local). */
export function roleOf(r: Pick<RuleResource, "type" | "props">): TagRole | undefined {
    return normalizeRole(rawRole(r));
}

/** `<type> "<name>": <rule>: ` */
function head(r: RuleResource, rule: string): string {
    return `${r.type} "${r.name}": ${rule}: `;
}

/** A DB restored from a snapshot (AWS snapshotIdentifier, local sourceSnapshot or fromSnapshot); unknown counts as restored. */
function isRestored(r: RuleResource): boolean {
    if (r.type === AWS.rdsInstance) {
        return isSet(at(r.props, "snapshotIdentifier"));
    }
    if (r.type === LOCAL.postgresServer) {
        return isSet(at(r.props, "sourceSnapshot")) || isSet(at(r.props, "fromSnapshot"));
    }
    return false;
}

function isDatabase(r: RuleResource): boolean {
    return r.type === AWS.rdsInstance || r.type === LOCAL.postgresServer;
}

/** Sandbox-or-restored databases: the ones holding a copy of production data. */
function copyKind(r: RuleResource): "sandbox" | "restored" | undefined {
    if (!isDatabase(r)) {
        return undefined;
    }
    if (roleOf(r) === "sandbox") {
        return "sandbox";
    }
    return isRestored(r) ? "restored" : undefined;
}

/**
 * Sandbox databases: role sandbox, or restored without the production role. A restored database whose
 * role is not known yet (preview) is not assumed to be a sandbox: it may be a restored production one.
 */
function isSandboxDb(r: RuleResource): boolean {
    const kind = copyKind(r);
    return kind === "sandbox" || (kind === "restored" && roleOf(r) !== "production" && rawRole(r) !== UNKNOWN);
}

const isProductionDb = (r: RuleResource) => isDatabase(r) && roleOf(r) === "production";

// ---------------------------------------------------------------------------------------------
// Rule names and configs.
// ---------------------------------------------------------------------------------------------

export const RULE_NAMES = [
    "traffic-two-colors",
    "traffic-weights-valid",
    "cutover-plan-valid",
    "flags-valid",
    "prod-db-deletion-protection",
    "prod-db-backup-retention",
    "prod-db-encrypted-protected",
    "sandbox-db-private-encrypted",
    "sandbox-db-tags",
    "sandbox-expiry-max",
    "sandbox-masking-valid",
    "no-public-db-port",
    "health-check-required",
    "stack-role-consistent",
    "sandbox-no-production-db",
    "rollout-settings-valid",
] as const;
export type RuleName = (typeof RULE_NAMES)[number];

export interface CutoverConfig {
    /** Largest rise between two steps (and to the first step), in weight points. @default 50 */
    maxStep?: number;
}
export interface BackupConfig {
    /** Fewest days of automated backups a production database keeps. @default 7 */
    minDays?: number;
}
export interface ExpiryConfig {
    /** Longest a sandbox database may live from now, in hours. @default 168 */
    maxHours?: number;
}
export interface DbPortConfig {
    /** Ports that count as database ports. @default [5432, 3306] */
    ports?: number[];
}
export interface StackRoleConfig {
    /** The stack's role; when unset, the stack's `role` output, else the role most resources carry. */
    stackRole?: TagRole;
}

export const DEFAULTS = {
    maxStep: 50,
    minDays: 7,
    maxHours: 168,
    ports: [5432, 3306] as number[],
};

/** Options every resource rule accepts besides its config. */
export interface RuleOptions {
    /** The current time, for expiry checks. @default new Date() */
    now?: Date;
}

// ---------------------------------------------------------------------------------------------
// Traffic.
// ---------------------------------------------------------------------------------------------

interface ForwardAction {
    index: number;
    /** Target groups the action forwards to (each { arn, weight }, possibly UNKNOWN). */
    groups: unknown[];
}

/** The forward actions of a listener (`defaultActions`) or listener rule (`actions`), and whether it is weighted (blue-green). */
function listenerForwards(props: unknown, field: string): { weighted: boolean; actions: ForwardAction[] } | Unknown {
    const actions = items(at(props, field));
    if (actions === UNKNOWN) {
        return UNKNOWN;
    }
    const out: ForwardAction[] = [];
    for (const [index, a] of actions.entries()) {
        const groups = items(at(a, "forward", "targetGroups"));
        if (groups === UNKNOWN) {
            return UNKNOWN;
        }
        if (groups.length > 0) {
            out.push({ index, groups });
        } else if (isSet(at(a, "targetGroupArn"))) {
            out.push({ index, groups: [{ arn: at(a, "targetGroupArn") }] });
        }
    }
    const weighted = out.some((f) => f.groups.length >= 2) || isSet(tagOf(props, CUTOVER_STEPS_TAG));
    return { weighted, actions: out };
}

const TWO_COLORS_FIX_ROUTER = 'Give servers [{ color: "blue", port }, { color: "green", port }].';

/** traffic-two-colors: a weighted listener or a router forwards to exactly blue and green. */
export function trafficTwoColors(r: RuleResource): string[] {
    const h = head(r, "traffic-two-colors");
    if (r.type === LOCAL.router) {
        const servers = resolve(at(r.props, "servers"));
        if (servers === UNKNOWN) {
            return [];
        }
        if (!Array.isArray(servers)) {
            return [`${h}servers is ${fmt(servers)}; a router forwards to exactly two servers, one blue and one green. ${TWO_COLORS_FIX_ROUTER}`];
        }
        const colors = servers.map((s) => at(s, "color"));
        if (servers.length !== 2 || !colors.includes("blue") || !colors.includes("green")) {
            return [
                `${h}servers have the colors ${fmt(colors)}; a router forwards to exactly two servers, one blue and one green. ${TWO_COLORS_FIX_ROUTER}`,
            ];
        }
        const ports = servers.map((s) => at(s, "port"));
        if (ports[0] !== undefined && ports[0] === ports[1]) {
            return [`${h}the blue and green servers both use port ${fmt(ports[0])}; each color runs its own app. Give each server its own port.`];
        }
        return [];
    }
    const fw = forwardsOf(r.type);
    if (fw) {
        const f = listenerForwards(r.props, fw.field);
        if (f === UNKNOWN || !f.weighted) {
            return [];
        }
        if (f.actions.length === 0) {
            return [
                `${h}the ${fw.what} declares a cutover plan (tag ${CUTOVER_STEPS_TAG} is ${fmt(tagOf(r.props, CUTOVER_STEPS_TAG))}) but forwards to no target group; ` +
                    `a blue-green ${fw.what} forwards to exactly two, the blue and the green target group. ` +
                    "Give a forward action with both in forward.targetGroups.",
            ];
        }
        const out: string[] = [];
        for (const a of f.actions) {
            if (a.groups.length !== 2) {
                out.push(
                    `${h}${fw.field}[${a.index}] forwards to ${a.groups.length} target group(s); a blue-green ${fw.what} forwards to exactly two, the blue and the green target group. ` +
                        "List both in forward.targetGroups, e.g. [{ arn: blueArn, weight: 90 }, { arn: greenArn, weight: 10 }].",
                );
                continue;
            }
            const [a0, a1] = a.groups.map((g) => at(g, "arn"));
            if (typeof a0 === "string" && a0 !== "" && a0 === a1) {
                out.push(
                    `${h}${fw.field}[${a.index}] forwards to the target group ${a0} twice; a blue-green ${fw.what} forwards to two different target groups, blue and green. ` +
                        "Give each color its own target group.",
                );
            }
        }
        return out;
    }
    return [];
}

const WEIGHTS_FIX = `Set the traffic weights to integers from 0 to ${MAX_WEIGHT}, at least one positive, e.g. { blue: 90, green: 10 }.`;

/** traffic-weights-valid: integer weights from 0 to 100, at least one positive (checkTraffic). */
export function trafficWeightsValid(r: RuleResource): string[] {
    const h = head(r, "traffic-weights-valid");
    if (r.type === LOCAL.router) {
        const w = resolve(at(r.props, "weights"));
        if (w === UNKNOWN) {
            return [];
        }
        const msg = checkTraffic(w as Record<string, number> | undefined);
        return msg ? [`${h}${msg}. ${WEIGHTS_FIX}`] : [];
    }
    const fw = forwardsOf(r.type);
    if (fw) {
        const f = listenerForwards(r.props, fw.field);
        if (f === UNKNOWN || !f.weighted) {
            return [];
        }
        const out: string[] = [];
        for (const a of f.actions.filter((x) => x.groups.length === 2)) {
            const weights = a.groups.map((g) => at(g, "weight"));
            if (weights.includes(UNKNOWN)) {
                continue;
            }
            const msg = checkTraffic({ blue: weights[0] as number, green: weights[1] as number });
            if (msg) {
                out.push(`${h}${fw.field}[${a.index}] forward weights ${fmt(weights)} (blue, green): ${msg}. ${WEIGHTS_FIX}`);
            }
        }
        return out;
    }
    return [];
}

/** Parses the `switchyard:cutover-steps` tag: "10,25,50,100" -> [10, 25, 50, 100]; bad parts stay strings. */
export function parseStepsTag(tag: string): unknown[] {
    return tag.split(",").map((s) => (/^\s*\d+\s*$/.test(s) ? Number(s) : s.trim()));
}

/** A valid example plan for a maximum step: [10, 25, 50, 100] when it fits, else even steps. */
export function examplePlan(maxStep: number): number[] {
    const canonical = [10, 25, 50, 100];
    if (checkStepPlan(canonical, maxStep) === undefined) {
        return canonical;
    }
    const n = Math.ceil(100 / Math.max(1, Math.floor(maxStep)));
    return Array.from({ length: n }, (_, i) => Math.round(((i + 1) * 100) / n));
}

/** cutover-plan-valid: a declared plan rises strictly, ends at 100, never jumps more than maxStep. */
export function cutoverPlanValid(r: RuleResource, config: CutoverConfig = {}): string[] {
    const maxStep = config.maxStep ?? DEFAULTS.maxStep;
    let where: string;
    let steps: unknown;
    if (r.type === LOCAL.router) {
        steps = resolve(at(r.props, "cutoverSteps"));
        where = "cutoverSteps";
    } else if (forwardsOf(r.type)) {
        const tag = tagOf(r.props, CUTOVER_STEPS_TAG);
        steps = typeof tag === "string" ? parseStepsTag(tag) : tag;
        where = `tag ${CUTOVER_STEPS_TAG}`;
    } else {
        return [];
    }
    if (steps === undefined || steps === null || steps === UNKNOWN) {
        return [];
    }
    const msg = checkStepPlan(steps, maxStep);
    if (!msg) {
        return [];
    }
    return [
        `${head(r, "cutover-plan-valid")}${where} is ${fmt(steps)}: ${msg}. ` +
            `Declare steps that rise strictly to 100, each at most ${maxStep} points above the one before (the first counts from 0), e.g. ${fmt(examplePlan(maxStep))}.`,
    ];
}

/**
 * flags-valid: feature flags served to the app are well formed, each problem naming the flag: the
 * declared flags (`switchyard:flags`, on the local FlagsFile) and the flagd file itself (the local
 * file's content, or an S3 object whose key ends in `.flagd.json`): variants that exist,
 * percentages within 100 and summing to 100, targeting that parses.
 */
export function flagsValid(r: RuleResource): string[] {
    let declared: unknown;
    let content: unknown;
    if (r.type === LOCAL.flagsFile) {
        declared = resolve(at(r.props, "flags"));
        content = resolve(at(r.props, "content"));
    } else if ((S3_OBJECT as readonly string[]).includes(r.type)) {
        const key = resolve(at(r.props, "key"));
        if (typeof key !== "string" || !key.endsWith(".flagd.json")) {
            return [];
        }
        content = resolve(at(r.props, "content"));
    } else {
        return [];
    }
    const h = head(r, "flags-valid");
    const problems = declared !== undefined && declared !== UNKNOWN ? checkFlags(declared) : [];
    if (problems.length === 0 && typeof content === "string") {
        problems.push(...checkFlagdDocument(content));
    }
    return problems.map((p) => `${h}${p}. Fix the flag's definition (see README, Feature flags).`);
}

// ---------------------------------------------------------------------------------------------
// Production databases.
// ---------------------------------------------------------------------------------------------

/** prod-db-deletion-protection: deletion protection on, and a final snapshot kept. */
export function prodDbDeletionProtection(r: RuleResource): string[] {
    if (r.type !== AWS.rdsInstance || !isProductionDb(r)) {
        return [];
    }
    const h = head(r, "prod-db-deletion-protection");
    const out: string[] = [];
    const dp = at(r.props, "deletionProtection");
    if (dp !== true && dp !== UNKNOWN) {
        out.push(`${h}deletionProtection is ${fmt(dp)}; a production database must not be deletable by a mistaken update or destroy. Set deletionProtection: true.`);
    }
    const skip = at(r.props, "skipFinalSnapshot");
    const finalId = at(r.props, "finalSnapshotIdentifier");
    if (skip === true) {
        out.push(
            `${h}skipFinalSnapshot is true; deleting a production database must leave a final snapshot. Set skipFinalSnapshot: false and a finalSnapshotIdentifier.`,
        );
    } else if (skip !== UNKNOWN && !isSet(finalId)) {
        out.push(
            `${h}finalSnapshotIdentifier is ${fmt(finalId)}; without it RDS cannot take the final snapshot of a production database when it is deleted. ` +
                `Set finalSnapshotIdentifier, e.g. "${r.name.toLowerCase().replace(/[^a-z0-9-]/g, "-")}-final".`,
        );
    }
    return out;
}

/** prod-db-backup-retention: automated backups kept at least minDays. */
export function prodDbBackupRetention(r: RuleResource, config: BackupConfig = {}): string[] {
    if (r.type !== AWS.rdsInstance || !isProductionDb(r)) {
        return [];
    }
    const minDays = config.minDays ?? DEFAULTS.minDays;
    const days = at(r.props, "backupRetentionPeriod");
    if (days === UNKNOWN || (typeof days === "number" && days >= minDays)) {
        return [];
    }
    const shown = typeof days === "number" ? `${days} day(s)` : days === undefined ? "not set" : fmt(days);
    return [
        `${head(r, "prod-db-backup-retention")}backupRetentionPeriod is ${shown}; production databases keep backups at least ${minDays} days. ` +
            `Set backupRetentionPeriod to ${minDays} or more.`,
    ];
}

/**
 * prod-db-encrypted-protected: storage encrypted and the `protect` option set. AWS only: a local
 * "production" server is a rehearsal copy on one machine that `destroy` must be able to remove, and it
 * has no encryption at rest to turn on.
 */
export function prodDbEncryptedProtected(r: RuleResource): string[] {
    if (!isProductionDb(r) || r.type !== AWS.rdsInstance) {
        return [];
    }
    const h = head(r, "prod-db-encrypted-protected");
    const out: string[] = [];
    if (r.type === AWS.rdsInstance) {
        const enc = at(r.props, "storageEncrypted");
        if (enc !== true && enc !== UNKNOWN) {
            out.push(
                `${h}storageEncrypted is ${fmt(enc)}; production data must be encrypted at rest. ` +
                    "Set storageEncrypted: true (an existing unencrypted instance moves by restoring an encrypted snapshot copy).",
            );
        }
    }
    if (r.protect !== true) {
        out.push(
            `${h}the protect option is ${fmt(r.protect)}; Pulumi must refuse to delete a production database. Pass { protect: true } in its resource options.`,
        );
    }
    return out;
}

// ---------------------------------------------------------------------------------------------
// Sandbox and restored databases.
// ---------------------------------------------------------------------------------------------

/** True for loopback addresses: localhost, 127.0.0.0/8, ::1. */
export function isLoopback(address: string): boolean {
    return address === "localhost" || address === "::1" || address === "[::1]" || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(address);
}

/** sandbox-db-private-encrypted: a database holding a copy of production data is private and encrypted. */
export function sandboxDbPrivateEncrypted(r: RuleResource): string[] {
    const kind = copyKind(r);
    if (kind === undefined) {
        return [];
    }
    const h = head(r, "sandbox-db-private-encrypted");
    const why = `a ${kind} database holds a copy of production data`;
    const out: string[] = [];
    if (r.type === AWS.rdsInstance) {
        const pub = at(r.props, "publiclyAccessible");
        if (pub === true) {
            out.push(`${h}publiclyAccessible is true; ${why} and must not be reachable from the internet. Set publiclyAccessible: false.`);
        }
        const enc = at(r.props, "storageEncrypted");
        if (enc !== true && enc !== UNKNOWN) {
            out.push(`${h}storageEncrypted is ${fmt(enc)}; ${why} and must be encrypted at rest. Set storageEncrypted: true.`);
        }
    } else {
        const addr = at(r.props, "listenAddress");
        if (addr !== UNKNOWN && !(typeof addr === "string" && isLoopback(addr))) {
            out.push(`${h}listenAddress is ${fmt(addr)}; ${why} and must listen on loopback only. Set listenAddress to "127.0.0.1".`);
        }
    }
    return out;
}

/** An ISO 8601 time with a date, a time and a zone, e.g. 2025-11-25T12:00:00Z; its instant, or undefined. */
export function parseIsoTime(v: unknown): number | undefined {
    if (typeof v !== "string" || !/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:\d{2})$/.test(v)) {
        return undefined;
    }
    const t = Date.parse(v);
    return Number.isNaN(t) ? undefined : t;
}

/** Where a database records its expiry and source snapshot, and the value there. */
function sandboxFields(r: RuleResource): { expiry: [string, unknown]; source: [string, unknown] } {
    if (r.type === AWS.rdsInstance) {
        return {
            expiry: [`tag ${TAGS.expiresAt}`, tagOf(r.props, TAGS.expiresAt)],
            source: [`tag ${TAGS.sourceSnapshot}`, tagOf(r.props, TAGS.sourceSnapshot)],
        };
    }
    return { expiry: ["expiresAt", at(r.props, "expiresAt")], source: ["sourceSnapshot", at(r.props, "sourceSnapshot")] };
}

/** sandbox-db-tags: a sandbox database records its expiry (an ISO time) and its source snapshot. */
export function sandboxDbTags(r: RuleResource): string[] {
    if (!isSandboxDb(r)) {
        return [];
    }
    const h = head(r, "sandbox-db-tags");
    const aws = r.type === AWS.rdsInstance;
    const { expiry, source } = sandboxFields(r);
    const out: string[] = [];
    const [ef, ev] = expiry;
    if (!isSet(ev)) {
        out.push(
            `${h}${ef} is not set; a sandbox database needs an expiry so it is removed, not forgotten. ` +
                (aws ? `Give the sandbox ttlHours (it writes the tag), or tag ${TAGS.expiresAt} with an ISO time.` : "Give the sandbox ttlHours (it sets expiresAt)."),
        );
    } else if (ev !== UNKNOWN && parseIsoTime(ev) === undefined) {
        out.push(`${h}${ef} is ${fmt(ev)}, not an ISO 8601 time; the expiry must be machine-readable. Set it to a time like "2025-11-25T12:00:00Z".`);
    }
    const [sf, sv] = source;
    if (!isSet(sv)) {
        out.push(
            `${h}${sf} is not set; a sandbox database records the snapshot it was restored from. ` +
                (aws ? `Tag ${TAGS.sourceSnapshot} with the snapshot identifier.` : "Set sourceSnapshot to the snapshot's name."),
        );
    }
    return out;
}

function hours(ms: number): string {
    const h = ms / 3600_000;
    return Number.isInteger(h) ? String(h) : h.toFixed(1);
}

/** sandbox-expiry-max: a sandbox database expires no later than maxHours from now. */
export function sandboxExpiryMax(r: RuleResource, config: ExpiryConfig = {}, options: RuleOptions = {}): string[] {
    if (!isSandboxDb(r)) {
        return [];
    }
    const maxHours = config.maxHours ?? DEFAULTS.maxHours;
    const now = (options.now ?? new Date()).getTime();
    const [field, value] = sandboxFields(r).expiry;
    const t = parseIsoTime(value);
    if (t === undefined || t - now <= maxHours * 3600_000) {
        return [];
    }
    return [
        `${head(r, "sandbox-expiry-max")}${field} is ${value as string}, ${hours(t - now)} hours from now; a sandbox lives at most ${maxHours} hours. ` +
            `Set ttlHours to ${maxHours} or less.`,
    ];
}

/**
 * sandbox-masking-valid: a sandbox's masking (its `rules`, `strict`, and the `schema` the snapshot
 * recorded, all inputs) names only tables and columns that exist, known rules that fit each column,
 * and, when strict, a rule for every personal-looking column; it never masks a production database.
 */
export function sandboxMaskingValid(r: RuleResource): string[] {
    if (r.type !== LOCAL.masking) {
        return [];
    }
    const h = head(r, "sandbox-masking-valid");
    const out: string[] = [];
    const role = at(r.props, "role");
    if (role === "production") {
        out.push(`${h}database ${fmt(resolve(at(r.props, "label")))} has the production role; masking runs only on a sandbox's copy. Mask a sandbox restored from production's snapshot.`);
    }
    const rules = resolve(at(r.props, "rules"));
    if (rules === UNKNOWN) {
        return out;
    }
    const parsed = parseMasking(rules);
    if (parsed.problems.length) {
        return [...out, ...parsed.problems.map((p) => `${h}${p}`)];
    }
    const schema = resolve(at(r.props, "schema"));
    const strict = resolve(at(r.props, "strict"));
    if (schema === UNKNOWN || schema === undefined || schema === null || strict === UNKNOWN) {
        return out;
    }
    const where = `database ${fmt(resolve(at(r.props, "database")))}`;
    return [...out, ...checkMasking(parsed.rules, schema as DatabaseSchema, { strict: strict === true, where }).map((p) => `${h}${p}`)];
}

// ---------------------------------------------------------------------------------------------
// Network.
// ---------------------------------------------------------------------------------------------

const WORLD = ["0.0.0.0/0", "::/0"];
const ALL_INTERFACES = ["0.0.0.0", "::", "[::]", "*", ""];

/** The database ports an ingress entry opens to the world, or undefined. */
function worldDbPorts(
    protocol: unknown,
    from: unknown,
    to: unknown,
    cidrs: unknown[],
    ports: number[],
): { open: number[]; cidrs: string[]; range: string } | undefined {
    const world = cidrs.filter((c): c is string => typeof c === "string" && WORLD.includes(c));
    if (world.length === 0 || protocol === UNKNOWN) {
        return undefined;
    }
    const p = String(protocol).toLowerCase();
    if (p === "-1" || p === "all") {
        return ports.length > 0 ? { open: ports, cidrs: world, range: "all protocols and ports" } : undefined;
    }
    if (p !== "tcp" && p !== "6") {
        return undefined;
    }
    if (typeof from !== "number" || typeof to !== "number") {
        return undefined;
    }
    const open = ports.filter((x) => from <= x && x <= to);
    return open.length > 0 ? { open, cidrs: world, range: `tcp ${from}-${to}` } : undefined;
}

/** CIDRs from strings and lists (unknown ones left out: they cannot be checked yet). */
function cidrList(...vs: unknown[]): unknown[] {
    const out: unknown[] = [];
    for (const v of vs) {
        if (typeof v === "string") {
            out.push(v);
        } else {
            const xs = items(v);
            if (xs !== UNKNOWN) {
                out.push(...xs);
            }
        }
    }
    return out;
}

function portsMessage(h: string, where: string, hit: { open: number[]; cidrs: string[]; range: string }, fix: string): string {
    const ports = hit.open.length === 1 ? `database port ${hit.open[0]}` : `database ports ${hit.open.join(", ")}`;
    return `${h}${where} opens ${ports} (${hit.range}) to ${hit.cidrs.join(", ")}; a database port must never be reachable from the internet. ${fix}`;
}

/** no-public-db-port: no security group (rule) opens a database port to 0.0.0.0/0 or ::/0. */
export function noPublicDbPort(r: RuleResource, config: DbPortConfig = {}): string[] {
    const ports = config.ports ?? DEFAULTS.ports;
    const h = head(r, "no-public-db-port");
    if (r.type === AWS.securityGroup) {
        const entries = items(at(r.props, "ingress"));
        if (entries === UNKNOWN) {
            return [];
        }
        const out: string[] = [];
        for (const [i, e] of entries.entries()) {
            const hit = worldDbPorts(at(e, "protocol"), at(e, "fromPort"), at(e, "toPort"), cidrList(at(e, "cidrBlocks"), at(e, "ipv6CidrBlocks")), ports);
            if (hit) {
                out.push(portsMessage(h, `ingress[${i}]`, hit, "Allow the app's security group instead (ingress securityGroups), or a private CIDR."));
            }
        }
        return out;
    }
    if (r.type === AWS.securityGroupRule) {
        if (at(r.props, "type") !== "ingress") {
            return [];
        }
        const hit = worldDbPorts(
            at(r.props, "protocol"),
            at(r.props, "fromPort"),
            at(r.props, "toPort"),
            cidrList(at(r.props, "cidrBlocks"), at(r.props, "ipv6CidrBlocks")),
            ports,
        );
        return hit ? [portsMessage(h, "the ingress rule", hit, "Use sourceSecurityGroupId (the app's security group) instead of cidrBlocks, or a private CIDR.")] : [];
    }
    if (r.type === AWS.securityGroupIngressRule) {
        const hit = worldDbPorts(
            at(r.props, "ipProtocol"),
            at(r.props, "fromPort"),
            at(r.props, "toPort"),
            cidrList(at(r.props, "cidrIpv4"), at(r.props, "cidrIpv6")),
            ports,
        );
        return hit
            ? [portsMessage(h, "the ingress rule", hit, "Use referencedSecurityGroupId (the app's security group) instead of cidrIpv4/cidrIpv6, or a private CIDR.")]
            : [];
    }
    if (r.type === LOCAL.postgresServer) {
        const addr = at(r.props, "listenAddress");
        if (typeof addr === "string" && ALL_INTERFACES.includes(addr)) {
            return [
                `${h}listenAddress is ${fmt(addr)}, which opens database port ${fmt(at(r.props, "port"))} on every network interface; a database port must never be reachable from the network. ` +
                    'Set listenAddress to "127.0.0.1".',
            ];
        }
    }
    return [];
}

// ---------------------------------------------------------------------------------------------
// Targets.
// ---------------------------------------------------------------------------------------------

const HEALTH_WHY = "a cutover moves traffic only to a color whose health check passes";

/** health-check-required: target groups check health on a path; local apps and routers have a health-check path. */
export function healthCheckRequired(r: RuleResource): string[] {
    const h = head(r, "health-check-required");
    if (isTargetGroup(r.type)) {
        const hc = at(r.props, "healthCheck");
        if (hc === UNKNOWN) {
            return [];
        }
        if (hc === undefined || hc === null) {
            return [`${h}healthCheck is not set; ${HEALTH_WHY}. Set healthCheck: { enabled: true, path: "/healthz" }.`];
        }
        const out: string[] = [];
        const enabled = at(hc, "enabled");
        if (enabled === false) {
            out.push(`${h}healthCheck.enabled is false; ${HEALTH_WHY}. Set healthCheck.enabled: true.`);
        }
        const path = at(hc, "path");
        if (path !== UNKNOWN && !(typeof path === "string" && path.startsWith("/"))) {
            out.push(`${h}healthCheck.path is ${isSet(path) ? fmt(path) : "not set"}; ${HEALTH_WHY}. Set healthCheck.path to the app's health path, e.g. "/healthz".`);
        }
        return out;
    }
    if (r.type === LOCAL.appProcess || r.type === LOCAL.router) {
        const path = at(r.props, "healthCheckPath");
        if (path !== UNKNOWN && !(typeof path === "string" && path.startsWith("/"))) {
            return [`${h}healthCheckPath is ${isSet(path) ? fmt(path) : "not set"}; ${HEALTH_WHY}. Set healthCheckPath to a path starting with "/", e.g. "/healthz".`];
        }
    }
    return [];
}

// ---------------------------------------------------------------------------------------------
// Stack.
// ---------------------------------------------------------------------------------------------

export interface StackViolation {
    readonly urn?: string;
    readonly message: string;
}

/**
 * The role a stack declares: the `role` output of its root resource (a Switchyard program exports its
 * `switchyard:role` config there: "blue-green" or "sandbox"), or undefined.
 */
export function declaredStackRole(resources: readonly RuleResource[]): { role: TagRole; value: unknown } | undefined {
    const stack = resources.find((r) => r.type === STACK_TYPE);
    const value = stack === undefined ? undefined : at(stack.props, "role");
    const role = normalizeRole(value);
    return role === undefined ? undefined : { role, value };
}

/**
 * stack-role-consistent: a stack holds one role. The stack's role is `stackRole` when configured, else
 * the role the stack declares (its `role` output), else the role most resources carry; every resource
 * of the other role is reported. On a tie (no configured or declared role) every resource carrying a
 * role is reported.
 */
export function stackRoleConsistent(resources: readonly RuleResource[], config: StackRoleConfig = {}): StackViolation[] {
    const withRole = resources.map((r) => ({ r, role: roleOf(r) })).filter((x): x is { r: RuleResource; role: TagRole } => x.role !== undefined);
    const count = { production: 0, sandbox: 0 };
    for (const x of withRole) {
        count[x.role]++;
    }
    const fromConfig = normalizeRole(config.stackRole);
    const declared = fromConfig === undefined ? declaredStackRole(resources) : undefined;
    const configured = fromConfig ?? declared?.role;
    if (configured === undefined && (count.production === 0 || count.sandbox === 0)) {
        return [];
    }
    const fieldOf = (r: RuleResource) => (isLocal(r.type) ? "its role prop" : `its ${TAGS.role} tag`);
    const tally = `${count.production} production and ${count.sandbox} sandbox resource(s)`;
    if (configured === undefined && count.production === count.sandbox) {
        return withRole.map(({ r, role }) => ({
            urn: r.urn,
            message:
                `${head(r, "stack-role-consistent")}role is "${role}" in a stack that mixes ${tally}; a stack is either production or a sandbox, never both. ` +
                `Move the resources of one role to a stack of their own, or set the policy's stackRole to say which role this stack has.`,
        }));
    }
    const stackRole: TagRole = configured ?? (count.production > count.sandbox ? "production" : "sandbox");
    const other: TagRole = stackRole === "production" ? "sandbox" : "production";
    const source =
        fromConfig !== undefined ? "(configured stackRole)" : declared !== undefined ? `(its role output is ${fmt(declared.value)})` : `(${tally})`;
    return withRole
        .filter((x) => x.role === other)
        .map(({ r }) => ({
            urn: r.urn,
            message:
                `${head(r, "stack-role-consistent")}role is "${other}" but this is a ${stackRole} stack ${source}; a stack is either production or a sandbox, never both. ` +
                `Move this resource to a ${other} stack, or set ${fieldOf(r)} to "${stackRole}".`,
        }));
}

// ---------------------------------------------------------------------------------------------
// A sandbox never reaches production's database.
// ---------------------------------------------------------------------------------------------

/** Type token of a StackReference, whose outputs (`props.outputs`) are the referenced stack's. */
export const STACK_REFERENCE_TYPE = "pulumi:pulumi:StackReference";

/** Type tokens of the AWS resources holding a sandbox app's environment. */
export const AWS_ENV = {
    taskDefinition: "aws:ecs/taskDefinition:TaskDefinition",
    ssmParameter: "aws:ssm/parameter:Parameter",
} as const;

/** Production's database as a sandbox stack sees it through its StackReference. */
export interface ProductionDatabase {
    /** The referenced stack's name. */
    readonly stack: string;
    /** Its database URLs (`databaseUrl` output), verbatim. */
    readonly urls: string[];
    /** Its database host (`databaseAddress`/`databaseHost` output, else the URL's). */
    readonly host?: string;
    /** Its database port (`databasePort` output, else the URL's). */
    readonly port?: number;
}

const DEFAULT_DB_PORTS: Record<string, number> = { postgres: 5432, postgresql: 5432, mysql: 3306 };

/** Host and port of a URL (the scheme's default port when none is written), or undefined. */
function endpointOf(url: string): { host: string; port?: number } | undefined {
    try {
        const u = new URL(url);
        if (!u.hostname) {
            return undefined;
        }
        const scheme = u.protocol.replace(/:$/, "");
        return { host: u.hostname.replace(/^\[|\]$/g, "").toLowerCase(), port: u.port ? Number(u.port) : DEFAULT_DB_PORTS[scheme] };
    } catch {
        return undefined;
    }
}

const LOOPBACK_NAMES = ["localhost", "127.0.0.1", "::1", "0.0.0.0", ""];
const isLoopbackHost = (h: string) => LOOPBACK_NAMES.includes(h) || h.startsWith("127.");

/** Whether two hosts are the same: equal, or both this machine. */
function sameHost(a: string, b: string): boolean {
    const x = a.toLowerCase();
    const y = b.toLowerCase();
    return x === y || (isLoopbackHost(x) && isLoopbackHost(y));
}

/**
 * Pure: production's databases a stack references: each ProductionDatabase component's outputs
 * (what a Switchyard sandbox records: a stack policy is not shown StackReferences), and the outputs
 * of each StackReference whose stack
 * is production (its `role` output is "blue-green" or "production", or, with no role output, the
 * reference is named `*-production`, as Switchyard's sandboxes name theirs). Unknown values are left out.
 */
export function productionDatabases(resources: readonly RuleResource[]): ProductionDatabase[] {
    return resources.flatMap((r): ProductionDatabase[] => {
        if (r.type !== STACK_REFERENCE_TYPE && r.type !== PRODUCTION_DATABASE_TOKEN) {
            return [];
        }
        const own = r.type === PRODUCTION_DATABASE_TOKEN ? resolve(r.props) : undefined;
        const outputs = own === undefined ? resolve(at(r.props, "outputs")) : own === UNKNOWN ? UNKNOWN : { role: "production", ...(own as object) };
        if (outputs === UNKNOWN || typeof outputs !== "object" || outputs === null) {
            return [];
        }
        const o = outputs as Record<string, unknown>;
        const role = normalizeRole(o.role);
        if (role === "sandbox" || (role === undefined && !r.name.endsWith("-production"))) {
            return [];
        }
        const urls = [o.databaseUrl].filter((u): u is string => typeof u === "string" && u !== "");
        const fromUrl = urls.map(endpointOf).find((e) => e !== undefined);
        const host = [o.databaseAddress, o.databaseHost].find((h): h is string => typeof h === "string" && h !== "") ?? fromUrl?.host;
        const port = [o.databasePort].map(Number).find((p) => Number.isInteger(p) && p > 0) ?? fromUrl?.port;
        if (!urls.length && host === undefined && port === undefined) {
            return [];
        }
        const name = r.type === PRODUCTION_DATABASE_TOKEN ? at(r.props, "stack") : at(r.props, "name");
        return [{ stack: typeof name === "string" ? name : r.name, urls, host: host?.toLowerCase(), port }];
    });
}

const HOST_KEY = /HOST|ADDR|ENDPOINT|SERVER/i;
const PORT_KEY = /PORT/i;
const DB_KEY = /DB|DATABASE|PG|POSTGRES|MYSQL|SQL/i;

/**
 * Pure: what in an environment names production's database: a value holding its URL, a URL whose
 * host and port are its, a database host variable set to its host with its port (or a host that is
 * not this machine's), a database port variable set to its port with no other host named. Each
 * finding names the variable.
 */
export function envNamesDatabase(env: Readonly<Record<string, unknown>>, db: ProductionDatabase): string[] {
    const entries = Object.entries(env).filter((e): e is [string, string | number] => typeof e[1] === "string" || typeof e[1] === "number");
    const value = (k: string) => String(entries.find(([key]) => key === k)?.[1] ?? "");
    const hostVars = entries.filter(([k]) => HOST_KEY.test(k) && DB_KEY.test(k)).map(([k, v]) => [k, String(v)] as const);
    const portVars = entries.filter(([k]) => PORT_KEY.test(k) && DB_KEY.test(k)).map(([k, v]) => [k, String(v)] as const);
    const out: string[] = [];
    for (const [k, raw] of entries) {
        const v = String(raw);
        const url = db.urls.find((u) => v.includes(u));
        if (url) {
            out.push(`${k} holds production's database URL`);
            continue;
        }
        const hit = (v.match(/[a-z][a-z0-9+.-]*:\/\/[^\s'"`,;]+/gi) ?? [])
            .map(endpointOf)
            .find((e) => e !== undefined && db.host !== undefined && sameHost(e.host, db.host) && (db.port === undefined || e.port === db.port));
        if (hit) {
            out.push(`${k} names production's database at ${hit.host}${hit.port ? `:${hit.port}` : ""}`);
        }
    }
    if (db.host !== undefined) {
        for (const [k, v] of hostVars) {
            const portNamed = portVars.length === 0 ? !isLoopbackHost(db.host) : portVars.some(([, p]) => db.port !== undefined && Number(p) === db.port);
            if (v !== "" && sameHost(v, db.host) && (portNamed || !isLoopbackHost(db.host))) {
                out.push(`${k} is production's database host ${v}${portVars.length ? ` (with ${portVars.map(([pk]) => pk).join(", ")} ${value(portVars[0][0])})` : ""}`);
            }
        }
    }
    if (db.port !== undefined && hostVars.length === 0) {
        for (const [k, v] of portVars) {
            if (Number(v) === db.port && (db.host === undefined || isLoopbackHost(db.host))) {
                out.push(`${k} is production's database port ${v}`);
            }
        }
    }
    return out;
}

/** A sandbox app's environments: a local app's `environment`, an ECS task's containers' `environment`, an SSM parameter's value. */
function environmentsOf(r: RuleResource): { where: string; env: Record<string, unknown> }[] {
    if (r.type === LOCAL.appProcess) {
        const env = resolve(at(r.props, "environment"));
        return env !== UNKNOWN && typeof env === "object" && env !== null ? [{ where: "environment", env: env as Record<string, unknown> }] : [];
    }
    if (r.type === AWS_ENV.taskDefinition) {
        const defs = resolve(at(r.props, "containerDefinitions"));
        let parsed: unknown = defs;
        if (typeof defs === "string") {
            try {
                parsed = JSON.parse(defs);
            } catch {
                return [];
            }
        }
        if (!Array.isArray(parsed)) {
            return [];
        }
        return parsed.map((c: { name?: unknown; environment?: unknown }, i) => ({
            where: `container ${typeof c?.name === "string" ? JSON.stringify(c.name) : i} environment`,
            env: Object.fromEntries(
                (Array.isArray(c?.environment) ? c.environment : [])
                    .filter((e: { name?: unknown }) => typeof e?.name === "string")
                    .map((e: { name: string; value?: unknown }) => [e.name, e.value]),
            ),
        }));
    }
    if (r.type === AWS_ENV.ssmParameter) {
        const name = at(r.props, "name");
        const v = at(r.props, "value");
        return typeof v === "string" ? [{ where: "value", env: { [typeof name === "string" ? name : r.name]: v } }] : [];
    }
    return [];
}

/** Whether the stack is a sandbox: its `role` output says so, else some resource is a sandbox's and none production's. */
function isSandboxStack(resources: readonly RuleResource[]): boolean {
    const declared = declaredStackRole(resources);
    if (declared) {
        return declared.role === "sandbox";
    }
    const roles = resources.map(roleOf);
    return roles.includes("sandbox") && !roles.includes("production");
}

/**
 * sandbox-no-production-db: in a sandbox stack, no app's environment names production's database
 * (its URL, its host and port, or its port on this machine), as read through the stack's reference
 * to production. A sandbox that could write to production is blocked at preview.
 */
export function sandboxNoProductionDb(resources: readonly RuleResource[]): StackViolation[] {
    if (!isSandboxStack(resources)) {
        return [];
    }
    const prods = productionDatabases(resources);
    if (prods.length === 0) {
        return [];
    }
    return resources.flatMap((r) =>
        environmentsOf(r).flatMap(({ where, env }) =>
            prods.flatMap((db) =>
                envNamesDatabase(env, db).map((finding) => ({
                    urn: r.urn,
                    message:
                        `${head(r, "sandbox-no-production-db")}its ${where}: ${finding} (stack ${db.stack}); a sandbox must never reach production's database, ` +
                        "or its tests would write to production. Point it at the sandbox's own database (DATABASE_URL is set to it) and remove the variable.",
                })),
            ),
        ),
    );
}

// ---------------------------------------------------------------------------------------------
// Rollout settings.
// ---------------------------------------------------------------------------------------------

/**
 * rollout-settings-valid: the rollout settings a pair records from the stack's configuration
 * (`switchyard:cutover.window`, `.watch`, `.keepWarm`; its `rollout` output) parse, by the cutover's
 * own parsers (`rolloutSettings`): a window that reads as `[days] HH:MM-HH:MM [zone]` and is not
 * empty, durations of whole numbers with a unit. Each message names the key and the value. A stack
 * policy: a pair is a component, whose outputs only a stack policy is shown.
 */
export function rolloutSettingsValid(resources: readonly RuleResource[]): StackViolation[] {
    const pairs = Object.values(PAIR_TOKENS);
    return resources
        .filter((r) => pairs.includes(r.type))
        .flatMap((r) => {
            const declared = resolve(at(r.props, "rollout"));
            if (declared === UNKNOWN || declared === undefined) {
                return [];
            }
            return rolloutSettings(declared).errors.map((e) => ({
                urn: r.urn,
                message: `${head(r, "rollout-settings-valid")}${e}. Correct it in the stack's configuration (${ROLLOUT_KEY}), or remove it: a cutover would refuse it.`,
            }));
        });
}

// ---------------------------------------------------------------------------------------------
// The rule table: one entry per policy, used by index.ts and the tests.
// ---------------------------------------------------------------------------------------------

/**
 * A rule's config schema: strict, no key beyond its properties. The engine receives only
 * `properties` and `required`, so the pack enforces `additionalProperties: false` itself when a rule
 * runs, and the CLI before a preview (./config.ts).
 */
export type StrictConfigSchema = PolicyConfigSchema & { readonly additionalProperties: false };

interface RuleMeta {
    readonly name: RuleName;
    readonly description: string;
    readonly enforcementLevel: EnforcementLevel;
    readonly configSchema?: StrictConfigSchema;
}

export interface ResourceRuleSpec extends RuleMeta {
    readonly kind: "resource";
    readonly check: (r: RuleResource, config: Record<string, unknown>, options?: RuleOptions) => string[];
}

export interface StackRuleSpec extends RuleMeta {
    readonly kind: "stack";
    readonly check: (resources: readonly RuleResource[], config: Record<string, unknown>) => StackViolation[];
}

export type RuleSpec = ResourceRuleSpec | StackRuleSpec;

export const RULES: readonly RuleSpec[] = [
    {
        kind: "resource",
        name: "traffic-two-colors",
        description: "A weighted listener or a local router forwards to exactly two colors: the blue and the green target group (server).",
        enforcementLevel: "mandatory",
        check: (r) => trafficTwoColors(r),
    },
    {
        kind: "resource",
        name: "traffic-weights-valid",
        description: "Traffic weights are integers from 0 to 100, at least one positive.",
        enforcementLevel: "mandatory",
        check: (r) => trafficWeightsValid(r),
    },
    {
        kind: "resource",
        name: "cutover-plan-valid",
        description: "A declared cutover plan rises strictly, ends at 100 and never jumps more than maxStep points.",
        enforcementLevel: "mandatory",
        configSchema: {
            additionalProperties: false,
            properties: {
                maxStep: {
                    type: "integer",
                    minimum: 1,
                    maximum: 100,
                    default: DEFAULTS.maxStep,
                    description: "Largest rise between two steps (the first step counts from 0), in weight points.",
                },
            },
        },
        check: (r, c) => cutoverPlanValid(r, c as CutoverConfig),
    },
    {
        kind: "resource",
        name: "flags-valid",
        description: "Feature flags are well formed: variants that exist, percentages within 100 and summing to 100, targeting that parses; each problem names the flag.",
        enforcementLevel: "mandatory",
        check: (r) => flagsValid(r),
    },
    {
        kind: "resource",
        name: "prod-db-deletion-protection",
        description: "A production database has deletion protection on and keeps a final snapshot.",
        enforcementLevel: "mandatory",
        check: (r) => prodDbDeletionProtection(r),
    },
    {
        kind: "resource",
        name: "prod-db-backup-retention",
        description: "A production database keeps automated backups at least minDays days.",
        enforcementLevel: "mandatory",
        configSchema: {
            additionalProperties: false,
            properties: {
                minDays: {
                    type: "integer",
                    minimum: 1,
                    maximum: 35,
                    default: DEFAULTS.minDays,
                    description: "Fewest days of automated backups (RDS allows up to 35).",
                },
            },
        },
        check: (r, c) => prodDbBackupRetention(r, c as BackupConfig),
    },
    {
        kind: "resource",
        name: "prod-db-encrypted-protected",
        description: "An AWS production database is encrypted at rest and has the protect resource option.",
        enforcementLevel: "mandatory",
        check: (r) => prodDbEncryptedProtected(r),
    },
    {
        kind: "resource",
        name: "sandbox-db-private-encrypted",
        description: "A sandbox or restored database is never publicly accessible (local: listens on loopback) and is encrypted (AWS).",
        enforcementLevel: "mandatory",
        check: (r) => sandboxDbPrivateEncrypted(r),
    },
    {
        kind: "resource",
        name: "sandbox-db-tags",
        description: "A sandbox database records its expiry (an ISO time) and the snapshot it was restored from.",
        enforcementLevel: "mandatory",
        check: (r) => sandboxDbTags(r),
    },
    {
        kind: "resource",
        name: "sandbox-expiry-max",
        description: "A sandbox database expires no later than maxHours from now.",
        enforcementLevel: "mandatory",
        configSchema: {
            additionalProperties: false,
            properties: {
                maxHours: {
                    type: "number",
                    exclusiveMinimum: 0,
                    default: DEFAULTS.maxHours,
                    description: "Longest a sandbox database may live, counted from now, in hours.",
                },
            },
        },
        check: (r, c, o) => sandboxExpiryMax(r, c as ExpiryConfig, o),
    },
    {
        kind: "resource",
        name: "sandbox-masking-valid",
        description:
            "A sandbox's masking names only tables and columns of the snapshot's schema, known rules that fit each column, and (strict) a rule for every personal-looking column; never a production database.",
        enforcementLevel: "mandatory",
        check: (r) => sandboxMaskingValid(r),
    },
    {
        kind: "resource",
        name: "no-public-db-port",
        description: "No security group or ingress rule opens a database port to 0.0.0.0/0 or ::/0; no local database listens on every interface.",
        enforcementLevel: "mandatory",
        configSchema: {
            additionalProperties: false,
            properties: {
                ports: {
                    type: "array",
                    items: { type: "integer", minimum: 1, maximum: 65535 },
                    default: DEFAULTS.ports,
                    description: "Ports that count as database ports.",
                },
            },
        },
        check: (r, c) => noPublicDbPort(r, c as DbPortConfig),
    },
    {
        kind: "resource",
        name: "health-check-required",
        description: "Every target group has an enabled health check with a path; every local app and router has a healthCheckPath.",
        enforcementLevel: "mandatory",
        check: (r) => healthCheckRequired(r),
    },
    {
        kind: "stack",
        name: "stack-role-consistent",
        description: "A stack holds one role: no sandbox resource in a production stack, and no production resource in a sandbox stack.",
        enforcementLevel: "mandatory",
        configSchema: {
            additionalProperties: false,
            properties: {
                stackRole: {
                    type: "string",
                    enum: ["production", "sandbox"],
                    description: "The stack's role; when unset, the stack's role output (switchyard:role), else the role most of its resources carry.",
                },
            },
        },
        check: (rs, c) => stackRoleConsistent(rs, c as StackRoleConfig),
    },
    {
        kind: "stack",
        name: "sandbox-no-production-db",
        description: "In a sandbox stack no app's environment names production's database (its URL, host and port), as read through the reference to production: a sandbox that could write to production is blocked.",
        enforcementLevel: "mandatory",
        check: (rs) => sandboxNoProductionDb(rs),
    },
    {
        kind: "stack",
        name: "rollout-settings-valid",
        description: "A pair's rollout settings (switchyard:cutover.window, .watch, .keepWarm) parse: windows as [days] HH:MM-HH:MM [zone], none empty; durations such as 30m or 24h.",
        enforcementLevel: "mandatory",
        check: (rs) => rolloutSettingsValid(rs),
    },
];
