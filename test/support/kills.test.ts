/** The kill suite's pure parts: its schedule, where a kill landed, the weight check and the tally. */
import * as assert from "assert";
import { AIMS, badSplit, changesIn, DEFAULT_MIX, FLAG_AIMS, flagLanding, flagSchedule, landing, rngOf, schedule, seeded, tally } from "./kills";

describe("kill suite helpers (pure)", () => {
    it("the same seed gives the same schedule; each aim as often as the mix says, at least 20 in all", () => {
        for (const seed of [0, 1, 425896122, 2 ** 31 - 1]) {
            const a = schedule(rngOf(seeded(seed)));
            assert.deepStrictEqual(schedule(rngOf(seeded(seed))), a, `seed ${seed} replays`);
            assert.ok(a.length >= 20);
            for (const aim of AIMS) {
                assert.strictEqual(a.filter((x) => x === aim).length, DEFAULT_MIX[aim], `${aim} with seed ${seed}`);
            }
            // A revert-cmd (after a whole cutover) closes each run of kills, so one comes every few kills.
            const at = a.flatMap((x, i) => (x === "revert-cmd" ? [i] : []));
            assert.strictEqual(at.at(-1), a.length - 1);
            assert.ok(at.every((p, i) => p - (i === 0 ? -1 : at[i - 1]) <= 8), `revert-cmd at ${at.join(", ")}`);
        }
        assert.notDeepStrictEqual(schedule(rngOf(seeded(1))), schedule(rngOf(seeded(2))));
    });

    it("the seeded source stays in [0, 1) and its integers in their bounds", () => {
        const r = rngOf(seeded(7));
        for (let i = 0; i < 2000; i++) {
            const n = r.int(3, 5);
            assert.ok(n >= 3 && n <= 5 && Number.isInteger(n), String(n));
        }
        const next = seeded(7);
        for (let i = 0; i < 2000; i++) {
            const x = next();
            assert.ok(x >= 0 && x < 1, String(x));
        }
    });

    it("a kill lands in the action the last event printed announces", () => {
        const none = { pretest: false, backup: false };
        const cases: [string[], { pretest: boolean; backup: boolean }, string][] = [
            [[], none, "startup"],
            [["started"], { pretest: true, backup: true }, "pretest"],
            [["started"], { pretest: false, backup: true }, "backup"],
            [["started", "pretest"], { pretest: true, backup: true }, "backup"],
            [["started", "step"], none, "step-up"],
            [["started", "backup", "step"], { pretest: false, backup: true }, "step-up"],
            [["started", "step", "applied"], none, "observe"],
            [["started", "step", "applied", "sample", "verdict", "step"], none, "step-up"],
            [["started", "step", "applied", "sample", "verdict", "revert"], none, "revert"],
            [["started", "step", "applied", "sample", "verdict", "revert", "applied"], none, "revert"],
            [["revert", "applied"], none, "revert"],
            [["revert", "applied", "applied", "done"], none, "ended"],
        ];
        for (const [events, plan, want] of cases) {
            assert.strictEqual(landing(events, plan), want, events.join(","));
        }
    });

    it("a weight sample is valid when both are integers from 0 to 100, not both 0", () => {
        assert.strictEqual(badSplit({ blue: 100, green: 0 }), undefined);
        assert.strictEqual(badSplit({ blue: 50, green: 50 }), undefined);
        assert.match(String(badSplit({ blue: 0, green: 0 })), /both weights are 0/);
        assert.match(String(badSplit({ blue: 101, green: 0 })), /not two integers from 0 to 100/);
        assert.match(String(badSplit({ blue: 2.5, green: 1 })), /not two integers/);
        assert.match(String(badSplit({ blue: "1", green: 1 })), /not two integers/);
    });

    it("a preview's changes are the kinds other than same; the tally counts per phase", () => {
        assert.deepStrictEqual(changesIn({ same: 7 }), {});
        assert.deepStrictEqual(changesIn({ same: 6, update: 1, create: 0 }), { update: 1 });
        assert.deepStrictEqual(changesIn(undefined), {});
        assert.deepStrictEqual(
            tally([
                { row: "inside the backup", consistent: true },
                { row: "inside the backup", consistent: false },
                { row: "between phases", consistent: true },
            ]),
            ["| phase killed in | kills | consistent endings |", "|---|---|---|", "| between phases | 1 | 1 |", "| inside the backup | 2 | 1 |", "| **all** | **3** | **2** |"],
        );
    });
    it("kills across a flag step: every aim once, then the extra ones; the same seed replays", () => {
        const a = flagSchedule(rngOf(seeded(11)), 1);
        assert.deepStrictEqual(flagSchedule(rngOf(seeded(11)), 1), a);
        assert.strictEqual(a.length, FLAG_AIMS.length + 1);
        assert.deepStrictEqual([...a.slice(0, FLAG_AIMS.length)].sort(), [...FLAG_AIMS].sort());
    });

    it("where a kill across a flag step landed: from the events printed, refined by what is on disk", () => {
        const none = { intent: false, intentTmp: false, fileTmp: false, fileAtStage: false };
        assert.strictEqual(flagLanding([], none), "before the intent (still starting)");
        assert.strictEqual(flagLanding(["started", "step"], none), "before the intent");
        assert.strictEqual(flagLanding(["started", "step"], { ...none, intentTmp: true }), "inside the intent's write");
        assert.strictEqual(flagLanding(["started", "step"], { ...none, intent: true }), "after the intent, before the flag file");
        assert.strictEqual(flagLanding(["started", "step"], { ...none, intent: true, fileTmp: true }), "inside the flag file's write");
        assert.strictEqual(flagLanding(["started", "step"], { ...none, intent: true, fileAtStage: true }), "inside the flag file's read-back");
        assert.strictEqual(flagLanding(["started", "step", "flag"], { ...none, intent: true, fileAtStage: true }), "inside the step's `up`");
        assert.strictEqual(flagLanding(["started", "step", "flag", "applied", "sample"], { ...none, fileAtStage: true }), "inside the flag step's window");
        assert.strictEqual(flagLanding(["started", "step", "flag", "applied", "verdict", "revert", "flag"], none), "inside a revert turning the flag off");
        assert.strictEqual(flagLanding(["started", "step", "flag", "applied", "verdict", "revert", "flag", "applied", "done"], none), "after the command's end");
    });
});
