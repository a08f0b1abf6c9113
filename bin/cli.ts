/**
 * `switchyard`: a thin shell over the library. Parses arguments, shows progress, maps errors to exit
 * codes. Everything it does is a call into the library (`stack/`, `cutover/`, `rehearsal/`), on the
 * Pulumi project found from the working directory (or `--cwd`), as `pulumi` finds it.
 */
import { Command, Option } from "commander";
import * as run from "../stack/run";
import { snapshotStack } from "../stack/snapshot";
import { runDemo } from "../stack/demo";
import { destroyExpired, listSandboxes } from "../stack/expiry";
import * as cut from "../cutover";
import { runSession, SessionOptions } from "../cutover/session";
import { parseRestoreSnapshot, restore } from "../cutover/restore";
import { webhook, WebhookFormat, WEBHOOK_FORMATS } from "../cutover/listeners";
import { PACKAGE_ROOT } from "../stack/env";
import { formatVerdict, MigrationFailed, rehearse } from "../rehearsal";
import * as opt from "../cutover/options";
import { readPolicyConfigFile } from "../policies/config";
import { formatImpact, impact, ImpactMap } from "../stack/impactRun";
import { maskSandbox } from "../stack/mask";
import { checkSuiteName } from "../components/testRuns";
import { flagsStatus, formatFlagsStatus } from "../stack/flags";
import { UserError } from "../stack/errors";

/** Exit codes: 0 done, 1 the operation failed, 2 bad input or environment. */
const EXIT_FAILED = 1;
const EXIT_USAGE = 2;

/**
 * Engine output, less the notice that the dynamic-provider plugin comes from PATH (by design here),
 * and less JavaScript stack frames: a refused argument or config value is shown by its message.
 */
function display(json: boolean): (s: string) => void {
    if (json) {
        return () => undefined;
    }
    return (s: string) => {
        const kept = s
            .split("\n")
            .filter((l) => !/pulumi-(resource|analyzer)-[a-z-]+ from \$PATH/.test(l) && !/^\s+at .+:\d+:\d+\)?\s*$/.test(l))
            .join("\n");
        process.stdout.write(kept);
    };
}

/** The project folder given with --cwd, else the working directory (the project is found upward). */
let projectDir: string | undefined;

function target(stack: string, json = false): run.StackTarget {
    return { stackName: stack, project: projectDir ?? process.cwd(), onOutput: display(json), onNotice: (s) => process.stderr.write(s) };
}

function packageVersion(): string {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    return (require(require("path").join(PACKAGE_ROOT, "package.json")) as { version: string }).version;
}

