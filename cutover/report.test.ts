/**
 * The cutover report: the timeline read from realistic event streams (a green failing at its second
 * step, caught early and reverted; a green promoted), the page's self-containment, and the page
 * opened from disk in a real headless Chromium (Debian's package) with no network: the chart's marks
 * for weights, errors, verdicts and the revert are in the DOM it builds, and a screenshot of each
 * page is kept under artifacts/ at the repository's root.
 *
 * Randomness (request counts, latencies) is seeded: the seed is printed; set REPORT_SEED to replay.
 */
import * as assert from "assert";
import { spawn } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { pathToFileURL } from "url";
import { stopProcessGroup } from "../components/local/ops/proc";
import { UserError } from "../stack/errors";
import { report } from "./listeners";
import { parseReportPath } from "./options";
import { chartSpec, escapeHtml, MARKS, renderChart, reportHtml, timeline } from "./report";
import { advance, start, windowEnds } from "./core";
import { binomial, rng } from "./simulate";
import { CutoverEvent, CutoverPlan, DEFAULT_GATE, Input, Sample } from "./types";

const SEED = Number(process.env.REPORT_SEED ?? Date.now() % 2 ** 31);
const ARTIFACTS = path.resolve(__dirname, "..", "artifacts");
const CHROMIUM = "/usr/bin/chromium";

/** How the new color behaves from a time on. */
interface Behaviour {
    /** From this many seconds after the start. */
    readonly from: number;
    /** Share of its requests that fail. */
    readonly failShare: number;
    /** Mean response time, ms (times are drawn from an exponential tail over a floor of half of it). */
    readonly meanMs: number;
}

interface StreamOptions {
    readonly seed: number;
    /** Weights of the new color, blue → green. */
    readonly steps: number[];
    /** Requests per second through the router. @default 1000 */
    readonly rate?: number;
    /** A pretest through the test listener first. @default false */
    readonly pretest?: boolean;
    readonly behaviour: readonly Behaviour[];
}

const START = Date.parse("2026-11-24T10:00:00.000Z");

/**
 * A cutover's event stream as the driver emits it, decided by the real core (`start`, `advance`,
 * `windowEnds`) with the default gate: each window is read every `tickMs` (a `progress` event with
 * the cumulative sample), green answers its share of `rate` requests per second, some failing and
 * each timed, and the window ends as the driver's does (early on proven failure, else at its length).
 */
