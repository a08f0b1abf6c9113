/**
 * The impact map, the pure part: what a change to a stack touches, how it is classed, its risk tier,
 * and the release path the tier allows. Nothing here runs the engine or reads a database:
 * `impactRun.ts` takes the engine's preview (its resource pre-events) and the migrations, and calls
 * these functions.
 *
 * A change is classed, each resource on its own, as:
 * - `app-version`: only the version an app runs changed (a local app process's `version`; on AWS a task
 *   definition whose containers differ only in image and `VERSION`, and the service that follows it);
 * - `configuration`: properties changed in place (traffic weights, an expiry), or an app's environment
 *   (a local app process is started again for it);
 * - `schema-migration`: migrations of the candidate that the database has not applied;
 * - `database-engine`: a database's engine, or its major version, changes (or an RDS Blue/Green
 *   deployment is made for an upgrade);
 * - `infrastructure`: resources created, replaced or deleted.
 *
 * The risk tier:
 * - **high**: a stateful resource (a database server, its data directory, an RDS instance or cluster,
 *   a snapshot) replaced or deleted, named with the property that forced it; a database engine or
 *   major-version change; a schema migration pending;
 * - **medium**: an app version, infrastructure, or configuration other than traffic weights;
 * - **low**: nothing, or traffic weights only.
 *
 * @example
 * const map = impactOf({ stack: "local", steps, migrations: { known: true, pending: [], applied: ["001_items"] } });
 * map.tier; // "low" for a weights-only change
 */
import { UserError } from "./errors";

/** The classes of change, in rising order of risk. */
export const CHANGE_CLASSES = ["configuration", "app-version", "infrastructure", "schema-migration", "database-engine"] as const;
export type ChangeClass = (typeof CHANGE_CLASSES)[number];

/** Risk tiers, in rising order. */
export const RISK_TIERS = ["low", "medium", "high"] as const;
export type RiskTier = (typeof RISK_TIERS)[number];

/** Plain words for each class, as the map prints them. */
export const CLASS_LABELS: Readonly<Record<ChangeClass, string>> = {
    configuration: "configuration",
    "app-version": "app version",
    infrastructure: "infrastructure",
    "schema-migration": "database schema migration pending",
    "database-engine": "database engine or major-version change",
};

/**
 * One step of the engine's preview, as its resource pre-event gives it (`StepEventMetadata`).
 * `olds` and `news` are the resource's inputs before and after.
 */
export interface PlannedStep {
    readonly urn: string;
    readonly type: string;
    /** The engine's op: same, create, update, delete, replace, create-replacement, delete-replaced, read, … */
    readonly op: string;
    /** Keys that changed with this step (the engine's `diffs`). */
    readonly diffs?: readonly string[];
    /** Keys that force a replacement (the engine's `keys`, on replace steps). */
    readonly keys?: readonly string[];
    readonly olds?: Readonly<Record<string, unknown>>;
    readonly news?: Readonly<Record<string, unknown>>;
    /** False for a component or the stack itself (no provider): those are not resources that change. */
    readonly custom?: boolean;
}

/** What happens to a resource. */
export type ResourceAction = "create" | "update" | "replace" | "delete";

/** A resource the change touches. */
export interface AffectedResource {
    readonly urn: string;
    /** The resource's name (the last part of its URN). */
    readonly name: string;
    readonly type: string;
    readonly action: ResourceAction;
    /** Properties that changed, sorted. */
    readonly changed: string[];
    /** Properties that forced a replacement, sorted (empty unless replaced). */
    readonly forcedBy: string[];
    readonly class: ChangeClass;
    /** A database, its data directory, a snapshot: its data goes with it when it is replaced or deleted. */
    readonly stateful: boolean;
    /** Traffic weights only. */
    readonly trafficOnly: boolean;
}

/** The candidate's migrations against the ones the database has applied. */
export interface MigrationStatus {
    /** False when they could not be compared (no migrations configured, no database reachable); `note` says why. */
    readonly known: boolean;
    /** The candidate's migrations the database has not applied, in order. */
    readonly pending: string[];
    /** Ids in the database's bookkeeping table. */
    readonly applied: string[];
    /** Where the candidate's migrations were read. */
    readonly source?: string;
    readonly note?: string;
}

