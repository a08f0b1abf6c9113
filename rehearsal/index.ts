/**
 * Migration rehearsal on a sandbox: the release's migrations run forward, back and forward again on
 * the sandbox's copy of production data, with a fingerprint of the database after each phase and
 * integrity checks (see `core.ts` for what is judged). Never on production: the stack must be a
 * sandbox.
 *
 * The migration command follows the convention of most migration tools: `<command> up` applies what
 * is pending, `<command> down <n>` undoes the last n. It runs with `DATABASE_URL` set to the
 * sandbox's database, in the project folder.
 *
 * The SQL of each migration the forward run applied is linted (`lint.ts`): statements that take long
 * locks or break the live version are named with their fix, and fail the rehearsal. While the
 * forward run goes, a second connection samples `pg_stat_activity` and `pg_locks`, so the verdict
 * records how long each migration ran and held its table locks on the sandbox's copy of production
 * data: the expected cost in production (`cost.ts`).
 *
 * When the sandbox's production pair is in database mode `replicated` (or when asked), the same SQL is
 * checked to be additive over the tables the sandbox held before it (the live color's, all of which
 * replicate): DDL is not replicated, so a migration applied to green alone must leave every row blue
 * writes applicable on green (`additive.ts`).
 *
 * @example
 * const r = await rehearse({ stackName: "local-sandbox" }, { command: "node examples/app/migrate.js" });
 * if (!r.verdict.ok) console.log(formatVerdict(r.verdict));
 */
import { spawn } from "child_process";
import * as fs from "fs";
import * as path from "path";
import { openStack, projectOf, StackTarget, StateResource, stateResources, UserError } from "../stack/run";
import { chooseSandbox } from "../stack/pairs";
import { migrationsDir as projectMigrationsDir } from "../stack/impactRun";
import { REHEARSAL_SUITE } from "../stack/impact";
import { recordTestRun, sandboxTarget } from "../stack/testRuns";
import { OUTPUT_TAIL_CHARS } from "../components/testRuns";
import { CONFIG_KEYS } from "../components/types";
import { DbFingerprint, formatVerdict, judgeRehearsal, RehearsalFingerprints, RehearsalVerdict, ReplicationCheck } from "./core";
import { checkAdditive } from "./additive";
import { measureCosts } from "./cost";
import { lintMigrations, MigrationSql } from "./lint";
import { fingerprint, sampleActivity } from "./postgres";

export * from "./core";
export * from "./cost";
export * from "./lint";
export * from "./additive";
export { fingerprint, sampleActivity } from "./postgres";

/** `application_name` of the migration command's connections (through `PGAPPNAME`), so the lock samples tell them from the app's. */
export const REHEARSAL_APPLICATION = "switchyard-rehearsal";

/** `switchyard:migrations` in a sandbox stack's config. */
export interface MigrationsConfig {
    /**
     * The migration command: `<command> up` and `<command> down <n>` are run.
     * @example "node examples/app/migrate.js"
     */
    readonly command?: string;
    /**
     * The table where the tool records the migrations applied (its first column is the id).
     * @default "schema_migrations"
     */
    readonly table?: string;
    /**
     * The folder of the migrations' SQL files, relative to the project folder: `<id>.up.sql`,
     * `<id>.sql`, or a `.sql` file (not `.down.sql`) whose name starts with `<id>_`. The rehearsal
     * lints the SQL of each migration it applies; one whose SQL is not found fails it.
     * @default "migrations" beside the command's script (e.g. examples/app/migrations for
     * "node examples/app/migrate.js"), else "migrations" in the project folder
     */
    readonly dir?: string;
}