async function main(argv: string[]): Promise<void> {
    // `switchyard cutover … | head` must not kill a cutover half-way: a closed stdout is ignored.
    process.stdout.on("error", (e: NodeJS.ErrnoException) => {
        if (e.code !== "EPIPE") throw e;
    });
    const program = new Command()
        .name("switchyard")
        .description(
            "Blue-green environments and sandboxes cloned from production, on Pulumi.\n\n" +
                "It acts on the Pulumi project holding the working directory (the nearest Pulumi.yaml upward, or --cwd), " +
                "runs that project's own program, and honours its stackConfigDir and backend.url. With no backend set, " +
                "state lives in a file backend in .switchyard/state of the project (or PULUMI_BACKEND_URL). " +
                "Exit codes: 0 done, 1 failed or reverted, 2 bad input.",
        )
        .version(packageVersion(), "-V, --version")
        .option("-C, --cwd <dir>", "run in this folder (the project is found from it upward), as `pulumi -C`")
        .hook("preAction", (cmd) => {
            projectDir = (cmd.opts() as { cwd?: string }).cwd;
        })
        .showHelpAfterError()
        .exitOverride();

    program
        .command("up")
        .description("create or update a stack")
        .argument("<stack>", "stack name (stacks/Pulumi.<stack>.yaml)", opt.parseStackName)
        .option("--no-policy", "skip the policy pack")
        .option("--policy-config <file>", "policy config file (JSON), e.g. to make a rule advisory")
        .option("--no-impact", "skip the impact map printed first (a preview of its own)")
        .action(async (stack: string, o: { policy: boolean; policyConfig?: string; impact: boolean }) => {
            const policy = policyOpts(o);
            if (o.impact) {
                process.stdout.write(formatImpact(await impact(target(stack)), { short: true }) + "\n");
            }
            const r = await run.up(target(stack), policy);
            printOutputs(r.outputs);
        });

    program
        .command("impact")
        .description(
            "the impact map of what `up` would change: the change classed (app version, configuration, schema migration pending, " +
                "database engine or major version, infrastructure), the resources it touches (a stateful one replaced or deleted flagged, " +
                "with the property that forced it), the migrations pending, the risk tier (low, medium, high) and the release path it allows",
        )
        .argument("<stack>", "stack name", opt.parseStackName)
        .option("--json", "print the map as JSON")
        .option("--database-url <url>", "the database whose applied migrations are read (default: the databaseUrl in the stack's state)")
        .action(async (stack: string, o: { json?: boolean; databaseUrl?: string }) => {
            const map = await impact(target(stack, true), { databaseUrl: o.databaseUrl });
            process.stdout.write(o.json ? JSON.stringify(map, null, 2) + "\n" : formatImpact(map));
        });

    program
        .command("preview")
        .description("show what `up` would change, with the policy pack unless --no-policy")
        .argument("<stack>", "stack name", opt.parseStackName)
        .option("--no-policy", "skip the policy pack")
        .option("--policy-config <file>", "policy config file (JSON), e.g. to make a rule advisory")
        .action(async (stack: string, o: { policy: boolean; policyConfig?: string }) => {
            await run.preview(target(stack), policyOpts(o));
        });

    program
        .command("destroy")
        .description("delete every resource of a stack: processes stopped, data directories removed")
        .argument("<stack>", "stack name", opt.parseStackName)
        .action(async (stack: string) => {
            await run.destroy(target(stack));
        });

    program
        .command("refresh")
        .description("read the real state of a stack's resources (notices a stopped process)")
        .argument("<stack>", "stack name", opt.parseStackName)
        .action(async (stack: string) => {
            await run.refresh(target(stack));
        });

    program
        .command("outputs")
        .description("print a stack's outputs")
        .argument("<stack>", "stack name", opt.parseStackName)
        .option("--json", "print JSON")
        .action(async (stack: string, o: { json?: boolean }) => {
            const out = await run.outputs(target(stack, true));
            if (o.json) {
                process.stdout.write(JSON.stringify(Object.fromEntries(Object.entries(out).map(([k, v]) => [k, v.secret ? "[secret]" : v.value])), null, 2) + "\n");
            } else {
                printOutputs(out);
            }
        });

    program
        .command("snapshot")
        .description("take a consistent snapshot of a local stack's database without stopping it (a backup before release)")
        .argument("<stack>", "a local blue-green stack", opt.parseStackName)
        .addOption(new Option("--name <name>", "snapshot name: letters, digits, '-', '_' and '.' (not first); not \"latest\" (default: <stack>-<UTC time>)").argParser((v) => opt.parseSnapshotName(v)))
        .action(async (stack: string, o: { name?: string; pair?: string }) => {
            const meta = await snapshotStack(target(stack, true), { name: o.name, pair: o.pair });
            process.stdout.write(
                `snapshot ${meta.name}: ${(meta.sizeBytes / 1048576).toFixed(1)} MiB by ${meta.method} in ${meta.durationMs} ms\n  ${meta.dir}\n`,
            );
        });

    program
        .command("restore")
        .description(
            "bring a stack's database back from a backup snapshot (when data, not code, went wrong); a snapshot of the current data is taken first. " +
                "Local: the snapshot is thin-cloned into place. AWS: a new instance from the RDS snapshot beside the old one, the apps pointed at it, through the stack (switchyard:database.restoreFrom and up)",
        )
        .argument("<stack>", "a blue-green stack (local or AWS)", opt.parseStackName)
        .addOption(new Option("--snapshot <name>", "the snapshot to restore: a local one (see `switchyard snapshot`), or an RDS snapshot identifier or ARN on AWS").argParser((v) => parseRestoreSnapshot(v, "--snapshot")).makeOptionMandatory())
        .option("--yes", "go ahead: the database's data is replaced by the snapshot's (without it nothing changes)")
        .addOption(new Option("--webhook <url>", "POST each stage (started, snapshot, restored, failed) to this http:// or https:// URL; a failed delivery never stops the restore").argParser((v) => opt.parseWebhookUrl(v)))
        .addOption(new Option("--webhook-format <format>", "the webhook's body: json ({ stack, event }) or slack ({ text }, for Slack-compatible incoming webhooks)").choices([...WEBHOOK_FORMATS]).default("json"))
        .action(async (stack: string, o: { snapshot: string; yes?: boolean; pair?: string; webhook?: string; webhookFormat?: WebhookFormat }) => {
            const hook = o.webhook ? webhook(o.webhook, { stack, format: o.webhookFormat, onError: (m) => process.stderr.write(`switchyard: ${m}\n`) }) : undefined;
            try {
                const r = await restore(target(stack, true), {
                    snapshot: o.snapshot,
                    confirm: o.yes === true,
                    pair: o.pair,
                    onProgress: (l) => process.stderr.write(`switchyard: ${l}\n`),
                    ...(hook ? { onEvent: hook.onEvent } : {}),
                });
                const how = r.platform === "aws" ? `database ${r.database} serves; ${r.replaced} is kept, protected, until you remove it` : `database down ${r.downtimeMs} ms`;
                process.stdout.write(`restored ${r.snapshot} into stack ${r.stack} (${how}); the data from before is snapshot ${r.preRestore}\n`);
            } finally {
                await hook?.close();
            }
        });

    program
        .command("sandboxes")
        .description("list the sandboxes in the backend with their expiry; --destroy-expired removes the ones past it")
        .option("--destroy-expired", "destroy every sandbox whose expiry has passed (or that has none)")
        .option("--json", "print JSON")
        .action(async (o: { destroyExpired?: boolean; json?: boolean }) => {
            const quiet = () => undefined;
            if (o.destroyExpired) {
                const gone = await destroyExpired({
                    onOutput: quiet,
                    onDestroyed: (stack, e) =>
                        e ? process.stderr.write(`switchyard: destroying expired sandbox ${stack} failed: ${e.message.split("\n")[0]}\n`) : process.stdout.write(`destroyed expired sandbox ${stack}\n`),
                });
                if (gone.length === 0) process.stdout.write("no expired sandbox\n");
                return;
            }
            const list = await listSandboxes({ onOutput: quiet });
            if (o.json) {
                process.stdout.write(JSON.stringify(list, null, 2) + "\n");
                return;
            }
            if (list.length === 0) {
                process.stdout.write("no sandbox is up\n");
            }
            for (const s of list) {
                const left = s.remainingMs === undefined ? "" : s.expired ? ` (${Math.round(-s.remainingMs / 60000)} min ago)` : ` (in ${(s.remainingMs / 3600000).toFixed(1)} h)`;
                process.stdout.write(`${s.stack.padEnd(24)} ${s.expired ? "EXPIRED" : "live   "} ${s.expiresAt ?? "no expiry"}${left}\n`);
            }
        });

    program
        .command("setup")
        .description(
            "install what the engine needs, idempotently: the Pulumi CLI unless a compatible one is installed (built and cached), " +
                "PostgreSQL and HAProxy (Debian packages, as root). Exit codes: 0 ready, 1 a package is missing, " +
                "3 no Go toolchain to build the CLI, 4 the CLI build failed",
        )
        .action(async () => {
            const { setup } = await import("../stack/setup");
            const r = await setup();
            process.exitCode = r.exitCode;
        });

    program
        .command("demo")
        .description("the local demo: a blue-green pair, a sandbox cloned from it, a migration rehearsal, two cutovers under load, and a replicated pair's switchover and revert under writes (rows lost and duplicated counted)")
        .option("--down", "tear the demo down: destroy the sandbox, the replicated pair and the pair")
        .addOption(new Option("--requests <n>", "requests sent through the router to show the split").default(200).argParser(opt.numberParser("--requests")))
        .action(async (o: { down?: boolean; requests: number }) => {
            await runDemo({ down: Boolean(o.down), requests: o.requests, onOutput: display(false), project: projectDir ?? PACKAGE_ROOT });
        });

    program
        .command("cutover")
        .description(
            "move traffic to the idle color step by step behind health gates; revert at once when a gate fails.\n" +
                "Each step goes into the stack's config (switchyard:traffic) and through `up`, and is read back from the router.\n" +
                "The impact map is shown first (`switchyard impact`): a medium-risk change may not go all at once, a high-risk one needs " +
                "switchyard:cutover.minSteps steps (default 4) and passing runs of this version of the suite `rehearsal` and of the required suites.",
        )
        .argument("<stack>", "a blue-green stack that is up", opt.parseStackName)
        .addOption(new Option("--to <color>", "the color to move traffic to (default: the idle one)").choices(["blue", "green"]))
        .addOption(
            new Option(
                "--steps <list|preset>",
                `weights of the new color: whole percents from 1 to 100, strictly rising, ending at 100, comma-separated with no spaces (e.g. 10,25,50,100; at most ${opt.MAX_STEPS}), ` +
                    `or a preset: ${Object.keys(cut.PRESETS).join(", ")} (default: switchyard:cutover.steps, else linear-25; 100 for database mode replicated or rds-blue-green, which refuse any split: one switchover step; ` +
                    "rds-blue-green's RDS SwitchoverTimeout is switchyard:cutover.switchoverTimeout, default 300 s, and a revert after it moves the listener only: RDS has no switchback). " +
                    `Flag steps go among them: flag:<name>=internal or flag:<name>=<percent>, a flag of switchyard:flags, its stages rising ` +
                    `(e.g. flag:new-checkout=internal,flag:new-checkout=10,flag:new-checkout=50,100); each is set at once, read back, recorded through up, ` +
                    `and judged on the requests served with the flag on; a revert turns the flags off first`,
            ).argParser((v) => opt.parseStepsFlag(v)),
        )
        .addOption(new Option("--max-step <n>", opt.flagHelp("--max-step", "largest jump between two steps")).argParser(opt.numberParser("--max-step")))
        .option("--no-pretest", "skip the probe of the new color through the test listener")
        .option("--no-backup", "skip the database snapshot before the first step")
        .addOption(
            new Option(
                "--pause-at <list>",
                "weights of the new color to stop at once their gate passes, e.g. 50 or 25,50: steps of the plan below 100, rising, comma-separated with no spaces (a bake with the old color warm); `resume` goes on",
            ).argParser((v) => opt.parsePauseAtFlag(v)),
        )
        .option(
            "--migrate",
            "a migrate step after the backup, before the first weight: `<switchyard:migrations.command> up` against the stack's database. " +
                "A revert before the plan's point of no return (the first step with live traffic on the new color, when a pending migration's down drops a table or a column) " +
                "runs `<command> down <n>` once traffic is back and checks the bookkeeping table; from that step on a revert moves traffic only, and says why",
        )
        .option("--dry-run", "print the plan (pretest, backup, migrate, steps, the point of no return) and change nothing")
        .option("--force", "start outside the stack's rollout windows (switchyard:cutover.window, e.g. \"Sat 02:00-05:00 UTC\"); without it such a cutover is refused, naming the next window; a forced one runs to its end, with no pause when a window closes")
        .addOption(
            new Option(
                "--watch <duration>",
                "after 100%, keep judging the new color window after window for this long (e.g. 30m, 24h), the old color warm; a breach reverts at once " +
                    "(default: switchyard:cutover.watch, else none). The old color is scaled down switchyard:cutover.keepWarm (default 1h) after the watch ends: `switchyard scale-down`",
            ).argParser(parseWatch),
        )
        .action(async (stack: string, o: GateFlags & OutputFlags & { to?: cut.Color; steps?: number[] | string; maxStep?: number; pretest: boolean; backup: boolean; pauseAt?: number[]; migrate?: boolean; dryRun?: boolean; force?: boolean; watch?: string }) => {
            opt.checkCutoverFlags(o);
            const req = { to: o.to, steps: o.steps, maxStep: o.maxStep, gate: gateOf(o), pretest: o.pretest, backup: o.backup, pauseAt: o.pauseAt };
            cut.validateRequest({ stackName: stack }, req);
            if (o.dryRun) {
                const plan = await cut.planCutover(target(stack, !o.verbose), req, { migrate: o.migrate, watch: o.watch });
                process.stdout.write(o.json ? JSON.stringify({ plan }) + "\n" : cut.formatPlan(plan));
                return;
            }
            // The impact map first (a JSON line `{"impact": …}` with --json); its tier may refuse the plan.
            const onMap = (m: ImpactMap) => process.stdout.write(o.json ? JSON.stringify({ impact: m }) + "\n" : formatImpact(m, { short: true }) + "\n");
            await withOutputs(stack, o, "promoted", (drive) => cut.cutover(target(stack, !o.verbose), req, { ...drive, impact: { onMap }, migrate: o.migrate, force: o.force, watch: o.watch }));
        });

    program
        .command("resume")
        .description("pick up an interrupted cutover at the step it stood at")
        .argument("<stack>", "a blue-green stack with an unfinished cutover", opt.parseStackName)
        .option("--force", "go on with the steps outside the stack's rollout windows (switchyard:cutover.window), to the end, with no pause when a window closes")
        .action(async (stack: string, o: GateFlags & OutputFlags & { force?: boolean }) => {
            await withOutputs(stack, o, "promoted", (drive) => cut.resume(target(stack, !o.verbose), gateOf(o), { ...drive, force: o.force }));
        });

    program
        .command("scale-down")
        .description(
            "scale the old color of the last promoted cutover down through the stack once its keep-warm time (switchyard:cutover.keepWarm, default 1h, after the watch) is over: " +
                "locally its app process stopped, on AWS its ECS service's desired count set to 0. Refused, naming why, when none is due (run it from a scheduler). " +
                "`switchyard revert` brings it back up first",
        )
        .argument("<stack>", "a blue-green stack", opt.parseStackName)
        .action(async (stack: string, o: OutputFlags) => {
            await withOutputs(stack, o, "promoted", (drive) => cut.scaleDown(target(stack, !o.verbose), drive));
        });

    program
        .command("revert")
        .description("send all traffic back to the color that was live before the last cutover, at once, and read it back")
        .argument("<stack>", "a blue-green stack", opt.parseStackName)
        .action(async (stack: string, o: OutputFlags) => {
            await withOutputs(stack, o, "reverted", (drive) => cut.revert(target(stack, !o.verbose), drive));
        });

    program
        .command("status")
        .description(
            "the weights in stack state, the weights the router serves, each flag's stage in config, state and served file, the last cutover's checkpoint,\n" +
                "and for a replicated pair the replication's direction (blue → green, green → blue, or none/both after a cut-short switchover), its lag and each color's write gate",
        )
        .argument("<stack>", "a blue-green stack", opt.parseStackName)
        .option("--json", "print JSON")
        .action(async (stack: string, o: { json?: boolean; pair?: string }) => {
            const s = await cut.status(target(stack, true), { pair: o.pair });
            if (o.json) {
                process.stdout.write(JSON.stringify(s, null, 2) + "\n");
                return;
            }
            const cp = s.checkpoint;
            process.stdout.write(
                [
                    `pair:             ${s.pair} (${s.platform})`,
                    `weights (state):  ${cut.formatWeights(s.weightsInState)}`,
                    `weights (config): ${s.weightsInConfig ? cut.formatWeights(s.weightsInConfig) : "given by the program"}`,
                    `weights (served): ${cut.formatWeights(s.weightsServed)}`,
                    `intent:           ${s.intent ? `${s.intent.action}${s.intent.weights ? ` to ${cut.formatWeights(s.intent.weights)}` : ""} (cutover ${s.intent.id}, ${s.intent.at}), not finished` : "none pending"}`,
                    ...(s.flags ?? []).map((f) => `${`flag ${f.name}:`.padEnd(17)} ${cut.formatFlagPlaces(f)}`),
                    ...(s.flagsUnread ? [`flags:            could not be read (${s.flagsUnread})`] : []),
                    ...(s.replication ? cut.formatReplication(s.replication) : []),
                    ...(s.replicationUnread ? [`replication:      could not be read (${s.replicationUnread})`] : []),
                    ...s.disagreements.map((d) => `DISAGREES: ${d}`),
                    ...(cut.describeWatch(cp, new Date()) ? [`watch:            ${cut.describeWatch(cp, new Date())}`] : []),
                    cp
                        ? `last cutover:    ${cp.id} ${cp.from} → ${cp.to}, ${cp.phase} at step ${cp.step + 1}/${cp.steps.length} (${cut.formatSteps(cp)})` +
                          `${cp.reason ? `\n  reason: ${cp.reason}` : ""}${cp.backup ? `\n  backup: ${cp.backup}` : ""}${cp.migrate ? `\n  migrations: ${cut.describeMigration(cp)}` : ""}\n  updated ${cp.updatedAt}`
                        : "last cutover:    none",
                    "",
                ].join("\n"),
            );
        });

    program
        .command("mask")
        .description(
            "mask a local sandbox's database again with the rules its last up applied (switchyard:masking), e.g. after a manual restore;\n" +
                "its own salt, so hashed values stay as they were. Never on production.",
        )
        .argument("<stack>", "a local sandbox stack that is up", opt.parseStackName)
        .option("--sandbox <name>", "the sandbox to mask, when the stack has several (its name in the program)")
        .option("--json", "print the tables masked as JSON")
        .action(async (stack: string, o: { sandbox?: string; json?: boolean }) => {
            const r = await maskSandbox(target(stack, true), { sandbox: o.sandbox, onProgress: o.json ? undefined : (l) => process.stdout.write(`${l}\n`) });
            process.stdout.write(o.json ? `${JSON.stringify(r, null, 2)}\n` : `masked ${r.tables.length} table(s) of sandbox ${r.sandbox} in ${r.durationMs} ms\n`);
        });

    program
        .command("flags")
        .description("each feature flag's rollout as the stack's config, its state and the served flagd file hold it, and (local) as each color's app serves it")
        .argument("<stack>", "a stack with switchyard:flags", opt.parseStackName)
        .option("--sample <n>", "users each color's app evaluates the flags for, 0 to ask no app (a whole number from 0 to 100000; default 1000)", (t: string) => {
            if (!/^(0|[1-9]\d{0,5})$/.test(t) || Number(t) > 100_000) throw new UserError(`--sample is ${JSON.stringify(t)}: give a whole number from 0 to 100000`);
            return Number(t);
        })
        .option("--json", "print JSON")
        .action(async (stack: string, o: { sample?: number; json?: boolean }) => {
            const s = await flagsStatus(target(stack, true), { sample: o.sample });
            process.stdout.write(o.json ? JSON.stringify(s, null, 2) + "\n" : formatFlagsStatus(s));
        });

    program
        .command("rehearse")
        .description(
            "rehearse the migrations on a sandbox's copy of production data: forward, back and forward again,\n" +
                "with a fingerprint of every table after each phase and amcheck on every index. Never on production.\n" +
                "Each migration's SQL is linted (NOT NULL without default, index without CONCURRENTLY, type change, " +
                "rename, constraint without NOT VALID, no lock_timeout: each named with its fix), and its run time and " +
                "table locks are measured while it runs forward: the expected cost in production.\n" +
                "When the production pair is in database mode replicated (or with --replicated), the SQL must also be additive for " +
                "replication, as it runs on green alone while blue's writes replicate to it: a drop, rename, type change, NOT NULL " +
                "without default, SET NOT NULL, new unique or check constraint, TRUNCATE or data change on a replicated table fails it, named.",
        )
        .argument("<stack>", "a sandbox stack that is up", opt.parseStackName)
        .option("--command <cmd>", "migration command: `<cmd> up` and `<cmd> down <n>` (default: switchyard:migrations.command)")
        .addOption(new Option("--last <n>", opt.flagHelp("--last", "rehearse the last n applied migrations as if new (default: the pending ones)")).argParser(opt.numberParser("--last")))
        .option("--table <name>", "the tool's bookkeeping table (default: schema_migrations)")
        .option("--migrations-dir <dir>", "folder of the migrations' .sql files, to lint (default: switchyard:migrations.dir, else migrations/ beside the command's script)")
        .option("--database-url <url>", "the database (default: the sandbox's databaseUrl output)")
        .option("--json", "print the verdict and fingerprints as JSON")
        .option("--no-record", "do not record the rehearsal in the sandbox's state (a test run of the suite `rehearsal`, which a high-risk cutover of the version requires)")
        .option("--replicated", "check the SQL is additive for replication even when the production pair is not in database mode replicated (default: when it is)")
        .action(async (stack: string, o: { command?: string; last?: number; table?: string; migrationsDir?: string; databaseUrl?: string; json?: boolean; record: boolean; replicated?: boolean }) => {
            try {
                const r = await rehearse(target(stack, true), {
                    record: o.record,
                    command: o.command,
                    last: o.last,
                    table: o.table,
                    dir: o.migrationsDir,
                    databaseUrl: o.databaseUrl,
                    ...(o.replicated ? { replicated: true } : {}),
                    onProgress: o.json ? undefined : (l) => process.stdout.write(`${l}\n`),
                });
                process.stdout.write((o.json ? JSON.stringify(r, null, 2) : formatVerdict(r.verdict)) + "\n");
                if (!r.verdict.ok) {
                    process.exitCode = EXIT_FAILED;
                }
            } catch (e) {
                if (e instanceof MigrationFailed) {
                    process.stderr.write(`switchyard: rehearsal failed: ${e.message}\n`);
                    process.exitCode = EXIT_FAILED;
                    return;
                }
                throw e;
            }
        });

    program
        .command("test")
        .description(
            "run your own test suite against a sandbox and record the result (suite, version, pass/fail, duration, the output's tail) in its stack's state.\n" +
                "The command gets SWITCHYARD_URL (the sandbox's app), DATABASE_URL (its database), SWITCHYARD_VERSION (the candidate), SWITCHYARD_SUITE and SWITCHYARD_STACK; " +
                "it runs with no shell (use `-- sh -c '...'` for one). A production stack's switchyard:cutover.requireTests names the suites a cutover of a version needs a passing run of. " +
                "Exit codes: the command's own (0 passed), 2 bad input",
        )
        .argument("<stack>", "a sandbox stack that is up", opt.parseStackName)
        .argument("<command...>", "the suite's command and its arguments, after --")
        .addOption(new Option("--suite <name>", "the suite's name, as switchyard:cutover.requireTests names it").default("default").argParser((v) => parseSuite(v)))
        .option("--sandbox <name>", "the sandbox to test, when the stack has several (its name in the program)")
        .option("--json", "print the recorded run as JSON at the end")
        .action(async (stack: string, command: string[], o: { suite: string; sandbox?: string; json?: boolean }) => {
            const { runTestSuite } = await import("../stack/testRuns");
            const r = await runTestSuite(target(stack, true), { command, suite: o.suite, sandbox: o.sandbox });
            process.stderr.write(
                `switchyard: suite ${r.suite} ${r.passed ? "passed" : "FAILED"} on ${r.version} (${r.signal ?? `exit ${r.exitCode}`}, ${(r.durationMs / 1000).toFixed(1)} s), recorded in stack ${stack}\n`,
            );
            if (o.json) {
                process.stdout.write(JSON.stringify(r, null, 2) + "\n");
            }
            process.exitCode = r.exitCode ?? EXIT_FAILED;
        });

    for (const name of ["cutover", "resume"]) {
        addGateOptions(program.commands.find((c) => c.name() === name) as Command);
    }
    for (const name of ["cutover", "resume", "revert", "scale-down"]) {
        addOutputOptions(program.commands.find((c) => c.name() === name) as Command);
    }
    for (const name of ["cutover", "resume", "revert", "status", "snapshot", "restore", "scale-down"]) {
        (program.commands.find((c) => c.name() === name) as Command).option("--pair <name>", "the blue-green pair to act on, when the stack has several (its name in the program)");
    }

    await program.parseAsync(argv);
}

