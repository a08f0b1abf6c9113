import * as path from "path";
import * as pulumi from "@pulumi/pulumi";
import {
    applyTransform,
    checkDatabaseMode,
    checkPort,
    checkStepPlan,
    checkTraffic,
    COLORS,
    Color,
    ColorArgs,
    CutoverPlanArgs,
    DatabaseMode,
    HealthCheckArgs,
    idleColor,
    resolveHealthCheck,
    throwIfInvalid,
    TrafficWeights,
    Transform,
    TYPE_TOKENS,
    ROLE_TAGS,
} from "../types";
import { localStackDataDir, resolveTraffic, rolloutFromConfig } from "../config";
import { DeclaredRollout } from "../../cutover/watch";
import { AppProcess, DataDirectory, PostgresServer, ReplicaServer, Router } from "./resources";
import { checkReplicatedSteps } from "./ops/replicationPlan";
import { FLAGS_FILE_ENV, FlagsConfig } from "../flags";
import { resolveFlags } from "../flagsConfig";
import { FlagsFile, LOCAL_FLAGS_FILE } from "./flags";

/** The app as the local platform runs it. */
export interface LocalAppArgs {
    /**
     * Shell command that starts the app. It gets `PORT`, `DATABASE_URL`, `COLOR` and `VERSION` in its
     * environment and must answer the health check on `PORT`.
     * @example "node examples/app/server.js"
     */
    readonly command: string;
    /**
     * Working directory of the command.
     * @default the project folder
     */
    readonly cwd?: string;
    /**
     * Environment shared by both colors.
     * @default {}
     */
    readonly environment?: Record<string, string>;
    /**
     * HTTP health check, used by `up` before it returns and by HAProxy for every server.
     * @default { path: "/healthz", intervalSeconds: 1 }
     */
    readonly healthCheck?: HealthCheckArgs & { path?: string; intervalSeconds?: number };
    /**
     * Milliseconds a new app process has to pass its health check.
     * @default 30000
     */
    readonly startTimeoutMs?: number;
}

/** Ports on 127.0.0.1. */
export interface LocalPortsArgs {
    /** The weighted frontend. @default 18080 */
    readonly router?: number;
    /** The test frontend, always on the idle color. @default 18081 */
    readonly test?: number;
    /** Blue's app. @default 18001 */
    readonly blue?: number;
    /** Green's app. @default 18002 */
    readonly green?: number;
    /** PostgreSQL. @default 15432 */
    readonly database?: number;
    /** Green's own PostgreSQL, in database mode `replicated`. @default the database port + 1 */
    readonly greenDatabase?: number;
}

export interface LocalBlueGreenArgs {
    /** The app both colors run. */
    readonly app: LocalAppArgs;
    /**
     * Each color's release.
     * @example { blue: { version: "1.0.0" }, green: { version: "1.1.0" } }
     */
    readonly colors: Record<Color, ColorArgs>;
    /**
     * Traffic weights; changed through HAProxy's runtime API on `up`, without a reload. Leave it out
     * to take them from the stack's configuration (`switchyard:traffic`), which is the key
     * `switchyard cutover` changes step by step.
     * @default the stack's configuration `switchyard:traffic`
     * @example { blue: 90, green: 10 }
     */
    readonly traffic?: TrafficWeights;
    /**
     * Database mode and name: `shared` (one server for both colors, expand/contract migrations) or
     * `replicated` (green gets its own server, restored from blue's snapshot and kept in sync by
     * logical replication; the switchover moves the writes in one step and reverses replication).
     * @default { mode: "shared", name: "app" }
     * @example { mode: "replicated" }
     */
    readonly database?: { readonly mode?: DatabaseMode; readonly name?: string };
    /** The cutover plan this stack declares, checked here and by the policy pack. */
    readonly cutover?: CutoverPlanArgs;
    /**
     * Feature flags, served to both colors as a flagd file (its path in the apps' environment as
     * `FLAGD_OFFLINE_FLAG_SOURCE_PATH`). Leave it out to take them from the stack's configuration
     * (`switchyard:flags`), the key a cutover's flag steps change.
     * @default the stack's configuration `switchyard:flags`; none there, no flags file
     * @example { "new-checkout": { rollout: "internal" } }
     */
    readonly flags?: FlagsConfig;
    /** Ports on 127.0.0.1. */
    readonly ports?: LocalPortsArgs;
    /**
     * Folder for the data directory, snapshots, router files and logs.
     * @default `<project>/.switchyard/data/<stack>/<name>` (SWITCHYARD_HOME replaces `<project>/.switchyard`)
     */
    readonly dataDir?: string;
    /** Adjust a child's args before it is created. */
    readonly transform?: {
        readonly database?: Transform<pulumi.Inputs>;
        readonly app?: Transform<pulumi.Inputs>;
        readonly router?: Transform<pulumi.Inputs>;
    };
}

