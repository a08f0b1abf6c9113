/**
 * Reading the `switchyard:*` stack configuration both platforms share: role, name, colors, database
 * mode and the sandbox's candidate. Platform programs read only their own keys on top.
 */
import * as path from "path";
import * as pulumi from "@pulumi/pulumi";
import { DeclaredRollout, declaredRollout } from "../cutover/watch";
import { checkDatabaseMode, checkTraffic, Color, COLORS, CONFIG_KEYS, CONFIG_NAMESPACE, configName, DatabaseMode, Platform, Role, ROLES, TrafficWeights } from "./types";

/**
 * Where a project's local stacks keep their data (and, by default, their state): SWITCHYARD_HOME,
 * else `.switchyard` in the project's folder.
 */
export function switchyardHome(projectRoot: string = process.cwd()): string {
    return process.env.SWITCHYARD_HOME ?? path.join(projectRoot, ".switchyard");
}

/** The data folder of a local stack: `<switchyard home>/data/<stack>`. A program runs in its project's folder. */
export function localStackDataDir(stack: string = pulumi.getStack(), projectRoot: string = process.cwd()): string {
    return path.join(switchyardHome(projectRoot), "data", stack);
}

/** The stack configuration key a pair's weights come from when none are given: `switchyard:traffic`. */
export const TRAFFIC_CONFIG_KEY = CONFIG_KEYS.traffic;

/** The weights in the stack's configuration (`switchyard:traffic`), or undefined when it is not set. */
export function trafficFromConfig(): TrafficWeights | undefined {
    return new pulumi.Config(CONFIG_NAMESPACE).getObject<TrafficWeights>(configName(TRAFFIC_CONFIG_KEY));
}

/**
 * The rollout settings the stack's configuration declares (`switchyard:cutover.window`, `.watch`,
 * `.keepWarm`) as written, unchecked, for a pair to record in its state: the policy pack checks them
 * there (`rollout-settings-valid`; a stack policy is shown resources, not the stack's configuration).
 * Undefined when none is set, or when `switchyard:cutover` is not JSON (the cutover names that itself).
 */
export function rolloutFromConfig(): DeclaredRollout | undefined {
    try {
        return declaredRollout(new pulumi.Config(CONFIG_NAMESPACE).getObject<unknown>(configName(CONFIG_KEYS.cutover)));
    } catch {
        return undefined;
    }
}

/** `switchyard:sandbox` */
export interface SandboxConfig {
    /** The production stack, e.g. `organization/switchyard/prod`. */
    productionStack: string;
    /** Hours until the sandbox expires. */
    ttlHours?: number;
    /** The color whose version the sandbox runs. @default "green" */
    color?: Color;
}

export interface StackBasics<C> {
    readonly role: Role;
    /** Logical name prefix of every resource (never change it once released). */
    readonly name: string;
    readonly colors: Partial<Record<Color, C>>;
    readonly mode: DatabaseMode;
}

/** The weights given, else those of the stack's configuration; with the problem, if any. */
export function resolveTraffic(given: TrafficWeights | undefined): { traffic?: TrafficWeights; key?: string; problem?: string } {
    if (given !== undefined) {
        return { traffic: given, problem: checkTraffic(given) };
    }
    let configured: TrafficWeights | undefined;
    try {
        configured = trafficFromConfig();
    } catch (e) {
        return { problem: `${TRAFFIC_CONFIG_KEY} is not a JSON object of weights: ${(e as Error).message}` };
    }
    if (configured === undefined) {
        return { problem: `traffic weights are missing: pass traffic: { blue, green }, or set the stack's configuration ${TRAFFIC_CONFIG_KEY} (e.g. {"blue":100,"green":0})` };
    }
    const problem = checkTraffic(configured);
    return { traffic: configured, key: TRAFFIC_CONFIG_KEY, problem: problem && `${TRAFFIC_CONFIG_KEY}: ${problem}` };
}

/** Role, name, colors and the database mode, validated against the platform. */
export function readStackBasics<C>(cfg: pulumi.Config, platform: Platform, defaultMode?: (role: Role) => DatabaseMode): StackBasics<C> {
    const role = cfg.require("role") as Role;
    if (!(ROLES as readonly string[]).includes(role)) {
        throw new Error(`switchyard:role is ${JSON.stringify(role)}: use one of ${ROLES.join(", ")}`);
    }
    const db = cfg.getObject<{ mode?: DatabaseMode }>("database") ?? {};
    const mode = db.mode ?? (defaultMode ? defaultMode(role) : (undefined as unknown as DatabaseMode));
    const problem = checkDatabaseMode(mode, role, platform);
    if (problem) {
        throw new Error(`switchyard:database.mode: ${problem}`);
    }
    return { role, name: cfg.get("name") ?? "app", colors: cfg.getObject<Partial<Record<Color, C>>>("colors") ?? {}, mode };
}

/** The sandbox's settings and the candidate it runs: the version of `switchyard:sandbox.color`. */
export function readSandboxCandidate<C extends { version?: unknown }>(
    cfg: pulumi.Config,
    colors: Partial<Record<Color, C>>,
): { sandbox: SandboxConfig; color: Color; candidate: C } {
    const sandbox = cfg.requireObject<SandboxConfig>("sandbox");
    const color = sandbox.color ?? "green";
    if (!(COLORS as readonly string[]).includes(color)) {
        throw new Error(`switchyard:sandbox.color is ${JSON.stringify(color)}: use "blue" or "green"`);
    }
    const candidate = colors[color];
    if (candidate?.version === undefined) {
        throw new Error(`switchyard:colors.${color}.version is missing: the sandbox runs that color's version`);
    }
    return { sandbox, color, candidate };
}
