import { strict as assert } from "assert";
import { describeOpening, nextOpening, openingAt, parseWindow, parseWindows, refuseOutsideWindows, RolloutWindow } from "./windows";

const w = (t: string) => {
    const r = parseWindow(t);
    if (typeof r === "string") throw new Error(r);
    return r;
};
const at = (iso: string) => new Date(iso);

describe("rollout windows", () => {
    it("parses days, ranges, lists, daily, zones and windows past midnight", () => {
        const cases: [string, Partial<RolloutWindow>][] = [
            ["Sat 02:00-05:00 UTC", { days: [6], startMinute: 120, minutes: 180, zone: "UTC" }],
            ["sat 02:00-05:00", { days: [6], zone: "UTC" }],
            ["Mon-Fri 22:00-02:00 Europe/Paris", { days: [1, 2, 3, 4, 5], startMinute: 1320, minutes: 240, zone: "Europe/Paris" }],
            ["Fri-Mon 00:00-24:00", { days: [1, 5, 6, 7], minutes: 1440 }],
            ["Sat,Sun 03:00-04:00 utc", { days: [6, 7], minutes: 60, zone: "UTC" }],
            ["daily 03:00-03:30", { days: [1, 2, 3, 4, 5, 6, 7], minutes: 30 }],
            ["03:00-03:30", { days: [1, 2, 3, 4, 5, 6, 7] }],
            ["Saturday 02:00-05:00", { days: [6] }],
        ];
        for (const [text, want] of cases) {
            const got = w(text);
            for (const [k, v] of Object.entries(want)) assert.deepEqual((got as any)[k], v, `${text}: ${k}`);
        }
    });

    it("refuses nearly-right windows, naming what is wrong", () => {
        const cases: [string, RegExp][] = [
            ["", /does not read as/],
            ["Sat", /does not read as/],
            ["Sat 2:00-5:00", /"2:00" is not a time/],
            ["Sat 02:00-25:00", /"25:00" is not a time of day/],
            ["Sat 24:00-02:00", /"24:00" is not a time of day/],
            ["Sat 02:60-03:00", /"02:60" is not a time of day/],
            ["Sta 02:00-05:00", /"Sta" is not a day/],
            ["Sat, 02:00-05:00", /does not read as|is not a day/],
            ["Sat,,Sun 02:00-05:00", /"" is not a day|is not a day/],
            ["Mon- 02:00-05:00", /is not a day/],
            ["Sat 02:00-02:00", /is empty/],
            ["Sat 02:00-05:00 Mars/Olympus", /"Mars\/Olympus" is not a time zone/],
            ["Sat 02:00-05:00 UTC extra", /does not read as/],
        ];
        for (const [text, re] of cases) {
            const r = parseWindow(text);
            assert.equal(typeof r, "string", `${JSON.stringify(text)} should be refused`);
            assert.match(r as string, re, text);
        }
        assert.match(parseWindows([]).errors[0], /empty/);
        assert.match(parseWindows(["Sat 02:00-05:00", 3 as any]).errors[0], /is not text/);
        assert.equal(parseWindows(["Sat 02:00-05:00", "Sun 02:00-05:00"]).windows.length, 2);
    });

    it("knows the opening an instant falls in, and the next one", () => {
        const sat = [w("Sat 02:00-05:00 UTC")];
        // 2026-11-30 is a Monday.
        assert.equal(openingAt(sat, at("2026-11-30T14:00:00Z")), undefined);
        const next = nextOpening(sat, at("2026-11-30T14:00:00Z"))!;
        assert.equal(next.start.toISOString(), "2026-12-05T02:00:00.000Z");
        assert.equal(next.end.toISOString(), "2026-12-05T05:00:00.000Z");
        assert.ok(openingAt(sat, at("2026-12-05T02:00:00Z")), "the start is inside");
        assert.equal(openingAt(sat, at("2026-12-05T05:00:00Z")), undefined, "the end is outside");
        assert.equal(openingAt(sat, at("2026-12-05T04:59:59Z"))!.end.toISOString(), "2026-12-05T05:00:00.000Z");
        assert.equal(describeOpening(next, at("2026-11-30T14:00:00Z")), "Sat 2026-12-05 02:00–05:00 UTC (in 4 d 12 h)");
    });

    it("runs a window past midnight into the next day", () => {
        const fri = [w("Fri 22:00-02:00 UTC")];
        assert.ok(openingAt(fri, at("2026-12-05T01:30:00Z")), "Saturday 01:30 is inside Friday's window");
        assert.equal(openingAt(fri, at("2026-12-05T02:00:00Z")), undefined);
        assert.equal(openingAt(fri, at("2026-12-04T21:59:00Z")), undefined);
    });

    it("keeps wall-clock hours across daylight saving in a named zone", () => {
        const paris = [w("Sun 02:30-04:00 Europe/Paris")];
        // Winter: UTC+1; summer: UTC+2.
        assert.equal(nextOpening(paris, at("2026-12-01T00:00:00Z"))!.start.toISOString(), "2026-12-06T01:30:00.000Z");
        assert.equal(nextOpening(paris, at("2026-07-01T00:00:00Z"))!.start.toISOString(), "2026-07-05T00:30:00.000Z");
    });

    it("refuses a start outside every window, naming the next one; none configured means any time", () => {
        const list = parseWindows(["Sat 02:00-05:00 UTC", "Wed 01:00-02:00 UTC"]).windows;
        const msg = refuseOutsideWindows(list, at("2026-11-30T14:00:00Z"))!;
        assert.match(msg, /outside the rollout windows \(Sat 02:00-05:00 UTC; Wed 01:00-02:00 UTC\)/);
        assert.match(msg, /next one opens Wed 2026-12-02 01:00–02:00 UTC \(in 1 d 11 h\)/);
        assert.match(msg, /--force/);
        assert.equal(refuseOutsideWindows(list, at("2026-12-02T01:15:00Z")), undefined);
        assert.equal(refuseOutsideWindows([], at("2026-11-30T14:00:00Z")), undefined);
    });
});
