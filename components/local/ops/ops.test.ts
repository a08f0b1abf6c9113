/**
 * The local platform's plain modules against real PostgreSQL and HAProxy: snapshots taken while
 * production keeps writing, restores, router config, and cleanup on failure.
 */
import * as assert from "assert";
import * as fs from "fs";
import * as net from "net";
import * as os from "os";
import * as path from "path";
import { Client } from "pg";
import * as ops from ".";
import { freePort } from "../../../test/support/ports";

describe("local ops", function () {
    this.timeout(120_000);
    let dir: string;
    before(() => {
        dir = fs.mkdtempSync(path.join(os.tmpdir(), "switchyard-ops-"));
    });
    after(() => fs.rmSync(dir, { recursive: true, force: true }));

    describe("HAProxy config (pure)", () => {
        const spec: ops.RouterSpec = {
            dir: "/r",
            port: 8080,
            testPort: 8081,
            servers: [
                { color: "blue", port: 9001, weight: 90 },
                { color: "green", port: 9002, weight: 10 },
            ],
            healthPath: "/healthz",
            checkIntervalMs: 1000,
            idle: "green",
        };
        it("weights each color, health-checks every server, and sends the test frontend to the idle color only", () => {
            const cfg = ops.renderConfig(spec);
            assert.match(cfg, /backend app\n  balance roundrobin\n  option httpchk GET \/healthz\n(  #[^\n]*\n)?  http-response set-log-level silent [^\n]*\n  server blue 127\.0\.0\.1:9001 weight 90 check\n  server green 127\.0\.0\.1:9002 weight 10 check\n/);
            assert.match(cfg, /backend test\n[^]*server blue 127\.0\.0\.1:9001 weight 1 check disabled\n  server green 127\.0\.0\.1:9002 weight 1 check\n/);
            assert.match(cfg, /stats socket \/r\/admin\.sock mode 600 level admin/);
            assert.match(cfg, /bind 127\.0\.0\.1:8080/);
            const flipped = ops.renderConfig({ ...spec, idle: "blue" });
            assert.match(flipped, /server blue 127\.0\.0\.1:9001 weight 1 check\n  server green 127\.0\.0\.1:9002 weight 1 check disabled\n/);
        });
    });

    describe("PostgreSQL, snapshots and restores", () => {
        let port: number;
        let src: string;
        before(async () => {
            port = await freePort();
            src = path.join(dir, "prod", "pg");
            await ops.initServer({ dataDir: src, port, databases: ["shop"] });
            await ops.psql(port, "shop", "CREATE TABLE t (id serial PRIMARY KEY, v text); INSERT INTO t (v) SELECT 'row' || g FROM generate_series(1, 1000) g");
        });
        after(async () => ops.destroyServer(src));

        it("a port in use is refused by name, and nothing is left behind", async () => {
            const blocker = net.createServer().listen(0, "127.0.0.1");
            await new Promise((r) => blocker.once("listening", r));
            const busy = (blocker.address() as net.AddressInfo).port;
            try {
                const d = path.join(dir, "busy", "pg");
                await assert.rejects(ops.initServer({ dataDir: d, port: busy }), new RegExp(`port ${busy} on 127\\.0\\.0\\.1 is in use`));
                assert.ok(!fs.existsSync(d));
            } finally {
                blocker.close();
            }
        });

        it("snapshots while production keeps writing (no writer error), and restores exactly the committed rows", async () => {
            const writer = new Client({ host: "127.0.0.1", port, user: "postgres", database: "shop" });
            await writer.connect();
            let writes = 0;
            let writerError: Error | undefined;
            let stop = false;
            const loop = (async () => {
                while (!stop) {
                    try {
                        await writer.query("INSERT INTO t (v) VALUES ('during')");
                        writes++;
                    } catch (e) {
                        writerError = e as Error;
                        return;
                    }
                }
            })();
            await new Promise((r) => setTimeout(r, 200));
            const before = Number(await ops.psql(port, "shop", "SELECT count(*) FROM t"));
            const snapDir = path.join(dir, "snaps", "s1");
            const meta = await ops.takeSnapshot({ dataDir: src, port, snapshotDir: snapDir, name: "s1" });
            const afterSnap = Number(await ops.psql(port, "shop", "SELECT count(*) FROM t"));
            stop = true;
            await loop;
            await writer.end();
            assert.strictEqual(writerError, undefined, "production kept accepting writes during the snapshot");
            assert.ok(writes > 0);
            assert.ok(meta.sizeBytes > 1_000_000 && meta.method && meta.createdAt && meta.name === "s1");
            assert.deepStrictEqual(ops.readSnapshot(snapDir), meta);
            assert.strictEqual(fs.statSync(path.join(snapDir, "data", "PG_VERSION")).mode & 0o222, 0, "snapshot files are read-only");
            assert.strictEqual(fs.statSync(snapDir).mode & 0o222, 0, "no file can be added to a snapshot");

            const rport = await freePort();
            const restored = await ops.restoreSnapshot({ snapshotDir: snapDir, dataDir: path.join(dir, "sandbox", "pg"), port: rport });
            try {
                const n = Number(await ops.psql(rport, "shop", "SELECT count(*) FROM t"));
                assert.ok(n >= before && n <= afterSnap, `restored ${n} rows; production had ${before} before and ${afterSnap} after the snapshot`);
                const ids = await ops.psql(rport, "shop", "SELECT count(*) = max(id) FROM t");
                assert.strictEqual(ids, "t", "a consistent prefix of the writes: no gap in the ids");
                await ops.psql(rport, "shop", "INSERT INTO t (v) VALUES ('sandbox-only')");
                assert.strictEqual(await ops.psql(port, "shop", "SELECT count(*) FROM t WHERE v = 'sandbox-only'"), "0");
            } finally {
                await ops.destroyServer(restored.dataDir);
            }
            assert.ok(!fs.existsSync(restored.dataDir));
            assert.ok(!ops.isAlive(restored.pid), "the restored server is stopped");
            await assert.rejects(
                ops.takeSnapshot({ dataDir: src, port, snapshotDir: snapDir, name: "s1" }),
                /snapshot s1 already exists/,
            );
        });

        it("a snapshot that does not exist is named in the error", async () => {
            await assert.rejects(
                ops.restoreSnapshot({ snapshotDir: path.join(dir, "snaps", "nope"), dataDir: path.join(dir, "x", "pg"), port: await freePort() }),
                /snapshot .*nope does not exist/,
            );
            assert.ok(!fs.existsSync(path.join(dir, "x", "pg")));
        });
    });
});
