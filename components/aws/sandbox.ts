/**
 * Sandbox: an isolated, expiring copy of production on AWS: its own security groups and ALB
 * (internal by default), a database restored from the production stack's latest snapshot and never
 * public, and the candidate app as one ColorEnvironment.
 */
import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import {
    COLORS,
    Color,
    SandboxLifetimeArgs,
    TAGS,
    Transform,
    applyTransform,
    checkPort,
    checkTtlHours,
    expiryFrom,
    throwIfInvalid,
    TYPE_TOKENS,
} from "../types";
import { AwsAppArgs, AwsNetworkArgs } from "./blueGreen";
import { ColorEnvironment, ColorEnvironmentArgs, ImageBuildArgs, checkColorEnvironmentArgs } from "./colorEnvironment";
import { Engine, checkEngine, checkNow, checkedOutput, childTags, deferred } from "./common";
import { FrontDoorTransforms, frontDoor } from "./frontDoor";
import { SnapshotDatabase, SnapshotDatabaseArgs } from "./snapshotDatabase";
import { ProductionDatabase } from "../productionDatabase";

/** Outputs of the production stack a Sandbox reads. */
export const PRODUCTION_OUTPUTS = ["databaseIdentifier", "engine", "engineVersion", "appImage"] as const;

/** The sandbox's database. */
export interface SandboxDatabaseArgs {
    /**
     * Restore this snapshot instead of the latest snapshot of production's database.
     * @default the latest snapshot (automated or manual) of the production stack's `databaseIdentifier`
     */
    readonly snapshotIdentifier?: pulumi.Input<string>;
    /** Engine; must match the snapshot's. @default the production stack's `engine` output */
    readonly engine?: pulumi.Input<Engine>;
    /**
     * Instance class.
     * @default the class of production's database (the source instance), "db.t4g.micro" when it no longer exists
     * @example "db.t4g.small"
     */
    readonly instanceClass?: pulumi.Input<string>;
    /** Database name in DATABASE_URL. @default the snapshot's @example "shop" */
    readonly databaseName?: pulumi.Input<string>;
    /**
     * Not taken: a sandbox restored from production's snapshot always gets credentials of its own
     * (a password generated for it, or one RDS manages), never one given (which could be production's).
     * Giving one is refused.
     * @default none: refused when given
     * @deprecated leave it out; set `manageMasterUserPassword` instead
     */
    readonly masterPassword?: pulumi.Input<string>;
    /**
     * Let RDS manage the sandbox database's master password in AWS Secrets Manager (recommended):
     * the restore gets a new secret of its own, no password sits in the stack's state, and the app
     * gets it as `DATABASE_PASSWORD` from the secret. A plain value.
     * @default false: a password generated for the sandbox, kept as a secret in its state
     * @example true
     */
    readonly manageMasterUserPassword?: boolean;
}

/** Arguments of a Sandbox. */
export interface SandboxArgs extends SandboxLifetimeArgs, AwsNetworkArgs {
    /**
     * The production stack to copy, as `organization/project/stack`; it must export
     * databaseIdentifier, engine, engineVersion and appImage (a BlueGreen does). Required: no default.
     * @example "organization/switchyard/prod"
     */
    readonly productionStack: pulumi.Input<string>;
    /**
     * Version of the candidate app; given to the app as `VERSION`. Required: no default.
     * @example "1.5.0"
     */
    readonly version: pulumi.Input<string>;
    /**
     * Color label of the candidate (given to the app as `COLOR`); a plain value.
     * @default "green"
     */
    readonly color?: Color;
    /**
     * Image of the candidate.
     * @default the production stack's `appImage`, unless `build` is given
     */
    readonly image?: pulumi.Input<string>;
    /** Build the candidate's image from source instead. @default none */
    readonly build?: ImageBuildArgs;
    /** The app's settings (port, health check, environment, size). @default port 8080, one task */
    readonly app?: Omit<AwsAppArgs, "image" | "build">;
    /** The database. @default the latest production snapshot, production's engine */
    readonly database?: SandboxDatabaseArgs;
    /**
     * An internal ALB, reachable only inside the VPC; a plain value. A sandbox holds a copy of
     * production data, so it is not on the internet unless asked.
     * @default true
     */
    readonly internal?: boolean;
    /** Port of the sandbox's listener. @default 80 */
    readonly port?: pulumi.Input<number>;
    /** Who may reach the listener. @default the VPC's CIDR block (internal) or anyone */
    readonly allowedCidrBlocks?: pulumi.Input<pulumi.Input<string>[]>;
    /** The clock the expiry is computed from. @default () => new Date() */
    readonly clock?: () => Date;
    /**
     * Tags for every resource; `switchyard:role=sandbox` and `switchyard:expires-at` are always set.
     * @default {}
     */
    readonly tags?: pulumi.Input<Record<string, pulumi.Input<string>>>;
    /**
     * Adjust a child's arguments before it is created: `production` (the StackReference
     * `<name>-production`), `loadBalancer` (`<name>-alb`), `loadBalancerSecurityGroup`
     * (`<name>-alb-sg`), `appSecurityGroup` (`<name>-app-sg`), `database` (`<name>-db`), `app`
     * (`<name>-app`), `listener` (`<name>-listener`).
     * @default {}: no child is adjusted
     * @example { database: (a) => ({ ...a, instanceClass: "db.t4g.small" }) }
     */
    readonly transform?: FrontDoorTransforms & {
        readonly production?: Transform<pulumi.StackReferenceArgs>;
        readonly database?: Transform<SnapshotDatabaseArgs>;
        readonly app?: Transform<ColorEnvironmentArgs>;
        readonly listener?: Transform<aws.lb.ListenerArgs>;
    };
}

