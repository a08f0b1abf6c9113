/**
 * The local program: builds a LocalBlueGreen pair or a LocalSandbox from the stack's `switchyard:*`
 * configuration (see stacks/Pulumi.local.yaml and stacks/Pulumi.local-sandbox.yaml). The keys are the
 * AWS program's, less the AWS-only ones, plus `switchyard:local`:
 *
 *   switchyard:role      "blue-green" or "sandbox"
 *   switchyard:name      logical name prefix of every resource (default "app"; never change it)
 *   switchyard:traffic   { blue, green }                                  (blue-green)
 *   switchyard:colors    { blue: { version, environment? }, green: { … } }
 *   switchyard:app       { command, cwd?, environment?, healthCheck?: { path, intervalSeconds }, startTimeoutMs? }
 *   switchyard:database  { mode: shared | replicated | snapshot, name?, snapshot?: "latest" | <name> }
 *   switchyard:cutover   { steps?, requireTests? }                        (blue-green, optional; requireTests is read by the cutover)
 *   switchyard:flags     { <flag>: { variants?, defaultVariant?, onVariant?, internal?, rollout?, state? } }  (blue-green, optional)
 *   switchyard:sandbox   { productionStack, ttlHours, color? }            (sandbox)
 *   switchyard:migrations { command, table?, dir? }  read by `switchyard rehearse` (sandbox), not by the program
 *   switchyard:masking   [{ table, column, rule, kind?, first?, last? }]  (sandbox; components/masking.ts)
 *   switchyard:maskingStrict  true: a personal-looking column with no masking rule fails the preview (sandbox)
 *   switchyard:testRuns  the runs `switchyard test` recorded (sandbox; written by it, recorded in the state by TestRunLog)
 *   (the cutover writes only switchyard:traffic here; its checkpoint and intent live in the backend)
 *   switchyard:local     { ports?: { router, test, blue, green, database, greenDatabase, app }, dataDir? }
 */
import * as path from "path";
import * as pulumi from "@pulumi/pulumi";
import { readSandboxCandidate, readStackBasics } from "../config";
import { Color, COLORS, ColorArgs, TrafficWeights } from "../types";
import { LocalAppArgs, LocalBlueGreen, LocalPortsArgs } from "./blueGreen";
import { LocalSandbox } from "./sandbox";
import { localConfigKeys, withConfigKeys } from "../configKeys";
import { parseStrict } from "../masking";
import { cutoverPlanOf, TestRunLog } from "../testRuns";
import { ProductionDatabase } from "../productionDatabase";

export interface LocalConfig {
    ports?: LocalPortsArgs & { app?: number };
    dataDir?: string;
}

export interface LocalProgramContext {
    /** Folder under which each stack gets its data folder. */
    readonly dataRoot: string;
    /** Working directory of the app command. */
    readonly cwd: string;
}

export function localProgram(ctx: LocalProgramContext, cfg: pulumi.Config = new pulumi.Config("switchyard")): Record<string, pulumi.Output<unknown> | unknown> {
    const { role, name, colors, mode } = readStackBasics<ColorArgs>(cfg, "local", (r) => (r === "sandbox" ? "snapshot" : "shared"));
    const app = cfg.requireObject<LocalAppArgs>("app");
    const db = cfg.getObject<{ name?: string; snapshot?: string }>("database") ?? {};
    const local = cfg.getObject<LocalConfig>("local") ?? {};
    const dataDir = local.dataDir ?? path.join(ctx.dataRoot, pulumi.getStack());
    const appArgs: LocalAppArgs = { ...app, cwd: app.cwd ? path.resolve(ctx.cwd, app.cwd) : ctx.cwd };

    if (role === "blue-green") {
        // A refusal names the switchyard:* key the refused value came from.
        const pair = withConfigKeys(localConfigKeys(), () =>
            new LocalBlueGreen(name, {
                app: appArgs,
                colors: colors as Record<Color, ColorArgs>,
                database: { mode, name: db.name },
                cutover: cutoverPlanOf(cfg),
                ports: local.ports,
                dataDir,
            }),
        );
        return {
            platform: "local",
            role,
            url: pair.url,
            testUrl: pair.testUrl,
            databaseUrl: pair.databaseUrl,
            databasePort: pair.database.port,
            dataDir: pair.database.dataDir,
            snapshotRoot: pair.snapshotRoot,
            adminSocket: pair.router.adminSocket,
            weights: pair.router.appliedWeights,
            versions: Object.fromEntries(COLORS.map((c) => [c, colors[c]?.version])),
            appPids: pulumi.all(COLORS.map((c) => pair.apps[c].pid)),
            appPorts: pulumi.all({ blue: pair.apps.blue.port, green: pair.apps.green.port }),
            routerPid: pair.router.pid,
            ...(pair.flagsFile ? { flagsFile: pair.flagsFile.path } : {}),
            ...(pair.greenDatabase
                ? {
                      databaseMode: "replicated",
                      greenDatabaseUrl: pair.greenDatabaseUrl,
                      greenDatabasePort: pair.greenDatabase.port,
                      greenDataDir: pair.greenDatabase.dataDir,
                      replicationLagBytes: pair.greenDatabase.lagBytes,
                      replicationStreams: pair.greenDatabase.streams,
                  }
                : {}),
        };
    }

    const { sandbox: sb, color, candidate } = readSandboxCandidate(cfg, colors);
    new TestRunLog(); // switchyard:testRuns, recorded in the state by `switchyard test`
    const prod = new pulumi.StackReference(`${name}-production`, { name: sb.productionStack });
    new ProductionDatabase(`${name}-production-db`, { reference: prod }); // read by the policy sandbox-no-production-db
    const maskingRules = cfg.getObject<unknown>("masking");
    const strict = parseStrict(cfg.get("maskingStrict"));
    if (strict.problem) {
        throw new Error(strict.problem);
    }
    const sandbox = withConfigKeys(localConfigKeys(color), () =>
        new LocalSandbox(name, {
            app: appArgs,
            candidate,
            snapshotRoot: prod.getOutput("snapshotRoot") as pulumi.Output<string | undefined>,
            color,
            snapshot: db.snapshot,
            databaseName: db.name,
            ttlHours: sb.ttlHours,
            ports: { app: local.ports?.app, database: local.ports?.database },
            dataDir,
            masking: maskingRules !== undefined || strict.strict ? { rules: maskingRules, strict: strict.strict } : undefined,
        }),
    );
    return {
        platform: "local",
        role,
        url: sandbox.url,
        databaseUrl: sandbox.databaseUrl,
        databasePort: sandbox.databasePort,
        dataDir: sandbox.database.dataDir,
        sourceSnapshot: sandbox.sourceSnapshot,
        restoreMethod: sandbox.database.method,
        restoreMs: sandbox.database.restoreMs,
        expiresAt: sandbox.expiresAt,
        appPid: sandbox.app.pid,
    };
}
