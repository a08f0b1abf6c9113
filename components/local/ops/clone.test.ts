// Snapshots and restores: listing, immutability, record, reflink probe, deletion, named errors.
// (The concurrent-writer consistency test lives in ops.test.ts.)
import * as assert from "assert";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { cloneMethodFor, deleteSnapshot, latestSnapshot, listSnapshots, readSnapshot, restoreSnapshot, takeSnapshot } from "./clone";
import { destroyServer, initServer, psql } from "./postgres";
import { assertPortFree, isAlive } from "./proc";
import { freePort } from "../../../test/support/ports";

describe("clone", function () {
  this.timeout(120_000);
  let tmp: string;
  let port: number;
  let src: string;
  before(async () => {
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), "sy-clone-"));
    port = await freePort();
    src = path.join(tmp, "prod", "pg");
    await initServer({ dataDir: src, port, databases: ["shop"] });
    await psql(port, "shop", "CREATE TABLE t (id serial PRIMARY KEY, v text); INSERT INTO t (v) SELECT 'r' || g FROM generate_series(1, 500) g");
  });
  after(async () => {
    await destroyServer(src).catch(() => undefined);
    fs.rmSync(tmp, { recursive: true, force: true });
  });

  it("cloneMethodFor probes the filesystem and leaves no probe file", () => {
    const d = path.join(tmp, "probe");
    const m = cloneMethodFor(d);
    assert.ok(m === "reflink" || m === "copy");
    assert.deepStrictEqual(fs.readdirSync(d), []);
  });

  it("takes, lists, restores and deletes snapshots; a snapshot is a read-only record", async () => {
    const root = path.join(tmp, "snaps");
    const m1 = await takeSnapshot({ dataDir: src, port, snapshotDir: path.join(root, "one"), name: "one" });
    await psql(port, "shop", "INSERT INTO t (v) VALUES ('after-one')");
    const m2 = await takeSnapshot({ dataDir: src, port, snapshotDir: path.join(root, "two"), name: "two" });
    for (const m of [m1, m2]) {
      assert.ok(m.sizeBytes > 1_000_000);
      assert.ok(!Number.isNaN(Date.parse(m.createdAt)));
      assert.ok(m.method === "reflink" || m.method === "copy");
      assert.ok(m.durationMs >= 0);
      assert.match(m.pgVersion, /^\d+/);
    }
    assert.deepStrictEqual(readSnapshot(path.join(root, "one")), m1);
    assert.deepStrictEqual(listSnapshots(root).map((s) => s.name), ["one", "two"]);
    assert.strictEqual(latestSnapshot(root)?.name, "two");
    assert.strictEqual(fs.statSync(path.join(root, "one", "meta.json")).mode & 0o222, 0, "meta.json is read-only");
    assert.strictEqual(await psql(port, "shop", "SELECT count(*) FROM t"), "501", "production kept running");

    const rport = await freePort();
    const dataDir = path.join(tmp, "sandbox", "pg");
    const r = await restoreSnapshot({ snapshotDir: path.join(root, "one"), dataDir, port: rport });
    try {
      assert.strictEqual(r.port, rport);
      assert.ok(r.durationMs >= 0 && (r.method === "reflink" || r.method === "copy"));
      assert.strictEqual(await psql(rport, "shop", "SELECT count(*) FROM t"), "500", "snapshot one predates the extra row");
      assert.strictEqual(fs.statSync(dataDir).mode & 0o777, 0o700);
    } finally {
      await destroyServer(dataDir);
    }
    assert.ok(!isAlive(r.pid));
    await assertPortFree(rport);

    // Restoring into an existing directory is refused and does not touch it.
    fs.mkdirSync(dataDir, { recursive: true });
    await assert.rejects(restoreSnapshot({ snapshotDir: path.join(root, "two"), dataDir, port: await freePort() }), /already exists/);
    assert.ok(fs.existsSync(dataDir));
    fs.rmSync(dataDir, { recursive: true });

    deleteSnapshot(path.join(root, "one"));
    assert.deepStrictEqual(listSnapshots(root).map((s) => s.name), ["two"]);
    assert.throws(() => readSnapshot(path.join(root, "one")), /snapshot .*one does not exist/);
    deleteSnapshot(path.join(root, "two"));
    assert.deepStrictEqual(listSnapshots(root), []);
    assert.strictEqual(latestSnapshot(root), undefined);
  });

  it("restore from a snapshot that does not exist names it and makes nothing", async () => {
    const dataDir = path.join(tmp, "none", "pg");
    await assert.rejects(restoreSnapshot({ snapshotDir: path.join(tmp, "snaps", "ghost"), dataDir, port: await freePort() }), /snapshot .*ghost does not exist/);
    assert.ok(!fs.existsSync(dataDir));
  });
});
