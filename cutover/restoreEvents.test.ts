/**
 * The restore's notifications: its events, as the terminal shows them, and through the webhook
 * listener (json and slack bodies) against a real HTTP server on loopback.
 */
import * as assert from "assert";
import * as http from "http";
import { AddressInfo } from "net";
import { slackBody, webhook } from "./listeners";
import { RestoreEvent, formatRestoreEvent } from "./restoreEvents";

const at = "2026-11-30T16:00:00.000Z";
const ok: RestoreEvent[] = [
    { type: "restore", at, stage: "started", snapshot: "s-first", platform: "local" },
    { type: "restore", at, stage: "snapshot", snapshot: "s-first", platform: "local", preRestore: "pre-restore-local-20261130T160000Z" },
    { type: "restore", at, stage: "restored", snapshot: "s-first", platform: "local", preRestore: "pre-restore-local-20261130T160000Z", reason: "thin clone in 40 ms, database down 900 ms" },
];
const failed: RestoreEvent = {
    type: "restore",
    at,
    stage: "failed",
    snapshot: "shop-prod-pre-cutover-20261130101500",
    platform: "aws",
    preRestore: "shop-db-instance-abc-pre-restore-20261130160000",
    reason: 'up of stack "prod" restoring shop-prod-pre-cutover-20261130101500 failed: timeout',
};

describe("restore notifications", () => {
    it("each stage reads as a line naming the snapshots", () => {
        assert.deepStrictEqual(ok.map(formatRestoreEvent), [
            "restore from snapshot s-first started (local)",
            "restore: snapshot pre-restore-local-20261130T160000Z of the current data taken",
            "restored snapshot s-first; the data from before is in snapshot pre-restore-local-20261130T160000Z (thin clone in 40 ms, database down 900 ms)",
        ]);
        assert.match(formatRestoreEvent(failed), /^restore from snapshot shop-prod-pre-cutover-20261130101500 FAILED: up of stack "prod" .* timeout; the data from before is in snapshot shop-db-instance-abc-pre-restore-20261130160000$/);
        assert.match(formatRestoreEvent({ ...ok[2], platform: "aws", database: "shop-db-from-x-abc" }), /restored snapshot s-first into database shop-db-from-x-abc;/);
    });

    it("a Slack body for every stage; the end marked done, a failure marked bad", () => {
        assert.deepStrictEqual(ok.map((e) => slackBody("local", e)?.text), [
            "*local* switchyard: restore from snapshot s-first started (local)",
            "*local* switchyard: restore: snapshot pre-restore-local-20261130T160000Z of the current data taken",
            ":white_check_mark: *local* switchyard: restored snapshot s-first; the data from before is in snapshot pre-restore-local-20261130T160000Z (thin clone in 40 ms, database down 900 ms)",
        ]);
        assert.match(slackBody("prod", failed)!.text, /^:rotating_light: \*prod\* switchyard: restore from snapshot .* FAILED/);
    });

    describe("through the webhook, to a real HTTP server", () => {
        let server: http.Server;
        let url: string;
        let received: { path: string; type: string; body: any }[];
        let status = 200;
        before(async () => {
            server = http.createServer((req, res) => {
                let body = "";
                req.on("data", (d) => (body += d));
                req.on("end", () => {
                    received.push({ path: req.url ?? "", type: String(req.headers["content-type"]), body: JSON.parse(body) });
                    res.statusCode = status;
                    res.end();
                });
            });
            await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
            url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/hooks/restore`;
        });
        after(() => new Promise<void>((r) => server.close(() => r())));
        beforeEach(() => {
            received = [];
            status = 200;
        });

        it("json: every stage, in order, with the stack's name", async () => {
            const errors: string[] = [];
            const w = webhook(url, { stack: "local", onError: (m) => errors.push(m) });
            [...ok, failed].forEach(w.onEvent);
            await w.close();
            assert.deepStrictEqual(errors, []);
            assert.deepStrictEqual(received.map((r) => r.body), [...ok, failed].map((event) => ({ stack: "local", event })));
            assert.ok(received.every((r) => r.path === "/hooks/restore" && r.type === "application/json"));
        });

        it("slack: one { text } per stage", async () => {
            const w = webhook(url, { stack: "prod", format: "slack" });
            [...ok, failed].forEach(w.onEvent);
            await w.close();
            assert.deepStrictEqual(received.map((r) => Object.keys(r.body)), [["text"], ["text"], ["text"], ["text"]]);
            assert.match(received[3].body.text, /:rotating_light: \*prod\* switchyard: restore from snapshot shop-prod-pre-cutover-20261130101500 FAILED/);
        });

        it("a refused delivery is reported once and never thrown: the restore goes on", async () => {
            status = 500;
            const errors: string[] = [];
            const w = webhook(url, { stack: "local", onError: (m) => errors.push(m) });
            ok.forEach(w.onEvent);
            await w.close();
            assert.strictEqual(received.length, 3, "every stage was still tried");
            assert.strictEqual(errors.length, 2);
            assert.match(errors[0], /the "restore" event was not delivered \(answered HTTP 500\); the restore goes on/);
            assert.match(errors[1], /3 events in all were not delivered/);
        });
    });
});
