/** A session's verdict on how a cutover command ended (its exit code in the CLI). */
import * as assert from "assert";
import { runSession } from "./session";
import { Checkpoint, Phase } from "./types";

const T0 = "2026-11-30T10:00:00Z";
const cp = (phase: Phase, over: Partial<Checkpoint> = {}): Checkpoint => ({
    id: "c1",
    from: "blue",
    to: "green",
    steps: [50, 100],
    step: 0,
    phase,
    failures: 0,
    inconclusive: 0,
    passes: 0,
    weights: { blue: 100, green: 0 },
    startedAt: T0,
    updatedAt: T0,
    ...over,
});

describe("cutover session: the verdict on a command's end", () => {
    const ended = async (hoped: Phase, final: Checkpoint) =>
        (await runSession({ stackName: "pair" }, { write: () => undefined, warn: () => undefined, handleSigint: false }, hoped, async () => final)).ok;

    it("a resume that promotes or pauses succeeds; one that reverts after a failed gate does not", async () => {
        assert.strictEqual(await ended("promoted", cp("promoted")), true);
        assert.strictEqual(await ended("promoted", cp("paused")), true);
        assert.strictEqual(await ended("promoted", cp("reverted", { reason: "gate failed at green 50%: success rate 70.00% < 99.00%" })), false);
        assert.strictEqual(await ended("promoted", cp("failed")), false);
    });

    it("a resume that finishes a revert the operator asked for (cut short by a kill) succeeds, as the revert would have", async () => {
        assert.strictEqual(await ended("promoted", cp("reverted", { requested: "revert", reason: "revert asked for by the operator" })), true);
        assert.strictEqual(await ended("reverted", cp("reverted", { requested: "revert" })), true);
        assert.strictEqual(await ended("reverted", cp("failed", { requested: "revert" })), false);
    });
});
