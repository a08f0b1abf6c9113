/**
 * The user's own test suites run against a sandbox, and their results kept in the sandbox stack's
 * state, where a cutover of the production stack looks for them (`cutover/preflight.ts`).
 *
 * - {@link runTestSuite} runs a command with the sandbox's URL, database URL and candidate version in
 *   its environment, streaming its output, and records the run.
 * - {@link recordTestRun} appends a run to the sandbox stack's `switchyard:testRuns` and runs an `up`
 *   targeted at the stack's {@link TestRunLog} (and its root), which records the runs as that
 *   component's outputs in the state and changes no other resource (no restore, no restart).
 * - {@link testRunsFor} reads them back from the state; {@link sandboxStacksOf} finds the sandbox
 *   stacks of a production stack (their `switchyard:sandbox.productionStack`).
 *
 * @example
 * const run = await runTestSuite({ stackName: "local-sandbox" }, { suite: "integration", command: ["npm", "run", "test:integration"] });
 * if (!run.passed) process.exitCode = 1;
 */
import { spawn } from "child_process";
import * as fs from "fs";
import * as YAML from "yaml";
import { LocalWorkspace, Stack } from "@pulumi/pulumi/automation";
import { CONFIG_KEYS } from "../components/types";
import { appendRun, checkSuiteName, checkTestRuns, OUTPUT_TAIL_CHARS, tailOf, TEST_RUN_LOG_NAME, TEST_RUN_LOG_TOKEN, TEST_RUNS_KEY, TestRun } from "../components/testRuns";
import { chooseSandbox, componentsIn } from "./pairs";
import { knownStacks, stackConfigFile } from "./project";
import { openStack, projectEnv, projectOf, StackTarget, stateResources, StateResource, UserError } from "./run";

export { TestRun } from "../components/testRuns";

/** The environment variables a suite gets. */
export const TEST_ENV = {
    /** The sandbox's URL (its app). */
    url: "SWITCHYARD_URL",
    /** The sandbox's database. */
    databaseUrl: "DATABASE_URL",
    /** The candidate version the sandbox runs. */
    version: "SWITCHYARD_VERSION",
    /** The suite's name. */
    suite: "SWITCHYARD_SUITE",
    /** The sandbox stack's name. */
    stack: "SWITCHYARD_STACK",
} as const;

/** The suite name when none is given. */
export const DEFAULT_SUITE = "default";

/** What a suite runs against: read from the sandbox stack's state. */
export interface SandboxTarget {
    /** The sandbox component's name. */
    readonly sandbox: string;
    readonly url: string;
    /** Undefined when the stack's state holds none (an AWS sandbox keeps it secret, unexported). */
    readonly databaseUrl?: string;
    readonly version: string;
}

/** Pure: the candidate version a sandbox runs, from its component's outputs, else its app's (local). */
export function sandboxVersion(resources: readonly StateResource[], sandboxName: string, sandboxType: string): string | undefined {
    const sb = resources.find((r) => r.type === sandboxType && r.name === sandboxName);
    if (typeof sb?.outputs.version === "string") {
        return sb.outputs.version;
    }
    const app = resources.find((r) => r.name === `${sandboxName}-app` && r.urn.includes(`${sandboxType}$`) && typeof r.outputs.version === "string");
    return app?.outputs.version as string | undefined;
}

/** Pure: the runs recorded in a state's {@link TestRunLog} (empty when it has none). */
export function testRunsIn(resources: readonly StateResource[]): TestRun[] {
    const log = resources.find((r) => r.type === TEST_RUN_LOG_TOKEN);
    const runs = log?.outputs.runs;
    return Array.isArray(runs) && checkTestRuns(runs) === undefined ? (runs as TestRun[]) : [];
}

/** Reads what a suite runs against from a sandbox stack; a production stack is refused. */
export async function sandboxTarget(stack: Stack, stackName: string, sandboxName?: string): Promise<SandboxTarget> {
    const resources = await stateResources(stack);
    const sb = chooseSandbox(resources, stackName, "test suites run against a sandbox restored from production, never against production", sandboxName);
    const url = sb.outputs.url;
    if (typeof url !== "string" || url === "") {
        throw new UserError(`sandbox "${sb.name}" of stack "${stackName}" has no url in its state: run \`switchyard up ${stackName}\``);
    }
    const version = sandboxVersion(resources, sb.name, sb.type);
    if (!version) {
        throw new UserError(`sandbox "${sb.name}" of stack "${stackName}" records no candidate version in its state: run \`switchyard up ${stackName}\``);
    }
    let databaseUrl = typeof sb.outputs.databaseUrl === "string" ? sb.outputs.databaseUrl : undefined;
    if (databaseUrl === undefined) {
        const out = (await stack.outputs()).databaseUrl?.value;
        databaseUrl = typeof out === "string" ? out : undefined;
    }
    return { sandbox: sb.name, url, databaseUrl, version };
}

