/**
 * The kill suite as a bench: runs `npx mocha test/kills.test.ts` (with KILL_SEED when a seed is
 * given), shows its output as it comes, and reports its figures through bench/result.ts, read from the
 * lines the suite prints: the seed, the per-phase table, the recoveries, HAProxy's weight samples and
 * the load through it. Exits with the suite's exit code.
 *
 *   bash bench/kills.sh              # a new random seed (printed)
 *   bash bench/kills.sh 425896122    # replay a seed
 */
import * as path from "path";
import { Figure, atLeast, equals, figure, measured, writeBenchResult } from "./result";
import { reportFailure, runShown } from "./support";

const ROOT = path.resolve(__dirname, "..");

/** One row of the suite's per-phase table. */
export interface PhaseRow {
    readonly phase: string;
    readonly kills: number;
    readonly consistent: number;
}

/** What the suite's output says. A field is undefined when the suite did not get to print it. */
export interface KillSummary {
    readonly seed?: number;
    readonly rows: readonly PhaseRow[];
    readonly kills?: number;
    readonly consistent?: number;
    /** Recovery commands after the kills, by command ("resume", "revert"). */
    readonly recoveries: Readonly<Record<string, number>>;
    readonly staleLocks?: number;
    readonly pendingCleared?: number;
    readonly samples?: number;
    readonly sampleSeconds?: number;
    /** Weight samples that were not a valid split: 0 when that test passed. */
    readonly badSamples?: number;
    readonly answered?: number;
    readonly injected?: number;
    readonly otherFailures?: number;
    readonly passed?: number;
    readonly failed?: number;
}

/** Reads the kill suite's output (pure). */
export function parseKillOutput(text: string): KillSummary {
    const num = (re: RegExp) => {
        const m = text.match(re);
        return m ? Number(m[1]) : undefined;
    };
    const rows: PhaseRow[] = [];
    let kills: number | undefined;
    let consistent: number | undefined;
    for (const m of text.matchAll(/^\s*\| (.+?) \| \**(\d+)\** \| \**(\d+)\** \|\s*$/gm)) {
        if (m[1] === "**all**") {
            kills = Number(m[2]);
            consistent = Number(m[3]);
        } else {
            rows.push({ phase: m[1], kills: Number(m[2]), consistent: Number(m[3]) });
        }
    }
    const recoveries: Record<string, number> = {};
    for (const m of text.matchAll(/^\s*kill\s+\d+\/\d+ .* → (resume|revert) exit \d+/gm)) recoveries[m[1]] = (recoveries[m[1]] ?? 0) + 1;
    const splitPassed = /✔ HAProxy served a valid split/.test(text);
    return {
        seed: num(/kill suite seed: (\d+)/),
        rows,
        kills,
        consistent,
        recoveries,
        staleLocks: num(/stale engine locks cleared: (\d+)/),
        pendingCleared: num(/pending operations cleared: (\d+)/),
        samples: num(/(\d+) weight samples over \d+ s/),
        sampleSeconds: num(/\d+ weight samples over (\d+) s/),
        badSamples: num(/(\d+) bad samples/) ?? (splitPassed ? 0 : undefined),
        answered: num(/load: (\d+) answered/),
        injected: num(/(\d+) injected failures/),
        otherFailures: num(/(\d+) other failures/),
        passed: num(/^(\d+) passed, \d+ failed/m),
        failed: num(/^\d+ passed, (\d+) failed/m),
    };
}

/** The figures of a summary; a figure the suite did not print is left out (the exit code tells). */
export function killFigures(s: KillSummary, wallS: number): Figure[] {
    const f: Figure[] = [];
    if (s.kills !== undefined) f.push(measured("kills (SIGKILL of the whole process group)", s.kills, "", atLeast(20)));
    if (s.kills !== undefined && s.consistent !== undefined) {
        f.push(figure("consistent endings", s.consistent, "", { goal: `= ${s.kills} (every kill)`, met: s.kills > 0 && s.consistent === s.kills }));
    }
    for (const [cmd, n] of Object.entries(s.recoveries).sort()) f.push(figure(`recoveries by \`${cmd}\``, n, ""));
    if (s.staleLocks !== undefined) f.push(figure("stale engine locks cleared on the way", s.staleLocks, ""));
    if (s.samples !== undefined) f.push(figure(`HAProxy weight samples (10 Hz, over ${s.sampleSeconds} s)`, s.samples, ""));
    if (s.badSamples !== undefined) f.push(measured("weight samples that were not a valid split", s.badSamples, "", equals(0)));
    if (s.answered !== undefined) f.push(figure("answers through HAProxy under steady load", s.answered, ""));
    if (s.injected !== undefined) f.push(figure("failures injected into the new color", s.injected, ""));
    if (s.otherFailures !== undefined) f.push(measured("other failed requests", s.otherFailures, "", equals(0)));
    if (s.failed !== undefined) f.push(measured("tests of the suite failed", s.failed, "", equals(0)));
    f.push(figure("the suite's wall time", Math.round(wallS), "s"));
    return f;
}

/** The per-phase table as markdown. */
export function phaseTable(s: KillSummary): string | undefined {
    if (s.rows.length === 0) return undefined;
    return [
        "| phase killed in | kills | consistent endings |",
        "|---|---|---|",
        ...s.rows.map((r) => `| ${r.phase} | ${r.kills} | ${r.consistent} |`),
        `| **all** | **${s.kills ?? "?"}** | **${s.consistent ?? "?"}** |`,
    ].join("\n");
}

async function main(): Promise<void> {
    const started = new Date();
    const seedArg = process.argv[2];
    if (seedArg !== undefined && !/^\d+$/.test(seedArg)) throw new Error(`the seed must be a number: "${seedArg}"`);
    const env = { ...process.env, ...(seedArg !== undefined ? { KILL_SEED: seedArg } : {}) };
    const r = await runShown("npx", ["mocha", "test/kills.test.ts"], { cwd: ROOT, env });
    const s = parseKillOutput(r.lines.map((l) => l.text).join("\n"));
    const seed = s.seed ?? (seedArg !== undefined ? Number(seedArg) : undefined);
    writeBenchResult({
        name: "kills",
        title: "Kill suite",
        command: seed !== undefined ? `bash bench/kills.sh ${seed}` : "bash bench/kills.sh",
        startedAt: started.toISOString(),
        durationMs: Date.now() - started.getTime(),
        figures: killFigures(s, r.ms / 1000),
        markdown: phaseTable(s),
        notes: [
            `Seed ${seed ?? "not printed"}; \`bash bench/kills.sh ${seed ?? "<seed>"}\` replays its schedule and delays.`,
            "A local pair (PostgreSQL, two app processes, HAProxy) under steady load through HAProxy; cutover commands had their whole process group " +
                "(CLI, Pulumi engine, plugins) SIGKILLed at a random instant, then `resume` or `revert` ran with no manual step.",
            "An ending is consistent when the command exited 0 (or 1 with a gate's verdict, never a lock or engine error), `status --json` showed state, " +
                "config and router in agreement with no intent left, a preview showed no change, and no process of the killed group or half-made snapshot was left.",
        ],
    });
    process.exitCode = r.code ?? 1;
}

if (require.main === module) main().catch(reportFailure);
