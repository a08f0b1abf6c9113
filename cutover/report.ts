/**
 * The cutover report as a page people look at: one self-contained HTML file with a short header
 * (stack, colors, steps, outcome, reason, times), a timeline chart and a table of the gate's verdicts.
 *
 * The chart is a Vega-Lite spec, compiled by `vega-lite` and rendered to SVG on the server by Vega's
 * Node renderer, then inlined: the page has no script, no style sheet or font to fetch and no network
 * reference, so it opens from disk, offline, in any browser, and can be attached to a ticket.
 *
 * Three parts, the first two pure:
 * - {@link timeline}: the event stream as chart rows (seconds from the start);
 * - {@link chartSpec}: those rows as a Vega-Lite spec, each layer named so that its marks can be
 *   found in the page (Vega writes `<name>_marks` into the SVG group's class): see {@link MARKS};
 * - {@link renderChart} and {@link reportHtml}: the SVG and the page.
 *
 * @example
 * const html = await reportHtml({ stack: "local", events });
 * fs.writeFileSync("cutover-report.html", html);
 */
import { pathToFileURL } from "url";
import type * as VegaModule from "vega";
import type * as VegaLiteModule from "vega-lite/build/index";
import type { TopLevelSpec } from "vega-lite/build/index";
import { Checkpoint, Color, CutoverEvent, Outcome, Phase, Sample, TrafficWeights, Verdict } from "./types";

/** What a report is made of: the stack's name, every event in order, and the final checkpoint. */
export interface ReportInput {
    readonly stack: string;
    readonly events: readonly CutoverEvent[];
    readonly final?: Checkpoint;
}

/**
 * The name of each chart layer: its marks carry `<name>_marks` in their SVG class (a line's points,
 * `<name>_points_marks`). Vega-Lite turns other characters than letters, digits and `_` into `_`, so
 * the names use none.
 */
export const MARKS = {
    /** The share of traffic of each color, a step line per color. */
    weights: "weights",
    /** The gate's verdicts, a symbol per window on the new color's weight line. */
    verdicts: "verdicts",
    /** The outcome written beside each verdict but a window's pass ("early fail", "pretest pass"). */
    verdictLabels: "verdict_labels",
    /** Requests per second answered by the new color. */
    requests: "requests",
    /** Failed requests per second of the new color. */
    failures: "failures",
    /** The new color's errors, % of its requests in the window so far (what the gate judges). */
    errors: "errors",
    /** Mean response time of the new color in the window so far. */
    latencyMean: "latency_mean",
    /** The gate's percentile of the new color's response times in the window so far. */
    latencyPercentile: "latency_percentile",
    /** The revert: a rule in each panel (`revert_weights`, `revert_traffic`, ...) and a label (`revert_label`). */
    revert: "revert",
} as const;

/** How a verdict is shown: its outcome, with an early failure told apart. */
export type VerdictLabel = "pass" | "fail" | "early fail" | "inconclusive";

/** One point of a series in the chart. */
export interface SeriesPoint {
    /** Seconds from the first event. */
    readonly t: number;
    /** The series' name, shown in the legend ("requests/s", "p99", ...). */
    readonly series: string;
    readonly value: number;
    /** The observation window the point belongs to (lines break between windows). */
    readonly window: number;
}

/** A color's share of traffic from `t` on. */
export interface WeightPoint {
    readonly t: number;
    readonly color: Color;
    /** Percent of the traffic, 0..100. */
    readonly share: number;
}

/** One verdict of the gate (a window's, or the pretest's). */
export interface VerdictRow {
    readonly t: number;
    readonly at: string;
    /** The step judged (1-based), 0 for the pretest. */
    readonly step: number;
    /** The new color's share of traffic at that step, percent (0 for the pretest). */
    readonly share: number;
    readonly label: VerdictLabel;
    readonly verdict: Verdict;
    readonly pretest: boolean;
    /** The window's sample the verdict judged, when the stream carries it. */
    readonly sample?: Sample;
}

