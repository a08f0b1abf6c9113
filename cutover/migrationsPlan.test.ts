/**
 * The migrate step, pure: what a backward migration drops, the point of no return, and the core's
 * path through migrate, revert and the backward migration. Tables of cases; no process or database.
 */
import * as assert from "assert";
import { advance, makePlan, operatorRevert, planOf, resume, start, Transition } from "./core";
import { describeMigration, formatEvent, formatPlan } from "./display";
import { slackBody } from "./listeners";
import { dataDropped, pointOfNoReturn, SAFE_TO_REVERSE, sqlSections } from "./migrationsPlan";
import { Action, Checkpoint, CutoverEvent, DEFAULT_GATE, Input, Sample } from "./types";

const T0 = "2026-11-30T10:00:00Z";
const ok: Sample = { color: "green", requests: 100, errors: 0, latencyMs: 20, healthy: true, windowMs: 1000 };
const bad: Sample = { ...ok, errors: 60 };

describe("migrate step, pure", () => {
    describe("dataDropped", () => {
        const cases: [string, string[]][] = [
            ["ALTER TABLE items DROP COLUMN IF EXISTS sku;", ["column items.sku"]],
            ["ALTER TABLE items DROP sku, DROP COLUMN note;", ["column items.sku", "column items.note"]],
            ["DROP TABLE IF EXISTS items;", ["table items"]],
            ["DROP TABLE a, b;", ["table a", "table b"]],
            ["DROP INDEX CONCURRENTLY IF EXISTS items_name_idx;", []],
            ["ALTER TABLE items DROP CONSTRAINT IF EXISTS items_name_not_blank;\nDROP INDEX IF EXISTS items_name_idx;", []],
            ["ALTER TABLE items ALTER COLUMN sku DROP NOT NULL; ALTER TABLE items ALTER COLUMN sku DROP DEFAULT;", []],
            ["-- DROP TABLE items;\nSELECT 1;", []],
            [`${SAFE_TO_REVERSE}\nALTER TABLE items DROP COLUMN sku;`, []],
        ];
        for (const [sql, want] of cases) {
            it(`${JSON.stringify(sql.slice(0, 60))} drops ${want.join(", ") || "nothing"}`, () => assert.deepStrictEqual(dataDropped(sql), want));
        }
    });

    describe("sqlSections (node-pg-migrate's SQL format)", () => {
        it("splits up and down", () => {
            const s = sqlSections("-- Up Migration\nCREATE TABLE t (id int);\n-- Down Migration\nDROP TABLE t;\n");
            assert.strictEqual(s.up.trim(), "CREATE TABLE t (id int);");
            assert.strictEqual(s.down?.trim(), "DROP TABLE t;");
        });
        it("a file without markers is all up", () => assert.deepStrictEqual(sqlSections("SELECT 1;"), { up: "SELECT 1;" }));
    });

    describe("pointOfNoReturn", () => {
        const cases: [number[], string[][], number | undefined][] = [
            [[10, 50, 100], [["column items.sku"]], 0],
            [[0, 10, 100], [["table t"]], 1], // a flag step at weight 0 writes nothing with the new version
            [[10, 50, 100], [[]], undefined],
            [[10, 50, 100], [], undefined],
        ];
        for (const [steps, drops, want] of cases) {
            it(`steps ${steps} with drops ${JSON.stringify(drops)}: ${want === undefined ? "none" : `step ${want + 1}`}`, () => {
                const p = pointOfNoReturn(steps, drops.map((d, i) => ({ id: `00${i}`, drops: d })));
                assert.strictEqual(p?.step, want);
                if (p) assert.match(p.why, /backward migration would drop/);
            });
        }
    });

    /** Runs the machine with a scripted migration tool: `applied` is the bookkeeping table. */
    function run(t: Transition, o: { samples: Sample[]; upAdds: string[]; applied?: string[]; downFails?: boolean; upError?: string }) {
        let applied = [...(o.applied ?? ["001", "002"])];
        const actions: Action["kind"][] = [];
        const events: CutoverEvent[] = [...t.events];
        let i = 0;
        const p = planOf(t.checkpoint, { ...DEFAULT_GATE });
        while (t.action.kind !== "done") {
            const a = t.action;
            actions.push(a.kind);
            let input: Input;
            if (a.kind === "migrate") {
                const before = t.checkpoint.migrate?.before ?? [...applied];
                applied = [...new Set([...applied, ...o.upAdds])];
                input = { kind: "migrated", before, applied: applied.filter((x) => !before.includes(x)), ...(o.upError ? { error: o.upError } : {}) };
            } else if (a.kind === "migrateDown") {
                const ours = applied.filter((x) => !a.before.includes(x));
                if (!o.downFails) applied = applied.filter((x) => a.before.includes(x));
                input = { kind: "migratedDown", removed: o.downFails ? [] : ours, remaining: o.downFails ? ours : [] };
            } else if (a.kind === "apply" || a.kind === "revert") {
                input = { kind: "applied", served: a.weights };
            } else if (a.kind === "observe") {
                input = { kind: "sampled", sample: o.samples[Math.min(i++, o.samples.length - 1)] };
            } else if (a.kind === "backup") {
                input = { kind: "backedUp", name: "snap-1" };
            } else {
                throw new Error(`unexpected ${a.kind}`);
            }
            t = advance(t.checkpoint, p, input, T0);
            events.push(...t.events);
        }
        return { cp: t.checkpoint, actions, events, applied };
    }

    const reversible = { pending: ["003"], downs: [{ id: "003", drops: [] as string[] }] };
    const dropping = { pending: ["003"], downs: [{ id: "003", drops: ["column items.note"] }] };
    const planWith = (migrate: typeof reversible, steps = [10, 50, 100]) =>
        makePlan({ current: { blue: 100, green: 0 }, steps, pretest: false, backup: true, migrate });

    it("the migrate step runs after the backup and before the first weight", () => {
        const r = run(start(planWith(reversible), { blue: 100, green: 0 }, "c1", T0), { samples: [ok], upAdds: ["003"] });
        assert.deepStrictEqual(r.actions.slice(0, 3), ["backup", "migrate", "apply"]);
        assert.strictEqual(r.cp.phase, "promoted");
        assert.deepStrictEqual(r.cp.migrate?.applied, ["003"]);
        assert.ok(r.events.some((e) => e.type === "migrate" && e.stage === "up"));
    });

    it("a gate failure at 10% before the point of no return: traffic back first, then the backward migration, checked", () => {
        const r = run(start(planWith(reversible), { blue: 100, green: 0 }, "c1", T0), { samples: [bad], upAdds: ["003"] });
        assert.deepStrictEqual(r.actions, ["backup", "migrate", "apply", "observe", "revert", "migrateDown"]);
        assert.strictEqual(r.cp.phase, "reverted");
        assert.strictEqual(r.cp.migrate?.undone, "down");
        assert.deepStrictEqual(r.applied, ["001", "002"]);
    });

    it("past the point of no return a revert moves traffic only and says why", () => {
        const r = run(start(planWith(dropping), { blue: 100, green: 0 }, "c1", T0), { samples: [bad], upAdds: ["003"] });
        assert.deepStrictEqual(r.actions, ["backup", "migrate", "apply", "observe", "revert"]);
        assert.strictEqual(r.cp.phase, "reverted");
        assert.strictEqual(r.cp.migrate?.undone, "kept");
        const kept = r.events.find((e) => e.type === "migrate" && e.stage === "kept");
        assert.ok(kept && kept.type === "migrate" && /point of no return.*column items\.note/.test(kept.reason ?? ""), JSON.stringify(kept));
        assert.deepStrictEqual(r.applied, ["001", "002", "003"]);
    });

    it("a failed backward migration ends the cutover failed, named", () => {
        const r = run(start(planWith(reversible), { blue: 100, green: 0 }, "c1", T0), { samples: [bad], upAdds: ["003"], downFails: true });
        assert.strictEqual(r.cp.phase, "failed");
        assert.match(r.cp.reason ?? "", /bookkeeping table still lists 003/);
    });

    it("a forward migration failing part-way undoes what it applied", () => {
        const r = run(start(planWith(reversible), { blue: 100, green: 0 }, "c1", T0), { samples: [ok], upAdds: ["003"], upError: "004 failed" });
        assert.deepStrictEqual(r.actions, ["backup", "migrate", "revert", "migrateDown"]);
        assert.match(r.cp.reason ?? "", /forward migration failed: 004 failed/);
        assert.deepStrictEqual(r.applied, ["001", "002"]);
    });

    it("killed inside the migrate step: resume runs up again and counts only this cutover's", () => {
        // The intent's checkpoint: `before` recorded, up cut short after applying 003.
        const t0 = start(planWith(reversible), { blue: 100, green: 0 }, "c1", T0);
        const killed: Checkpoint = { ...t0.checkpoint, phase: "migrating", backup: "snap-1", migrate: { ...t0.checkpoint.migrate!, before: ["001", "002"] } };
        const r = run(resume(killed, planOf(killed), T0), { samples: [bad], upAdds: ["003"], applied: ["001", "002", "003"] });
        assert.strictEqual(r.actions[0], "migrate");
        assert.strictEqual(r.cp.phase, "reverted");
        assert.deepStrictEqual(r.applied, ["001", "002"]);
    });

    it("killed inside the migrate step: revert undoes what was applied since `before`", () => {
        const t0 = start(planWith(reversible), { blue: 100, green: 0 }, "c1", T0);
        const killed: Checkpoint = { ...t0.checkpoint, phase: "migrating", migrate: { ...t0.checkpoint.migrate!, before: ["001", "002"] } };
        const r = run(operatorRevert({ blue: 100, green: 0 }, killed, "c2", T0), { samples: [], upAdds: [], applied: ["001", "002", "003"] });
        assert.deepStrictEqual(r.actions, ["revert", "migrateDown"]);
        assert.deepStrictEqual(r.applied, ["001", "002"]);
    });

    it("a revert after promotion, with a point of no return, moves traffic only", () => {
        const promoted = run(start(planWith(dropping), { blue: 100, green: 0 }, "c1", T0), { samples: [ok], upAdds: ["003"] });
        const r = run(operatorRevert({ blue: 0, green: 100 }, promoted.cp, "c2", T0), { samples: [], upAdds: [], applied: promoted.applied });
        assert.deepStrictEqual(r.actions, ["revert"]);
        assert.ok(r.events.some((e) => e.type === "migrate" && e.stage === "kept" && /promoted/.test(e.reason ?? "")));
    });

    it("migrate events on the terminal and in Slack: a kept or failed migration is marked", () => {
        const at = T0;
        assert.match(formatEvent({ type: "migrate", at, stage: "up", ids: ["003"] }) ?? "", /forward migration applied 003/);
        assert.match(formatEvent({ type: "migrate", at, stage: "down", ids: ["003"] }) ?? "", /backward migration removed 003, checked/);
        const kept = slackBody("prod", { type: "migrate", at, stage: "kept", ids: ["003"], reason: "past the point of no return: …" });
        assert.match(kept?.text ?? "", /^:rotating_light: \*prod\* .*NOT reversed \(003 stay applied\): past the point of no return/);
        assert.doesNotMatch(slackBody("prod", { type: "migrate", at, stage: "up", ids: ["003"] })?.text ?? "", /rotating_light/);
    });

    it("status describes the checkpoint's migration", () => {
        const cases: [Checkpoint["migrate"], RegExp][] = [
            [{ pending: ["003"] }, /^not run yet \(pending 003\) \(no point of no return\)$/],
            [{ pending: ["003"], before: ["001"] }, /^cut short \(resume runs up again, revert undoes it\)/],
            [{ pending: ["003"], before: ["001"], applied: ["003"], undone: "down" }, /^applied 003; reverted by the backward migration/],
            [{ pending: ["003"], before: ["001"], applied: ["003"], undone: "kept", noReturn: 0 }, /^applied 003; kept by a revert past the point of no return \(point of no return at step 1\)$/],
        ];
        for (const [m, want] of cases) assert.match(describeMigration({ migrate: m }), want);
    });

    it("the dry-run plan names the migrate step and the point of no return", () => {
        const text = formatPlan(planWith(dropping));
        assert.match(text, /backup snapshot/);
        assert.match(text, /migrate: forward migration .*pending 003/);
        assert.match(text, /step 1\/3: green 10%.*← point of no return/);
        assert.match(text, /point of no return: step 1, .*column items\.note/);
        assert.match(formatPlan(planWith(reversible)), /point of no return: none/);
    });
});
