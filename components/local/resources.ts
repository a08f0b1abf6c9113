/**
 * The local platform's Pulumi resources, as dynamic providers with distinct type tokens
 * (`pulumi-nodejs:dynamic/switchyard-local:<Type>`) so policies can target them.
 *
 * A dynamic provider's code is serialized into the state and run in a separate process, so each one
 * here is small: it loads the ordinary modules in `./ops` inside its methods and calls them. The
 * module's absolute path is the only thing captured.
 */
import * as pulumi from "@pulumi/pulumi";
import type { RoleTag } from "../types";

/** Module part of every local type token. */
export const LOCAL_MODULE = "switchyard-local";

/** Absolute path of the ops module, captured by the providers (TypeScript under ts-node, else JavaScript). */
const OPS_PATH: string = require.resolve("./ops");
/** Absolute path of ts-node, for loading the TypeScript ops module (a serialized provider has no module paths). */
const TS_NODE_PATH: string = OPS_PATH.endsWith(".ts") ? require.resolve("ts-node") : "";

/** Loads the ops module inside a provider process. Kept tiny: it is serialized with every provider. */
function loadOps(): typeof import("./ops") {
    if (OPS_PATH.endsWith(".ts")) {
        // eslint-disable-next-line @typescript-eslint/no-require-imports
        require(TS_NODE_PATH).register({ transpileOnly: true, compilerOptions: { module: "commonjs" } });
    }
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    return require(OPS_PATH);
}

type Role = RoleTag;

/**
 * Check failures for the ports a resource newly claims. A port held by the resource itself is not a
 * conflict: by its old inputs (an update), or, when the engine checks a replacement with no old inputs,
 * by `heldBySelf` (the previous generation, which is deleted before the new one is created).
 */
async function portFailures(
    olds: Record<string, unknown>,
    news: Record<string, unknown>,
    keys: string[],
    heldBySelf: () => boolean = () => false,
): Promise<pulumi.dynamic.CheckFailure[]> {
    const failures: pulumi.dynamic.CheckFailure[] = [];
    for (const key of keys) {
        if (olds[key] !== news[key] && !heldBySelf()) {
            try {
                await loadOps().assertPortFree(news[key] as number);
            } catch (e) {
                failures.push({ property: key, reason: (e as Error).message });
            }
        }
    }
    return failures;
}

// ---------------------------------------------------------------------------------------------
// PostgresServer
// ---------------------------------------------------------------------------------------------

export interface PostgresServerInputs {
    /** Data directory; created by initdb, or cloned from `fromSnapshot`. */
    dataDir: string;
    /** TCP port on 127.0.0.1. */
    port: number;
    /** Databases to create on a new server (ignored when restoring). */
    databases: string[];
    /** `production` or `sandbox`. */
    role: Role;
    /** Always loopback: a local database is never reachable from outside the machine. */
    listenAddress: string;
    /** Snapshot directory to restore from, if any. */
    fromSnapshot?: string;
    /** Name of the snapshot restored from (for tags and policies). */
    sourceSnapshot?: string;
    /** Expiry instant (sandboxes). */
    expiresAt?: string;
}

export interface PostgresServerOutputs extends PostgresServerInputs {
    pid: number;
    version: string;
    running: boolean;
    /** How the data directory was made: initdb, reflink or copy. */
    method: string;
    /** Milliseconds the restore took (0 for initdb). */
    restoreMs: number;
}

