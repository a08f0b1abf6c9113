/**
 * Replication bench: a `replicated` local pair (blue's PostgreSQL, green's replica of it, the example
 * app per color, HAProxy), measuring
 * - the write pause of a switchover and of a revert under steady writes through the router (server
 *   side: lock asked → weights changed; client side: the slowest acknowledged write), `rounds` each;
 * - the replication lag during 1,000 writes/s (sampled every 100 ms on blue);
 * - rows lost and duplicated, every written id looked for in both databases.
 *
 * Reports through the bench protocol (bench/result.ts).
 *
 *   npm run bench:replication [-- --rounds 5 --rate 1000 --seconds 10]
 */
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { Client } from "pg";
import { readLag, MARKER_TABLE } from "../components/local/ops/replication";
import { startReplicatedPair } from "../components/local/ops/replicationPair";
import { sleep } from "../components/local/ops/proc";
import { switchDatabases } from "../cutover/dbswitch";
import { startWriteLoad, WriteLoadResult } from "../cutover/dbswitchLoad";
import { atLeast, atMost, equals, figure, measured, writeBenchResult } from "./result";

const BASE = 21700;
const arg = (name: string, dflt: number) => (process.argv.includes(name) ? Number(process.argv[process.argv.indexOf(name) + 1]) : dflt) || dflt;
const rounds = arg("--rounds", 5);
const rate = arg("--rate", 1000);
const seconds = arg("--seconds", 10);

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const pct = (xs: number[], p: number) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor((xs.length * p) / 100))];

async function names(port: number, prefix: string): Promise<Map<string, number>> {
    const c = new Client({ host: "127.0.0.1", port, user: "postgres", database: "app" });
    await c.connect();
    try {
        const r = await c.query("SELECT name, count(*)::int AS n FROM items WHERE name LIKE $1 GROUP BY name", [`${prefix}-%`]);
        return new Map(r.rows.map((x) => [x.name as string, x.n as number]));
    } finally {
        await c.end();
    }
}

/** Acknowledged writes missing from a side, and names found more than once there. */
async function audit(port: number, w: WriteLoadResult, prefix: string): Promise<{ lost: number; dupes: number; rows: number }> {
    const m = await names(port, prefix);
    return { lost: w.acked.filter((id) => !m.has(id)).length, dupes: [...m.values()].filter((n) => n > 1).length, rows: m.size };
}

async function caughtUp(from: { port: number }, toPort: number): Promise<void> {
    const token = `bench ${Date.now()}`;
    const q = async (port: number, sql: string, p: unknown[]) => {
        const c = new Client({ host: "127.0.0.1", port, user: "postgres", database: "app" });
        await c.connect();
        try {
            return (await c.query(sql, p)).rows;
        } finally {
            await c.end();
        }
    };
    await q(from.port, `INSERT INTO ${MARKER_TABLE} (token) VALUES ($1)`, [token]);
    for (let i = 0; (await q(toPort, `SELECT 1 FROM ${MARKER_TABLE} WHERE token = $1`, [token])).length === 0; i++) {
        if (i > 3000) throw new Error("the replica did not catch up within 60 s");
        await sleep(20);
    }
}