/** What a tier allows and requires of the cutover. */
export interface ReleasePath {
    /** Whether all traffic may move in one step (`--steps 100`). */
    readonly allAtOnce: boolean;
    /** The fewest steps the cutover's plan may have. */
    readonly minSteps: number;
    /** Evidence needed first: a passing rehearsal and test run of the candidate version. */
    readonly requiresRehearsalAndTests: boolean;
}

/** The impact map of a change to a stack. */
export interface ImpactMap {
    readonly stack: string;
    /** The classes present, in rising order of risk; empty when nothing changes. */
    readonly classes: ChangeClass[];
    readonly tier: RiskTier;
    /** Why the tier is what it is, one line per cause, the strongest first. */
    readonly reasons: string[];
    /** The resources that change (a preview's `same` steps are left out). */
    readonly resources: AffectedResource[];
    readonly migrations: MigrationStatus;
    readonly releasePath: ReleasePath;
}

/** Release-path settings (`switchyard:cutover` in a production stack). */
export interface ReleasePolicy {
    /**
     * The fewest steps a high-risk cutover's plan may have (`switchyard:cutover.minSteps`).
     * @default 4 (e.g. 10, 25, 50, 100)
     */
    readonly minSteps?: number;
}

/** The key that sets {@link ReleasePolicy.minSteps}. */
export const MIN_STEPS_KEY = "switchyard:cutover.minSteps";
/**
 * The suite name under which a rehearsal's run is recorded (`switchyard test <sandbox> --suite rehearsal
 * -- switchyard rehearse <sandbox>`): a high-risk cutover needs a passing one of the candidate version.
 */
export const REHEARSAL_SUITE = "rehearsal";

/** {@link ReleasePolicy.minSteps}'s default. */
export const DEFAULT_MIN_STEPS = 4;

const LOCAL = "pulumi-nodejs:dynamic/switchyard-local";

/** Resource types whose replacement or deletion loses data. */
export const STATEFUL_TYPES: ReadonlySet<string> = new Set([
    `${LOCAL}:PostgresServer`,
    `${LOCAL}:DataDirectory`,
    "aws:rds/instance:Instance",
    "aws:rds/cluster:Cluster",
    "aws:rds/clusterInstance:ClusterInstance",
    "aws:rds/snapshot:Snapshot",
    "aws:rds/clusterSnapshot:ClusterSnapshot",
    "aws:rds/globalCluster:GlobalCluster",
    "aws:ebs/volume:Volume",
    "aws:dynamodb/table:Table",
]);

/** Database resources whose `engine` and `engineVersion` are watched. */
const ENGINE_TYPES: ReadonlySet<string> = new Set(["aws:rds/instance:Instance", "aws:rds/cluster:Cluster", "aws:rds/globalCluster:GlobalCluster"]);

/** The `kind` input of Switchyard's RDS Blue/Green deployment (a dynamic resource), made for engine upgrades. */
const RDS_BLUE_GREEN_KIND = "switchyard:aws:RdsBlueGreenDeployment";

/** Per type, the properties whose change alone is a new app version. */
const VERSION_PROPERTIES: Readonly<Record<string, readonly string[]>> = {
    [`${LOCAL}:AppProcess`]: ["version"],
    "aws:ecs/service:Service": ["taskDefinition"],
};

/** Per type, the properties that are the app's configuration: a replacement forced by them alone is a configuration change. */
const CONFIG_PROPERTIES: Readonly<Record<string, readonly string[]>> = {
    [`${LOCAL}:AppProcess`]: ["environment"],
};

/** Per type, the properties that are traffic weights. */
const TRAFFIC_PROPERTIES: Readonly<Record<string, readonly string[]>> = {
    [`${LOCAL}:Router`]: ["weights", "appliedWeights", "idle", "cutoverSteps"],
    "aws:lb/listener:Listener": ["defaultActions"],
    "aws:alb/listener:Listener": ["defaultActions"],
    "aws:lb/listenerRule:ListenerRule": ["actions"],
    "aws:alb/listenerRule:ListenerRule": ["actions"],
};

/** Inputs that are the engine's or the dynamic provider's bookkeeping, not the user's. */
const BOOKKEEPING = new Set(["__provider", "__defaults", "__meta"]);

const ACTION_OF: Readonly<Record<string, ResourceAction>> = {
    create: "create",
    update: "update",
    delete: "delete",
    replace: "replace",
    "create-replacement": "replace",
    "delete-replaced": "replace",
};
const ACTION_RANK: Readonly<Record<ResourceAction, number>> = { update: 0, create: 1, delete: 2, replace: 3 };

