/**
 * `switchyard`: a thin shell over the library. Parses arguments, shows progress, maps errors to exit
 * codes. Everything it does is a call into `stack/`.
 */
import { Command, Option } from "commander";
import * as run from "../stack/run";
import { snapshotStack } from "../stack/snapshot";
import { runDemo } from "../stack/demo";

/** Exit codes: 0 done, 1 the operation failed, 2 bad input or environment. */
const EXIT_FAILED = 1;
const EXIT_USAGE = 2;

/** Engine output, less the notice that the dynamic-provider plugin comes from PATH (by design here). */
function display(json: boolean): (s: string) => void {
    if (json) {
        return () => undefined;
    }
    return (s: string) => {
        const kept = s
            .split("\n")
            .filter((l) => !/pulumi-(resource|analyzer)-[a-z-]+ from \$PATH/.test(l))
            .join("\n");
        process.stdout.write(kept);
    };
}

function target(stack: string, json = false): run.StackTarget {
    return { stackName: stack, onOutput: display(json) };
}

async function main(argv: string[]): Promise<void> {
    const program = new Command()
        .name("switchyard")
        .description(
            "Blue-green environments and sandboxes cloned from production, on Pulumi.\n" +
                "Stacks are the files stacks/Pulumi.<stack>.yaml; state lives in the local file backend\n" +
                "(.switchyard/state, or PULUMI_BACKEND_URL).",
        )
        .showHelpAfterError()
        .exitOverride();

    program
        .command("up")
        .description("create or update a stack")
        .argument("<stack>", "stack name (stacks/Pulumi.<stack>.yaml)")
        .option("--no-policy", "skip the policy pack")
        .option("--policy-config <file>", "policy config file (JSON), e.g. to make a rule advisory")
        .action(async (stack: string, o: { policy: boolean; policyConfig?: string }) => {
            const r = await run.up(target(stack), policyOpts(o));
            printOutputs(r.outputs);
        });

    program
        .command("preview")
        .description("show what `up` would change, with the policy pack unless --no-policy")
        .argument("<stack>", "stack name")
        .option("--no-policy", "skip the policy pack")
        .option("--policy-config <file>", "policy config file (JSON), e.g. to make a rule advisory")
        .action(async (stack: string, o: { policy: boolean; policyConfig?: string }) => {
            await run.preview(target(stack), policyOpts(o));
        });

    program
        .command("destroy")
        .description("delete every resource of a stack: processes stopped, data directories removed")
        .argument("<stack>", "stack name")
        .action(async (stack: string) => {
            await run.destroy(target(stack));
        });

    program
        .command("refresh")
        .description("read the real state of a stack's resources (notices a stopped process)")
        .argument("<stack>", "stack name")
        .action(async (stack: string) => {
            await run.refresh(target(stack));
        });

    program
        .command("outputs")
        .description("print a stack's outputs")
        .argument("<stack>", "stack name")
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
        .argument("<stack>", "a local blue-green stack")
        .option("--name <name>", "snapshot name (default: <stack>-<UTC time>)")
        .action(async (stack: string, o: { name?: string }) => {
            const meta = await snapshotStack(target(stack, true), { name: o.name });
            process.stdout.write(
                `snapshot ${meta.name}: ${(meta.sizeBytes / 1048576).toFixed(1)} MiB by ${meta.method} in ${meta.durationMs} ms\n  ${meta.dir}\n`,
            );
        });

    program
        .command("demo")
        .description("bring up the local blue-green pair and a sandbox cloned from it, and show where to reach them")
        .option("--down", "tear the demo down: destroy the sandbox and the pair")
        .addOption(new Option("--requests <n>", "requests sent through the router to show the split").default(200).argParser(Number))
        .action(async (o: { down?: boolean; requests: number }) => {
            await runDemo({ down: Boolean(o.down), requests: o.requests, onOutput: display(false) });
        });

    await program.parseAsync(argv);
}

function policyOpts(o: { policy: boolean; policyConfig?: string }): run.PreviewOptions {
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

main(process.argv).catch((e: unknown) => {
    const err = e as Error & { code?: string; exitCode?: number };
    if (err.code?.startsWith("commander.")) {
        process.exit(err.code === "commander.helpDisplayed" || err.code === "commander.version" ? 0 : EXIT_USAGE);
    }
    if (err instanceof run.UserError) {
        process.stderr.write(`switchyard: ${err.message}\n`);
        process.exit(EXIT_USAGE);
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
    process.exit(EXIT_FAILED);
});