async function main(): Promise<void> {
    const started = new Date();
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "switchyard-bench-replication-"));
    const ports = { blueDb: BASE, greenDb: BASE + 1, blueApp: BASE + 2, greenApp: BASE + 3, router: BASE + 4, test: BASE + 5 };
    process.stdout.write("bringing up a replicated pair…\n");
    const pair = await startReplicatedPair({ dir: path.join(dir, "pair"), ports, appDir: path.resolve(__dirname, "..", "examples", "app"), blueMigrations: 1 });
    try {
        // 1. Switchover and revert under 250 writes/s.
        const prefix = `sw${Date.now()}`;
        const pauses: number[] = [];
        const catchUps: number[] = [];
        let refused = 0;
        const w = startWriteLoad(pair.url, { rate: 250, connections: 10, prefix, durationMs: 600_000 });
        await sleep(1500);
        for (let i = 0; i < rounds * 2; i++) {
            const [from, to] = i % 2 === 0 ? [pair.blue, pair.green] : [pair.green, pair.blue];
            const r = await switchDatabases({ socketPath: pair.socketPath, from, to });
            pauses.push(r.pauseMs);
            catchUps.push(r.catchUpMs);
            refused += r.refusedWrites;
            process.stdout.write(`  ${from.color} → ${to.color}: writes paused ${r.pauseMs.toFixed(1)} ms (catch-up ${r.catchUpMs.toFixed(1)} ms)\n`);
            await sleep(1000);
        }
        const sw = await w.stop();
        await caughtUp(pair.blue, pair.green.port);
        const [ab, ag] = [await audit(pair.blue.port, sw, prefix), await audit(pair.green.port, sw, prefix)];

        // 2. Lag during `rate` writes/s, blue → green.
        const lprefix = `lag${Date.now()}`;
        const lags: number[] = [];
        const lagMs: number[] = [];
        const lw = startWriteLoad(pair.url, { rate, connections: 20, prefix: lprefix, durationMs: seconds * 1000 });
        const end = Date.now() + seconds * 1000;
        while (Date.now() < end) {
            const l = await readLag(pair.blue, "green");
            lags.push(l.lagBytes);
            if (l.lagMs !== undefined) lagMs.push(l.lagMs);
            await sleep(100);
        }
        const lr = await lw.done;
        await caughtUp(pair.blue, pair.green.port);
        const [lb, lg] = [await audit(pair.blue.port, lr, lprefix), await audit(pair.green.port, lr, lprefix)];

        const lost = ab.lost + ag.lost + lb.lost + lg.lost;
        const dupes = ab.dupes + ag.dupes + lb.dupes + lg.dupes;
        writeBenchResult({
            name: "replication",
            title: "Replicated databases",
            command: "npm run bench:replication",
            startedAt: started.toISOString(),
            durationMs: Date.now() - started.getTime(),
            figures: [
                measured(`write pause of a switchover or revert, median of ${pauses.length} (lock asked → weights 0/100)`, Math.round(median(pauses)), "ms", atMost(1000, "ms")),
                measured("write pause, the longest", Math.round(Math.max(...pauses)), "ms", atMost(1000, "ms")),
                figure("of which catch-up to lag 0, median", Math.round(median(catchUps) * 10) / 10, "ms"),
                figure("slowest acknowledged write during the switchovers (client side)", Math.round(sw.maxLatencyMs), "ms"),
                figure("writes refused by the old color's write gate (in flight at a switch; nothing committed)", sw.failed.length, ""),
                measured("writes/s during the switchovers", Math.round(sw.rps), "writes/s", atLeast(200, "writes/s")),
                measured(`writes/s asked ${rate}, served`, Math.round(lr.rps), "writes/s", atLeast(rate * 0.9, "writes/s")),
                figure(`replication lag at ${rate} writes/s, median`, pct(lags, 50), "bytes"),
                figure(`replication lag at ${rate} writes/s, p99`, pct(lags, 99), "bytes"),
                figure(`replication lag at ${rate} writes/s, max`, Math.max(...lags), "bytes"),
                ...(lagMs.length ? [figure(`apply lag (write_lag) at ${rate} writes/s, max`, Math.max(...lagMs), "ms")] : []),
                measured("acknowledged writes lost (both databases, every id)", lost, "", equals(0)),
                measured("writes duplicated", dupes, "", equals(0)),
            ],
            notes: [
                `switchovers: ${sw.acked.length} writes acknowledged, ${sw.failed.length} refused, ${sw.unknown.length} unanswered at the stop; rows blue ${ab.rows}, green ${ag.rows}; ${refused} writes were waiting on the lock at the switches`,
                `lag: ${lr.acked.length} writes acknowledged over ${seconds} s, ${lags.length} samples every 100 ms; rows blue ${lb.rows}, green ${lg.rows}`,
                `the replica was made in ${pair.replica.durationMs} ms (${pair.replica.method}); 2-core machine shared with other work`,
            ],
        });
    } finally {
        await pair.stop();
        fs.rmSync(dir, { recursive: true, force: true });
    }
}

main().then(
    () => process.exit(0),
    (e) => {
        process.stderr.write(`bench replication failed: ${(e as Error).stack ?? e}\n`);
        process.exit(1);
    },
);