const nameOf = (urn: string) => urn.split("::").pop() ?? urn;
const uniqSorted = (xs: Iterable<string>) => [...new Set(xs)].sort();
const same = (a: unknown, b: unknown) => JSON.stringify(a) === JSON.stringify(b);

/** Pure: the top-level inputs that differ between olds and news (the dynamic provider's code left out). */
export function changedInputs(olds: Readonly<Record<string, unknown>> = {}, news: Readonly<Record<string, unknown>> = {}): string[] {
    return uniqSorted([...Object.keys(olds), ...Object.keys(news)].filter((k) => !BOOKKEEPING.has(k) && !same(olds[k], news[k])));
}

/**
 * Pure: a major version of a database engine version: the first number from 10 on (PostgreSQL
 * "16.4" → "16"), the first two below (PostgreSQL "9.6.24" → "9.6", MySQL "5.7.44" → "5.7", "8.0.35" → "8.0").
 */
export function majorVersion(v: string): string {
    const parts = String(v).split(".");
    return Number(parts[0]) >= 10 ? parts[0] : parts.slice(0, 2).join(".");
}

/** A task definition's containers with their image and VERSION left out: equal when only the version changed. */
function withoutVersion(containerDefinitions: unknown): unknown {
    let defs: unknown = containerDefinitions;
    if (typeof defs === "string") {
        try {
            defs = JSON.parse(defs);
        } catch {
            return defs;
        }
    }
    if (!Array.isArray(defs)) {
        return defs;
    }
    return defs.map((d: Record<string, unknown>) => ({
        ...d,
        image: undefined,
        environment: Array.isArray(d.environment) ? (d.environment as { name: string }[]).filter((e) => e.name !== "VERSION") : d.environment,
    }));
}

function isVersionOnly(type: string, changed: readonly string[], olds?: Readonly<Record<string, unknown>>, news?: Readonly<Record<string, unknown>>): boolean {
    if (changed.length === 0) {
        return false;
    }
    if (type === "aws:ecs/taskDefinition:TaskDefinition") {
        return changed.every((k) => k === "containerDefinitions") && olds !== undefined && news !== undefined && same(withoutVersion(olds.containerDefinitions), withoutVersion(news.containerDefinitions));
    }
    const props = VERSION_PROPERTIES[type];
    return props !== undefined && changed.every((k) => props.includes(k));
}

function isEngineChange(type: string, action: ResourceAction, changed: readonly string[], olds?: Readonly<Record<string, unknown>>, news?: Readonly<Record<string, unknown>>): boolean {
    if (news?.kind === RDS_BLUE_GREEN_KIND || olds?.kind === RDS_BLUE_GREEN_KIND) {
        return action !== "delete";
    }
    if (!ENGINE_TYPES.has(type) || action === "create" || action === "delete") {
        return false;
    }
    if (changed.includes("engine")) {
        return true;
    }
    if (!changed.includes("engineVersion")) {
        return false;
    }
    const [a, b] = [olds?.engineVersion, news?.engineVersion];
    // An unknown version (computed, or absent) is taken as a major change: the safer reading.
    return typeof a !== "string" || typeof b !== "string" || majorVersion(a) !== majorVersion(b);
}

