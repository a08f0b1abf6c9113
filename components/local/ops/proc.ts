// Process helpers for the local platform: detached process groups, port checks,
// HTTP health polling. Plain TypeScript, no Pulumi.
import { spawn, execFile } from "child_process";
import * as fs from "fs";
import * as net from "net";
import * as http from "http";
import * as os from "os";
import * as path from "path";

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/**
 * A cutover runs its engine niced (`stack/nice.ts`), and the provider that runs these modules with
 * it. The services it starts (router, apps, PostgreSQL) must not inherit that priority: where it may
 * (as root), this process puts itself back at normal priority as the modules load. Returns the
 * niceness it runs at afterwards.
 */
export function restoreNormalPriority(): number {
  try {
    if (os.getPriority() > 0) os.setPriority(0);
  } catch {
    /* not permitted (not root): services started during a cutover's `up` keep its niceness */
  }
  return os.getPriority();
}
restoreNormalPriority();

/** Throws "port N on HOST is in use …" when something already listens there. */
export async function assertPortFree(port: number, host = "127.0.0.1"): Promise<void> {
  // 1. Something accepting connections?
  const accepting = await new Promise<boolean>((resolve) => {
    const s = net.connect({ port, host });
    s.setTimeout(500);
    s.once("connect", () => { s.destroy(); resolve(true); });
    s.once("timeout", () => { s.destroy(); resolve(false); });
    s.once("error", () => resolve(false));
  });
  // 2. Can we bind it ourselves?
  const bindErr = accepting ? undefined : await new Promise<NodeJS.ErrnoException | undefined>((resolve) => {
    const srv = net.createServer();
    srv.once("error", (e: NodeJS.ErrnoException) => resolve(e));
    srv.listen({ port, host, exclusive: true }, () => srv.close(() => resolve(undefined)));
  });
  if (accepting || (bindErr && bindErr.code === "EADDRINUSE")) {
    throw new Error(`port ${port} on ${host} is in use by another process: choose another port or stop that process`);
  }
  if (bindErr) {
    throw new Error(`port ${port} on ${host} cannot be bound (${bindErr.code ?? bindErr.message}): choose another port`);
  }
}

/** Ask the OS for a free loopback port (test helper). */
export function freePort(host = "127.0.0.1"): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.once("error", reject);
    srv.listen({ port: 0, host }, () => {
      const port = (srv.address() as net.AddressInfo).port;
      srv.close(() => resolve(port));
    });
  });
}

export interface StartDetachedOptions {
  command: string;
  cwd: string;
  env: Record<string, string>;
  logDir: string;
  name: string;
}

export interface DetachedProcess {
  pid: number;
  stdoutLog: string;
  stderrLog: string;
}

/** Start `/bin/sh -c command` as a new process group leader, logs appended to files in logDir. */
const exitStatus = new Map<number, string>();

export function startDetached(opts: StartDetachedOptions): DetachedProcess {
  fs.mkdirSync(opts.logDir, { recursive: true });
  const stdoutLog = path.join(opts.logDir, `${opts.name}.out.log`);
  const stderrLog = path.join(opts.logDir, `${opts.name}.err.log`);
  const outFd = fs.openSync(stdoutLog, "a");
  const errFd = fs.openSync(stderrLog, "a");
  try {
    if (!fs.existsSync(opts.cwd)) {
      throw new Error(`cannot start ${opts.name}: working directory ${opts.cwd} does not exist: create it or fix cwd`);
    }
    const child = spawn("/bin/sh", ["-c", opts.command], {
      cwd: opts.cwd,
      env: opts.env,
      detached: true,
      stdio: ["ignore", outFd, errFd],
    });
    if (child.pid === undefined) {
      throw new Error(`cannot start ${opts.name}: spawn of /bin/sh failed: check the command and environment`);
    }
    const pid = child.pid;
    child.on("error", () => { /* reported through pid liveness */ });
    child.on("exit", (code, signal) => {
      exitStatus.set(pid, code !== null ? `code ${code}` : `signal ${signal}`);
      if (exitStatus.size > 1000) exitStatus.delete(exitStatus.keys().next().value as number);
    });
    child.unref();
    return { pid: child.pid, stdoutLog, stderrLog };
  } finally {
    fs.closeSync(outFd);
    fs.closeSync(errFd);
  }
}

