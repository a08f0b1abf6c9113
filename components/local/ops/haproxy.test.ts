// HAProxy router: pure config rendering, and a real router in front of two tiny HTTP servers.
import * as assert from "assert";
import * as fs from "fs";
import * as http from "http";
import * as net from "net";
import * as os from "os";
import * as path from "path";
import { applyConfig, MIN_CHECK_TIMEOUT_MS, parseGateLine, readWeights, renderConfig, routerStatus, RouterSpec, runtimeCommand, serverHealth, setIdle, setWeights, startRouter, stopRouter, weightOrder } from "./haproxy";
import { assertPortFree, isAlive } from "./proc";
import { freePort } from "../../../test/support/ports";
import { countColors, startLoad } from "../../../cutover/traffic";

type Color = "blue" | "green";

function baseSpec(over: Partial<RouterSpec> = {}): RouterSpec {
  return {
    dir: "/tmp/r",
    port: 18080,
    testPort: 18081,
    servers: [
      { color: "blue", port: 19001, weight: 80 },
      { color: "green", port: 19002, weight: 20 },
    ],
    healthPath: "/healthz",
    checkIntervalMs: 500,
    idle: "green",
    ...over,
  };
}

describe("haproxy renderConfig (pure)", () => {
  it("routes the app frontend over both colors by weight with health checks", () => {
    const cfg = renderConfig(baseSpec());
    assert.match(cfg, /frontend app\n\s+bind 127\.0\.0\.1:18080\n\s+log ring@switchyard-gate local0\n\s+log-format "%s %ST %Ta %\[var\(txn\.switchyard_flags\)\]"\n\s+default_backend app/);
    assert.match(cfg, /ring switchyard-gate\n\s+format raw\n/, "the gate's request log is a ring in memory");
    assert.match(cfg, /http-response set-log-level silent unless \{ srv_name,strcmp\(proc\.switchyard_watch\) eq 0 \}/, "only the watched color is logged");
    assert.match(cfg, /backend app\n\s+balance roundrobin\n\s+option httpchk GET \/healthz\n/);
    assert.match(cfg, /server blue 127\.0\.0\.1:19001 weight 80 check/);
    assert.match(cfg, /server green 127\.0\.0\.1:19002 weight 20 check/);
    assert.match(cfg, /inter 500/);
  });
  it("sends the test frontend to the idle color only", () => {
    const cfg = renderConfig(baseSpec());
    const test = cfg.slice(cfg.indexOf("backend test"));
    assert.match(cfg, /frontend test\n\s+bind 127\.0\.0\.1:18081\n\s+default_backend test/);
    assert.match(test, /server blue [^\n]* disabled/);
    assert.doesNotMatch(test, /server green [^\n]* disabled/);
    const flipped = renderConfig(baseSpec({ idle: "blue" }));
    const t2 = flipped.slice(flipped.indexOf("backend test"));
    assert.match(t2, /server green [^\n]* disabled/);
    assert.doesNotMatch(t2, /server blue [^\n]* disabled/);
  });
  it("has an admin stats socket, timeouts, retries and redispatch", () => {
    const cfg = renderConfig(baseSpec({ dir: "/x/y" }));
    assert.match(cfg, /stats socket \/x\/y\/admin\.sock mode 600 level admin expose-fd listeners/);
    for (const t of ["connect", "client", "server"]) assert.match(cfg, new RegExp(`timeout ${t} \\S+`));
    assert.match(cfg, /retries 3/);
    assert.match(cfg, /option redispatch/);
  });
  it("gives a health check at least 2 s, and never less than its interval, to answer", () => {
    assert.strictEqual(MIN_CHECK_TIMEOUT_MS, 2000);
    assert.match(renderConfig(baseSpec({ checkIntervalMs: 200 })), /\n\s+timeout check 2000ms\n[^]*default-server inter 200 rise 2 fall 3/);
    assert.match(renderConfig(baseSpec({ checkIntervalMs: 1000 })), /timeout check 2000ms/);
    assert.match(renderConfig(baseSpec({ checkIntervalMs: 5000 })), /timeout check 5000ms[^]*default-server inter 5000 /);
  });
  it("sets the color whose weight rises first, then the one that falls (weightOrder)", () => {
    assert.deepStrictEqual(weightOrder({ blue: 100, green: 0 }, { blue: 75, green: 25 }), ["green", "blue"]);
    assert.deepStrictEqual(weightOrder({ blue: 75, green: 25 }, { blue: 50, green: 50 }), ["green", "blue"]);
    assert.deepStrictEqual(weightOrder({ blue: 0, green: 100 }, { blue: 100, green: 0 }), ["blue", "green"]);
    assert.deepStrictEqual(weightOrder({ blue: 10, green: 90 }, { blue: 30, green: 70 }), ["blue", "green"]);
    assert.deepStrictEqual(weightOrder({ blue: 0, green: 0 }, { blue: 0, green: 100 }), ["green", "blue"]);
  });
  it("uses weight 0 as is (no traffic) and is deterministic", () => {
    const spec = baseSpec({ servers: [{ color: "blue", port: 1, weight: 100 }, { color: "green", port: 2, weight: 0 }] });
    assert.match(renderConfig(spec), /server green 127\.0\.0\.1:2 weight 0 check/);
    assert.strictEqual(renderConfig(spec), renderConfig(spec));
  });
});