const postgresProvider: pulumi.dynamic.ResourceProvider = {
    async check(olds: Partial<PostgresServerInputs>, news: PostgresServerInputs) {
        const failures = await portFailures(olds, news as unknown as Record<string, unknown>, ["port"], () => {
            const st = loadOps().serverStatus(news.dataDir);
            return st.running && st.port === news.port;
        });
        if (news.fromSnapshot && olds.fromSnapshot !== news.fromSnapshot) {
            try {
                loadOps().readSnapshot(news.fromSnapshot);
            } catch (e) {
                failures.push({ property: "fromSnapshot", reason: (e as Error).message });
            }
        }
        return { inputs: news, failures };
    },
    async create(inputs: PostgresServerInputs) {
        const ops = loadOps();
        let outs: PostgresServerOutputs;
        if (inputs.fromSnapshot) {
            const r = await ops.restoreSnapshot({ snapshotDir: inputs.fromSnapshot, dataDir: inputs.dataDir, port: inputs.port });
            outs = { ...inputs, pid: r.pid, version: r.version, running: true, method: r.method, restoreMs: r.durationMs };
        } else {
            const s = await ops.initServer({ dataDir: inputs.dataDir, port: inputs.port, databases: inputs.databases });
            outs = { ...inputs, pid: s.pid, version: s.version, running: true, method: "initdb", restoreMs: 0 };
        }
        return { id: inputs.dataDir, outs };
    },
    async read(id: string, props: PostgresServerOutputs) {
        const st = loadOps().serverStatus(id);
        return { id, props: { ...props, running: st.running, pid: st.pid ?? 0 } };
    },
    async diff(id: string, olds: PostgresServerOutputs, news: PostgresServerInputs) {
        const replaces = (["dataDir", "port", "fromSnapshot"] as const).filter((k) => olds[k] !== news[k]);
        // A server found stopped (by refresh, or now: `up` needs no refresh first) is started by the update.
        const changes =
            replaces.length > 0 ||
            olds.running === false ||
            !loadOps().serverStatus(id).running ||
            olds.role !== news.role ||
            olds.expiresAt !== news.expiresAt ||
            olds.sourceSnapshot !== news.sourceSnapshot ||
            JSON.stringify(olds.databases) !== JSON.stringify(news.databases);
        return { changes, replaces, deleteBeforeReplace: true };
    },
    async update(id: string, olds: PostgresServerOutputs, news: PostgresServerInputs) {
        const ops = loadOps();
        let { pid, running } = olds;
        // What a `switchyard restore` cut short left is taken to one whole side before the start.
        await ops.finishInterruptedRestore(id);
        if (!ops.serverStatus(id).running) {
            const s = await ops.startServer(id, news.port);
            pid = s.pid;
            running = true;
        }
        for (const db of news.databases.filter((d) => !olds.databases.includes(d))) {
            await ops.psql(news.port, "postgres", `CREATE DATABASE "${db.replace(/"/g, '""')}"`);
        }
        return { outs: { ...olds, ...news, pid, running } };
    },
    async delete(id: string) {
        await loadOps().destroyServer(id);
    },
};

/** A PostgreSQL server on 127.0.0.1, new (initdb) or restored from a snapshot. */
export class PostgresServer extends pulumi.dynamic.Resource {
    public readonly dataDir!: pulumi.Output<string>;
    public readonly port!: pulumi.Output<number>;
    public readonly pid!: pulumi.Output<number>;
    public readonly version!: pulumi.Output<string>;
    public readonly running!: pulumi.Output<boolean>;
    public readonly method!: pulumi.Output<string>;
    public readonly restoreMs!: pulumi.Output<number>;
    constructor(name: string, args: pulumi.Inputs, opts?: pulumi.CustomResourceOptions) {
        super(postgresProvider, name, { pid: undefined, version: undefined, running: undefined, method: undefined, restoreMs: undefined, ...args }, opts, LOCAL_MODULE, "PostgresServer");
    }
}

// ---------------------------------------------------------------------------------------------
// AppProcess
// ---------------------------------------------------------------------------------------------

export interface AppProcessInputs {
    color: string;
    version: string;
    role: Role;
    command: string;
    cwd: string;
    port: number;
    environment: Record<string, string>;
    healthCheckPath: string;
    logDir: string;
    startTimeoutMs: number;
    /**
     * False: the color is scaled down (its keep-warm time after a cutover is over): no process runs,
     * and one running is stopped. Back to true (or left out) starts it again, health-checked.
     * @default true
     */
    warm?: boolean;
}

