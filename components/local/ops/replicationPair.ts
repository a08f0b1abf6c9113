// A replicated pair from the plain modules, with no Pulumi: blue's PostgreSQL server, green's
// replica of it, one app process per color on its own database, and HAProxy over both (blue 100).
// For the tests, the bench and the demo; a stack makes the same parts as resources.
import * as fs from "fs";
import * as path from "path";
import { destroyServer, initServer } from "./postgres";
import { run, sleep, startApp, stopProcessGroup } from "./proc";
import { readWeights, serverHealth, startRouter, stopRouter } from "./haproxy";
import { DbSide, MIGRATING_SETTING, Replica, startReplica } from "./replication";

export interface ReplicatedPairOptions {
    /** Folder for data directories, snapshots, logs and the router; removed by `stop()`. */
    readonly dir: string;
    readonly ports: { readonly blueDb: number; readonly greenDb: number; readonly blueApp: number; readonly greenApp: number; readonly router: number; readonly test: number };
    /** The example app's folder (server.js, migrate.js). */
    readonly appDir: string;
    /** Migrations applied to blue before the replica is made (`migrate.js up N`). @default all */
    readonly blueMigrations?: number;
    /** Apply the remaining migrations to green alone after the replica is made (an additive candidate). @default true */
    readonly migrateGreen?: boolean;
    /** Called while the replica is made (e.g. to keep writing to blue). */
    readonly duringReplica?: (blue: DbSide) => Promise<void> | void;
}

export interface ReplicatedPair {
    readonly blue: DbSide;
    readonly green: DbSide;
    readonly replica: Replica;
    readonly socketPath: string;
    readonly url: string;
    readonly blueDataDir: string;
    readonly greenDataDir: string;
    /** Stops and removes everything it started. */
    stop(): Promise<void>;
}

const dbUrl = (port: number) => `postgres://postgres@127.0.0.1:${port}/app`;

export async function startReplicatedPair(o: ReplicatedPairOptions): Promise<ReplicatedPair> {
    const blue: DbSide = { color: "blue", port: o.ports.blueDb, database: "app" };
    const green: DbSide = { color: "green", port: o.ports.greenDb, database: "app" };
    const blueDataDir = path.join(o.dir, "blue", "pg");
    const greenDataDir = path.join(o.dir, "green", "pg");
    const routerDir = path.join(o.dir, "router");
    const apps: number[] = [];
    const stop = async () => {
        await stopRouter(routerDir).catch(() => undefined);
        for (const pid of apps) await stopProcessGroup(pid).catch(() => undefined);
        await destroyServer(greenDataDir).catch(() => undefined);
        await destroyServer(blueDataDir).catch(() => undefined);
        await run("chmod", ["-R", "u+w", o.dir]).catch(() => undefined);
        fs.rmSync(o.dir, { recursive: true, force: true });
    };
    try {
        fs.mkdirSync(o.dir, { recursive: true, mode: 0o755 });
        fs.chmodSync(o.dir, 0o755);
        await initServer({ dataDir: blueDataDir, port: blue.port, databases: ["app"] });
        const migrate = path.join(o.appDir, "migrate.js");
        await run("node", [migrate, "up", ...(o.blueMigrations !== undefined ? [String(o.blueMigrations)] : [])], { env: { ...process.env, DATABASE_URL: dbUrl(blue.port) } });
        const during = o.duringReplica?.(blue);
        const replica = await startReplica({ sourceDataDir: blueDataDir, source: blue, to: green, dataDir: greenDataDir, snapshotDir: path.join(o.dir, "snapshots", "replica") });
        await during;
        if (o.migrateGreen ?? true) {
            await run("node", [migrate, "up"], { env: { ...process.env, DATABASE_URL: dbUrl(green.port), PGOPTIONS: `-c ${MIGRATING_SETTING}=on` } });
        }
        for (const [color, port, db] of [["blue", o.ports.blueApp, blue.port], ["green", o.ports.greenApp, green.port]] as const) {
            const p = await startApp({
                command: `node ${path.join(o.appDir, "server.js")}`,
                cwd: o.appDir,
                env: { PATH: process.env.PATH ?? "", DATABASE_URL: dbUrl(db), COLOR: color, VERSION: color === "blue" ? "1.0.0" : "1.1.0", PORT: String(port) },
                port,
                logDir: path.join(o.dir, "logs"),
                name: color,
                healthPath: "/healthz",
            });
            apps.push(p.pid);
        }
        const r = await startRouter({
            dir: routerDir,
            port: o.ports.router,
            testPort: o.ports.test,
            servers: [
                { color: "blue", port: o.ports.blueApp, weight: 100 },
                { color: "green", port: o.ports.greenApp, weight: 0 },
            ],
            healthPath: "/healthz",
            checkIntervalMs: 500,
            idle: "green",
        });
        for (let i = 0; i < 100; i++) {
            const h = await serverHealth(r.socketPath);
            if (h.blue.status === "UP" && h.green.status === "UP") break;
            await sleep(100);
        }
        await readWeights(r.socketPath);
        return { blue, green, replica, socketPath: r.socketPath, url: `http://127.0.0.1:${o.ports.router}`, blueDataDir, greenDataDir, stop };
    } catch (e) {
        await stop();
        throw e;
    }
}
