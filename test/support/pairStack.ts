/**
 * A stack of the ready-made program in a throwaway project, brought up before a suite's tests and
 * destroyed after them, for the end-to-end tests on the local platform. The engine's output of a
 * failed test is printed. Call it inside a mocha `describe`.
 *
 * @example
 * const s = useStack((base) => localPairConfig(base, { "switchyard:traffic": { blue: 100, green: 0 } }));
 * it("…", async () => { await s.inEnv(() => cut.cutover(s.target(), {})); });
 */
import * as path from "path";
import * as YAML from "yaml";
import * as run from "../../stack/run";
import { program } from "../../index";
import { tempProject, TempProject, withEnv } from "./project";
import { portBlock } from "./ports";

export interface TestStack {
    /** First of the stack's 5 ports, from the test allocator. */
    readonly base: number;
    readonly proj: TempProject;
    /** SWITCHYARD_HOME of the project. */
    readonly home: string;
    /** The stack's outputs after its first `up`. */
    readonly out: Record<string, { value: unknown }>;
    /** The backend and home, as the environment the engine and the CLI need. */
    env(): Record<string, string>;
    target(): run.StackTarget;
    /** Runs fn with {@link env} in process.env. */
    inEnv<T>(fn: () => Promise<T>): Promise<T>;
}

/** Brings the stack `pair` up with config(base) before the suite, and destroys it after. */
export function useStack(config: (base: number) => Record<string, unknown>, stackName = "pair"): TestStack {
    let logs = "";
    const s = {
        base: 0,
        proj: undefined as unknown as TempProject,
        home: "",
        out: {} as Record<string, { value: unknown }>,
        env: () => ({ PULUMI_BACKEND_URL: `file://${s.proj.stateDir}`, SWITCHYARD_HOME: s.home }),
        target: (): run.StackTarget => ({ stackName, root: s.proj.root, program, onOutput: (t) => (logs += t) }),
        inEnv: <T>(fn: () => Promise<T>) => withEnv(s.env(), fn),
    };
    before(async () => {
        s.base = await portBlock(5);
        s.proj = tempProject({ [stackName]: YAML.stringify({ config: config(s.base) }) });
        s.home = path.join(s.proj.root, "home");
        s.out = (await s.inEnv(() => run.up(s.target()))).outputs;
    });
    after(async () => {
        if (!s.proj) return;
        await s.inEnv(() => run.destroy(s.target())).catch(() => undefined);
        s.proj.cleanup();
    });
    afterEach(function () {
        if (this.currentTest?.state === "failed") process.stderr.write(logs.slice(-4000));
        logs = "";
    });
    return s;
}
