/**
 * The impact map of a stack, the I/O part: the engine's preview of the stack (its resource
 * pre-events: the op, the keys that changed and the ones that force a replacement, the inputs before
 * and after), the candidate's migrations against the ones its database has applied, and the stack's
 * release settings, judged by the pure `impact.ts`.
 *
 * The candidate's migrations are the files of `switchyard:migrations.dir` (relative to the project),
 * else of the `migrations/` folder beside the script `switchyard:migrations.command` runs: each
 * `<id>.up.sql` (or `<id>.sql`) is one migration `<id>`. The applied ones are the first column of the
 * bookkeeping table (`switchyard:migrations.table`, default `schema_migrations`), as the rehearsal
 * reads it, in the database the stack's pair or sandbox records as `databaseUrl`.
 *
 * @example
 * const map = await impact({ stackName: "local" });
 * process.stdout.write(formatImpact(map));
 */
import * as fs from "fs";
import * as path from "path";
import { Client } from "pg";
import type { EngineEvent } from "@pulumi/pulumi/automation";
import { CONFIG_KEYS } from "../components/types";
import { componentsIn } from "./pairs";
import { ImpactMap, impactOf, MigrationStatus, PlannedStep, readReleasePolicy } from "./impact";
import { openStack, preview, projectOf, StackTarget, stateResources, UserError } from "./run";

export * from "./impact";

/** `switchyard:migrations` as the impact map reads it. */
export interface MigrationsSource {
    /** The folder of the candidate's migrations, relative to the project. @default `migrations/` beside the command's script */
    readonly dir?: string;
    /** The migration command, e.g. "node examples/app/migrate.js". */
    readonly command?: string;
    /** The bookkeeping table. @default "schema_migrations" */
    readonly table?: string;
}

export interface ImpactOptions {
    /** The database whose applied migrations are read. @default the `databaseUrl` of the stack's pair or sandbox, in its state */
    readonly databaseUrl?: string;
    /** Overrides `switchyard:migrations`. */
    readonly migrations?: MigrationsSource;
    /** Milliseconds to wait for the database. @default 5000 */
    readonly connectTimeoutMs?: number;
}

/** Pure: the candidate's migration ids among a folder's file names, sorted. */
export function migrationIds(files: readonly string[]): string[] {
    const ids = new Set<string>();
    for (const f of files) {
        const m = /^(.+?)\.up\.sql$/.exec(f) ?? (/\.down\.sql$/.test(f) ? null : /^(.+)\.sql$/.exec(f));
        if (m) ids.add(m[1]);
    }
    return [...ids].sort();
}

/**
 * The folder of a project's migrations (`switchyard:migrations.dir`, relative to `root`), else
 * `migrations/` beside the command's script: the first word, after any `NAME=value` assignments, that
 * names a script (by its extension) or an existing file. Undefined when neither says. The one
 * definition: the rehearsal, the impact map and the cutover's migrate step all read it.
 */
export function migrationsDir(src: MigrationsSource, root: string): string | undefined {
    if (src.dir) {
        return path.resolve(root, src.dir);
    }
    const words = (src.command ?? "").trim().split(/\s+/).filter((w) => w !== "" && !/^[A-Za-z_][A-Za-z0-9_]*=/.test(w));
    const script = words.find((w) => /\.(c|m)?[jt]s$|\.py$|\.rb$|\.sh$/.test(w) || fs.statSync(path.resolve(root, w), { throwIfNoEntry: false })?.isFile());
    return script ? path.join(path.dirname(path.resolve(root, script)), "migrations") : undefined;
}

/** The ids in the bookkeeping table (its first column), sorted; empty when the table does not exist yet. */
export async function appliedMigrations(url: string, table = "schema_migrations", connectTimeoutMs = 5000): Promise<string[]> {
    const client = new Client({ connectionString: url, connectionTimeoutMillis: connectTimeoutMs });
    await client.connect();
    try {
        const exists = await client.query<{ t: string | null }>("SELECT to_regclass($1)::text AS t", [table]);
        if (!exists.rows[0]?.t) {
            return [];
        }
        const qualified = table.split(".").map((p) => client.escapeIdentifier(p)).join(".");
        const r = await client.query({ text: `SELECT * FROM ${qualified}`, rowMode: "array" });
        return r.rows.map((row: unknown[]) => String(row[0])).sort();
    } finally {
        await client.end();
    }
}