function cutoverStream(o: StreamOptions): CutoverEvent[] {
    const next = rng(o.seed);
    const gate = DEFAULT_GATE;
    const plan: CutoverPlan = { from: "blue", to: "green", steps: o.steps, gate, pretest: o.pretest ?? false, backup: false, pauseAt: [] };
    const rate = o.rate ?? 1000;
    const events: CutoverEvent[] = [];
    let ms = 0;
    const now = () => new Date(START + Math.round(ms)).toISOString();
    const behaviour = () => [...o.behaviour].reverse().find((b) => b.from <= ms / 1000) ?? o.behaviour[0];
    const draw = (b: Behaviour) => b.meanMs * (0.5 - 0.5 * Math.log(1 - next()));
    let t = start(plan, { blue: 100, green: 0 }, "report-test", now());
    events.push(...t.events);
    for (let guard = 0; guard < 1000 && t.action.kind !== "done"; guard++) {
        const a = t.action;
        let input: Input;
        if (a.kind === "pretest") {
            ms += 400 + 100 * next();
            input = { kind: "pretested", sample: { color: "green", requests: 20, errors: 0, latencyMs: 9, timed: 20, slow: 0, percentileMs: 21, percentile: 99, healthy: true, windowMs: 400 } };
        } else if (a.kind === "apply" || a.kind === "revert") {
            // The router is set and read back at once; the step's `up` goes on in the background.
            ms += a.kind === "revert" ? 8 + 4 * next() : 30 + 20 * next();
            input = { kind: "applied", served: a.weights };
        } else if (a.kind === "observe") {
            const share = t.checkpoint.weights.green / (t.checkpoint.weights.blue + t.checkpoint.weights.green);
            const times: number[] = [];
            let errors = 0;
            let sample: Sample;
            for (let elapsed = gate.tickMs; ; elapsed += gate.tickMs) {
                ms += gate.tickMs;
                const b = behaviour();
                const n = binomial(next, Math.round((rate * gate.tickMs) / 1000), share);
                errors += binomial(next, n, b.failShare);
                for (let i = 0; i < n; i++) times.push(draw(b));
                times.sort((x, y) => x - y);
                sample = {
                    color: "green",
                    requests: times.length,
                    errors,
                    latencyMs: times.reduce((x, y) => x + y, 0) / Math.max(1, times.length),
                    timed: times.length,
                    slow: times.filter((x) => x > gate.maxLatencyMs).length,
                    percentileMs: times[Math.min(times.length - 1, Math.ceil(0.99 * times.length) - 1)] ?? 0,
                    percentile: gate.latencyPercentile,
                    healthy: true,
                    windowMs: elapsed,
                };
                events.push({ type: "progress", at: now(), step: t.checkpoint.step + 1, sample });
                if (windowEnds(sample, gate, elapsed)) break;
            }
            ms += 1;
            input = { kind: "sampled", sample };
        } else {
            throw new Error(`the report's test stream does not take a ${a.kind} action`);
        }
        t = advance(t.checkpoint, plan, input, now());
        events.push(...t.events);
        // The last step's (or the revert's) `up` ends the cutover.
        if (t.action.kind === "done") ms += 2400;
    }
    const last = events[events.length - 1];
    if (last.type === "done") events[events.length - 1] = { ...last, at: now() };
    return events;
}

/** A green failing 20% of its requests from 7.2 s on, during its second step (25%): an early failure and the revert. */
function failingCutover(seed: number): CutoverEvent[] {
    return cutoverStream({
        seed,
        steps: [10, 25, 50, 100],
        behaviour: [
            { from: 0, failShare: 0.001, meanMs: 9 },
            { from: 7.2, failShare: 0.2, meanMs: 14 },
        ],
    });
}

/** A healthy green, pretested, promoted in three steps. */
function promotedCutover(seed: number): CutoverEvent[] {
    return cutoverStream({ seed, steps: [10, 50, 100], pretest: true, behaviour: [{ from: 0, failShare: 0.0005, meanMs: 8 }] });
}

// ---------------------------------------------------------------------------------------------
// Chromium, headless, offline.
// ---------------------------------------------------------------------------------------------

/** The Chromium binary, or a failure that says how to install it (the set-up script does). */
function chromiumBinary(candidate = CHROMIUM): string {
    if (!fs.existsSync(candidate)) {
        throw new Error(
            `Chromium is not installed (${candidate} is missing): run \`bash scripts/setup.sh\`, which installs Debian's chromium package ` +
                `(or as root: apt-get install chromium); the report's browser test needs it`,
        );
    }
    return candidate;
}

/** Flags that keep Chromium off the network: every host unresolvable, a proxy that refuses, no background fetches. */
const OFFLINE = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--proxy-server=127.0.0.1:9",
    "--host-resolver-rules=MAP * ~NOTFOUND",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-extensions",
    "--no-first-run",
    "--no-default-browser-check",
    "--hide-scrollbars",
];

/**
 * Runs Chromium in its own process group with a fresh profile, bounded by timeoutMs; the group is
 * killed after, whatever happened. Resolves its standard output.
 */