export interface RehearseOptions extends MigrationsConfig {
    /**
     * Rehearse the last n migrations already applied (in production, and so in the sandbox) as if
     * they were new: they are undone first, then run forward, back and forward again. With 0, the
     * pending ones are rehearsed.
     * @default 0
     */
    readonly last?: number;
    /** The database. @default the sandbox's `databaseUrl` output */
    readonly databaseUrl?: string;
    /** Working directory of the command. @default the project folder */
    readonly cwd?: string;
    /** Progress lines. */
    readonly onProgress?: (line: string) => void;
    /**
     * How often the forward run's locks are sampled, in ms.
     * @default 10
     */
    readonly sampleIntervalMs?: number;
    /**
     * Record the rehearsal in the sandbox stack's state as a test run of the suite `rehearsal` (passed
     * or failed, with the candidate version), where a high-risk cutover looks for a passing one.
     * @default false (the CLI's `rehearse` records unless --no-record)
     */
    readonly record?: boolean;
    /**
     * Check that the migrations are additive for logical replication (they will run on green alone
     * while blue's writes replicate to it): a statement that is not fails the rehearsal, named.
     * @default true when the sandbox's production pair is in database mode `replicated` (as the
     * sandbox's reference to the production stack read it at its last `up`), else false
     */
    readonly replicated?: boolean;
}

export interface RehearsalResult {
    readonly verdict: RehearsalVerdict;
    readonly fingerprints: RehearsalFingerprints;
    readonly databaseUrl: string;
}

/** A migration command failed: the phase, the exit code and the end of its output. */
export class MigrationFailed extends Error {
    constructor(
        readonly phase: string,
        readonly output: string,
        code: number | null,
    ) {
        super(`the migration command failed while ${phase} (exit ${code}):\n${output.trim().split("\n").slice(-15).join("\n")}`);
        this.name = "MigrationFailed";
    }
}

function runCommand(command: string, args: string, url: string, cwd: string, phase: string): Promise<string> {
    return new Promise((resolve, reject) => {
        const env = { ...process.env, DATABASE_URL: url, PGAPPNAME: REHEARSAL_APPLICATION };
        const child = spawn("sh", ["-c", `${command} ${args}`], { cwd, env, stdio: ["ignore", "pipe", "pipe"] });
        let out = "";
        child.stdout.on("data", (d) => (out += d));
        child.stderr.on("data", (d) => (out += d));
        child.on("error", (e) => reject(new MigrationFailed(phase, e.message, null)));
        child.on("close", (code) => (code === 0 ? resolve(out) : reject(new MigrationFailed(phase, out, code))));
    });
}

/**
 * Reads the sandbox's database URL from its state (the stack's sandbox component) and the migration
 * settings from its config. A stack with a blue-green pair and no sandbox is production: refused.
 */
async function sandboxOf(target: StackTarget, sandboxName?: string): Promise<{ url?: string; config: MigrationsConfig; replicatedProduction?: string }> {
    const stack = await openStack(target);
    const resources = await stateResources(stack);
    const sb = chooseSandbox(
        resources,
        target.stackName,
        "migrations are rehearsed on a sandbox, never on production. " +
            "Bring up a sandbox restored from production's latest snapshot (e.g. `switchyard up local-sandbox`) and rehearse there",
        sandboxName,
    );
    const raw = (await stack.getAllConfig())[CONFIG_KEYS.migrations]?.value;
    let config: MigrationsConfig = {};
    try {
        config = raw ? (JSON.parse(raw) as MigrationsConfig) : {};
    } catch {
        throw new UserError(`${CONFIG_KEYS.migrations} in stack "${target.stackName}" is not valid JSON: ${raw}`);
    }
    const replicatedProduction = replicatedProductionIn(resources);
    return { url: sb.outputs.databaseUrl as string | undefined, config, ...(replicatedProduction ? { replicatedProduction } : {}) };
}

/**
 * Pure: the production stack a sandbox's state references whose pair is in database mode
 * `replicated` (its `databaseMode` output, as the sandbox's StackReference read it), or undefined.
 */