function parseJsonConfig<T>(raw: string | undefined, key: string, stack: string): T | undefined {
    if (raw === undefined) {
        return undefined;
    }
    try {
        return JSON.parse(raw) as T;
    } catch {
        throw new UserError(`${key} in stack "${stack}" is not valid JSON: ${raw.slice(0, 200)}`);
    }
}

/** The candidate's migrations against the database's, or why they could not be compared. */
async function migrationStatus(src: MigrationsSource | undefined, root: string, url: string | undefined, o: ImpactOptions): Promise<MigrationStatus> {
    const none = (note: string): MigrationStatus => ({ known: false, pending: [], applied: [], note });
    if (!src || (!src.dir && !src.command)) {
        return none(`${CONFIG_KEYS.migrations} names no dir or command`);
    }
    const dir = migrationsDir(src, root);
    if (!dir || !fs.existsSync(dir) || !fs.statSync(dir).isDirectory()) {
        const from = src.dir ? `${CONFIG_KEYS.migrations}.dir (${JSON.stringify(src.dir)})` : `${CONFIG_KEYS.migrations}.command (${JSON.stringify(src.command)})`;
        return none(`no migrations folder ${dir ?? ""} from ${from}: set ${CONFIG_KEYS.migrations}.dir`);
    }
    const candidate = migrationIds(fs.readdirSync(dir));
    if (!url) {
        return { ...none("no database URL in the stack's state (an AWS database is not reachable from here): pass --database-url"), source: dir };
    }
    let applied: string[];
    try {
        applied = await appliedMigrations(url, src.table, o.connectTimeoutMs);
    } catch (e) {
        return { ...none(`the database ${url.replace(/:[^:@/]*@/, ":***@")} could not be read: ${(e as Error).message}`), source: dir };
    }
    return { known: true, pending: candidate.filter((id) => !applied.includes(id)), applied, source: dir };
}

/** Pure: a pre-event's step, as the impact map reads it. */
export function stepOf(e: EngineEvent): PlannedStep | undefined {
    const m = e.resourcePreEvent?.metadata;
    if (!m) {
        return undefined;
    }
    return {
        urn: m.urn,
        type: m.type,
        op: m.op,
        diffs: m.diffs,
        keys: m.keys,
        olds: m.old?.inputs,
        news: m.new?.inputs,
        custom: m.old?.custom ?? m.new?.custom ?? m.provider !== "",
    };
}

/**
 * The impact map of a stack: the engine previews it (no policy pack: the map is about what
 * changes), its database is asked which migrations it has applied, and the change is classed and
 * tiered. A bad program or config is a UserError, as for `preview`.
 */
export async function impact(target: StackTarget, o: ImpactOptions = {}): Promise<ImpactMap> {
    const stack = await openStack(target);
    const config = await stack.getAllConfig();
    const policy = (() => {
        try {
            return readReleasePolicy(parseJsonConfig(config[CONFIG_KEYS.cutover]?.value, CONFIG_KEYS.cutover, target.stackName));
        } catch (e) {
            throw new UserError(`stack "${target.stackName}": ${(e as Error).message}`);
        }
    })();
    const steps: PlannedStep[] = [];
    let log = "";
    try {
        // Through `preview`, so a program's or a config's refusal is reported as for `switchyard preview` (exit 2).
        await preview(
            { ...target, onOutput: (s) => (log += s), onNotice: target.onNotice ?? (() => undefined) },
            {
                onEvent: (e) => {
                    const s = stepOf(e);
                    if (s) steps.push(s);
                },
            },
        );
    } catch (e) {
        if (e instanceof UserError) {
            throw e;
        }
        // A resource's check refusing a value (a port in use, a missing snapshot) is the user's to fix: named, exit 2.
        const diagnostic = /^\s+error: (.+)$/m.exec(log)?.[1];
        throw diagnostic ? new UserError(`the preview of stack "${target.stackName}" failed: ${diagnostic}`) : new Error(`the preview of stack "${target.stackName}" failed: ${(e as Error).message}\n${log.slice(-2000)}`);
    }
    const resources = await stateResources(stack);
    const component = [...componentsIn(resources, "pair"), ...componentsIn(resources, "sandbox")][0];
    const recordedUrl = component?.outputs.databaseUrl;
    const url = o.databaseUrl ?? (typeof recordedUrl === "string" ? recordedUrl : undefined);
    const src = o.migrations ?? parseJsonConfig<MigrationsSource>(config[CONFIG_KEYS.migrations]?.value, CONFIG_KEYS.migrations, target.stackName);
    const migrations = await migrationStatus(src, projectOf(target).root, url, o);
    return impactOf({ stack: target.stackName, steps, migrations, policy });
}
