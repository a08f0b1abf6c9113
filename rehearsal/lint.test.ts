/** Migration linting: each rule on the statements it names and the ones it lets pass, as a table. */
import * as assert from "assert";
import * as fs from "fs";
import * as path from "path";
import { formatFinding, LINT_RULES, LintRuleId, lintMigration, lintMigrations } from "./lint";

const SET = "SET lock_timeout = '5s';\n";

/** [case, SQL, the findings as "rule@line"]: lock_timeout is set first unless the case is about it. */
const CASES: [string, string, string[]][] = [
    // a column added NOT NULL with no default
    ["NOT NULL column, no default", SET + "ALTER TABLE items ADD COLUMN stock integer NOT NULL;", ["not-null-without-default@2"]],
    ["NOT NULL column with a constant default", SET + "ALTER TABLE items ADD COLUMN stock integer NOT NULL DEFAULT 0;", []],
    ["nullable column", SET + "ALTER TABLE items ADD COLUMN IF NOT EXISTS sku text;", []],
    ["identity column (filled by the database)", SET + "ALTER TABLE items ADD COLUMN n bigint GENERATED ALWAYS AS IDENTITY NOT NULL;", []],
    ["primary key column with no default", SET + "ALTER TABLE items ADD COLUMN uid uuid PRIMARY KEY;", ["not-null-without-default@2"]],
    // an index without CONCURRENTLY
    ["index without CONCURRENTLY", SET + "CREATE INDEX items_name_idx ON items (name);", ["index-without-concurrently@2"]],
    ["unique index without CONCURRENTLY", SET + "CREATE UNIQUE INDEX ON items (name);", ["index-without-concurrently@2"]],
    ["index CONCURRENTLY (no lock_timeout needed: it blocks no reads or writes)", "CREATE INDEX CONCURRENTLY IF NOT EXISTS items_name_idx ON items (name);", []],
    ["drop index without CONCURRENTLY", SET + "DROP INDEX items_name_idx;", ["index-without-concurrently@2"]],
    ["drop index CONCURRENTLY", "DROP INDEX CONCURRENTLY IF EXISTS items_name_idx;", []],
    ["unique constraint building its own index", SET + "ALTER TABLE items ADD CONSTRAINT items_name_key UNIQUE (name);", ["index-without-concurrently@2"]],
    ["unique constraint over an index built concurrently", SET + "ALTER TABLE items ADD CONSTRAINT items_name_key UNIQUE USING INDEX items_name_idx;", []],
    // a column type changed
    ["column type changed", SET + "ALTER TABLE items ALTER COLUMN name TYPE varchar(200);", ["column-type-change@2"]],
    ["column type changed, SET DATA TYPE form", SET + "ALTER TABLE items ALTER name SET DATA TYPE text USING name::text;", ["column-type-change@2"]],
    // a rename
    ["column renamed", SET + "ALTER TABLE items RENAME COLUMN name TO title;", ["rename@2"]],
    ["table renamed", SET + "ALTER TABLE items RENAME TO products;", ["rename@2"]],
    ["index renamed (nobody's queries name it)", SET + "ALTER INDEX items_name_idx RENAME TO items_title_idx;", []],
    // a constraint without NOT VALID
    ["CHECK without NOT VALID", SET + "ALTER TABLE items ADD CONSTRAINT name_not_blank CHECK (name <> '');", ["constraint-without-not-valid@2"]],
    ["foreign key without NOT VALID", SET + "ALTER TABLE items ADD CONSTRAINT items_shop_fk FOREIGN KEY (shop_id) REFERENCES shops (id);", ["constraint-without-not-valid@2"]],
    ["CHECK NOT VALID, then VALIDATE", SET + "ALTER TABLE items ADD CONSTRAINT name_not_blank CHECK (name <> '') NOT VALID;\nALTER TABLE items VALIDATE CONSTRAINT name_not_blank;", []],
    ["SET NOT NULL with no validated check", SET + "ALTER TABLE items ALTER COLUMN sku SET NOT NULL;", ["constraint-without-not-valid@2"]],
    [
        "SET NOT NULL after a validated CHECK (col IS NOT NULL)",
        SET + "ALTER TABLE items ADD CONSTRAINT sku_nn CHECK (sku IS NOT NULL) NOT VALID;\nALTER TABLE items VALIDATE CONSTRAINT sku_nn;\nALTER TABLE items ALTER sku SET NOT NULL;",
        [],
    ],
    // a missing lock_timeout
    ["no lock_timeout before an ALTER TABLE", "ALTER TABLE items ADD COLUMN sku text;", ["missing-lock-timeout@1"]],
    ["lock_timeout set after the lock is taken", "ALTER TABLE items ADD COLUMN sku text;\nSET lock_timeout = '5s';", ["missing-lock-timeout@1"]],
    ["SET LOCAL lock_timeout", "SET LOCAL lock_timeout TO '2s';\nALTER TABLE items ADD COLUMN sku text;", []],
    ["lock_timeout in milliseconds", "SET lock_timeout = 3000;\nALTER TABLE items ADD COLUMN sku text;", []],
    ["lock_timeout = 0 switches it off", "SET lock_timeout = 0;\nALTER TABLE items ADD COLUMN sku text;", ["missing-lock-timeout@2"]],
    ["lock_timeout reset", SET + "RESET lock_timeout;\nALTER TABLE items ADD COLUMN sku text;", ["missing-lock-timeout@3"]],
    ["named once per migration", "ALTER TABLE items ADD COLUMN a text;\nALTER TABLE items ADD COLUMN b text;", ["missing-lock-timeout@1"]],
    ["a rename without lock_timeout: both named", "ALTER TABLE items RENAME name TO title;", ["rename@1", "missing-lock-timeout@1"]],
    // a table created in the same migration is new and empty: nothing to say
    [
        "statements on a table the migration creates",
        "CREATE TABLE shops (id bigint PRIMARY KEY, name text);\nCREATE INDEX ON shops (name);\nALTER TABLE shops ADD COLUMN code text NOT NULL;\nALTER TABLE shops RENAME name TO title;",
        [],
    ],
    ["data only", "INSERT INTO items (name) VALUES ('x');\nUPDATE items SET sku = 'a' WHERE id = 1;", []],
    // lines count from the statement's first word, past comments and blank lines
    ["line of a statement after comments", "-- add an index\n\n/* on name */\nSET lock_timeout = '1s';\n\n-- here\nCREATE INDEX i ON items (name);", ["index-without-concurrently@7"]],
    ["SQL the parser cannot read", "ALTER TABLE items ADD COLUM sku text;", ["syntax-error@1"]],
];

