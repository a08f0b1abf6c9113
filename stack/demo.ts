/**
 * The local demo: the blue-green pair, a snapshot of its database, a sandbox restored from it, a
 * migration rehearsal on the sandbox, and two cutovers under live load: one whose gate fails and
 * reverts, one that promotes green; last, a replicated pair's switchover and revert under writes
 * (stack/demoReplicated.ts).
 */
import * as sy from "../index";
import { countColors, load, startLoad } from "../cutover/traffic";
import { demoReplicated } from "./demoReplicated";

// The demo drives Switchyard's own project through the library's public API, as any program would.
const run = sy.stack;
const cut = sy.cutover;
const { snapshotStack } = sy.stack;
const { formatVerdict, rehearse } = sy.rehearsal;

export interface DemoOptions {
    /** Tear down instead of bringing up. */
    readonly down: boolean;
    /** Requests sent through the router to show the split. */
    readonly requests: number;
    readonly onOutput: (s: string) => void;
    /** Stacks. @default { production: "local", sandbox: "local-sandbox", replicated: "local-replicated" } */
    readonly stacks?: { production: string; sandbox: string; replicated?: string };
    /** The project (or its folder). @default Switchyard's own project */
    readonly project?: sy.stack.Project | string;
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
    const project = o.project ?? run.PACKAGE_ROOT;
    const prod: sy.stack.StackTarget = { stackName: stacks.production, project, onOutput: o.onOutput };
    const sandbox: sy.stack.StackTarget = { stackName: stacks.sandbox, project, onOutput: o.onOutput };
    const replicated: sy.stack.StackTarget = { stackName: stacks.replicated ?? "local-replicated", project, onOutput: o.onOutput };
    const policy = { policyPacks: [run.defaultPolicyPack()] };

    if (o.down) {
        say(`reset ${stacks.production}'s weights to blue and clear its cutover checkpoint`);
        await cut.resetWeights(prod, { blue: 100, green: 0 });
        say(`destroy ${stacks.sandbox}`);
        await run.destroy(sandbox);
        say(`destroy ${replicated.stackName} (the replicated pair)`);
        await cut.resetWeights(replicated, { blue: 100, green: 0 });
        await run.destroy(replicated);
        say(`destroy ${stacks.production}`);
        await run.destroy(prod);
        say("demo torn down: no process, port or data directory is left");
        return;
    }

    // A demo run starts from blue live, whatever an earlier run left in the stack's config.
    await cut.resetWeights(prod, { blue: 100, green: 0 });
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
    const s = await countColors(url, o.requests, 4);
    process.stdout.write(`served by: ${JSON.stringify(s.colors)}, failed: ${s.failed}\n`);
    const t = await countColors(testUrl, 10, 1);
    process.stdout.write(`test frontend ${testUrl} (idle color): ${JSON.stringify(t.colors)}\n`);

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

    say(`rehearse the release's migration on the sandbox's copy of production data: forward, back, forward again`);
    const rehearsal = await rehearse({ ...sandbox, onOutput: () => undefined }, { last: 1, onProgress: (l) => process.stdout.write(`  ${l}\n`) });
    process.stdout.write(`${formatVerdict(rehearsal.verdict)}\n`);

    await demoCutovers(prod, url, up.outputs, o);

    await demoReplicated(replicated);

    say("where to reach it");
    process.stdout.write(
        [
            `  production (weighted): ${url}`,
            `  test frontend (idle):  ${testUrl}`,
            `  production database:   ${up.outputs.databaseUrl.value}`,
            `  sandbox app:           ${sbUrl}   (expires ${sb.outputs.expiresAt.value})`,
            `  sandbox database:      ${sb.outputs.databaseUrl.value}`,
            `  rehearse migrations:   npx switchyard rehearse ${stacks.sandbox} --last 1`,
            "",
            `  where traffic stands:  npx switchyard status ${stacks.production}`,
            `  back to blue at once:  npx switchyard revert ${stacks.production}`,
            `  a cutover of your own: npx switchyard cutover ${stacks.production} --steps 10,50,100`,
            `  replicated pair:       npx switchyard status ${replicated.stackName}   (replication direction, lag, write gates)`,
            "  tear down:             npm run demo -- --down",
            "",
        ].join("\n"),
    );
}

/**
 * A flag rollout as cutover steps, under load from 2,000 users (one in ten internal): new-checkout for
 * internal users, then 10% of users; there its code path fails, the gate judges the flagged requests
 * alone and halts, and the revert turns the flag off before anything else.
 */