export function replicatedProductionIn(resources: readonly StateResource[]): string | undefined {
    const ref = resources.find((r) => r.type === "pulumi:pulumi:StackReference" && (r.outputs.outputs as { databaseMode?: unknown } | undefined)?.databaseMode === "replicated");
    return ref ? String(ref.outputs.name) : undefined;
}

/** Runs the rehearsal on a sandbox stack and judges it. */
export async function rehearse(target: StackTarget, opts: RehearseOptions = {}): Promise<RehearsalResult> {
    if (!opts.record) {
        return rehearseOnce(target, opts);
    }
    const startedAt = new Date().toISOString();
    const t0 = Date.now();
    let result: RehearsalResult | undefined;
    let failure: unknown;
    try {
        result = await rehearseOnce(target, opts);
    } catch (e) {
        failure = e;
        if (!(e instanceof MigrationFailed)) throw e;
    }
    const stack = await openStack(target);
    const sb = await sandboxTarget(stack, target.stackName);
    const tail = result ? formatVerdict(result.verdict) : (failure as Error).message;
    await recordTestRun(
        target,
        {
            suite: REHEARSAL_SUITE,
            version: sb.version,
            passed: result?.verdict.ok === true,
            exitCode: result?.verdict.ok === true ? 0 : 1,
            durationMs: Date.now() - t0,
            startedAt,
            sandbox: sb.sandbox,
            command: `switchyard rehearse ${target.stackName}${opts.last ? ` --last ${opts.last}` : ""}`,
            outputTail: tail.slice(-OUTPUT_TAIL_CHARS),
        },
        stack,
    );
    if (failure) throw failure;
    return result as RehearsalResult;
}

async function rehearseOnce(target: StackTarget, opts: RehearseOptions): Promise<RehearsalResult> {
    const last = opts.last ?? 0;
    if (!Number.isInteger(last) || last < 0) {
        throw new UserError(`--last is ${last}: give the number of applied migrations to rehearse (0 for the pending ones)`);
    }
    const sb = await sandboxOf(target);
    const command = opts.command ?? sb.config.command;
    if (!command) {
        throw new UserError(`no migration command: set switchyard:migrations.command in stack "${target.stackName}" (e.g. "node examples/app/migrate.js"), or pass --command`);
    }
    const url = opts.databaseUrl ?? sb.url;
    if (!url) {
        throw new UserError(`stack "${target.stackName}" exports no databaseUrl reachable from here: pass --database-url`);
    }
    const cwd = opts.cwd ?? projectOf(target).root;
    const configuredDir = opts.dir ?? sb.config.dir;
    if (configuredDir !== undefined) {
        const key = opts.dir !== undefined ? "--migrations-dir" : `${CONFIG_KEYS.migrations}.dir in stack "${target.stackName}"`;
        if (typeof configuredDir !== "string" || !fs.statSync(path.resolve(cwd, configuredDir), { throwIfNoEntry: false })?.isDirectory()) {
            throw new UserError(`${key} is ${JSON.stringify(configuredDir)}, which is not a folder (relative to ${cwd}): give the folder of the migrations' .sql files`);
        }
    }
    const say = opts.onProgress ?? (() => undefined);
    const fp = () => fingerprint(url, { migrationsTable: opts.table ?? sb.config.table });
    const tables = (f: DbFingerprint) => `${Object.keys(f.tables).length} tables, ${Object.values(f.tables).reduce((a, t) => a + t.rows, 0)} rows, migrations [${f.migrations.join(", ")}]`;

    if (last > 0) {
        say(`undo the last ${last} migration(s) so they can be rehearsed as new: ${command} down ${last}`);
        await runCommand(command, `down ${last}`, url, cwd, `undoing the last ${last} migration(s) before the rehearsal`);
    }
    const start = await fp();
    say(`start:   ${tables(start)}`);
    say(`forward: ${command} up`);
    const interval = opts.sampleIntervalMs ?? 10;
    const sampler = await sampleActivity(url, interval);
    try {
        await runCommand(command, "up", url, cwd, "running forward");
    } catch (e) {
        await sampler.stop().catch(() => undefined); // the migration's failure is the one to report
        throw e;
    }
    const samples = await sampler.stop();
    const forward = await fp();
    say(`         ${tables(forward)}`);
    const applied = forward.migrations.filter((m) => !start.migrations.includes(m));
    const dir = migrationsDir(command, cwd, configuredDir);
    const sql = readMigrationSql(dir, applied);
    const findings = await lintMigrations(sql.found);
    say(`lint:    ${findings.length} statement(s) named in the SQL of ${sql.found.length} migration(s) from ${path.relative(cwd, dir) || "."}${sql.missing.length ? `; ${sql.missing.length} not found` : ""}`);
    const replication = await replicationCheck(opts.replicated, sb.replicatedProduction, start, sql.found);
    if (replication) {
        say(`replication: ${replication.breaks.length} statement(s) not additive over ${replication.tables.length} replicated table(s) (${replication.because})`);
    }
    const cost = measureCosts(samples, sql.found, { intervalMs: interval, application: REHEARSAL_APPLICATION, ignoreTables: [opts.table ?? sb.config.table ?? "schema_migrations"] });
    const n = applied.length;
    say(`back:    ${command} down ${n}`);
    if (n > 0) {
        await runCommand(command, `down ${n}`, url, cwd, "running back");
    }
    const back = await fp();
    say(`         ${tables(back)}`);
    say(`again:   ${command} up`);
    await runCommand(command, "up", url, cwd, "running forward again");
    const again = await fp();
    say(`         ${tables(again)}`);
    const fingerprints = { start, forward, back, again };
    return { verdict: judgeRehearsal(fingerprints, { lint: { findings, missing: sql.missing }, cost, ...(replication ? { replication } : {}) }), fingerprints, databaseUrl: url };
}