export interface AppProcessOutputs extends AppProcessInputs {
    pid: number;
    running: boolean;
    stdoutLog: string;
    stderrLog: string;
}

const appProvider: pulumi.dynamic.ResourceProvider = {
    async check(olds: Partial<AppProcessInputs>, news: AppProcessInputs) {
        const failures = await portFailures(olds, news as unknown as Record<string, unknown>, ["port"], () => {
            const lease = `${news.logDir}/${news.color}.port-${news.port}.pid`;
            const fs = require("fs");
            return fs.existsSync(lease) && loadOps().isAlive(Number(fs.readFileSync(lease, "utf8")));
        });
        if (!news.command || !String(news.command).trim()) {
            failures.push({ property: "command", reason: `app command for ${news.color} is empty: give the command that starts the app` });
        }
        return { inputs: news, failures };
    },
    async create(inputs: AppProcessInputs) {
        if (inputs.warm === false) {
            // Scaled down: the resource stands for the color, with no process.
            return { id: `${inputs.color}-down`, outs: { ...inputs, pid: 0, running: false, stdoutLog: "", stderrLog: "" } as AppProcessOutputs };
        }
        const p = await loadOps().startApp({
            command: inputs.command,
            cwd: inputs.cwd,
            env: { ...inputs.environment, PORT: String(inputs.port), COLOR: inputs.color, VERSION: inputs.version },
            port: inputs.port,
            logDir: inputs.logDir,
            name: `${inputs.color}@${inputs.version}`,
            healthPath: inputs.healthCheckPath,
            timeoutMs: inputs.startTimeoutMs,
        });
        // A lease naming this process as the port's holder, so a replacement's check knows the port is its own.
        require("fs").writeFileSync(`${inputs.logDir}/${inputs.color}.port-${inputs.port}.pid`, String(p.pid));
        const outs: AppProcessOutputs = { ...inputs, pid: p.pid, running: true, stdoutLog: p.stdoutLog, stderrLog: p.stderrLog };
        return { id: `${inputs.color}-${p.pid}`, outs };
    },
    async read(id: string, props: AppProcessOutputs) {
        return { id, props: { ...props, running: props.pid > 0 && loadOps().isAlive(props.pid) } };
    },
    async diff(_id: string, olds: AppProcessOutputs, news: AppProcessInputs) {
        const keys = ["color", "version", "command", "cwd", "port", "healthCheckPath", "logDir"] as const;
        const replaces: string[] = keys.filter((k) => olds[k] !== news[k]);
        if (JSON.stringify(olds.environment) !== JSON.stringify(news.environment)) {
            replaces.push("environment");
        }
        if ((olds.warm ?? true) !== (news.warm ?? true)) {
            replaces.push("warm");
        }
        // A process found gone (by refresh, or now: `up` needs no refresh first) is started again (unless scaled down).
        if (news.warm !== false && (olds.running === false || !loadOps().isAlive(olds.pid))) {
            replaces.push("running");
        }
        return { changes: replaces.length > 0 || olds.role !== news.role, replaces, deleteBeforeReplace: true };
    },
    async update(_id: string, olds: AppProcessOutputs, news: AppProcessInputs) {
        return { outs: { ...olds, ...news } };
    },
    async delete(_id: string, props: AppProcessOutputs) {
        if (props.pid > 0) await loadOps().stopProcessGroup(props.pid);
        require("fs").rmSync(`${props.logDir}/${props.color}.port-${props.port}.pid`, { force: true });
    },
};

/** One color's app process, started detached and health-checked before `up` returns. */
export class AppProcess extends pulumi.dynamic.Resource {
    public readonly pid!: pulumi.Output<number>;
    public readonly port!: pulumi.Output<number>;
    public readonly running!: pulumi.Output<boolean>;
    public readonly stdoutLog!: pulumi.Output<string>;
    public readonly stderrLog!: pulumi.Output<string>;
    constructor(name: string, args: pulumi.Inputs, opts?: pulumi.CustomResourceOptions) {
        super(appProvider, name, { pid: undefined, running: undefined, stdoutLog: undefined, stderrLog: undefined, ...args }, opts, LOCAL_MODULE, "AppProcess");
    }
}