/** Options of {@link runTestSuite}. */
export interface TestSuiteOptions {
    /**
     * The command and its arguments, run with no shell (give `["sh", "-c", "…"]` for one).
     * @example ["npm", "run", "test:e2e"]
     */
    readonly command: readonly string[];
    /** The suite's name, as `switchyard:cutover.requireTests` names it. @default "default" */
    readonly suite?: string;
    /** The sandbox component, when the stack has several. @default the stack's only sandbox */
    readonly sandbox?: string;
    /** Working directory of the command. @default the project folder */
    readonly cwd?: string;
    /** Where the command's stdout goes, as it comes. @default process.stdout */
    readonly onStdout?: (chunk: Buffer) => void;
    /** Where the command's stderr goes, as it comes. @default process.stderr */
    readonly onStderr?: (chunk: Buffer) => void;
    /** Record the run in the stack's state. @default true */
    readonly record?: boolean;
    readonly now?: () => Date;
}

/** Runs a command to its end; its exit code or signal and its output's tail. */
function runCommand(
    command: readonly string[],
    cwd: string,
    env: NodeJS.ProcessEnv,
    onStdout: (c: Buffer) => void,
    onStderr: (c: Buffer) => void,
): Promise<{ code: number | null; signal?: string; tail: string }> {
    return new Promise((resolve, reject) => {
        let tail = "";
        const keep = (c: Buffer) => {
            tail = tailOf(tail + c.toString("utf8"), 4 * OUTPUT_TAIL_CHARS);
        };
        const child = spawn(command[0], command.slice(1), { cwd, env, stdio: ["inherit", "pipe", "pipe"] });
        child.stdout.on("data", (c: Buffer) => {
            keep(c);
            onStdout(c);
        });
        child.stderr.on("data", (c: Buffer) => {
            keep(c);
            onStderr(c);
        });
        child.on("error", (e: NodeJS.ErrnoException) =>
            reject(new UserError(`the test command ${JSON.stringify(command[0])} could not start: ${e.code === "ENOENT" ? "no such program (the command runs with no shell: give `sh -c '…'` for one)" : e.message}`)),
        );
        child.on("close", (code, signal) => resolve({ code, signal: signal ?? undefined, tail: tailOf(tail) }));
    });
}

/**
 * Runs the user's suite against a sandbox stack, with {@link TEST_ENV} set, streaming its output;
 * records the run in the stack's state (unless `record: false`) and returns it.
 */
export async function runTestSuite(target: StackTarget, o: TestSuiteOptions): Promise<TestRun> {
    const suite = o.suite ?? DEFAULT_SUITE;
    const bad = checkSuiteName(suite);
    if (bad) {
        throw new UserError(bad);
    }
    if (!o.command.length || !o.command[0]) {
        throw new UserError(`no test command: give it after \`--\`, e.g. \`switchyard test ${target.stackName} -- npm test\``);
    }
    const stack = await openStack(target);
    const sb = await sandboxTarget(stack, target.stackName, o.sandbox);
    const env: NodeJS.ProcessEnv = {
        ...process.env,
        [TEST_ENV.url]: sb.url,
        [TEST_ENV.version]: sb.version,
        [TEST_ENV.suite]: suite,
        [TEST_ENV.stack]: target.stackName,
        ...(sb.databaseUrl ? { [TEST_ENV.databaseUrl]: sb.databaseUrl } : {}),
    };
    if (!sb.databaseUrl) {
        delete env[TEST_ENV.databaseUrl];
    }
    const now = o.now ?? (() => new Date());
    const started = now();
    const t0 = process.hrtime.bigint();
    const r = await runCommand(
        o.command,
        o.cwd ?? projectOf(target).root,
        env,
        o.onStdout ?? ((c) => process.stdout.write(c)),
        o.onStderr ?? ((c) => process.stderr.write(c)),
    );
    const run: TestRun = {
        suite,
        version: sb.version,
        passed: r.code === 0,
        exitCode: r.code,
        ...(r.signal ? { signal: r.signal } : {}),
        durationMs: Number((process.hrtime.bigint() - t0) / 1_000_000n),
        startedAt: started.toISOString(),
        sandbox: sb.sandbox,
        command: o.command.join(" "),
        outputTail: r.tail,
    };
    if (o.record ?? true) {
        await recordTestRun(target, run, stack);
    }
    return run;
}

function parseRuns(raw: string | undefined, stackName: string): TestRun[] {
    if (raw === undefined) {
        return [];
    }
    let v: unknown;
    try {
        v = JSON.parse(raw);
    } catch {
        throw new UserError(`${TEST_RUNS_KEY} in stack "${stackName}" is not valid JSON: ${raw.slice(0, 200)}`);
    }
    const problem = checkTestRuns(v);
    if (problem) {
        throw new UserError(`stack "${stackName}": ${problem}`);
    }
    return v as TestRun[];
}

/**
 * Appends a run to the sandbox stack's `switchyard:testRuns` and records it in the state: an `up`
 * targeted at the stack's root and its {@link TestRunLog}, so no other resource is touched. Refused
 * (UserError) when the stack's program holds no TestRunLog, so the run did not reach the state.
 * Returns the runs now in the state.
 */
