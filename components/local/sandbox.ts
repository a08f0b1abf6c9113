import * as fs from "fs";
import * as path from "path";
import * as pulumi from "@pulumi/pulumi";
import { applyTransform, checkPort, checkTtlHours, ColorArgs, expiryFrom, resolveHealthCheck, ROLE_TAGS, throwIfInvalid, Transform, TYPE_TOKENS } from "../types";
import { definedOnly, localDatabaseUrl, LocalAppArgs } from "./blueGreen";
import { localStackDataDir } from "../config";
import { AppProcess, DataDirectory, Masking, PostgresServer } from "./resources";
import { checkMasking, DatabaseSchema, MASKING_CONFIG_KEY, parseMasking } from "../masking";

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
    /**
     * Masking of the restored data before the app starts and before `databaseUrl` is known
     * (components/masking.ts): the rules, as `switchyard:masking` gives them, and privacy by default
     * (`strict`: a personal-looking column with no rule is refused). Checked at preview against the
     * schema the snapshot recorded.
     * @example { rules: [{ table: "customers", column: "email", rule: "hash" }], strict: true }
     */
    readonly masking?: { readonly rules?: unknown; readonly strict?: boolean };
    /** Adjust a child's args before it is created. */
    readonly transform?: { readonly database?: Transform<pulumi.Inputs>; readonly app?: Transform<pulumi.Inputs> };
}

/** The schema of one database that a snapshot's record holds, if it holds one. */
function snapshotSchema(snapshotDir: string, database: string): DatabaseSchema | undefined {
    const meta = JSON.parse(fs.readFileSync(path.join(snapshotDir, "meta.json"), "utf8")) as { schema?: Record<string, DatabaseSchema> };
    return meta.schema?.[database];
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
    /** The database URL: with masking, known only once the data is masked. */
    public readonly databaseUrl: pulumi.Output<string>;
    /** The database port: with masking, known only once the data is masked. */
    public readonly databasePort: pulumi.Output<number>;
    /** The masking of the restored data, when the sandbox masks. */
    public readonly masking?: Masking;
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
        const maskingOn = args.masking !== undefined && (args.masking.rules !== undefined || args.masking.strict === true);
        const rules = parseMasking(args.masking?.rules);
        throwIfInvalid(this, ...rules.problems);
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
        // The rules are checked against the schema the snapshot recorded before anything is restored:
        // the restore takes its snapshot through this check, so a wrong rule fails the preview and
        // an `up` creates nothing.
        const checked = snapshotDir.apply((dir) => {
            const found = maskingOn ? snapshotSchema(dir, dbName) : undefined;
            const problems = found ? checkMasking(rules.rules, found, { strict: args.masking?.strict, where: `database "${dbName}" of snapshot ${path.basename(dir)}` }) : [];
            if (problems.length) throw new pulumi.ResourceError(problems.join("\n"), this);
            return { dir, schema: found as Record<string, unknown> | undefined };
        });
        const dbArgs = applyTransform<pulumi.Inputs>(
            {
                dataDir: path.join(dataDir, "pg"),
                port: ports.database,
                databases: [],
                role: ROLE_TAGS.sandbox,
                listenAddress: "127.0.0.1",
                fromSnapshot: checked.dir,
                sourceSnapshot: this.sourceSnapshot,
                expiresAt: this.expiresAt,
            },
            args.transform?.database,
        );
        const dbRole = (dbArgs as { role?: string }).role;
        throwIfInvalid(
            this,
            maskingOn && dbRole === ROLE_TAGS["blue-green"]
                ? `masking refuses database ${name}-db: its role is production; masking runs only on a sandbox's copy (${MASKING_CONFIG_KEY} belongs in a sandbox stack)`
                : undefined,
        );
        const home = new DataDirectory(`${name}-data`, { path: dataDir }, { parent: this });
        this.database = new PostgresServer(`${name}-db`, dbArgs, { parent: this, dependsOn: [home] });
        if (maskingOn) {
            this.masking = new Masking(
                `${name}-mask`,
                {
                    port: this.database.port,
                    database: dbName,
                    role: dbRole,
                    label: `${name}-db`,
                    rules: rules.rules,
                    strict: args.masking?.strict === true,
                    schema: checked.schema,
                    fromSnapshot: checked.dir,
                    saltFile: path.join(dataDir, "masking.salt"),
                },
                { parent: this, dependsOn: [this.database] },
            );
            this.databaseUrl = this.masking.databaseUrl;
            this.databasePort = this.masking.port;
        } else {
            this.databaseUrl = localDatabaseUrl(this.database.port, dbName);
            this.databasePort = this.database.port;
        }
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
            { parent: this, dependsOn: [home, this.database, ...(this.masking ? [this.masking] : [])] },
        );
        this.url = pulumi.interpolate`http://127.0.0.1:${this.app.port}`;
        this.registerOutputs({
            platform: "local",
            url: this.url,
            databaseUrl: this.databaseUrl,
            databasePort: this.databasePort,
            masked: this.masking ? this.masking.tables : [],
            dataDir: this.database.dataDir,
            sourceSnapshot: this.sourceSnapshot,
            restoreMethod: this.database.method,
            restoreMs: this.database.restoreMs,
            expiresAt: this.expiresAt,
            appPid: this.app.pid,
        });
    }
}
