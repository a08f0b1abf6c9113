/** The pure parts of replication: what is published, what breaks it, the lag's judgement, the gradual-shift refusal. */
import * as assert from "assert";
import { ColumnInfo, judgeLag, publicationSql, publishedColumns, Schema, schemaProblems } from "./replication";
import { checkReplicatedSteps } from "./replicationPlan";

const col = (name: string, type = "text", more: Partial<ColumnInfo> = {}): ColumnInfo => ({ name, type, notNull: false, hasDefault: false, generated: false, ...more });
const blue: Schema = {
    "public.items": { hasPrimaryKey: true, columns: [col("id", "bigint", { notNull: true, hasDefault: true }), col("name", "text", { notNull: true }), col("created_at", "timestamp with time zone")] },
    "public.switchyard_write_gate": { hasPrimaryKey: true, columns: [col("one", "boolean"), col("open", "boolean")] },
};
const withSku: Schema = { ...blue, "public.items": { ...blue["public.items"], columns: [...blue["public.items"].columns, col("sku")] } };

describe("replication (pure)", () => {
    it("the way back carries blue's columns only: a column new on green is left out; the write gate never replicates", () => {
        assert.deepStrictEqual(publishedColumns(withSku, blue), { "public.items": ["id", "name", "created_at"] });
        assert.deepStrictEqual(publishedColumns(blue, withSku), { "public.items": ["id", "name", "created_at"] });
        assert.strictEqual(publicationSql("p", { "public.items": ["id", "name"] }), 'CREATE PUBLICATION "p" FOR TABLE "public"."items" ("id", "name")');
    });

    it("an additive change on green passes; each breaking change is named", () => {
        assert.deepStrictEqual(schemaProblems(blue, withSku), []);
        const cases: [string, Schema, RegExp][] = [
            ["dropped table", { "public.switchyard_write_gate": blue["public.switchyard_write_gate"] }, /table public\.items exists on blue but not on green/],
            ["dropped column", { "public.items": { hasPrimaryKey: true, columns: blue["public.items"].columns.slice(0, 2) } }, /column public\.items\.created_at exists on blue but not on green/],
            ["changed type", { "public.items": { hasPrimaryKey: true, columns: [blue["public.items"].columns[0], col("name", "integer"), blue["public.items"].columns[2]] } }, /column public\.items\.name is text on blue but integer on green/],
            [
                "NOT NULL without default",
                { "public.items": { hasPrimaryKey: true, columns: [...blue["public.items"].columns, col("sku", "text", { notNull: true })] } },
                /column public\.items\.sku is new on green and NOT NULL without a default/,
            ],
        ];
        for (const [what, green, re] of cases) {
            const p = schemaProblems(blue, green);
            assert.strictEqual(p.length, 1, `${what}: ${p.join("; ")}`);
            assert.match(p[0], re, what);
        }
        assert.match(schemaProblems({ "public.t": { hasPrimaryKey: false, columns: [col("v")] } }, { "public.t": { hasPrimaryKey: false, columns: [col("v")] } })[0], /no primary key/);
    });

    it("the lag gate passes a replica within the limit and refuses one behind or not streaming, giving the lag", () => {
        const r = { from: "blue", to: "green", slotExists: true, streaming: true } as const;
        assert.ok(judgeLag({ ...r, lagBytes: 1000 }).ok);
        const behind = judgeLag({ ...r, lagBytes: 3 * 1024 * 1024 });
        assert.ok(!behind.ok);
        assert.match(behind.message, /green is 3\.0 MiB behind blue \(limit 1\.0 MiB\)/);
        assert.match(judgeLag({ ...r, lagBytes: 10, lagMs: 2500 }).message, /green is 10 bytes \(2500 ms\) behind blue \(limit 1000 ms\)/);
        assert.match(judgeLag({ ...r, streaming: false, lagBytes: 2048 }).message, /not streaming.*green is 2\.0 KiB behind blue/);
        assert.match(judgeLag({ ...r, slotExists: false, lagBytes: 0 }).message, /no replication from blue to green/);
    });

    it("a gradual weight shift is refused for a replicated pair, saying why", () => {
        assert.strictEqual(checkReplicatedSteps([100]), undefined);
        assert.strictEqual(checkReplicatedSteps(undefined), undefined);
        assert.match(checkReplicatedSteps([10, 50, 100]) as string, /both colors would take writes/);
        assert.match(checkReplicatedSteps([10, 50, 100]) as string, /10, 50/);
    });
});