// ---------------------------------------------------------------------------------------------
// Router (HAProxy)
// ---------------------------------------------------------------------------------------------

export interface RouterInputs {
    role: Role;
    dir: string;
    port: number;
    testPort: number;
    servers: { color: "blue" | "green"; port: number }[];
    weights: { blue: number; green: number };
    idle: "blue" | "green";
    healthCheckPath: string;
    checkIntervalMs: number;
    cutoverSteps?: number[];
}

export interface RouterOutputs extends RouterInputs {
    pid: number;
    running: boolean;
    configPath: string;
    adminSocket: string;
    /** Weights HAProxy really applies, read back after every change. */
    appliedWeights: { blue: number; green: number };
}

function routerSpec(i: RouterInputs) {
    return {
        dir: i.dir,
        port: i.port,
        testPort: i.testPort,
        servers: i.servers.map((s) => ({ color: s.color, port: s.port, weight: i.weights[s.color] })),
        healthPath: i.healthCheckPath,
        checkIntervalMs: i.checkIntervalMs,
        idle: i.idle,
    };
}

const routerProvider: pulumi.dynamic.ResourceProvider = {
    async check(olds: Partial<RouterInputs>, news: RouterInputs) {
        const failures = await portFailures(olds, news as unknown as Record<string, unknown>, ["port", "testPort"], () => loadOps().routerStatus(news.dir).running);
        return { inputs: news, failures };
    },
    async create(inputs: RouterInputs) {
        const ops = loadOps();
        const spec = routerSpec(inputs);
        const r = await ops.startRouter(spec);
        const appliedWeights = await ops.readWeights(r.socketPath);
        const outs: RouterOutputs = { ...inputs, pid: r.pid, running: true, configPath: r.configPath, adminSocket: r.socketPath, appliedWeights };
        return { id: inputs.dir, outs };
    },
    async read(id: string, props: RouterOutputs) {
        const ops = loadOps();
        const st = ops.routerStatus(id);
        let appliedWeights = props.appliedWeights;
        if (st.running) {
            try {
                appliedWeights = await ops.readWeights(props.adminSocket);
            } catch {
                /* keep the recorded weights */
            }
        }
        return { id, props: { ...props, running: st.running, pid: st.pid ?? 0, appliedWeights } };
    },
    async diff(_id: string, olds: RouterOutputs, news: RouterInputs) {
        const replaces: string[] = (["dir", "port", "testPort", "healthCheckPath", "checkIntervalMs"] as const).filter((k) => olds[k] !== news[k]);
        if (JSON.stringify(olds.servers) !== JSON.stringify(news.servers)) replaces.push("servers");
        // A router found stopped (by refresh, or now: `up` needs no refresh first) is started again.
        if (olds.running === false || !loadOps().routerStatus(olds.dir).running) replaces.push("running");
        const changes =
            replaces.length > 0 ||
            JSON.stringify(olds.weights) !== JSON.stringify(news.weights) ||
            JSON.stringify(olds.appliedWeights) !== JSON.stringify(news.weights) ||
            olds.idle !== news.idle ||
            olds.role !== news.role ||
            JSON.stringify(olds.cutoverSteps) !== JSON.stringify(news.cutoverSteps);
        return { changes, replaces, deleteBeforeReplace: true };
    },
    async update(_id: string, olds: RouterOutputs, news: RouterInputs) {
        // Weights and the idle color change through HAProxy's runtime API: no reload, no dropped request.
        const ops = loadOps();
        await ops.applyConfig(routerSpec(news));
        const appliedWeights = await ops.readWeights(olds.adminSocket);
        return { outs: { ...olds, ...news, appliedWeights } };
    },
    async delete(id: string) {
        await loadOps().stopRouter(id);
    },
};

