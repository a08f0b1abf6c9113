/**
 * Set-up time: `bash scripts/setup.sh` in a fresh `git clone` of HEAD, two ways:
 * - warm: a second clone on the same machine (the Pulumi CLI and the moto venv cached, npm's cache
 *   full); goal: under 60 s;
 * - cold: empty caches: SWITCHYARD_CACHE (no cached CLI, no moto venv), GOMODCACHE, GOCACHE,
 *   npm_config_cache and PIP_CACHE_DIR all pointed at new empty folders, so npm ci downloads every
 *   package and the Pulumi CLI is built from the Go module proxy (about 6 minutes on 2 cores). System
 *   packages (PostgreSQL, HAProxy…) are already installed: a new machine's apt-get is not in it.
 * Every clone and cache is made in a temp folder and removed at the end.
 *
 *   npm run bench:setup
 *   BENCH_SETUP_CASES=warm npm run bench:setup     # the warm case only
 *
 * Env: BENCH_SETUP_CASES (default "warm,cold"), BENCH_DIR (default: the system temp folder).
 */
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { Figure, figure, measured, below, writeBenchResult } from "./result";
import { Line, freshClone, headCommit, removeTree, reportFailure, runShown, shellEnv, withCleanup } from "./support";

const ROOT = path.resolve(__dirname, "..");

export type SetupCase = "warm" | "cold";

/** "warm,cold" → ["warm", "cold"]; throws on anything else. */
export function parseCases(text: string | undefined): SetupCase[] {
    const cases = (text ?? "warm,cold").split(",").map((s) => s.trim()).filter(Boolean);
    const bad = cases.filter((c) => c !== "warm" && c !== "cold");
    if (bad.length > 0 || cases.length === 0) throw new Error(`BENCH_SETUP_CASES: "${text}" is not a list of warm, cold`);
    return [...new Set(cases)] as SetupCase[];
}

/** The parts of a set-up run, in seconds, read from when its lines were printed. */
export interface SetupPhases {
    /** `npm ci`, when it ran. */
    readonly npmCiS?: number;
    /** The Pulumi CLI build from the Go module proxy, when it ran. */
    readonly cliBuildS?: number;
    /** The moto venv, when it was made. */
    readonly motoS?: number;
    /** What setup.sh itself printed ("setup: ready in N s"). */
    readonly readyS?: number;
}

/** Reads the phases of a set-up from its time-stamped output lines (pure). */
export function phasesOf(lines: readonly Line[]): SetupPhases {
    const at = (re: RegExp, from = 0) => {
        const i = lines.findIndex((l, j) => j >= from && re.test(l.text));
        return i < 0 ? undefined : i;
    };
    /** From the line matching `start` to the first line after it matching `end` (or the next line). */
    const span = (start: RegExp, end?: RegExp) => {
        const i = at(start);
        if (i === undefined) return undefined;
        const j = end ? at(end, i + 1) : i + 1 < lines.length ? i + 1 : undefined;
        return j === undefined ? undefined : (lines[j].atMs - lines[i].atMs) / 1000;
    };
    const ready = lines.map((l) => l.text.match(/^setup: ready in (\d+) s/)).find(Boolean);
    return {
        npmCiS: span(/^setup: installing npm dependencies/),
        cliBuildS: span(/building the Pulumi CLI/, /^setup: Pulumi CLI \S+ in /),
        motoS: span(/^setup: installing moto/, /^setup: ready in/),
        readyS: ready ? Number(ready[1]) : undefined,
    };
}