async function chromium(args: string[], timeoutMs = 60_000): Promise<string> {
    const bin = chromiumBinary();
    const profile = fs.mkdtempSync(path.join(os.tmpdir(), "switchyard-chromium-"));
    const child = spawn(bin, [...OFFLINE, `--user-data-dir=${profile}`, ...args], { detached: true, stdio: ["ignore", "pipe", "pipe"] });
    const pid = child.pid!;
    let out = "";
    let err = "";
    child.stdout.on("data", (d) => (out += d));
    child.stderr.on("data", (d) => (err += d));
    let timedOut = false;
    const timer = setTimeout(() => {
        timedOut = true;
        try {
            process.kill(-pid, "SIGKILL");
        } catch {
            /* gone */
        }
    }, timeoutMs);
    try {
        const code = await new Promise<number | null>((resolve, reject) => {
            child.on("error", reject);
            child.on("close", (c) => resolve(c));
        });
        if (timedOut) throw new Error(`chromium ${args.join(" ")} took over ${timeoutMs} ms and was killed; its stderr:\n${err.slice(-2000)}`);
        if (code !== 0) throw new Error(`chromium ${args.join(" ")} exited with ${code}; its stderr:\n${err.slice(-2000)}`);
        return out;
    } finally {
        clearTimeout(timer);
        await stopProcessGroup(pid, 3000);
        fs.rmSync(profile, { recursive: true, force: true });
    }
}

/** The children (paths, lines, texts) of each SVG group whose class names mark `<name>_marks`. */
function marksIn(dom: string, name: string): string[][] {
    const groups: string[][] = [];
    const open = new RegExp(`<g[^>]*\\bclass="[^"]*(?<![\\w-])${name.replace(/[-]/g, "\\-")}_marks(?![\\w-])[^"]*"[^>]*>([\\s\\S]*?)</g>`, "g");
    for (const m of dom.matchAll(open)) {
        groups.push([...m[1].matchAll(/<(path|line|text)\b[^>]*>/g)].map((c) => c[0]));
    }
    return groups;
}

/** Width and height of a PNG, from its header. */
function pngSize(file: string): { width: number; height: number } {
    const b = fs.readFileSync(file);
    assert.strictEqual(b.subarray(1, 4).toString("ascii"), "PNG", `${file} is not a PNG`);
    return { width: b.readUInt32BE(16), height: b.readUInt32BE(20) };
}

