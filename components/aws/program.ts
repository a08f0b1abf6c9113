/**
 * The AWS program: builds a BlueGreen pair or a Sandbox from the stack's `switchyard:*`
 * configuration (see stacks/Pulumi.prod.yaml and stacks/Pulumi.sandbox.yaml).
 *
 *   switchyard:role      "blue-green" or "sandbox"
 *   switchyard:traffic   { blue, green }                       (blue-green)
 *   switchyard:colors    { blue: { version, image? }, green: { version, image? } }
 *   switchyard:app       { image?, build?, port?, healthCheck?, environment?, desiredCount?, cpu?, memory? }
 *   switchyard:database  { mode, engine?, engineVersion?, sourceInstance?, snapshot?, name?, instanceClass?,
 *                          multiAz?, backupRetentionPeriod?, blueGreen?: { targetEngineVersion?, targetInstanceClass? },
 *                          manageMasterUserPassword? (sandbox; recommended: RDS keeps the password in Secrets Manager),
 *                          restoreFrom? (blue-green: a new instance from this RDS snapshot serves; set by `switchyard restore`) }
 *   switchyard:databasePassword  (secret, optional) the master password; generated and kept otherwise
 *                        (production only: a sandbox always gets credentials of its own, and is refused one)
 *   switchyard:aws       { vpcId, subnetIds, publicSubnetIds?, internal?, listener?: { port?, testPort?,
 *                          certificateArn?, allowedCidrBlocks?, testAllowedCidrBlocks?, stickiness? } }
 *   switchyard:cutover   { steps?, requireTests? }             (blue-green, optional; requireTests is read by the cutover)
 *   switchyard:flags     { <flag>: { variants?, defaultVariant?, onVariant?, internal?, rollout?, state? } }
 *                        (blue-green, optional: an S3 flagd file and a flagd sidecar in each color's task)
 *   switchyard:sandbox   { productionStack, ttlHours, color? } (sandbox)
 *   switchyard:migrations { command, table?, dir? }  read by `switchyard rehearse` (sandbox), not by the program
 *   switchyard:testRuns  the runs `switchyard test` recorded (sandbox; written by it, recorded in the state by TestRunLog)
 *   (the cutover writes only switchyard:traffic here; its checkpoint and intent live in the backend)
 *   switchyard:name      logical name prefix of every resource (default "app"; never change it)
 *
 * A color's image is its own `image`, else the app's image with the tag replaced by the color's
 * version (`.../shop:1.4.2` becomes `.../shop:1.5.0` for version 1.5.0); an image pinned by digest
 * is used as is.
 */
import * as pulumi from "@pulumi/pulumi";
import { Color, DatabaseMode, HealthCheckArgs, TrafficWeights } from "../types";
import { readSandboxCandidate, readStackBasics } from "../config";
import { AwsColorArgs, BlueGreen, BlueGreenListenerArgs, RdsBlueGreenTargetArgs } from "./blueGreen";
import { ImageBuildArgs } from "./colorEnvironment";
import { Engine } from "./common";
import { Sandbox } from "./sandbox";
import { awsConfigKeys, withConfigKeys } from "../configKeys";
import { resolveFlags } from "../flagsConfig";
import { AwsFlags } from "./flags";
import { cutoverPlanOf, TestRunLog } from "../testRuns";

/** `switchyard:app` */
export interface AppConfig {
    image?: string;
    build?: { context: string; dockerfile?: string; platform?: string };
    port?: number;
    healthCheck?: HealthCheckArgs & { path?: string };
    environment?: Record<string, string>;
    desiredCount?: number;
    cpu?: number;
    memory?: number;
}

/** `switchyard:colors.<color>` */
export interface ColorConfig {
    version: string;
    image?: string;
    environment?: Record<string, string>;
}

/** `switchyard:database` */
export interface DatabaseConfig {
    mode: DatabaseMode;
    engine?: Engine;
    engineVersion?: string;
    /** Instance whose latest snapshot the production database is restored from. */
    sourceInstance?: string;
    /** Or a snapshot to restore. */
    snapshot?: string;
    /** Database name in DATABASE_URL. */
    name?: string;
    instanceClass?: string;
    multiAz?: boolean;
    backupRetentionPeriod?: number;
    blueGreen?: { targetEngineVersion?: string; targetInstanceClass?: string; deploymentName?: string };
    /** Sandbox: RDS keeps the master password in Secrets Manager (recommended); none in the state. */
    manageMasterUserPassword?: boolean;
    /** Blue-green: restore the database from this RDS snapshot, beside the one in service (`switchyard restore` sets it). */
    restoreFrom?: string;
}

/** `switchyard:aws` */
export interface AwsConfig {
    vpcId: string;
    subnetIds: string[];
    publicSubnetIds?: string[];
    internal?: boolean;
    listener?: BlueGreenListenerArgs & {
        port?: number;
        testPort?: number;
        certificateArn?: string;
        allowedCidrBlocks?: string[];
        testAllowedCidrBlocks?: string[];
    };
}

export type { SandboxConfig } from "../config";

/**
 * The image of a version: the image with its tag replaced by the version. An image pinned by
 * digest (`@sha256:...`) is returned unchanged. Pure.
 *
 * @example imageForVersion("123456789012.dkr.ecr.us-east-1.amazonaws.com/shop:1.4.2", "1.5.0")
 *          // "123456789012.dkr.ecr.us-east-1.amazonaws.com/shop:1.5.0"
 */
export function imageForVersion(image: string, version: string): string {
    if (image.includes("@")) {
        return image;
    }
    const slash = image.lastIndexOf("/");
    const colon = image.lastIndexOf(":");
    const repository = colon > slash ? image.slice(0, colon) : image;
    return `${repository}:${version}`;
}

