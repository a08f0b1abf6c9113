/**
 * Argument types, defaults and validation shared by both platforms.
 *
 * Nothing here knows a platform: `components/local` and `components/aws` build on these types and
 * differ only in their adapters. Every function in this file is pure.
 */
import * as pulumi from "@pulumi/pulumi";

/** The two colors of a blue-green pair. */
export type Color = "blue" | "green";
export const COLORS: readonly Color[] = ["blue", "green"];

/** What a stack is: a live blue-green pair, or a sandbox cloned from one. */
export type Role = "blue-green" | "sandbox";
export const ROLES: readonly Role[] = ["blue-green", "sandbox"];

/** Where a stack runs: AWS, or one machine with PostgreSQL, app processes and HAProxy. */
export type Platform = "local" | "aws";
export const PLATFORMS: readonly Platform[] = ["local", "aws"];

/**
 * How the colors get their database.
 * - `shared`: both colors use one database (expand/contract migrations).
 * - `snapshot`: the stack gets its own database restored from a snapshot (sandboxes only: a live
 *   color restored from a snapshot would lose the writes made to the other color after it).
 * - `rds-blue-green`: Amazon RDS's native blue/green deployment (AWS only), created in one update and
 *   switched over later as a separate, explicit step.
 * - `replicated`: each color has its own database server (local only): green's is restored from
 *   blue's snapshot and kept in sync by logical replication; the switchover reverses it.
 */
export type DatabaseMode = "shared" | "snapshot" | "rds-blue-green" | "replicated";
export const DATABASE_MODES: readonly DatabaseMode[] = ["shared", "snapshot", "rds-blue-green", "replicated"];

/**
 * Traffic weights per color, as integers from 0 to 100. The share a color receives is its weight
 * divided by the sum. At least one weight must be positive.
 *
 * @example { blue: 90, green: 10 }
 */
export interface TrafficWeights {
    readonly blue: number;
    readonly green: number;
}

/** The largest weight a color may carry. */
export const MAX_WEIGHT = 100;

/** HTTP health check of a color's app. */
export interface HealthCheckArgs {
    /**
     * Path that answers 2xx when the app is healthy.
     * @default "/healthz"
     */
    readonly path?: pulumi.Input<string>;
    /**
     * Seconds between checks.
     * @default 5 (local: 1)
     */
    readonly intervalSeconds?: pulumi.Input<number>;
    /**
     * Consecutive successes before a target counts as healthy.
     * @default 2
     */
    readonly healthyThreshold?: pulumi.Input<number>;
    /**
     * Consecutive failures before a target counts as unhealthy.
     * @default 3
     */
    readonly unhealthyThreshold?: pulumi.Input<number>;
}

/** Resolved health check, every field filled. */
export interface HealthCheck {
    readonly path: string;
    readonly intervalSeconds: number;
    readonly healthyThreshold: number;
    readonly unhealthyThreshold: number;
}

export const DEFAULT_HEALTH_CHECK: HealthCheck = {
    path: "/healthz",
    intervalSeconds: 5,
    healthyThreshold: 2,
    unhealthyThreshold: 3,
};

/** One color's release. */
export interface ColorArgs {
    /**
     * Version label of the release this color runs; given to the app as `VERSION`. Required: no default.
     * @example "1.4.2"
     */
    readonly version: pulumi.Input<string>;
    /**
     * Extra environment for this color's app.
     * @default {}
     */
    readonly environment?: pulumi.Input<Record<string, pulumi.Input<string>>>;
    /**
     * False scales the color down: locally its app process is stopped, on AWS its ECS service's
     * desired count is 0. `switchyard scale-down` sets it once a cutover's keep-warm time is over;
     * `switchyard revert` sets it back before moving traffic.
     * @default true
     */
    readonly warm?: boolean;
}

/** A cutover plan as a stack may declare it (`switchyard:cutover`). */
export interface CutoverPlanArgs {
    /**
     * Weights of the new color, step by step. Rises strictly and ends at 100. Required: no default
     * (the cutover command uses "linear-25", [25, 50, 75, 100], when a stack declares no plan).
     * @example [10, 25, 50, 100]
     */
    readonly steps: number[];
}

/** Sandbox lifetime and provenance. */
export interface SandboxLifetimeArgs {
    /**
     * Hours until the sandbox expires; recorded as an `switchyard:expires-at` tag (AWS) or output
     * (local). Required: a sandbox without an expiry is refused.
     * @default none: it must be given
     * @example 24
     */
    readonly ttlHours?: pulumi.Input<number>;
}

/**
 * The stack configuration keys Switchyard reads and writes, each defined once. Components read
 * `traffic` when their weights are not given; the cutover writes only that key.
 */
