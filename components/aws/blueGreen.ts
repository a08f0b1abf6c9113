/**
 * BlueGreen: a live blue-green pair on AWS: two ColorEnvironments behind one ALB, a
 * WeightedListener splitting traffic between them, and the production database in the chosen mode.
 */
import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import {
    COLORS,
    Color,
    ColorArgs,
    CutoverPlanArgs,
    DatabaseMode,
    HealthCheckArgs,
    TrafficWeights,
    Transform,
    applyTransform,
    checkDatabaseMode,
    checkTraffic,
    liveColor,
    throwIfInvalid,
    TYPE_TOKENS,
} from "../types";
import { resolveTraffic, rolloutFromConfig } from "../config";
import { ColorEnvironment, ColorEnvironmentArgs, ImageBuildArgs, checkColorEnvironmentArgs } from "./colorEnvironment";
import { Engine, checkEngine, checkNow, checkedOutput, childTags, deferred, parameterGroupFamily } from "./common";
import { FrontDoorTransforms, frontDoor } from "./frontDoor";
import { RdsBlueGreenDeployment, RdsBlueGreenDeploymentArgs } from "./rdsBlueGreen";
import { SnapshotDatabase, SnapshotDatabaseArgs, blueGreenParameters, checkSnapshotSource } from "./snapshotDatabase";
import { StickinessArgs, WeightedListener, WeightedListenerArgs, checkWeightedListenerArgs } from "./weightedListener";

/** The network a stack runs in. */
export interface AwsNetworkArgs {
    /** The VPC. Required: no default. @example "vpc-0a1b2c3d4e5f60718" */
    readonly vpcId: pulumi.Input<string>;
    /** Private subnets for the tasks and the database, in two or more availability zones. Required: no default. */
    readonly subnetIds: pulumi.Input<pulumi.Input<string>[]>;
    /**
     * Public subnets for an internet-facing ALB.
     * @default subnetIds (and the ALB must then be internal)
     */
    readonly publicSubnetIds?: pulumi.Input<pulumi.Input<string>[]>;
}

/** The app both colors run. */
export interface AwsAppArgs {
    /**
     * Image URI, used by a color that names neither image nor build.
     * @default none: each color gives its own image or build
     * @example "123456789012.dkr.ecr.us-east-1.amazonaws.com/shop:1.4.2"
     */
    readonly image?: pulumi.Input<string>;
    /**
     * Build the image from source instead (pushed to ECR, tagged with the color's version).
     * @default none: `image` (or each color's own)
     */
    readonly build?: ImageBuildArgs;
    /** Port the app listens on. @default 8080 */
    readonly port?: pulumi.Input<number>;
    /** Health check of every target group. @default { path: "/healthz" } */
    readonly healthCheck?: HealthCheckArgs;
    /** Environment of both colors. @default {} */
    readonly environment?: pulumi.Input<Record<string, pulumi.Input<string>>>;
    /** Tasks per color. @default 2 */
    readonly desiredCount?: pulumi.Input<number>;
    /** CPU units per task. @default 256 */
    readonly cpu?: pulumi.Input<number>;
    /** Memory per task, MiB. @default 512 */
    readonly memory?: pulumi.Input<number>;
    /** Seconds a leaving task may finish its requests. @default 30 */
    readonly deregistrationDelaySeconds?: pulumi.Input<number>;
}

/** One color's release on AWS: the shared ColorArgs, plus its own image if it differs from the app's. */
export interface AwsColorArgs extends ColorArgs {
    /** Image URI of this color. @default the app's image */
    readonly image?: pulumi.Input<string>;
    /** Build this color's image from source. @default the app's build */
    readonly build?: ImageBuildArgs;
}

/** The green side of an RDS blue/green deployment (mode "rds-blue-green"). */
export interface RdsBlueGreenTargetArgs {
    /** Engine version of the green copy, e.g. a major upgrade. @default the production version @example "17.2" */
    readonly targetEngineVersion?: pulumi.Input<string>;
    /** Instance class of the green copy. @default the production class */
    readonly targetInstanceClass?: pulumi.Input<string>;
    /** Name of the deployment. @default "<name>-db-bluegreen" */
    readonly deploymentName?: pulumi.Input<string>;
}

