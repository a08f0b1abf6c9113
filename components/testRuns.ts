/**
 * The user's test suites as a release gate: the vocabulary both platforms share. A run of a suite
 * against a sandbox (`switchyard test`) is a {@link TestRun}; the sandbox stack keeps its runs in
 * its configuration (`switchyard:testRuns`) and records them in its state through a
 * {@link TestRunLog}, a component every sandbox program holds (the ready-made one does). A cutover
 * of a production stack reads them there (`switchyard:cutover.requireTests`).
 *
 * Pure, but for the component.
 */
import * as pulumi from "@pulumi/pulumi";
import { CONFIG_KEYS, CONFIG_NAMESPACE, configName } from "./types";
import { rolloutSettings } from "../cutover/watch";

/** `switchyard:testRuns`: the runs of a sandbox stack, newest last (written by `switchyard test`). */
export const TEST_RUNS_KEY = CONFIG_KEYS.testRuns;

/** Type token of the component that records a stack's test runs in its state. */
export const TEST_RUN_LOG_TOKEN = "switchyard:index:TestRunLog";

/** The one name of a stack's {@link TestRunLog}: `switchyard test` targets it by URN. */
export const TEST_RUN_LOG_NAME = "switchyard-test-runs";

/** Runs a stack keeps: the oldest go first. */
export const MAX_TEST_RUNS = 50;

/** Characters of a run's output kept (its end). */
export const OUTPUT_TAIL_CHARS = 2000;

/** One run of a user's suite against a sandbox. */
export interface TestRun {
    /** The suite's name, e.g. "integration". */
    readonly suite: string;
    /** The candidate version the sandbox ran. */
    readonly version: string;
    /** Whether the command exited 0. */
    readonly passed: boolean;
    /** The command's exit code (null when a signal ended it). */
    readonly exitCode: number | null;
    /** The signal that ended it, if one did. */
    readonly signal?: string;
    readonly durationMs: number;
    /** When the run started (ISO 8601, UTC). */
    readonly startedAt: string;
    /** The sandbox component it ran against. */
    readonly sandbox: string;
    /** The command, as given. */
    readonly command: string;
    /** The end of its output (stdout and stderr interleaved), at most {@link OUTPUT_TAIL_CHARS}. */
    readonly outputTail: string;
}

/** A suite name: letters, digits, '-', '_', '.', ':' and '/', 1 to 64 characters, not starting with a symbol. */
const SUITE_NAME = /^[A-Za-z0-9][A-Za-z0-9._:/-]{0,63}$/;

/** Checks a suite name; a message naming the value, or undefined. */
export function checkSuiteName(name: unknown, key = "--suite"): string | undefined {
    return typeof name === "string" && SUITE_NAME.test(name)
        ? undefined
        : `${key} is ${JSON.stringify(name)}: a suite name is 1 to 64 letters, digits, '-', '_', '.', ':' or '/', starting with a letter or digit (e.g. "integration")`;
}

/** The cutover's key naming the suites a version needs a passing run of. */
export const REQUIRE_TESTS_KEY = `${CONFIG_KEYS.cutover}.requireTests`;

/**
 * Checks `switchyard:cutover.requireTests`: a list of distinct suite names (undefined: none
 * required). Returns a message naming the key and the value, or undefined.
 */
export function checkRequireTests(v: unknown): string | undefined {
    if (v === undefined) {
        return undefined;
    }
    if (!Array.isArray(v)) {
        return `${REQUIRE_TESTS_KEY} is ${JSON.stringify(v)}: give a list of suite names, e.g. ["unit", "integration"]`;
    }
    for (const [i, s] of v.entries()) {
        const m = checkSuiteName(s, `${REQUIRE_TESTS_KEY}[${i}]`);
        if (m) {
            return m;
        }
    }
    const dup = v.find((s, i) => v.indexOf(s) !== i);
    return dup === undefined ? undefined : `${REQUIRE_TESTS_KEY} names "${dup}" twice`;
}

/** Pure: the last `chars` characters of a text, cut at a line start when one is near. */
export function tailOf(text: string, chars = OUTPUT_TAIL_CHARS): string {
    if (text.length <= chars) {
        return text;
    }
    const cut = text.slice(-chars);
    const nl = cut.indexOf("\n");
    return nl >= 0 && nl < 200 ? cut.slice(nl + 1) : cut;
}

/** Pure: the runs with one more, oldest dropped beyond `max`. */
export function appendRun(runs: readonly TestRun[], run: TestRun, max = MAX_TEST_RUNS): TestRun[] {
    return [...runs, run].slice(-max);
}

/** Pure: whether a value read from config or state is a list of runs; the problem, or undefined. */
export function checkTestRuns(v: unknown): string | undefined {
    if (!Array.isArray(v)) {
        return `${TEST_RUNS_KEY} is not a list of test runs`;
    }
    const bad = v.findIndex((r) => typeof r !== "object" || r === null || typeof r.suite !== "string" || typeof r.version !== "string" || typeof r.passed !== "boolean");
    return bad < 0 ? undefined : `${TEST_RUNS_KEY}[${bad}] is not a test run (suite, version, passed): ${JSON.stringify(v[bad]).slice(0, 200)}`;
}

/** The runs in the stack's configuration, as the program sees them; refused (naming the key) when malformed. */
export function testRunsFromConfig(cfg: pulumi.Config = new pulumi.Config(CONFIG_NAMESPACE)): TestRun[] {
    const raw = cfg.getObject<unknown>(configName(TEST_RUNS_KEY));
    if (raw === undefined) {
        return [];
    }
    const problem = checkTestRuns(raw);
    if (problem) {
        throw new Error(problem);
    }
    return raw as TestRun[];
}

/**
 * Records the stack's test runs (`switchyard:testRuns`) in its state, as this component's outputs:
 * `switchyard test` appends a run to the config and runs an `up` targeted at this component, which
 * changes nothing else. One per sandbox stack, always under the name {@link TEST_RUN_LOG_NAME}; the
 * ready-made program makes it, a program of one's own adds it.
 *
 * @example
 * import { TestRunLog } from "switchyard";
 * new TestRunLog(); // in a sandbox stack's program
 */
export class TestRunLog extends pulumi.ComponentResource {
    /** The runs, newest last. */
    public readonly runs: TestRun[];

    constructor(opts?: pulumi.ComponentResourceOptions) {
        super(TEST_RUN_LOG_TOKEN, TEST_RUN_LOG_NAME, {}, opts);
        this.runs = testRunsFromConfig();
        this.registerOutputs({ runs: this.runs });
    }
}

/**
 * A pair's step plan from `switchyard:cutover` (`{ steps?, requireTests? }`): undefined when it gives
 * no steps, so a stack may require tests without declaring a plan. `requireTests` is checked here, at
 * preview, and read by the cutover.
 */
export function cutoverPlanOf(cfg: pulumi.Config = new pulumi.Config(CONFIG_NAMESPACE)): { steps: number[] } | undefined {
    const c = cfg.getObject<{ steps?: number[]; requireTests?: unknown }>(configName(CONFIG_KEYS.cutover));
    const problem = checkRequireTests(c?.requireTests);
    if (problem) {
        throw new Error(problem);
    }
    // The rollout settings (window, watch, keepWarm; cutover/watch.ts), checked at preview: each message names its key.
    const rollout = rolloutSettings(c).errors;
    if (rollout.length > 0) {
        throw new Error(rollout.join("; "));
    }
    return c?.steps === undefined ? undefined : { steps: c.steps };
}
