/** Stack configurations the end-to-end tests share: a local blue-green pair on ports from `base`. */

/** A local pair: PostgreSQL shared by both colors, the example app, HAProxy on base..base+4. */
export function localPairConfig(base: number, over: Record<string, unknown> = {}): Record<string, unknown> {
    return {
        "switchyard:platform": "local",
        "switchyard:role": "blue-green",
        "switchyard:name": "shop",
        "switchyard:traffic": { blue: 80, green: 20 },
        "switchyard:colors": { blue: { version: "1.0.0" }, green: { version: "1.1.0" } },
        "switchyard:app": {
            command: "node examples/app/server.js",
            environment: { MIGRATE_ON_START: "1" },
            healthCheck: { path: "/healthz", intervalSeconds: 1 },
        },
        "switchyard:database": { mode: "shared", name: "shop" },
        "switchyard:cutover": { steps: [10, 25, 50, 100] },
        "switchyard:local": {
            ports: { router: base, test: base + 1, blue: base + 2, green: base + 3, database: base + 4 },
        },
        ...over,
    };
}

/** A local sandbox restored from the latest snapshot of the pair `production` (a stack of this project). */
export function localSandboxConfig(base: number, over: Record<string, unknown> = {}, production = "organization/switchyard-test/pair"): Record<string, unknown> {
    return {
        "switchyard:platform": "local",
        "switchyard:role": "sandbox",
        "switchyard:name": "shop-sandbox",
        "switchyard:colors": { green: { version: "1.1.0" } },
        "switchyard:app": { command: "node examples/app/server.js", healthCheck: { path: "/healthz" } },
        "switchyard:database": { mode: "snapshot", name: "shop", snapshot: "latest" },
        "switchyard:sandbox": { productionStack: production, ttlHours: 24, color: "green" },
        "switchyard:local": { ports: { app: base + 5, database: base + 6 } },
        ...over,
    };
}
