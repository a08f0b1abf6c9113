#!/usr/bin/env node
// Applies the migrations in ./migrations forward (up) or back (down), recorded in schema_migrations.
// Idempotent: running it twice changes nothing the second time.
// Usage: DATABASE_URL=postgres://… [MIGRATIONS_DIR=…] node migrate.js up|down [N]
"use strict";
const fs = require("fs");
const path = require("path");
const { Client } = require("pg");

// MIGRATIONS_DIR points at another folder of migrations (a release's candidate set, in tests).
const DIR = process.env.MIGRATIONS_DIR ? path.resolve(process.env.MIGRATIONS_DIR) : path.join(__dirname, "migrations");

function migrations() {
    const ids = new Set();
    for (const f of fs.readdirSync(DIR)) {
        const m = /^(\d+_[A-Za-z0-9_]+)\.(up|down)\.sql$/.exec(f);
        if (m) ids.add(m[1]);
    }
    return [...ids].sort();
}

// A file whose first line is `-- migrate:no-transaction` runs one statement at a time, each
// committing on its own (CREATE INDEX CONCURRENTLY cannot run inside a transaction). Its statements
// are split at semicolons that end a line, so keep function bodies in transactional migrations.
const NO_TRANSACTION = /^-- migrate:no-transaction[ \t]*$/m;

async function runEachStatement(client, id, direction, sql) {
    const statements = sql
        .split(/;[ \t]*(?:--[^\n]*)?$/m)
        .map((s) => s.trim())
        .filter((s) => s.replace(/^--[^\n]*$/gm, "").trim());
    for (const [i, statement] of statements.entries()) {
        try {
            await client.query(statement);
        } catch (e) {
            throw new Error(`migration ${id} (${direction}, no transaction) failed at statement ${i + 1} of ${statements.length}, the earlier ones stay applied: ${e.message}`);
        }
    }
    if (direction === "up") await client.query("INSERT INTO schema_migrations (id) VALUES ($1)", [id]);
    else await client.query("DELETE FROM schema_migrations WHERE id = $1", [id]);
}

async function migrate(url, direction, steps) {
    const client = new Client({ connectionString: url });
    await client.connect();
    try {
        // One migrator at a time: both colors may start together.
        await client.query("SELECT pg_advisory_lock(727274)");
        await client.query("CREATE TABLE IF NOT EXISTS schema_migrations (id text PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now())");
        const done = new Set((await client.query("SELECT id FROM schema_migrations")).rows.map((r) => r.id));
        const all = migrations();
        const todo = direction === "up" ? all.filter((id) => !done.has(id)) : all.filter((id) => done.has(id)).reverse();
        const applied = [];
        for (const id of todo.slice(0, steps ?? todo.length)) {
            const sql = fs.readFileSync(path.join(DIR, `${id}.${direction}.sql`), "utf8");
            if (NO_TRANSACTION.test(sql)) {
                await runEachStatement(client, id, direction, sql);
                applied.push(id);
                continue;
            }
            await client.query("BEGIN");
            try {
                await client.query(sql);
                if (direction === "up") await client.query("INSERT INTO schema_migrations (id) VALUES ($1)", [id]);
                else await client.query("DELETE FROM schema_migrations WHERE id = $1", [id]);
                await client.query("COMMIT");
            } catch (e) {
                await client.query("ROLLBACK");
                throw new Error(`migration ${id} (${direction}) failed: ${e.message}`);
            }
            applied.push(id);
        }
        return applied;
    } finally {
        await client.end();
    }
}

module.exports = { migrate, migrations };

if (require.main === module) {
    const [direction = "up", n] = process.argv.slice(2);
    if (!["up", "down"].includes(direction) || (n !== undefined && !/^\d+$/.test(n))) {
        process.stderr.write("usage: node migrate.js up|down [N]\n");
        process.exit(2);
    }
    if (!process.env.DATABASE_URL) {
        process.stderr.write("migrate: DATABASE_URL is not set\n");
        process.exit(2);
    }
    migrate(process.env.DATABASE_URL, direction, n === undefined ? undefined : Number(n)).then(
        (ids) => process.stdout.write(ids.length ? `${direction}: ${ids.join(", ")}\n` : `${direction}: nothing to do\n`),
        (e) => {
            process.stderr.write(`migrate: ${e.message}\n`);
            process.exit(1);
        },
    );
}
