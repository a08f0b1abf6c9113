/**
 * ColorEnvironment: one color of a blue-green pair on ECS Fargate: a task definition, a service,
 * and a target group (IP targets) with an HTTP health check.
 */
import * as aws from "@pulumi/aws";
import * as docker from "@pulumi/docker";
import * as pulumi from "@pulumi/pulumi";
import {
    COLORS,
    Color,
    ColorArgs,
    DEFAULT_HEALTH_CHECK,
    HealthCheck,
    HealthCheckArgs,
    Role,
    TAGS,
    Transform,
    applyTransform,
    checkPort,
    resolveHealthCheck,
    throwIfInvalid,
} from "../types";
import { checkIntRange, checkNow, checkedOutput, childTags, isEventual } from "./common";
import { FLAGD_CONTAINER, flagdAppEnvironment, flagdSidecar, flagsReadPolicy } from "./flags";

/** Environment variables the component sets itself; `environment` may not override them. */
export const RESERVED_ENV = ["PORT", "COLOR", "VERSION", "DATABASE_URL"] as const;

/** The container's name in the task definition. */
export const CONTAINER_NAME = "app";

/** An image to build from source and push to a new ECR repository. */
export interface ImageBuildArgs {
    /**
     * Build context folder. Required: no default.
     * @example "./app"
     */
    readonly context: pulumi.Input<string>;
    /**
     * Dockerfile, relative to the context.
     * @default "Dockerfile"
     */
    readonly dockerfile?: pulumi.Input<string>;
    /**
     * Target platform of the image.
     * @default "linux/amd64"
     */
    readonly platform?: pulumi.Input<string>;
    /**
     * Build arguments.
     * @default {}
     */
    readonly args?: pulumi.Input<Record<string, pulumi.Input<string>>>;
}