/** The events as the chart and the header read them. */
export interface Timeline {
    readonly stack: string;
    readonly from?: Color;
    readonly to?: Color;
    readonly steps: readonly number[];
    readonly startedAt?: string;
    readonly endedAt?: string;
    /** Seconds from the first event to the last. */
    readonly seconds: number;
    /** How it ended (the `done` event's phase, else the final checkpoint's), or "unfinished". */
    readonly outcome: Phase | "unfinished";
    readonly reason?: string;
    readonly backup?: string;
    /** The gate's percentile, as the samples name it (99 for p99). */
    readonly percentile?: number;
    readonly weights: readonly WeightPoint[];
    /** "requests/s" and "errors/s" of the new color, tick by tick. */
    readonly rates: readonly SeriesPoint[];
    /** The new color's errors, % of its requests in the window so far. */
    readonly errorShare: readonly SeriesPoint[];
    /** "mean" and "p<percentile>" response times of the new color, ms, in the window so far. */
    readonly latency: readonly SeriesPoint[];
    readonly verdicts: readonly VerdictRow[];
    readonly revert?: { readonly t: number; readonly at: string; readonly reason: string };
}

const round = (x: number, places = 3) => Math.round(x * 10 ** places) / 10 ** places;

const shareOf = (w: TrafficWeights, c: Color) => (w.blue + w.green > 0 ? (100 * w[c]) / (w.blue + w.green) : 0);

/** A verdict's label: an early failure is told apart from one at the window's end. */
export function verdictLabel(v: Verdict): VerdictLabel {
    return v.outcome === "fail" ? (v.early ? "early fail" : "fail") : v.outcome;
}

/**
 * Reads the event stream into chart rows. Times are seconds from the first event. A window's
 * `progress` ticks carry its cumulative sample: the rates are the differences between ticks, the
 * error share and latencies the cumulative values (what the gate judges). A window without ticks (a
 * platform that samples once per window) gives one point at its end.
 */
