/**
 * shop-infra: the infrastructure of the shop's order service, on this machine.
 *
 * One program, two kinds of stack (see stacks/):
 *   - `dev`: a blue-green pair (LocalBlueGreen): PostgreSQL shared by both colors, the order service
 *     once per color, HAProxy in front. Its traffic weights are not in this code: the pair reads them
 *     from the stack's configuration `switchyard:traffic`, the key `switchyard cutover` moves step by step.
 *   - `dev-sandbox`: a sandbox (LocalSandbox) whose database is restored from the pair's latest snapshot
 *     (`switchyard snapshot dev`), running the candidate release on its own ports, with an expiry.
 * A stack is a sandbox when it names the pair it copies in `shop-infra:sandboxOf`.
 */
import * as pulumi from "@pulumi/pulumi";
import { COLORS, TestRunLog, type Color, type ColorArgs } from "switchyard";
import { LocalBlueGreen, LocalSandbox } from "switchyard/local";

const config = new pulumi.Config(); // this project's keys: shop-infra:*


/** The order service, as each color and the sandbox run it. */
const app = {
    command: "node app/server.js",
    cwd: __dirname,
    healthCheck: { path: "/healthz", intervalSeconds: 1 },
    startTimeoutMs: 30_000,
};

function pair() {
    const releases = config.requireObject<Record<Color, string>>("releases");
    const colors = Object.fromEntries(COLORS.map((c) => [c, { version: releases[c] }])) as Record<Color, ColorArgs>;
    const shop = new LocalBlueGreen("shop", {
        app,
        colors,
        // no `traffic`: the weights come from the stack's configuration, switchyard:traffic
        database: { mode: "shared", name: "orders" },
        cutover: { steps: [25, 50, 100] },
        ports: config.requireObject("ports"),
    });
    return {
        url: shop.url,
        testUrl: shop.testUrl,
        databaseUrl: shop.databaseUrl,
        // read by the sandbox stacks, through a stack reference
        snapshotRoot: shop.snapshotRoot,
    };
}

function sandbox(production: string) {
    const pairStack = new pulumi.StackReference("pair", { name: production });
    const copy = new LocalSandbox("shop-sandbox", {
        app,
        candidate: { version: config.require("candidate") },
        snapshotRoot: pairStack.getOutput("snapshotRoot") as pulumi.Output<string | undefined>,
        snapshot: "latest",
        databaseName: "orders",
        ttlHours: config.requireNumber("ttlHours"),
        ports: config.requireObject("ports"),
    });
    // Keeps the runs of `switchyard test dev-sandbox -- <suite>` in this stack's state, where a
    // cutover of `dev` that requires tests (switchyard:cutover.requireTests) finds them.
    new TestRunLog();
    return {
        url: copy.url,
        databaseUrl: copy.databaseUrl,
        sourceSnapshot: copy.sourceSnapshot,
        expiresAt: copy.expiresAt,
    };
}

const sandboxOf = config.get("sandboxOf");

// The stack's outputs: the pair's, or the sandbox's.
export = sandboxOf ? sandbox(sandboxOf) : pair();
