/** Additivity for replication: each kind on the statements it names and the nearly-right ones it lets pass, as a table. */
import * as assert from "assert";
import * as fs from "fs";
import * as path from "path";
import { checkAdditive, formatReplicationBreak, REPLICATION_BREAKS, ReplicationBreakKind } from "./additive";

/** The live color's tables: `public.items`, and `Shop.Orders` (a quoted, mixed-case schema and table). */
const REPLICATED = ["public.items", "Shop.Orders"];

/** [case, SQL, the findings as "kind@line table"]. */
const CASES: [string, string, string[]][] = [
    // columns added
    ["ADD COLUMN nullable", "ALTER TABLE items ADD COLUMN sku text;", []],
    ["ADD COLUMN NOT NULL with a DEFAULT", "ALTER TABLE items ADD COLUMN stock integer NOT NULL DEFAULT 0;", []],
    ["ADD COLUMN NOT NULL with no default", "ALTER TABLE items ADD COLUMN stock integer NOT NULL;", ["not-null-without-default@1 public.items"]],
    ["ADD COLUMN NOT NULL, identity (filled by the database)", "ALTER TABLE items ADD COLUMN n bigint GENERATED ALWAYS AS IDENTITY NOT NULL;", []],
    ["ADD COLUMN NOT NULL, generated", "ALTER TABLE items ADD COLUMN lower_name text NOT NULL GENERATED ALWAYS AS (lower(name)) STORED;", []],
    ["ADD COLUMN with a CHECK on itself (blue's rows carry its default)", "ALTER TABLE items ADD COLUMN qty integer DEFAULT 0 CHECK (qty >= 0);", []],
    ["ADD COLUMN with a foreign key (not enforced by replication's apply)", "ALTER TABLE items ADD COLUMN shop_id bigint REFERENCES shops (id);", []],
    // drops, renames, types
    ["DROP COLUMN", "ALTER TABLE items DROP COLUMN name;", ["drop-column@1 public.items"]],
    ["DROP COLUMN IF EXISTS of a column new in this migration's table", "CREATE TABLE shops (id bigint PRIMARY KEY, code text);\nALTER TABLE shops DROP COLUMN IF EXISTS code;", []],
    ["DROP TABLE", "DROP TABLE items;", ["drop-table@1 public.items"]],
    ["DROP TABLE of two, one replicated", "DROP TABLE IF EXISTS scratch, public.items;", ["drop-table@1 public.items"]],
    ["DROP SCHEMA CASCADE holding a replicated table", 'DROP SCHEMA "Shop" CASCADE;', ["drop-table@1 Shop.Orders"]],
    ["RENAME COLUMN", "ALTER TABLE items RENAME COLUMN name TO title;", ["rename@1 public.items"]],
    ["RENAME (column, short form)", "ALTER TABLE items RENAME name TO title;", ["rename@1 public.items"]],
    ["RENAME TO (table)", "ALTER TABLE items RENAME TO products;", ["rename@1 public.items"]],
    ["SET SCHEMA (a move is a rename)", "ALTER TABLE items SET SCHEMA archive;", ["rename@1 public.items"]],
    ["RENAME of an index (no row names it)", "ALTER INDEX items_name_idx RENAME TO items_title_idx;", []],
    ["RENAME CONSTRAINT", "ALTER TABLE items RENAME CONSTRAINT items_pkey TO items_pk;", []],
    ["ALTER COLUMN TYPE", "ALTER TABLE items ALTER COLUMN name TYPE varchar(200);", ["type-change@1 public.items"]],
    ["SET NOT NULL", "ALTER TABLE items ALTER COLUMN sku SET NOT NULL;", ["set-not-null@1 public.items"]],
    ["DROP NOT NULL (looser: blue's rows still fit)", "ALTER TABLE items ALTER COLUMN sku DROP NOT NULL;", []],
    ["SET DEFAULT", "ALTER TABLE items ALTER COLUMN sku SET DEFAULT 'none';", []],
    // constraints and indexes
    ["a CHECK, even NOT VALID (new rows are checked, and replicated rows are new on green)", "ALTER TABLE items ADD CONSTRAINT name_not_blank CHECK (name <> '') NOT VALID;", ["new-constraint@1 public.items"]],
    ["a UNIQUE constraint", "ALTER TABLE items ADD CONSTRAINT items_name_key UNIQUE (name);", ["new-constraint@1 public.items"]],
    ["a UNIQUE index built CONCURRENTLY", "CREATE UNIQUE INDEX CONCURRENTLY items_name_key ON items (name);", ["new-constraint@1 public.items"]],
    ["a plain index CONCURRENTLY", "CREATE INDEX CONCURRENTLY items_name_idx ON items (name);", []],
    ["a foreign key (not enforced by replication's apply)", "ALTER TABLE items ADD CONSTRAINT items_shop_fk FOREIGN KEY (shop_id) REFERENCES shops (id) NOT VALID;", []],
    ["REPLICA IDENTITY NOTHING", "ALTER TABLE items REPLICA IDENTITY NOTHING;", ["replica-identity@1 public.items"]],
    ["REPLICA IDENTITY FULL", "ALTER TABLE items REPLICA IDENTITY FULL;", []],
    // data
    ["TRUNCATE", "TRUNCATE items;", ["truncate@1 public.items"]],
    ["UPDATE (a backfill on green alone)", "ALTER TABLE items ADD COLUMN sku text;\nUPDATE items SET sku = 'x';", ["dml@2 public.items"]],
    ["INSERT", "INSERT INTO items (name) VALUES ('seed');", ["dml@1 public.items"]],
    ["DELETE inside a WITH, its rows saved into a new table", "CREATE TABLE old_items (LIKE items);\nWITH d AS (DELETE FROM items WHERE id < 10 RETURNING *) INSERT INTO old_items SELECT * FROM d;", ["dml@2 public.items"]],
    ["INSERT into a new table from a replicated one (reads only)", "CREATE TABLE item_names (name text PRIMARY KEY);\nINSERT INTO item_names SELECT DISTINCT name FROM items;", []],
    ["COPY into a replicated table", "COPY items (name) FROM STDIN;", ["dml@1 public.items"]],
    ["a function whose body writes (defined, not run)", "CREATE FUNCTION touch() RETURNS void LANGUAGE sql BEGIN ATOMIC UPDATE items SET sku = 'x'; END;", []],
    ["a rule whose action writes (defined, not run)", "CREATE VIEW v AS SELECT id, name FROM items;\nCREATE RULE v_del AS ON DELETE TO v DO INSTEAD DELETE FROM items WHERE id = OLD.id;", []],
    ["EXPLAIN ANALYZE runs what it explains", "EXPLAIN ANALYZE DELETE FROM items WHERE id = 1;", ["dml@1 public.items"]],
    ["a DO block", "DO $$ BEGIN UPDATE items SET sku = 'x'; END $$;", ["unverifiable@1 -"]],
    // additive objects
    ["a view, a function, a comment, a grant", "CREATE VIEW v AS SELECT id FROM items;\nCREATE FUNCTION f() RETURNS int LANGUAGE sql AS 'SELECT 1';\nCOMMENT ON TABLE items IS 'the catalogue';\nGRANT SELECT ON items TO PUBLIC;", []],
    // a new table is free, and so is everything done to it afterwards
    [
        "a new table, then ALTERs, an index, a rename and rows of that new table",
        "CREATE TABLE shops (id bigint PRIMARY KEY, name text);\nALTER TABLE shops ADD COLUMN code text NOT NULL;\nALTER TABLE shops ALTER name TYPE varchar(50);\nCREATE UNIQUE INDEX ON shops (code);\nINSERT INTO shops VALUES (1, 'a', 'A');\nALTER TABLE shops RENAME TO stores;\nALTER TABLE stores ADD CONSTRAINT c CHECK (id > 0);",
        [],
    ],
    ["CREATE TABLE IF NOT EXISTS over a replicated table creates nothing new", "CREATE TABLE IF NOT EXISTS items (id bigint PRIMARY KEY);\nALTER TABLE items DROP COLUMN name;", ["drop-column@2 public.items"]],
    // names: quoting, schemas, search_path
    ['a quoted schema-qualified replicated table', 'ALTER TABLE "Shop"."Orders" RENAME COLUMN total TO amount;', ["rename@1 Shop.Orders"]],
    ["the same name unquoted is another table (folded to lower case)", "ALTER TABLE Shop.Orders DROP COLUMN total;", []],
    ['an unqualified name outside the search path', 'ALTER TABLE "Orders" DROP COLUMN total;', []],
    ['an unqualified name on the search path the migration sets', 'SET search_path TO "Shop", public;\nALTER TABLE "Orders" DROP COLUMN total;\nTRUNCATE items;', ["drop-column@2 Shop.Orders", "truncate@3 public.items"]],
    ["a table of the same name in another schema is not the replicated one", "CREATE TABLE staging.items (id bigint);\nDROP TABLE staging.items;", []],
    ["a temporary table shadows a replicated one", "CREATE TEMP TABLE items (id bigint);\nINSERT INTO items VALUES (1);\nDROP TABLE items;", []],
    ["the line of a statement after comments", "-- expand\n\n/* then */\nALTER TABLE items ADD COLUMN sku text;\n\n-- oops\nALTER TABLE items DROP COLUMN name;", ["drop-column@7 public.items"]],
    ["SQL the parser cannot read", "ALTER TABLE items ADD COLUM sku text;", ["unverifiable@1 -"]],
];

