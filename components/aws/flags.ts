/**
 * The AWS platform's served flags: the flagd flag-definitions file as an S3 object, a flagd sidecar
 * in each color's ECS task that syncs from it, and the S3 put a flag step changes it with.
 *
 * The app in the task asks its sidecar: the OpenFeature flagd provider in in-process mode syncs from
 * the sidecar's sync port ({@link flagdAppEnvironment}), or in RPC mode asks its evaluation port.
 */
import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { GetObjectCommand, NoSuchKey, PutObjectCommand, S3Client } from "@aws-sdk/client-s3";
import { flagdText, FlagsConfig } from "../flags";
import { ROLE_TAGS, Role, TAGS } from "../types";

/** Type token of the component. */
export const AWS_FLAGS_TYPE = "switchyard:aws:Flags";

/** The flagd image of the sidecar (OpenFeature's reference flag daemon), pinned. */
export const FLAGD_IMAGE = "ghcr.io/open-feature/flagd:v0.12.9";

/** The sidecar's container name in a color's task. */
export const FLAGD_CONTAINER = "flagd";

/** flagd's evaluation port (RPC resolver) and its sync port (in-process resolver). */
export const FLAGD_PORTS = { evaluation: 8013, sync: 8015 } as const;

/** The object's key when none is given: `<name>/flags.flagd.json`. */
export function defaultFlagsKey(name: string): string {
    return `${name}/flags.flagd.json`;
}

export interface AwsFlagsArgs {
    /** The flags, each at its rollout stage. */
    readonly flags: FlagsConfig;
    /**
     * The object's key in the bucket.
     * @default `<name>/flags.flagd.json`
     */
    readonly key?: string;
    /**
     * Role of the stack, for the `switchyard:role` tag.
     * @default "blue-green"
     */
    readonly role?: Role;
    /** Tags for the bucket and the object. @default {} */
    readonly tags?: Record<string, string>;
}

/**
 * A private, encrypted S3 bucket holding the flagd file of the stack's flags.
 *
 * @example
 * const flags = new AwsFlags("shop-flags", { flags: { "new-checkout": { rollout: "internal" } } });
 * // flags.uri: s3://<bucket>/shop-flags/flags.flagd.json, for each color's flagd sidecar
 */
export class AwsFlags extends pulumi.ComponentResource {
    public readonly bucket: aws.s3.Bucket;
    public readonly object: aws.s3.BucketObjectv2;
    public readonly bucketName: pulumi.Output<string>;
    public readonly key: string;
    /** `s3://<bucket>/<key>`: the sidecar's `--uri`. */
    public readonly uri: pulumi.Output<string>;
    /** The object's ARN, for a task role's read policy. */
    public readonly objectArn: pulumi.Output<string>;

    constructor(name: string, args: AwsFlagsArgs, opts?: pulumi.ComponentResourceOptions) {
        super(AWS_FLAGS_TYPE, name, {}, opts);
        this.key = args.key ?? defaultFlagsKey(name);
        const tags = { ...(args.tags ?? {}), [TAGS.role]: ROLE_TAGS[args.role ?? "blue-green"] };
        this.bucket = new aws.s3.Bucket(`${name}-bucket`, { forceDestroy: true, tags }, { parent: this });
        new aws.s3.BucketPublicAccessBlock(
            `${name}-private`,
            { bucket: this.bucket.id, blockPublicAcls: true, blockPublicPolicy: true, ignorePublicAcls: true, restrictPublicBuckets: true },
            { parent: this },
        );
        new aws.s3.BucketServerSideEncryptionConfiguration(
            `${name}-encryption`,
            { bucket: this.bucket.id, rules: [{ applyServerSideEncryptionByDefault: { sseAlgorithm: "AES256" } }] },
            { parent: this },
        );
        this.object = new aws.s3.BucketObjectv2(
            `${name}-file`,
            { bucket: this.bucket.id, key: this.key, content: flagdText(args.flags), contentType: "application/json", tags },
            { parent: this },
        );
        // A bucket's id is its name.
        this.bucketName = this.bucket.id;
        this.uri = pulumi.interpolate`s3://${this.bucket.id}/${this.key}`;
        this.objectArn = pulumi.interpolate`${this.bucket.arn}/${this.key}`;
        this.registerOutputs({ bucketName: this.bucketName, key: this.key, uri: this.uri });
    }
}

/**
 * The flagd sidecar of a color's task: syncs the flags from the S3 object and serves them on
 * {@link FLAGD_PORTS}. Its task role needs `s3:GetObject` on the object ({@link flagsReadPolicy}).
 */
export function flagdSidecar(args: { uri: string; region: string; logGroup: string; streamPrefix: string; image?: string }): Record<string, unknown> {
    return {
        name: FLAGD_CONTAINER,
        image: args.image ?? FLAGD_IMAGE,
        essential: true,
        command: ["start", "--uri", args.uri, "--port", String(FLAGD_PORTS.evaluation), "--sync-port", String(FLAGD_PORTS.sync)],
        portMappings: [
            { containerPort: FLAGD_PORTS.evaluation, protocol: "tcp" },
            { containerPort: FLAGD_PORTS.sync, protocol: "tcp" },
        ],
        environment: [{ name: "AWS_REGION", value: args.region }],
        logConfiguration: {
            logDriver: "awslogs",
            options: { "awslogs-group": args.logGroup, "awslogs-region": args.region, "awslogs-stream-prefix": `${args.streamPrefix}-flagd` },
        },
    };
}

/** The app container's environment that points the OpenFeature flagd provider (in-process) at its sidecar. */
export function flagdAppEnvironment(): Record<string, string> {
    return { FLAGD_RESOLVER: "in-process", FLAGD_HOST: "localhost", FLAGD_PORT: String(FLAGD_PORTS.sync) };
}

/** An IAM policy document letting a task read the flags object. */
export function flagsReadPolicy(objectArn: string): string {
    return JSON.stringify({ Version: "2012-10-17", Statement: [{ Effect: "Allow", Action: ["s3:GetObject"], Resource: [objectArn] }] });
}

/**
 * Puts the flagd file to S3 (the I/O a flag step changes a flag with; the sidecars pick it up at
 * their next sync). One PUT: S3 serves either the old object or the new one, never half.
 */
export async function putFlags(client: S3Client, bucket: string, key: string, text: string): Promise<void> {
    await client.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: text, ContentType: "application/json" }));
}

/** The served flagd file's text, or undefined when there is no object. */
export async function getFlags(client: S3Client, bucket: string, key: string): Promise<string | undefined> {
    try {
        const r = await client.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
        return await r.Body?.transformToString("utf8");
    } catch (e) {
        if (e instanceof NoSuchKey || (e as { name?: string }).name === "NoSuchKey") return undefined;
        throw e;
    }
}

/** Bucket and key of an `s3://bucket/key` URI, or undefined. */
export function parseS3Uri(uri: string): { bucket: string; key: string } | undefined {
    const m = /^s3:\/\/([^/]+)\/(.+)$/.exec(uri);
    return m ? { bucket: m[1], key: m[2] } : undefined;
}
