/**
 * Clone speed: snapshot → running sandbox server, on a reflink filesystem (a loop-mounted XFS image)
 * and on the ordinary filesystem, against a raw `cp -a` of the same data directory.
 *
 * Run: npm run bench:clone   (as root: it mounts and removes an XFS image). Reports its figures through
 * bench/result.ts; run alone (BENCH_JSON unset) it also appends its own section to bench/RESULTS.md.
 * Env: BENCH_SCALES="68,340" (pgbench scale factors: 68 ≈ 1 GB, 340 ≈ 5 GB), BENCH_DIR (default /var/tmp).
 */
import * as fs from "fs";
import * as path from "path";
import { spawnSync } from "child_process";
import * as ops from "../components/local/ops";
import { Figure, atMost, figure, measured, writeBenchResult } from "./result";
import { reportFailure, withCleanup } from "./support";

const scales = (process.env.BENCH_SCALES ?? "68,340").split(",").map(Number);
const base = path.join(process.env.BENCH_DIR ?? "/var/tmp", `switchyard-bench-${process.pid}`);
const img = `${base}.img`;
const xfs = path.join(base, "xfs");
const ext = path.join(base, "plain");

function sh(cmd: string, args: string[]): string {
    const r = spawnSync(cmd, args, { encoding: "utf8" });
    if (r.status !== 0) throw new Error(`${cmd} ${args.join(" ")}: ${r.stderr}`);
    return r.stdout;
}
function dropCaches(): void {
    spawnSync("sync");
    try {
        fs.writeFileSync("/proc/sys/vm/drop_caches", "3");
    } catch {
        /* not allowed: measured with warm caches */
    }
}
async function timed<T>(fn: () => Promise<T> | T): Promise<[T, number]> {
    dropCaches();
    const t = process.hrtime.bigint();
    const v = await fn();
    return [v, Number(process.hrtime.bigint() - t) / 1e6];
}

function cleanup(): void {
    spawnSync("pkill", ["-f", base]);
    spawnSync("umount", [xfs]);
    fs.rmSync(base, { recursive: true, force: true });
    fs.rmSync(img, { force: true });
}