export async function recordTestRun(target: StackTarget, run: TestRun, opened?: Stack): Promise<TestRun[]> {
    const stack = opened ?? (await openStack(target));
    const project = projectOf(target);
    const runs = appendRun(parseRuns((await stack.getAllConfig())[TEST_RUNS_KEY]?.value, target.stackName), run);
    await stack.setConfig(TEST_RUNS_KEY, { value: JSON.stringify(runs) });
    const s = target.stackName;
    const urns = [`urn:pulumi:${s}::${project.name}::pulumi:pulumi:Stack::${project.name}-${s}`, `urn:pulumi:${s}::${project.name}::${TEST_RUN_LOG_TOKEN}::${TEST_RUN_LOG_NAME}`];
    let log = "";
    try {
        await stack.up({ target: urns, onOutput: (t) => (log += t) });
    } catch (e) {
        throw new Error(`recording the test run in stack "${s}" failed: ${(e as Error).message}${log ? `\n${log.slice(-2000)}` : ""}`);
    }
    const recorded = testRunsIn(await stateResources(stack));
    if (!recorded.some((r) => r.startedAt === run.startedAt && r.suite === run.suite && r.version === run.version)) {
        throw new UserError(
            `stack "${s}" did not record the test run in its state: its program holds no TestRunLog (type ${TEST_RUN_LOG_TOKEN}). ` +
                'Add `new TestRunLog()` (from "switchyard") to the sandbox\'s program; the ready-made program has one. ' +
                `The run is kept in the stack's config (${TEST_RUNS_KEY}) meanwhile`,
        );
    }
    return recorded;
}

/** The runs recorded in a stack's state, of one version when given, newest last. */
export async function testRunsFor(target: StackTarget, version?: string): Promise<TestRun[]> {
    const runs = testRunsIn(await stateResources(await openStack(target)));
    return version === undefined ? runs : runs.filter((r) => r.version === version);
}

/**
 * Pure: whether a sandbox's `switchyard:sandbox.productionStack` names the stack `stackName` of
 * project `projectName`: `<stack>`, `<project>/<stack>` or `<org>/<project>/<stack>`.
 */
export function namesProductionStack(productionStack: unknown, projectName: string, stackName: string): boolean {
    if (typeof productionStack !== "string") {
        return false;
    }
    const parts = productionStack.split("/");
    if (parts[parts.length - 1] !== stackName) {
        return false;
    }
    return parts.length === 1 || parts[parts.length - 2] === projectName;
}

/** The `switchyard:sandbox` value of a stack file, or undefined (no engine: the file is read). */
function sandboxConfigOf(file: string): { productionStack?: unknown } | undefined {
    const doc = YAML.parse(fs.readFileSync(file, "utf8")) as { config?: Record<string, unknown> } | null;
    const v = doc?.config?.[CONFIG_KEYS.sandbox];
    return typeof v === "object" && v !== null ? (v as { productionStack?: unknown }) : undefined;
}

/** Pure: whether a state references the production stack (a StackReference naming it). */
export function referencesProduction(resources: readonly StateResource[], projectName: string, stackName: string): boolean {
    return resources.some((r) => r.type === "pulumi:pulumi:StackReference" && namesProductionStack(r.outputs.name, projectName, stackName));
}

/**
 * The sandbox stacks of a production stack: the project's stacks, in the backend, whose
 * `switchyard:sandbox.productionStack` names it, or (a program with keys of its own) whose state
 * holds a sandbox and a StackReference naming it.
 */
export async function sandboxStacksOf(target: StackTarget): Promise<string[]> {
    const project = projectOf(target);
    const ws = await LocalWorkspace.create({ workDir: project.root, envVars: projectEnv(project) });
    const inBackend = new Set((await ws.listStacks()).map((s) => s.name.split("/").pop() as string));
    const out: string[] = [];
    for (const s of knownStacks(project).filter((x) => x !== target.stackName && inBackend.has(x))) {
        const named = sandboxConfigOf(stackConfigFile(project, s))?.productionStack;
        if (named !== undefined) {
            if (namesProductionStack(named, project.name, target.stackName)) out.push(s);
            continue;
        }
        const resources = await stateResources(await openStack({ ...target, stackName: s }));
        if (componentsIn(resources, "sandbox").length > 0 && referencesProduction(resources, project.name, target.stackName)) {
            out.push(s);
        }
    }
    return out;
}

/** Every run recorded in the sandbox stacks of a production stack (found, unless given), each with its stack. */
export async function productionTestRuns(target: StackTarget, sandboxStacks?: readonly string[]): Promise<(TestRun & { readonly stack: string })[]> {
    const out: (TestRun & { stack: string })[] = [];
    for (const s of sandboxStacks ?? (await sandboxStacksOf(target))) {
        const st = await openStack({ ...target, stackName: s });
        out.push(...testRunsIn(await stateResources(st)).map((r) => ({ ...r, stack: s })));
    }
    return out;
}
