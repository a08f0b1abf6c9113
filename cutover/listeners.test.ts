/** Webhook and report listeners, against a real HTTP server on loopback. */
import * as assert from "assert";
import * as fs from "fs";
import * as http from "http";
import * as os from "os";
import * as path from "path";
import { AddressInfo } from "net";
import { report, slackBody, webhook } from "./listeners";
import { Checkpoint, CutoverEvent } from "./types";

const at = "2026-11-24T10:00:00.000Z";
const events: CutoverEvent[] = [
    { type: "started", at, from: "blue", to: "green", steps: [50, 100] },
    { type: "step", at, step: 1, of: 2, weights: { blue: 50, green: 50 } },
    { type: "done", at, phase: "promoted", weights: { blue: 0, green: 100 } },
];

/** A window observed tick by tick: its progress events, then its sample and verdict. */
function streamedWindow(ticks: number): CutoverEvent[] {
    const sample = (n: number) => ({ color: "green" as const, requests: 25 * n, errors: 0, latencyMs: 8, percentileMs: 20, percentile: 99, timed: 25 * n, slow: 0, healthy: true, windowMs: 250 * n });
    return [
        { type: "started", at, from: "blue", to: "green", steps: [100] },
        { type: "step", at, step: 1, of: 1, weights: { blue: 0, green: 100 } },
        { type: "applied", at, served: { blue: 0, green: 100 } },
        ...Array.from({ length: ticks }, (_, i): CutoverEvent => ({ type: "progress", at, step: 1, sample: sample(i + 1) })),
        { type: "sample", at, sample: sample(ticks) },
        { type: "verdict", at, step: 1, verdict: { outcome: "pass", successRate: 1, reasons: ["ok"] } },
        { type: "done", at, phase: "promoted", weights: { blue: 0, green: 100 } },
    ];
}

describe("cutover listeners", () => {
    let server: http.Server;
    let url: string;
    let received: unknown[];
    let status = 200;
    before(async () => {
        server = http.createServer((req, res) => {
            let body = "";
            req.on("data", (d) => (body += d));
            req.on("end", () => {
                received.push(JSON.parse(body));
                res.statusCode = status;
                res.end();
            });
        });
        await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
        url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`;
    });
    after(() => server.close());
    beforeEach(() => {
        received = [];
        status = 200;
    });

    it("a webhook receives every event, in order, with the stack's name", async () => {
        const errors: string[] = [];
        const w = webhook(url, { stack: "local", onError: (m) => errors.push(m) });
        events.forEach(w.onEvent);
        await w.close();
        assert.deepStrictEqual(received, events.map((event) => ({ stack: "local", event })));
        assert.deepStrictEqual(errors, []);
    });

    it("a webhook is not sent a window's progress ticks (four a second), but every other event, in order", async () => {
        const stream = streamedWindow(20);
        const errors: string[] = [];
        const w = webhook(url, { stack: "local", onError: (m) => errors.push(m) });
        stream.forEach(w.onEvent);
        await w.close();
        const types = (received as { event: CutoverEvent }[]).map((r) => r.event.type);
        assert.deepStrictEqual(types, ["started", "step", "applied", "sample", "verdict", "done"]);
        assert.deepStrictEqual(received, stream.filter((e) => e.type !== "progress").map((event) => ({ stack: "local", event })));
        assert.deepStrictEqual(errors, []);
    });

    it("a Slack-format webhook posts { text } lines for what people are told of, marking the revert", async () => {
        const stream: CutoverEvent[] = [
            ...streamedWindow(4).slice(0, -2),
            { type: "verdict", at, step: 1, verdict: { outcome: "fail", successRate: 0.8, reasons: ["success rate 80.0% < 99.0%"], early: true } },
            { type: "revert", at, reason: "gate failed at green 100%: success rate 80.0% < 99.0%", weights: { blue: 100, green: 0 } },
            { type: "done", at, phase: "reverted", weights: { blue: 100, green: 0 }, reason: "gate failed" },
        ];
        const errors: string[] = [];
        const w = webhook(url, { stack: "prod", format: "slack", onError: (m) => errors.push(m) });
        stream.forEach(w.onEvent);
        await w.close();
        const texts = (received as { text: string }[]).map((r) => r.text);
        assert.strictEqual(texts.length, 5, texts.join("\n"));
        assert.ok(received.every((r) => Object.keys(r as object).join() === "text"), "only a text field");
        assert.ok(texts.every((t) => t.includes("*prod* switchyard: ")), texts.join("\n"));
        assert.match(texts[0], /cutover blue → green/);
        assert.match(texts[3], /^:rotating_light: .*gate failed at green 100%/);
        assert.match(texts[4], /^:rotating_light: /);
        assert.deepStrictEqual(errors, []);
        assert.match(slackBody("prod", events[2])!.text, /^:white_check_mark: \*prod\*/);
        assert.strictEqual(slackBody("prod", stream[2]), undefined, "the read-back is not chatted");
    });

    it("a failing webhook is reported once, never thrown, and the rest is still sent", async () => {
        status = 500;
        const errors: string[] = [];
        const w = webhook(url, { stack: "local", onError: (m) => errors.push(m) });
        events.forEach(w.onEvent);
        await w.close();
        assert.strictEqual(received.length, 3);
        assert.deepStrictEqual(errors, [
            `webhook ${url}: the "started" event was not delivered (answered HTTP 500); the cutover goes on`,
            `webhook ${url}: 3 events in all were not delivered`,
        ]);
    });

    it("an unreachable webhook does not hold the cutover beyond its timeout", async () => {
        const errors: string[] = [];
        const w = webhook("http://127.0.0.1:9/none", { stack: "local", timeoutMs: 500, onError: (m) => errors.push(m) });
        w.onEvent(events[0]);
        await w.close();
        assert.match(errors[0], /the "started" event was not delivered/);
    });

    it("a report holds every event and the final checkpoint", async () => {
        const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), "switchyard-report-")), "report.json");
        const r = report(file, "local");
        events.forEach(r.onEvent);
        const final = { id: "c1", phase: "promoted" } as unknown as Checkpoint;
        await r.close(final);
        assert.deepStrictEqual(JSON.parse(fs.readFileSync(file, "utf8")), { stack: "local", events, final });
        fs.rmSync(path.dirname(file), { recursive: true, force: true });
    });

    it("a .json report keeps the progress ticks; a .html report is a page with the chart", async () => {
        const dir = fs.mkdtempSync(path.join(os.tmpdir(), "switchyard-report-"));
        const stream = streamedWindow(4);
        for (const name of ["r.json", "r.html"]) {
            const r = report(path.join(dir, name), "local");
            stream.forEach(r.onEvent);
            await r.close();
        }
        assert.deepStrictEqual(JSON.parse(fs.readFileSync(path.join(dir, "r.json"), "utf8")).events, stream);
        const html = fs.readFileSync(path.join(dir, "r.html"), "utf8");
        assert.match(html, /^<!doctype html>/);
        assert.match(html, /class="mark-line role-mark weights_marks"/);
        assert.match(html, /class="mark-line role-mark requests_marks"/);
        fs.rmSync(dir, { recursive: true, force: true });
    });

    it("a report file named neither .html nor .json is refused before any event", () => {
        assert.throws(() => report("/tmp/cutover.txt", "local"), /the report file \/tmp\/cutover\.txt: its extension \.txt is neither \.html nor \.json; name a \.html file/);
    });
});