/** The production database. */
export interface BlueGreenDatabaseArgs {
    /**
     * How the colors get their database; a plain value. `"shared"`: one database for both colors;
     * `"rds-blue-green"`: the same, prepared for RDS blue/green deployments, and with `blueGreen`
     * set, the green copy is created (switch over later with `switchoverBlueGreen`). `"snapshot"` is
     * refused for a live pair. Required: no default.
     */
    readonly mode: DatabaseMode;
    /** Engine; must match the snapshot's. @default the snapshot's */
    readonly engine?: pulumi.Input<Engine>;
    /** Engine version. @default the snapshot's */
    readonly engineVersion?: pulumi.Input<string>;
    /**
     * Restore the latest snapshot of this instance (when the database is created).
     * @default none: `snapshotIdentifier` is restored
     * @example "shop-prod"
     */
    readonly sourceInstanceIdentifier?: pulumi.Input<string>;
    /** Or restore this snapshot. @default none: the latest snapshot of `sourceInstanceIdentifier` */
    readonly snapshotIdentifier?: pulumi.Input<string>;
    /** Instance class. @default the source instance's class ("db.t4g.micro" when it no longer exists) */
    readonly instanceClass?: pulumi.Input<string>;
    /** Database name in DATABASE_URL. @default the snapshot's @example "shop" */
    readonly databaseName?: pulumi.Input<string>;
    /** Master password. @default generated once and kept as a secret */
    readonly masterPassword?: pulumi.Input<string>;
    /** Days of automated backups. @default 7 */
    readonly backupRetentionPeriod?: pulumi.Input<number>;
    /** Standby in a second availability zone. @default false */
    readonly multiAz?: pulumi.Input<boolean>;
    /** Mode "rds-blue-green" only: create the green copy. @default none */
    readonly blueGreen?: RdsBlueGreenTargetArgs;
    /**
     * Restore the database from this RDS snapshot: a new instance from it beside the one in service,
     * which both colors' DATABASE_URL then name (see SnapshotDatabaseArgs.restoreFrom); a plain value.
     * Set by `switchyard restore` through `switchyard:database.restoreFrom`.
     * @default none
     * @example "shop-prod-pre-cutover-20261130101500"
     */
    readonly restoreFrom?: string;
}

/** Listener settings. */
export interface BlueGreenListenerArgs {
    /** Port of the main listener. @default 443 with a certificate, else 80 */
    readonly port?: pulumi.Input<number>;
    /** Port of the test listener (idle color). @default 8080 */
    readonly testPort?: pulumi.Input<number>;
    /** ACM certificate for HTTPS. @default none: HTTP */
    readonly certificateArn?: pulumi.Input<string>;
    /** Stickiness of the weighted forward. @default disabled */
    readonly stickiness?: StickinessArgs;
    /** Who may reach the main listener. @default ["0.0.0.0/0"], or the VPC when internal */
    readonly allowedCidrBlocks?: pulumi.Input<pulumi.Input<string>[]>;
    /** Who may reach the test listener. @default the VPC's CIDR block */
    readonly testAllowedCidrBlocks?: pulumi.Input<pulumi.Input<string>[]>;
}

