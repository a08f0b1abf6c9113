import * as fs from "fs";
import * as path from "path";
import * as pulumi from "@pulumi/pulumi";
import { applyTransform, checkPort, checkTtlHours, ColorArgs, expiryFrom, resolveHealthCheck, ROLE_TAGS, throwIfInvalid, Transform, TYPE_TOKENS } from "../types";
import { definedOnly, localDatabaseUrl, LocalAppArgs } from "./blueGreen";
import { localStackDataDir } from "../config";
import { AppProcess, DataDirectory, PostgresServer } from "./resources";

export interface LocalSandboxArgs {
    /** The app, as the production stack runs it. */
    readonly app: LocalAppArgs;
    /**
     * The candidate release the sandbox runs.
     * @example { version: "1.1.0" }
     */
    readonly candidate: ColorArgs;
    /**
     * Folder of the production stack's snapshots (its `snapshotRoot` output, read through a StackReference).
     */
    readonly snapshotRoot: pulumi.Input<string | undefined>;
    /**
     * Which snapshot to restore: a snapshot name, or `latest`.
     * @default "latest"
     */
    readonly snapshot?: string;
    /** The color the candidate runs as (its `COLOR`). @default "green" */
    readonly color?: "blue" | "green";
    /** Database name in DATABASE_URL. @default "app" */
    readonly databaseName?: string;
    /**
     * Hours until the sandbox expires. Required.
     * @example 24
     */
    readonly ttlHours?: number;
    /** Ports on 127.0.0.1. @default { app: 18101, database: 15433 } */
    readonly ports?: { readonly app?: number; readonly database?: number };
    /**
     * Folder for the restored data directory and logs.
     * @default `<project>/.switchyard/data/<stack>/<name>` (SWITCHYARD_HOME replaces `<project>/.switchyard`)
     */
    readonly dataDir?: string;
    /** The instant creation is counted from (for tests). @default now */
    readonly now?: Date;
    /** Adjust a child's args before it is created. */
    readonly transform?: { readonly database?: Transform<pulumi.Inputs>; readonly app?: Transform<pulumi.Inputs> };
}

/** Snapshot folder names under a snapshot root, newest last (names sort by creation: see meta.json). */
function resolveSnapshot(root: string | undefined, wanted: string): { dir?: string; error?: string } {
    if (!root) {
        return { error: "the production stack has no snapshotRoot output: is it a local blue-green stack, and is it up?" };
    }
    if (!fs.existsSync(root)) {
        return { error: `the production stack has no snapshot folder ${root}: take one first with \`switchyard snapshot <stack>\`` };
    }
    const metas = fs
        .readdirSync(root)
        .map((n) => path.join(root, n, "meta.json"))
        .filter((f) => fs.existsSync(f))
        .map((f) => ({ dir: path.dirname(f), meta: JSON.parse(fs.readFileSync(f, "utf8")) as { name: string; createdAt: string } }))
        .sort((a, b) => a.meta.createdAt.localeCompare(b.meta.createdAt));
    if (wanted === "latest") {
        return metas.length
            ? { dir: metas[metas.length - 1].dir }
            : { error: `the production stack has no snapshot yet in ${root}: take one first with \`switchyard snapshot <stack>\`` };
    }
    const hit = metas.find((m) => m.meta.name === wanted);
    return hit
        ? { dir: hit.dir }
        : { error: `snapshot "${wanted}" does not exist in ${root}; snapshots there: ${metas.map((m) => m.meta.name).join(", ") || "none"}` };
}

/**
 * A sandbox cloned from production: a PostgreSQL server restored from a snapshot of the production
 * database (a thin clone where the filesystem allows), and the candidate app on its own port.
 */
/** Ports a sandbox takes when none are given. */
export const DEFAULT_SANDBOX_PORTS = { app: 18101, database: 15433 } as const;

