// PostgreSQL servers on 127.0.0.1, from Debian's packages. Plain TypeScript, no Pulumi.
// As root, the server runs as the unprivileged user `switchyard` (PostgreSQL refuses root).
import * as fs from "fs";
import * as path from "path";
import { spawnSync } from "child_process";
import { assertPortFree, isAlive, run, sleep } from "./proc";

export const PG_OS_USER = "switchyard";

export interface PgServer {
  dataDir: string;
  port: number;
  pid: number;
  version: string;
  user: "postgres";
}

/** The newest PostgreSQL bin directory installed. */
export function pgBinDir(): string {
  const base = "/usr/lib/postgresql";
  const versions = fs.existsSync(base)
    ? fs.readdirSync(base).filter((v) => fs.existsSync(path.join(base, v, "bin", "initdb"))).sort((a, b) => Number(b) - Number(a))
    : [];
  if (versions.length === 0) {
    throw new Error("PostgreSQL is not installed (no /usr/lib/postgresql/*/bin/initdb): run the set-up (npm run setup) or apt-get install postgresql");
  }
  return path.join(base, versions[0], "bin");
}

/** The unprivileged OS user the server runs as when we are root (created on first use), else undefined. */
export function pgOsUser(): string | undefined {
  if (process.getuid?.() !== 0) return undefined;
  if (spawnSync("id", [PG_OS_USER]).status !== 0) {
    const r = spawnSync("useradd", ["--system", "--no-create-home", "--shell", "/usr/sbin/nologin", PG_OS_USER], { encoding: "utf8" });
    if (r.status !== 0 && spawnSync("id", [PG_OS_USER]).status !== 0) {
      throw new Error(`cannot create the OS user ${PG_OS_USER} for PostgreSQL: ${r.stderr}`);
    }
  }
  return PG_OS_USER;
}

/** Runs a PostgreSQL tool as the server's OS user. */
export function asPgUser(tool: string, args: string[], timeoutMs = 120_000) {
  const bin = path.join(pgBinDir(), tool);
  const user = pgOsUser();
  return user ? run("runuser", ["-u", user, "--", bin, ...args], { timeoutMs }) : run(bin, args, { timeoutMs });
}

/** Gives a path to the server's OS user (recursively), so it can own and write it. */
export function chownToPg(p: string, recursive = true): void {
  const user = pgOsUser();
  if (!user) return;
  const r = spawnSync("chown", [...(recursive ? ["-R"] : []), `${user}:`, p], { encoding: "utf8" });
  if (r.status !== 0) throw new Error(`chown ${p} failed: ${r.stderr}`);
}

/** Makes every folder above p traversable, so the unprivileged user reaches its data directory. */
function ensureTraversable(p: string): void {
  if (!pgOsUser()) return;
  let dir = path.dirname(p);
  while (dir !== path.dirname(dir)) {
    const st = fs.statSync(dir);
    if ((st.mode & 0o001) === 0) fs.chmodSync(dir, st.mode | 0o001);
    dir = path.dirname(dir);
  }
}

/** The server's log file: beside the data directory, so snapshots never carry it. */
export function logFileOf(dataDir: string): string {
  return `${dataDir}.log`;
}

export function databaseUrl(port: number, db: string): string {
  return `postgres://postgres@127.0.0.1:${port}/${db}`;
}

const BEGIN = "# switchyard: begin";
const END = "# switchyard: end";

/** Writes the settings a local server needs into postgresql.conf, replacing an earlier block. */
function configure(dataDir: string, port: number): void {
  const file = path.join(dataDir, "postgresql.conf");
  const text = fs.readFileSync(file, "utf8");
  const i = text.indexOf(BEGIN);
  const kept = i >= 0 ? text.slice(0, i) + text.slice(text.indexOf(END) + END.length + 1) : text;
  const block = [
    BEGIN,
    "listen_addresses = '127.0.0.1'",
    `port = ${port}`,
    "unix_socket_directories = ''",
    // After a crash or from a backup, flush the filesystem once instead of fsyncing every file.
    "recovery_init_sync_method = syncfs",
    END,
    "",
  ].join("\n");
  fs.writeFileSync(file, kept.replace(/\n*$/, "\n") + block);
}

export function serverStatus(dataDir: string): { running: boolean; pid?: number; port?: number } {
  const pidFile = path.join(dataDir, "postmaster.pid");
  if (!fs.existsSync(pidFile)) return { running: false };
  const lines = fs.readFileSync(pidFile, "utf8").split("\n");
  const pid = Number(lines[0]);
  const port = Number(lines[3]);
  return pid > 0 && isAlive(pid) ? { running: true, pid, port } : { running: false };
}

function versionOf(dataDir: string): string {
  return fs.readFileSync(path.join(dataDir, "PG_VERSION"), "utf8").trim();
}