/**
 * True while any thread of this process has not exited, from procfs: undefined without procfs. A
 * multi-threaded process (HAProxy, node) can show its main thread as a zombie while another thread is
 * still exiting and holds its files: its listening sockets stay open until that thread is gone too.
 */
function anyThreadLive(pid: number): boolean | undefined {
  let tids: string[];
  try {
    tids = fs.readdirSync(`/proc/${pid}/task`);
  } catch {
    return fs.existsSync("/proc/self/task") ? false : undefined;
  }
  for (const tid of tids) {
    let stat: string;
    try { stat = fs.readFileSync(`/proc/${pid}/task/${tid}/stat`, "utf8"); } catch { continue; }
    const state = stat.slice(stat.lastIndexOf(")") + 2, stat.lastIndexOf(")") + 3);
    if (state !== "Z" && state !== "X") return true;
  }
  return false;
}

/**
 * True when a process with this pid exists and has not exited. A zombie still answers kill(0), so it
 * counts as dead, but only once all its threads are gone (and with them its files and sockets).
 */
export function isAlive(pid: number): boolean {
  if (!Number.isInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === "EPERM";
  }
  return anyThreadLive(pid) ?? true; // no procfs: trust kill(0)
}

function groupAlive(pgid: number): boolean {
  try {
    process.kill(-pgid, 0);
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === "EPERM";
  }
  // Group exists; check whether any member is not a zombie.
  try {
    for (const ent of fs.readdirSync("/proc")) {
      if (!/^\d+$/.test(ent)) continue;
      let stat: string;
      try { stat = fs.readFileSync(`/proc/${ent}/stat`, "utf8"); } catch { continue; }
      const rest = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
      // rest[0]=state, rest[1]=ppid, rest[2]=pgrp; a zombie main thread may still have live threads.
      if (Number(rest[2]) === pgid && (rest[0] !== "Z" && rest[0] !== "X" || anyThreadLive(Number(ent)))) return true;
    }
    return false;
  } catch {
    return true;
  }
}

function signalGroup(pid: number, sig: NodeJS.Signals): void {
  try { process.kill(-pid, sig); } catch { /* gone */ }
  try { process.kill(pid, sig); } catch { /* gone */ }
}

/** SIGTERM the process group, wait up to timeoutMs, then SIGKILL. No error if already gone. */
export async function stopProcessGroup(pid: number, timeoutMs = 5000): Promise<void> {
  if (!Number.isInteger(pid) || pid <= 0) return;
  if (!groupAlive(pid) && !isAlive(pid)) return;
  signalGroup(pid, "SIGTERM");
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (!groupAlive(pid) && !isAlive(pid)) return;
    await sleep(50);
  }
  signalGroup(pid, "SIGKILL");
  const killDeadline = Date.now() + 5000;
  while (Date.now() < killDeadline) {
    if (!groupAlive(pid) && !isAlive(pid)) return;
    await sleep(50);
  }
  throw new Error(`process group ${pid} did not exit after SIGKILL: inspect it with ps -g ${pid}`);
}

/** Last `lines` lines of a log file ("" when missing). */
export function tailFile(file: string | undefined, lines = 20): string {
  if (!file) return "";
  try {
    const st = fs.statSync(file);
    const len = Math.min(st.size, 64 * 1024);
    const fd = fs.openSync(file, "r");
    try {
      const buf = Buffer.alloc(len);
      fs.readSync(fd, buf, 0, len, st.size - len);
      return buf.toString("utf8").split("\n").filter((l) => l.length > 0).slice(-lines).join("\n");
    } finally {
      fs.closeSync(fd);
    }
  } catch {
    return "";
  }
}

export interface WaitForHttpOptions {
  timeoutMs: number;
  expectStatus?: (s: number) => boolean;
  pid?: number;
  logFile?: string;
}

