// PostgreSQL servers against the real binaries: init, data, status, stop, destroy, a port in use.
import * as assert from "assert";
import * as fs from "fs";
import * as net from "net";
import * as os from "os";
import * as path from "path";
import { databaseUrl, destroyServer, initServer, pgBinDir, pgOsUser, psql, serverStatus, startServer, stopServer } from "./postgres";
import { assertPortFree, isAlive } from "./proc";
import { freePort } from "../../../test/support/ports";

describe("postgres", function () {
  this.timeout(120_000);
  let tmp: string;
  before(() => (tmp = fs.mkdtempSync(path.join(os.tmpdir(), "sy-pg-"))));
  after(() => fs.rmSync(tmp, { recursive: true, force: true }));

  it("finds the binaries and the OS user", () => {
    assert.ok(fs.existsSync(path.join(pgBinDir(), "initdb")));
    if (process.getuid?.() === 0) assert.strictEqual(pgOsUser(), "switchyard");
    else assert.strictEqual(pgOsUser(), undefined);
    assert.strictEqual(databaseUrl(5433, "shop"), "postgres://postgres@127.0.0.1:5433/shop");
  });

  it("init → data → status → stop → start → destroy leaves no process, port or directory", async () => {
    const port = await freePort();
    const dataDir = path.join(tmp, "a", "pg");
    const s = await initServer({ dataDir, port, databases: ["shop"] });
    assert.strictEqual(s.port, port);
    assert.strictEqual(s.user, "postgres");
    assert.match(s.version, /^\d+/);
    assert.ok(isAlive(s.pid));
    await psql(port, "shop", "CREATE TABLE items (id serial PRIMARY KEY, name text); INSERT INTO items (name) SELECT 'n' || g FROM generate_series(1, 100) g");
    assert.strictEqual(await psql(port, "shop", "SELECT count(*) FROM items"), "100");
    assert.deepStrictEqual(serverStatus(dataDir), { running: true, pid: s.pid, port });
    await assert.rejects(psql(port, "shop", "SELECT * FROM nope"), /nope/);

    await stopServer(dataDir);
    assert.strictEqual(serverStatus(dataDir).running, false);
    assert.ok(!isAlive(s.pid));
    await assertPortFree(port);
    await stopServer(dataDir); // not running: no error

    const again = await startServer(dataDir, port);
    assert.strictEqual(await psql(port, "shop", "SELECT count(*) FROM items"), "100", "data survives a restart");

    await destroyServer(dataDir);
    assert.ok(!fs.existsSync(dataDir));
    assert.ok(!isAlive(again.pid));
    await assertPortFree(port);
    await destroyServer(dataDir); // idempotent
  });

  it("a port in use: the named error, and nothing left behind", async () => {
    const blocker = net.createServer().listen(0, "127.0.0.1");
    await new Promise((r) => blocker.once("listening", r));
    const port = (blocker.address() as net.AddressInfo).port;
    const dataDir = path.join(tmp, "busy", "pg");
    try {
      await assert.rejects(initServer({ dataDir, port }), new RegExp(`port ${port} on 127\\.0\\.0\\.1 is in use`));
    } finally {
      blocker.close();
    }
    assert.ok(!fs.existsSync(dataDir));
  });

  it("a non-empty data directory is refused by name", async () => {
    const dataDir = path.join(tmp, "full");
    fs.mkdirSync(dataDir, { recursive: true });
    fs.writeFileSync(path.join(dataDir, "x"), "x");
    await assert.rejects(initServer({ dataDir, port: await freePort() }), /data directory .*full already exists/);
    assert.ok(fs.existsSync(path.join(dataDir, "x")), "the user's file is untouched");
  });
});