describe("additive for replication: each kind", () => {
    for (const [name, sql, expected] of CASES) {
        it(`${name}: ${expected.length ? expected.join(", ") : "additive"}`, async () => {
            const found = await checkAdditive([{ id: "003_x", file: "migrations/003_x.up.sql", sql }], { replicated: REPLICATED });
            assert.deepStrictEqual(
                found.map((f) => `${f.kind}@${f.line} ${f.table ?? "-"}`),
                expected,
                found.map(formatReplicationBreak).join("\n"),
            );
            for (const f of found) {
                assert.strictEqual(f.migration, "003_x");
                assert.strictEqual(f.file, "migrations/003_x.up.sql");
                if (f.statement) assert.strictEqual(f.why, REPLICATION_BREAKS[f.kind].why, "each finding carries its kind's reason");
            }
        });
    }

    it("every kind has a case that names it, and the report says the file, the statement, the table, the change and why", async () => {
        const named = new Set(CASES.flatMap(([, , e]) => e.map((x) => x.split("@")[0])));
        assert.deepStrictEqual([...named].sort(), (Object.keys(REPLICATION_BREAKS) as ReplicationBreakKind[]).sort());
        const [f] = await checkAdditive([{ id: "003_x", file: "migrations/003_x.up.sql", sql: "SET lock_timeout = '5s';\nALTER TABLE items RENAME COLUMN name TO title;" }], { replicated: REPLICATED });
        assert.strictEqual(
            formatReplicationBreak(f),
            "migrations/003_x.up.sql line 2: ALTER TABLE items RENAME COLUMN name TO title\n" +
                `  public.items: renames column name to title: ${REPLICATION_BREAKS.rename.why}\n` +
                `  fix: ${REPLICATION_BREAKS.rename.fix}`,
        );
    });

    it("only the replicated tables matter: with none, nothing is named", async () => {
        assert.deepStrictEqual(await checkAdditive([{ id: "003_x", sql: "DROP TABLE items;\nTRUNCATE orders;" }], { replicated: [] }), []);
    });

    it("the search path defaults to the one given", async () => {
        const found = await checkAdditive([{ id: "003_x", sql: 'ALTER TABLE "Orders" DROP COLUMN total;' }], { replicated: REPLICATED, searchPath: ["Shop"] });
        assert.deepStrictEqual(found.map((f) => f.table), ["Shop.Orders"]);
    });
});