/** What a page must not hold to open offline: scripts, style sheets, frames or any http(s) reference. */
function networkReferences(html: string): string[] {
    const found: string[] = [];
    for (const re of [/<script\b/gi, /<link\b/gi, /<iframe\b/gi, /<object\b/gi, /<embed\b/gi, /@import/gi, /\b(?:src|href|xlink:href|action|srcset)\s*=\s*["']?\s*(?:https?:)?\/\//gi, /url\(\s*["']?\s*(?:https?:)?\/\//gi]) {
        for (const m of html.matchAll(re)) found.push(m[0]);
    }
    return found;
}

// ---------------------------------------------------------------------------------------------
// The tests.
// ---------------------------------------------------------------------------------------------

describe("cutover report", () => {
    before(() => console.log(`      report seed ${SEED} (set REPORT_SEED to replay)`));
    const failing = failingCutover(SEED);
    const promoted = promotedCutover(SEED + 1);

    describe("the timeline (pure)", () => {
        it("a green failing at 25%: one pass at 10%, an early failure at 25%, the revert, green back to 0", () => {
            const tl = timeline({ stack: "local", events: failing });
            assert.strictEqual(tl.from, "blue");
            assert.strictEqual(tl.to, "green");
            assert.deepStrictEqual(tl.steps, [10, 25, 50, 100]);
            assert.strictEqual(tl.outcome, "reverted");
            assert.deepStrictEqual(
                tl.verdicts.map((v) => [v.step, v.share, v.label]),
                [
                    [1, 10, "pass"],
                    [2, 25, "early fail"],
                ],
            );
            assert.ok(tl.revert, "the revert is on the timeline");
            assert.ok(tl.revert.t >= tl.verdicts[1].t && tl.revert.t - tl.verdicts[1].t < 0.05, "the revert follows the early verdict at once");
            assert.match(tl.reason ?? "", /gate failed at green 25%/);
            const green = tl.weights.filter((w) => w.color === "green");
            assert.deepStrictEqual([...new Set(green.map((w) => w.share))], [10, 25, 0]);
            assert.strictEqual(green[green.length - 1].t, tl.seconds, "the weights run to the end");
            // 1,000 requests/s through the router: green answers ~100/s at 10%, ~250/s at 25%.
            const rate = (lo: number, hi: number) => {
                const r = tl.rates.filter((p) => p.series === "requests/s" && p.t > lo && p.t <= hi).map((p) => p.value);
                return r.reduce((a, b) => a + b, 0) / r.length;
            };
            assert.ok(Math.abs(rate(0.5, 5) - 100) < 15, `~100 requests/s at 10%, got ${rate(0.5, 5)}`);
            assert.ok(Math.abs(rate(5.5, 8) - 250) < 35, `~250 requests/s at 25%, got ${rate(5.5, 8)}`);
            // From 7.2 s on, green fails 20% of its requests: the last ticks' errors/s are a fifth of its requests/s.
            const tail = (series: string) => tl.rates.filter((p) => p.series === series && p.t >= 7.2).reduce((a, p) => a + p.value, 0);
            const share = tail("errors/s") / tail("requests/s");
            assert.ok(share > 0.1 && share < 0.3, `the failing ticks' errors are near 20% of requests, got ${(100 * share).toFixed(1)}%`);
            const lastErr = tl.errorShare[tl.errorShare.length - 1];
            assert.ok(lastErr.value > 1, `the failing window's error share is above the gate's 1%, got ${lastErr.value}%`);
            assert.deepStrictEqual([...new Set(tl.latency.map((p) => p.series))].sort(), ["mean", "p99"]);
        });

        it("a promoted green: a pretest and three passing windows, no revert, green at 100", () => {
            const tl = timeline({ stack: "local", events: promoted });
            assert.strictEqual(tl.outcome, "promoted");
            assert.deepStrictEqual(
                tl.verdicts.map((v) => [v.pretest, v.step, v.share, v.label]),
                [
                    [true, 0, 0, "pass"],
                    [false, 1, 10, "pass"],
                    [false, 2, 50, "pass"],
                    [false, 3, 100, "pass"],
                ],
            );
            assert.strictEqual(tl.revert, undefined);
            const last = tl.weights.slice(-2);
            assert.deepStrictEqual(last.map((w) => [w.color, w.share]), [["blue", 0], ["green", 100]]);
            // Lines break between windows: one window number per step.
            assert.deepStrictEqual([...new Set(tl.rates.map((p) => p.window))], [0, 1, 2]);
        });

        it("a window sampled once (no ticks) still gives its rate, at the window's end", () => {
            const at = (s: number) => new Date(Date.UTC(2026, 10, 24, 10, 0, s)).toISOString();
            const sample: Sample = { color: "green", requests: 600, errors: 6, latencyMs: 30, healthy: true, windowMs: 60_000 };
            const tl = timeline({
                stack: "aws",
                events: [
                    { type: "started", at: at(0), from: "blue", to: "green", steps: [100] },
                    { type: "step", at: at(1), step: 1, of: 1, weights: { blue: 0, green: 100 } },
                    { type: "sample", at: at(61), sample },
                    { type: "verdict", at: at(61), step: 1, verdict: { outcome: "pass", successRate: 0.99, reasons: ["ok"] } },
                    { type: "done", at: at(62), phase: "promoted", weights: { blue: 0, green: 100 } },
                ],
            });
            assert.deepStrictEqual(tl.rates, [
                { t: 61, series: "requests/s", value: 10, window: 0 },
                { t: 61, series: "errors/s", value: 0.1, window: 0 },
            ]);
            assert.deepStrictEqual(tl.errorShare.map((p) => p.value), [1]);
            assert.strictEqual(tl.verdicts[0].sample, sample);
        });
    });

    describe("the page", () => {
        it("every layer of the chart is named, and the SVG Vega renders carries the names", async () => {
            const spec = chartSpec(timeline({ stack: "local", events: failing })) as { vconcat: { layer: { name?: string }[] }[] };
            const names = spec.vconcat.flatMap((p) => p.layer.map((l) => l.name));
            assert.ok(names.every((n) => typeof n === "string" && n.length > 0), `unnamed layers: ${JSON.stringify(names)}`);
            assert.strictEqual(new Set(names).size, names.length, "names are unique");
            const svg = await renderChart(spec as never);
            for (const name of names) assert.ok(marksIn(svg, name!).length > 0, `no ${name}_marks in the SVG`);
        });

        it("is self-contained: no script, no style sheet, no http(s) reference; the header and the verdicts table say what happened", async () => {
            const html = await reportHtml({ stack: "local", events: failing });
            assert.deepStrictEqual(networkReferences(html), []);
            assert.match(html, /^<!doctype html>/);
            assert.match(html, /<meta http-equiv="Content-Security-Policy" content="default-src 'none'/);
            assert.match(html, /<svg[^>]*class="marks"/);
            assert.match(html, /<h1>Cutover blue → green on local <span class="outcome bad">reverted<\/span><\/h1>/);
            assert.match(html, /<dt>steps<\/dt><dd>10%, 25%, 50%, 100%<\/dd>/);
            assert.match(html, /<dt>reason<\/dt><dd[^>]*>gate failed at green 25%/);
            assert.match(html, /<dt>verdicts<\/dt><dd>2: 1 passed, 1 early fail<\/dd>/);
            const rows = [...html.matchAll(/<tr><td class="num">\d+<\/td>[\s\S]*?<\/tr>/g)].map((m) => m[0]);
            assert.strictEqual(rows.length, 2);
            assert.match(rows[0], /<td>1 of 4<\/td><td class="num">10%<\/td><td class="pass">pass<\/td>/);
            assert.match(rows[1], /<td>2 of 4<\/td><td class="num">25%<\/td><td class="early-fail">early fail<\/td>/);
            assert.match(rows[1], /sequential test/);
        });

        it("a cutover that ended before its first event still gets a page", async () => {
            const html = await reportHtml({ stack: "local", events: [] });
            assert.match(html, /<span class="outcome info">unfinished<\/span>/);
            assert.match(html, /No verdict was reached/);
            assert.deepStrictEqual(networkReferences(html), []);
        });

        it("escapes what it shows", () => {
            assert.strictEqual(escapeHtml(`<b a="1">'&'</b>`), "&lt;b a=&quot;1&quot;&gt;&#39;&amp;&#39;&lt;/b&gt;");
        });
    });

    describe("the report file", () => {
        let dir: string;
        before(() => (dir = fs.mkdtempSync(path.join(os.tmpdir(), "switchyard-report-"))));
        after(() => fs.rmSync(dir, { recursive: true, force: true }));

        it("--report takes a .html or a .json file, and refuses any other name, naming the path and the fix", () => {
            assert.strictEqual(parseReportPath(path.join(dir, "r.html")), path.join(dir, "r.html"));
            assert.strictEqual(parseReportPath(path.join(dir, "r.JSON")), path.join(dir, "r.JSON"));
            for (const name of ["r.txt", "r.htm", "r", "r.html.bak"]) {
                const file = path.join(dir, name);
                assert.throws(
                    () => parseReportPath(file),
                    (e: Error) =>
                        e instanceof UserError &&
                        e.message.startsWith(`--report is ${JSON.stringify(file)}: ${name === "r" ? "it has no extension" : "its extension ."}`) &&
                        e.message.includes("neither .html nor .json") &&
                        e.message.includes("name a .html file for the page with the chart (e.g. ./cutover-report.html) or a .json file for the raw events"),
                );
            }
            // A relative name is shown resolved, so the message names the file that would have been written.
            assert.throws(() => parseReportPath("r.txt", "--report", undefined, dir), (e: Error) => e.message.startsWith(`--report is "r.txt": ${path.join(dir, "r.txt")}: its extension .txt is neither`));
            assert.throws(() => report(path.join(dir, "r.txt"), "local"), (e: Error) => e instanceof UserError && /the report file .*r\.txt: its extension \.txt is neither \.html nor \.json/.test(e.message));
        });

        it("a .html report is the page; a .json report the raw events", async () => {
            for (const [name, check] of [
                ["r.html", (t: string) => assert.match(t, /^<!doctype html>[\s\S]*<svg[\s\S]*early fail/)],
                ["r.json", (t: string) => assert.deepStrictEqual(JSON.parse(t).events, failing)],
            ] as const) {
                const r = report(path.join(dir, name), "local");
                failing.forEach(r.onEvent);
                await r.close();
                check(fs.readFileSync(path.join(dir, name), "utf8"));
            }
        });
    });

    describe("in a real browser (headless Chromium from Debian's packages, offline)", function () {
        this.timeout(180_000);
        let dir: string;
        before(() => {
            dir = fs.mkdtempSync(path.join(os.tmpdir(), "switchyard-report-"));
            fs.mkdirSync(ARTIFACTS, { recursive: true });
        });
        after(() => fs.rmSync(dir, { recursive: true, force: true }));

        it("a missing Chromium fails the test, naming the set-up script", () => {
            assert.throws(() => chromiumBinary("/nonexistent/chromium"), /Chromium is not installed \(\/nonexistent\/chromium is missing\): run `bash scripts\/setup\.sh`/);
        });

        for (const [label, events, verdicts, reverted] of [
            ["failing", failing, 2, true],
            ["promoted", promoted, 4, false],
        ] as const) {
            it(`the ${label} cutover's page: weights, errors, verdicts${reverted ? " and the revert" : ""} drawn in the DOM; a screenshot kept`, async () => {
                const file = path.join(dir, `report-${label}.html`);
                const r = report(file, "local");
                events.forEach(r.onEvent);
                await r.close();
                const url = pathToFileURL(file).href;

                const dom = await chromium(["--dump-dom", url]);
                assert.match(dom, /<svg[^>]*class="marks"/, "the chart's SVG is in the DOM");
                const lines = (name: string) => marksIn(dom, name).flat().filter((c) => /^<path\b[^>]*\bd="M/.test(c));
                assert.strictEqual(lines(MARKS.weights).length, 2, "a weight line per color");
                assert.ok(lines(MARKS.requests).length >= 1, "the request rate's line");
                assert.ok(lines(MARKS.errors).length >= 1, "the error rate's line");
                assert.ok(lines(MARKS.failures).length >= 1, "the failures' line");
                assert.ok(lines(MARKS.latencyPercentile).length >= 1, "the percentile's line");
                const symbols = marksIn(dom, MARKS.verdicts).flat();
                assert.strictEqual(symbols.length, verdicts, `a symbol per verdict: ${symbols.length}`);
                const revert = marksIn(dom, `${MARKS.revert}_weights`).flat();
                assert.strictEqual(revert.length, reverted ? 1 : 0, "the revert's rule");
                if (reverted) {
                    assert.match(marksIn(dom, `${MARKS.revert}_label`).flat().join(""), /<text\b/);
                    assert.match(dom, /<td class="early-fail">early fail<\/td>/);
                }

                const shot = path.join(ARTIFACTS, `cutover-report-${label}.png`);
                fs.rmSync(shot, { force: true });
                await chromium([`--screenshot=${shot}`, "--window-size=1400,900", url]);
                assert.deepStrictEqual(pngSize(shot), { width: 1400, height: 900 });
                assert.ok(fs.statSync(shot).size > 20_000, "the screenshot is not blank");
                fs.copyFileSync(file, path.join(ARTIFACTS, `cutover-report-${label}.html`));
                console.log(`      screenshot: ${shot}`);
            });
        }
    });
});