/** `--watch`: a duration, checked once here (exit 2 naming the value). */
function parseWatch(v: string): string {
    const r = cut.parseDuration(v, "--watch");
    if (typeof r === "string") {
        throw new run.UserError(r);
    }
    return v;
}

/** `--suite`: a suite name, checked once here (exit 2 naming the value). */
function parseSuite(v: string): string {
    const problem = checkSuiteName(v);
    if (problem) {
        throw new run.UserError(problem);
    }
    return v;
}

interface GateFlags {
    interval?: number;
    minSuccess?: number;
    maxLatency?: number;
    latencyPercentile?: number;
    minRequests?: number;
    failureLimit?: number;
    windows?: number;
    json?: boolean;
    verbose?: boolean;
}

function addGateOptions(c: Command): void {
    const flag = (flags: string, name: opt.NumberFlag, purpose: string) => new Option(flags, opt.flagHelp(name, purpose)).argParser(opt.numberParser(name));
    c.addOption(flag("--interval <seconds>", "--interval", "length of one observation window (default 5; 60 on AWS)"))
        .addOption(flag("--min-success <percent>", "--min-success", "lowest success rate of the new color per window (default 99)"))
        .addOption(flag("--max-latency <ms>", "--max-latency", "highest latency at the gate's percentile per window (default 500)"))
        .addOption(flag("--latency-percentile <p>", "--latency-percentile", "the percentile held to --max-latency (default 99; the mean where the platform measures no percentile)"))
        .addOption(flag("--min-requests <n>", "--min-requests", "fewest requests for a window to count (default 20; 0 judges on health alone)"))
        .addOption(flag("--failure-limit <n>", "--failure-limit", "failed windows at one step before the revert (default 1)"))
        .addOption(flag("--windows <n>", "--windows", "passing windows needed at each step (default 1)"))
        .addOption(flag("--load <clients>", "--load", "send synthetic traffic through the stack's url during the cutover (for a stack with no real traffic yet)"));
}