describe("migration lint: each rule", () => {
    for (const [name, sql, expected] of CASES) {
        it(`${name}: ${expected.length ? expected.join(", ") : "passes"}`, async () => {
            const found = await lintMigration({ id: "003_x", sql });
            assert.deepStrictEqual(
                found.map((f) => `${f.rule}@${f.line}`),
                expected,
                found.map(formatFinding).join("\n"),
            );
            for (const f of found) {
                assert.strictEqual(f.migration, "003_x");
                assert.strictEqual(f.fix, LINT_RULES[f.rule].fix, "each finding carries its rule's fix");
            }
        });
    }

    it("every rule has a case that names it and the report says the statement, the problem and the fix", async () => {
        const named = new Set(CASES.flatMap(([, , e]) => e.map((x) => x.split("@")[0])));
        assert.deepStrictEqual([...named].sort(), (Object.keys(LINT_RULES) as LintRuleId[]).sort());
        const [f] = await lintMigration({ id: "003_x", sql: SET + "CREATE INDEX items_name_idx ON items (name);" });
        assert.strictEqual(
            formatFinding(f),
            "003_x line 2: CREATE INDEX items_name_idx ON items (name)\n" +
                "  builds index items_name_idx on items under a SHARE lock: every INSERT, UPDATE and DELETE on it waits until the whole build is done\n" +
                `  fix: ${LINT_RULES["index-without-concurrently"].fix}`,
        );
    });
});

describe("migration lint: a run of migrations", () => {
    it("a table created by an earlier migration of the run is new to the later ones; one that existed before is not", async () => {
        const found = await lintMigrations([
            { id: "003_shops", sql: "CREATE TABLE shops (id bigint PRIMARY KEY, name text);" },
            { id: "004_shops_code", sql: "ALTER TABLE shops ADD COLUMN code text NOT NULL;\nCREATE INDEX ON shops (code);" },
            { id: "005_items_code", sql: "ALTER TABLE items ADD COLUMN code text NOT NULL;" },
        ]);
        assert.deepStrictEqual(
            found.map((f) => `${f.migration} ${f.rule}`),
            ["005_items_code not-null-without-default", "005_items_code missing-lock-timeout"],
        );
    });
});

describe("migration lint: the example app's candidates and its own migrations", () => {
    const app = path.resolve(__dirname, "..", "examples", "app");
    const lint = (file: string) => lintMigration({ id: path.basename(file).replace(/\.up\.sql$/, ""), sql: fs.readFileSync(file, "utf8") });

    it("the unsafe candidate is named, each statement with its fix", async () => {
        const found = await lint(path.join(app, "candidates", "unsafe", "003_items_name_index.up.sql"));
        assert.deepStrictEqual(
            found.map((f) => [f.rule, f.statement]),
            [
                ["index-without-concurrently", "CREATE INDEX items_name_idx ON items (name)"],
                ["missing-lock-timeout", "CREATE INDEX items_name_idx ON items (name)"],
                ["constraint-without-not-valid", "ALTER TABLE items ADD CONSTRAINT items_name_not_blank CHECK (name <> '')"],
            ],
        );
        assert.ok(found.every((f) => f.fix === LINT_RULES[f.rule].fix && f.fix.length > 0));
    });

    it("its safe rewrite passes, and so do the app's own migrations", async () => {
        assert.deepStrictEqual(await lint(path.join(app, "candidates", "safe", "003_items_name_index.up.sql")), []);
        assert.deepStrictEqual(await lint(path.join(app, "migrations", "002_items_add_sku.up.sql")), []);
    });
});