export const DEFAULT_LOCAL_PORTS = { router: 18080, test: 18081, blue: 18001, green: 18002, database: 15432 } as const;

/** `postgres://postgres@127.0.0.1:PORT/DB`: local servers trust loopback connections. */
export function localDatabaseUrl(port: pulumi.Input<number>, db: string): pulumi.Output<string> {
    return pulumi.interpolate`postgres://postgres@127.0.0.1:${port}/${db}`;
}

/**
 * A blue-green pair on one machine: a PostgreSQL server shared by both colors, an app process per
 * color, and HAProxy spreading traffic by weight, with a test frontend on the idle color.
 *
 * @example
 * new LocalBlueGreen("shop", {
 *     app: { command: "node examples/app/server.js" },
 *     colors: { blue: { version: "1.0.0" }, green: { version: "1.1.0" } },
 *     traffic: { blue: 90, green: 10 },
 *     dataDir: "/var/lib/switchyard/shop",
 * });
 */
export class LocalBlueGreen extends pulumi.ComponentResource {
    public readonly url: pulumi.Output<string>;
    public readonly testUrl: pulumi.Output<string>;
    public readonly databaseUrl: pulumi.Output<string>;
    public readonly database: PostgresServer;
    /** Green's own server, in database mode `replicated`. */
    public readonly greenDatabase?: ReplicaServer;
    public readonly greenDatabaseUrl?: pulumi.Output<string>;
    public readonly apps: Record<Color, AppProcess>;
    public readonly router: Router;
    public readonly snapshotRoot: string;
    /** The weights in effect: the arguments', else the stack configuration's. */
    public readonly traffic: TrafficWeights;
    /** The configuration key the weights came from, when they were not given as arguments. */
    public readonly trafficConfigKey?: string;
    /** The served flagd file, when the pair has flags. */
    public readonly flagsFile?: FlagsFile;
    /** The configuration key the flags came from, when they were not given as arguments. */
    public readonly flagsConfigKey?: string;