/** Arguments of a ColorEnvironment. */
export interface ColorEnvironmentArgs extends ColorArgs {
    /**
     * The color; a plain value because it names and tags the children. Given to the app as `COLOR`.
     * Required: no default.
     * @example "green"
     */
    readonly color: Color;
    /**
     * Image URI to run. Give this or `build`.
     * @default none: the image `build` produces
     * @example "123456789012.dkr.ecr.us-east-1.amazonaws.com/shop:1.5.0"
     */
    readonly image?: pulumi.Input<string>;
    /**
     * Build the image from source and push it to a new ECR repository, tagged with `version`. Give
     * this or `image`.
     * @default none: `image` is run
     * @example { context: "./app" }
     */
    readonly build?: ImageBuildArgs;
    /**
     * Port the app listens on; given to the app as `PORT`.
     * @default 8080
     */
    readonly port?: pulumi.Input<number>;
    /**
     * The target group's health check. Interval 5 to 300 seconds, thresholds 2 to 10.
     * @default { path: "/healthz", intervalSeconds: 5, healthyThreshold: 2, unhealthyThreshold: 3 }
     */
    readonly healthCheck?: HealthCheckArgs;
    /**
     * Connection URL of the database, given to the app as `DATABASE_URL`. Stored as an SSM
     * SecureString and injected by ECS, so it never appears in the task definition.
     * @default none: no DATABASE_URL
     */
    readonly databaseUrl?: pulumi.Input<string>;
    /**
     * The Secrets Manager secret holding the database's master password, when RDS manages it
     * (SnapshotDatabase `masterUserSecretArn`): ECS injects its `password` as `DATABASE_PASSWORD`
     * (then `databaseUrl` carries no password), and the execution role may read only that secret.
     * @default none: no DATABASE_PASSWORD
     */
    readonly databasePasswordSecretArn?: pulumi.Input<string | undefined>;
    /**
     * VPC of the target group. Required: no default.
     * @example "vpc-0a1b2c3d4e5f60718"
     */
    readonly vpcId: pulumi.Input<string>;
    /** Private subnets the tasks run in (no public IP is assigned). Required: no default. */
    readonly subnetIds: pulumi.Input<pulumi.Input<string>[]>;
    /** Security groups of the tasks (the app's security group). Required: no default. */
    readonly securityGroupIds: pulumi.Input<pulumi.Input<string>[]>;
    /**
     * ECS cluster to run in.
     * @default a new cluster for this color
     */
    readonly clusterArn?: pulumi.Input<string>;
    /**
     * Number of tasks.
     * @default 2
     */
    readonly desiredCount?: pulumi.Input<number>;
    /**
     * CPU units per task (256 = 1/4 vCPU).
     * @default 256
     */
    readonly cpu?: pulumi.Input<number>;
    /**
     * Memory per task, MiB.
     * @default 512
     */
    readonly memory?: pulumi.Input<number>;
    /**
     * Seconds the target group lets in-flight requests finish when a task leaves.
     * @default 30
     */
    readonly deregistrationDelaySeconds?: pulumi.Input<number>;
    /**
     * Seconds ECS ignores failing health checks of a new task.
     * @default 30
     */
    readonly healthCheckGracePeriodSeconds?: pulumi.Input<number>;
    /**
     * Days the app's logs are kept.
     * @default 30
     */
    readonly logRetentionDays?: pulumi.Input<number>;
    /**
     * IAM role the app's code runs as.
     * @default none
     */
    readonly taskRoleArn?: pulumi.Input<string>;
    /**
     * Feature flags: a flagd sidecar syncing the stack's flagd file from S3 (an AwsFlags' `uri` and
     * `objectArn`), and the app pointed at it (`FLAGD_RESOLVER=in-process`, `FLAGD_HOST`,
     * `FLAGD_PORT`). Without a taskRoleArn, a task role that may read the object is made
     * (`<name>-task-role`); a given task role must be allowed `s3:GetObject` on it.
     * @default none: no sidecar
     */
    readonly flags?: { readonly uri: pulumi.Input<string>; readonly objectArn: pulumi.Input<string>; readonly image?: string };
    /**
     * Wait, during the update, until the service's tasks are running and healthy.
     * @default true
     */
    readonly waitForSteadyState?: pulumi.Input<boolean>;
    /**
     * Role of the stack, for the `switchyard:role` tag.
     * @default "blue-green"
     */
    readonly role?: Role;
    /**
     * Resources the service waits for: the listener forwarding to this color's target group (ECS
     * refuses a target group that no load balancer uses yet).
     * @default []
     */
    readonly serviceDependsOn?: pulumi.Input<pulumi.Input<pulumi.Resource>[]>;
    /**
     * Tags for every child; `switchyard:role` and `switchyard:color` are always set.
     * @default {}
     */
    readonly tags?: pulumi.Input<Record<string, pulumi.Input<string>>>;
    /**
     * Adjust a child's arguments before it is created: `repository` (`<name>-repo`) and `image`
     * (`<name>-image`) when built, `cluster` (`<name>-cluster`) without a clusterArn, `logGroup`
     * (`<name>-logs`), `executionRole` (`<name>-execution-role`), `executionPolicy`
     * (`<name>-execution-policy`), `databaseUrlParameter` (`<name>-database-url`) and
     * `databaseUrlPolicy` (`<name>-read-database-url`) with a databaseUrl, `targetGroup`
     * (`<name>-tg`), `taskDefinition` (`<name>-task`), `service` (`<name>-service`).
     * @default {}: no child is adjusted
     * @example { service: (a) => ({ ...a, enableExecuteCommand: true }) }
     */
    readonly transform?: {
        readonly repository?: Transform<aws.ecr.RepositoryArgs>;
        readonly image?: Transform<docker.ImageArgs>;
        readonly cluster?: Transform<aws.ecs.ClusterArgs>;
        readonly logGroup?: Transform<aws.cloudwatch.LogGroupArgs>;
        readonly executionRole?: Transform<aws.iam.RoleArgs>;
        readonly executionPolicy?: Transform<aws.iam.RolePolicyAttachmentArgs>;
        readonly databaseUrlParameter?: Transform<aws.ssm.ParameterArgs>;
        readonly databaseUrlPolicy?: Transform<aws.iam.RolePolicyArgs>;
        readonly targetGroup?: Transform<aws.lb.TargetGroupArgs>;
        readonly taskDefinition?: Transform<aws.ecs.TaskDefinitionArgs>;
        readonly service?: Transform<aws.ecs.ServiceArgs>;
    };
}

