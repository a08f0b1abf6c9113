// Snapshots and restores of local PostgreSQL servers: the local twins of RDS snapshots.
// A snapshot is a named, immutable, consistent copy of a running server's data directory, taken as a
// low-level base backup (pg_backup_start / copy / pg_backup_stop), so production never stops.
// On a copy-on-write filesystem (XFS with reflink, btrfs) the copy is a thin clone.
import * as fs from "fs";
import * as path from "path";
import { spawnSync } from "child_process";
import { Client } from "pg";
import { assertPortFree, freePort, isAlive, run } from "./proc";
import { chownToPg, destroyServer, PgServer, pgBinDir, startServer, stopServer } from "./postgres";
import { readSchemas } from "./mask";
import type { DatabaseSchema } from "../../masking";

export type CloneMethod = "reflink" | "copy";

export interface SnapshotMeta {
  name: string;
  createdAt: string;
  sizeBytes: number;
  method: CloneMethod;
  pgVersion: string;
  sourceDataDir: string;
  durationMs: number;
  /** Each database's tables and columns when the snapshot was taken (masking rules are checked against it at preview). */
  schema?: Record<string, DatabaseSchema>;
}

/** Whether the filesystem holding dir can make reflinks (thin clones); probed at run time. */
export function cloneMethodFor(dir: string): CloneMethod {
  fs.mkdirSync(dir, { recursive: true });
  const a = path.join(dir, `.reflink-probe-${process.pid}`);
  const b = `${a}.copy`;
  try {
    fs.writeFileSync(a, "probe");
    return spawnSync("cp", ["--reflink=always", a, b]).status === 0 ? "reflink" : "copy";
  } finally {
    fs.rmSync(a, { force: true });
    fs.rmSync(b, { force: true });
  }
}

/** Copies src (a file or folder) to dest: a reflink when the method allows, else a parallel full copy. */
async function copy(src: string, dest: string, method: CloneMethod): Promise<CloneMethod> {
  if (method === "reflink") {
    // Reflinks (FICLONE) of several files at once: the time goes into the filesystem's extent work.
    try {
      await parallelCopy(src, dest, 8, fs.constants.COPYFILE_FICLONE_FORCE);
      return "reflink";
    } catch {
      // A reflink cannot cross filesystems: fall back to a full copy.
      fs.rmSync(dest, { recursive: true, force: true });
    }
  }
  if (process.env.SWITCHYARD_COPY === "parallel") {
    await parallelCopy(src, dest);
  } else {
    await run("cp", ["-a", "--reflink=auto", src, dest], { timeoutMs: 3_600_000 });
  }
  return "copy";
}

/** A thin clone (reflinks) of a tree where the filesystem allows, else a full copy; says which it made. */
export const copyTree = copy;

/**
 * A copy of a tree with several files in flight at once, keeping modes and ownership: full copies
 * (copy_file_range in the kernel through libuv), or reflinks with `COPYFILE_FICLONE_FORCE`.
 */