async function main(): Promise<void> {
    const started = new Date();
    const cases = parseCases(process.env.BENCH_SETUP_CASES);
    const commit = headCommit(ROOT);
    const base = fs.mkdtempSync(path.join(process.env.BENCH_DIR ?? os.tmpdir(), "switchyard-bench-setup-"));
    const figures: Figure[] = [];
    const notes: string[] = [`A fresh \`git clone\` of HEAD (${commit.slice(0, 10)}) for each case; uncommitted changes are not in it.`];
    const rows: string[] = [];
    let failed = "";
    await withCleanup(
        async () => {
            for (const c of cases) {
                const clone = path.join(base, `clone-${c}`);
                freshClone(ROOT, commit, clone);
                const caches = path.join(base, `caches-${c}`);
                const extra: Record<string, string> =
                    c === "cold"
                        ? {
                              SWITCHYARD_CACHE: path.join(caches, "switchyard"),
                              GOMODCACHE: path.join(caches, "gomod"),
                              GOCACHE: path.join(caches, "gobuild"),
                              npm_config_cache: path.join(caches, "npm"),
                              PIP_CACHE_DIR: path.join(caches, "pip"),
                          }
                        : {};
                for (const d of Object.values(extra)) fs.mkdirSync(d, { recursive: true });
                const env = shellEnv(extra);
                if (c === "cold") delete env.SWITCHYARD_PULUMI_DIR;
                process.stdout.write(`\n${c} set-up: bash scripts/setup.sh in a fresh clone${c === "cold" ? ", every cache empty" : ""}\n`);
                const r = await runShown("bash", ["scripts/setup.sh"], { cwd: clone, env, prefix: `  ${c} │ ` });
                const s = r.ms / 1000;
                const p = phasesOf(r.lines);
                if (r.code !== 0) {
                    failed += `${c} set-up exited ${r.code ?? r.signal}; `;
                    figures.push(figure(`${c} set-up: exit code`, r.code ?? String(r.signal), "", { goal: "= 0", met: false }));
                    continue;
                }
                if (c === "warm") {
                    figures.push(measured("warm set-up (second clone: CLI and moto cached)", s, "s", below(60, "s")));
                    if (p.cliBuildS !== undefined || p.motoS !== undefined) {
                        notes.push("The tool cache was not full: the warm set-up built the Pulumi CLI or the moto venv, so it was not a warm run.");
                    }
                    rows.push(`| warm: a second clone on the same machine (CLI and moto cached) | ${s.toFixed(1)} s | \`time bash scripts/setup.sh\` in a fresh clone |`);
                } else {
                    figures.push(figure("cold set-up (every cache empty)", s, "s"));
                    if (p.npmCiS !== undefined) figures.push(figure("cold set-up: npm ci with an empty npm cache", p.npmCiS, "s"));
                    if (p.cliBuildS !== undefined) figures.push(figure("cold set-up: Pulumi CLI build from the Go module proxy", p.cliBuildS, "s"));
                    else notes.push("The cold set-up did not build the Pulumi CLI (a compatible `pulumi` on PATH was used).");
                    if (p.motoS !== undefined) figures.push(figure("cold set-up: moto venv from PyPI", p.motoS, "s"));
                    rows.push(
                        `| cold: empty npm, pip, Go module and build caches, no cached CLI, no moto venv (system packages already present) | ${s.toFixed(0)} s` +
                            `${p.cliBuildS !== undefined ? ` (the Pulumi CLI build: ${p.cliBuildS.toFixed(0)} s)` : ""} | ` +
                            "`SWITCHYARD_CACHE=… GOMODCACHE=… GOCACHE=… npm_config_cache=… PIP_CACHE_DIR=… time bash scripts/setup.sh` in a fresh clone |",
                    );
                }
                removeTree(clone);
                removeTree(caches);
            }
        },
        () => removeTree(base),
    );
    if (!cases.includes("cold")) notes.push("The cold case was skipped (BENCH_SETUP_CASES).");
    if (!cases.includes("warm")) notes.push("The warm case was skipped (BENCH_SETUP_CASES).");
    notes.push("Set-up on a new machine (apt-get of HAProxy and xfsprogs, then a whole CI run) is not measured here: run `../shared/tools/fresh-ci` on a fresh machine.");
    writeBenchResult({
        name: "setup",
        title: "Set-up time",
        command: process.env.BENCH_SETUP_CASES ? `BENCH_SETUP_CASES=${cases.join(",")} npm run bench:setup` : "npm run bench:setup",
        startedAt: started.toISOString(),
        durationMs: Date.now() - started.getTime(),
        figures,
        notes,
        markdown: rows.length ? ["| case | time | command |", "|---|---|---|", ...rows].join("\n") : undefined,
    });
    if (failed) throw new Error(failed);
}

if (require.main === module) main().catch(reportFailure);