interface OutputFlags {
    load?: number;
    json?: boolean;
    verbose?: boolean;
    webhook?: string;
    webhookFormat?: WebhookFormat;
    report?: string;
}

function addOutputOptions(c: Command): void {
    c.option("--json", "print events as JSON lines")
        .option("--verbose", "show the engine's output for each step")
        .addOption(
            new Option("--webhook <url>", "POST every event as JSON ({ stack, event }) to this http:// or https:// URL; a failed delivery never stops the cutover").argParser((v) =>
                opt.parseWebhookUrl(v),
            ),
        )
        .addOption(new Option("--webhook-format <format>", "the webhook's body: json ({ stack, event }) or slack ({ text }, for Slack-compatible incoming webhooks)").choices([...WEBHOOK_FORMATS]).default("json"))
        .addOption(
            new Option("--report <file>", "write a report at the end: a .html file is a self-contained page with a timeline chart and the verdicts, a .json file every event and the final checkpoint (its folder must exist and be writable)").argParser((v) =>
                opt.parseReportPath(v),
            ),
        );
}

function gateOf(o: GateFlags): Partial<cut.GateSpec> {
    return {
        intervalMs: o.interval === undefined ? undefined : Math.round(o.interval * 1000),
        minSuccessRate: o.minSuccess === undefined ? undefined : o.minSuccess / 100,
        maxLatencyMs: o.maxLatency,
        latencyPercentile: o.latencyPercentile,
        minRequests: o.minRequests,
        failureLimit: o.failureLimit,
        windowsPerStep: o.windows,
    };
}