/** Arguments of a BlueGreen pair. */
export interface BlueGreenArgs extends AwsNetworkArgs {
    /**
     * Traffic weights. Changing them changes only the listeners. Leave it out to take them from the
     * stack's configuration (`switchyard:traffic`), the key `switchyard cutover` changes step by step.
     * @default the stack's configuration `switchyard:traffic`
     * @example { blue: 100, green: 0 }
     */
    readonly traffic?: pulumi.Input<TrafficWeights>;
    /**
     * The two colors' releases. Required: no default.
     * @example { blue: { version: "1.4.2" }, green: { version: "1.5.0" } }
     */
    readonly colors: { readonly blue: AwsColorArgs; readonly green: AwsColorArgs };
    /** The app both colors run. Required: no default. */
    readonly app: AwsAppArgs;
    /** The production database. Required: no default. */
    readonly database: BlueGreenDatabaseArgs;
    /** Listener settings. @default HTTP on 80, test listener on 8080 */
    readonly listener?: BlueGreenListenerArgs;
    /**
     * The cutover plan, tagged on the listener.
     * @default none: no cutover-steps tag
     * @example { steps: [10, 25, 50, 100] }
     */
    readonly cutover?: CutoverPlanArgs;
    /**
     * An internal ALB (reachable only inside the VPC); a plain value.
     * @default false, or true when no publicSubnetIds are given
     */
    readonly internal?: boolean;
    /** Tags for every resource; `switchyard:role=production` is always set. @default {} */
    readonly tags?: pulumi.Input<Record<string, pulumi.Input<string>>>;
    /**
     * Adjust a child's arguments before it is created. The component hooks (database, colors,
     * listener) receive the child component's arguments, including its own `transform`. Hooks:
     * `loadBalancer` (`<name>-alb`), `loadBalancerSecurityGroup` (`<name>-alb-sg`),
     * `appSecurityGroup` (`<name>-app-sg`), `cluster` (`<name>-cluster`), `database`
     * (`<name>-db`), `greenParameterGroup` (`<name>-db-green-params`), `rdsBlueGreenDeployment`
     * (`<name>-db-bluegreen`), `colorEnvironment` (`<name>-blue`, `<name>-green`), `listener`
     * (`<name>-listener`).
     * @default {}: no child is adjusted
     * @example { colorEnvironment: (a) => ({ ...a, desiredCount: a.color === "green" ? 1 : 2 }) }
     */
    readonly transform?: FrontDoorTransforms & {
        readonly cluster?: Transform<aws.ecs.ClusterArgs>;
        readonly database?: Transform<SnapshotDatabaseArgs>;
        readonly greenParameterGroup?: Transform<aws.rds.ParameterGroupArgs>;
        readonly rdsBlueGreenDeployment?: Transform<RdsBlueGreenDeploymentArgs>;
        readonly colorEnvironment?: Transform<ColorEnvironmentArgs>;
        readonly listener?: Transform<WeightedListenerArgs>;
    };
}

const PENDING = "(created by BlueGreen)";

/** The arguments of one color, from the color's own and the app's. */
function colorArgs(args: BlueGreenArgs, color: Color): Omit<ColorEnvironmentArgs, "vpcId" | "subnetIds" | "securityGroupIds"> {
    const c = args.colors?.[color] ?? ({} as AwsColorArgs);
    const own = c.image !== undefined || c.build !== undefined;
    const app = args.app ?? {};
    return {
        color,
        version: c.version,
        environment: c.environment ?? app.environment,
        image: own ? c.image : app.image,
        build: own ? c.build : app.build,
        port: app.port,
        healthCheck: app.healthCheck,
        // Scaled down after a cutover's keep-warm time (switchyard:colors.<color>.warm false): no task runs.
        desiredCount: String(c.warm) === "false" ? 0 : app.desiredCount,
        cpu: app.cpu,
        memory: app.memory,
        deregistrationDelaySeconds: app.deregistrationDelaySeconds,
    };
}