export function timeline(input: ReportInput): Timeline {
    const { events, final } = input;
    const t0 = events.length > 0 ? Date.parse(events[0].at) : 0;
    const tOf = (at: string) => round((Date.parse(at) - t0) / 1000);
    const started = events.find((e) => e.type === "started");
    const firstSample = events.find((e) => e.type === "sample" || e.type === "progress") as { sample: Sample } | undefined;
    const from = started?.from ?? final?.from;
    const to = started?.to ?? final?.to ?? firstSample?.sample.color;
    const steps = started?.steps ?? final?.steps ?? [];
    const done = [...events].reverse().find((e) => e.type === "done");

    const weights: WeightPoint[] = [];
    const rates: SeriesPoint[] = [];
    const errorShare: SeriesPoint[] = [];
    const latency: SeriesPoint[] = [];
    const verdicts: VerdictRow[] = [];
    let revert: Timeline["revert"];
    let backup: string | undefined;
    let percentile: number | undefined;
    let share = 0;
    let window = 0;
    let last: { t: number; sample: Sample } | undefined;
    let judged: Sample | undefined;

    const setWeights = (t: number, w: TrafficWeights) => {
        for (const c of ["blue", "green"] as const) weights.push({ t, color: c, share: round(shareOf(w, c), 2) });
        if (to) share = shareOf(w, to);
    };
    /** A cumulative sample of the current window, at time t. */
    const observe = (t: number, s: Sample) => {
        if (to && s.color !== to) return;
        // The window's `sample` repeats its last tick: nothing new to draw.
        if (last && s.windowMs === last.sample.windowMs && s.requests === last.sample.requests && s.errors === last.sample.errors) return;
        if (last && (s.requests < last.sample.requests || s.windowMs < last.sample.windowMs)) {
            window++;
            last = undefined;
        }
        const dtMs = last ? s.windowMs - last.sample.windowMs : s.windowMs;
        if (dtMs > 0) {
            const dReq = s.requests - (last?.sample.requests ?? 0);
            const dErr = s.errors - (last?.sample.errors ?? 0);
            rates.push({ t, series: "requests/s", value: round((1000 * dReq) / dtMs, 1), window });
            rates.push({ t, series: "errors/s", value: round((1000 * dErr) / dtMs, 1), window });
        }
        if (s.requests > 0) {
            errorShare.push({ t, series: "errors, % of requests", value: round((100 * s.errors) / s.requests, 2), window });
        }
        if (s.latencyMs !== undefined) latency.push({ t, series: "mean", value: round(s.latencyMs, 1), window });
        if (s.percentileMs !== undefined) {
            percentile = s.percentile ?? percentile;
            latency.push({ t, series: `p${s.percentile ?? "?"}`, value: round(s.percentileMs, 1), window });
        }
        last = { t, sample: s };
    };
    const nextWindow = () => {
        if (last) window++;
        last = undefined;
    };

    for (const e of events) {
        const t = tOf(e.at);
        switch (e.type) {
            case "step":
            case "paused":
                setWeights(t, e.weights);
                nextWindow();
                break;
            case "applied":
                setWeights(t, e.served);
                break;
            case "revert":
                revert = { t, at: e.at, reason: e.reason };
                setWeights(t, e.weights);
                nextWindow();
                break;
            case "done":
                setWeights(t, e.weights);
                break;
            case "backup":
                backup = e.name;
                break;
            case "progress":
                observe(t, e.sample);
                break;
            case "sample":
                observe(t, e.sample);
                judged = e.sample;
                break;
            case "pretest":
                verdicts.push({ t, at: e.at, step: 0, share: 0, label: verdictLabel(e.verdict), verdict: e.verdict, pretest: true });
                break;
            case "verdict": {
                const stepShare = steps[e.step - 1] ?? share;
                verdicts.push({ t, at: e.at, step: e.step, share: stepShare, label: verdictLabel(e.verdict), verdict: e.verdict, pretest: false, ...(judged ? { sample: judged } : {}) });
                judged = undefined;
                nextWindow();
                break;
            }
        }
    }
    const end = events.length > 0 ? tOf(events[events.length - 1].at) : 0;
    // Each color's line runs on to the end.
    if (weights.length > 0 && weights[weights.length - 1].t < end) {
        for (const w of weights.slice(-2)) weights.push({ ...w, t: end });
    }
    const outcome = done?.phase ?? final?.phase ?? "unfinished";
    return {
        stack: input.stack,
        from,
        to,
        steps,
        startedAt: events[0]?.at,
        endedAt: events[events.length - 1]?.at,
        seconds: end,
        outcome,
        reason: done?.reason ?? final?.reason ?? revert?.reason,
        backup,
        percentile,
        weights,
        rates,
        errorShare,
        latency,
        verdicts,
        revert,
    };
}

/** Chart colors: each color as its name says, the verdicts as traffic lights. */
const PALETTE = {
    blue: "#2f6db5",
    green: "#2e9e4f",
    requests: "#5b5b5b",
    errors: "#d0352b",
    mean: "#7a5195",
    percentile: "#ef8a17",
    revert: "#c0392b",
    verdicts: { pass: "#2e9e4f", fail: "#d0352b", "early fail": "#8e0e00", inconclusive: "#9e9e9e" } satisfies Record<VerdictLabel, string>,
    shapes: { pass: "circle", fail: "cross", "early fail": "triangle-down", inconclusive: "diamond" } satisfies Record<VerdictLabel, string>,
};

/** Chart size: the plot's width and each panel's height, in CSS pixels. */
export interface ChartSize {
    /** @default 1060 */
    readonly width?: number;
    /** @default 105 */
    readonly panelHeight?: number;
}

/**
 * The timeline as a Vega-Lite spec: four panels on one time axis (seconds from the start), each
 * layer named after {@link MARKS}:
 * 1. each color's share of traffic, the gate's verdicts on the new color's line, the revert;
 * 2. requests and errors per second of the new color;
 * 3. its errors, % of its requests in the window so far;
 * 4. its mean and percentile response times.
 */