/** Runs a cutover command through the library's session (listeners, Ctrl-C, load); sets the exit code. */
async function withOutputs(
    stack: string,
    o: OutputFlags & { pair?: string },
    hoped: cut.Phase,
    fn: (drive: { onEvent: (e: cut.CutoverEvent) => void; signal: AbortSignal; pair?: string }) => Promise<cut.Checkpoint>,
): Promise<void> {
    const opts: SessionOptions = { json: o.json, webhook: o.webhook, webhookFormat: o.webhookFormat, report: o.report, load: o.load, pair: o.pair };
    const r = await runSession(target(stack, true), opts, hoped, fn);
    if (!r.ok) {
        process.stderr.write(`switchyard: cutover ${r.checkpoint.phase}${r.checkpoint.reason ? `: ${r.checkpoint.reason}` : ""}\n`);
        process.exitCode = EXIT_FAILED;
    }
}

/** The policy pack options, the config file checked against the pack first (exit 2 on a bad one). */
function policyOpts(o: { policy: boolean; policyConfig?: string }): run.PreviewOptions {
    if (o.policyConfig !== undefined) {
        if (!o.policy) {
            throw new run.UserError(`--policy-config ${o.policyConfig} is given with --no-policy, which runs no policy: drop one of them`);
        }
        readPolicyConfigFile(o.policyConfig);
    }
    return o.policy
        ? { policyPacks: [run.defaultPolicyPack()], policyPackConfigs: o.policyConfig ? [o.policyConfig] : undefined }
        : {};
}