export const CONFIG_KEYS = {
    platform: "switchyard:platform",
    role: "switchyard:role",
    name: "switchyard:name",
    traffic: "switchyard:traffic",
    colors: "switchyard:colors",
    app: "switchyard:app",
    database: "switchyard:database",
    cutover: "switchyard:cutover",
    sandbox: "switchyard:sandbox",
    migrations: "switchyard:migrations",
    local: "switchyard:local",
    /** A sandbox's masking rules (see components/masking.ts). */
    masking: "switchyard:masking",
    /** Privacy by default: a personal-looking column with no masking rule fails the preview. */
    maskingStrict: "switchyard:maskingStrict",
    /** A sandbox's recorded test runs (`switchyard test` writes it; see components/testRuns.ts). */
    testRuns: "switchyard:testRuns",
} as const;

/** The namespace of every key in {@link CONFIG_KEYS} (`new pulumi.Config(CONFIG_NAMESPACE)`). */
export const CONFIG_NAMESPACE = "switchyard";

/** The part of a key after its namespace: `switchyard:traffic` gives `traffic`. */
export function configName(key: string): string {
    return key.slice(key.indexOf(":") + 1);
}

/**
 * Type tokens of the components the CLI looks for in a stack's state: a blue-green pair to cut over,
 * a sandbox to rehearse on or to expire.
 */
export const TYPE_TOKENS = {
    localBlueGreen: "switchyard:local:BlueGreen",
    localSandbox: "switchyard:local:Sandbox",
    awsBlueGreen: "switchyard:aws:BlueGreen",
    awsSandbox: "switchyard:aws:Sandbox",
} as const;

/** Blue-green pair components, by platform. */
export const PAIR_TOKENS: Readonly<Record<Platform, string>> = { local: TYPE_TOKENS.localBlueGreen, aws: TYPE_TOKENS.awsBlueGreen };
/** Sandbox components, by platform. */
export const SANDBOX_TOKENS: Readonly<Record<Platform, string>> = { local: TYPE_TOKENS.localSandbox, aws: TYPE_TOKENS.awsSandbox };

/**
 * The value of the `switchyard:role` tag (and of local resources' role) for a stack role: a pair is
 * production, a sandbox is a sandbox.
 */
export type RoleTag = "production" | "sandbox";
export const ROLE_TAGS: Readonly<Record<Role, RoleTag>> = { "blue-green": "production", sandbox: "sandbox" };

/** Tag keys both platforms use. */
export const TAGS = {
    role: "switchyard:role",
    color: "switchyard:color",
    expiresAt: "switchyard:expires-at",
    sourceSnapshot: "switchyard:source-snapshot",
    stack: "switchyard:stack",
    cutoverSteps: "switchyard:cutover-steps",
} as const;

// ---------------------------------------------------------------------------------------------
// Validation. Each returns a message (string) naming what is wrong and how to fix it, or undefined.
// Components turn a message into `pulumi.ResourceError(message, this)` before creating any child.
// ---------------------------------------------------------------------------------------------

/** Checks a pair of weights: integers from 0 to MAX_WEIGHT, at least one positive. */
export function checkTraffic(w: Partial<TrafficWeights> | undefined): string | undefined {
    if (w === undefined || w === null || typeof w !== "object") {
        return `traffic weights are missing: give { blue, green } as integers from 0 to ${MAX_WEIGHT}`;
    }
    for (const c of COLORS) {
        const v = (w as Record<string, unknown>)[c];
        if (typeof v !== "number" || !Number.isInteger(v) || v < 0 || v > MAX_WEIGHT) {
            return `traffic weight for ${c} is ${JSON.stringify(v)}: it must be an integer from 0 to ${MAX_WEIGHT}`;
        }
    }
    const extra = Object.keys(w).filter((k) => !(COLORS as readonly string[]).includes(k));
    if (extra.length > 0) {
        return `traffic names unknown color(s) ${extra.join(", ")}: only "blue" and "green" are allowed`;
    }
    if (w.blue === 0 && w.green === 0) {
        return "traffic weights are both 0: at least one color must receive traffic";
    }
    return undefined;
}

/**
 * Checks a step plan: integers, strictly rising, within (0, 100], ending at 100, no jump over maxStep.
 * Flag steps among them (`"flag:<name>=<stage>"` or `{ flag, stage }`) are the cutover's to check
 * (`cutover/flags.ts`) and are passed over here.
 */
export function checkStepPlan(steps: unknown, maxStep = 100): string | undefined {
    if (!Array.isArray(steps) || steps.length === 0) {
        return "cutover steps are missing: give a rising list of weights ending at 100, e.g. [10, 25, 50, 100]";
    }
    let prev = 0;
    for (const [i, s] of steps.entries()) {
        if ((typeof s === "string" && s.startsWith("flag:")) || (typeof s === "object" && s !== null && "flag" in s)) {
            continue;
        }
        if (typeof s !== "number" || !Number.isInteger(s) || s < 1 || s > 100) {
            return `cutover step ${i + 1} is ${JSON.stringify(s)}: each step must be an integer from 1 to 100`;
        }
        if (s <= prev) {
            return `cutover step ${i + 1} (${s}) does not rise above the step before it (${prev}): steps must rise strictly`;
        }
        if (s - prev > maxStep) {
            return `cutover step ${i + 1} jumps from ${prev} to ${s} (${s - prev} points), more than the maximum of ${maxStep}: add intermediate steps`;
        }
        prev = s;
    }
    if (prev !== 100) {
        return `cutover steps end at ${prev}: the last step must be 100`;
    }
    return undefined;
}

