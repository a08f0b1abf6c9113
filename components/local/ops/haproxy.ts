// HAProxy as the local weighted router: one frontend spreading over the two colors by weight, a test
// frontend on the idle color, weights changed through the runtime API (no reload). No Pulumi here.
import * as fs from "fs";
import * as net from "net";
import * as path from "path";
import { assertPortFree, isAlive, run, sleep } from "./proc";
import { FLAGS_HEADER } from "../../flags";

export type Color = "blue" | "green";

export interface RouterSpec {
  dir: string;
  port: number;
  testPort: number;
  servers: { color: Color; port: number; weight: number }[];
  healthPath: string;
  checkIntervalMs: number;
  idle: Color;
}

export const configPathOf = (dir: string) => path.join(dir, "haproxy.cfg");
export const socketPathOf = (dir: string) => path.join(dir, "admin.sock");
const pidPathOf = (dir: string) => path.join(dir, "haproxy.pid");

/** The in-memory ring HAProxy logs the watched color's requests into (`show events`). */
export const GATE_RING = "switchyard-gate";
const WATCH_VAR = "proc.switchyard_watch";
const SHARE_VAR = "proc.switchyard_permille";
/** What `watchColor` watches to log both colors' answers (a flag step's flagged requests come from either). */
export const WATCH_ANY = "any";
const FLAGS_VAR = "txn.switchyard_flags";

const PIN_VAR = "proc.switchyard_pin";

/** Shortest time a health check may take before it counts as failed. */
export const MIN_CHECK_TIMEOUT_MS = 2000;

/** The HAProxy configuration for a spec. Pure. */
export function renderConfig(spec: RouterSpec): string {
  const inter = Math.max(100, Math.round(spec.checkIntervalMs));
  // Without `timeout check`, HAProxy gives a check no longer than `inter` to answer: with a short
  // interval, a busy machine (a compile, the engine, a GC pause in the app) then fails checks of a
  // healthy server and takes it out of the rotation. A dead server is still found at once (refused).
  const checkTimeout = Math.max(MIN_CHECK_TIMEOUT_MS, inter);
  const server = (s: RouterSpec["servers"][number], extra = "") =>
    `  server ${s.color} 127.0.0.1:${s.port} weight ${s.weight} check${extra}`;
  return [
    "# Written by Switchyard. Weights change through the runtime API and are persisted here.",
    "global",
    `  stats socket ${socketPathOf(spec.dir)} mode 600 level admin expose-fd listeners`,
    "  maxconn 4096",
    "",
    "# The gate's request log: the color a cutover watches, while it watches (see `backend app`).",
    `ring ${GATE_RING}`,
    "  format raw",
    "  maxlen 128",
    "  size 4194304",
    "",
    "defaults",
    "  mode http",
    "  timeout connect 2s",
    "  timeout client 30s",
    "  timeout server 30s",
    `  timeout check ${checkTimeout}ms`,
    "  retries 3",
    "  option redispatch",
    `  default-server inter ${inter} rise 2 fall 3`,
    "",
    "frontend app",
    `  bind 127.0.0.1:${spec.port}`,
    `  log ring@${GATE_RING} local0`,
    // The app's flag header (kept by `backend app` while a flag step is watched) lets the gate judge the flagged requests apart.
    `  log-format "%s %ST %Ta %[var(${FLAGS_VAR})]"`,
    "  default_backend app",
    "",
    "frontend test",
    `  bind 127.0.0.1:${spec.testPort}`,
    "  default_backend test",
    "",
    "backend app",
    "  balance roundrobin",
    `  option httpchk GET ${spec.healthPath}`,
    "  # Logged: only answers of the watched color, a share of them per mille; nothing when none is watched.",
    `  http-response set-log-level silent unless { srv_name,strcmp(${WATCH_VAR}) eq 0 } { rand(1000),sub(${SHARE_VAR}) lt 0 } || { var(${WATCH_VAR}) -m str ${WATCH_ANY} } { rand(1000),sub(${SHARE_VAR}) lt 0 }`,
    ...spec.servers.map((s) => server(s)),
    "  # A flag step's window: the app's flag header, whole (fhdr does not split it at its commas), for the log line.",
    `  http-response set-var(${FLAGS_VAR}) res.fhdr(${FLAGS_HEADER}) if { var(${WATCH_VAR}) -m str ${WATCH_ANY} }`,
    "",
    "# Always the idle color: for tests before any live traffic reaches it.",
    "backend test",
    "  balance roundrobin",
    `  option httpchk GET ${spec.healthPath}`,
    ...spec.servers.map((s) => server({ ...s, weight: 1 }, s.color === spec.idle ? "" : " disabled")),
    "",
  ].join("\n");
}

