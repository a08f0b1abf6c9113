#!/usr/bin/env node
// The example's migrations, run by node-pg-migrate (https://salsita.github.io/node-pg-migrate/),
// through the `<command> up [n]` / `<command> down <n>` convention Switchyard's rehearsal and
// migrate steps use (node-pg-migrate's own `down` undoes one migration unless given a count).
//
// SQL migrations: `<id>.up.sql` with its `<id>.down.sql`, or one `<id>.sql` split by the lines
// `-- Up Migration` and `-- Down Migration` (node-pg-migrate's SQL format). The bookkeeping table
// (MIGRATIONS_TABLE, default schema_migrations) lists each applied id in its first column, `name`.
// Each migration runs in a transaction of its own, except one whose first line is
// `-- migrate:no-transaction` (CREATE INDEX CONCURRENTLY cannot run in one): its statements run one
// by one, each committing on its own (split at semicolons that end a line: keep function bodies in
// transactional migrations). One migrator at a time: both colors may start together (it waits for
// node-pg-migrate's advisory lock).
//
// Usage: DATABASE_URL=postgres://… [MIGRATIONS_DIR=…] [MIGRATIONS_TABLE=…] node migrate.js up [N] | down [N]
"use strict";
const fs = require("fs");
const path = require("path");
const { Client } = require("pg");

// MIGRATIONS_DIR points at another folder of migrations (a release's candidate set, in tests).
const DIR = process.env.MIGRATIONS_DIR ? path.resolve(process.env.MIGRATIONS_DIR) : path.join(__dirname, "migrations");
const TABLE = process.env.MIGRATIONS_TABLE || "schema_migrations";
const NO_TRANSACTION = /^-- migrate:no-transaction[ \t]*$/m;

/** The ids in the folder, sorted: `<id>.up.sql` (with `<id>.down.sql`) or `<id>.sql`. */
function migrations(dir = DIR) {
    const ids = new Set();
    for (const f of fs.readdirSync(dir)) {
        const m = /^(.+?)(?:\.up)?\.sql$/.exec(f);
        if (m && !f.endsWith(".down.sql")) ids.add(m[1]);
    }
    return [...ids].sort();
}

/** node-pg-migrate's SQL sections: the up and down parts of a single `.sql` file. */
function sections(text) {
    const marker = (d) => new RegExp(`^\\s*--[\\s-]*${d}\\s+migration`, "im");
    const up = text.search(marker("up"));
    const down = text.search(marker("down"));
    if (up < 0 && down < 0) return { up: text };
    return { up: up < 0 ? "" : text.slice(up, down > up ? down : undefined), down: down < 0 ? undefined : text.slice(down, up > down ? up : undefined) };
}

function statements(sql) {
    return sql
        .split(/;[ \t]*(?:--[^\n]*)?$/m)
        .map((s) => s.trim())
        .filter((s) => s.replace(/^--[^\n]*$/gm, "").trim());
}

/** One direction's action for node-pg-migrate: the SQL, or its statements one by one outside a transaction. */
function action(id, direction, sql) {
    if (sql === undefined) return false; // no down: node-pg-migrate refuses to undo it, naming the file
    // Trimmed, so node-pg-migrate sends the file's text as it is (it adds a `;` after a trailing
    // newline), which the rehearsal matches to the migration's SQL.
    if (!NO_TRANSACTION.test(sql)) return (pgm) => pgm.sql(sql.trim());
    return (pgm) => {
        pgm.noTransaction();
        for (const s of statements(sql)) pgm.sql(s);
    };
}

/** A node-pg-migrate loader for the example's SQL files (pairs of .up/.down files, or sections). */
async function loadSql(filePaths) {
    const byId = new Map();
    for (const p of filePaths) {
        const m = /^(.+?)(?:\.(up|down))?\.sql$/.exec(path.basename(p));
        if (!m) continue;
        const g = byId.get(m[1]) ?? { id: m[1], files: {} };
        g.files[m[2] ?? "single"] = p;
        byId.set(m[1], g);
    }
    const units = [];
    for (const g of [...byId.values()].sort((a, b) => (a.id < b.id ? -1 : 1))) {
        let up;
        let down;
        if (g.files.single) {
            ({ up, down } = sections(fs.readFileSync(g.files.single, "utf8")));
        } else {
            if (!g.files.up) throw new Error(`migration ${g.id}: ${g.files.down} has no ${g.id}.up.sql beside it`);
            up = fs.readFileSync(g.files.up, "utf8");
            down = g.files.down ? fs.readFileSync(g.files.down, "utf8") : undefined;
        }
        // The unit's id is a path whose base name, less its extension, is the migration's name.
        units.push({ id: path.join(path.dirname(g.files.up ?? g.files.single), `${g.id}.sql`), filePaths: Object.values(g.files), actions: { up: action(g.id, "up", up), down: action(g.id, "down", down) } });
    }
    return units;
}