    constructor(name: string, args: LocalBlueGreenArgs, opts?: pulumi.ComponentResourceOptions) {
        super(TYPE_TOKENS.localBlueGreen, name, {}, opts);
        const mode = args.database?.mode ?? "shared";
        const replicated = mode === "replicated";
        const { greenDatabase: greenDbPortArg, ...portArgs } = args.ports ?? {};
        const ports: Record<keyof typeof DEFAULT_LOCAL_PORTS, number> & { greenDatabase?: number } = { ...DEFAULT_LOCAL_PORTS, ...definedOnly(portArgs) };
        if (replicated) ports.greenDatabase = greenDbPortArg ?? ports.database + 1;
        const { traffic, key: trafficKey, problem: trafficProblem } = resolveTraffic(args.traffic);
        throwIfInvalid(this, trafficProblem);
        this.traffic = traffic as TrafficWeights;
        this.trafficConfigKey = trafficKey;
        args = { ...args, traffic: this.traffic };
        throwIfInvalid(
            this,
            checkDatabaseMode(mode, "blue-green", "local"),
            args.cutover ? checkStepPlan(args.cutover.steps) : undefined,
            replicated ? checkReplicatedSteps(args.cutover?.steps) : undefined,
            !args.app?.command?.trim() ? "app.command is missing: give the shell command that starts the app" : undefined,
            ...Object.entries(ports).map(([k, v]) => checkPort(`ports.${k}`, v)),
            new Set(Object.values(ports)).size !== Object.values(ports).length
                ? `ports must all differ, but got ${JSON.stringify(ports)}`
                : undefined,
            ...COLORS.map((c) => (args.colors?.[c]?.version ? undefined : `colors.${c}.version is missing`)),
        );
        const health = resolveHealthCheck(args.app.healthCheck as never, { path: "/healthz", intervalSeconds: 1, healthyThreshold: 2, unhealthyThreshold: 3 });
        const dbName = args.database?.name ?? "app";
        const dir = args.dataDir ?? path.join(localStackDataDir(), name);
        this.snapshotRoot = path.join(dir, "snapshots");
        const home = new DataDirectory(`${name}-data`, { path: dir }, { parent: this });
        const { flags, key: flagsKey, problems: flagProblems } = resolveFlags(args.flags);
        throwIfInvalid(this, flagProblems.length > 0 ? flagProblems.join("\n") : undefined);
        this.flagsConfigKey = flagsKey;
        if (flags !== undefined) {
            this.flagsFile = new FlagsFile(`${name}-flags`, { path: path.join(dir, ...LOCAL_FLAGS_FILE), flags }, { parent: this, dependsOn: [home] });
        }
        const flagsEnv: Record<string, string> = this.flagsFile ? { [FLAGS_FILE_ENV]: path.join(dir, ...LOCAL_FLAGS_FILE) } : {};

        this.database = new PostgresServer(
            `${name}-db`,
            applyTransform<pulumi.Inputs>(
                { dataDir: path.join(dir, "pg"), port: ports.database, databases: [dbName], role: ROLE_TAGS["blue-green"], listenAddress: "127.0.0.1" },
                args.transform?.database,
            ),
            { parent: this, protect: opts?.protect, dependsOn: [home] },
        );
        this.databaseUrl = localDatabaseUrl(this.database.port, dbName);
        const databaseUrlOf = (color: Color) => (color === "green" && replicated ? (this.greenDatabaseUrl as pulumi.Output<string>) : this.databaseUrl);

        const apps = {} as Record<Color, AppProcess>;
        for (const color of COLORS) {
            const c = args.colors[color];
            // Green's own server is made from blue's once blue's app has migrated it (the schema replicates with it).
            if (replicated && color === "green") {
                this.greenDatabase = new ReplicaServer(
                    `${name}-db-green`,
                    applyTransform<pulumi.Inputs>(
                        {
                            role: ROLE_TAGS["blue-green"],
                            sourceDataDir: this.database.dataDir,
                            sourcePort: this.database.port,
                            database: dbName,
                            dataDir: path.join(dir, "pg-green"),
                            port: ports.greenDatabase,
                            snapshotDir: path.join(dir, "replica-snapshots", "replica"),
                        },
                        args.transform?.database,
                    ),
                    { parent: this, protect: opts?.protect, dependsOn: [home, this.database, apps.blue] },
                );
                this.greenDatabaseUrl = localDatabaseUrl(this.greenDatabase.port, dbName);
            }
            apps[color] = new AppProcess(
                `${name}-${color}`,
                applyTransform<pulumi.Inputs>(
                    {
                        color,
                        version: c.version,
                        role: ROLE_TAGS["blue-green"],
                        command: args.app.command,
                        cwd: args.app.cwd ?? process.cwd(),
                        port: ports[color],
                        environment: pulumi
                            .all([args.app.environment ?? {}, c.environment ?? {}, databaseUrlOf(color)])
                            .apply(([a, b, url]) => ({ ...a, ...b, ...flagsEnv, DATABASE_URL: url })),
                        healthCheckPath: health.path,
                        logDir: path.join(dir, "logs"),
                        startTimeoutMs: args.app.startTimeoutMs ?? 30_000,
                        // Scaled down after a cutover's keep-warm time (config values may come as text).
                        ...(String(c.warm) === "false" ? { warm: false } : {}),
                    },
                    args.transform?.app,
                ),
                { parent: this, dependsOn: [home, this.database, ...(this.flagsFile ? [this.flagsFile] : []), ...(this.greenDatabase ? [this.greenDatabase] : [])] },
            );
        }
        this.apps = apps;

        this.router = new Router(
            `${name}-router`,
            applyTransform<pulumi.Inputs>(
                {
                    role: ROLE_TAGS["blue-green"],
                    dir: path.join(dir, "router"),
                    port: ports.router,
                    testPort: ports.test,
                    servers: COLORS.map((color) => ({ color, port: ports[color] })),
                    weights: { blue: this.traffic.blue, green: this.traffic.green },
                    idle: idleColor(this.traffic),
                    healthCheckPath: health.path,
                    checkIntervalMs: health.intervalSeconds * 1000,
                    ...(args.cutover ? { cutoverSteps: args.cutover.steps } : {}),
                },
                args.transform?.router,
            ),
            { parent: this, dependsOn: [home, ...COLORS.map((c) => apps[c])] },
        );
        this.url = pulumi.interpolate`http://127.0.0.1:${this.router.port}`;
        this.testUrl = pulumi.interpolate`http://127.0.0.1:${this.router.testPort}`;
        // What the CLI reads from the state to cut this pair over, take its snapshots, and show it.
        const rollout = rolloutFromConfig(); // checked by the policy pack (rollout-settings-valid)
        const outputs: LocalPairOutputs = {
            platform: "local",
            url: this.url,
            testUrl: this.testUrl,
            databaseUrl: this.databaseUrl,
            databasePort: this.database.port,
            dataDir: this.database.dataDir,
            snapshotRoot: this.snapshotRoot,
            adminSocket: this.router.adminSocket,
            weights: this.router.appliedWeights,
            trafficConfigKey: this.trafficConfigKey,
            appPorts: pulumi.all({ blue: this.apps.blue.port, green: this.apps.green.port }),
            appPids: pulumi.all({ blue: this.apps.blue.pid, green: this.apps.green.pid }),
            routerPid: this.router.pid,
            versions: { blue: args.colors.blue.version, green: args.colors.green.version },
            ...(args.cutover ? { cutoverSteps: args.cutover.steps } : {}),
            ...(rollout ? { rollout } : {}),
            ...(this.flagsFile ? { flagsFile: this.flagsFile.path, flagsConfigKey: this.flagsConfigKey } : {}),
            databaseMode: mode,
            ...(this.greenDatabase && this.greenDatabaseUrl
                ? {
                      greenDatabaseUrl: this.greenDatabaseUrl,
                      greenDatabasePort: this.greenDatabase.port,
                      greenDataDir: this.greenDatabase.dataDir,
                      replicationLagBytes: this.greenDatabase.lagBytes,
                      replicationStreams: this.greenDatabase.streams,
                  }
                : {}),
        };
        this.registerOutputs(outputs);
    }
}