function httpStatus(url: string, timeoutMs: number): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = http.get(url, { timeout: timeoutMs, agent: false }, (res) => {
      res.resume();
      res.on("end", () => resolve(res.statusCode ?? 0));
      res.on("error", reject);
    });
    req.on("timeout", () => req.destroy(new Error("request timed out")));
    req.on("error", reject);
  });
}

/** Poll url until expectStatus(status) (default 2xx). Fails at once if `pid` dies. */
export async function waitForHttp(url: string, opts: WaitForHttpOptions): Promise<void> {
  const ok = opts.expectStatus ?? ((s: number) => s >= 200 && s < 300);
  const deadline = Date.now() + opts.timeoutMs;
  let last = "no response yet";
  for (;;) {
    if (opts.pid !== undefined && !isAlive(opts.pid)) {
      const tail = tailFile(opts.logFile);
      throw new Error(`process ${opts.pid} exited before ${url} became healthy (last: ${last})${tail ? `:\n${tail}` : ""}`);
    }
    try {
      const status = await httpStatus(url, Math.min(2000, Math.max(100, deadline - Date.now())));
      if (ok(status)) return;
      last = `HTTP ${status}`;
    } catch (e) {
      last = (e as Error).message;
    }
    if (Date.now() >= deadline) {
      const tail = tailFile(opts.logFile);
      throw new Error(`${url} did not become healthy within ${opts.timeoutMs} ms (last: ${last})${tail ? `:\n${tail}` : ""}`);
    }
    await sleep(100);
  }
}

export interface StartAppOptions {
  command: string;
  cwd: string;
  env: Record<string, string>;
  port: number;
  logDir: string;
  name: string;
  healthPath: string;
  timeoutMs?: number;
}

function exitCodeOf(pid: number): string | undefined {
  return exitStatus.get(pid);
}

/** Start an app detached and wait for its health endpoint; on failure kill the group and throw. */
export async function startApp(opts: StartAppOptions): Promise<DetachedProcess> {
  await assertPortFree(opts.port);
  const proc = startDetached(opts);
  const url = `http://127.0.0.1:${opts.port}${opts.healthPath}`;
  const both = () => [tailFile(proc.stderrLog), tailFile(proc.stdoutLog)].filter(Boolean).join("\n");
  try {
    await waitForHttp(url, { timeoutMs: opts.timeoutMs ?? 30000, pid: proc.pid, logFile: proc.stderrLog });
    return proc;
  } catch (e) {
    const exited = !isAlive(proc.pid);
    const code = exited ? exitCodeOf(proc.pid) : undefined;
    await stopProcessGroup(proc.pid, 3000).catch(() => undefined);
    const tail = both();
    if (exited) {
      throw new Error(`app ${opts.name} exited${code !== undefined ? ` with ${code}` : ""} before its health check on ${url} passed: fix the command or see ${proc.stderrLog}${tail ? `\n${tail}` : ""}`);
    }
    const why = (e as Error).message.split("\n")[0];
    throw new Error(`app ${opts.name} failed its health check on ${url}: ${why}: see ${proc.stderrLog}${tail ? `\n${tail}` : ""}`);
  }
}

/** Run a command, resolve stdout; reject with stderr in the message. */
export function run(
  file: string,
  args: string[],
  opts: { env?: NodeJS.ProcessEnv; cwd?: string; timeoutMs?: number; input?: string } = {},
): Promise<{ stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = execFile(
      file,
      args,
      { env: opts.env ?? process.env, cwd: opts.cwd, timeout: opts.timeoutMs ?? 0, maxBuffer: 64 * 1024 * 1024 },
      (err, stdout, stderr) => {
        if (err) {
          const e = new Error(`${path.basename(file)} ${args.join(" ")} failed: ${String(stderr).trim() || err.message}`);
          (e as Error & { stderr?: string }).stderr = String(stderr);
          reject(e);
        } else {
          resolve({ stdout: String(stdout), stderr: String(stderr) });
        }
      },
    );
    if (opts.input !== undefined) child.stdin?.end(opts.input);
  });
}
