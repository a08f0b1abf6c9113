// Feature flags for the example app: OpenFeature's server SDK with the flagd provider in in-process
// mode, reading a flagd flag-definitions file (FLAGD_OFFLINE_FLAG_SOURCE_PATH, written by the stack)
// and following its changes. Works offline: no flagd daemon, no network.
//
// The evaluation context of a request: targetingKey from the x-user-id header; each other header
// x-user-<name> gives the attribute <name> (x-user-group: internal, x-user-email: ann@example.com).
// Every answer names the variant each flag served it in an x-flags header (new-checkout=on), so the
// router's log and load generators count flagged requests apart.
"use strict";
const fs = require("fs");
const path = require("path");

const FLAGS_FILE_ENV = "FLAGD_OFFLINE_FLAG_SOURCE_PATH";
const USER_ID_HEADER = "x-user-id";
const ATTRIBUTE_HEADER_PREFIX = "x-user-";
const FLAGS_HEADER = "x-flags";

/** The evaluation context of a request's headers. */
function contextOf(headers) {
    const ctx = {};
    for (const [k, v] of Object.entries(headers)) {
        if (typeof v !== "string") continue;
        if (k === USER_ID_HEADER) ctx.targetingKey = v;
        else if (k.startsWith(ATTRIBUTE_HEADER_PREFIX)) ctx[k.slice(ATTRIBUTE_HEADER_PREFIX.length)] = v;
    }
    return ctx;
}

/** `a=off,new-checkout=on` */
function formatFlagsHeader(served) {
    return Object.keys(served)
        .sort()
        .map((k) => `${k}=${served[k]}`)
        .join(",");
}

/**
 * Starts the flags from the file, or returns undefined when no file is given.
 * @param {{ file?: string, pollMs?: number }} opts pollMs: how often the file is looked at (default 100)
 */
async function startFlags(opts = {}) {
    const file = opts.file ?? process.env[FLAGS_FILE_ENV];
    if (!file) return undefined;
    const abs = path.resolve(file);
    const pollMs = opts.pollMs ?? Number(process.env.FLAGS_POLL_MS || 100);
    const { OpenFeature } = require("@openfeature/server-sdk");
    const { FlagdProvider } = require("@openfeature/flagd-provider");

    // The flags the file declares, with their default variant and value type, for the x-flags header.
    let declared = {};
    const readDeclared = () => {
        try {
            const doc = JSON.parse(fs.readFileSync(abs, "utf8"));
            declared = Object.fromEntries(Object.entries(doc.flags || {}).map(([k, f]) => [k, { defaultVariant: f.defaultVariant, type: typeof Object.values(f.variants || {})[0], metadata: f.metadata || {}, state: f.state }]));
        } catch {
            // Half a file is never seen (the stack renames a whole file into place); a missing one keeps the last.
        }
    };
    readDeclared();
    // The provider follows the file with fs.watchFile at Node's default interval (about 5 s). Node shares
    // one stat watcher per file, with the interval of the first call: this one, so the provider sees a
    // change within pollMs.
    fs.watchFile(abs, { interval: pollMs, persistent: false }, readDeclared);
    const provider = new FlagdProvider({ resolverType: "in-process", offlineFlagSourcePath: abs });
    await OpenFeature.setProviderAndWait(provider);
    const client = OpenFeature.getClient("example-app");

    /** Each flag's evaluation for a context: { served: {flag: variant}, values: {flag: value}, flagged } */
    async function evaluate(ctx) {
        const served = {};
        const values = {};
        let flagged = false;
        await Promise.all(
            Object.entries(declared).map(async ([key, f]) => {
                const d =
                    f.type === "boolean"
                        ? await client.getBooleanDetails(key, false, ctx)
                        : f.type === "string"
                          ? await client.getStringDetails(key, "", ctx)
                          : f.type === "number"
                            ? await client.getNumberDetails(key, 0, ctx)
                            : await client.getObjectDetails(key, {}, ctx);
                if (d.variant !== undefined) {
                    served[key] = d.variant;
                    values[key] = d.value;
                    if (d.variant !== f.defaultVariant) flagged = true;
                }
            }),
        );
        return { served, values, flagged };
    }

    /** The variants served to `n` sample users, by flag: what is on, as this process serves it. */
    async function sample(n) {
        const counts = {};
        for (const key of Object.keys(declared)) counts[key] = {};
        for (let i = 0; i < n; i++) {
            const { served } = await evaluate({ targetingKey: `sample-${i}` });
            for (const [k, v] of Object.entries(served)) counts[k][v] = (counts[k][v] || 0) + 1;
        }
        return Object.fromEntries(Object.entries(declared).map(([k, f]) => [k, { state: f.state, defaultVariant: f.defaultVariant, metadata: f.metadata, sampled: n, variants: counts[k] }]));
    }

    async function close() {
        fs.unwatchFile(abs, readDeclared);
        await OpenFeature.close();
    }

    return { file: abs, evaluate, sample, close, declared: () => declared };
}

module.exports = { startFlags, contextOf, formatFlagsHeader, FLAGS_FILE_ENV, FLAGS_HEADER, USER_ID_HEADER, ATTRIBUTE_HEADER_PREFIX };