async function main(): Promise<void> {
    const started = new Date();
    if (process.getuid?.() !== 0) throw new Error("the bench mounts an XFS image: run it as root");
    const rows: string[] = [];
    fs.mkdirSync(xfs, { recursive: true });
    fs.mkdirSync(ext, { recursive: true });
    sh("truncate", ["-s", "40G", img]);
    sh("mkfs.xfs", ["-q", "-m", "reflink=1", img]);
    sh("mount", ["-o", "loop", img, xfs]);
    const extMethod = ops.cloneMethodFor(ext);
    console.log(`reflink on the XFS image: ${ops.cloneMethodFor(xfs)}; on ${path.dirname(base)}: ${extMethod}`);
    let port = 25432;
    const results: Record<number, { size: number; xfsRestore: number; xfsSnap: number; plainRestore: number; cp: number }> = {};
    for (const scale of scales) {
        const src = path.join(xfs, `src-${scale}`);
        const srv = await ops.initServer({ dataDir: src, port: port++, databases: ["bench"] });
        console.log(`scale ${scale}: building with pgbench -i …`);
        sh(path.join(ops.pgBinDir(), "pgbench"), ["-i", "-q", "-s", String(scale), "-h", "127.0.0.1", "-p", String(srv.port), "-U", "postgres", "bench"]);
        await ops.psql(srv.port, "bench", "CHECKPOINT");
        const size = Number(sh("du", ["-sb", src]).split("\t")[0]);

        // Reflink: snapshot and restore on the XFS image.
        const [, xfsSnap] = await timed(() => ops.takeSnapshot({ dataDir: src, port: srv.port, snapshotDir: path.join(xfs, `snap-${scale}`), name: `s${scale}` }));
        const [r1, xfsRestore] = await timed(() => ops.restoreSnapshot({ snapshotDir: path.join(xfs, `snap-${scale}`), dataDir: path.join(xfs, `restored-${scale}`), port: port++ }));
        const rows1 = await ops.psql(r1.port, "bench", "SELECT count(*) FROM pgbench_accounts");
        await ops.destroyServer(r1.dataDir);

        // No reflink: snapshot onto the plain filesystem, restore there, against cp -a of the same data.
        await ops.takeSnapshot({ dataDir: src, port: srv.port, snapshotDir: path.join(ext, `snap-${scale}`), name: `p${scale}` });
        // Baseline: a raw cp -a of the production data directory, from a copy of it on the same filesystem.
        await ops.stopServer(src);
        sh("cp", ["-a", src, path.join(ext, `prod-${scale}`)]);
        await ops.startServer(src, srv.port);
        const [, cp] = await timed(() => sh("cp", ["-a", path.join(ext, `prod-${scale}`), path.join(ext, `cp-${scale}`)]));
        for (const d of [`cp-${scale}`, `prod-${scale}`]) fs.rmSync(path.join(ext, d), { recursive: true, force: true });
        const [r2, plainRestore] = await timed(() => ops.restoreSnapshot({ snapshotDir: path.join(ext, `snap-${scale}`), dataDir: path.join(ext, `restored-${scale}`), port: port++ }));
        const rows2 = await ops.psql(r2.port, "bench", "SELECT count(*) FROM pgbench_accounts");
        await ops.destroyServer(r2.dataDir);
        await ops.destroyServer(src);
        for (const d of [`snap-${scale}`]) {
            fs.rmSync(path.join(xfs, d), { recursive: true, force: true });
            fs.rmSync(path.join(ext, d), { recursive: true, force: true });
        }
        results[scale] = { size, xfsRestore, xfsSnap, plainRestore, cp };
        console.log(`scale ${scale}: ${(size / 1e9).toFixed(2)} GB; rows ${rows1}/${rows2}; xfs snapshot ${xfsSnap.toFixed(0)} ms, restore ${xfsRestore.toFixed(0)} ms; plain restore ${plainRestore.toFixed(0)} ms vs cp -a ${cp.toFixed(0)} ms`);
        rows.push(
            `| ${scale} | ${(size / 1e9).toFixed(2)} GB | ${xfsSnap.toFixed(0)} ms | ${xfsRestore.toFixed(0)} ms | ${plainRestore.toFixed(0)} ms (${extMethod}) | ${cp.toFixed(0)} ms | ${(plainRestore / cp).toFixed(2)}× |`,
        );
    }
    const [a, b] = scales.map((s) => results[s]);
    const description = [
        "Command: `npm run bench:clone` (scales " + scales.join(", ") + "; page cache dropped before every timed step).",
        "Restore = snapshot directory → new data directory → server started → accepting connections. Snapshots are sealed",
        "when taken (WAL replayed once, clean shutdown, spent WAL dropped), so a restore is a copy plus a normal start.",
        "Raw `cp -a` = a copy of the production data directory (stopped, on the same filesystem).",
    ];
    const table = [
        "| pgbench scale | data dir | snapshot (XFS reflink) | restore (XFS reflink) | restore (no reflink) | raw `cp -a` | no-reflink restore / cp |",
        "|---|---|---|---|---|---|---|",
        ...rows,
    ];
    const figures: Figure[] = scales.flatMap((scale) => {
        const r = results[scale];
        return [
            figure(`data directory, scale ${scale}`, Number((r.size / 1e9).toFixed(2)), "GB"),
            figure(`snapshot (XFS reflink), scale ${scale}`, Math.round(r.xfsSnap), "ms"),
            measured(`restore (XFS reflink), scale ${scale}`, Math.round(r.xfsRestore), "ms", atMost(1000, "ms")),
            figure(`restore (no reflink: ${extMethod}), scale ${scale}`, Math.round(r.plainRestore), "ms"),
            figure(`raw cp -a, scale ${scale}`, Math.round(r.cp), "ms"),
            measured(`no-reflink restore / raw cp -a, scale ${scale}`, Number((r.plainRestore / r.cp).toFixed(2)), "×", atMost(1.0, "×")),
        ];
    });
    if (a && b) {
        figures.push(measured(`reflink restore, scale ${scales[1]} / scale ${scales[0]}`, Number((b.xfsRestore / a.xfsRestore).toFixed(2)), "×", atMost(1.5, "×")));
    }
    writeBenchResult({
        name: "clone",
        title: "Clone speed",
        command: process.env.BENCH_SCALES ? `BENCH_SCALES=${scales.join(",")} npm run bench:clone` : "npm run bench:clone",
        startedAt: started.toISOString(),
        durationMs: Date.now() - started.getTime(),
        figures,
        notes: [
            `pgbench scales ${scales.join(", ")}; the page cache dropped before every timed step.`,
            "Restore = snapshot directory → new data directory → server started → accepting connections.",
            "Snapshots are sealed when taken (WAL replayed once, clean shutdown, spent WAL dropped), so a restore is a copy plus a normal start.",
            "Raw `cp -a` = a copy of the production data directory (stopped, on the same filesystem).",
        ],
        markdown: table.join("\n"),
    });
    if (process.env.BENCH_JSON) return; // npm run bench writes the section
    const lines = ["", `### Clone speed, ${new Date().toISOString().slice(0, 16)}Z`, "", ...description, "", ...table, ""];
    if (a && b) {
        const ratio = b.xfsRestore / a.xfsRestore;
        lines.push(
            `- Goal: reflink restore ≤ 1 s: ${Math.max(a.xfsRestore, b.xfsRestore) <= 1000 ? "met" : "**missed (gap)**"}; 5 GB ≤ 1.5× 1 GB: ${ratio.toFixed(2)}× — ${ratio <= 1.5 ? "met" : "**missed (gap)**"}.`,
        );
        const worst = Math.max(a.plainRestore / a.cp, b.plainRestore / b.cp);
        lines.push(`- Goal: no-reflink restore ≤ 1.0× raw cp -a: worst ${worst.toFixed(2)}× — ${worst <= 1.0 ? "met" : "**missed (gap)**"}.`, "");
    }
    fs.appendFileSync(path.join(__dirname, "RESULTS.md"), lines.join("\n"));
    console.log(lines.join("\n"));
}

withCleanup(main, cleanup).catch(reportFailure);