function colorConfig(colors: Partial<Record<Color, ColorConfig>> | undefined, app: AppConfig, c: Color): AwsColorArgs {
    const given = colors?.[c];
    if (given === undefined || given.version === undefined) {
        throw new Error(`switchyard:colors.${c}.version is missing: give each color the version it runs, e.g. { version: "1.5.0" }`);
    }
    if (given.image !== undefined || app.image === undefined) {
        return given;
    }
    return { ...given, image: imageForVersion(app.image, String(given.version)) };
}

/**
 * Builds the stack's resources from its configuration (`new pulumi.Config("switchyard")`) and
 * returns the stack outputs.
 */
export function awsProgram(cfg: pulumi.Config = new pulumi.Config("switchyard")): Record<string, pulumi.Output<unknown>> {
    const db = cfg.requireObject<DatabaseConfig>("database");
    const { role, name, colors } = readStackBasics<ColorConfig>(cfg, "aws");
    const app = cfg.getObject<AppConfig>("app") ?? {};
    const net = cfg.requireObject<AwsConfig>("aws");
    const password = cfg.getSecret("databasePassword");
    const build: ImageBuildArgs | undefined = app.build;
    // A refusal names the switchyard:* key the refused value came from; "port is <v>" is the app's or the listener's.
    const keys = awsConfigKeys((shown) => (shown === JSON.stringify(net.listener?.port) && shown !== JSON.stringify(app.port) ? "switchyard:aws.listener.port" : "switchyard:app.port"));

    if (role === "blue-green") {
        const cutover = cutoverPlanOf(cfg);
        const { flags, problems: flagProblems } = resolveFlags(undefined);
        if (flagProblems.length > 0) {
            throw new Error(flagProblems.join("\n"));
        }
        const awsFlags = flags !== undefined ? new AwsFlags(`${name}-flags`, { flags }) : undefined;
        const pair = withConfigKeys(keys, () => new BlueGreen(name, {
            colors: {
                blue: colorConfig(colors, app, "blue"),
                green: colorConfig(colors, app, "green"),
            },
            app: { ...app, build },
            database: {
                mode: db.mode,
                engine: db.engine,
                engineVersion: db.engineVersion,
                sourceInstanceIdentifier: db.sourceInstance,
                snapshotIdentifier: db.snapshot,
                instanceClass: db.instanceClass,
                databaseName: db.name,
                masterPassword: password,
                multiAz: db.multiAz,
                backupRetentionPeriod: db.backupRetentionPeriod,
                blueGreen: db.blueGreen as RdsBlueGreenTargetArgs | undefined,
                restoreFrom: db.restoreFrom,
            },
            vpcId: net.vpcId,
            subnetIds: net.subnetIds,
            publicSubnetIds: net.publicSubnetIds,
            internal: net.internal,
            listener: net.listener,
            cutover,
            ...(awsFlags ? { transform: { colorEnvironment: (a) => ({ ...a, flags: { uri: awsFlags.uri, objectArn: awsFlags.objectArn } }) } } : {}),
        }));
        return {
            url: pair.url,
            testUrl: pair.testUrl,
            listenerArn: pair.listenerArn,
            testListenerArn: pair.testListenerArn,
            targetGroupArns: pair.targetGroupArns,
            liveColor: pair.liveColor,
            appImage: pair.appImage,
            databaseIdentifier: pair.databaseIdentifier,
            // Read by a sandbox (ProductionDatabase) so the policy can block an app environment naming it.
            databaseAddress: pair.database.address,
            databasePort: pair.database.port,
            engine: pair.engine,
            engineVersion: pair.engineVersion,
            rdsBlueGreenDeploymentId: pair.rdsBlueGreenDeploymentId,
            ...(awsFlags ? { flagsBucket: awsFlags.bucketName, flagsKey: pulumi.output(awsFlags.key), flagsUri: awsFlags.uri } : {}),
        };
    }

    const { sandbox: sb, color, candidate } = readSandboxCandidate(cfg, colors);
    new TestRunLog(); // switchyard:testRuns, recorded in the state by `switchyard test`
    const image = candidate.image ?? (app.image !== undefined ? imageForVersion(app.image, String(candidate.version)) : undefined);
    const sandbox = withConfigKeys(keys, () => new Sandbox(name, {
        productionStack: sb.productionStack,
        ttlHours: sb.ttlHours,
        color,
        version: candidate.version,
        image: build === undefined ? image : undefined,
        build,
        app: {
            port: app.port,
            healthCheck: app.healthCheck,
            environment: candidate.environment ?? app.environment,
            desiredCount: app.desiredCount,
            cpu: app.cpu,
            memory: app.memory,
        },
        database: {
            snapshotIdentifier: db.snapshot,
            engine: db.engine,
            instanceClass: db.instanceClass,
            databaseName: db.name,
            masterPassword: password,
            manageMasterUserPassword: db.manageMasterUserPassword,
        },
        vpcId: net.vpcId,
        subnetIds: net.subnetIds,
        publicSubnetIds: net.publicSubnetIds,
        internal: net.internal,
        port: net.listener?.port,
        allowedCidrBlocks: net.listener?.allowedCidrBlocks,
    }));
    return {
        url: sandbox.url,
        // A secret: `switchyard test` and `switchyard rehearse` give it to the user's command as DATABASE_URL.
        databaseUrl: sandbox.database.connectionUrl,
        expiresAt: sandbox.expiresAt,
        databaseIdentifier: sandbox.databaseIdentifier,
        sourceSnapshotIdentifier: sandbox.sourceSnapshotIdentifier,
        appImage: sandbox.appImage,
        engine: sandbox.engine,
        engineVersion: sandbox.engineVersion,
    };
}
