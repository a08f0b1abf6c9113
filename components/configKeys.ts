/**
 * A component's refusal said in the user's terms. The config-driven programs build components from
 * the stack's `switchyard:*` keys; a component names its own property ("health check path is …"), so
 * the program puts the key the user sets in front of the message
 * ("switchyard:app.healthCheck.path: health check path is …"). Pure, but for the ResourceError it
 * rethrows.
 */
import * as pulumi from "@pulumi/pulumi";
import { RESTORE_FROM_KEY } from "./aws/restoreFrom";

/**
 * The RDS switchover's timeout of a pair in database mode `rds-blue-green` (RDS's SwitchoverTimeout,
 * 30 to 3,600 seconds): a number of seconds or a duration such as "5m", in the `switchyard:cutover`
 * object. @default 300
 */
export const SWITCHOVER_TIMEOUT_KEY = "switchyard:cutover.switchoverTimeout";

/** Message patterns, each with the key (or a function of the match giving it) the value came from. */
export type ConfigKeyMap = readonly (readonly [RegExp, string | ((m: RegExpExecArray) => string)])[];

/** The key a message's property came from, or undefined when the message names none of them. */
export function configKeyOf(message: string, keys: ConfigKeyMap): string | undefined {
    for (const [re, key] of keys) {
        const m = re.exec(message);
        if (m) {
            return typeof key === "string" ? key : key(m);
        }
    }
    return undefined;
}

/** The message with the config key in front; unchanged when it names one already or maps to none. */
export function inConfigTerms(message: string, keys: ConfigKeyMap): string {
    if (/^switchyard:[A-Za-z]/.test(message)) {
        return message;
    }
    const key = configKeyOf(message, keys);
    return key === undefined ? message : `${key}: ${message}`;
}

/**
 * Builds a component; a refusal it throws (a `pulumi.ResourceError`) is thrown again naming the
 * stack configuration key the refused value came from.
 */
export function withConfigKeys<T>(keys: ConfigKeyMap, make: () => T): T {
    try {
        return make();
    } catch (e) {
        if (pulumi.ResourceError.isInstance(e)) {
            const message = inConfigTerms(e.message, keys);
            if (message !== e.message) {
                throw new pulumi.ResourceError(message, e.resource, e.hideStack);
            }
        }
        throw e;
    }
}

/** The keys both platforms share. */
const SHARED: ConfigKeyMap = [
    [/^traffic\b/, "switchyard:traffic"],
    [/^cutover step/, "switchyard:cutover.steps"],
    [/^database mode/, "switchyard:database.mode"],
    [/ttlHours|a sandbox needs an expiry/, "switchyard:sandbox.ttlHours"],
    [/^colors\.(blue|green)\.version/, (m) => `switchyard:colors.${m[1]}.version`],
    [/^colors\.(blue|green) is missing/, (m) => `switchyard:colors.${m[1]}`],
];

/** The local program's keys (components/local/program.ts). */
export function localConfigKeys(sandboxColor = "green"): ConfigKeyMap {
    return [
        ...SHARED,
        [/^ports\.(router|test|blue|greenDatabase|green|database|app)\b/, (m) => `switchyard:local.ports.${m[1]}`],
        [/^ports must all differ/, "switchyard:local.ports"],
        [/^app\.command/, "switchyard:app.command"],
        [/^candidate\.version/, `switchyard:colors.${sandboxColor}.version`],
    ];
}

/**
 * The AWS program's keys (components/aws/program.ts).
 *
 * @param portKey which key a "port is <value>" message came from (the app's or the listener's port),
 *        given the value as the message shows it
 */
export function awsConfigKeys(portKey: (shown: string) => string = () => "switchyard:app.port"): ConfigKeyMap {
    return [
        ...SHARED,
        [/^health check path/, "switchyard:app.healthCheck.path"],
        [/^health check (intervalSeconds|healthyThreshold|unhealthyThreshold)/, (m) => `switchyard:app.healthCheck.${m[1]}`],
        [/^port is (.+?):/, (m) => portKey(m[1])],
        [/^testPort is/, "switchyard:aws.listener.testPort"],
        [/^port and testPort/, "switchyard:aws.listener.testPort"],
        [/^desiredCount/, "switchyard:app.desiredCount"],
        [/^environment sets/, "switchyard:app.environment"],
        [/^color (blue|green) has no version/, (m) => `switchyard:colors.${m[1]}.version`],
        [/^color (blue|green): give exactly one of image/, (m) => `switchyard:colors.${m[1]}.image`],
        [/^masterPassword/, "switchyard:databasePassword"],
        [/^manageMasterUserPassword/, "switchyard:database.manageMasterUserPassword"],
        [/^(?:production database: )?(?:no snapshot to restore|both snapshotIdentifier)/, "switchyard:database.snapshot"],
        [/^database\.blueGreen/, "switchyard:database.blueGreen"],
        [/^restoreFrom/, RESTORE_FROM_KEY],
        [/^database engine/, "switchyard:database.engine"],
        [/^backupRetentionPeriod/, "switchyard:database.backupRetentionPeriod"],
        [/^vpcId and subnetIds/, "switchyard:aws.vpcId"],
        [/publicSubnetIds/, "switchyard:aws.publicSubnetIds"],
        [/^productionStack/, "switchyard:sandbox.productionStack"],
    ];
}