export class LocalSandbox extends pulumi.ComponentResource {
    public readonly url: pulumi.Output<string>;
    public readonly databaseUrl: pulumi.Output<string>;
    public readonly sourceSnapshot: pulumi.Output<string>;
    public readonly expiresAt: string;
    public readonly database: PostgresServer;
    public readonly app: AppProcess;

    constructor(name: string, args: LocalSandboxArgs, opts?: pulumi.ComponentResourceOptions) {
        super(TYPE_TOKENS.localSandbox, name, {}, opts);
        const ports = { ...DEFAULT_SANDBOX_PORTS, ...definedOnly(args.ports ?? {}) };
        throwIfInvalid(
            this,
            checkTtlHours(args.ttlHours),
            checkPort("ports.app", ports.app),
            checkPort("ports.database", ports.database),
            ports.app === ports.database ? "ports.app and ports.database must differ" : undefined,
            !args.app?.command?.trim() ? "app.command is missing: give the shell command that starts the app" : undefined,
            args.candidate?.version ? undefined : "candidate.version is missing",
        );
        const health = resolveHealthCheck(args.app.healthCheck as never, { path: "/healthz", intervalSeconds: 1, healthyThreshold: 2, unhealthyThreshold: 3 });
        this.expiresAt = expiryFrom(args.now ?? new Date(), args.ttlHours as number);
        const wanted = args.snapshot ?? "latest";
        const snapshotDir = pulumi.output(args.snapshotRoot).apply((root) => {
            const r = resolveSnapshot(root, wanted);
            if (r.error) {
                throw new pulumi.ResourceError(r.error, this);
            }
            return r.dir as string;
        });
        this.sourceSnapshot = snapshotDir.apply((d) => path.basename(d));
        const dbName = args.databaseName ?? "app";
        const dataDir = args.dataDir ?? path.join(localStackDataDir(), name);
        const home = new DataDirectory(`${name}-data`, { path: dataDir }, { parent: this });

        this.database = new PostgresServer(
            `${name}-db`,
            applyTransform<pulumi.Inputs>(
                {
                    dataDir: path.join(dataDir, "pg"),
                    port: ports.database,
                    databases: [],
                    role: ROLE_TAGS.sandbox,
                    listenAddress: "127.0.0.1",
                    fromSnapshot: snapshotDir,
                    sourceSnapshot: this.sourceSnapshot,
                    expiresAt: this.expiresAt,
                },
                args.transform?.database,
            ),
            { parent: this, dependsOn: [home] },
        );
        this.databaseUrl = localDatabaseUrl(this.database.port, dbName);
        this.app = new AppProcess(
            `${name}-app`,
            applyTransform<pulumi.Inputs>(
                {
                    color: args.color ?? "green",
                    version: args.candidate.version,
                    role: ROLE_TAGS.sandbox,
                    command: args.app.command,
                    cwd: args.app.cwd ?? process.cwd(),
                    port: ports.app,
                    environment: pulumi
                        .all([args.app.environment ?? {}, args.candidate.environment ?? {}, this.databaseUrl])
                        .apply(([a, b, url]) => ({ ...a, ...b, DATABASE_URL: url })),
                    healthCheckPath: health.path,
                    logDir: path.join(dataDir, "logs"),
                    startTimeoutMs: args.app.startTimeoutMs ?? 30_000,
                },
                args.transform?.app,
            ),
            { parent: this, dependsOn: [home, this.database] },
        );
        this.url = pulumi.interpolate`http://127.0.0.1:${this.app.port}`;
        this.registerOutputs({
            platform: "local",
            url: this.url,
            databaseUrl: this.databaseUrl,
            databasePort: this.database.port,
            dataDir: this.database.dataDir,
            sourceSnapshot: this.sourceSnapshot,
            restoreMethod: this.database.method,
            restoreMs: this.database.restoreMs,
            expiresAt: this.expiresAt,
            appPid: this.app.pid,
        });
    }
}