/** Validates the plain arguments of a BlueGreen pair; returns the first problem. */
export function checkBlueGreenArgs(args: BlueGreenArgs | undefined): string | undefined {
    if (!args) {
        return "BlueGreen needs arguments: traffic, colors, app, database and the network";
    }
    if (args.traffic === undefined) {
        return "traffic weights are missing: pass traffic: { blue, green }, or set the stack's configuration switchyard:traffic";
    }
    const traffic = checkNow(args.traffic, checkTraffic);
    if (traffic) {
        return traffic;
    }
    const db = args.database;
    if (!db) {
        return 'database is missing: give { mode: "shared" | "rds-blue-green", sourceInstanceIdentifier or snapshotIdentifier }';
    }
    const mode = checkDatabaseMode(db.mode, "blue-green", "aws");
    if (mode) {
        return mode;
    }
    if (db.blueGreen !== undefined && db.mode !== "rds-blue-green") {
        return `database.blueGreen is set but the mode is "${db.mode}": an RDS blue/green deployment needs mode "rds-blue-green"`;
    }
    if (db.restoreFrom !== undefined && db.blueGreen !== undefined) {
        return "restoreFrom is set with database.blueGreen: an RDS blue/green deployment follows its source instance; switch it over or delete it (leave database.blueGreen out) before a restore";
    }
    const source = checkSnapshotSource(db.snapshotIdentifier, db.sourceInstanceIdentifier);
    if (source) {
        return `production database: ${source}`;
    }
    if (db.engine !== undefined) {
        const e = checkNow(db.engine, checkEngine);
        if (e) {
            return e;
        }
    }
    if (args.vpcId === undefined || args.subnetIds === undefined) {
        return "vpcId and subnetIds are missing: the pair needs its network";
    }
    if (args.internal === false && args.publicSubnetIds === undefined) {
        return "an internet-facing ALB needs publicSubnetIds";
    }
    for (const c of COLORS) {
        if (args.colors?.[c] === undefined) {
            return `colors.${c} is missing: give { version } for both colors`;
        }
        const m = checkColorEnvironmentArgs({ ...colorArgs(args, c), vpcId: PENDING, subnetIds: [PENDING], securityGroupIds: [PENDING] });
        if (m) {
            return m;
        }
    }
    const l = args.listener ?? {};
    return checkWeightedListenerArgs({
        loadBalancerArn: PENDING,
        targetGroupArns: { blue: PENDING, green: PENDING },
        traffic: args.traffic,
        port: l.port,
        testPort: l.testPort,
        certificateArn: l.certificateArn,
        stickiness: l.stickiness,
        cutover: args.cutover,
    });
}

/**
 * A live blue-green pair: two ColorEnvironments (ECS Fargate) behind one ALB, a WeightedListener
 * splitting traffic by weight (and a test listener reaching the idle color), the ALB's and the
 * app's security groups, and the production database (a SnapshotDatabase, `protect`ed).
 *
 * Its outputs (databaseIdentifier, engine, engineVersion, appImage, url, testUrl, listenerArn,
 * targetGroupArns) are what a Sandbox reads through a StackReference.
 *
 * @example
 * new BlueGreen("shop", {
 *     traffic: { blue: 100, green: 0 },
 *     colors: { blue: { version: "1.4.2" }, green: { version: "1.5.0" } },
 *     app: { image: "123456789012.dkr.ecr.us-east-1.amazonaws.com/shop:1.4.2", port: 8080 },
 *     database: { mode: "shared", sourceInstanceIdentifier: "shop-prod", databaseName: "shop" },
 *     vpcId, subnetIds, publicSubnetIds,
 * });
 */
export class BlueGreen extends pulumi.ComponentResource {
    public readonly loadBalancer: aws.lb.LoadBalancer;
    public readonly loadBalancerSecurityGroup: aws.ec2.SecurityGroup;
    public readonly appSecurityGroup: aws.ec2.SecurityGroup;
    public readonly cluster: aws.ecs.Cluster;
    public readonly database: SnapshotDatabase;
    public readonly blue: ColorEnvironment;
    public readonly green: ColorEnvironment;
    public readonly listener: WeightedListener;
    /** The green copy of the database (mode "rds-blue-green" with `database.blueGreen`). */
    public readonly rdsBlueGreenDeployment?: RdsBlueGreenDeployment;

    public readonly url: pulumi.Output<string>;
    public readonly testUrl: pulumi.Output<string>;
    public readonly listenerArn: pulumi.Output<string>;
    public readonly testListenerArn: pulumi.Output<string>;
    public readonly targetGroupArns: pulumi.Output<{ blue: string; green: string }>;
    public readonly liveColor: pulumi.Output<Color>;
    /** The live color's image: what a sandbox runs unless told otherwise. */
    public readonly appImage: pulumi.Output<string>;
    public readonly databaseIdentifier: pulumi.Output<string>;
    public readonly engine: pulumi.Output<Engine>;
    public readonly engineVersion: pulumi.Output<string>;
    public readonly rdsBlueGreenDeploymentId: pulumi.Output<string | undefined>;
    /** The configuration key the weights came from, when they were not given as arguments. */
    public readonly trafficConfigKey?: string;