/** Starts an existing data directory (a new server, or a restored copy) on the given port. */
export async function startServer(dataDir: string, port: number): Promise<PgServer> {
  if (!fs.existsSync(path.join(dataDir, "PG_VERSION"))) {
    throw new Error(`${dataDir} is not a PostgreSQL data directory`);
  }
  const st = serverStatus(dataDir);
  if (st.running) {
    return { dataDir, port: st.port ?? port, pid: st.pid as number, version: versionOf(dataDir), user: "postgres" };
  }
  fs.rmSync(path.join(dataDir, "postmaster.pid"), { force: true });
  await assertPortFree(port);
  configure(dataDir, port);
  const log = logFileOf(dataDir);
  if (!fs.existsSync(log)) fs.writeFileSync(log, "");
  chownToPg(log, false);
  try {
    // No -w: pg_ctl's own wait polls ten times a second; we poll a connection more often below.
    await asPgUser("pg_ctl", ["-D", dataDir, "-l", log, "-W", "start"], 30_000);
    await waitAccepting(dataDir, port, 120_000);
  } catch (e) {
    const tail = fs.existsSync(log) ? fs.readFileSync(log, "utf8").split("\n").slice(-15).join("\n") : "";
    throw new Error(`PostgreSQL in ${dataDir} did not start on port ${port}: ${(e as Error).message}\n${tail}`);
  }
  const now = serverStatus(dataDir);
  if (!now.running) throw new Error(`PostgreSQL in ${dataDir} exited right after starting; see ${log}`);
  return { dataDir, port, pid: now.pid as number, version: versionOf(dataDir), user: "postgres" };
}

/** Polls a connection until the server answers; fails early when the server has exited. */
async function waitAccepting(dataDir: string, port: number, timeoutMs: number): Promise<void> {
  const { Client } = await import("pg");
  const started = Date.now();
  for (;;) {
    const c = new Client({ host: "127.0.0.1", port, user: "postgres", database: "postgres", connectionTimeoutMillis: 2000 });
    try {
      await c.connect();
      await c.query("SELECT 1");
      return;
    } catch (e) {
      const elapsed = Date.now() - started;
      if (elapsed > timeoutMs) throw new Error(`PostgreSQL on port ${port} does not accept connections: ${(e as Error).message}`);
      if (elapsed > 2000 && !serverStatus(dataDir).running) throw new Error(`PostgreSQL in ${dataDir} exited while starting`);
      await sleep(20);
    } finally {
      await c.end().catch(() => undefined);
    }
  }
}

/** initdb + start + databases. On failure, removes everything it made, then throws. */
export async function initServer(opts: { dataDir: string; port: number; databases?: string[] }): Promise<PgServer> {
  await assertPortFree(opts.port);
  if (fs.existsSync(opts.dataDir) && fs.readdirSync(opts.dataDir).length > 0) {
    throw new Error(`data directory ${opts.dataDir} already exists and is not empty: destroy the old server or choose another directory`);
  }
  fs.mkdirSync(opts.dataDir, { recursive: true, mode: 0o700 });
  try {
    ensureTraversable(opts.dataDir);
    chownToPg(opts.dataDir);
    await asPgUser("initdb", ["-D", opts.dataDir, "-U", "postgres", "--auth=trust", "-E", "UTF8", "--locale=C", "-N"]);
    const server = await startServer(opts.dataDir, opts.port);
    for (const db of opts.databases ?? []) {
      await psql(opts.port, "postgres", `CREATE DATABASE "${db.replace(/"/g, '""')}"`);
    }
    return server;
  } catch (e) {
    await destroyServer(opts.dataDir).catch(() => undefined);
    throw e;
  }
}

export async function stopServer(dataDir: string): Promise<void> {
  const st = serverStatus(dataDir);
  if (!st.running) return;
  try {
    await asPgUser("pg_ctl", ["-D", dataDir, "-m", "fast", "-w", "-t", "60", "stop"], 70_000);
  } catch {
    if (st.pid && isAlive(st.pid)) process.kill(st.pid, "SIGQUIT");
  }
  for (let i = 0; i < 100 && st.pid && isAlive(st.pid); i++) await sleep(50);
}

/** Stops the server and removes its data directory and log. */
export async function destroyServer(dataDir: string): Promise<void> {
  await stopServer(dataDir);
  fs.rmSync(dataDir, { recursive: true, force: true });
  fs.rmSync(logFileOf(dataDir), { force: true });
}

/** Runs SQL with psql over TCP as the superuser; returns unaligned, tuples-only output. */
export async function psql(port: number, db: string, sql: string): Promise<string> {
  const bin = fs.existsSync(path.join(pgBinDir(), "psql")) ? path.join(pgBinDir(), "psql") : "psql";
  const r = await run(bin, ["-h", "127.0.0.1", "-p", String(port), "-U", "postgres", "-d", db, "-X", "-A", "-t", "-q", "-v", "ON_ERROR_STOP=1", "-c", sql], {
    timeoutMs: 60_000,
  });
  return r.stdout.trim();
}
