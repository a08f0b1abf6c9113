/**
 * An RDS blue/green deployment as a (dynamic) resource: creating it creates the green copy of the
 * production instance, replicating from blue; deleting it deletes the deployment (and the green
 * copy, unless it was switched over). It never switches over: that is the separate, explicit call
 * `switchoverBlueGreen` in ./rdsApi.
 *
 * @pulumi/aws 7.48 has no resource for this (its `blueGreenUpdate` switches over in the same update).
 */
import * as pulumi from "@pulumi/pulumi";
import * as api from "./rdsApi";

export const BLUE_GREEN_KIND = "switchyard:aws:RdsBlueGreenDeployment";

/** Inputs of an RdsBlueGreenDeployment. */
export interface RdsBlueGreenDeploymentArgs {
    /** Name of the deployment, unique in the account and region. Required: no default. @example "shop-db-upgrade-16" */
    readonly deploymentName: pulumi.Input<string>;
    /** ARN of the blue (production) instance. Required: no default. */
    readonly sourceArn: pulumi.Input<string>;
    /** Engine version of the green copy. @default the source's */
    readonly targetEngineVersion?: pulumi.Input<string>;
    /** Parameter group of the green copy; needed for a major version upgrade. @default the source's */
    readonly targetParameterGroupName?: pulumi.Input<string>;
    /** Instance class of the green copy. @default the source's */
    readonly targetInstanceClass?: pulumi.Input<string>;
    /** Region of the RDS API. @default the SDK's (AWS_REGION) */
    readonly region?: pulumi.Input<string>;
    /** RDS API endpoint override, for a local AWS stand-in. @default AWS's */
    readonly endpoint?: pulumi.Input<string>;
    /** Minutes to wait for the green copy to become available. @default 120 */
    readonly timeoutMinutes?: pulumi.Input<number>;
    /** Tags of the deployment. @default {} */
    readonly tags?: pulumi.Input<Record<string, pulumi.Input<string>>>;
}

/** Plain inputs, as the provider receives them. */
export interface BlueGreenInputs {
    deploymentName: string;
    sourceArn: string;
    targetEngineVersion?: string;
    targetParameterGroupName?: string;
    targetInstanceClass?: string;
    region?: string;
    endpoint?: string;
    timeoutMinutes?: number;
    tags?: Record<string, string>;
}

/** Inputs whose change means a new deployment. */
export const BLUE_GREEN_REPLACING_INPUTS: readonly (keyof BlueGreenInputs)[] = [
    "deploymentName",
    "sourceArn",
    "targetEngineVersion",
    "targetParameterGroupName",
    "targetInstanceClass",
];

/** The provider. Uses ./rdsApi; its closure is serialized into the stack's state by Pulumi. */
export const rdsBlueGreenProvider: pulumi.dynamic.ResourceProvider = {
    create: async (inputs: BlueGreenInputs) => {
        const client = api.rdsClient({ region: inputs.region, endpoint: inputs.endpoint });
        const created = await api.createBlueGreen(client, {
            name: inputs.deploymentName,
            sourceArn: inputs.sourceArn,
            targetEngineVersion: inputs.targetEngineVersion,
            targetParameterGroupName: inputs.targetParameterGroupName,
            targetInstanceClass: inputs.targetInstanceClass,
            tags: inputs.tags,
        });
        const ready = await api.waitForBlueGreen(client, created.identifier, "AVAILABLE", {
            timeoutMs: (inputs.timeoutMinutes ?? 120) * 60_000,
            intervalMs: inputs.endpoint ? 200 : 30_000,
        });
        return {
            id: created.identifier,
            outs: { ...inputs, kind: "switchyard:aws:RdsBlueGreenDeployment", identifier: created.identifier, targetArn: ready.target ?? "", status: ready.status ?? "" },
        };
    },
    read: async (id: string, props: BlueGreenInputs & { identifier?: string }) => {
        const client = api.rdsClient({ region: props.region, endpoint: props.endpoint });
        const b = await api.describeBlueGreen(client, id);
        return { id, props: { ...props, identifier: id, targetArn: b?.target ?? "", status: b?.status ?? "DELETED" } };
    },
    diff: async (_id: string, olds: BlueGreenInputs, news: BlueGreenInputs) => {
        const replaces = BLUE_GREEN_REPLACING_INPUTS.filter((k) => (olds[k] ?? "") !== (news[k] ?? ""));
        const other = JSON.stringify(olds.tags ?? {}) !== JSON.stringify(news.tags ?? {}) || olds.timeoutMinutes !== news.timeoutMinutes;
        return { changes: replaces.length > 0 || other, replaces, deleteBeforeReplace: true };
    },
    update: async (_id: string, olds: BlueGreenInputs & { identifier?: string; targetArn?: string; status?: string }, news: BlueGreenInputs) => {
        return { outs: { ...olds, ...news } };
    },
    delete: async (id: string, props: BlueGreenInputs) => {
        const client = api.rdsClient({ region: props.region, endpoint: props.endpoint });
        await api.deleteBlueGreen(client, id);
    },
};

/**
 * An RDS blue/green deployment: the green copy of a production instance, kept in sync until an
 * explicit `switchoverBlueGreen`.
 */
export class RdsBlueGreenDeployment extends pulumi.dynamic.Resource {
    /** The deployment's identifier ("bgd-..."): what `switchoverBlueGreen` takes. */
    declare public readonly identifier: pulumi.Output<string>;
    /** ARN of the green (target) instance. */
    declare public readonly targetArn: pulumi.Output<string>;
    /** Status when last read, e.g. "AVAILABLE". */
    declare public readonly status: pulumi.Output<string>;

    constructor(name: string, args: RdsBlueGreenDeploymentArgs, opts?: pulumi.CustomResourceOptions) {
        super(
            rdsBlueGreenProvider,
            name,
            { ...args, kind: BLUE_GREEN_KIND, identifier: undefined, targetArn: undefined, status: undefined },
            opts,
        );
    }
}
