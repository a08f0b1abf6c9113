/**
 * The command line's parsers and the library's request check: what each accepts, what each refuses,
 * and that a refusal names the flag, the value and the fix. Pure, but for the report path's check
 * against real folders.
 */
import * as assert from "assert";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import fc from "fast-check";
import { UserError } from "../stack/errors";
import { PRESETS } from "./core";
import {
    checkCutoverFlags,
    checkFileName,
    FileProbe,
    flagHelp,
    MAX_STEPS,
    NUMBER_FLAGS,
    NumberFlag,
    parseColor,
    parseNumberFlag,
    parsePauseAtFlag,
    parseReportPath,
    parseSnapshotName,
    parseStackName,
    parseStepsFlag,
    parseWebhookUrl,
    validateRequest,
} from "./options";

const SEED = Number(process.env.FC_SEED ?? Date.now() % 2 ** 31);

/** Asserts fn throws a UserError whose message matches every pattern. */
function refused(fn: () => unknown, ...patterns: (RegExp | string)[]): string {
    let err: unknown;
    try {
        fn();
    } catch (e) {
        err = e;
    }
    assert.ok(err instanceof UserError, `expected a UserError, got ${err === undefined ? "no error" : String(err)}`);
    const msg = (err as Error).message;
    for (const p of patterns) {
        assert.ok(typeof p === "string" ? msg.includes(p) : p.test(msg), `${JSON.stringify(msg)} should match ${p}`);
    }
    return msg;
}

