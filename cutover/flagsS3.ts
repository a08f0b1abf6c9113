/**
 * The AWS `Flags` port: the flagd file as the S3 object each color's flagd sidecar syncs from, put
 * whole at once for a flag step or a revert, and read back. The text put is the stack's own
 * (`flagdText` of `switchyard:flags` with the step's stage), so the `up` that follows finds the
 * object as it would write it. The sidecars pick a change up at their next sync.
 */
import { S3Client } from "@aws-sdk/client-s3";
import { flagdText, FlagsConfig, servedRollouts, withRollout } from "../components/flags";
import { getFlags, parseS3Uri, putFlags } from "../components/aws/flags";
import { FlagsPort, FlagStage } from "./flags";

export class S3Flags implements FlagsPort {
    /** Two S3 requests a second while a revert holds the flags off. */
    readonly holdPollMs = 500;

    private readonly bucket: string;
    private readonly key: string;

    /**
     * @param uri the object, `s3://<bucket>/<key>` (the stack's `flagsUri` output)
     * @param config the stack's `switchyard:flags`, the base every put starts from
     * @param client the S3 client @default a client from the environment's region and credentials
     */
    constructor(
        uri: string,
        private config: FlagsConfig,
        private readonly client: S3Client = new S3Client({}),
    ) {
        const where = parseS3Uri(uri);
        if (!where) throw new Error(`the flags object ${JSON.stringify(uri)} is not an s3://<bucket>/<key> URI`);
        this.bucket = where.bucket;
        this.key = where.key;
    }

    async setNow(flag: string, stage: FlagStage): Promise<void> {
        this.config = withRollout(this.config, flag, stage);
        await putFlags(this.client, this.bucket, this.key, flagdText(this.config));
    }

    async served(flag: string): Promise<FlagStage | undefined> {
        const text = await getFlags(this.client, this.bucket, this.key);
        return text === undefined ? undefined : servedRollouts(text)[flag];
    }
}
