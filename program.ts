/**
 * Switchyard's ready-made program: config-driven, it reads the platform (`switchyard:platform`: local |
 * aws) and the role (`switchyard:role`: blue-green | sandbox) from stack config and builds the
 * components. It is the program of this repository's own project (`Pulumi.yaml`, `stacks/`), and any
 * project may use it as its own:
 *
 * @example
 * // index.ts of a Pulumi project whose stack files hold the switchyard:* keys
 * export = require("switchyard").program;
 *
 * Like any program it runs in its project's folder: local stacks keep their data under
 * `.switchyard/data/<stack>` there (or SWITCHYARD_HOME), and the app command runs from there.
 */
import * as pulumi from "@pulumi/pulumi";
import { localStackDataDir } from "./components/config";
import { CONFIG_NAMESPACE, PLATFORMS, Platform } from "./components/types";
import * as path from "path";

/** The program: returns the stack outputs. */
export async function program(): Promise<Record<string, unknown>> {
    const cfg = new pulumi.Config(CONFIG_NAMESPACE);
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
        outputs = localProgram({ dataRoot: path.dirname(localStackDataDir()), cwd: process.cwd() }, cfg);
    }
    return { platform, role: cfg.get("role"), ...outputs };
}
