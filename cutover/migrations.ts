/**
 * The `Migrations` port's local implementation: the stack's migration tool run through the
 * `<command> up` / `<command> down <n>` convention (`switchyard:migrations.command`, as the
 * rehearsal runs it) against the stack's database URL, and its bookkeeping table
 * (`switchyard:migrations.table`) read for the applied ids. Plus what a plan needs to name its point
 * of no return: the pending migrations and the SQL of their backward migrations.
 *
 * @example
 * const m = new CommandMigrations({ command: "node examples/app/migrate.js", databaseUrl: url, cwd: root });
 * await m.up();
 * await m.down(1);
 */
import { spawn } from "child_process";
import * as fs from "fs";
import * as path from "path";
import { appliedMigrations, migrationIds, migrationsDir, MigrationsSource } from "../stack/impactRun";
import { dataDropped, sqlSections } from "./migrationsPlan";
import { MigrationsPort } from "./types";

export interface CommandMigrationsOptions {
    /** The migration command, run by `sh -c` with ` up` or ` down <n>` after it. @example "node examples/app/migrate.js" */
    readonly command: string;
    /** The database, given to the command as DATABASE_URL. */
    readonly databaseUrl: string;
    /** Where the command runs (the project folder). */
    readonly cwd: string;
    /** The bookkeeping table. @default "schema_migrations" */
    readonly table?: string;
    /** The migrations' folder, relative to cwd. @default `migrations/` beside the command's script */
    readonly dir?: string;
    /** Longest a run of the command may take, in milliseconds. @default 600000 */
    readonly timeoutMs?: number;
}

/** The output the command printed, for the error of a failed run. */
const tail = (out: string) => out.trim().split("\n").slice(-5).join(" | ");

/** A migration tool run as a command. */
export class CommandMigrations implements MigrationsPort {
    constructor(private readonly o: CommandMigrationsOptions) {}

    applied(): Promise<string[]> {
        return appliedMigrations(this.o.databaseUrl, this.o.table);
    }

    async up(): Promise<void> {
        await this.run("up");
    }

    async down(n: number): Promise<void> {
        if (!Number.isInteger(n) || n < 1) throw new Error(`down takes a count of at least 1, not ${n}`);
        await this.run(`down ${n}`);
    }

    /** The migrations' folder. */
    dir(): string | undefined {
        return migrationsDir({ command: this.o.command, ...(this.o.dir ? { dir: this.o.dir } : {}) }, this.o.cwd);
    }

    /**
     * The pending migrations (in the folder, not in the bookkeeping table) and what each one's
     * backward migration would drop (`<id>.down.sql`, or the `-- Down Migration` section of `<id>.sql`).
     */
    async pending(): Promise<{ pending: string[]; downs: { id: string; drops: string[] }[] }> {
        const dir = this.dir();
        if (!dir || !fs.existsSync(dir)) {
            throw new Error(`no migrations folder ${dir ?? ""} for the command ${JSON.stringify(this.o.command)}: set switchyard:migrations.dir`);
        }
        const files = fs.readdirSync(dir);
        const applied = await this.applied();
        const pending = migrationIds(files).filter((id) => !applied.includes(id));
        return { pending, downs: pending.map((id) => ({ id, drops: dataDropped(downSql(dir, files, id)) })) };
    }

    private run(args: string): Promise<string> {
        const o = this.o;
        return new Promise((resolve, reject) => {
            const child = spawn("sh", ["-c", `${o.command} ${args}`], { cwd: o.cwd, env: { ...process.env, DATABASE_URL: o.databaseUrl }, stdio: ["ignore", "pipe", "pipe"] });
            let out = "";
            child.stdout.on("data", (d) => (out += d));
            child.stderr.on("data", (d) => (out += d));
            const timer = setTimeout(() => child.kill("SIGTERM"), o.timeoutMs ?? 600_000);
            child.on("error", (e) => {
                clearTimeout(timer);
                reject(new Error(`\`${o.command} ${args}\` could not start: ${e.message}`));
            });
            child.on("close", (code, signal) => {
                clearTimeout(timer);
                if (code === 0) resolve(out);
                else reject(new Error(`\`${o.command} ${args}\` ${signal ? `was stopped by ${signal}` : `exited ${code}`}: ${tail(out) || "no output"}`));
            });
        });
    }
}

/** The SQL of a migration's backward migration, or "" when it has none. */
function downSql(dir: string, files: readonly string[], id: string): string {
    if (files.includes(`${id}.down.sql`)) return fs.readFileSync(path.join(dir, `${id}.down.sql`), "utf8");
    if (files.includes(`${id}.sql`)) return sqlSections(fs.readFileSync(path.join(dir, `${id}.sql`), "utf8")).down ?? "";
    return "";
}

/**
 * The stack's migration tool, from its `switchyard:migrations` and its database URL; undefined
 * when either is missing.
 */
export function commandMigrations(src: MigrationsSource | undefined, databaseUrl: unknown, cwd: string): CommandMigrations | undefined {
    if (!src?.command || typeof databaseUrl !== "string" || databaseUrl === "") return undefined;
    return new CommandMigrations({ command: src.command, databaseUrl, cwd, ...(src.table ? { table: src.table } : {}), ...(src.dir ? { dir: src.dir } : {}) });
}
