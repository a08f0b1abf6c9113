/**
 * The load generator over autocannon, against small HTTP servers on loopback (no HAProxy, no
 * engine): colors counted from the per-response hook, every kind of failed request counted as one,
 * refused connections retried without a spin, and background load that stops when told.
 */
import * as assert from "assert";
import * as http from "http";
import * as net from "net";
import { colorOf, countColors, formatLoad, load, LoadResult, runLoad, startLoad } from "./traffic";

/** A server on 127.0.0.1 whose i-th request (from 0) is answered by `answer`. */
async function server(answer: (i: number, req: http.IncomingMessage, res: http.ServerResponse) => void): Promise<{ url: string; close: () => Promise<void> }> {
    let i = 0;
    const s = http.createServer((req, res) => answer(i++, req, res));
    await new Promise<void>((r) => s.listen(0, "127.0.0.1", r));
    return {
        url: `http://127.0.0.1:${(s.address() as net.AddressInfo).port}/`,
        close: () => {
            s.closeAllConnections();
            return new Promise((r) => s.close(() => r()));
        },
    };
}

/** A port nothing listens on. */
async function deadPort(): Promise<number> {
    const s = net.createServer();
    await new Promise<void>((r) => s.listen(0, "127.0.0.1", r));
    const port = (s.address() as net.AddressInfo).port;
    await new Promise((r) => s.close(r));
    return port;
}

const json = (res: http.ServerResponse, status: number, body: object, headers: Record<string, string> = {}) => {
    res.writeHead(status, { "content-type": "application/json", ...headers });
    res.end(JSON.stringify(body));
};