/** HAProxy with one weighted frontend over the two colors and a test frontend on the idle one. */
export class Router extends pulumi.dynamic.Resource {
    public readonly pid!: pulumi.Output<number>;
    public readonly port!: pulumi.Output<number>;
    public readonly testPort!: pulumi.Output<number>;
    public readonly adminSocket!: pulumi.Output<string>;
    public readonly configPath!: pulumi.Output<string>;
    public readonly appliedWeights!: pulumi.Output<{ blue: number; green: number }>;
    public readonly running!: pulumi.Output<boolean>;
    constructor(name: string, args: pulumi.Inputs, opts?: pulumi.CustomResourceOptions) {
        super(routerProvider, name, { pid: undefined, running: undefined, configPath: undefined, adminSocket: undefined, appliedWeights: undefined, ...args }, opts, LOCAL_MODULE, "Router");
    }
}

// ---------------------------------------------------------------------------------------------
// DataDirectory
// ---------------------------------------------------------------------------------------------

const dataDirectoryProvider: pulumi.dynamic.ResourceProvider = {
    async create(inputs: { path: string }) {
        require("fs").mkdirSync(inputs.path, { recursive: true, mode: 0o755 });
        return { id: inputs.path, outs: inputs };
    },
    async diff(_id: string, olds: { path: string }, news: { path: string }) {
        return { changes: olds.path !== news.path, replaces: olds.path !== news.path ? ["path"] : [] };
    },
    async delete(id: string) {
        // Last to go: every resource stored under it depends on it, so they are deleted first.
        require("fs").rmSync(id, { recursive: true, force: true });
    },
};

/**
 * A stack's data folder (data directories, snapshots, router files, logs). Destroying the stack
 * removes it, so nothing is left behind.
 */
export class DataDirectory extends pulumi.dynamic.Resource {
    public readonly path!: pulumi.Output<string>;
    constructor(name: string, args: { path: pulumi.Input<string> }, opts?: pulumi.CustomResourceOptions) {
        super(dataDirectoryProvider, name, { ...args }, opts, LOCAL_MODULE, "DataDirectory");
    }
}

// ---------------------------------------------------------------------------------------------
// Masking
// ---------------------------------------------------------------------------------------------

export interface MaskingInputs {
    /** The sandbox database's port on 127.0.0.1 and its name. */
    port: number;
    database: string;
    /** The database's role: `production` is refused. */
    role: Role;
    /** The database resource's name, for messages. */
    label: string;
    /** `switchyard:masking`: the rules (components/masking.ts). */
    rules: unknown[];
    /** `switchyard:maskingStrict`. */
    strict: boolean;
    /** The schema recorded in the snapshot the database was restored from (checked at preview), if any. */
    schema?: Record<string, unknown>;
    /** The snapshot restored: a new restore is masked again. */
    fromSnapshot: string;
    /** The file holding the sandbox's salt. */
    saltFile: string;
}

export interface MaskingOutputs extends MaskingInputs {
    /** The database URL, known only once the data is masked. */
    databaseUrl: string;
    tables: { table: string; columns: string[]; rows: number; ms: number }[];
    durationMs: number;
}