export function routerStatus(dir: string): { running: boolean; pid?: number } {
  const f = pidPathOf(dir);
  if (!fs.existsSync(f)) return { running: false };
  const pid = Number(fs.readFileSync(f, "utf8").trim().split("\n")[0]);
  return pid > 0 && isAlive(pid) ? { running: true, pid } : { running: false };
}

function haproxyBin(): string {
  for (const p of ["/usr/sbin/haproxy", "/usr/bin/haproxy", "/usr/local/sbin/haproxy"]) {
    if (fs.existsSync(p)) return p;
  }
  throw new Error("HAProxy is not installed: run the set-up (npm run setup) or apt-get install haproxy");
}

/** Writes the config and starts HAProxy as a daemon; waits until its runtime API answers. */
export async function startRouter(spec: RouterSpec): Promise<{ pid: number; configPath: string; socketPath: string }> {
  await assertPortFree(spec.port);
  await assertPortFree(spec.testPort);
  fs.mkdirSync(spec.dir, { recursive: true });
  const cfg = configPathOf(spec.dir);
  fs.writeFileSync(cfg, renderConfig(spec));
  const bin = haproxyBin();
  try {
    await run(bin, ["-c", "-q", "-f", cfg]);
    await run(bin, ["-D", "-f", cfg, "-p", pidPathOf(spec.dir)], { timeoutMs: 30_000 });
    const end = Date.now() + 10_000;
    for (;;) {
      try {
        await runtimeCommand(socketPathOf(spec.dir), "show info");
        break;
      } catch (e) {
        if (Date.now() > end) throw e;
        await sleep(50);
      }
    }
  } catch (e) {
    await stopRouter(spec.dir);
    throw new Error(`HAProxy did not start on 127.0.0.1:${spec.port}: ${(e as Error).message}`);
  }
  const st = routerStatus(spec.dir);
  return { pid: st.pid as number, configPath: cfg, socketPath: socketPathOf(spec.dir) };
}

/** Sends one command to HAProxy's runtime API and returns its answer. */
export function runtimeCommand(socketPath: string, cmd: string, timeoutMs = 5000): Promise<string> {
  return new Promise((resolve, reject) => {
    const s = net.connect(socketPath);
    let out = "";
    const timer = setTimeout(() => {
      s.destroy();
      reject(new Error(`HAProxy runtime API did not answer "${cmd}" within ${timeoutMs} ms`));
    }, timeoutMs);
    s.setEncoding("utf8");
    s.on("connect", () => s.write(`${cmd}\n`));
    s.on("data", (d) => (out += d));
    s.on("end", () => {
      clearTimeout(timer);
      resolve(out);
    });
    s.on("error", (e) => {
      clearTimeout(timer);
      unreachable(socketPath, e as NodeJS.ErrnoException).then((named) => reject(named ?? e), () => reject(e));
    });
  });
}

const SOCKET_FAULTS: Record<string, string> = {
  ECONNREFUSED: "refuses connections",
  ENOENT: "is gone",
  ECONNRESET: "reset the connection",
  EPIPE: "closed the connection",
};

/**
 * A named error for an admin socket nobody answers on: HAProxy is not running (its socket refuses
 * connections, is gone, or dropped the connection as HAProxy died). Undefined for any other error.
 * After a dropped connection, a process killed a moment ago may still be exiting: it is given a
 * second to go before it is judged.
 */
