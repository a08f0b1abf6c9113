#!/usr/bin/env node
// The example app: a small HTTP service with a PostgreSQL table. It reports its color and version and
// can be told to fail a share of requests or to add latency (for cutover tests and the demo).
//
// Env: PORT, DATABASE_URL, COLOR, VERSION, FAIL_RATE (0..1), LATENCY_MS, MIGRATE_ON_START=1.
// GET /            {color, version}
// Every answer names the color in an x-color header too, so load generators count colors without parsing bodies.
// GET /healthz     200 when the database answers, else 503
// GET /items       rows of table items;   POST /items {name}
// GET|POST /admin/faults {failRate, latencyMs, slowShare, slowMs, faultHealth}
//   slowShare (0..1) of requests take slowMs longer: a tail (p99) that the mean hardly shows.
//   flaggedFailRate (0..1) of flagged requests (a flag served them a variant not its default) fail.
// Flags (./flags.js): with FLAGD_OFFLINE_FLAG_SOURCE_PATH set, flags come from that flagd file, followed
// as it changes. Headers x-user-id (targeting key) and x-user-<attr> (e.g. x-user-group) make the context;
// every answer names the variants served in an x-flags header (new-checkout=on).
// GET /checkout    the flagged code path: {checkout: "new" | "classic"} by the flag CHECKOUT_FLAG (default new-checkout)
// GET /flags?sample=N  each flag's variants served to N sample users (default 1000), as this process serves them
"use strict";
const http = require("http");
const { Pool } = require("pg");
const { migrate } = require("./migrate");
const { startFlags, contextOf, formatFlagsHeader, FLAGS_HEADER } = require("./flags");

const port = Number(process.env.PORT || 8080);
const color = process.env.COLOR || "none";
const version = process.env.VERSION || "0.0.0";
if (!process.env.DATABASE_URL) {
    process.stderr.write("app: DATABASE_URL is not set\n");
    process.exit(2);
}
const pool = new Pool({ connectionString: process.env.DATABASE_URL, max: 5 });
// An idle connection the database closed (a restart, a restore) is dropped, not fatal: the next query opens another.
pool.on("error", (e) => process.stderr.write(`app: idle database connection lost: ${e.message}\n`));
const faults = { failRate: Number(process.env.FAIL_RATE || 0), latencyMs: Number(process.env.LATENCY_MS || 0), slowShare: 0, slowMs: 0, faultHealth: false, flaggedFailRate: 0 };
const checkoutFlag = process.env.CHECKOUT_FLAG || "new-checkout";
let flags; // set by main() when a flags file is given

function send(res, status, body) {
    const text = JSON.stringify(body);
    res.writeHead(status, { "content-type": "application/json", "content-length": Buffer.byteLength(text), "x-color": color, ...(res.flagsHeader !== undefined ? { [FLAGS_HEADER]: res.flagsHeader } : {}) });
    res.end(text);
}

function readJson(req) {
    return new Promise((resolve, reject) => {
        let s = "";
        req.on("data", (c) => (s += c));
        req.on("end", () => {
            try {
                resolve(s ? JSON.parse(s) : {});
            } catch (e) {
                reject(e);
            }
        });
    });
}

async function handle(req, res) {
    const url = new URL(req.url, "http://x");
    if (url.pathname === "/admin/faults") {
        if (req.method === "POST") {
            const b = await readJson(req);
            if (b.failRate !== undefined) faults.failRate = Number(b.failRate);
            if (b.latencyMs !== undefined) faults.latencyMs = Number(b.latencyMs);
            if (b.slowShare !== undefined) faults.slowShare = Number(b.slowShare);
            if (b.slowMs !== undefined) faults.slowMs = Number(b.slowMs);
            if (b.faultHealth !== undefined) faults.faultHealth = Boolean(b.faultHealth);
            if (b.flaggedFailRate !== undefined) faults.flaggedFailRate = Number(b.flaggedFailRate);
        }
        return send(res, 200, faults);
    }
    const isHealth = url.pathname === "/healthz";
    const evaluated = flags && !isHealth ? await flags.evaluate(contextOf(req.headers)) : undefined;
    if (evaluated) res.flagsHeader = formatFlagsHeader(evaluated.served);
    if (evaluated?.flagged && faults.flaggedFailRate > 0 && Math.random() < faults.flaggedFailRate) {
        return send(res, 500, { error: "injected failure on the flagged path", color, version, flags: evaluated.served });
    }
    if (!isHealth || faults.faultHealth) {
        if (faults.latencyMs > 0) await new Promise((r) => setTimeout(r, faults.latencyMs));
        if (faults.slowShare > 0 && Math.random() < faults.slowShare) await new Promise((r) => setTimeout(r, faults.slowMs));
        if (faults.failRate > 0 && Math.random() < faults.failRate) return send(res, 500, { error: "injected failure", color, version });
    }
    if (isHealth) {
        try {
            await pool.query("SELECT 1");
            return send(res, 200, { ok: true, color, version });
        } catch (e) {
            return send(res, 503, { ok: false, error: e.message });
        }
    }
    if (url.pathname === "/") return send(res, 200, { color, version });
    if (url.pathname === "/checkout") {
        const on = evaluated?.served[checkoutFlag] !== undefined && evaluated.served[checkoutFlag] !== flags.declared()[checkoutFlag]?.defaultVariant;
        return send(res, 200, { checkout: on ? "new" : "classic", flag: checkoutFlag, variant: evaluated?.served[checkoutFlag] ?? null, color, version });
    }
    if (url.pathname === "/flags") {
        if (!flags) return send(res, 404, { error: "no flags file: FLAGD_OFFLINE_FLAG_SOURCE_PATH is not set" });
        const n = Math.min(Math.max(Number(url.searchParams.get("sample") ?? 1000) || 0, 0), 100_000);
        return send(res, 200, { file: flags.file, color, version, flags: await flags.sample(n) });
    }
    if (url.pathname === "/items" && req.method === "GET") {
        const r = await pool.query("SELECT id, name FROM items ORDER BY id");
        return send(res, 200, r.rows.map((x) => ({ id: Number(x.id), name: x.name })));
    }
    if (url.pathname === "/items" && req.method === "POST") {
        const b = await readJson(req);
        if (typeof b.name !== "string" || !b.name) return send(res, 400, { error: "name is required" });
        const r = await pool.query("INSERT INTO items (name) VALUES ($1) RETURNING id", [b.name]);
        return send(res, 201, { id: Number(r.rows[0].id), name: b.name });
    }
    return send(res, 404, { error: "not found" });
}

async function main() {
    if (process.env.MIGRATE_ON_START === "1") await migrate(process.env.DATABASE_URL, "up");
    flags = await startFlags();
    const server = http.createServer((req, res) => handle(req, res).catch((e) => send(res, 500, { error: e.message })));
    server.keepAliveTimeout = 65_000;
    server.listen(port, "127.0.0.1", () => process.stdout.write(`app ${color}@${version} listening on 127.0.0.1:${port}\n`));
    const stop = () => server.close(() => pool.end().then(() => process.exit(0)));
    process.on("SIGTERM", stop);
    process.on("SIGINT", stop);
}

main().catch((e) => {
    process.stderr.write(`app: ${e.message}\n`);
    process.exit(1);
});
