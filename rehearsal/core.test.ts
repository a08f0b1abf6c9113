/** The rehearsal's pure judgement: fingerprints in, differences and verdicts out. */
import * as assert from "assert";
import { compare, DbFingerprint, formatVerdict, judgeRehearsal, TableFingerprint } from "./core";
import { checkAdditive } from "./additive";

const items = (over: Partial<TableFingerprint> = {}): TableFingerprint => ({
    columns: ["id bigint", "name text"],
    rows: 3,
    digest: "d1",
    nonNull: { id: 3, name: 3 },
    ...over,
});
const withSku = (over: Partial<TableFingerprint> = {}) =>
    items({ columns: ["id bigint", "name text", "sku text"], digest: "d2", nonNull: { id: 3, name: 3, sku: 0 }, ...over });
const db = (tables: Record<string, TableFingerprint>, migrations: string[], corruptIndexes: string[] = []): DbFingerprint => ({ tables, migrations, corruptIndexes });

const START = db({ "public.items": items() }, ["001"]);
const FORWARD = db({ "public.items": withSku() }, ["001", "002"]);

describe("rehearsal: differences", () => {
    it("names added and dropped tables and columns, retyped columns, and row counts", () => {
        const a = db({ "public.items": items(), "public.old": items({ rows: 7 }) }, []);
        const b = db({ "public.items": items({ columns: ["id integer", "sku text"], rows: 2, nonNull: { id: 2, sku: 0 } }), "public.new": items({ rows: 0 }) }, []);
        assert.deepStrictEqual(
            compare(a, b).map((d) => [d.kind, d.detail, d.contracts]),
            [
                ["column-changed", 'column public.items.id changed from "id bigint" to "id integer"', true],
                ["column-dropped", "column public.items.name dropped with 3 non-null values", true],
                ["column-added", "column public.items.sku text added", false],
                ["rows-changed", "table public.items went from 3 to 2 rows", true],
                ["table-added", "table public.new added (0 rows)", false],
                ["table-dropped", "table public.old dropped with 7 rows", true],
            ],
        );
    });
    it("the same rows in another order are no difference; other data with the same count is", () => {
        assert.deepStrictEqual(compare(START, START), []);
        const changed = db({ "public.items": items({ digest: "other" }) }, ["001"]);
        assert.deepStrictEqual(compare(START, changed).map((d) => d.detail), ["table public.items holds the same number of rows (3) but different data"]);
    });
});

describe("rehearsal: verdicts", () => {
    it("an expand migration whose down restores the start passes every check", () => {
        const v = judgeRehearsal({ start: START, forward: FORWARD, back: START, again: FORWARD });
        assert.ok(v.ok, formatVerdict(v));
        assert.deepStrictEqual(v.applied, ["002"]);
        assert.match(formatVerdict(v), /rehearsal passed/);
    });
    it("a forward that drops a column the live version reads fails, naming it", () => {
        const contract = db({ "public.items": items({ columns: ["id bigint"], nonNull: { id: 3 } }) }, ["001", "002"]);
        const v = judgeRehearsal({ start: START, forward: contract, back: START, again: contract });
        assert.strictEqual(v.ok, false);
        const c = v.checks.find((x) => x.name.startsWith("forward only expands"));
        assert.deepStrictEqual(c?.findings, ["column public.items.name dropped with 3 non-null values"]);
    });
    it("a back that loses rows written by the forward version fails, naming the table", () => {
        const lossy = db({ "public.items": items({ rows: 2, digest: "d3", nonNull: { id: 2, name: 2 } }) }, ["001"]);
        const v = judgeRehearsal({ start: START, forward: FORWARD, back: lossy, again: FORWARD });
        assert.strictEqual(v.ok, false);
        assert.deepStrictEqual(v.checks.find((x) => x.name.startsWith("back restores"))?.findings, ["table public.items went from 3 to 2 rows"]);
        assert.match(formatVerdict(v), /FAIL back restores the start[\s\S]*rehearsal FAILED/);
    });
    it("a back that leaves a migration recorded fails", () => {
        const v = judgeRehearsal({ start: START, forward: FORWARD, back: db({ "public.items": items() }, ["001", "002"]), again: FORWARD });
        assert.deepStrictEqual(v.checks.find((x) => x.name.startsWith("back restores"))?.findings, ["migrations after back are [001, 002], not [001]"]);
    });
    it("a forward that does not repeat (another schema the second time) fails", () => {
        const other = db({ "public.items": withSku({ columns: ["id bigint", "name text", "sku varchar(8)"] }) }, ["001", "002"]);
        const v = judgeRehearsal({ start: START, forward: FORWARD, back: START, again: other });
        assert.deepStrictEqual(v.checks.find((x) => x.name.startsWith("forward again"))?.findings, [
            'column public.items.sku changed from "sku text" to "sku varchar(8)"',
        ]);
    });
    it("a corrupt index at any phase fails, naming the phase and the index", () => {
        const bad = db({ "public.items": withSku() }, ["001", "002"], ["index public.items_pkey: item order invariant violated"]);
        const v = judgeRehearsal({ start: START, forward: bad, back: START, again: FORWARD });
        assert.deepStrictEqual(v.checks.find((x) => x.name.startsWith("indexes"))?.findings, ["forward: index public.items_pkey: item order invariant violated"]);
    });
    it("for a replicated pair, a statement that is not additive fails its own check, naming the file, the statement and why; an additive run passes it", async () => {
        const breaks = await checkAdditive([{ id: "002", file: "migrations/002.up.sql", sql: "ALTER TABLE items RENAME COLUMN name TO title;" }], { replicated: ["public.items"] });
        const because = "--replicated";
        const v = judgeRehearsal({ start: START, forward: FORWARD, back: START, again: FORWARD }, { replication: { because, tables: ["public.items"], breaks } });
        assert.strictEqual(v.ok, false);
        assert.deepStrictEqual(v.replication?.breaks.map((b) => [b.kind, b.table]), [["rename", "public.items"]]);
        const c = v.checks.find((x) => x.name.startsWith("applied to green alone"));
        assert.strictEqual(c?.ok, false);
        assert.match(c!.name, /\(--replicated\)$/);
        assert.match(formatVerdict(v), /FAIL applied to green alone[^\n]*\n\s+migrations\/002\.up\.sql line 1: ALTER TABLE items RENAME COLUMN name TO title\n\s+public\.items: renames column name to title: rows streamed from blue/);
        const fine = judgeRehearsal({ start: START, forward: FORWARD, back: START, again: FORWARD }, { replication: { because, tables: ["public.items"], breaks: [] } });
        assert.ok(fine.ok && fine.checks.some((x) => x.name.startsWith("applied to green alone") && x.ok), formatVerdict(fine));
        assert.ok(!judgeRehearsal({ start: START, forward: FORWARD, back: START, again: FORWARD }).checks.some((x) => x.name.startsWith("applied to green alone")), "not checked unless asked");
    });
    it("nothing pending is not a pass: it says how to rehearse what is applied", () => {
        const v = judgeRehearsal({ start: START, forward: START, back: START, again: START });
        assert.strictEqual(v.ok, false);
        assert.match(formatVerdict(v), /no pending migration ran forward: rehearse the last ones applied with --last <n>/);
    });
});
