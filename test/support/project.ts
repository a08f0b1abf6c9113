/** A throwaway Pulumi project folder with its own file backend, for engine tests. */
import * as fs from "fs";
import * as os from "os";
import * as path from "path";

export interface TempProject {
    readonly root: string;
    readonly stateDir: string;
    cleanup(): void;
}

/** Makes a project folder with Pulumi.yaml (stackConfigDir: stacks) and one config file per given stack. */
export function tempProject(stacks: Record<string, string>, name = "switchyard-test"): TempProject {
    const root = fs.mkdtempSync(path.join(os.tmpdir(), "switchyard-proj-"));
    fs.writeFileSync(path.join(root, "Pulumi.yaml"), `name: ${name}\nruntime: nodejs\nstackConfigDir: stacks\n`);
    fs.mkdirSync(path.join(root, "stacks"));
    for (const [stack, yaml] of Object.entries(stacks)) {
        fs.writeFileSync(path.join(root, "stacks", `Pulumi.${stack}.yaml`), yaml);
    }
    const stateDir = path.join(root, ".state");
    fs.mkdirSync(stateDir);
    return {
        root,
        stateDir,
        cleanup: () => fs.rmSync(root, { recursive: true, force: true }),
    };
}

/** Runs fn with process.env changes, restoring them afterwards. */
export async function withEnv<T>(vars: Record<string, string | undefined>, fn: () => Promise<T>): Promise<T> {
    const saved: Record<string, string | undefined> = {};
    for (const k of Object.keys(vars)) {
        saved[k] = process.env[k];
        if (vars[k] === undefined) delete process.env[k];
        else process.env[k] = vars[k];
    }
    try {
        return await fn();
    } finally {
        for (const [k, v] of Object.entries(saved)) {
            if (v === undefined) delete process.env[k];
            else process.env[k] = v;
        }
    }
}
