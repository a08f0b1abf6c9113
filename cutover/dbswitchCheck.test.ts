import * as assert from "assert";
import { compareWrites, RowsOf } from "./dbswitchCheck";

const rows = (entries: [string, number][], duplicated: string[] = []): RowsOf => ({ ids: new Map(entries), duplicated });

describe("compareWrites (pure)", () => {
    it("every acknowledged id on both colors with the same id: 0 lost, 0 duplicated", () => {
        const c = compareWrites({ acked: ["r-1", "r-2"], failed: ["r-3"] }, { blue: rows([["r-1", 1], ["r-2", 2]]), green: rows([["r-1", 1], ["r-2", 2]]) });
        assert.deepStrictEqual({ lost: c.lost, duplicated: c.duplicated, ok: c.ok, rows: c.rows, examples: c.examples }, { lost: 0, duplicated: 0, ok: true, rows: { blue: 2, green: 2 }, examples: [] });
    });

    it("counts an id missing on a color, a duplicate, a refused write committed and another id", () => {
        const c = compareWrites(
            { acked: ["r-1", "r-2", "r-4"], failed: ["r-3"] },
            { blue: rows([["r-1", 1], ["r-2", 2], ["r-3", 3]], ["r-2"]), green: rows([["r-1", 1], ["r-2", 7]]) },
        );
        assert.strictEqual(c.lost, 1);
        assert.deepStrictEqual(c.lostOn, { blue: 1, green: 1 });
        assert.strictEqual(c.duplicated, 1);
        assert.strictEqual(c.refusedButCommitted, 1);
        assert.strictEqual(c.idMismatches, 1);
        assert.strictEqual(c.ok, false);
        assert.deepStrictEqual(c.examples, ["lost on blue: r-4", "lost on green: r-4", "duplicated on blue: r-2", "refused but committed: r-3", "another id on green: r-2"]);
    });
});