export function chartSpec(tl: Timeline, size: ChartSize = {}): TopLevelSpec {
    const width = size.width ?? 1060;
    const height = size.panelHeight ?? 105;
    const to = tl.to ?? "new color";
    const xMax = Math.max(tl.seconds, 1);
    const x = (title: string | null) => ({
        field: "t",
        type: "quantitative" as const,
        title,
        scale: { domain: [0, xMax], nice: false, zero: true },
        axis: { format: "~s", labelExpr: "datum.value + ' s'", tickMinStep: 1, grid: true },
    });
    const revertLayers = (panel: string, label = false) =>
        tl.revert
            ? [
                  {
                      name: `${MARKS.revert}_${panel}`,
                      data: { values: [{ t: tl.revert.t, label: "revert" }] },
                      mark: { type: "rule" as const, color: PALETTE.revert, strokeWidth: 2, strokeDash: [6, 3] },
                      encoding: { x: x(null) },
                  },
                  ...(label
                      ? [
                            {
                                name: `${MARKS.revert}_label`,
                                data: { values: [{ t: tl.revert.t, label: "revert" }] },
                                mark: { type: "text" as const, color: PALETTE.revert, align: "left" as const, baseline: "top" as const, dx: 4, y: 2, fontWeight: "bold" as const, fontSize: 12 },
                                encoding: { x: x(null), text: { field: "label" } },
                            },
                        ]
                      : []),
              ]
            : [];
    const verdictDomain = Object.keys(PALETTE.verdicts) as VerdictLabel[];
    /** A series as a line (broken between windows) and its points (a window sampled once is a point). */
    const line = (name: string, values: readonly SeriesPoint[], series: string, yTitle: string, legendTitle: string, domain: string[], range: string[]) => {
        const data = { values: values.filter((p) => p.series === series) };
        // Room above the panel's highest value, so a line at its top is not drawn on the frame.
        const top = values.reduce((m, p) => Math.max(m, p.value), 0);
        const encoding = {
            x: x(null),
            y: { field: "value", type: "quantitative" as const, title: yTitle, axis: { tickCount: 4 }, scale: top > 0 ? { domainMax: top * 1.12, nice: true } : {} },
            color: { datum: series, type: "nominal" as const, scale: { domain, range }, legend: { title: legendTitle, orient: "right" as const } },
        };
        return [
            { name, data, mark: { type: "line" as const, strokeWidth: 1.8, clip: true }, encoding: { ...encoding, detail: { field: "window", type: "nominal" as const } } },
            { name: `${name}_points`, data, mark: { type: "point" as const, size: 14, filled: true, clip: true }, encoding },
        ];
    };
    const pct = `p${tl.percentile ?? "?"}`;
    const panel = (title: string, layer: unknown[], last = false, ownColors = false) => ({
        title: { text: title, anchor: "start" as const, fontSize: 13 },
        width,
        height,
        layer: last ? layer.map((l) => withXTitle(l, "seconds from the start")) : layer,
        // The weights' colors and the verdicts' traffic lights: two scales, two legends.
        ...(ownColors ? { resolve: { scale: { color: "independent" as const } } } : {}),
    });

    return {
        background: "white",
        padding: 8,
        config: {
            font: "DejaVu Sans, Helvetica, Arial, sans-serif",
            axis: { labelFontSize: 11, titleFontSize: 11, titleFontWeight: "normal", labelColor: "#333", titleColor: "#333" },
            // The same room for every panel's y axis, so the plots line up on the time axis.
            axisY: { minExtent: 44 },
            legend: { labelFontSize: 11, titleFontSize: 11, symbolSize: 80, labelLimit: 220 },
            view: { stroke: "#ddd" },
        },
        spacing: 22,
        resolve: { scale: { color: "independent", shape: "independent" }, legend: { color: "independent" } },
        vconcat: [
            panel(`Share of traffic, % (blue and green), with the gate's verdicts on ${to}`, [
                {
                    name: MARKS.weights,
                    data: { values: tl.weights },
                    mark: { type: "line", interpolate: "step-after", strokeWidth: 3 },
                    encoding: {
                        x: x(null),
                        y: { field: "share", type: "quantitative", title: "share, %", scale: { domain: [-4, 104], nice: false, zero: false }, axis: { values: [0, 25, 50, 75, 100] } },
                        color: {
                            field: "color",
                            type: "nominal",
                            scale: { domain: ["blue", "green"], range: [PALETTE.blue, PALETTE.green] },
                            legend: { title: "traffic", orient: "right" },
                        },
                    },
                },
                {
                    name: MARKS.verdicts,
                    data: { values: tl.verdicts.map((v) => ({ t: v.t, share: v.share, label: v.label })) },
                    mark: { type: "point", filled: true, size: 170, stroke: "white", strokeWidth: 1, opacity: 1 },
                    encoding: {
                        x: x(null),
                        y: { field: "share", type: "quantitative" },
                        color: {
                            field: "label",
                            type: "nominal",
                            scale: { domain: verdictDomain, range: verdictDomain.map((l) => PALETTE.verdicts[l]) },
                            legend: { title: "gate verdict", orient: "right" },
                        },
                        shape: { field: "label", type: "nominal", scale: { domain: verdictDomain, range: verdictDomain.map((l) => PALETTE.shapes[l]) }, legend: null },
                    },
                },
                {
                    name: MARKS.verdictLabels,
                    data: { values: tl.verdicts.filter((v) => v.pretest || v.label !== "pass").map((v) => ({ t: v.t, share: v.share, text: v.pretest ? `pretest ${v.label}` : v.label })) },
                    mark: { type: "text", align: "left", baseline: "middle", dx: 9, fontSize: 11, fontWeight: "bold", color: "#333" },
                    encoding: { x: x(null), y: { field: "share", type: "quantitative" }, text: { field: "text" } },
                },
                ...revertLayers("weights", true),
            ], false, true),
            panel(`Traffic to ${to}, per second`, [
                ...line(MARKS.requests, tl.rates, "requests/s", "per second", "rate", ["requests/s", "errors/s"], [PALETTE.requests, PALETTE.errors]),
                ...line(MARKS.failures, tl.rates, "errors/s", "per second", "rate", ["requests/s", "errors/s"], [PALETTE.requests, PALETTE.errors]),
                ...revertLayers("traffic"),
            ]),
            panel(`Errors of ${to}, % of its requests in the window so far`, [
                ...line(MARKS.errors, tl.errorShare, "errors, % of requests", "errors, %", "error rate", ["errors, % of requests"], [PALETTE.errors]),
                ...revertLayers("errors"),
            ]),
            panel(
                `Latency of ${to}, ms, in the window so far`,
                [
                    ...line(MARKS.latencyMean, tl.latency, "mean", "ms", "latency", ["mean", pct], [PALETTE.mean, PALETTE.percentile]),
                    ...line(MARKS.latencyPercentile, tl.latency, pct, "ms", "latency", ["mean", pct], [PALETTE.mean, PALETTE.percentile]),
                    ...revertLayers("latency"),
                ],
                true,
            ),
        ],
    } as TopLevelSpec;
}

