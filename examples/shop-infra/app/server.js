#!/usr/bin/env node
// shop-orders: the service this project deploys. Plain Node and `pg`, nothing else.
//
// Switchyard starts one process per color and hands it, in its environment:
//   PORT          the port to listen on (127.0.0.1)
//   DATABASE_URL  the PostgreSQL database (the pair's shared server, or a sandbox's restored copy)
//   COLOR         blue or green;  VERSION  the release this color runs
//
//   GET  /          which color and release answered: {"service":"shop-orders","color":…,"release":…}
//   (every answer names its color in an x-color header too, for load generators that count colors)
//   GET  /healthz   200 once the database answers, 503 otherwise (Switchyard and HAProxy probe it)
//   GET  /orders    every order, oldest first
//   POST /orders    {"sku": "…", "quantity": n} → 201 and the stored order
"use strict";
const http = require("node:http");
const pg = require("pg");

const env = {
    port: Number.parseInt(process.env.PORT ?? "", 10),
    databaseUrl: process.env.DATABASE_URL,
    color: process.env.COLOR ?? "unknown",
    release: process.env.VERSION ?? "dev",
};
if (!Number.isInteger(env.port) || !env.databaseUrl) {
    console.error("shop-orders: PORT and DATABASE_URL must be set");
    process.exit(2);
}

const db = new pg.Pool({ connectionString: env.databaseUrl, max: 4 });

// Both colors start at once against one database: the schema is created under an advisory lock.
async function ensureSchema() {
    const client = await db.connect();
    try {
        await client.query("BEGIN");
        await client.query("SELECT pg_advisory_xact_lock(7001)");
        await client.query(
            "CREATE TABLE IF NOT EXISTS orders (" +
                " id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY," +
                " sku text NOT NULL CHECK (sku <> '')," +
                " quantity integer NOT NULL CHECK (quantity > 0)," +
                " placed_at timestamptz NOT NULL DEFAULT now())",
        );
        await client.query("COMMIT");
    } catch (e) {
        await client.query("ROLLBACK").catch(() => undefined);
        throw e;
    } finally {
        client.release();
    }
}

function reply(res, status, value) {
    const body = Buffer.from(JSON.stringify(value));
    res.writeHead(status, { "content-type": "application/json; charset=utf-8", "content-length": body.length, "x-color": env.color });
    res.end(body);
}

async function bodyOf(req) {
    const chunks = [];
    for await (const chunk of req) chunks.push(chunk);
    const text = Buffer.concat(chunks).toString("utf8");
    return text === "" ? {} : JSON.parse(text);
}

const routes = {
    "GET /": async () => [200, { service: "shop-orders", color: env.color, release: env.release }],
    "GET /healthz": async () => {
        try {
            await db.query("SELECT 1");
            return [200, { healthy: true }];
        } catch (e) {
            return [503, { healthy: false, reason: e.message }];
        }
    },
    "GET /orders": async () => {
        const { rows } = await db.query("SELECT id::int AS id, sku, quantity FROM orders ORDER BY id");
        return [200, rows];
    },
    "POST /orders": async (req) => {
        const { sku, quantity } = await bodyOf(req);
        if (typeof sku !== "string" || sku === "" || !Number.isInteger(quantity) || quantity <= 0) {
            return [400, { error: "give a sku (text) and a quantity (a positive integer)" }];
        }
        const { rows } = await db.query("INSERT INTO orders (sku, quantity) VALUES ($1, $2) RETURNING id::int AS id, sku, quantity", [sku, quantity]);
        return [201, rows[0]];
    },
};

const server = http.createServer((req, res) => {
    const route = routes[`${req.method} ${new URL(req.url ?? "/", "http://localhost").pathname}`];
    if (!route) return reply(res, 404, { error: `no route ${req.method} ${req.url}` });
    route(req).then(
        ([status, value]) => reply(res, status, value),
        (e) => reply(res, 500, { error: e.message }),
    );
});

ensureSchema().then(
    () => server.listen(env.port, "127.0.0.1", () => console.log(`shop-orders ${env.release} (${env.color}) on 127.0.0.1:${env.port}`)),
    (e) => {
        console.error(`shop-orders: cannot prepare the database: ${e.message}`);
        process.exit(1);
    },
);

// Stopping: no new connections, idle keep-alive ones closed, in-flight requests finished (3 s at most).
for (const signal of ["SIGTERM", "SIGINT"]) {
    process.once(signal, () => {
        setTimeout(() => process.exit(0), 3000).unref();
        server.close(() => db.end().finally(() => process.exit(0)));
        server.closeIdleConnections();
    });
}