export async function parallelCopy(src: string, dest: string, concurrency = 4, mode = 0): Promise<void> {
  const files: [string, string, fs.Stats][] = [];
  const walk = (s: string, d: string) => {
    const st = fs.lstatSync(s);
    if (st.isDirectory()) {
      fs.mkdirSync(d, { mode: (st.mode & 0o7777) | 0o700 });
      fs.chownSync(d, st.uid, st.gid);
      for (const e of fs.readdirSync(s)) walk(path.join(s, e), path.join(d, e));
    } else if (st.isSymbolicLink()) {
      fs.symlinkSync(fs.readlinkSync(s), d);
    } else {
      files.push([s, d, st]);
    }
  };
  walk(src, dest);
  files.sort((a, b) => b[2].size - a[2].size);
  let next = 0;
  const worker = async () => {
    while (next < files.length) {
      const [s, d, st] = files[next++];
      await fs.promises.copyFile(s, d, mode);
      await fs.promises.chmod(d, st.mode & 0o7777);
      await fs.promises.chown(d, st.uid, st.gid);
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
}

function dirSize(p: string): number {
  let total = 0;
  const st = fs.lstatSync(p);
  if (st.isDirectory()) {
    for (const e of fs.readdirSync(p)) total += dirSize(path.join(p, e));
  } else {
    total += st.size;
  }
  return total;
}

/** Entries of a data directory a backup leaves out (the server recreates them). */
const SKIPPED = new Set(["pg_wal", "postmaster.pid", "postmaster.opts", "pg_replslot", "pg_stat_tmp"]);

/** The file in a snapshot (half-made or whole) naming the pid of the process that made it. */
const MAKER = "maker.pid";
const PARTIAL = ".partial";

/**
 * Removes the half-made snapshots under a root whose maker is gone (a process killed while it took a
 * backup): a server still running in one (the seal's, which pg_ctl detaches from the killed process
 * group) is stopped first. A half-made snapshot whose maker still runs is left alone. Returns the
 * names of the snapshots removed.
 */
export async function discardStalePartials(snapshotRoot: string): Promise<string[]> {
  if (!fs.existsSync(snapshotRoot)) return [];
  const removed: string[] = [];
  for (const entry of fs.readdirSync(snapshotRoot).filter((n) => n.endsWith(PARTIAL))) {
    const dir = path.join(snapshotRoot, entry);
    let maker = 0;
    try {
      maker = Number(fs.readFileSync(path.join(dir, MAKER), "utf8").trim());
    } catch {
      /* cut short before its maker was written: nobody makes it */
    }
    if (maker > 0 && isAlive(maker)) continue;
    await stopServer(path.join(dir, "data")).catch(() => undefined);
    spawnSync("chmod", ["-R", "u+w", dir]); // it may have been made read-only just before the kill
    fs.rmSync(dir, { recursive: true, force: true });
    removed.push(entry.slice(0, -PARTIAL.length));
  }
  return removed;
}

/**
 * Takes a snapshot of a running server without stopping it. Refuses an existing name. The copy is
 * made in `<name>.partial` and renamed when whole; half-made ones left by a killed maker are removed
 * first.
 */
export async function takeSnapshot(opts: { dataDir: string; port: number; snapshotDir: string; name: string }): Promise<SnapshotMeta> {
  if (fs.existsSync(opts.snapshotDir)) {
    throw new Error(`snapshot ${opts.name} already exists at ${opts.snapshotDir}: choose another name`);
  }
  await discardStalePartials(path.dirname(opts.snapshotDir));
  const started = Date.now();
  const partial = `${opts.snapshotDir}${PARTIAL}`;
  fs.rmSync(partial, { recursive: true, force: true });
  fs.mkdirSync(partial, { recursive: true });
  fs.writeFileSync(path.join(partial, MAKER), `${process.pid}\n`);
  fs.mkdirSync(path.join(partial, "data"));
  let method = cloneMethodFor(partial);
  let schema: Record<string, DatabaseSchema> | undefined;
  const client = new Client({ host: "127.0.0.1", port: opts.port, user: "postgres", database: "postgres", connectionTimeoutMillis: 10_000 });
  try {
    await client.connect().catch((e: NodeJS.ErrnoException) => {
      throw e.code === "ECONNREFUSED"
        ? new Error(`PostgreSQL on 127.0.0.1:${opts.port} refuses connections (ECONNREFUSED): the server is not running`)
        : new Error(`PostgreSQL on 127.0.0.1:${opts.port} cannot be reached: ${e.message}`);
    });
    await client.query("SELECT pg_backup_start($1, true)", [`switchyard ${opts.name}`]);
    let stopped = false;
    try {
      const entries = fs.readdirSync(opts.dataDir).filter((e) => !SKIPPED.has(e));
      const used = await Promise.all(entries.map((e) => copy(path.join(opts.dataDir, e), path.join(partial, "data", e), method)));
      if (used.includes("copy")) method = "copy";
      const r = await client.query("SELECT labelfile, spcmapfile FROM pg_backup_stop(false)");
      stopped = true;
      const label: string = r.rows[0].labelfile;
      fs.writeFileSync(path.join(partial, "data", "backup_label"), label);
      if (r.rows[0].spcmapfile) fs.writeFileSync(path.join(partial, "data", "tablespace_map"), r.rows[0].spcmapfile);
      // The WAL from the backup's start onwards, so recovery reaches a consistent point.
      const first = /START WAL LOCATION: .* \(file ([0-9A-F]{24})\)/.exec(label)?.[1];
      if (!first) throw new Error(`unexpected backup label from pg_backup_stop:\n${label}`);
      const walSrc = path.join(opts.dataDir, "pg_wal");
      const walDest = path.join(partial, "data", "pg_wal");
      fs.mkdirSync(path.join(walDest, "archive_status"), { recursive: true });
      const segments = fs.readdirSync(walSrc).filter((f) => /^[0-9A-F]{24}$/.test(f) && f.slice(8) >= first.slice(8));
      await Promise.all(segments.map((s) => copy(path.join(walSrc, s), path.join(walDest, s), method)));
      for (const e of ["pg_replslot", "pg_stat_tmp"]) fs.mkdirSync(path.join(partial, "data", e), { recursive: true });
    } finally {
      if (!stopped) await client.query("SELECT pg_backup_stop(false)").catch(() => undefined);
    }
    schema = await readSchemas(opts.port).catch(() => undefined);
    await client.end().catch(() => undefined);
    await seal(path.join(partial, "data"));
  } catch (e) {
    await client.end().catch(() => undefined);
    await stopServer(path.join(partial, "data")).catch(() => undefined);
    fs.rmSync(partial, { recursive: true, force: true });
    throw new Error(`snapshot ${opts.name} of ${opts.dataDir} failed: ${(e as Error).message}`);
  }
  const meta: SnapshotMeta = {
    name: opts.name,
    createdAt: new Date().toISOString(),
    sizeBytes: dirSize(path.join(partial, "data")),
    method,
    pgVersion: fs.readFileSync(path.join(partial, "data", "PG_VERSION"), "utf8").trim(),
    sourceDataDir: opts.dataDir,
    durationMs: Date.now() - started,
    ...(schema ? { schema } : {}),
  };
  fs.writeFileSync(path.join(partial, "meta.json"), JSON.stringify(meta, null, 2) + "\n");
  // Immutable: nobody writes into a snapshot; restores copy it.
  spawnSync("chmod", ["-R", "a-w", partial]);
  fs.renameSync(partial, opts.snapshotDir);
  return meta;
}

/**
 * Seals a base-backup copy: starts it once on a spare port, so it replays its WAL to a consistent
 * point, and shuts it down cleanly. A restore then starts a cleanly shut-down directory: no recovery,
 * no flush of every file, so its time is the copy's. It also proves the snapshot restorable.
 */
async function seal(dataDir: string): Promise<void> {
  fs.chmodSync(dataDir, 0o700);
  chownToPg(dataDir);
  await startServer(dataDir, await freePort());
  await stopServer(dataDir);
  for (const f of ["postmaster.opts", "postmaster.pid"]) fs.rmSync(path.join(dataDir, f), { force: true });
  // A cleanly shut-down server needs only the WAL segment of its last checkpoint: drop the rest, so
  // restores copy the data and not recycled WAL.
  const control = (await run(path.join(pgBinDir(), "pg_controldata"), ["-D", dataDir])).stdout;
  const redo = /Latest checkpoint's REDO WAL file:\s+([0-9A-F]{24})/.exec(control)?.[1];
  if (!/Database cluster state:\s+shut down/.test(control) || !redo) {
    throw new Error(`the snapshot did not shut down cleanly after recovery:\n${control}`);
  }
  const wal = path.join(dataDir, "pg_wal");
  for (const f of fs.readdirSync(wal)) {
    if (/^[0-9A-F]{24}$/.test(f) && f !== redo) fs.rmSync(path.join(wal, f));
  }
}

/** Reads a snapshot's record; throws "snapshot <dir> does not exist" when it is missing. */
export function readSnapshot(snapshotDir: string): SnapshotMeta {
  const f = path.join(snapshotDir, "meta.json");
  if (!fs.existsSync(f)) {
    throw new Error(`snapshot ${snapshotDir} does not exist`);
  }
  return JSON.parse(fs.readFileSync(f, "utf8"));
}

/** Snapshots under a root, oldest first. */
export function listSnapshots(snapshotRoot: string): (SnapshotMeta & { dir: string })[] {
  if (!fs.existsSync(snapshotRoot)) return [];
  return fs
    .readdirSync(snapshotRoot)
    .map((n) => path.join(snapshotRoot, n))
    .filter((d) => fs.existsSync(path.join(d, "meta.json")))
    .map((dir) => ({ ...readSnapshot(dir), dir }))
    .sort((a, b) => a.createdAt.localeCompare(b.createdAt));
}

export function latestSnapshot(snapshotRoot: string): (SnapshotMeta & { dir: string }) | undefined {
  const all = listSnapshots(snapshotRoot);
  return all[all.length - 1];
}

/** Makes a new running server from a snapshot: a thin clone where the filesystem allows. */
export async function restoreSnapshot(opts: { snapshotDir: string; dataDir: string; port: number }): Promise<PgServer & { method: CloneMethod; durationMs: number }> {
  readSnapshot(opts.snapshotDir);
  await assertPortFree(opts.port);
  if (fs.existsSync(opts.dataDir)) {
    throw new Error(`data directory ${opts.dataDir} already exists: destroy it first or choose another`);
  }
  const started = Date.now();
  fs.mkdirSync(path.dirname(opts.dataDir), { recursive: true });
  let method = cloneMethodFor(path.dirname(opts.dataDir));
  try {
    method = await copy(path.join(opts.snapshotDir, "data"), opts.dataDir, method);
    spawnSync("chmod", ["-R", "u+w", opts.dataDir]);
    fs.chmodSync(opts.dataDir, 0o700);
    chownToPg(opts.dataDir);
    const server = await startServer(opts.dataDir, opts.port);
    return { ...server, method, durationMs: Date.now() - started };
  } catch (e) {
    await destroyServer(opts.dataDir).catch(() => undefined);
    throw new Error(`restore of ${opts.snapshotDir} failed: ${(e as Error).message}`);
  }
}

export function deleteSnapshot(snapshotDir: string): void {
  fs.rmSync(snapshotDir, { recursive: true, force: true });
}
