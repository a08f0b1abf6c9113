/**
 * Control never starves traffic: during a cutover, the engine (the Pulumi CLI and the language host
 * it starts) runs at a lower CPU priority than the router, the apps and the gate's sampler, so a
 * step's `up` does not raise the traffic's tail latency on a small machine. It is `nice(1)`, applied
 * through a wrapper the Automation API runs in place of the CLI.
 *
 * The local platform's provider puts itself back to normal priority where it may (as root), so a
 * router or app it starts during a niced `up` runs at normal priority too (`components/local/ops/proc.ts`).
 */
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { PulumiCommand } from "@pulumi/pulumi/automation";
import { pulumiCliDir } from "./env";

/**
 * The niceness of the engine during a cutover (0 to 19; 0 turns it off). `SWITCHYARD_ENGINE_NICE`
 * overrides it.
 * @default 10
 */
export function engineNice(env: NodeJS.ProcessEnv = process.env): number {
    const raw = env.SWITCHYARD_ENGINE_NICE;
    if (raw === undefined || raw === "") {
        return 10;
    }
    if (!/^\d+$/.test(raw) || Number(raw) > 19) {
        throw new Error(`SWITCHYARD_ENGINE_NICE is "${raw}": give a whole niceness from 0 (off) to 19`);
    }
    return Number(raw);
}

/** The wrapper script: the CLI under `nice -n <n>`. Pure. */
export function nicedScript(cli: string, nice: number): string {
    return `#!/bin/sh\n# Written by Switchyard: the Pulumi CLI at a lower CPU priority during cutovers.\nexec nice -n ${nice} '${cli.replace(/'/g, `'\\''`)}' "$@"\n`;
}

/**
 * A PulumiCommand running the project's CLI at niceness `nice`, or undefined for 0 (the workspace's
 * default command).
 */
export async function nicedPulumiCommand(nice = engineNice()): Promise<PulumiCommand | undefined> {
    if (nice === 0) {
        return undefined;
    }
    const cli = path.join(pulumiCliDir(), "pulumi");
    const root = path.join(os.tmpdir(), `switchyard-engine-nice-${process.getuid?.() ?? "u"}-${nice}`);
    const bin = path.join(root, "bin", "pulumi");
    const script = nicedScript(cli, nice);
    if (!fs.existsSync(bin) || fs.readFileSync(bin, "utf8") !== script) {
        fs.mkdirSync(path.dirname(bin), { recursive: true });
        const tmp = `${bin}.${process.pid}.tmp`;
        fs.writeFileSync(tmp, script, { mode: 0o755 });
        fs.renameSync(tmp, bin);
    }
    return PulumiCommand.get({ root, skipVersionCheck: true });
}