/** A layer with its x axis titled (the bottom panel's). */
function withXTitle(layer: unknown, title: string): unknown {
    const l = layer as { encoding?: { x?: object } };
    return l.encoding?.x ? { ...l, encoding: { ...l.encoding, x: { ...l.encoding.x, title } } } : layer;
}

/**
 * Vega and Vega-Lite are ES modules with a top-level await (an optional canvas), which `require`
 * cannot load: they are imported, once, by their resolved file URLs (a compiled `import()` would
 * become a `require`).
 */
const importModule = new Function("url", "return import(url)") as (url: string) => Promise<unknown>;
let modules: Promise<{ vega: typeof VegaModule; vl: typeof VegaLiteModule }> | undefined;
function loadVega(): Promise<{ vega: typeof VegaModule; vl: typeof VegaLiteModule }> {
    const load = (name: string) => importModule(pathToFileURL(require.resolve(name)).href);
    modules ??= Promise.all([load("vega"), load("vega-lite")]).then(([vega, vl]) => ({ vega: vega as typeof VegaModule, vl: vl as typeof VegaLiteModule }));
    return modules;
}

/** Compiles a Vega-Lite spec and renders it to SVG with Vega's Node renderer (no browser, no canvas). */
export async function renderChart(spec: TopLevelSpec): Promise<string> {
    const { vega, vl } = await loadVega();
    const compiled = vl.compile(spec).spec;
    const view = new vega.View(vega.parse(compiled), { renderer: "none" });
    try {
        return await view.toSVG();
    } finally {
        view.finalize();
    }
}