/** Pure: the resources a preview changes, one per URN (a replacement's three steps are one), classed. */
export function affectedResources(steps: readonly PlannedStep[]): AffectedResource[] {
    const byUrn = new Map<string, { step: PlannedStep; action: ResourceAction; changed: Set<string>; forcedBy: Set<string> }>();
    for (const s of steps) {
        const action = ACTION_OF[s.op];
        if (!action || s.custom === false || s.type === "pulumi:pulumi:Stack" || s.type.startsWith("pulumi:providers:")) {
            continue;
        }
        // Inputs are compared once a resource's steps are merged: a replacement's own steps carry only old or new ones.
        const changed = s.diffs ?? [];
        const forcedBy = action === "replace" ? (s.keys ?? []) : [];
        const seen = byUrn.get(s.urn);
        if (!seen) {
            byUrn.set(s.urn, { step: s, action, changed: new Set([...changed, ...forcedBy]), forcedBy: new Set(forcedBy) });
            continue;
        }
        changed.forEach((k) => seen.changed.add(k));
        forcedBy.forEach((k) => {
            seen.forcedBy.add(k);
            seen.changed.add(k);
        });
        if (ACTION_RANK[action] > ACTION_RANK[seen.action]) {
            seen.action = action;
        }
        seen.step = { ...seen.step, olds: seen.step.olds ?? s.olds, news: seen.step.news ?? s.news };
    }
    const out: AffectedResource[] = [];
    for (const [urn, r] of byUrn) {
        const { type, olds, news } = r.step;
        const compared = (r.action === "update" || r.action === "replace") && olds !== undefined && news !== undefined ? changedInputs(olds, news) : [];
        const changed = uniqSorted([...r.changed, ...compared].filter((k) => !BOOKKEEPING.has(k)));
        const forcedBy = uniqSorted(r.forcedBy);
        const stateful = STATEFUL_TYPES.has(type);
        const traffic = TRAFFIC_PROPERTIES[type];
        const trafficOnly = r.action === "update" && traffic !== undefined && changed.length > 0 && changed.every((k) => traffic.includes(k));
        let cls: ChangeClass;
        if (isEngineChange(type, r.action, changed, olds, news)) {
            cls = "database-engine";
        } else if ((r.action === "update" || (r.action === "replace" && !stateful)) && isVersionOnly(type, changed, olds, news)) {
            cls = "app-version";
        } else if (r.action === "update" || (r.action === "replace" && !stateful && changed.length > 0 && changed.every((k) => CONFIG_PROPERTIES[type]?.includes(k)))) {
            cls = "configuration";
        } else {
            cls = "infrastructure";
        }
        out.push({ urn, name: nameOf(urn), type, action: r.action, changed, forcedBy, class: cls, stateful, trafficOnly });
    }
    return out.sort((a, b) => a.urn.localeCompare(b.urn));
}

const shortType = (type: string) => type.split(":").pop() ?? type;

/** Pure: the tier and its causes. */
export function riskOf(resources: readonly AffectedResource[], migrations: MigrationStatus): { tier: RiskTier; reasons: string[] } {
    const high: string[] = [];
    const medium: string[] = [];
    for (const r of resources) {
        const what = `${shortType(r.type)} ${r.name}`;
        if (r.stateful && (r.action === "replace" || r.action === "delete")) {
            const cause = r.action === "replace" ? (r.forcedBy.length ? `; forced by ${r.forcedBy.join(", ")}` : "; no property named by the provider") : "";
            high.push(`stateful ${what} is ${r.action === "replace" ? "replaced" : "deleted"}: its data goes with it${cause}`);
        } else if (r.class === "database-engine") {
            high.push(`${what}: database engine or major version changes (${r.changed.join(", ")})`);
        } else if (r.class === "infrastructure") {
            medium.push(`${what} is ${r.action === "replace" ? `replaced (forced by ${r.forcedBy.join(", ") || "the provider"})` : `${r.action}d`}`);
        } else if (r.class === "app-version") {
            medium.push(`${what}: new app version`);
        } else if (!r.trafficOnly) {
            medium.push(`${what}: configuration changes (${r.changed.join(", ")})`);
        }
    }
    if (migrations.pending.length > 0) {
        high.push(`${migrations.pending.length} migration(s) pending: ${migrations.pending.join(", ")}`);
    }
    if (high.length) {
        return { tier: "high", reasons: [...high, ...medium] };
    }
    return medium.length ? { tier: "medium", reasons: medium } : { tier: "low", reasons: [resources.length ? "traffic weights only" : "no change"] };
}

/** Pure: what a tier allows: low may go all at once; medium needs two steps at least; high needs the configured minimum and evidence. */
export function releasePathOf(tier: RiskTier, policy: ReleasePolicy = {}): ReleasePath {
    if (tier === "low") {
        return { allAtOnce: true, minSteps: 1, requiresRehearsalAndTests: false };
    }
    if (tier === "medium") {
        return { allAtOnce: false, minSteps: 2, requiresRehearsalAndTests: false };
    }
    return { allAtOnce: false, minSteps: Math.max(2, policy.minSteps ?? DEFAULT_MIN_STEPS), requiresRehearsalAndTests: true };
}

/**
 * Pure: a {@link ReleasePolicy} from the stack's `switchyard:cutover` object, or the reason it is
 * refused: a UserError naming {@link MIN_STEPS_KEY} and the value.
 */