    constructor(name: string, args: BlueGreenArgs, opts?: pulumi.ComponentResourceOptions) {
        super(TYPE_TOKENS.awsBlueGreen, name, {}, opts);
        if (args && args.traffic === undefined) {
            // The weights come from the stack's configuration, the key `switchyard cutover` changes.
            const r = resolveTraffic(undefined);
            throwIfInvalid(this, r.problem);
            args = { ...args, traffic: r.traffic as TrafficWeights };
            this.trafficConfigKey = r.key;
        }
        throwIfInvalid(this, checkBlueGreenArgs(args));

        const t = args.transform ?? {};
        const db = args.database;
        const l = args.listener ?? {};
        const internal = args.internal ?? args.publicSubnetIds === undefined;
        const appPort = args.app.port ?? 8080;
        const https = l.certificateArn !== undefined;
        const port = l.port ?? (https ? 443 : 80);
        const testPort = l.testPort ?? 8080;
        const traffic = checkedOutput(this, args.traffic as pulumi.Input<TrafficWeights>, checkTraffic);

        const front = frontDoor(this, name, {
            role: "blue-green",
            vpcId: args.vpcId,
            subnetIds: internal ? args.subnetIds : args.publicSubnetIds!,
            internal,
            appPort,
            ports: [port],
            allowedCidrBlocks: l.allowedCidrBlocks,
            testPorts: [testPort],
            testAllowedCidrBlocks: l.testAllowedCidrBlocks,
            tags: args.tags,
            transform: t,
        });
        this.loadBalancer = front.loadBalancer;
        this.loadBalancerSecurityGroup = front.loadBalancerSecurityGroup;
        this.appSecurityGroup = front.appSecurityGroup;

        this.cluster = new aws.ecs.Cluster(
            `${name}-cluster`,
            applyTransform<aws.ecs.ClusterArgs>(
                { settings: [{ name: "containerInsights", value: "enabled" }], tags: childTags("blue-green", args.tags) },
                t.cluster,
            ),
            { parent: this },
        );

        // The production database, shared by both colors.
        const bgMode = db.mode === "rds-blue-green";
        this.database = new SnapshotDatabase(
            `${name}-db`,
            applyTransform<SnapshotDatabaseArgs>(
                {
                    role: "blue-green",
                    snapshotIdentifier: db.snapshotIdentifier,
                    sourceInstanceIdentifier: db.sourceInstanceIdentifier,
                    engine: db.engine,
                    engineVersion: db.engineVersion,
                    instanceClass: db.instanceClass,
                    databaseName: db.databaseName,
                    masterPassword: db.masterPassword,
                    backupRetentionPeriod: db.backupRetentionPeriod,
                    multiAz: db.multiAz,
                    rdsBlueGreenReady: bgMode,
                    restoreFrom: db.restoreFrom,
                    vpcId: args.vpcId,
                    subnetIds: args.subnetIds,
                    appSecurityGroupId: this.appSecurityGroup.id,
                    tags: args.tags,
                },
                t.database,
            ),
            { parent: this },
        );

        if (bgMode && db.blueGreen !== undefined) {
            const target = db.blueGreen;
            let targetParameterGroupName: pulumi.Input<string> | undefined;
            if (target.targetEngineVersion !== undefined) {
                const greenParams = new aws.rds.ParameterGroup(
                    `${name}-db-green-params`,
                    applyTransform<aws.rds.ParameterGroupArgs>(
                        {
                            description: `Switchyard: parameters of the green copy of ${name}-db`,
                            family: pulumi
                                .all([this.database.engine, target.targetEngineVersion])
                                .apply(([e, v]) => parameterGroupFamily(e, v)),
                            parameters: this.database.engine.apply(blueGreenParameters),
                            tags: childTags("blue-green", args.tags),
                        },
                        t.greenParameterGroup,
                    ),
                    { parent: this },
                );
                targetParameterGroupName = greenParams.name;
            }
            this.rdsBlueGreenDeployment = new RdsBlueGreenDeployment(
                `${name}-db-bluegreen`,
                applyTransform<RdsBlueGreenDeploymentArgs>(
                    {
                        deploymentName: target.deploymentName ?? `${name}-db-bluegreen`,
                        sourceArn: this.database.arn,
                        targetEngineVersion: target.targetEngineVersion,
                        targetInstanceClass: target.targetInstanceClass,
                        targetParameterGroupName,
                        region: aws.config.region,
                        tags: childTags("blue-green", args.tags),
                    },
                    t.rdsBlueGreenDeployment,
                ),
                { parent: this },
            );
        }

        // The colors. Their services wait for the listener (ECS wants the target group in use).
        const listenerReady = deferred<pulumi.Resource[]>();
        const colorEnv = (color: Color): ColorEnvironment =>
            new ColorEnvironment(
                `${name}-${color}`,
                applyTransform<ColorEnvironmentArgs>(
                    {
                        ...colorArgs(args, color),
                        role: "blue-green",
                        vpcId: args.vpcId,
                        subnetIds: args.subnetIds,
                        securityGroupIds: [this.appSecurityGroup.id],
                        clusterArn: this.cluster.arn,
                        databaseUrl: this.database.connectionUrl,
                        serviceDependsOn: listenerReady.promise,
                        tags: args.tags,
                    },
                    t.colorEnvironment,
                ),
                { parent: this },
            );
        this.blue = colorEnv("blue");
        this.green = colorEnv("green");

        this.listener = new WeightedListener(
            `${name}-listener`,
            applyTransform<WeightedListenerArgs>(
                {
                    loadBalancerArn: this.loadBalancer.arn,
                    targetGroupArns: { blue: this.blue.targetGroupArn, green: this.green.targetGroupArn },
                    traffic,
                    port,
                    testPort,
                    certificateArn: l.certificateArn,
                    stickiness: l.stickiness,
                    cutover: args.cutover,
                    role: "blue-green",
                    tags: args.tags,
                },
                t.listener,
            ),
            { parent: this },
        );
        listenerReady.resolve([this.listener.listener, this.listener.testListener]);

        const dns = this.loadBalancer.dnsName;
        this.url = pulumi
            .all([this.listener.scheme, dns, this.listener.port])
            .apply(([s, d, p]) => `${s}://${d}${(s === "http" && p === 80) || (s === "https" && p === 443) ? "" : `:${p}`}`);
        this.testUrl = pulumi.interpolate`${this.listener.scheme}://${dns}:${this.listener.testPort}`;
        this.listenerArn = this.listener.listenerArn;
        this.testListenerArn = this.listener.testListenerArn;
        this.targetGroupArns = pulumi.all([this.blue.targetGroupArn, this.green.targetGroupArn]).apply(([blue, green]) => ({ blue, green }));
        this.liveColor = traffic.apply(liveColor);
        this.appImage = pulumi
            .all([this.liveColor, this.blue.imageUri, this.green.imageUri])
            .apply(([c, b, g]) => (c === "blue" ? b : g));
        this.databaseIdentifier = this.database.identifier;
        this.engine = this.database.engine;
        this.engineVersion = this.database.engineVersion;
        this.rdsBlueGreenDeploymentId = pulumi.output(this.rdsBlueGreenDeployment?.identifier);

        const rollout = rolloutFromConfig(); // checked by the policy pack (rollout-settings-valid)
        this.registerOutputs({
            platform: "aws",
            weights: traffic,
            trafficConfigKey: this.trafficConfigKey,
            ...(rollout ? { rollout } : {}),
            url: this.url,
            testUrl: this.testUrl,
            listenerArn: this.listenerArn,
            testListenerArn: this.testListenerArn,
            targetGroupArns: this.targetGroupArns,
            liveColor: this.liveColor,
            appImage: this.appImage,
            databaseIdentifier: this.databaseIdentifier,
            engine: this.engine,
            engineVersion: this.engineVersion,
            rdsBlueGreenDeploymentId: this.rdsBlueGreenDeploymentId,
        });
    }
}