async function demoFlagRollout(
    target: sy.stack.StackTarget,
    url: string,
    outputs: Record<string, { value: unknown }>,
    gate: Partial<sy.cutover.GateSpec>,
    session: { write: (l: string) => void },
): Promise<void> {
    const flag = "new-checkout";
    process.stdout.write(`\n== flag rollout: ${flag} for internal users, then 10% of users, whose checkout then fails: the gate turns the flag off\n`);
    const ports = Object.values((outputs.appPorts?.value as Record<string, number> | undefined) ?? {});
    const breakFlagged = (rate: number) =>
        Promise.all(ports.map((p) => fetch(`http://127.0.0.1:${p}/admin/faults`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ flaggedFailRate: rate }) })));
    const served: Record<string, number> = {};
    let user = 0;
    const traffic = startLoad(url, {
        connections: 4,
        rate: 400,
        durationMs: 300_000,
        headers: () => ((user = (user + 7919) % 2000), { "x-user-id": `user-${user}`, ...(user % 10 === 0 ? { "x-user-group": "internal" } : {}) }),
        onAnswer: (a) => {
            const k = `${String(a.headers?.["x-flags"] ?? "").match(/new-checkout=(\w+)/)?.[1] ?? "none"}${a.status >= 500 ? " (failed)" : ""}`;
            served[k] = (served[k] ?? 0) + 1;
        },
    });
    const breakAt10: sy.cutover.Listener = { onEvent: (e) => void (e.type === "step" && e.flag?.stage === 10 && breakFlagged(1)), close: async () => undefined };
    try {
        const steps = [{ flag, stage: "internal" as const }, { flag, stage: 10 }, 100];
        const r = await cut.runSession(target, { ...session, listeners: [breakAt10] }, "promoted", (drive) => cut.cutover(target, { steps, gate, pretest: false, backup: false }, drive));
        process.stdout.write(`flag rollout ended ${r.checkpoint.phase}: ${r.checkpoint.reason ?? ""}\n`);
    } finally {
        await breakFlagged(0);
        const l = await traffic.stop();
        process.stdout.write(`load during the flag rollout: ${l.total} requests; ${flag} served ${JSON.stringify(served)}\n`);
    }
}

/**
 * Two cutovers to green under steady load: in the first, green starts failing once live traffic
 * reaches it, so its gate fails and traffic goes back to blue at once; the second promotes green.
 */
async function demoCutovers(prod: sy.stack.StackTarget, url: string, outputs: Record<string, { value: unknown }>, o: DemoOptions): Promise<void> {
    const say = (s: string) => process.stdout.write(`\n== ${s}\n`);
    const gate: Partial<sy.cutover.GateSpec> = { intervalMs: 2000, minRequests: 10 };
    const quiet: sy.stack.StackTarget = { ...prod, onOutput: () => undefined };
    const greenAdmin = `http://127.0.0.1:${(outputs.appPorts?.value as Record<string, number> | undefined)?.green}/admin/faults`;
    const faults = (failRate: number) =>
        fetch(greenAdmin, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ failRate }) });

    const underLoad = async (what: string, fn: () => Promise<sy.cutover.Checkpoint>) => {
        let done = false;
        const traffic = load(url, { concurrency: 4, durationMs: 300_000, stopWhen: () => done, pauseMs: 2 });
        try {
            return await fn();
        } finally {
            done = true;
            const l = await traffic;
            process.stdout.write(`load during the ${what}: ${l.total} requests, ${l.failed} failed; served by ${JSON.stringify(l.colors)}\n`);
        }
    };
    // The session prints every event (indented) and turns Ctrl-C into a revert, as the CLI does.
    const session = { write: (l: string) => void process.stdout.write(`  ${l}\n`) };
    const breakGreen: sy.cutover.Listener = { onEvent: (e) => void (e.type === "applied" && faults(0.3)), close: async () => undefined };

    say("cutover 1 of 2: green breaks once live traffic reaches it (30% of its requests fail)");
    const first = await underLoad("failing cutover", async () =>
        (await cut.runSession(quiet, { ...session, listeners: [breakGreen] }, "promoted", (drive) => cut.cutover(quiet, { gate }, drive))).checkpoint,
    );
    await faults(0);
    process.stdout.write(`cutover 1 ended ${first.phase}: ${first.reason ?? ""}\n`);

    await demoFlagRollout(quiet, url, outputs, gate, session);

    say("cutover 2 of 2: green fixed; steps from switchyard:cutover, each one `up` and read back from HAProxy");
    const second = await underLoad("second cutover", async () =>
        (await cut.runSession(quiet, session, "promoted", (drive) => cut.cutover(quiet, { gate, backup: false }, drive))).checkpoint,
    );
    const after = await countColors(url, o.requests, 4);
    process.stdout.write(
        `cutover 2 ended ${second.phase}; ${o.requests} requests now served by ${JSON.stringify(after.colors)}; ` +
            `blue stays up, warm, for \`switchyard revert\`\n`,
    );
}