async function unreachable(socketPath: string, e: NodeJS.ErrnoException): Promise<Error | undefined> {
  const fault = e.code ? SOCKET_FAULTS[e.code] : undefined;
  if (!fault) return undefined;
  const dir = path.dirname(socketPath);
  let st = routerStatus(dir);
  // A connection dropped mid-command: HAProxy may be exiting (never the case while it starts).
  const dropped = e.code === "ECONNRESET" || e.code === "EPIPE";
  for (let i = 0; i < 20 && dropped && st.running; i++) {
    await sleep(50);
    st = routerStatus(dir);
  }
  const why = `its admin socket ${socketPath} ${fault} (${e.code})`;
  const pid = st.pid ?? recordedPid(dir);
  const err = new Error(
    st.running ? `the router (HAProxy, pid ${st.pid}) runs, but ${why}` : `the router (HAProxy${pid ? `, pid ${pid}` : ""}) is not running: ${why}`,
  ) as NodeJS.ErrnoException;
  err.code = e.code;
  return err;
}

/** The pid HAProxy wrote when it started, alive or not. */
function recordedPid(dir: string): number | undefined {
  try {
    const pid = Number(fs.readFileSync(pidPathOf(dir), "utf8").trim().split("\n")[0]);
    return pid > 0 ? pid : undefined;
  } catch {
    return undefined;
  }
}

async function expectEmpty(socketPath: string, cmd: string): Promise<void> {
  const r = (await runtimeCommand(socketPath, cmd)).trim();
  if (r !== "") throw new Error(`HAProxy refused "${cmd}": ${r}`);
}

/**
 * The order to set new weights in: the color whose weight rises first, then the one that falls. Pure.
 *
 * Raising first keeps the backend's total weight at or above both the old and the new total in
 * between: it never drops to zero, and it matters to HAProxy's roundrobin, which places a server
 * whose weight changes inside the current round against the total at that instant. Lowering one
 * color first (100/0 to 75/25 starting with blue) shrinks the total for a moment, which pushes that
 * color out to the next round; the other color then takes every request until the round (about 16
 * requests per unit of total weight) ends: at "50/50", green answered 181 of the next 200.
 */
export function weightOrder(from: Record<Color, number>, to: Record<Color, number>): Color[] {
  return to.blue - from.blue >= to.green - from.green ? ["blue", "green"] : ["green", "blue"];
}

export async function setWeights(socketPath: string, w: Record<Color, number>): Promise<void> {
  const order = weightOrder(await readWeights(socketPath), w);
  for (const c of order) await expectEmpty(socketPath, `set server app/${c} weight ${w[c]}`);
}

/**
 * Starts or stops logging one color's answers into the gate's ring: `permille` of them, at random
 * (1000: all). `undefined` stops. Set at runtime (HAProxy's experimental `set var`), no reload.
 */
export async function watchColor(socketPath: string, color: Color | typeof WATCH_ANY | undefined, permille = 1000): Promise<void> {
  const share = Math.max(0, Math.min(1000, Math.round(permille)));
  const cmd = `experimental-mode on; set var ${WATCH_VAR} str(${color ?? "none"}); set var ${SHARE_VAR} int(${share})`;
  const r = (await runtimeCommand(socketPath, cmd)).trim();
  if (r !== "") throw new Error(`HAProxy refused "${cmd}": ${r}`);
}

/** One answer in the gate's ring: the server (color), the HTTP status, the total time in ms and the app's flag header. */
export interface LoggedAnswer {
  server: string;
  status: number;
  totalMs: number;
  /** The answer's x-flags header (`new-checkout=on`), when it had one. */
  flags?: string;
}