const ESCAPES: Record<string, string> = { "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" };
/** Text made safe for HTML content and attributes. */
export const escapeHtml = (s: string): string => s.replace(/[&<>"']/g, (c) => ESCAPES[c]);

const fmtSeconds = (t: number) => `${t.toFixed(t < 10 ? 2 : 1)} s`;
const fmtPct = (x: number | undefined) => (x === undefined ? "" : `${(Math.floor(x * 10000) / 100).toFixed(2)}%`);
const fmtMs = (x: number | undefined) => (x === undefined ? "" : `${Math.round(x)}`);

const OUTCOME_CLASS: Record<Timeline["outcome"], string> = {
    promoted: "ok",
    paused: "info",
    reverted: "bad",
    failed: "bad",
    unfinished: "info",
    pretest: "info",
    backup: "info",
    migrating: "info",
    stepping: "info",
    observing: "info",
    watching: "info",
    reverting: "bad",
};

const STYLE = `
body { font: 14px/1.45 "DejaVu Sans", Helvetica, Arial, sans-serif; color: #222; margin: 18px 24px; background: #fff; }
h1 { font-size: 20px; margin: 0 0 6px; font-weight: 600; }
.outcome { display: inline-block; padding: 1px 9px; border-radius: 10px; font-size: 13px; font-weight: 600; color: #fff; vertical-align: 2px; }
.outcome.ok { background: #2e9e4f; } .outcome.bad { background: #c0392b; } .outcome.info { background: #777; }
dl.facts { display: grid; grid-template-columns: max-content 1fr max-content 1fr; gap: 2px 14px; margin: 4px 0 6px; font-size: 13px; }
dl.facts dt { color: #666; } dl.facts dd { margin: 0; }
.chart svg { display: block; max-width: 100%; height: auto; }
table { border-collapse: collapse; font-size: 12.5px; margin-top: 8px; }
th, td { border-bottom: 1px solid #e3e3e3; padding: 3px 8px; text-align: left; vertical-align: top; white-space: nowrap; }
td.reasons { white-space: normal; }
th { background: #f4f4f4; font-weight: 600; } td.num { text-align: right; font-variant-numeric: tabular-nums; }
td.pass { color: #1e7a3a; font-weight: 600; } td.fail, td.early-fail { color: #b0261b; font-weight: 600; } td.inconclusive { color: #666; font-weight: 600; }
h2 { font-size: 15px; margin: 18px 0 4px; font-weight: 600; }
footer { margin-top: 16px; color: #888; font-size: 12px; }
`;

/** The verdicts as an HTML table: when, which step, the outcome (early failures told apart), the window's figures, the reasons. */
function verdictTable(tl: Timeline): string {
    if (tl.verdicts.length === 0) return `<p>No verdict was reached.</p>`;
    const pct = `p${tl.percentile ?? "?"}`;
    const head = ["#", "time", "step", `${escapeHtml(tl.to ?? "new color")}'s share`, "verdict", "requests", "errors", "success", "mean, ms", `${pct}, ms`, "window", "reasons"];
    const rows = tl.verdicts.map((v, i) => {
        const s = v.sample;
        const cells = [
            `<td class="num">${i + 1}</td>`,
            `<td class="num">${fmtSeconds(v.t)}</td>`,
            `<td>${v.pretest ? "pretest" : `${v.step} of ${tl.steps.length}`}</td>`,
            `<td class="num">${v.pretest ? "test listener" : `${round(v.share, 1)}%`}</td>`,
            `<td class="${v.label.replace(" ", "-")}">${escapeHtml(v.label)}</td>`,
            `<td class="num">${s ? s.requests : ""}</td>`,
            `<td class="num">${s ? s.errors : ""}</td>`,
            `<td class="num">${fmtPct(v.verdict.successRate)}</td>`,
            `<td class="num">${fmtMs(s?.latencyMs)}</td>`,
            `<td class="num">${fmtMs(s?.percentileMs)}</td>`,
            `<td class="num">${s ? fmtSeconds(s.windowMs / 1000) : ""}</td>`,
            `<td class="reasons">${v.verdict.reasons.map(escapeHtml).join("<br>")}</td>`,
        ];
        return `<tr>${cells.join("")}</tr>`;
    });
    return `<table class="verdicts"><thead><tr>${head.map((h) => `<th>${h}</th>`).join("")}</tr></thead><tbody>\n${rows.join("\n")}\n</tbody></table>`;
}

/** "4, all passed", "2: 1 passed, 1 early fail". */
function verdictCount(tl: Timeline): string {
    const by = new Map<VerdictLabel, number>();
    for (const v of tl.verdicts) by.set(v.label, (by.get(v.label) ?? 0) + 1);
    if (tl.verdicts.length > 0 && by.get("pass") === tl.verdicts.length) return `${tl.verdicts.length}, all passed`;
    const parts = (["pass", "fail", "early fail", "inconclusive"] as const).filter((l) => by.has(l)).map((l) => `${by.get(l)} ${l === "pass" ? "passed" : l}`);
    return `${tl.verdicts.length}${parts.length > 0 ? `: ${parts.join(", ")}` : ""}`;
}

/**
 * The report page: a header, the chart (inline SVG) and the table of verdicts. Self-contained: no
 * script, no external resource, and a content security policy that forbids loading any.
 */
export async function reportHtml(input: ReportInput, size?: ChartSize): Promise<string> {
    const tl = timeline(input);
    const svg = await renderChart(chartSpec(tl, size));
    const title = `Cutover ${tl.from ?? "?"} → ${tl.to ?? "?"} on ${tl.stack}`;
    const facts: [string, string][] = [
        ["stack", tl.stack],
        ["from → to", `${tl.from ?? "?"} → ${tl.to ?? "?"}`],
        ["steps", tl.steps.length > 0 ? tl.steps.map((s) => `${s}%`).join(", ") : "none"],
        ["outcome", tl.outcome],
        ["started", tl.startedAt ?? ""],
        ["ended", tl.endedAt ?? ""],
        ["duration", fmtSeconds(tl.seconds)],
        ["verdicts", verdictCount(tl)],
        ...(tl.backup ? ([["backup", tl.backup]] as [string, string][]) : []),
        ...(tl.reason ? ([["reason", tl.reason]] as [string, string][]) : []),
    ];
    const dl = facts.map(([k, v]) => `<dt>${escapeHtml(k)}</dt><dd${k === "reason" ? ' style="grid-column: 2 / 5"' : ""}>${escapeHtml(v)}</dd>`).join("");
    return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escapeHtml(title)}</title>
<style>${STYLE}</style>
</head>
<body>
<header>
<h1>${escapeHtml(title)} <span class="outcome ${OUTCOME_CLASS[tl.outcome]}">${escapeHtml(tl.outcome)}</span></h1>
<dl class="facts">${dl}</dl>
</header>
<section class="chart">
${svg}
</section>
<h2>Gate verdicts</h2>
${verdictTable(tl)}
<footer>Written by Switchyard at the cutover's end. Times on the chart are seconds from the first event (${escapeHtml(tl.startedAt ?? "")}).</footer>
</body>
</html>
`;
}
