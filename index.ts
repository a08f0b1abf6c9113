/**
 * The stack program. It reads the platform (`switchyard:platform`: local | aws) and the role
 * (`switchyard:role`: blue-green | sandbox) from stack config and builds the components.
 *
 * It runs as a classic program (`pulumi up -s local` with an installed Pulumi CLI) and as an inline
 * Automation API program (`npx switchyard up local`), which is what works without a language host.
 */
import * as path from "path";
import * as pulumi from "@pulumi/pulumi";
import { PLATFORMS, Platform } from "./components/types";

/** Folder under which local stacks keep their data: SWITCHYARD_HOME/data, by default `.switchyard/data` in the project. */
export function localDataRoot(): string {
    return path.join(process.env.SWITCHYARD_HOME ?? path.join(__dirname, ".switchyard"), "data");
}

/** The program: returns the stack outputs. */
export async function program(): Promise<Record<string, unknown>> {
    const cfg = new pulumi.Config("switchyard");
    const platform = (cfg.get("platform") ?? "local") as Platform;
    if (!(PLATFORMS as readonly string[]).includes(platform)) {
        throw new Error(`switchyard:platform is ${JSON.stringify(platform)}: use one of ${PLATFORMS.join(", ")}`);
    }
    let outputs: Record<string, unknown>;
    if (platform === "aws") {
        const { awsProgram } = await import("./components/aws/program");
        outputs = awsProgram(cfg);
    } else {
        const { localProgram } = await import("./components/local/program");
        outputs = localProgram({ dataRoot: localDataRoot(), cwd: __dirname }, cfg);
    }
    const role = cfg.get("role");
    const checkpoint = cfg.getObject("cutoverState");
    return {
        platform,
        role,
        // The weights in state; a local router reports the ones it applied.
        ...(role === "blue-green" ? { weights: cfg.getObject("traffic") } : {}),
        ...outputs,
        // The cutover's checkpoint lives in state beside the weights (see cutover/stackState.ts).
        ...(checkpoint === undefined ? {} : { cutover: checkpoint }),
    };
}

export * from "./components";

