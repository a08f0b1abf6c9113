/** The shared validators and helpers both platforms and the policy pack rely on: tables of cases. */
import * as assert from "assert";
import fc from "fast-check";
import {
    checkDatabaseMode,
    checkPort,
    checkStepPlan,
    checkTraffic,
    checkTtlHours,
    expiryFrom,
    idleColor,
    liveColor,
    resolveHealthCheck,
    share,
} from "./types";

describe("shared validation", () => {
    const traffic: [unknown, string | undefined][] = [
        [{ blue: 90, green: 10 }, undefined],
        [{ blue: 0, green: 100 }, undefined],
        [undefined, "traffic weights are missing: give { blue, green } as integers from 0 to 100"],
        [{ blue: 101, green: 0 }, "traffic weight for blue is 101: it must be an integer from 0 to 100"],
        [{ blue: 50.5, green: 50 }, "traffic weight for blue is 50.5: it must be an integer from 0 to 100"],
        [{ blue: 50, green: "50" }, 'traffic weight for green is "50": it must be an integer from 0 to 100'],
        [{ blue: 50, green: 50, red: 1 }, 'traffic names unknown color(s) red: only "blue" and "green" are allowed'],
        [{ blue: 0, green: 0 }, "traffic weights are both 0: at least one color must receive traffic"],
    ];
    for (const [w, msg] of traffic) {
        it(`traffic ${JSON.stringify(w)}: ${msg ?? "valid"}`, () => assert.strictEqual(checkTraffic(w as never), msg));
    }

    const plans: [unknown, number, string | undefined][] = [
        [[10, 25, 50, 100], 100, undefined],
        [[], 100, "cutover steps are missing: give a rising list of weights ending at 100, e.g. [10, 25, 50, 100]"],
        [[0, 100], 100, "cutover step 1 is 0: each step must be an integer from 1 to 100"],
        [[50, 50, 100], 100, "cutover step 2 (50) does not rise above the step before it (50): steps must rise strictly"],
        [[10, 60, 100], 25, "cutover step 2 jumps from 10 to 60 (50 points), more than the maximum of 25: add intermediate steps"],
        [[10, 90], 100, "cutover steps end at 90: the last step must be 100"],
    ];
    for (const [steps, max, msg] of plans) {
        it(`steps ${JSON.stringify(steps)} (max ${max}): ${msg ?? "valid"}`, () => assert.strictEqual(checkStepPlan(steps, max), msg));
    }

    it("database modes by role and platform", () => {
        assert.strictEqual(checkDatabaseMode("shared", "blue-green", "local"), undefined);
        assert.strictEqual(checkDatabaseMode("snapshot", "sandbox", "aws"), undefined);
        assert.strictEqual(checkDatabaseMode("rds-blue-green", "blue-green", "aws"), undefined);
        assert.match(checkDatabaseMode("snapshot", "blue-green", "aws") ?? "", /refused for live colors: .*"rds-blue-green" for an engine upgrade/);
        assert.match(checkDatabaseMode("shared", "sandbox", "local") ?? "", /"shared" is refused for a sandbox: a sandbox never touches production's database\. Use "snapshot"/);
        assert.match(checkDatabaseMode("rds-blue-green", "blue-green", "local") ?? "", /exists on AWS only/);
        assert.match(checkDatabaseMode("rds-blue-green", "sandbox", "aws") ?? "", /a sandbox uses "snapshot"/);
        assert.match(checkDatabaseMode("copy", "sandbox", "aws") ?? "", /database mode "copy" is unknown: use one of shared, snapshot, rds-blue-green/);
    });

    it("sandbox expiry and ports", () => {
        assert.match(checkTtlHours(undefined) ?? "", /a sandbox needs an expiry: set ttlHours/);
        assert.match(checkTtlHours(0) ?? "", /ttlHours is 0: it must be a positive number of hours/);
        assert.match(checkTtlHours(800) ?? "", /the longest a sandbox may live is 720 hours/);
        assert.strictEqual(checkTtlHours(24), undefined);
        assert.strictEqual(checkPort("router port", 8080), undefined);
        assert.strictEqual(checkPort("router port", 70000), "router port is 70000: it must be an integer from 1 to 65535");
    });
});

describe("shared helpers", () => {
    it("the live color carries the larger weight; blue on a tie; the idle one is the other", () => {
        assert.deepStrictEqual([liveColor({ blue: 90, green: 10 }), idleColor({ blue: 90, green: 10 })], ["blue", "green"]);
        assert.deepStrictEqual([liveColor({ blue: 10, green: 90 }), idleColor({ blue: 10, green: 90 })], ["green", "blue"]);
        assert.deepStrictEqual([liveColor({ blue: 50, green: 50 }), idleColor({ blue: 50, green: 50 })], ["blue", "green"]);
    });
    it("shares add up to 1 for any valid weights", () => {
        fc.assert(
            fc.property(fc.integer({ min: 0, max: 100 }), fc.integer({ min: 0, max: 100 }), (blue, green) => {
                fc.pre(blue + green > 0);
                assert.ok(Math.abs(share({ blue, green }, "blue") + share({ blue, green }, "green") - 1) < 1e-12);
            }),
        );
    });
    it("expiry is created-at plus ttl, to the second", () => {
        assert.strictEqual(expiryFrom(new Date("2026-11-24T10:00:00.456Z"), 24), "2026-11-25T10:00:00Z");
    });
    it("health checks fill their defaults", () => {
        assert.deepStrictEqual(resolveHealthCheck({ path: "/ready" }), { path: "/ready", intervalSeconds: 5, healthyThreshold: 2, unhealthyThreshold: 3 });
    });
});