describe("additive for replication: a run of migrations", () => {
    it("a table created by an earlier migration of the run is free in the later ones, even under a replicated table's name; search_path is each migration's own", async () => {
        const found = await checkAdditive(
            [
                // on this path, `items` is created as Shop.items, beside the replicated public.items
                { id: "003_shop_items", sql: 'SET search_path TO "Shop", public;\nCREATE TABLE items (id bigint PRIMARY KEY, note text);\nALTER TABLE items DROP COLUMN note;' },
                { id: "004_shop_items_code", sql: 'SET search_path TO "Shop", public;\nALTER TABLE items ADD COLUMN code text NOT NULL;' },
                // a new session: `items` is public.items again
                { id: "005_items", sql: "ALTER TABLE items ALTER COLUMN name TYPE varchar(10);" },
            ],
            { replicated: REPLICATED },
        );
        assert.deepStrictEqual(
            found.map((f) => `${f.migration} ${f.kind} ${f.table}`),
            ["005_items type-change public.items"],
        );
    });
});

describe("additive for replication: the example app's migrations and candidates", () => {
    const app = path.resolve(__dirname, "..", "examples", "app");
    const check = (file: string) => checkAdditive([{ id: path.basename(file).replace(/\.up\.sql$/, ""), file, sql: fs.readFileSync(file, "utf8") }], { replicated: ["public.items"] });

    it("002 (a nullable sku) is additive; 001 creates items (new to a database without it)", async () => {
        assert.deepStrictEqual(await check(path.join(app, "migrations", "002_items_add_sku.up.sql")), []);
        const first = fs.readFileSync(path.join(app, "migrations", "001_items.up.sql"), "utf8");
        assert.deepStrictEqual(await checkAdditive([{ id: "001_items", sql: first }], { replicated: [] }), []);
    });

    it("the safe candidate, safe for a shared database, is not additive for a replicated one: its CHECK would stop replication", async () => {
        const found = await check(path.join(app, "candidates", "safe", "003_items_name_index.up.sql"));
        assert.deepStrictEqual(
            found.map((f) => [f.kind, f.table, f.statement]),
            [["new-constraint", "public.items", "ALTER TABLE items ADD CONSTRAINT items_name_not_blank CHECK (name <> '') NOT VALID"]],
        );
    });
});