/** Checks a database mode against the stack role and platform. */
export function checkDatabaseMode(mode: unknown, role: Role, platform: Platform): string | undefined {
    if (!(DATABASE_MODES as readonly unknown[]).includes(mode)) {
        return `database mode ${JSON.stringify(mode)} is unknown: use one of ${DATABASE_MODES.join(", ")}`;
    }
    if (mode === "snapshot" && role === "blue-green") {
        return (
            'database mode "snapshot" is refused for live colors: writes made to one color after the snapshot ' +
            'would be lost to the other. Use "shared" (expand/contract migrations), or "rds-blue-green" for an engine upgrade'
        );
    }
    if (mode === "shared" && role === "sandbox") {
        return 'database mode "shared" is refused for a sandbox: a sandbox never touches production\'s database. Use "snapshot" (restored from production\'s latest snapshot)';
    }
    if (mode === "rds-blue-green" && platform !== "aws") {
        return 'database mode "rds-blue-green" exists on AWS only: use "shared" on the local platform';
    }
    if (mode === "replicated" && platform !== "local") {
        return 'database mode "replicated" exists on the local platform only: use "rds-blue-green" on AWS';
    }
    if (mode === "replicated" && role === "sandbox") {
        return 'database mode "replicated" is for a live pair: a sandbox uses "snapshot"';
    }
    if (mode === "rds-blue-green" && role === "sandbox") {
        return 'database mode "rds-blue-green" is for a live pair: a sandbox uses "snapshot"';
    }
    return undefined;
}

/** Checks a sandbox's time to live in hours. */
export function checkTtlHours(ttl: unknown, maxHours = 24 * 30): string | undefined {
    if (ttl === undefined || ttl === null) {
        return "a sandbox needs an expiry: set ttlHours (for example 24) so it is not forgotten and left running";
    }
    if (typeof ttl !== "number" || !Number.isFinite(ttl) || ttl <= 0) {
        return `ttlHours is ${JSON.stringify(ttl)}: it must be a positive number of hours`;
    }
    if (ttl > maxHours) {
        return `ttlHours is ${ttl}: the longest a sandbox may live is ${maxHours} hours`;
    }
    return undefined;
}

/** Checks a TCP port number. */
export function checkPort(what: string, port: unknown): string | undefined {
    if (typeof port !== "number" || !Number.isInteger(port) || port < 1 || port > 65535) {
        return `${what} is ${JSON.stringify(port)}: it must be an integer from 1 to 65535`;
    }
    return undefined;
}

// ---------------------------------------------------------------------------------------------
// Pure helpers.
// ---------------------------------------------------------------------------------------------

/**
 * The live color: the one with the larger weight. On a tie blue counts as live, so green is idle.
 */
export function liveColor(w: TrafficWeights): Color {
    return w.green > w.blue ? "green" : "blue";
}

/** The idle color: the one a test listener or test frontend forwards to. */
export function idleColor(w: TrafficWeights): Color {
    return liveColor(w) === "blue" ? "green" : "blue";
}

/** The other color. */
export function otherColor(c: Color): Color {
    return c === "blue" ? "green" : "blue";
}

/** Share of traffic (0..1) a color should receive under the given weights. */
export function share(w: TrafficWeights, c: Color): number {
    const total = w.blue + w.green;
    return total === 0 ? 0 : w[c] / total;
}

/** The expiry instant (ISO 8601, seconds precision) of a sandbox created at `now` with `ttlHours`. */
export function expiryFrom(now: Date, ttlHours: number): string {
    return new Date(now.getTime() + ttlHours * 3600_000).toISOString().replace(/\.\d{3}Z$/, "Z");
}

/** Fills a health check's defaults. */
export function resolveHealthCheck(h: Partial<HealthCheck> | undefined, defaults: HealthCheck = DEFAULT_HEALTH_CHECK): HealthCheck {
    return {
        path: h?.path ?? defaults.path,
        intervalSeconds: h?.intervalSeconds ?? defaults.intervalSeconds,
        healthyThreshold: h?.healthyThreshold ?? defaults.healthyThreshold,
        unhealthyThreshold: h?.unhealthyThreshold ?? defaults.unhealthyThreshold,
    };
}

/** Throws `pulumi.ResourceError` with the first message that is set, tied to the resource. */
export function throwIfInvalid(resource: pulumi.Resource, ...messages: (string | undefined)[]): void {
    const first = messages.find((m) => m !== undefined);
    if (first !== undefined) {
        throw new pulumi.ResourceError(first, resource);
    }
}

/**
 * A `transform` hook lets users adjust a child's args before it is created, without forking.
 * It receives the args the component computed and returns the args to use.
 *
 * @example transform: { listener: (args) => ({ ...args, port: 8443 }) }
 */
export type Transform<T> = (args: T) => T;

/** Applies an optional transform. */
export function applyTransform<T>(args: T, t: Transform<T> | undefined): T {
    return t ? t(args) : args;
}
