import * as assert from "assert";
import { formatReplication, judgeReplication } from "./replicationStatus";

const blueLive = { blue: 100, green: 0 };
const greenLive = { blue: 0, green: 100 };

describe("judgeReplication (pure)", () => {
    it("blue live, blue → green, green's gate closed: no problem", () => {
        const j = judgeReplication({ weights: blueLive, streams: ["blue→green"], paused: [], gateOpen: { blue: true, green: false } }, "shop");
        assert.deepStrictEqual(j, { direction: "blue → green", live: "blue", problems: [] });
    });

    it("killed between closing blue's gate and moving the weights: blue refuses writes, nothing replicates; resume or revert named", () => {
        const j = judgeReplication({ weights: blueLive, streams: [], paused: ["blue→green"], gateOpen: { blue: false, green: true } }, "shop");
        assert.strictEqual(j.direction, "none");
        assert.strictEqual(j.live, "blue");
        assert.strictEqual(j.problems.length, 3, j.problems.join("\n"));
        assert.match(j.problems[0], /^blue's write gate is closed: blue refuses every write/);
        assert.match(j.problems[1], /^green's write gate is open/);
        assert.match(j.problems[2], /^no replication runs \(blue→green paused\): writes to blue do not reach green/);
        for (const p of j.problems) assert.match(p, /`switchyard resume shop` or `switchyard revert shop`/);
    });

    it("green live with the reverse stream: no problem; the wrong way or both ways is named", () => {
        assert.deepStrictEqual(judgeReplication({ weights: greenLive, streams: ["green→blue"], paused: [], gateOpen: { blue: false, green: true } }, "s").problems, []);
        const wrong = judgeReplication({ weights: greenLive, streams: ["blue→green"], paused: [], gateOpen: { blue: false, green: true } }, "s");
        assert.match(wrong.problems.join("\n"), /replication runs blue → green but the router sends writes to green/);
        const both = judgeReplication({ weights: greenLive, streams: ["blue→green", "green→blue"], paused: [], gateOpen: { blue: false, green: true } }, "s");
        assert.strictEqual(both.direction, "both");
        assert.match(both.problems.join("\n"), /replication runs both ways \(blue→green, green→blue\)/);
    });

    it("split weights are named", () => {
        const j = judgeReplication({ weights: { blue: 50, green: 50 }, streams: ["blue→green"], paused: [], gateOpen: { blue: true, green: false } }, "s");
        assert.strictEqual(j.live, "both");
        assert.match(j.problems[0], /sends writes to both colors \(weights 50\/50\)/);
    });

    it("formats direction, lag and gates", () => {
        const lines = formatReplication({
            direction: "none",
            live: "blue",
            paused: ["blue→green"],
            lag: { from: "blue", to: "green", slotExists: true, streaming: false, lagBytes: 0, message: "replication from blue to green is not streaming" },
            writeGates: { blue: "closed", green: "open" },
            problems: [],
        });
        assert.deepStrictEqual(lines, [
            "replication:      none (paused: blue→green); replication from blue to green is not streaming",
            "write gates:      blue closed, green open (blue is live and refuses writes)",
        ]);
    });
});