/** The outputs a LocalBlueGreen registers in the stack's state. */
export interface LocalPairOutputs {
    readonly platform: "local";
    readonly url: pulumi.Input<string>;
    readonly testUrl: pulumi.Input<string>;
    readonly databaseUrl: pulumi.Input<string>;
    readonly databasePort: pulumi.Input<number>;
    readonly dataDir: pulumi.Input<string>;
    readonly snapshotRoot: string;
    readonly adminSocket: pulumi.Input<string>;
    readonly weights: pulumi.Input<TrafficWeights>;
    /** Where `switchyard cutover` writes the weights; absent when they are given in the program. */
    readonly trafficConfigKey?: string;
    readonly appPorts: pulumi.Input<Record<Color, number>>;
    readonly appPids: pulumi.Input<Record<Color, number>>;
    readonly routerPid: pulumi.Input<number>;
    readonly versions: Record<Color, pulumi.Input<string>>;
    /** The step plan the pair declares (`cutover.steps`), the cutover's default. */
    readonly cutoverSteps?: number[];
    /** The stack's rollout settings (`switchyard:cutover.window`, `.watch`, `.keepWarm`) as written, unchecked. */
    readonly rollout?: DeclaredRollout;
    /** `shared` or `replicated`. */
    readonly databaseMode?: DatabaseMode;
    /** Mode `replicated`: green's own database. */
    readonly greenDatabaseUrl?: pulumi.Input<string>;
    readonly greenDatabasePort?: pulumi.Input<number>;
    readonly greenDataDir?: pulumi.Input<string>;
    /** Mode `replicated`: bytes of WAL the replica had not applied when last read (`up`, `refresh`). */
    readonly replicationLagBytes?: pulumi.Input<number>;
    /** Mode `replicated`: which way data flows, e.g. ["blue→green"], when last read. */
    readonly replicationStreams?: pulumi.Input<string[]>;
    /** The served flagd file's path, when the pair has flags. */
    readonly flagsFile?: pulumi.Input<string>;
    /** Where flag steps write the flags (`switchyard:flags`); absent when they are given in the program. */
    readonly flagsConfigKey?: string;
}

/** Drops keys whose value is undefined, so they do not spread over defaults. */
export function definedOnly<T extends object>(o: T): Partial<T> {
    return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}