const PENDING = "(created by Sandbox)";

/** Validates the plain arguments of a Sandbox; returns the first problem. */
export function checkSandboxArgs(args: SandboxArgs | undefined): string | undefined {
    if (!args) {
        return "Sandbox needs arguments: productionStack, ttlHours, version and the network";
    }
    const ttl = checkNow(args.ttlHours, checkTtlHours);
    if (ttl) {
        return ttl;
    }
    if (args.productionStack === undefined || args.productionStack === "") {
        return 'productionStack is missing: name the stack to copy, e.g. "organization/switchyard/prod"';
    }
    if (args.color !== undefined && !(COLORS as readonly unknown[]).includes(args.color)) {
        return `color ${JSON.stringify(args.color)} is unknown: use "blue" or "green"`;
    }
    if (args.database?.masterPassword !== undefined) {
        return (
            "masterPassword is set for a sandbox: a sandbox restored from production's snapshot always gets credentials of its own " +
            "(a password generated for it, or one RDS manages with database.manageMasterUserPassword); leave it out"
        );
    }
    if (args.database?.engine !== undefined) {
        const e = checkNow(args.database.engine, checkEngine);
        if (e) {
            return e;
        }
    }
    if (args.vpcId === undefined || args.subnetIds === undefined) {
        return "vpcId and subnetIds are missing: the sandbox needs its network";
    }
    if (args.internal === false && args.publicSubnetIds === undefined) {
        return "an internet-facing sandbox ALB needs publicSubnetIds";
    }
    if (args.image !== undefined && args.build !== undefined) {
        return "give image or build for the candidate, not both";
    }
    const port = checkNow(args.port, (p) => checkPort("port", p ?? 80));
    if (port) {
        return port;
    }
    return checkColorEnvironmentArgs({
        ...(args.app ?? {}),
        color: args.color ?? "green",
        version: args.version,
        image: args.build === undefined ? (args.image ?? PENDING) : undefined,
        build: args.build,
        vpcId: PENDING,
        subnetIds: [PENDING],
        securityGroupIds: [PENDING],
    });
}

/**
 * An expiring copy of production: own ALB (internal by default) and security groups, a database
 * restored from the latest snapshot of the production stack's database (found through a
 * StackReference) and never public, and the candidate app. Every resource is tagged
 * `switchyard:role=sandbox` and `switchyard:expires-at`; the database also with
 * `switchyard:source-snapshot`. A sandbox without ttlHours is refused.
 *
 * @example
 * new Sandbox("shop-sandbox", {
 *     productionStack: "organization/switchyard/prod", ttlHours: 24, version: "1.5.0",
 *     image: "123456789012.dkr.ecr.us-east-1.amazonaws.com/shop:1.5.0", vpcId, subnetIds,
 * });
 */
export class Sandbox extends pulumi.ComponentResource {
    public readonly production: pulumi.StackReference;
    public readonly loadBalancer: aws.lb.LoadBalancer;
    public readonly loadBalancerSecurityGroup: aws.ec2.SecurityGroup;
    public readonly appSecurityGroup: aws.ec2.SecurityGroup;
    public readonly database: SnapshotDatabase;
    public readonly app: ColorEnvironment;
    public readonly listener: aws.lb.Listener;

    public readonly url: pulumi.Output<string>;
    public readonly expiresAt: pulumi.Output<string>;
    public readonly databaseIdentifier: pulumi.Output<string>;
    /** The production snapshot the database was restored from. */
    public readonly sourceSnapshotIdentifier: pulumi.Output<string>;
    public readonly appImage: pulumi.Output<string>;
    public readonly engine: pulumi.Output<Engine>;
    public readonly engineVersion: pulumi.Output<string>;