/** Checks a resolved health check against what an ALB target group accepts. */
export function checkAlbHealthCheck(h: HealthCheck): string | undefined {
    if (typeof h.path !== "string" || !h.path.startsWith("/")) {
        return `health check path is ${JSON.stringify(h.path)}: it must start with "/"`;
    }
    return (
        checkIntRange("health check intervalSeconds", h.intervalSeconds, 5, 300) ??
        checkIntRange("health check healthyThreshold", h.healthyThreshold, 2, 10) ??
        checkIntRange("health check unhealthyThreshold", h.unhealthyThreshold, 2, 10)
    );
}

/** The ALB health check timeout for an interval: shorter than the interval, 2 to 120 seconds. */
export function healthCheckTimeout(intervalSeconds: number): number {
    return Math.min(120, Math.max(2, intervalSeconds - 1));
}

/** Validates the plain arguments of a ColorEnvironment; returns the first problem. */
export function checkColorEnvironmentArgs(args: ColorEnvironmentArgs | undefined): string | undefined {
    if (!args) {
        return "ColorEnvironment needs arguments: color, version, image or build, and the network";
    }
    if (!(COLORS as readonly unknown[]).includes(args.color)) {
        return `color ${JSON.stringify(args.color)} is unknown: use "blue" or "green"`;
    }
    if (args.version === undefined || args.version === "") {
        return `color ${args.color} has no version: set version (given to the app as VERSION)`;
    }
    if ((args.image === undefined) === (args.build === undefined)) {
        return `color ${args.color}: give exactly one of image (an image URI) or build ({ context })`;
    }
    for (const [what, v] of [
        ["vpcId", args.vpcId],
        ["subnetIds", args.subnetIds],
        ["securityGroupIds", args.securityGroupIds],
    ] as const) {
        if (v === undefined) {
            return `color ${args.color}: ${what} is missing`;
        }
    }
    const port = checkNow(args.port, (p) => checkPort("port", p ?? 8080));
    if (port) {
        return port;
    }
    const h = args.healthCheck ?? {};
    const hc = Object.values(h).some(isEventual) ? undefined : checkAlbHealthCheck(resolveHealthCheck(h as Partial<HealthCheck>));
    if (hc) {
        return hc;
    }
    const env = args.environment;
    if (env !== undefined && !isEventual(env)) {
        const clash = Object.keys(env).filter((k) => (RESERVED_ENV as readonly string[]).includes(k));
        if (clash.length > 0) {
            return `environment sets ${clash.join(", ")}: ${RESERVED_ENV.join(", ")} are set by Switchyard`;
        }
    }
    return (
        checkNow(args.desiredCount, (v) => (v === undefined ? undefined : checkIntRange("desiredCount", v, 0, 1000))) ??
        checkNow(args.deregistrationDelaySeconds, (v) => (v === undefined ? undefined : checkIntRange("deregistrationDelaySeconds", v, 0, 3600)))
    );
}

/**
 * One color on ECS Fargate: a service running the app's image, its task definition (environment
 * PORT, COLOR, VERSION and DATABASE_URL), a log group, an execution role, and a target group of IP
 * targets with an HTTP health check. The image is either given, or built and pushed to ECR.
 *
 * @example
 * new ColorEnvironment("shop-green", {
 *     color: "green", version: "1.5.0", image: "123456789012.dkr.ecr.us-east-1.amazonaws.com/shop:1.5.0",
 *     vpcId, subnetIds, securityGroupIds: [appSg.id], databaseUrl: db.connectionUrl,
 * });
 */
