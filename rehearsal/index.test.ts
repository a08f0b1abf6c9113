/** Where the rehearsal finds each migration's SQL to lint (files only: no database). */
import * as assert from "assert";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { migrationsDir, readMigrationSql, replicatedProductionIn } from "./index";
import { StateResource } from "../stack/run";

describe("rehearsal: the migrations' SQL", () => {
    let root: string;
    before(() => {
        root = fs.mkdtempSync(path.join(os.tmpdir(), "switchyard-sql-"));
        fs.mkdirSync(path.join(root, "app", "migrations"), { recursive: true });
        fs.writeFileSync(path.join(root, "app", "migrate.js"), "");
        for (const f of ["001_a.up.sql", "001_a.down.sql", "002.sql", "003_c_add_index.sql", "004_d.down.sql", "notes.txt"]) {
            fs.writeFileSync(path.join(root, "app", "migrations", f), `-- ${f}\n`);
        }
    });
    after(() => fs.rmSync(root, { recursive: true, force: true }));

    it("the folder: configured, else migrations/ beside the command's script (past NAME=value words), else the project's migrations/", () => {
        assert.strictEqual(migrationsDir("node app/migrate.js", root), path.join(root, "app", "migrations"));
        assert.strictEqual(migrationsDir("MIGRATIONS_DIR=/x node app/migrate.js", root), path.join(root, "app", "migrations"));
        assert.strictEqual(migrationsDir("npx knex migrate", root), path.join(root, "migrations"));
        assert.strictEqual(migrationsDir("node app/migrate.js", root, "db/sql"), path.join(root, "db", "sql"));
    });

    it("each id's forward SQL: <id>.up.sql, <id>.sql or <id>_….sql, never a .down.sql; the missing ones named with the folder and the key", () => {
        const dir = path.join(root, "app", "migrations");
        const r = readMigrationSql(dir, ["001_a", "002", "003_c", "004_d"]);
        assert.deepStrictEqual(
            r.found.map((m) => [m.id, path.basename(m.file!), m.sql]),
            [
                ["001_a", "001_a.up.sql", "-- 001_a.up.sql\n"],
                ["002", "002.sql", "-- 002.sql\n"],
                ["003_c", "003_c_add_index.sql", "-- 003_c_add_index.sql\n"],
            ],
        );
        assert.deepStrictEqual(r.missing, [`no SQL found for migration 004_d in ${dir}: set switchyard:migrations.dir (or --migrations-dir) to the folder of its .sql files`]);
        assert.match(readMigrationSql(path.join(root, "nowhere"), ["001_a"]).missing[0], /in .*nowhere \(no such folder, or empty\)/);
    });
});

describe("rehearsal: is the sandbox's production pair replicated?", () => {
    const ref = (name: string, outputs: Record<string, unknown>): StateResource => ({
        urn: `urn:pulumi:sb::p::pulumi:pulumi:StackReference::${name}`,
        type: "pulumi:pulumi:StackReference",
        name,
        outputs: { name, outputs, secretOutputNames: [] },
    });
    it("the referenced stack whose databaseMode output is replicated, else none", () => {
        const other: StateResource = { urn: "u", type: "switchyard:local:Sandbox", name: "shop", outputs: { databaseMode: "replicated" } };
        assert.strictEqual(replicatedProductionIn([other, ref("organization/shop/local", { role: "blue-green", databaseUrl: "postgres://x" })]), undefined, "a shared pair exports no databaseMode");
        assert.strictEqual(replicatedProductionIn([ref("organization/shop/aws", { databaseMode: "rds-blue-green" })]), undefined);
        assert.strictEqual(replicatedProductionIn([other, ref("organization/shop/local", { databaseMode: "replicated" })]), "organization/shop/local");
        assert.strictEqual(replicatedProductionIn([]), undefined);
    });
});