    constructor(name: string, args: SandboxArgs, opts?: pulumi.ComponentResourceOptions) {
        super(TYPE_TOKENS.awsSandbox, name, {}, opts);
        throwIfInvalid(this, checkSandboxArgs(args));

        const t = args.transform ?? {};
        const internal = args.internal ?? true;
        const clock = args.clock ?? (() => new Date());
        const ttlHours = checkedOutput(this, args.ttlHours, checkTtlHours);
        const expiresAt = ttlHours.apply((h) => expiryFrom(clock(), h));
        const app = args.app ?? {};
        const appPort = app.port ?? 8080;
        const port = args.port ?? 80;
        const tags = pulumi.all([args.tags ?? {}, expiresAt]).apply(([t0, e]) => ({ ...t0, [TAGS.expiresAt]: e }));

        this.production = new pulumi.StackReference(
            `${name}-production`,
            applyTransform<pulumi.StackReferenceArgs>({ name: args.productionStack }, t.production),
            { parent: this },
        );
        // Production's database endpoint, kept here for the policy sandbox-no-production-db.
        new ProductionDatabase(`${name}-production-db`, { reference: this.production }, { parent: this });
        const prod = (key: (typeof PRODUCTION_OUTPUTS)[number]): pulumi.Output<string> =>
            this.production.getOutput(key).apply((v) => {
                throwIfInvalid(
                    this,
                    typeof v === "string" && v !== "" ? undefined : `the production stack does not export ${key}: a Sandbox reads ${PRODUCTION_OUTPUTS.join(", ")}`,
                );
                return v as string;
            });

        const front = frontDoor(this, name, {
            role: "sandbox",
            vpcId: args.vpcId,
            subnetIds: internal ? args.subnetIds : args.publicSubnetIds!,
            internal,
            appPort,
            ports: [port],
            allowedCidrBlocks: args.allowedCidrBlocks,
            tags,
            transform: t,
        });
        this.loadBalancer = front.loadBalancer;
        this.loadBalancerSecurityGroup = front.loadBalancerSecurityGroup;
        this.appSecurityGroup = front.appSecurityGroup;

        const dbArgs = args.database ?? {};
        this.database = new SnapshotDatabase(
            `${name}-db`,
            applyTransform<SnapshotDatabaseArgs>(
                {
                    role: "sandbox",
                    ttlHours: args.ttlHours,
                    expiresAt,
                    snapshotIdentifier: dbArgs.snapshotIdentifier,
                    sourceInstanceIdentifier: dbArgs.snapshotIdentifier === undefined ? prod("databaseIdentifier") : undefined,
                    engine: dbArgs.engine ?? (prod("engine") as pulumi.Output<Engine>),
                    engineVersion: prod("engineVersion"),
                    instanceClass: dbArgs.instanceClass,
                    databaseName: dbArgs.databaseName,
                    manageMasterUserPassword: dbArgs.manageMasterUserPassword,
                    vpcId: args.vpcId,
                    subnetIds: args.subnetIds,
                    appSecurityGroupId: this.appSecurityGroup.id,
                    clock,
                    tags,
                },
                t.database,
            ),
            { parent: this },
        );

        const listenerReady = deferred<pulumi.Resource[]>();
        this.app = new ColorEnvironment(
            `${name}-app`,
            applyTransform<ColorEnvironmentArgs>(
                {
                    ...app,
                    color: args.color ?? "green",
                    version: args.version,
                    image: args.build === undefined ? (args.image ?? prod("appImage")) : undefined,
                    build: args.build,
                    desiredCount: app.desiredCount ?? 1,
                    role: "sandbox",
                    vpcId: args.vpcId,
                    subnetIds: args.subnetIds,
                    securityGroupIds: [this.appSecurityGroup.id],
                    databaseUrl: this.database.connectionUrl,
                    ...(dbArgs.manageMasterUserPassword === true ? { databasePasswordSecretArn: this.database.masterUserSecretArn } : {}),
                    serviceDependsOn: listenerReady.promise,
                    tags,
                },
                t.app,
            ),
            { parent: this },
        );

        this.listener = new aws.lb.Listener(
            `${name}-listener`,
            applyTransform<aws.lb.ListenerArgs>(
                {
                    loadBalancerArn: this.loadBalancer.arn,
                    port: checkedOutput(this, port, (p) => checkPort("port", p)),
                    protocol: "HTTP",
                    defaultActions: [{ type: "forward", forward: { targetGroups: [{ arn: this.app.targetGroupArn, weight: 1 }] } }],
                    tags: childTags("sandbox", tags),
                },
                t.listener,
            ),
            { parent: this },
        );
        listenerReady.resolve([this.listener]);

        this.url = pulumi.all([this.loadBalancer.dnsName, this.listener.port]).apply(([d, p]) => `http://${d}${p === 80 ? "" : `:${p}`}`);
        this.expiresAt = expiresAt;
        this.databaseIdentifier = this.database.identifier;
        this.sourceSnapshotIdentifier = this.database.snapshotIdentifier;
        this.appImage = this.app.imageUri;
        this.engine = this.database.engine;
        this.engineVersion = this.database.engineVersion;
        this.registerOutputs({
            platform: "aws",
            url: this.url,
            version: args.version,
            expiresAt: this.expiresAt,
            databaseIdentifier: this.databaseIdentifier,
            sourceSnapshotIdentifier: this.sourceSnapshotIdentifier,
            appImage: this.appImage,
            engine: this.engine,
            engineVersion: this.engineVersion,
        });
    }
}
