/**
 * The local demo: the blue-green pair, a snapshot of its database, and a sandbox restored from it.
 */
import * as run from "./run";
import { snapshotStack } from "./snapshot";

export interface DemoOptions {
    /** Tear down instead of bringing up. */
    readonly down: boolean;
    /** Requests sent through the router to show the split. */
    readonly requests: number;
    readonly onOutput: (s: string) => void;
    /** Stacks. @default { production: "local", sandbox: "local-sandbox" } */
    readonly stacks?: { production: string; sandbox: string };
}

/** Sends n GET requests to url and counts the colors that answered. Pure HTTP; no retries. */
export async function sampleColors(url: string, n: number): Promise<{ counts: Record<string, number>; failed: number }> {
    const counts: Record<string, number> = {};
    let failed = 0;
    for (let i = 0; i < n; i++) {
        try {
            const r = await fetch(url);
            if (!r.ok) {
                failed++;
                continue;
            }
            const body = (await r.json()) as { color?: string };
            counts[body.color ?? "?"] = (counts[body.color ?? "?"] ?? 0) + 1;
        } catch {
            failed++;
        }
    }
    return { counts, failed };
}

async function json(url: string, init?: RequestInit): Promise<unknown> {
    const r = await fetch(url, init);
    if (!r.ok) {
        throw new Error(`${init?.method ?? "GET"} ${url} answered ${r.status}: ${await r.text()}`);
    }
    return r.json();
}

export async function runDemo(o: DemoOptions): Promise<void> {
    const stacks = o.stacks ?? { production: "local", sandbox: "local-sandbox" };
    const say = (s: string) => process.stdout.write(`\n== ${s}\n`);
    const prod: run.StackTarget = { stackName: stacks.production, onOutput: o.onOutput };
    const sandbox: run.StackTarget = { stackName: stacks.sandbox, onOutput: o.onOutput };
    const policy = { policyPacks: [run.defaultPolicyPack()] };

    if (o.down) {
        say(`destroy ${stacks.sandbox}`);
        await run.destroy(sandbox);
        say(`destroy ${stacks.production}`);
        await run.destroy(prod);
        say("demo torn down: no process, port or data directory is left");
        return;
    }

    say(`preview ${stacks.production} (with the policy pack)`);
    await run.preview(prod, policy);
    say(`up ${stacks.production}: PostgreSQL, blue and green app processes, HAProxy`);
    const up = await run.up(prod, policy);
    const url = up.outputs.url.value as string;
    const testUrl = up.outputs.testUrl.value as string;

    say("production data: three orders written through the live router");
    for (const item of ["espresso", "flat white", "cortado"]) {
        await json(`${url}/items`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ name: item }) });
    }
    const prodRows = ((await json(`${url}/items`)) as unknown[]).length;
    process.stdout.write(`rows in production: ${prodRows}\n`);

    say(`traffic: ${o.requests} requests through ${url} (weights ${JSON.stringify(up.outputs.weights.value)})`);
    const s = await sampleColors(url, o.requests);
    process.stdout.write(`served by: ${JSON.stringify(s.counts)}, failed: ${s.failed}\n`);
    const t = await sampleColors(testUrl, 10);
    process.stdout.write(`test frontend ${testUrl} (idle color): ${JSON.stringify(t.counts)}\n`);

    say(`snapshot of ${stacks.production}'s database, taken while it serves (backup before release)`);
    const snap = await snapshotStack(prod);
    process.stdout.write(`snapshot ${snap.name}: ${(snap.sizeBytes / 1048576).toFixed(1)} MiB, ${snap.method}, ${snap.durationMs} ms\n`);

    say(`up ${stacks.sandbox}: a sandbox restored from that snapshot, running the candidate`);
    const sb = await run.up(sandbox, policy);
    const sbUrl = sb.outputs.url.value as string;
    const sbRows = ((await json(`${sbUrl}/items`)) as unknown[]).length;
    await json(`${sbUrl}/items`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ name: "sandbox-only" }) });
    const prodAfter = ((await json(`${url}/items`)) as unknown[]).length;
    process.stdout.write(
        `sandbox restored by ${sb.outputs.restoreMethod.value} in ${sb.outputs.restoreMs.value} ms; rows in sandbox: ${sbRows}; ` +
            `after a write to the sandbox, rows in production: ${prodAfter}\n`,
    );

    say("where to reach it");
    process.stdout.write(
        [
            `  production (weighted): ${url}`,
            `  test frontend (idle):  ${testUrl}`,
            `  production database:   ${up.outputs.databaseUrl.value}`,
            `  sandbox app:           ${sbUrl}   (expires ${sb.outputs.expiresAt.value})`,
            `  sandbox database:      ${sb.outputs.databaseUrl.value}`,
            "",
            "  change weights: edit switchyard:traffic in stacks/Pulumi.local.yaml, then `npx switchyard up local`",
            "  tear down:      npm run demo -- --down",
            "",
        ].join("\n"),
    );
}