/**
 * The additivity check, when asked or when production is `replicated`: over the tables the sandbox
 * held before the migrations (production's live color's, every one of which its publication carries).
 */
async function replicationCheck(asked: boolean | undefined, production: string | undefined, start: DbFingerprint, sql: MigrationSql[]): Promise<ReplicationCheck | undefined> {
    if (asked === false || (asked === undefined && !production)) return undefined;
    const because = asked ? "--replicated" : `production stack "${production}" is in database mode replicated`;
    const tables = Object.keys(start.tables).sort();
    return { because, tables, breaks: await checkAdditive(sql, { replicated: tables }) };
}

/** The folder of the migrations' SQL (see the stack layer's `migrationsDir`), else `cwd/migrations`. */
export function migrationsDir(command: string, cwd: string, configured?: string): string {
    return projectMigrationsDir({ command, ...(configured ? { dir: configured } : {}) }, cwd) ?? path.join(cwd, "migrations");
}

/** Each migration's forward SQL from `dir`, in the order given; the ones not found, each saying where it was looked for. */
export function readMigrationSql(dir: string, ids: readonly string[]): { found: MigrationSql[]; missing: string[] } {
    const files = fs.existsSync(dir) ? fs.readdirSync(dir).sort() : [];
    const found: MigrationSql[] = [];
    const missing: string[] = [];
    for (const id of ids) {
        const file =
            files.find((f) => f === `${id}.up.sql` || f === `${id}.sql`) ??
            files.find((f) => (f.startsWith(`${id}_`) || f.startsWith(`${id}.`)) && f.endsWith(".sql") && !f.endsWith(".down.sql"));
        if (file) {
            found.push({ id, file: path.join(dir, file), sql: fs.readFileSync(path.join(dir, file), "utf8") });
        } else {
            missing.push(
                `no SQL found for migration ${id} in ${dir}${files.length ? "" : " (no such folder, or empty)"}: set ${CONFIG_KEYS.migrations}.dir (or --migrations-dir) to the folder of its .sql files`,
            );
        }
    }
    return { found, missing };
}