const maskingProvider: pulumi.dynamic.ResourceProvider = {
    async check(_olds: Partial<MaskingInputs>, news: MaskingInputs) {
        const ops = loadOps();
        const failures: pulumi.dynamic.CheckFailure[] = [];
        if (news.role === "production") {
            failures.push({ property: "role", reason: `masking refuses database ${news.label}: its role is production; masking runs only on a sandbox's copy` });
        }
        const parsed = ops.parseMasking(news.rules);
        for (const reason of parsed.problems) failures.push({ property: "rules", reason });
        // At preview a value not known yet comes as a placeholder string: only a schema object is checked.
        if (news.schema && typeof news.schema === "object" && !Array.isArray(news.schema) && parsed.problems.length === 0) {
            for (const reason of ops.checkMasking(parsed.rules, news.schema as never, { strict: news.strict, where: `database ${news.database}` })) {
                failures.push({ property: "rules", reason });
            }
        }
        return { inputs: news, failures };
    },
    async create(inputs: MaskingInputs) {
        const r = await loadOps().maskDatabase({ ...inputs, label: inputs.label });
        const outs: MaskingOutputs = { ...inputs, databaseUrl: r.databaseUrl, tables: r.tables, durationMs: r.durationMs };
        return { id: `${inputs.label}-masked`, outs };
    },
    async diff(_id: string, olds: MaskingOutputs, news: MaskingInputs) {
        const keys = ["port", "database", "role", "strict", "fromSnapshot", "saltFile"] as const;
        const replaces: string[] = keys.filter((k) => olds[k] !== news[k]);
        if (JSON.stringify(olds.rules) !== JSON.stringify(news.rules)) replaces.push("rules");
        // The schema is what the preview checked against; it alone never masks again.
        const changes = replaces.length > 0 || JSON.stringify(olds.schema) !== JSON.stringify(news.schema) || olds.label !== news.label;
        return { changes, replaces };
    },
    async update(_id: string, olds: MaskingOutputs, news: MaskingInputs) {
        return { outs: { ...olds, ...news } };
    },
    async delete() {
        // The masked data goes with its database.
    },
};

/**
 * Masking of a sandbox's database, run once its restore is up and before anything reads it: its
 * `databaseUrl` output exists only once the data is masked. Replaced (so run again) when the rules,
 * the strictness or the restored snapshot change.
 */
export class Masking extends pulumi.dynamic.Resource {
    public readonly databaseUrl!: pulumi.Output<string>;
    public readonly port!: pulumi.Output<number>;
    public readonly tables!: pulumi.Output<MaskingOutputs["tables"]>;
    public readonly durationMs!: pulumi.Output<number>;
    constructor(name: string, args: pulumi.Inputs, opts?: pulumi.CustomResourceOptions) {
        super(maskingProvider, name, { databaseUrl: undefined, tables: undefined, durationMs: undefined, ...args }, opts, LOCAL_MODULE, "Masking");
    }
}

// ---------------------------------------------------------------------------------------------
// ReplicaServer (database mode `replicated`)
// ---------------------------------------------------------------------------------------------

/** Absolute path of the replication module, captured by the replica's provider. */
const REPLICATION_PATH: string = require.resolve("./ops/replication");

/** Loads the replication module inside a provider process. */
function loadReplication(): typeof import("./ops/replication") {
    if (REPLICATION_PATH.endsWith(".ts")) {
        // eslint-disable-next-line @typescript-eslint/no-require-imports
        require(TS_NODE_PATH).register({ transpileOnly: true, compilerOptions: { module: "commonjs" } });
    }
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    return require(REPLICATION_PATH);
}

export interface ReplicaServerInputs {
    role: Role;
    /** The source: blue's server. */
    sourceDataDir: string;
    sourcePort: number;
    database: string;
    /** The replica's data directory and port. */
    dataDir: string;
    port: number;
    /** Where the replica's snapshot of the source is kept (a thin clone where the filesystem allows). */
    snapshotDir: string;
}

export interface ReplicaServerOutputs extends ReplicaServerInputs {
    pid: number;
    running: boolean;
    /** The snapshot's position, where replication started. */
    lsn: string;
    method: string;
    restoreMs: number;
    /** Bytes of WAL the source wrote that the replica has not applied, when last read (`up`, `refresh`). */
    lagBytes: number;
    /** Which way data flows, as "blue→green", when last read. */
    streams: string[];
}