/**
 * A bookkeeping table of the runner this replaced (`id text PRIMARY KEY, applied_at`) becomes
 * node-pg-migrate's (`name`, `id serial`, `run_on`), its ids kept in the first column, in one
 * transaction; a table already in node-pg-migrate's shape is left alone.
 */
async function upgradeTable(client) {
    const cols = await client.query("SELECT column_name AS c, data_type AS t FROM information_schema.columns WHERE table_schema = current_schema() AND table_name = $1", [TABLE]);
    const has = (c) => cols.rows.find((r) => r.c === c);
    if (has("name") || !has("id") || has("id").t !== "text") return;
    const t = client.escapeIdentifier(TABLE);
    await client.query("BEGIN");
    try {
        await client.query(`LOCK TABLE ${t} IN ACCESS EXCLUSIVE MODE`);
        await client.query(`ALTER TABLE ${t} RENAME COLUMN id TO name`);
        await client.query(`ALTER TABLE ${t} DROP CONSTRAINT IF EXISTS ${client.escapeIdentifier(`${TABLE}_pkey`)}`);
        await client.query(`ALTER TABLE ${t} ALTER COLUMN name TYPE varchar(255)`);
        await client.query(`ALTER TABLE ${t} RENAME COLUMN applied_at TO run_on`);
        await client.query(`ALTER TABLE ${t} ADD COLUMN id serial PRIMARY KEY`);
        await client.query("COMMIT");
    } catch (e) {
        await client.query("ROLLBACK");
        if (!/does not exist|already exists/.test(e.message)) throw e; // another migrator upgraded it first
    }
}

/**
 * Applies (up) or undoes (down) migrations; returns the ids run. `steps`: at most that many
 * (default: every pending one up, the last one down).
 */
async function migrate(url, direction, steps, dir = DIR) {
    const { runner } = await import("node-pg-migrate");
    const client = new Client({ connectionString: url });
    await client.connect();
    try {
        // The bookkeeping table with the id (node-pg-migrate's `name`) as its first column, which
        // Switchyard's rehearsal and impact map read; node-pg-migrate takes a table that exists.
        await client.query(`CREATE TABLE IF NOT EXISTS ${client.escapeIdentifier(TABLE)} (name varchar(255) NOT NULL, id serial PRIMARY KEY, run_on timestamp NOT NULL DEFAULT now())`).catch((e) => {
            // Two migrators creating it at once: the other one's is as good.
            if (!/already exists|duplicate key/.test(e.message)) throw e;
        });
        await upgradeTable(client);
        let current;
        const notes = [];
        const ran = await runner({
            dbClient: client,
            dir,
            direction,
            ...(steps !== undefined ? { count: steps } : direction === "up" ? { count: Infinity } : { count: 1 }),
            migrationsTable: TABLE,
            singleTransaction: false,
            advisoryLockMode: "wait",
            // A candidate folder (MIGRATIONS_DIR) may lack an applied migration of another release:
            // its own pending ones still apply, as before (a `down` of a migration not in it is refused).
            checkOrder: false,
            migrationLoaderStrategies: [{ extensions: [".sql"], loader: loadSql }],
            logger: {
                debug: () => undefined,
                // node-pg-migrate announces each migration it runs: the one that fails is named.
                info: (m) => {
                    const r = /### MIGRATION (.+) \((UP|DOWN)\) ###/.exec(String(m));
                    if (r) current = `${r[1]} (${r[2].toLowerCase()})`;
                },
                // Said once the run is over: after a failure, only the failure, named.
                warn: (m) => void (/not wrapped in a transaction/.test(String(m)) || notes.push(String(m))),
                error: () => undefined,
            },
        }).catch((e) => {
            throw new Error(current ? `migration ${current} failed: ${e.message}` : e.message);
        });
        for (const n of notes) process.stderr.write(`migrate: ${n}\n`);
        return ran.map((m) => m.name);
    } finally {
        await client.end();
    }
}

module.exports = { migrate, migrations, sections };

if (require.main === module) {
    const [direction = "up", n] = process.argv.slice(2);
    if (!["up", "down"].includes(direction) || (n !== undefined && !/^\d+$/.test(n))) {
        process.stderr.write("usage: node migrate.js up [N] | down [N]\n");
        process.exit(2);
    }
    if (!process.env.DATABASE_URL) {
        process.stderr.write("migrate: DATABASE_URL is not set\n");
        process.exit(2);
    }
    const steps = n === undefined ? undefined : Number(n);
    if (steps === 0) {
        process.stdout.write(`${direction}: nothing to do\n`);
        process.exit(0);
    }
    migrate(process.env.DATABASE_URL, direction, steps).then(
        (ids) => process.stdout.write(ids.length ? `${direction}: ${ids.join(", ")}\n` : `${direction}: nothing to do\n`),
        (e) => {
            process.stderr.write(`migrate: ${e.message}\n`);
            process.exit(1);
        },
    );
}