// --- a real router ---------------------------------------------------------------------------

function colorServer(color: Color): Promise<{ server: http.Server; port: number }> {
  return new Promise((resolve) => {
    const server = http.createServer((req, res) => {
      res.writeHead(200, { "content-type": "text/plain", "x-color": color, connection: "close" });
      res.end(color);
    });
    server.listen(0, "127.0.0.1", () => resolve({ server, port: (server.address() as net.AddressInfo).port }));
  });
}

/** n requests through 127.0.0.1:port over `concurrency` connections (autocannon), counted by the color that answered. */
async function count(port: number, n: number, concurrency = 10): Promise<{ blue: number; green: number; failed: number }> {
  const r = await countColors(`http://127.0.0.1:${port}/`, n, concurrency);
  const other = Object.entries(r.colors).filter(([k]) => k !== "blue" && k !== "green").reduce((a, [, v]) => a + v, 0);
  return { blue: r.colors.blue ?? 0, green: r.colors.green ?? 0, failed: r.failed + other };
}

describe("haproxy router (real process)", function () {
  this.timeout(60_000);
  let tmp: string;
  let blue: { server: http.Server; port: number };
  let green: { server: http.Server; port: number };
  let spec: RouterSpec;
  let socketPath: string;
  let pid: number;

  before(async () => {
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), "sy-haproxy-"));
    blue = await colorServer("blue");
    green = await colorServer("green");
    spec = {
      dir: path.join(tmp, "router"),
      port: await freePort(),
      testPort: await freePort(),
      servers: [
        { color: "blue", port: blue.port, weight: 80 },
        { color: "green", port: green.port, weight: 20 },
      ],
      healthPath: "/healthz",
      checkIntervalMs: 200,
      idle: "green",
    };
    const r = await startRouter(spec);
    socketPath = r.socketPath;
    pid = r.pid;
    assert.ok(isAlive(pid));
    assert.ok(fs.existsSync(r.configPath));
  });

  after(async () => {
    await stopRouter(spec.dir).catch(() => undefined);
    blue.server.close();
    green.server.close();
    fs.rmSync(tmp, { recursive: true, force: true });
  });

  it("refuses to start on a port in use, by name", async () => {
    await assert.rejects(startRouter({ ...spec, dir: path.join(tmp, "other") }), new RegExp(`port ${spec.port} on 127\\.0\\.0\\.1 is in use`));
  });

  it("splits ~1000 requests 80/20 within ±3 points", async () => {
    const c = await count(spec.port, 1000);
    assert.strictEqual(c.failed, 0);
    const bluePct = (100 * c.blue) / 1000;
    assert.ok(Math.abs(bluePct - 80) <= 3, `blue got ${bluePct}%`);
  });

  it("reads back weights and health", async () => {
    assert.deepStrictEqual(await readWeights(socketPath), { blue: 80, green: 20 });
    const h = await serverHealth(socketPath);
    assert.ok(h.blue && h.green, JSON.stringify(h));
    assert.match(h.blue.status, /UP/);
  });

  it("changes weights under steady load with zero failed requests", async () => {
    const c = { blue: 0, green: 0, failed: 0 };
    const phases: Record<Color, number>[] = [];
    const load = startLoad(`http://127.0.0.1:${spec.port}/`, {
      connections: 8,
      durationMs: 60_000,
      onAnswer: (a) => void (a.status === 200 && (a.color === "blue" || a.color === "green") ? c[a.color]++ : c.failed++),
    });
    // Each phase lasts a number of answered requests, not a time: a busy machine only slows it down.
    const answered = () => c.blue + c.green + c.failed;
    const waitAnswered = async (n: number) => {
      const target = answered() + n;
      const deadline = Date.now() + 30_000;
      while (answered() < target) {
        if (Date.now() > deadline) throw new Error(`only ${answered()} of ${target} requests answered within 30 s`);
        await new Promise((r) => setTimeout(r, 10));
      }
    };
    const steps: Record<Color, number>[] = [{ blue: 50, green: 50 }, { blue: 10, green: 90 }, { blue: 0, green: 100 }];
    try {
      for (const w of steps) {
        await waitAnswered(150);
        await setWeights(socketPath, w);
        phases.push(await readWeights(socketPath));
      }
      // Under the last weights only green answers: blue at most finishes the 8 requests in flight.
      const atEnd = { ...c };
      await waitAnswered(150);
      const l = await load.stop();
      assert.strictEqual(l.failed, 0, `failed requests: ${l.failed} of ${l.total} (${l.errors.slice(0, 3).join(", ")})`);
      assert.strictEqual(c.failed, 0, `answers naming no color: ${c.failed}`);
      assert.deepStrictEqual(phases, steps);
      assert.ok(c.green - atEnd.green >= 150 - 8 && c.blue - atEnd.blue <= 8, `after weight 0: blue ${c.blue - atEnd.blue}, green ${c.green - atEnd.green}`);
    } finally {
      await load.stop();
    }
  });

  it("serves new weights at once, with no burst to one color: 50/50 right after 100/0 → 75/25 → 50/50 with no traffic between", async () => {
    // HAProxy's roundrobin keeps weights over a round of about 16 requests per unit of weight (1,600
    // here); a change lands somewhere inside one. Set in the wrong order, it left one color out until
    // the round ended: 19 of 200 at "50/50" after exactly 1,600 requests at 100/0. Each amount below
    // puts the change at another place in the round.
    const send = (n: number) => count(spec.port, n, 8);
    try {
      const splits: string[] = [];
      let worst = 0;
      for (const n of [0, 1, 3, 50, 377, 800, 1234, 1599, 1600, 1601, 2500]) {
        await setWeights(socketPath, { blue: 100, green: 0 });
        await send(n);
        await setWeights(socketPath, { blue: 75, green: 25 });
        await setWeights(socketPath, { blue: 50, green: 50 });
        const c = await send(200);
        assert.strictEqual(c.failed, 0);
        splits.push(`${n}: ${c.blue}/${c.green}`);
        worst = Math.max(worst, Math.abs(c.green - 100));
        await setWeights(socketPath, { blue: 0, green: 100 });
        await send(37);
      }
      assert.ok(worst <= 10, `blue/green of the 200 requests at 50/50, after n requests at 100/0: ${splits.join(", ")}`);
    } finally {
      await setWeights(socketPath, { blue: 0, green: 100 }); // as the case before left it
    }
  });

  it("the test frontend reaches only the idle color, and follows setIdle", async () => {
    let c = await count(spec.testPort, 50, 5);
    assert.deepStrictEqual(c, { blue: 0, green: 50, failed: 0 });
    await setIdle(socketPath, "blue");
    c = await count(spec.testPort, 50, 5);
    assert.deepStrictEqual(c, { blue: 50, green: 0, failed: 0 });
  });

  it("applyConfig persists the weights and applies them without a reload", async () => {
    const next: RouterSpec = { ...spec, servers: [{ ...spec.servers[0], weight: 30 }, { ...spec.servers[1], weight: 70 }], idle: "green" };
    await applyConfig(next);
    assert.deepStrictEqual(await readWeights(socketPath), { blue: 30, green: 70 });
    assert.match(fs.readFileSync(path.join(spec.dir, "haproxy.cfg"), "utf8"), /server green 127\.0\.0\.1:\d+ weight 70 check/);
    assert.strictEqual(routerStatus(spec.dir).pid, pid, "same process: no reload");
    const info = await runtimeCommand(socketPath, "show info");
    assert.match(info, /Name: HAProxy/);
    const t = await count(spec.testPort, 20, 4);
    assert.strictEqual(t.green, 20);
  });

  it("stopRouter leaves no process and frees the ports", async () => {
    await stopRouter(spec.dir);
    assert.ok(!isAlive(pid));
    assert.deepStrictEqual(routerStatus(spec.dir), { running: false });
    await assertPortFree(spec.port);
    await assertPortFree(spec.testPort);
    await stopRouter(spec.dir); // idempotent
  });
});

describe("haproxy gate log lines (pure)", () => {
  it("reads the server, status, time and the app's flag header; older lines without the header too", () => {
    assert.deepStrictEqual(parseGateLine("green 200 12 dark-mode=off,new-checkout=on"), { server: "green", status: 200, totalMs: 12, flags: "dark-mode=off,new-checkout=on" });
    assert.deepStrictEqual(parseGateLine("blue 503 7 -"), { server: "blue", status: 503, totalMs: 7 });
    assert.deepStrictEqual(parseGateLine("blue 200 3"), { server: "blue", status: 200, totalMs: 3 });
    assert.strictEqual(parseGateLine("not a line"), undefined);
  });
  it("logs either color's answers when any is watched (a flag step)", () => {
    assert.match(renderConfig(baseSpec()), /\|\| \{ var\(proc\.switchyard_watch\) -m str any \} \{ rand\(1000\),sub\(proc\.switchyard_permille\) lt 0 \}/);
  });
});