const replicaProvider: pulumi.dynamic.ResourceProvider = {
    async check(olds: Partial<ReplicaServerInputs>, news: ReplicaServerInputs) {
        const failures = await portFailures(olds, news as unknown as Record<string, unknown>, ["port"], () => {
            const st = loadOps().serverStatus(news.dataDir);
            return st.running && st.port === news.port;
        });
        return { inputs: news, failures };
    },
    async create(inputs: ReplicaServerInputs) {
        const r = loadReplication();
        const source = { color: "blue" as const, port: inputs.sourcePort, database: inputs.database };
        const to = { color: "green" as const, port: inputs.port, database: inputs.database };
        const snapshotDir = `${inputs.snapshotDir}-${Date.now()}`;
        const rep = await r.startReplica({ sourceDataDir: inputs.sourceDataDir, source, to, dataDir: inputs.dataDir, snapshotDir });
        const outs: ReplicaServerOutputs = { ...inputs, snapshotDir, pid: rep.pid, running: true, lsn: rep.lsn, method: rep.method, restoreMs: rep.durationMs, lagBytes: 0, streams: ["blue→green"] };
        return { id: inputs.dataDir, outs };
    },
    async read(id: string, props: ReplicaServerOutputs) {
        const st = loadOps().serverStatus(id);
        let { lagBytes, streams } = props;
        if (st.running) {
            const r = loadReplication();
            const blue = { color: "blue" as const, port: props.sourcePort, database: props.database };
            const green = { color: "green" as const, port: props.port, database: props.database };
            try {
                streams = (await r.readReplicationState(blue, green)).streams;
                const [from, to] = streams[0] === "green→blue" ? [green, "blue" as const] : [blue, "green" as const];
                lagBytes = (await r.readLag(from, to)).lagBytes;
            } catch {
                /* keep the recorded figures */
            }
        }
        return { id, props: { ...props, running: st.running, pid: st.pid ?? 0, lagBytes, streams } };
    },
    async diff(id: string, olds: ReplicaServerOutputs, news: ReplicaServerInputs) {
        const replaces = (["dataDir", "port", "sourceDataDir", "sourcePort", "database"] as const).filter((k) => olds[k] !== news[k]);
        const changes = replaces.length > 0 || olds.role !== news.role || !loadOps().serverStatus(id).running;
        return { changes, replaces, deleteBeforeReplace: true };
    },
    async update(id: string, olds: ReplicaServerOutputs, news: ReplicaServerInputs) {
        const ops = loadOps();
        let { pid } = olds;
        if (!ops.serverStatus(id).running) pid = (await ops.startServer(id, news.port)).pid;
        return { outs: { ...olds, ...news, snapshotDir: olds.snapshotDir, pid, running: true } };
    },
    async delete(id: string, props: ReplicaServerOutputs) {
        const r = loadReplication();
        await r.destroyReplica({
            source: { color: "blue", port: props.sourcePort, database: props.database },
            to: { color: "green", port: props.port, database: props.database },
            dataDir: id,
        });
        require("fs").rmSync(props.snapshotDir, { recursive: true, force: true });
    },
};

/**
 * Green's own PostgreSQL server in database mode `replicated`: restored from blue's snapshot at the
 * position of a logical replication slot, then kept in sync by logical replication from blue.
 */
export class ReplicaServer extends pulumi.dynamic.Resource {
    public readonly dataDir!: pulumi.Output<string>;
    public readonly port!: pulumi.Output<number>;
    public readonly pid!: pulumi.Output<number>;
    public readonly lsn!: pulumi.Output<string>;
    public readonly method!: pulumi.Output<string>;
    public readonly restoreMs!: pulumi.Output<number>;
    public readonly lagBytes!: pulumi.Output<number>;
    public readonly streams!: pulumi.Output<string[]>;
    constructor(name: string, args: pulumi.Inputs, opts?: pulumi.CustomResourceOptions) {
        super(
            replicaProvider,
            name,
            { pid: undefined, running: undefined, lsn: undefined, method: undefined, restoreMs: undefined, lagBytes: undefined, streams: undefined, ...args },
            opts,
            LOCAL_MODULE,
            "ReplicaServer",
        );
    }
}