export class ColorEnvironment extends pulumi.ComponentResource {
    public readonly color: Color;
    public readonly targetGroup: aws.lb.TargetGroup;
    public readonly taskDefinition: aws.ecs.TaskDefinition;
    public readonly service: aws.ecs.Service;
    public readonly logGroup: aws.cloudwatch.LogGroup;
    public readonly executionRole: aws.iam.Role;
    /** The cluster created for this color, when no clusterArn was given. */
    public readonly cluster?: aws.ecs.Cluster;
    /** The ECR repository and image, when the image is built. */
    public readonly repository?: aws.ecr.Repository;
    public readonly image?: docker.Image;
    /** The SSM parameter holding DATABASE_URL, when a database URL is given. */
    public readonly databaseUrlParameter?: aws.ssm.Parameter;
    /** The task role made to read the flags, when flags are given without a taskRoleArn. */
    public readonly taskRole?: aws.iam.Role;
    public readonly targetGroupArn: pulumi.Output<string>;
    /** The image the service runs (a digest reference when built). */
    public readonly imageUri: pulumi.Output<string>;
    public readonly version: pulumi.Output<string>;
    public readonly port: pulumi.Output<number>;

    constructor(name: string, args: ColorEnvironmentArgs, opts?: pulumi.ComponentResourceOptions) {
        super("switchyard:aws:ColorEnvironment", name, {}, opts);
        throwIfInvalid(this, checkColorEnvironmentArgs(args));

        const t = args.transform ?? {};
        const color = args.color;
        const role = args.role ?? "blue-green";
        const tags = childTags(role, args.tags, { [TAGS.color]: color });
        const port = checkedOutput(this, args.port ?? 8080, (p) => checkPort("port", p));
        const health = checkedOutput(
            this,
            pulumi.output(args.healthCheck ?? {}).apply((h) => resolveHealthCheck(h as Partial<HealthCheck>, DEFAULT_HEALTH_CHECK)),
            (h) => checkAlbHealthCheck(h!),
        );
        const version = pulumi.output(args.version);

        // The image: given, or built and pushed to a new ECR repository.
        let imageUri: pulumi.Output<string>;
        if (args.build !== undefined) {
            this.repository = new aws.ecr.Repository(
                `${name}-repo`,
                applyTransform<aws.ecr.RepositoryArgs>(
                    { imageScanningConfiguration: { scanOnPush: true }, imageTagMutability: "MUTABLE", forceDelete: false, tags },
                    t.repository,
                ),
                { parent: this },
            );
            const token = aws.ecr.getAuthorizationTokenOutput({ registryId: this.repository.registryId }, { parent: this });
            this.image = new docker.Image(
                `${name}-image`,
                applyTransform<docker.ImageArgs>(
                    {
                        imageName: pulumi.interpolate`${this.repository.repositoryUrl}:${version}`,
                        build: {
                            context: args.build.context,
                            dockerfile: args.build.dockerfile,
                            platform: args.build.platform ?? "linux/amd64",
                            args: args.build.args,
                        },
                        registry: {
                            server: this.repository.repositoryUrl,
                            username: token.userName,
                            password: pulumi.secret(token.password),
                        },
                    },
                    t.image,
                ),
                { parent: this },
            );
            imageUri = this.image.repoDigest;
        } else {
            imageUri = pulumi.output(args.image!);
        }

        if (args.clusterArn === undefined) {
            this.cluster = new aws.ecs.Cluster(
                `${name}-cluster`,
                applyTransform<aws.ecs.ClusterArgs>({ settings: [{ name: "containerInsights", value: "enabled" }], tags }, t.cluster),
                { parent: this },
            );
        }
        const clusterArn = args.clusterArn ?? this.cluster!.arn;

        this.logGroup = new aws.cloudwatch.LogGroup(
            `${name}-logs`,
            applyTransform<aws.cloudwatch.LogGroupArgs>({ retentionInDays: args.logRetentionDays ?? 30, tags }, t.logGroup),
            { parent: this },
        );

        this.executionRole = new aws.iam.Role(
            `${name}-execution-role`,
            applyTransform<aws.iam.RoleArgs>(
                {
                    description: `Switchyard: ECS pulls the image, writes logs and reads DATABASE_URL for ${name}`,
                    assumeRolePolicy: JSON.stringify({
                        Version: "2012-10-17",
                        Statement: [{ Effect: "Allow", Principal: { Service: "ecs-tasks.amazonaws.com" }, Action: "sts:AssumeRole" }],
                    }),
                    tags,
                },
                t.executionRole,
            ),
            { parent: this },
        );
        const executionPolicy = new aws.iam.RolePolicyAttachment(
            `${name}-execution-policy`,
            applyTransform<aws.iam.RolePolicyAttachmentArgs>(
                { role: this.executionRole.name, policyArn: aws.iam.ManagedPolicy.AmazonECSTaskExecutionRolePolicy },
                t.executionPolicy,
            ),
            { parent: this },
        );

        const secrets: pulumi.Output<{ name: string; valueFrom: string }[]>[] = [];
        const executionDeps: pulumi.Resource[] = [executionPolicy];
        if (args.databaseUrl !== undefined) {
            this.databaseUrlParameter = new aws.ssm.Parameter(
                `${name}-database-url`,
                applyTransform<aws.ssm.ParameterArgs>(
                    {
                        name: `/switchyard/${pulumi.getProject()}/${pulumi.getStack()}/${name}/database-url`,
                        description: `Switchyard: DATABASE_URL of ${name}`,
                        type: "SecureString",
                        value: pulumi.secret(args.databaseUrl),
                        tags,
                    },
                    t.databaseUrlParameter,
                ),
                { parent: this },
            );
            const param = this.databaseUrlParameter;
            executionDeps.push(
                new aws.iam.RolePolicy(
                    `${name}-read-database-url`,
                    applyTransform<aws.iam.RolePolicyArgs>(
                        {
                            role: this.executionRole.id,
                            policy: pulumi.jsonStringify({
                                Version: "2012-10-17",
                                Statement: [{ Effect: "Allow", Action: ["ssm:GetParameters"], Resource: [param.arn] }],
                            }),
                        },
                        t.databaseUrlPolicy,
                    ),
                    { parent: this },
                ),
            );
            secrets.push(param.arn.apply((arn) => [{ name: "DATABASE_URL", valueFrom: arn }]));
        }
        if (args.databasePasswordSecretArn !== undefined) {
            const secretArn = pulumi.output(args.databasePasswordSecretArn);
            executionDeps.push(
                new aws.iam.RolePolicy(
                    `${name}-read-database-password`,
                    {
                        role: this.executionRole.id,
                        policy: pulumi.jsonStringify({
                            Version: "2012-10-17",
                            Statement: [{ Effect: "Allow", Action: ["secretsmanager:GetSecretValue"], Resource: [secretArn] }],
                        }),
                    },
                    { parent: this },
                ),
            );
            secrets.push(secretArn.apply((arn) => (arn ? [{ name: "DATABASE_PASSWORD", valueFrom: `${arn}:password::` }] : [])));
        }

        this.targetGroup = new aws.lb.TargetGroup(
            `${name}-tg`,
            applyTransform<aws.lb.TargetGroupArgs>(
                {
                    targetType: "ip",
                    protocol: "HTTP",
                    port,
                    vpcId: args.vpcId,
                    deregistrationDelay: args.deregistrationDelaySeconds ?? 30,
                    healthCheck: {
                        enabled: true,
                        protocol: "HTTP",
                        path: health.path,
                        interval: health.intervalSeconds,
                        timeout: health.intervalSeconds.apply(healthCheckTimeout),
                        healthyThreshold: health.healthyThreshold,
                        unhealthyThreshold: health.unhealthyThreshold,
                        matcher: "200-299",
                    },
                    tags,
                },
                t.targetGroup,
            ),
            { parent: this },
        );

        let taskRoleArn = args.taskRoleArn;
        if (args.flags !== undefined && taskRoleArn === undefined) {
            this.taskRole = new aws.iam.Role(
                `${name}-task-role`,
                {
                    description: `Switchyard: ${name}'s flagd sidecar reads the flags`,
                    assumeRolePolicy: JSON.stringify({
                        Version: "2012-10-17",
                        Statement: [{ Effect: "Allow", Principal: { Service: "ecs-tasks.amazonaws.com" }, Action: "sts:AssumeRole" }],
                    }),
                    tags,
                },
                { parent: this },
            );
            executionDeps.push(
                new aws.iam.RolePolicy(`${name}-read-flags`, { role: this.taskRole.id, policy: pulumi.output(args.flags.objectArn).apply(flagsReadPolicy) }, { parent: this }),
            );
            taskRoleArn = this.taskRole.arn;
        }
        const region = aws.getRegionOutput({}, { parent: this }).region;
        const flagsUri = args.flags !== undefined ? pulumi.output(args.flags.uri) : pulumi.output(undefined);
        const containerDefinitions = pulumi
            .all([imageUri, port, version, pulumi.output(args.environment ?? {}), this.logGroup.name, region, pulumi.all(secrets), flagsUri])
            .apply(([image, p, v, extra, logGroup, r, secretLists, uri]) => {
                const clash = Object.keys(extra).filter((k) => (RESERVED_ENV as readonly string[]).includes(k));
                throwIfInvalid(this, clash.length > 0 ? `environment sets ${clash.join(", ")}: ${RESERVED_ENV.join(", ")} are set by Switchyard` : undefined);
                const flagsEnv = uri !== undefined ? flagdAppEnvironment() : {};
                const env: Record<string, string> = { ...flagsEnv, ...(extra as Record<string, string>), PORT: String(p), COLOR: color, VERSION: v };
                const sidecar = uri !== undefined ? [flagdSidecar({ uri, region: r, logGroup, streamPrefix: color, image: args.flags?.image })] : [];
                return JSON.stringify([
                    {
                        ...(uri !== undefined ? { dependsOn: [{ containerName: FLAGD_CONTAINER, condition: "START" }] } : {}),
                        name: CONTAINER_NAME,
                        image,
                        essential: true,
                        portMappings: [{ containerPort: p, protocol: "tcp" }],
                        environment: Object.keys(env)
                            .sort()
                            .map((k) => ({ name: k, value: env[k] })),
                        secrets: secretLists.flat(),
                        logConfiguration: {
                            logDriver: "awslogs",
                            options: { "awslogs-group": logGroup, "awslogs-region": r, "awslogs-stream-prefix": color },
                        },
                    },
                    ...sidecar,
                ]);
            });

        this.taskDefinition = new aws.ecs.TaskDefinition(
            `${name}-task`,
            applyTransform<aws.ecs.TaskDefinitionArgs>(
                {
                    family: `${name}`,
                    requiresCompatibilities: ["FARGATE"],
                    networkMode: "awsvpc",
                    cpu: pulumi.output(args.cpu ?? 256).apply(String),
                    memory: pulumi.output(args.memory ?? 512).apply(String),
                    executionRoleArn: this.executionRole.arn,
                    taskRoleArn,
                    runtimePlatform: { operatingSystemFamily: "LINUX", cpuArchitecture: "X86_64" },
                    containerDefinitions,
                    tags,
                },
                t.taskDefinition,
            ),
            { parent: this, dependsOn: executionDeps },
        );

        this.service = new aws.ecs.Service(
            `${name}-service`,
            applyTransform<aws.ecs.ServiceArgs>(
                {
                    cluster: clusterArn,
                    taskDefinition: this.taskDefinition.arn,
                    desiredCount: args.desiredCount ?? 2,
                    launchType: "FARGATE",
                    networkConfiguration: { subnets: args.subnetIds, securityGroups: args.securityGroupIds, assignPublicIp: false },
                    loadBalancers: [{ targetGroupArn: this.targetGroup.arn, containerName: CONTAINER_NAME, containerPort: port }],
                    healthCheckGracePeriodSeconds: args.healthCheckGracePeriodSeconds ?? 30,
                    deploymentCircuitBreaker: { enable: true, rollback: true },
                    propagateTags: "SERVICE",
                    enableEcsManagedTags: true,
                    waitForSteadyState: args.waitForSteadyState ?? true,
                    tags,
                },
                t.service,
            ),
            { parent: this, dependsOn: args.serviceDependsOn ?? [] },
        );

        this.color = color;
        this.targetGroupArn = this.targetGroup.arn;
        this.imageUri = imageUri;
        this.version = version;
        this.port = port;
        this.registerOutputs({
            color,
            targetGroupArn: this.targetGroupArn,
            imageUri: this.imageUri,
            version: this.version,
            port: this.port,
            serviceName: this.service.name,
        });
    }
}
