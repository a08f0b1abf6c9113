/**
 * Checks a cutover must pass before it starts. The first: the user's test suites. A production
 * stack's `switchyard:cutover.requireTests` names suites; a cutover of version V starts only when
 * each has a passing run of V recorded in the state of a sandbox stack of this production stack
 * (`switchyard test`, `stack/testRuns.ts`). The latest run of a suite for V decides: a pass later
 * failed again is failing. A run of another version never counts.
 *
 * {@link requiredTestsMissing} is the pure judgement; {@link checkRequiredTests} reads the config and
 * the sandboxes' state; {@link requireTests} throws the refusal the cutover exits 2 with.
 *
 * @example
 * const gaps = requiredTestsMissing(["unit", "e2e"], "1.1.0", runs);
 * if (gaps.length) console.log(describeTestGaps(gaps, "1.1.0", "local"));
 */
import { checkRequireTests, REQUIRE_TESTS_KEY, TestRun } from "../components/testRuns";
import { Color, CONFIG_KEYS } from "../components/types";
import { openStack, StackTarget, UserError } from "../stack/run";
import { productionTestRuns, sandboxStacksOf } from "../stack/testRuns";

/** A run as the check sees it: where it was recorded too. */
export type RecordedRun = Pick<TestRun, "suite" | "version" | "passed" | "startedAt"> & Partial<TestRun> & { readonly stack?: string };

/** A required suite with no passing run of the version. */
export interface TestGap {
    readonly suite: string;
    /** `missing`: no run of this version; `failing`: its latest run of this version failed. */
    readonly status: "missing" | "failing";
    /** The latest run of the suite for this version, when there is one. */
    readonly latest?: RecordedRun;
}

/**
 * Pure: the required suites that have no passing run of `version`: missing (never run on it) or
 * failing (its latest run on it failed). Empty when every one passed. Runs of other versions are
 * ignored.
 */
export function requiredTestsMissing(required: readonly string[], version: string, runs: readonly RecordedRun[]): TestGap[] {
    return required.flatMap((suite): TestGap[] => {
        const mine = runs.filter((r) => r.suite === suite && r.version === version).sort((a, b) => a.startedAt.localeCompare(b.startedAt));
        const latest = mine[mine.length - 1];
        if (!latest) {
            return [{ suite, status: "missing" }];
        }
        return latest.passed ? [] : [{ suite, status: "failing", latest }];
    });
}

/** Pure: the refusal's text, naming every missing or failing suite and how to run it. */
export function describeTestGaps(gaps: readonly TestGap[], version: string, stack: string, sandboxes: readonly string[] = []): string {
    const lines = gaps.map((g) =>
        g.status === "missing"
            ? `suite "${g.suite}" has no run of ${version}`
            : `suite "${g.suite}" failed on ${version} (exit ${g.latest?.exitCode ?? "?"}${g.latest?.signal ? `, ${g.latest.signal}` : ""}, ${g.latest?.startedAt}${g.latest?.stack ? ` in stack "${g.latest.stack}"` : ""})`,
    );
    const where = sandboxes.length ? `a sandbox of it (${sandboxes.join(", ")})` : "a sandbox of it (none found: bring one up, its switchyard:sandbox.productionStack naming this stack)";
    return (
        `cutover of stack "${stack}" to ${version} refused: ${REQUIRE_TESTS_KEY} needs a passing run of ${version} of each suite it names, and ` +
        `${lines.join("; ")}. Run it in ${where}: \`switchyard test <sandbox> --suite <name> -- <command>\``
    );
}

/** Pure: the suites `switchyard:cutover` (its JSON text) requires, checked; a UserError naming the key. */
export function suitesIn(cutoverConfig: string | undefined, stack: string): string[] {
    if (cutoverConfig === undefined) {
        return [];
    }
    let v: { requireTests?: unknown };
    try {
        v = JSON.parse(cutoverConfig) as { requireTests?: unknown };
    } catch {
        throw new UserError(`${CONFIG_KEYS.cutover} in stack "${stack}" is not valid JSON: ${cutoverConfig.slice(0, 200)}`);
    }
    const problem = checkRequireTests(v?.requireTests);
    if (problem) {
        throw new UserError(`stack "${stack}": ${problem}`);
    }
    return (v?.requireTests as string[] | undefined) ?? [];
}

/** The suites a production stack requires (`switchyard:cutover.requireTests`), checked. */
export async function requiredSuites(target: StackTarget): Promise<string[]> {
    return suitesIn((await (await openStack(target)).getAllConfig())[CONFIG_KEYS.cutover]?.value, target.stackName);
}

/**
 * The required suites without a passing run of `version`, read from the production stack's config
 * and its sandbox stacks' state; `required` overrides the config's list.
 */
export async function checkRequiredTests(target: StackTarget, version: string, required?: readonly string[]): Promise<{ required: string[]; gaps: TestGap[]; sandboxes: string[] }> {
    const suites = [...(required ?? (await requiredSuites(target)))];
    if (suites.length === 0) {
        return { required: [], gaps: [], sandboxes: [] };
    }
    const sandboxes = await sandboxStacksOf(target);
    const runs = await productionTestRuns(target, sandboxes);
    return { required: suites, gaps: requiredTestsMissing(suites, version, runs), sandboxes };
}

/** Pure: the version a cutover moves traffic to: the pair's `versions` output, else the config's. */
export function versionOf(to: Color, pairOutputs: Record<string, unknown>, colorsConfig?: string): string | undefined {
    const v = (pairOutputs.versions as Partial<Record<Color, unknown>> | undefined)?.[to];
    if (typeof v === "string" && v) {
        return v;
    }
    try {
        const c = colorsConfig ? (JSON.parse(colorsConfig) as Partial<Record<Color, { version?: unknown }>>)[to]?.version : undefined;
        return typeof c === "string" && c ? c : undefined;
    } catch {
        return undefined;
    }
}

/**
 * Throws the refusal (a UserError: exit 2, nothing changed) when the production stack requires
 * suites and the version of `to` lacks a passing run of one; does nothing when none is required.
 */
export async function requireTests(target: StackTarget, to: Color, pairOutputs: Record<string, unknown>): Promise<void> {
    const config = await (await openStack(target)).getAllConfig();
    const suites = suitesIn(config[CONFIG_KEYS.cutover]?.value, target.stackName);
    if (suites.length === 0) {
        return;
    }
    const version = versionOf(to, pairOutputs, config[CONFIG_KEYS.colors]?.value);
    if (!version) {
        throw new UserError(`stack "${target.stackName}" requires test suites (${REQUIRE_TESTS_KEY}) but records no version of ${to}: set ${CONFIG_KEYS.colors}.${to}.version and run \`switchyard up ${target.stackName}\``);
    }
    const r = await checkRequiredTests(target, version, suites);
    if (r.gaps.length) {
        throw new UserError(describeTestGaps(r.gaps, version, target.stackName, r.sandboxes));
    }
}
