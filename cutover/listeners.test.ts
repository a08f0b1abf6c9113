/** Webhook and report listeners, against a real HTTP server on loopback. */
import * as assert from "assert";
import * as fs from "fs";
import * as http from "http";
import * as os from "os";
import * as path from "path";
import { AddressInfo } from "net";
import { report, webhook } from "./listeners";
import { Checkpoint, CutoverEvent } from "./types";

const at = "2026-11-24T10:00:00.000Z";
const events: CutoverEvent[] = [
    { type: "started", at, from: "blue", to: "green", steps: [50, 100] },
    { type: "step", at, step: 1, of: 2, weights: { blue: 50, green: 50 } },
    { type: "done", at, phase: "promoted", weights: { blue: 0, green: 100 } },
];

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
});
