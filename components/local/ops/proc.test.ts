// Process helpers against real processes: failures name the app, carry the log tail, leave nothing.
import * as assert from "assert";
import { spawn } from "child_process";
import * as fs from "fs";
import * as http from "http";
import * as net from "net";
import * as os from "os";
import * as path from "path";
import { assertPortFree, isAlive, startApp, startDetached, stopProcessGroup, waitForHttp } from "./proc";
import { freePort } from "../../../test/support/ports";

function portFreeNow(port: number): Promise<boolean> {
  return assertPortFree(port).then(() => true, () => false);
}

/** Non-zombie processes of a process group (orphans reparented to a non-reaping pid 1 stay as zombies). */
function liveGroupMembers(pgid: number): number[] {
  const out: number[] = [];
  for (const ent of fs.readdirSync("/proc")) {
    if (!/^\d+$/.test(ent)) continue;
    let stat: string;
    try { stat = fs.readFileSync(`/proc/${ent}/stat`, "utf8"); } catch { continue; }
    const rest = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    if (Number(rest[2]) === pgid && rest[0] !== "Z" && rest[0] !== "X") out.push(Number(ent));
  }
  return out;
}

describe("proc", function () {
  this.timeout(30_000);
  let tmp: string;
  before(() => (tmp = fs.mkdtempSync(path.join(os.tmpdir(), "sy-proc-"))));
  after(() => fs.rmSync(tmp, { recursive: true, force: true }));

  it("assertPortFree names a port in use", async () => {
    const srv = net.createServer().listen(0, "127.0.0.1");
    await new Promise((r) => srv.once("listening", r));
    const port = (srv.address() as net.AddressInfo).port;
    try {
      await assert.rejects(assertPortFree(port), new RegExp(`port ${port} on 127\\.0\\.0\\.1 is in use`));
    } finally {
      await new Promise((r) => srv.close(r)); // the port is free once close has called back
    }
    await assertPortFree(port);
  });

  it("isAlive counts a process alive while any of its threads runs, though its main thread has exited", async () => {
    // Like HAProxy on SIGTERM: the main thread is a zombie while another thread still holds the
    // listening socket. Here the main thread calls pthread_exit; the other one keeps a port until
    // stdin closes.
    const script = [
      "import ctypes, socket, sys, threading",
      "srv = socket.socket(); srv.bind(('127.0.0.1', 0)); srv.listen()",
      "def hold():",
      "    sys.stdin.read(); srv.close()",
      "threading.Thread(target=hold).start()",
      "print(srv.getsockname()[1], flush=True)",
      "ctypes.CDLL(None).pthread_exit(None)",
    ].join("\n");
    const child = spawn("python3", ["-c", script], { stdio: ["pipe", "pipe", "inherit"] });
    const pid = child.pid!;
    try {
      const port = await new Promise<number>((resolve, reject) => {
        child.stdout.once("data", (d) => resolve(Number(String(d).trim())));
        child.once("exit", (code) => reject(new Error(`python3 exited (${code}) before listening`)));
      });
      const mainState = () => { const st = fs.readFileSync(`/proc/${pid}/stat`, "utf8"); return st.slice(st.lastIndexOf(")") + 2, st.lastIndexOf(")") + 3); };
      for (let i = 0; i < 200 && mainState() !== "Z"; i++) await new Promise((r) => setTimeout(r, 25));
      assert.strictEqual(mainState(), "Z", "the main thread has exited");
      assert.strictEqual(isAlive(pid), true, "a live thread keeps the process alive");
      assert.strictEqual(await portFreeNow(port), false, "and its port is still held");

      child.stdin.end(); // the last thread closes the port and exits
      const deadline = Date.now() + 20_000;
      while (isAlive(pid) && Date.now() < deadline) await new Promise((r) => setImmediate(r));
      assert.strictEqual(isAlive(pid), false, "dead once its last thread has exited");
      assert.strictEqual(await portFreeNow(port), true, "so its port is free the moment isAlive says so");
    } finally {
      child.kill("SIGKILL");
    }
  });

  it("startDetached makes a process group that stopProcessGroup ends entirely", async () => {
    const p = startDetached({ command: "sleep 30 & sleep 30; wait", cwd: tmp, env: { PATH: process.env.PATH ?? "/usr/bin:/bin" }, logDir: tmp, name: "sleeper" });
    assert.ok(isAlive(p.pid));
    assert.ok(fs.existsSync(p.stdoutLog) && fs.existsSync(p.stderrLog));
    await stopProcessGroup(p.pid, 2000);
    assert.ok(!isAlive(p.pid));
    assert.deepStrictEqual(liveGroupMembers(p.pid), [], "no live member of the group is left");
    await stopProcessGroup(p.pid); // already gone: no error
  });

  it("startApp with a bad command names the app, carries the log tail, and leaves no process", async () => {
    const port = await freePort();
    let err: Error | undefined;
    try {
      await startApp({ command: "echo boom-marker >&2; exit 3", cwd: tmp, env: { PATH: "/usr/bin:/bin" }, port, logDir: tmp, name: "badapp", healthPath: "/healthz", timeoutMs: 5000 });
    } catch (e) {
      err = e as Error;
    }
    assert.ok(err, "startApp must fail");
    assert.match(err!.message, /app badapp/);
    assert.match(err!.message, /boom-marker/);
    assert.ok(await portFreeNow(port));
  });

  it("startApp with an app that listens but fails its health check: error, and the group is killed", async () => {
    const port = await freePort();
    const script = path.join(tmp, "unhealthy.js");
    fs.writeFileSync(script, `require("http").createServer((q, s) => { s.statusCode = 503; s.end("no"); }).listen(${port}, "127.0.0.1"); console.error("unhealthy-marker");`);
    const started = Date.now();
    await assert.rejects(
      startApp({ command: `exec "${process.execPath}" ${script}`, cwd: tmp, env: { PATH: "/usr/bin:/bin" }, port, logDir: tmp, name: "sickapp", healthPath: "/healthz", timeoutMs: 2000 }),
      (e: Error) => /app sickapp failed its health check on http:\/\/127\.0\.0\.1:\d+\/healthz/.test(e.message) && /unhealthy-marker/.test(e.message),
    );
    assert.ok(Date.now() - started < 15_000);
    assert.ok(await portFreeNow(port), "the unhealthy app no longer listens (startApp waited for its group to be gone)");
  });

  it("startApp succeeds for a healthy app, which stopProcessGroup then ends", async () => {
    const port = await freePort();
    const script = path.join(tmp, "healthy.js");
    fs.writeFileSync(script, `require("http").createServer((q, s) => s.end("ok")).listen(${port}, "127.0.0.1");`);
    const p = await startApp({ command: `exec "${process.execPath}" ${script}`, cwd: tmp, env: { PATH: "/usr/bin:/bin" }, port, logDir: tmp, name: "okapp", healthPath: "/healthz" });
    assert.ok(isAlive(p.pid));
    await waitForHttp(`http://127.0.0.1:${port}/`, { timeoutMs: 1000 });
    await stopProcessGroup(p.pid);
    assert.ok(!isAlive(p.pid));
    assert.ok(await portFreeNow(port), "free once stopProcessGroup has returned");
  });

  it("waitForHttp fails at once when the watched pid dies", async () => {
    const p = startDetached({ command: "echo dying-marker >&2; sleep 0.2", cwd: tmp, env: { PATH: "/usr/bin:/bin" }, logDir: tmp, name: "dier" });
    const port = await freePort();
    const started = Date.now();
    await assert.rejects(waitForHttp(`http://127.0.0.1:${port}/`, { timeoutMs: 20_000, pid: p.pid, logFile: p.stderrLog }), /dying-marker/);
    assert.ok(Date.now() - started < 5000);
  });

  it("waitForHttp honours expectStatus", async () => {
    const srv = http.createServer((q, s) => { s.statusCode = 404; s.end(); }).listen(0, "127.0.0.1");
    await new Promise((r) => srv.once("listening", r));
    const port = (srv.address() as net.AddressInfo).port;
    try {
      await waitForHttp(`http://127.0.0.1:${port}/`, { timeoutMs: 2000, expectStatus: (s) => s === 404 });
      await assert.rejects(waitForHttp(`http://127.0.0.1:${port}/`, { timeoutMs: 500 }), /did not become healthy/);
    } finally {
      srv.close();
    }
  });
});
