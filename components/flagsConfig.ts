/**
 * Reading `switchyard:flags` from the stack's configuration, for the components of both platforms
 * (the checks and the flagd format are in ./flags.ts).
 */
import * as pulumi from "@pulumi/pulumi";
import { checkFlags, FLAGS_CONFIG_KEY, FlagsConfig } from "./flags";
import { CONFIG_NAMESPACE, configName } from "./types";

/**
 * The flags given, else those of the stack's configuration (`switchyard:flags`), with the key they
 * came from and their problems (each naming its flag). No flags: `flags` is undefined.
 */
export function resolveFlags(given: FlagsConfig | undefined): { flags?: FlagsConfig; key?: string; problems: string[] } {
    if (given !== undefined) {
        return { flags: given, problems: checkFlags(given) };
    }
    let configured: unknown;
    try {
        configured = new pulumi.Config(CONFIG_NAMESPACE).getObject<unknown>(configName(FLAGS_CONFIG_KEY));
    } catch (e) {
        return { problems: [`${FLAGS_CONFIG_KEY} is not a JSON object of flags: ${(e as Error).message}`] };
    }
    if (configured === undefined) return { problems: [] };
    return { flags: configured as FlagsConfig, key: FLAGS_CONFIG_KEY, problems: checkFlags(configured) };
}