function printOutputs(out: Record<string, { value: unknown; secret: boolean }>): void {
    const keys = Object.keys(out).sort();
    if (keys.length === 0) {
        return;
    }
    process.stdout.write("\nOutputs:\n");
    for (const k of keys) {
        const v = out[k].secret ? "[secret]" : out[k].value;
        process.stdout.write(`  ${k}: ${typeof v === "string" ? v : JSON.stringify(v)}\n`);
    }
}

/** Runs the CLI on argv (as process.argv: node, script, args…); resolves with the exit code. */
export async function runCli(argv: string[]): Promise<number> {
    process.exitCode = undefined;
    try {
        await main(argv);
        return Number(process.exitCode ?? 0);
    } catch (e) {
        return exitCodeOf(e);
    }
}

/** Prints an error the way the CLI does and returns its exit code. */
function exitCodeOf(e: unknown): number {
    const err = e as Error & { code?: string; exitCode?: number };
    if (err.code?.startsWith("commander.")) {
        return err.code === "commander.helpDisplayed" || err.code === "commander.version" ? 0 : EXIT_USAGE;
    }
    const refused = err instanceof run.UserError ? err : err instanceof Error ? run.refusal(err) : undefined;
    if (refused) {
        process.stderr.write(`switchyard: ${refused.message}\n`);
        return EXIT_USAGE;
    }
    // Engine failures: their diagnostics were already shown as progress; print the gist.
    const msg = String(err.message ?? err);
    const diag = msg.split("\n").filter((l) => /error:|violation|mandatory/i.test(l));
    process.stderr.write(`switchyard: failed${diag.length ? ":\n  " + [...new Set(diag)].slice(0, 12).join("\n  ") : `: ${msg}`}\n`);
    if (/no resource plugin 'pulumi-resource-aws'/.test(msg)) {
        process.stderr.write(
            "switchyard: AWS stacks need the AWS provider plugin, which Pulumi installs on first use with network access\n" +
                "  (`pulumi plugin install resource aws 7.48.0`), and AWS credentials. See the README, 'What is real and what is mocked'.\n",
        );
    }
    return EXIT_FAILED;
}

if (require.main === module) {
    void runCli(process.argv).then((code) => process.exit(code));
}
