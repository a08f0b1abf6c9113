// Half-made snapshots left by a maker killed during a backup: removed, with the server the seal had
// started in one (pg_ctl detaches it from the killed process group); one whose maker runs is kept.
import * as assert from "assert";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { spawnSync } from "child_process";
import { discardStalePartials, listSnapshots, takeSnapshot } from "./clone";
import { destroyServer, initServer, serverStatus } from "./postgres";
import { isAlive } from "./proc";
import { freePort } from "../../../test/support/ports";

/** A pid that was alive a moment ago and is gone now. */
function deadPid(): number {
  const r = spawnSync(process.execPath, ["-e", "process.stdout.write(String(process.pid))"], { encoding: "utf8" });
  const pid = Number(r.stdout);
  assert.ok(pid > 0 && !isAlive(pid));
  return pid;
}

describe("half-made snapshots of a killed backup", function () {
  this.timeout(120_000);
  let tmp: string;
  let root: string;
  let seal: string;
  before(() => {
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), "sy-partials-"));
    root = path.join(tmp, "snapshots");
    fs.mkdirSync(root);
  });
  after(async () => {
    if (seal) await destroyServer(seal).catch(() => undefined);
    fs.rmSync(tmp, { recursive: true, force: true });
  });

  it("a partial whose maker is gone is removed, its running server stopped; one whose maker runs is kept", async () => {
    // The killed maker's partial: a server running in it, as the seal leaves it.
    const stale = path.join(root, "pair-pre-cutover-1.partial");
    fs.mkdirSync(stale);
    fs.writeFileSync(path.join(stale, "maker.pid"), `${deadPid()}\n`);
    seal = path.join(stale, "data");
    const server = await initServer({ dataDir: seal, port: await freePort() });
    assert.ok(isAlive(server.pid));
    // Made read-only just before the kill (the last act before the rename).
    spawnSync("chmod", ["-R", "a-w", path.join(stale, "maker.pid")]);
    // Cut short before its maker was written.
    fs.mkdirSync(path.join(root, "pair-pre-cutover-2.partial"));
    // Still being made, by this process.
    const live = path.join(root, "pair-pre-cutover-3.partial");
    fs.mkdirSync(live);
    fs.writeFileSync(path.join(live, "maker.pid"), `${process.pid}\n`);

    const removed = await discardStalePartials(root);
    assert.deepStrictEqual(removed.sort(), ["pair-pre-cutover-1", "pair-pre-cutover-2"]);
    assert.ok(!isAlive(server.pid), `the seal's server (pid ${server.pid}) is stopped`);
    assert.strictEqual(serverStatus(seal).running, false);
    assert.deepStrictEqual(fs.readdirSync(root), ["pair-pre-cutover-3.partial"], "only the live maker's partial is left");
    assert.deepStrictEqual(await discardStalePartials(path.join(tmp, "no-such-root")), []);
  });

  it("the next snapshot removes a killed maker's partial first, and its own carries its maker", async () => {
    const prod = path.join(tmp, "prod");
    const port = await freePort();
    await initServer({ dataDir: prod, port, databases: ["shop"] });
    try {
      const stale = path.join(root, "old.partial");
      fs.mkdirSync(path.join(stale, "data"), { recursive: true });
      fs.writeFileSync(path.join(stale, "maker.pid"), `${deadPid()}\n`);
      const meta = await takeSnapshot({ dataDir: prod, port, snapshotDir: path.join(root, "new"), name: "new" });
      assert.strictEqual(meta.name, "new");
      assert.ok(!fs.existsSync(stale), "the stale partial is gone");
      assert.ok(fs.existsSync(path.join(root, "pair-pre-cutover-3.partial")), "a live maker's partial is kept");
      assert.deepStrictEqual(listSnapshots(root).map((s) => s.name), ["new"]);
      assert.strictEqual(fs.readFileSync(path.join(root, "new", "maker.pid"), "utf8").trim(), String(process.pid));
    } finally {
      await destroyServer(prod);
    }
  });
});