describe("traffic: load from autocannon", function () {
    this.timeout(30_000);

    describe("colorOf (pure)", () => {
        const cases: [string, Record<string, unknown> | undefined, string | undefined, string | undefined][] = [
            ["the x-color header", { "x-color": "blue" }, '{"color":"green"}', "blue"],
            ["the header, however cased", { "X-Color": "green" }, "", "green"],
            ["the JSON body's color when no header", {}, '{"color":"green","version":"1.1.0"}', "green"],
            ["nothing from a JSON body without color", {}, '{"ok":true}', undefined],
            ["nothing from a plain body", {}, "blue", undefined],
            ["nothing from a broken JSON body", {}, "{nope", undefined],
            ["nothing from no headers and no body", undefined, undefined, undefined],
        ];
        for (const [what, headers, body, want] of cases) {
            it(what, () => assert.strictEqual(colorOf(headers, body), want));
        }
    });

    it("counts each answer's color exactly, from the header or the body", async () => {
        const s = await server((i, _req, res) => (i % 2 ? json(res, 200, { color: "green" }) : json(res, 200, { color: "ignored" }, { "x-color": "blue" })));
        try {
            const r = await countColors(s.url, 1000, 8);
            assert.deepStrictEqual(r.colors, { blue: 500, green: 500 });
            assert.strictEqual(r.total, 1000);
            assert.strictEqual(r.failed, 0);
            assert.ok(r.latency.p50 > 0 && r.latency.p99 >= r.latency.p50 && r.latency.max >= r.latency.p99, JSON.stringify(r.latency));
            assert.ok(r.rps > 0);
        } finally {
            await s.close();
        }
    });

    it("sends exactly n requests when n is below the connections, and none for 0", async () => {
        const s = await server((_i, _req, res) => json(res, 200, { color: "blue" }));
        try {
            for (const n of [1, 3, 7]) {
                assert.deepStrictEqual((await countColors(s.url, n, 8)).colors, { blue: n });
            }
            const none = await countColors(s.url, 0, 4);
            assert.deepStrictEqual([none.total, none.colors], [0, {}]);
        } finally {
            await s.close();
        }
    });

    it("counts a non-2xx answer as failed, by the color that sent it, and not as served", async () => {
        const s = await server((i, _req, res) => (i % 5 === 4 ? json(res, 500, { error: "injected" }, { "x-color": "green" }) : json(res, 200, {}, { "x-color": "green" })));
        try {
            const r = await countColors(s.url, 500, 4);
            assert.deepStrictEqual([r.total, r.failed, r.non2xx, r.connectionFailures, r.timeouts], [500, 100, 100, 0, 0]);
            assert.deepStrictEqual(r.colors, { green: 400 });
            assert.deepStrictEqual(r.failedColors, { green: 100 });
            assert.deepStrictEqual(r.errors, ["HTTP 500 from green"], "each kind of failure once");
        } finally {
            await s.close();
        }
    });

    it("counts a connection closed before its answer as a failed request (autocannon alone would not)", async () => {
        const s = await server((i, req, res) => (i % 10 === 9 ? req.socket.destroy() : json(res, 200, {}, { "x-color": "blue" })));
        try {
            const r = await countColors(s.url, 200, 4);
            assert.strictEqual(r.colors.blue + r.connectionFailures, 200, JSON.stringify(r));
            assert.strictEqual(r.connectionFailures, 20, JSON.stringify(r));
            assert.deepStrictEqual([r.failed, r.non2xx, r.timeouts], [20, 0, 0]);
        } finally {
            await s.close();
        }
    });

    it("counts requests to a refused port as failed, retrying after a delay rather than in a tight loop", async () => {
        const url = `http://127.0.0.1:${await deadPort()}/`;
        const r = await runLoad(url, { connections: 2, durationMs: 500, reconnectDelayMs: 10 });
        assert.ok(r.failed > 0 && r.failed === r.connectionFailures && r.total === r.failed, JSON.stringify(r));
        // 2 connections, one try per 10 ms at most, for 0.5 s: about 100; a spin would be thousands.
        assert.ok(r.failed <= 150, `${r.failed} refused tries in 0.5 s`);
        assert.deepStrictEqual(r.errors, ["ECONNREFUSED"]);
    });

    it("counts an unanswered request as a timeout", async () => {
        const s = await server(() => undefined);
        try {
            const reasons: string[] = [];
            const r = await runLoad(s.url, { connections: 2, durationMs: 1600, timeoutMs: 1000, onNoAnswer: (f) => reasons.push(f.reason) });
            assert.strictEqual(r.timeouts, 2, JSON.stringify(r));
            assert.deepStrictEqual(reasons, ["timeout after 1000 ms", "timeout after 1000 ms"]);
            assert.deepStrictEqual([r.failed, r.total, r.errors[0]], [2, 2, "timeout after 1000 ms"]);
        } finally {
            await s.close();
        }
    });

    it("runs in the background until stopped, and stops within a quarter of a second", async () => {
        const s = await server((_i, _req, res) => json(res, 200, { color: "blue" }));
        try {
            const bg = startLoad(s.url, { connections: 4, durationMs: 60_000 });
            await new Promise((r) => setTimeout(r, 400));
            const t0 = performance.now();
            const r = await bg.stop();
            const stopMs = performance.now() - t0;
            assert.ok(stopMs < 250, `stop took ${stopMs.toFixed(0)} ms`);
            assert.ok(r.total > 50 && r.colors.blue === r.total && r.failed === 0, JSON.stringify(r));
            assert.ok(r.durationMs >= 400 && r.durationMs < 2000, `ran ${r.durationMs} ms`);
            assert.strictEqual(await bg.stop(), r, "a second stop gives the same counts");
        } finally {
            await s.close();
        }
    });

    it("paces a rate evenly over each second (no burst at its start), and calls onAnswer for every answer", async () => {
        const s = await server((_i, _req, res) => json(res, 200, { color: "green" }));
        try {
            const tenths = new Array<number>(20).fill(0);
            const t0 = performance.now();
            let greens = 0;
            const r = await runLoad(s.url, {
                connections: 4,
                rate: 200,
                durationMs: 2000,
                onAnswer: (a) => {
                    greens += a.color === "green" && a.body === '{"color":"green"}' ? 1 : 0;
                    tenths[Math.min(19, Math.floor((a.at - t0) / 100))]++;
                },
            });
            assert.ok(r.total >= 300 && r.total <= 410, `${r.total} requests at 200/s for 2 s`);
            assert.strictEqual(greens, r.total);
            // 20 a tenth of a second; autocannon's own overallRate would send 200 in the first tenth, then none.
            assert.ok(tenths.every((n) => n >= 5 && n <= 45), `answers per tenth of a second: ${tenths.join(" ")}`);
        } finally {
            await s.close();
        }
    });

    it("refuses a rate so low that a paced connection would time out between requests", () => {
        assert.throws(() => startLoad("http://127.0.0.1:1/", { rate: 0.1, timeoutMs: 5000 }), /rate must be at least 0.4 requests per second with a 5000 ms timeout, not 0.1/);
    });

    it("load() stops when its flag turns true, and paces with pauseMs", async () => {
        const s = await server((_i, _req, res) => json(res, 200, { color: "blue" }));
        try {
            let stop = false;
            const l = load(s.url, { concurrency: 2, durationMs: 60_000, stopWhen: () => stop, pauseMs: 20 });
            await new Promise((r) => setTimeout(r, 1000));
            stop = true;
            const r = await l;
            // 2 connections, one request each 20 ms, for about 1 s.
            assert.ok(r.total >= 80 && r.total <= 110, `${r.total} requests`);
            assert.strictEqual(r.failed, 0);
        } finally {
            await s.close();
        }
    });

    it("formatLoad says counts, failures by kind, latency and colors on one line", () => {
        const r: LoadResult = {
            total: 12345, failed: 7, non2xx: 5, connectionFailures: 2, timeouts: 0, errors: [], colors: { blue: 12000, green: 338 }, failedColors: { green: 5 },
            latency: { p50: 0.91, p99: 2.14, mean: 1, max: 9 }, rps: 2469, durationMs: 5000,
        };
        assert.strictEqual(formatLoad(r), '12,345 requests (2,469/s), 7 failed (5 non-2xx, 2 connection); p50 0.9 ms, p99 2.1 ms; served by {"blue":12000,"green":338}');
    });
});