/** Parses one line of the gate's ring (`%s %ST %Ta %[res.fhdr(x-flags)]`; older routers log no header). Pure; undefined for anything else. */
export function parseGateLine(line: string): LoggedAnswer | undefined {
  const m = /^(\S+) (-?\d+) (-?\d+)(?: (.*))?$/.exec(line.trim());
  if (!m) return undefined;
  const a: LoggedAnswer = { server: m[1], status: Number(m[2]), totalMs: Number(m[3]) };
  if (m[4] !== undefined && m[4] !== "-" && m[4] !== "") a.flags = m[4];
  return a;
}

/**
 * Streams the gate's ring: each new answer logged from now on (`show events <ring> -w -n`) to
 * `onAnswer`. Rejects when the router has no such ring (a router started by an older version).
 * `close()` ends the stream.
 */
export async function streamGateLog(socketPath: string, onAnswer: (a: LoggedAnswer) => void): Promise<{ close: () => void }> {
  const sinks = await runtimeCommand(socketPath, "show events");
  if (!new RegExp(`^\\s*${GATE_RING}\\s*:`, "m").test(sinks)) {
    throw new Error(`HAProxy at ${socketPath} has no gate log (ring ${GATE_RING}): it was started by an older version; its next restart adds it`);
  }
  return new Promise((resolve, reject) => {
    const s = net.connect(socketPath);
    let buf = "";
    s.setEncoding("utf8");
    s.on("connect", () => {
      s.write(`show events ${GATE_RING} -w -n\n`);
      resolve({ close: () => s.destroy() });
    });
    s.on("data", (d: string) => {
      buf += d;
      let nl: number;
      while ((nl = buf.indexOf("\n")) >= 0) {
        const a = parseGateLine(buf.slice(0, nl));
        buf = buf.slice(nl + 1);
        if (a) onAnswer(a);
      }
    });
    s.on("error", (e) => reject(e));
  });
}

export async function setIdle(socketPath: string, idle: Color): Promise<void> {
  const live: Color = idle === "blue" ? "green" : "blue";
  await expectEmpty(socketPath, `set server test/${idle} state ready`);
  await expectEmpty(socketPath, `set server test/${live} state maint`);
}

/**
 * The weights HAProxy applies now. Both are asked in one runtime API call, so a reader running
 * beside a change of weights (a status, a monitor) never sees a split torn across it: with two
 * calls, a move from 0/100 to 100/0 could read blue's old 0 and then green's new 0.
 */
export async function readWeights(socketPath: string): Promise<Record<Color, number>> {
  const colors: Color[] = ["blue", "green"];
  const r = await runtimeCommand(socketPath, colors.map((c) => `get weight app/${c}`).join("; "));
  const answers = r.split(/\n\s*\n/).map((a) => a.trim()).filter((a) => a !== "");
  const out = {} as Record<Color, number>;
  colors.forEach((c, i) => {
    const m = /^(\d+)/.exec(answers[i] ?? "");
    if (!m) throw new Error(`HAProxy answered "get weight app/${c}" with: ${answers[i] ?? r.trim()}`);
    out[c] = Number(m[1]);
  });
  return out;
}

/** One color's server in the weighted backend, as `show stat` reports it. */
export interface ServerStats {
  status: string;
  checkStatus?: string;
  /** Cumulative responses of every class, plus responses that never came (`eresp`). */
  requests: number;
  /** Cumulative 5xx responses plus response errors. */
  errors: number;
  /** Mean response time (ms) over the server's last 1,024 requests. */
  rtimeMs: number;
}