export function readReleasePolicy(cutover: unknown): ReleasePolicy {
    const v = (cutover as { minSteps?: unknown } | undefined)?.minSteps;
    if (v === undefined) {
        return {};
    }
    if (typeof v !== "number" || !Number.isInteger(v) || v < 1 || v > 100) {
        throw new UserError(`${MIN_STEPS_KEY} is ${JSON.stringify(v)}: give a whole number of steps from 1 to 100 (e.g. 4 for 10, 25, 50, 100)`);
    }
    return { minSteps: v };
}

/** Everything {@link impactOf} needs. */
export interface ImpactInput {
    readonly stack: string;
    readonly steps: readonly PlannedStep[];
    readonly migrations: MigrationStatus;
    readonly policy?: ReleasePolicy;
}

/** Pure: the impact map of a preview and the migrations. */
export function impactOf(input: ImpactInput): ImpactMap {
    const resources = affectedResources(input.steps);
    const present = new Set<ChangeClass>(resources.map((r) => r.class));
    if (input.migrations.pending.length > 0) {
        present.add("schema-migration");
    }
    const classes = CHANGE_CLASSES.filter((c) => present.has(c));
    const { tier, reasons } = riskOf(resources, input.migrations);
    return { stack: input.stack, classes, tier, reasons, resources, migrations: input.migrations, releasePath: releasePathOf(tier, input.policy) };
}

/** What a cutover brings to be judged against the map. */
export interface ReleaseEvidence {
    /** The cutover's steps (weights of the new color). */
    readonly steps: readonly number[];
    /**
     * Why the rehearsal and test runs of the candidate version do not suffice (missing or failing suites,
     * named); empty when they do. Only read for a high tier.
     */
    readonly evidenceMissing: readonly string[];
}

/** Pure: why the cutover may not go as planned under this map; empty when it may. */
export function releaseRefusals(map: Pick<ImpactMap, "tier" | "releasePath" | "stack">, e: ReleaseEvidence): string[] {
    const out: string[] = [];
    const p = map.releasePath;
    if (e.steps.length < p.minSteps) {
        const why = p.minSteps === 2 ? "no all-at-once cutover" : `at least ${p.minSteps} steps (${MIN_STEPS_KEY})`;
        out.push(`the plan ${e.steps.join(", ")} has ${e.steps.length} step(s); a ${map.tier}-risk change needs ${why}`);
    }
    if (p.requiresRehearsalAndTests) {
        out.push(...e.evidenceMissing);
    }
    return out;
}

/** Pure: the map as text; `short` is the few lines `up` and `cutover` print first. */
export function formatImpact(map: ImpactMap, o: { short?: boolean } = {}): string {
    const classes = map.classes.length ? map.classes.map((c) => CLASS_LABELS[c]).join("; ") : "no change";
    const lines = [`impact of ${map.stack}: ${map.tier.toUpperCase()} risk (${classes})`];
    const path = map.releasePath;
    const pathText = path.allAtOnce ? "may go all at once" : `at least ${path.minSteps} steps${path.requiresRehearsalAndTests ? ", a passing rehearsal and test run of this version" : ""}`;
    if (o.short) {
        lines.push(...map.reasons.slice(0, 5).map((r) => `  - ${r}`));
        if (map.reasons.length > 5) lines.push(`  - … and ${map.reasons.length - 5} more (switchyard impact ${map.stack})`);
        lines.push(`  release path: ${pathText}`);
        return lines.join("\n") + "\n";
    }
    lines.push("", "why:", ...map.reasons.map((r) => `  - ${r}`), "", "resources:");
    if (map.resources.length === 0) lines.push("  (none change)");
    for (const r of map.resources) {
        const forced = r.forcedBy.length ? ` forced by ${r.forcedBy.join(", ")}` : "";
        const mark = r.stateful && (r.action === "replace" || r.action === "delete") ? "  [HIGH: stateful]" : "";
        lines.push(`  ${r.action.padEnd(7)} ${shortType(r.type)} ${r.name} (${CLASS_LABELS[r.class]}${r.changed.length ? `: ${r.changed.join(", ")}` : ""})${forced}${mark}`);
    }
    const m = map.migrations;
    lines.push("", "migrations:");
    if (!m.known) {
        lines.push(`  not compared: ${m.note ?? "unknown"}`);
    } else {
        lines.push(`  pending: ${m.pending.length ? m.pending.join(", ") : "none"}`, `  applied: ${m.applied.length ? m.applied.join(", ") : "none"}`);
        if (m.source) lines.push(`  candidate's migrations from ${m.source}`);
    }
    lines.push("", `release path: ${pathText}`);
    return lines.join("\n") + "\n";
}
