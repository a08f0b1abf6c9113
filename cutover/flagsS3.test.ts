/**
 * The AWS `Flags` port against the moto server: a flag step's stage put to the flagd object at once
 * and read back, and a revert's off; with a port that drives it through the cutover core.
 */
import * as assert from "assert";
import { CreateBucketCommand, S3Client } from "@aws-sdk/client-s3";
import { useMoto } from "../test/support/moto";
import { servedRollouts } from "../components/flags";
import { getFlags } from "../components/aws/flags";
import { S3Flags } from "./flagsS3";

describe("S3Flags: the flagd object set at once and read back (moto server)", function () {
    this.timeout(60_000);
    const moto = useMoto();

    it("sets a stage, reads it back, turns it off; the object stays whole flagd", async () => {
        const s3 = new S3Client({ endpoint: moto.server.endpoint, forcePathStyle: true, region: "us-east-1" });
        await s3.send(new CreateBucketCommand({ Bucket: "shop-flags-port" }));
        const flags = new S3Flags("s3://shop-flags-port/shop/flags.flagd.json", { "new-checkout": {}, "dark-mode": { rollout: "internal" } }, s3);
        assert.strictEqual(await flags.served("new-checkout"), undefined, "no object yet: not served");
        await flags.setNow("new-checkout", 10);
        assert.strictEqual(await flags.served("new-checkout"), 10);
        await flags.setNow("new-checkout", "off");
        assert.strictEqual(await flags.served("new-checkout"), "off");
        // The other flag keeps its declared stage.
        assert.deepStrictEqual(servedRollouts((await getFlags(s3, "shop-flags-port", "shop/flags.flagd.json"))!), { "dark-mode": "internal", "new-checkout": "off" });
    });

    it("refuses an unknown flag and a URI that is not s3://, naming them", async () => {
        assert.throws(() => new S3Flags("https://x/y", {}), /"https:\/\/x\/y" is not an s3:\/\/<bucket>\/<key> URI/);
        const flags = new S3Flags("s3://b/k", { a: {} }, new S3Client({ endpoint: moto.server.endpoint, forcePathStyle: true, region: "us-east-1" }));
        await assert.rejects(() => flags.setNow("nope", 10), /switchyard:flags\.nope is not declared/);
    });
});