/** Parses `show stat` CSV into the weighted backend's per-color counters. Pure. */
export function parseStats(csv: string): Partial<Record<Color, ServerStats>> {
  const [head, ...rows] = csv.replace(/^# /, "").trim().split("\n");
  const cols = head.split(",");
  const out: Partial<Record<Color, ServerStats>> = {};
  for (const line of rows) {
    const row = line.split(",");
    const at = (name: string) => row[cols.indexOf(name)] ?? "";
    const num = (name: string) => Number(at(name)) || 0;
    const sv = at("svname");
    if (at("pxname") !== "app" || (sv !== "blue" && sv !== "green")) continue;
    const responses = ["hrsp_1xx", "hrsp_2xx", "hrsp_3xx", "hrsp_4xx", "hrsp_5xx", "hrsp_other"].reduce((a, k) => a + num(k), 0);
    out[sv] = {
      status: at("status"),
      checkStatus: at("check_status") || undefined,
      requests: responses + num("eresp"),
      errors: num("hrsp_5xx") + num("eresp"),
      rtimeMs: num("rtime"),
    };
  }
  return out;
}

/** Counters and health of each color's server in the weighted backend. */
export async function serverStats(socketPath: string): Promise<Record<Color, ServerStats>> {
  const stats = parseStats(await runtimeCommand(socketPath, "show stat"));
  for (const c of ["blue", "green"] as Color[]) {
    if (!stats[c]) throw new Error(`HAProxy at ${socketPath} reports no server app/${c}`);
  }
  return stats as Record<Color, ServerStats>;
}

/** Health of each color's server in the weighted backend, from `show stat`. */
export async function serverHealth(socketPath: string): Promise<Record<Color, { status: string; checkStatus?: string }>> {
  const s = await serverStats(socketPath);
  return { blue: { status: s.blue.status, checkStatus: s.blue.checkStatus }, green: { status: s.green.status, checkStatus: s.green.checkStatus } };
}

/**
 * Holds the router at weights `w` on behalf of process `pid` (a cutover reverting while a step's
 * `up` still runs, which would set the step's weights again): `applyConfig` leaves other weights
 * unapplied while the holder lives. `undefined` releases. Kept in HAProxy's memory, so a restart or a
 * dead holder ends it.
 */
export async function pinWeights(socketPath: string, w: Record<Color, number> | undefined, pid = process.pid): Promise<void> {
  const value = w ? `${w.blue}:${w.green}:${pid}` : "none";
  const cmd = `experimental-mode on; set var ${PIN_VAR} str(${value})`;
  const r = (await runtimeCommand(socketPath, cmd)).trim();
  if (r !== "") throw new Error(`HAProxy refused "${cmd}": ${r}`);
}

/** The hold `pinWeights` set, if any. Pure parse of `get var`'s answer. */
export function parsePin(answer: string): { weights: Record<Color, number>; pid: number } | undefined {
  const m = /value=<(\d+):(\d+):(\d+)>/.exec(answer);
  return m ? { weights: { blue: Number(m[1]), green: Number(m[2]) }, pid: Number(m[3]) } : undefined;
}

/** Persists a new spec to the config file and applies weights and the idle color, with no reload. */
export async function applyConfig(spec: RouterSpec): Promise<void> {
  fs.writeFileSync(configPathOf(spec.dir), renderConfig(spec));
  const socket = socketPathOf(spec.dir);
  const w = Object.fromEntries(spec.servers.map((s) => [s.color, s.weight])) as Record<Color, number>;
  const pin = parsePin(await runtimeCommand(socket, `get var ${PIN_VAR}`).catch(() => ""));
  if (pin && pin.pid !== process.pid && isAlive(pin.pid) && (pin.weights.blue !== w.blue || pin.weights.green !== w.green)) {
    // A cutover holds the router at other weights (its revert): this `up` records, it does not route.
    return;
  }
  await setWeights(socket, w);
  await setIdle(socket, spec.idle);
}

/** Stops HAProxy and removes its folder. No error if it is not running. */
export async function stopRouter(dir: string): Promise<void> {
  const st = routerStatus(dir);
  if (st.running && st.pid) {
    try {
      process.kill(st.pid, "SIGTERM");
    } catch {
      /* gone */
    }
    for (let i = 0; i < 100 && isAlive(st.pid); i++) await sleep(50);
    if (isAlive(st.pid)) {
      process.kill(st.pid, "SIGKILL");
      for (let i = 0; i < 100 && isAlive(st.pid); i++) await sleep(50);
      if (isAlive(st.pid)) throw new Error(`HAProxy (pid ${st.pid}) is still running after SIGKILL: inspect it with ps -p ${st.pid}`);
    }
  }
  fs.rmSync(dir, { recursive: true, force: true });
}