describe("cutover options (strict parsing of the command line)", () => {
    before(() => console.log(`      fast-check seed ${SEED} (set FC_SEED to replay)`));

    describe("--steps", () => {
        it("takes a preset by its exact name, and a list of whole percents", () => {
            for (const name of Object.keys(PRESETS)) {
                assert.strictEqual(parseStepsFlag(name), name);
            }
            assert.deepStrictEqual(parseStepsFlag("10,25,50,100"), [10, 25, 50, 100]);
            assert.deepStrictEqual(parseStepsFlag("100"), [100]);
        });

        const table: [string, RegExp][] = [
            ["10,,100", /element 2 of 3 is empty \(two commas in a row\)/],
            [",100", /element 1 of 2 is empty \(a leading comma\)/],
            ["10,100,", /element 3 of 3 is empty \(a trailing comma\)/],
            ["", /it is empty/],
            ["10.5,100", /element 1 of 2 \("10\.5"\) is not a whole percent: it is not a whole number/],
            ["10,50.0,100", /element 2 of 3 \("50\.0"\) is not a whole percent/],
            ["1e1,100", /not in exponent form/],
            ["0x10,100", /plain decimal digits/],
            [" 10, 100", /whitespace; write the weights with commas and no spaces/],
            ["10,\t100", /whitespace/],
            ["10,101", /cutover step 2 is 101: each step must be an integer from 1 to 100/],
            ["0,100", /cutover step 1 is 0/],
            ["-10,100", /it is negative/],
            ["+10,100", /without a sign/],
            ["010,100", /leading zeros/],
            ["50,10,100", /does not rise above the step before it \(50\)/],
            ["10,10,100", /does not rise above/],
            ["10,50", /cutover steps end at 50: the last step must be 100/],
            ["Linear-25", /no preset has that name; use one of canary-10, linear-10, linear-25, all-at-once/],
            ["linear-20", /no preset has that name/],
            ["10;100", /is not a whole percent/],
            ["10/100", /is not a whole percent/],
        ];
        for (const [text, pattern] of table) {
            it(`refuses ${JSON.stringify(text)}`, () => {
                refused(() => parseStepsFlag(text), `--steps is ${JSON.stringify(text)}: `, pattern);
            });
        }

        it("refuses a 10,000-step plan before reading its elements, naming the cap", () => {
            const text = Array.from({ length: 10_000 }, (_, i) => i + 1).join(",");
            const msg = refused(() => parseStepsFlag(text), `it lists 10000 weights, more than the cap of ${MAX_STEPS} steps`, "(48893 characters)");
            assert.ok(msg.length < 400, "the message quotes the start of the value, not all of it");
        });

        it("takes every valid plan it is given in canonical form (property)", () => {
            fc.assert(
                fc.property(fc.uniqueArray(fc.integer({ min: 1, max: 99 }), { maxLength: 20 }), (xs) => {
                    const steps = [...xs.sort((a, b) => a - b), 100];
                    assert.deepStrictEqual(parseStepsFlag(steps.join(",")), steps);
                }),
                { seed: SEED, numRuns: 200 },
            );
        });

        it("never repairs a list: an empty element anywhere is refused (property)", () => {
            fc.assert(
                fc.property(fc.uniqueArray(fc.integer({ min: 1, max: 99 }), { maxLength: 10 }), fc.nat(), (xs, at) => {
                    const parts = [...xs.sort((a, b) => a - b).map(String), "100"];
                    parts.splice(at % (parts.length + 1), 0, "");
                    refused(() => parseStepsFlag(parts.join(",")), /is empty/);
                }),
                { seed: SEED, numRuns: 200 },
            );
        });

        it("never rounds: a decimal weight anywhere is refused (property)", () => {
            fc.assert(
                fc.property(fc.integer({ min: 1, max: 98 }), fc.integer({ min: 1, max: 9 }), (w, frac) => {
                    refused(() => parseStepsFlag(`${w}.${frac},100`), /is not a whole percent/);
                }),
                { seed: SEED, numRuns: 100 },
            );
        });
    });

    describe("--pause-at", () => {
        it("takes rising weights below 100", () => {
            assert.deepStrictEqual(parsePauseAtFlag("50"), [50]);
            assert.deepStrictEqual(parsePauseAtFlag("25,50"), [25, 50]);
        });
        const table: [string, RegExp][] = [
            ["100", /a cutover ends at 100 \(promoted\) and never pauses there/],
            ["0", /pause point 1 \(0\) is not a whole percent from 1 to 99/],
            ["50,25", /does not rise above the one before it/],
            ["50,50", /does not rise above/],
            ["50,", /trailing comma/],
            ["12.5", /not a whole percent/],
            ["half", /is not a whole percent/],
        ];
        for (const [text, pattern] of table) {
            it(`refuses ${JSON.stringify(text)}`, () => refused(() => parsePauseAtFlag(text), `--pause-at is ${JSON.stringify(text)}: `, pattern));
        }
        it("with --steps: a pause point must be one of the steps; with --max-step: no jump above it", () => {
            assert.doesNotThrow(() => checkCutoverFlags({ steps: [10, 50, 100], pauseAt: [50] }));
            assert.doesNotThrow(() => checkCutoverFlags({ steps: "linear-25", pauseAt: [25, 75] }));
            refused(() => checkCutoverFlags({ steps: [10, 50, 100], pauseAt: [30] }), '--pause-at is "30": 30 is not a step of the plan (10, 50, 100)', "(--steps 10,50,100)");
            refused(() => checkCutoverFlags({ steps: "canary-10", pauseAt: [50] }), "not a step of the plan (10, 100)", "(--steps canary-10)");
            refused(() => checkCutoverFlags({ steps: [10, 100], maxStep: 50 }), '--steps is "10,100": with --max-step 50, cutover step 2 jumps from 10 to 100');
        });
    });

    describe("numbers", () => {
        it("takes plain decimal digits within bounds; decimals only where the flag allows them", () => {
            assert.strictEqual(parseNumberFlag("--interval", "2.5"), 2.5);
            assert.strictEqual(parseNumberFlag("--interval", "0.1"), 0.1);
            assert.strictEqual(parseNumberFlag("--min-success", "99.5"), 99.5);
            assert.strictEqual(parseNumberFlag("--min-success", "0"), 0);
            assert.strictEqual(parseNumberFlag("--max-latency", "500"), 500);
            assert.strictEqual(parseNumberFlag("--min-requests", "0"), 0);
            assert.strictEqual(parseNumberFlag("--last", "1"), 1);
        });

        const table: [NumberFlag, string, RegExp][] = [
            ["--interval", "soon", /it is not a number/],
            ["--interval", "1e1", /not in exponent form/],
            ["--interval", "5s", /without a unit/],
            ["--interval", "0", /out of range/],
            ["--interval", "3601", /out of range/],
            ["--interval", ".5", /digits on both sides of the point/],
            ["--interval", "2.", /digits on both sides of the point/],
            ["--interval", "2.0001", /more than 3 decimal places/],
            ["--interval", "2,5", /use a point for decimals, not a comma/],
            ["--interval", " 5", /whitespace/],
            ["--interval", "", /it is empty/],
            ["--min-success", "101", /out of range/],
            ["--min-success", "99%", /without a unit/],
            ["--min-success", "-1", /negative/],
            ["--max-latency", "500.0", /not a whole number/],
            ["--max-latency", "0", /out of range/],
            ["--max-latency", "0x1F4", /plain decimal digits/],
            ["--min-requests", "2.5", /not a whole number/],
            ["--failure-limit", "0", /out of range/],
            ["--windows", "1.0", /not a whole number/],
            ["--max-step", "101", /out of range/],
            ["--load", "0", /out of range/],
            ["--load", "Infinity", /not a number/],
            ["--last", "-1", /negative/],
            ["--last", "NaN", /not a number/],
            ["--requests", "1e3", /exponent/],
        ];
        for (const [flag, text, pattern] of table) {
            it(`refuses ${flag} ${JSON.stringify(text)}, naming the form and the bounds`, () => {
                const rule = NUMBER_FLAGS[flag];
                refused(() => parseNumberFlag(flag, text), `${flag} is ${JSON.stringify(text)}: `, pattern, `from ${rule.min.toLocaleString("en-US")} to ${rule.max.toLocaleString("en-US")}`);
            });
        }

        it("the help of each flag states its form and bounds", () => {
            assert.strictEqual(flagHelp("--interval", "window"), "window: a number of seconds (decimals allowed, up to 3 places), from 0.1 to 3,600, e.g. 5 or 2.5");
            assert.strictEqual(flagHelp("--max-latency", "latency"), "latency: a whole number of milliseconds, from 1 to 600,000, e.g. 500");
        });
    });

    describe("names", () => {
        it("takes letters, digits, '-', '_' and '.' not first", () => {
            for (const ok of ["local", "prod-eu.1", "a_b", "A1", "x".repeat(100)]) {
                assert.strictEqual(parseStackName(ok), ok);
            }
        });
        const bad: [string, RegExp][] = [
            ["../etc", /holds a path separator/],
            ["a/b", /holds a path separator/],
            ["/tmp/x", /holds a path separator/],
            ["a\\b", /holds a path separator/],
            ["..", /starts with '\.' or holds '\.\.'/],
            [".hidden", /starts with '\.'/],
            ["a..b", /holds '\.\.'/],
            ["-rf", /starts with '-'/],
            ["", /it is empty/],
            ["a b", /holds " "/],
            ["prod\n", /holds "\\n"/],
            ["x".repeat(101), /too long \(101 characters\)/],
        ];
        for (const [name, pattern] of bad) {
            it(`refuses the stack name ${JSON.stringify(name)}`, () => refused(() => parseStackName(name), /^stack name /, pattern, "use letters, digits, '-', '_' and '.'"));
        }
        it("refuses a snapshot name the same way, and the reserved name latest", () => {
            assert.strictEqual(parseSnapshotName("pre-release.1"), "pre-release.1");
            refused(() => parseSnapshotName(".."), '--name (snapshot name) ".."');
            refused(() => parseSnapshotName("latest"), '--name is "latest": that name is reserved');
        });
        it("checkFileName returns a message rather than throwing, for other callers", () => {
            assert.strictEqual(checkFileName("stack name", "ok"), undefined);
            assert.match(checkFileName("stack name", 42) ?? "", /stack name is 42: it is empty/);
        });
    });

    describe("--to, --webhook, --report", () => {
        it("--to takes blue or green exactly", () => {
            assert.strictEqual(parseColor("green"), "green");
            refused(() => parseColor("Green"), '--to is "Green": use blue or green');
            refused(() => parseColor("red"), '--to is "red": use blue or green');
        });

        it("--webhook takes an http(s) URL with a host", () => {
            assert.strictEqual(parseWebhookUrl("https://hooks.example.com/x?y=1"), "https://hooks.example.com/x?y=1");
            assert.strictEqual(parseWebhookUrl("http://127.0.0.1:9000/"), "http://127.0.0.1:9000/");
            const fix = "give an absolute http:// or https:// URL";
            refused(() => parseWebhookUrl("ftp://example.com/x"), '--webhook is "ftp://example.com/x": its scheme is ftp', fix);
            refused(() => parseWebhookUrl("file:///etc/passwd"), "its scheme is file", fix);
            refused(() => parseWebhookUrl("example.com/hook"), "it is not a URL", fix);
            refused(() => parseWebhookUrl("http://"), "it is not a URL", fix);
            refused(() => parseWebhookUrl("https://exa mple.com"), "whitespace", fix);
            refused(() => parseWebhookUrl(""), "it is empty", fix);
        });

        describe("--report (real folders)", () => {
            let dir: string;
            before(() => (dir = fs.mkdtempSync(path.join(os.tmpdir(), "switchyard-report-"))));
            after(() => fs.rmSync(dir, { recursive: true, force: true }));

            it("takes a new or existing file in a writable folder, relative to the working folder", () => {
                assert.strictEqual(parseReportPath(path.join(dir, "r.json")), path.join(dir, "r.json"));
                fs.writeFileSync(path.join(dir, "old.json"), "{}");
                assert.strictEqual(parseReportPath("old.json", "--report", undefined, dir), path.join(dir, "old.json"));
            });

            it("refuses a folder, a missing folder and a folder that is a file", () => {
                refused(() => parseReportPath(dir), `${dir} is a folder; name a file in it`);
                refused(() => parseReportPath(`${dir}/`), "it ends with a path separator, so it names a folder");
                refused(() => parseReportPath(path.join(dir, "no", "r.json")), `its folder ${path.join(dir, "no")} does not exist`);
                fs.writeFileSync(path.join(dir, "plain"), "");
                refused(() => parseReportPath(path.join(dir, "plain", "r.json")), `${path.join(dir, "plain")} is not a folder`);
                refused(() => parseReportPath(""), '--report is "": it is empty');
            });

            it("refuses a folder or a file this process may not write (as the probe sees it)", () => {
                const probe = (writable: boolean, kind: "dir" | "file" | undefined): FileProbe => ({
                    kind: (p) => (p === "/reports" ? "dir" : kind),
                    writable: () => writable,
                });
                refused(() => parseReportPath("/reports/r.json", "--report", probe(false, undefined)), "its folder /reports may not be written in");
                refused(() => parseReportPath("/reports/r.json", "--report", probe(false, "file")), "/reports/r.json exists and may not be written");
                assert.strictEqual(parseReportPath("/reports/r.json", "--report", probe(true, undefined)), "/reports/r.json");
            });
        });
    });

    describe("validateRequest (the library's entry points)", () => {
        const target = { stackName: "local" };
        it("takes what the CLI and the tests send", () => {
            assert.doesNotThrow(() => validateRequest(target));
            assert.doesNotThrow(() => validateRequest(target, { gate: { intervalMs: 1500, minRequests: 10 }, pretest: false, backup: false }));
            assert.doesNotThrow(() => validateRequest(target, { to: "green", steps: "linear-25", pauseAt: [50], maxStep: 25 }));
            assert.doesNotThrow(() => validateRequest(target, { steps: [10, 50, 100], gate: { minSuccessRate: 0.995, intervalMs: undefined } }));
        });
        const bad: [string, Parameters<typeof validateRequest>[1], RegExp][] = [
            ["a field it does not have", { step: [10, 100] } as never, /the request has no field "step": its fields are to, steps/],
            ["an unknown color", { to: "red" as never }, /to is "red": use blue or green/],
            ["an unknown preset", { steps: "fast" }, /steps is "fast": no preset has that name/],
            ["an empty plan", { steps: [] }, /cutover steps are missing/],
            ["a decimal step", { steps: [10.5, 100] }, /cutover step 1 is 10\.5/],
            ["a plan past the cap", { steps: Array.from({ length: 10_000 }, (_, i) => i + 1) }, /at most 100 steps/],
            ["a jump above maxStep", { steps: [10, 100], maxStep: 50 }, /jumps from 10 to 100/],
            ["a decimal maxStep", { maxStep: 12.5 }, /maxStep is 12\.5: give a whole number from 1 to 100/],
            ["a pause not in the plan", { steps: [10, 50, 100], pauseAt: [30] }, /pauseAt is \[30\]: 30 is not a step of the plan/],
            ["a pause at 100", { pauseAt: [100] }, /never pauses there/],
            ["a gate setting it does not have", { gate: { interval: 5 } as never }, /gate has no setting "interval"/],
            ["a window too short", { gate: { intervalMs: 50 } }, /gate\.intervalMs is 50: give a whole number of milliseconds from 100 to 3600000; --interval on the command line/],
            ["a success rate given as a percent", { gate: { minSuccessRate: 99 } }, /gate\.minSuccessRate is 99: give a number from 0 to 1 \(a share: 0\.99 is 99%\); --min-success on the command line/],
            ["a count given as text", { gate: { minRequests: "20" as never } }, /gate\.minRequests is "20"/],
            ["a non-boolean pretest", { pretest: "no" as never }, /pretest is "no": give true or false/],
        ];
        for (const [what, req, pattern] of bad) {
            it(`refuses ${what}`, () => refused(() => validateRequest(target, req), pattern));
        }
        it("refuses a path-like stack name before anything joins it into a path", () => {
            refused(() => validateRequest({ stackName: "../etc" }), 'stack name "../etc" holds a path separator');
        });
    });
});
