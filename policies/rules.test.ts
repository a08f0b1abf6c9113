/**
 * Unit tests of the policy pack: every rule as a pure function (violating and compliant cases, exact
 * messages, config thresholds, unknown values), then the pack itself as the Pulumi CLI would load it.
 * No CLI needed.
 */
import * as assert from "assert";
import { unknownCheckingProxy } from "@pulumi/policy";
import {
    AWS,
    DEFAULTS,
    LOCAL,
    RULES,
    RULE_NAMES,
    RuleResource,
    STACK_TYPE,
    cutoverPlanValid,
    examplePlan,
    healthCheckRequired,
    noPublicDbPort,
    prodDbBackupRetention,
    prodDbDeletionProtection,
    prodDbEncryptedProtected,
    sandboxDbPrivateEncrypted,
    sandboxDbTags,
    sandboxExpiryMax,
    stackRoleConsistent,
    trafficTwoColors,
    trafficWeightsValid,
} from "./rules";
import { checkStepPlan } from "../components/types";
import { flagsValid, S3_OBJECT } from "./rules";
import { flagdText } from "../components/flags";
import { sandboxMaskingValid } from "./rules";
import { AWS_ENV, envNamesDatabase, productionDatabases, sandboxNoProductionDb, STACK_REFERENCE_TYPE } from "./rules";
import { rolloutSettingsValid } from "./rules";

// The sentinels the policy framework uses for unknown values (internal to @pulumi/policy, so untyped).
const { unknownBooleanValue, unknownNumberValue, unknownStringValue } = require("@pulumi/policy/proxy") as Record<string, unknown>;

const LISTENER = AWS.listener[0];
const TG = AWS.targetGroup[0];
const RDS = AWS.rdsInstance;

function res(type: string, name: string, props: Record<string, unknown>, protect?: boolean): RuleResource {
    return { type, name, urn: `urn:pulumi:test::switchyard::${type}::${name}`, props, protect };
}

// ---------------------------------------------------------------------------------------------
// Fixtures: compliant resources as the components build them.
// ---------------------------------------------------------------------------------------------

const prodTags = { "switchyard:role": "production" };
const sandboxTags = {
    "switchyard:role": "sandbox",
    "switchyard:expires-at": "2025-11-25T12:00:00Z",
    "switchyard:source-snapshot": "shop-prod-before-migration-42",
};
const NOW = new Date("2025-11-23T12:00:00Z"); // 48 hours before the sandbox expiry above

const prodDb = (extra: Record<string, unknown> = {}, protect: boolean | undefined = true) =>
    res(
        RDS,
        "shop-db",
        {
            deletionProtection: true,
            skipFinalSnapshot: false,
            finalSnapshotIdentifier: "shop-db-final",
            backupRetentionPeriod: 7,
            storageEncrypted: true,
            publiclyAccessible: false,
            tags: prodTags,
            ...extra,
        },
        protect,
    );

const sandboxDb = (extra: Record<string, unknown> = {}) =>
    res(RDS, "pr-42-db", {
        snapshotIdentifier: "shop-prod-before-migration-42",
        deletionProtection: false,
        skipFinalSnapshot: true,
        backupRetentionPeriod: 0,
        storageEncrypted: true,
        publiclyAccessible: false,
        tags: sandboxTags,
        ...extra,
    });

const localDb = (extra: Record<string, unknown> = {}, protect?: boolean) =>
    res(
        LOCAL.postgresServer,
        "pg",
        { role: "sandbox", port: 15432, listenAddress: "127.0.0.1", dataDir: "/tmp/pg", expiresAt: "2025-11-25T12:00:00Z", sourceSnapshot: "snap-1", ...extra },
        protect,
    );

const router = (extra: Record<string, unknown> = {}) =>
    res(LOCAL.router, "router", {
        role: "blue-green",
        port: 8000,
        testPort: 8001,
        weights: { blue: 90, green: 10 },
        servers: [
            { color: "blue", port: 9001 },
            { color: "green", port: 9002 },
        ],
        healthCheckPath: "/healthz",
        idle: "green",
        ...extra,
    });

const listener = (groups: unknown[], tags: Record<string, string> = prodTags) =>
    res(LISTENER, "front-main", { port: 80, protocol: "HTTP", defaultActions: [{ type: "forward", forward: { targetGroups: groups } }], tags });

const listenerRule = (groups: unknown[], tags: Record<string, string> = prodTags) =>
    res(AWS.listenerRule[0], "front-rule", { priority: 10, actions: [{ type: "forward", forward: { targetGroups: groups } }], tags });

const twoGroups = (blue: unknown = 90, green: unknown = 10) => [
    { arn: "arn:aws:elasticloadbalancing:us-east-1:1:targetgroup/blue/1", weight: blue },
    { arn: "arn:aws:elasticloadbalancing:us-east-1:1:targetgroup/green/2", weight: green },
];

// ---------------------------------------------------------------------------------------------

describe("policies: rules", () => {
    describe("traffic-two-colors", () => {
        it("accepts a router with a blue and a green server, and a listener with two target groups", () => {
            assert.deepStrictEqual(trafficTwoColors(router()), []);
            assert.deepStrictEqual(trafficTwoColors(listener(twoGroups())), []);
        });

        it("ignores a test listener: one target group, no cutover plan", () => {
            assert.deepStrictEqual(trafficTwoColors(listener([{ arn: "arn:green", weight: 1 }])), []);
        });

        it("reports a router whose servers are not blue and green", () => {
            const r = router({ servers: [{ color: "blue", port: 9001 }, { color: "blue", port: 9002 }] });
            assert.deepStrictEqual(trafficTwoColors(r), [
                `${LOCAL.router} "router": traffic-two-colors: servers have the colors ["blue", "blue"]; a router forwards to exactly two servers, one blue and one green. ` +
                    'Give servers [{ color: "blue", port }, { color: "green", port }].',
            ]);
        });

        it("reports a router whose two colors share a port", () => {
            const r = router({ servers: [{ color: "blue", port: 9001 }, { color: "green", port: 9001 }] });
            assert.deepStrictEqual(trafficTwoColors(r), [
                `${LOCAL.router} "router": traffic-two-colors: the blue and green servers both use port 9001; each color runs its own app. Give each server its own port.`,
            ]);
        });

        it("reports a weighted listener with three target groups", () => {
            const groups = [...twoGroups(), { arn: "arn:red", weight: 0 }];
            assert.deepStrictEqual(trafficTwoColors(listener(groups)), [
                'aws:lb/listener:Listener "front-main": traffic-two-colors: defaultActions[0] forwards to 3 target group(s); a blue-green listener forwards to exactly two, the blue and the green target group. ' +
                    "List both in forward.targetGroups, e.g. [{ arn: blueArn, weight: 90 }, { arn: greenArn, weight: 10 }].",
            ]);
        });

        it("reports a listener with a cutover plan and a single target group", () => {
            const l = res(LISTENER, "front-main", {
                defaultActions: [{ type: "forward", targetGroupArn: "arn:blue" }],
                tags: { ...prodTags, "switchyard:cutover-steps": "10,25,50,100" },
            });
            assert.deepStrictEqual(trafficTwoColors(l), [
                'aws:lb/listener:Listener "front-main": traffic-two-colors: defaultActions[0] forwards to 1 target group(s); a blue-green listener forwards to exactly two, the blue and the green target group. ' +
                    "List both in forward.targetGroups, e.g. [{ arn: blueArn, weight: 90 }, { arn: greenArn, weight: 10 }].",
            ]);
        });

        it("reports a listener with a cutover plan and no forward action", () => {
            const l = res(LISTENER, "front-main", {
                defaultActions: [{ type: "fixed-response", fixedResponse: { contentType: "text/plain", statusCode: "503" } }],
                tags: { ...prodTags, "switchyard:cutover-steps": "10,25,50,100" },
            });
            assert.deepStrictEqual(trafficTwoColors(l), [
                'aws:lb/listener:Listener "front-main": traffic-two-colors: the listener declares a cutover plan (tag switchyard:cutover-steps is "10,25,50,100") but forwards to no target group; ' +
                    "a blue-green listener forwards to exactly two, the blue and the green target group. Give a forward action with both in forward.targetGroups.",
            ]);
        });

        it("checks a weighted listener rule like a listener", () => {
            assert.deepStrictEqual(trafficTwoColors(listenerRule(twoGroups())), []);
            assert.deepStrictEqual(trafficTwoColors(listenerRule([{ arn: "arn:green", weight: 1 }])), [], "a single-target rule is not weighted");
            assert.deepStrictEqual(trafficTwoColors(listenerRule([...twoGroups(), { arn: "arn:red", weight: 0 }])), [
                'aws:lb/listenerRule:ListenerRule "front-rule": traffic-two-colors: actions[0] forwards to 3 target group(s); a blue-green listener rule forwards to exactly two, the blue and the green target group. ' +
                    "List both in forward.targetGroups, e.g. [{ arn: blueArn, weight: 90 }, { arn: greenArn, weight: 10 }].",
            ]);
        });

        it("reports a listener that forwards to the same target group twice", () => {
            const groups = [
                { arn: "arn:blue", weight: 50 },
                { arn: "arn:blue", weight: 50 },
            ];
            assert.deepStrictEqual(trafficTwoColors(listener(groups)), [
                'aws:lb/listener:Listener "front-main": traffic-two-colors: defaultActions[0] forwards to the target group arn:blue twice; a blue-green listener forwards to two different target groups, blue and green. ' +
                    "Give each color its own target group.",
            ]);
        });
    });

    describe("traffic-weights-valid", () => {
        it("accepts integer weights from 0 to 100 with one positive", () => {
            assert.deepStrictEqual(trafficWeightsValid(router({ weights: { blue: 0, green: 100 } })), []);
            assert.deepStrictEqual(trafficWeightsValid(listener(twoGroups(100, 0))), []);
        });

        it("reports a router weight out of range", () => {
            assert.deepStrictEqual(trafficWeightsValid(router({ weights: { blue: 150, green: 0 } })), [
                `${LOCAL.router} "router": traffic-weights-valid: traffic weight for blue is 150: it must be an integer from 0 to 100. ` +
                    "Set the traffic weights to integers from 0 to 100, at least one positive, e.g. { blue: 90, green: 10 }.",
            ]);
        });

        it("reports a router whose weights are both 0", () => {
            assert.deepStrictEqual(trafficWeightsValid(router({ weights: { blue: 0, green: 0 } })), [
                `${LOCAL.router} "router": traffic-weights-valid: traffic weights are both 0: at least one color must receive traffic. ` +
                    "Set the traffic weights to integers from 0 to 100, at least one positive, e.g. { blue: 90, green: 10 }.",
            ]);
        });

        it("reports a listener rule whose weights are both 0", () => {
            assert.deepStrictEqual(trafficWeightsValid(listenerRule(twoGroups(0, 0))), [
                'aws:lb/listenerRule:ListenerRule "front-rule": traffic-weights-valid: actions[0] forward weights [0, 0] (blue, green): traffic weights are both 0: at least one color must receive traffic. ' +
                    "Set the traffic weights to integers from 0 to 100, at least one positive, e.g. { blue: 90, green: 10 }.",
            ]);
            assert.deepStrictEqual(trafficWeightsValid(listenerRule(twoGroups(50, 50))), []);
        });

        it("reports a listener weight that is not an integer", () => {
            assert.deepStrictEqual(trafficWeightsValid(listener(twoGroups(90, 10.5))), [
                'aws:lb/listener:Listener "front-main": traffic-weights-valid: defaultActions[0] forward weights [90, 10.5] (blue, green): traffic weight for green is 10.5: it must be an integer from 0 to 100. ' +
                    "Set the traffic weights to integers from 0 to 100, at least one positive, e.g. { blue: 90, green: 10 }.",
            ]);
        });
    });

    describe("cutover-plan-valid", () => {
        it("accepts a plan that rises to 100 in steps of at most 50, and no plan at all", () => {
            assert.deepStrictEqual(cutoverPlanValid(router({ cutoverSteps: [10, 25, 50, 100] })), []);
            assert.deepStrictEqual(cutoverPlanValid(router()), []);
            assert.deepStrictEqual(cutoverPlanValid(listener(twoGroups(), { ...prodTags, "switchyard:cutover-steps": "10,25,50,100" })), []);
        });

        it("reports a router plan that jumps more than maxStep", () => {
            assert.deepStrictEqual(cutoverPlanValid(router({ cutoverSteps: [10, 80, 100] })), [
                `${LOCAL.router} "router": cutover-plan-valid: cutoverSteps is [10, 80, 100]: cutover step 2 jumps from 10 to 80 (70 points), more than the maximum of 50: add intermediate steps. ` +
                    "Declare steps that rise strictly to 100, each at most 50 points above the one before (the first counts from 0), e.g. [10, 25, 50, 100].",
            ]);
        });

        it("reports a listener plan that does not end at 100", () => {
            const l = listener(twoGroups(), { ...prodTags, "switchyard:cutover-steps": "10,25,50,90" });
            assert.deepStrictEqual(cutoverPlanValid(l), [
                'aws:lb/listener:Listener "front-main": cutover-plan-valid: tag switchyard:cutover-steps is [10, 25, 50, 90]: cutover steps end at 90: the last step must be 100. ' +
                    "Declare steps that rise strictly to 100, each at most 50 points above the one before (the first counts from 0), e.g. [10, 25, 50, 100].",
            ]);
        });

        it("reads a listener rule's plan from the same tag", () => {
            assert.deepStrictEqual(cutoverPlanValid(listenerRule(twoGroups(), { ...prodTags, "switchyard:cutover-steps": "10,25,50,100" })), []);
            assert.deepStrictEqual(cutoverPlanValid(listenerRule(twoGroups(), { ...prodTags, "switchyard:cutover-steps": "50,40,100" })), [
                'aws:lb/listenerRule:ListenerRule "front-rule": cutover-plan-valid: tag switchyard:cutover-steps is [50, 40, 100]: cutover step 2 (40) does not rise above the step before it (50): steps must rise strictly. ' +
                    "Declare steps that rise strictly to 100, each at most 50 points above the one before (the first counts from 0), e.g. [10, 25, 50, 100].",
            ]);
        });

        it("reports a listener tag that is not a list of numbers", () => {
            const l = listener(twoGroups(), { ...prodTags, "switchyard:cutover-steps": "10,half,100" });
            assert.deepStrictEqual(cutoverPlanValid(l), [
                'aws:lb/listener:Listener "front-main": cutover-plan-valid: tag switchyard:cutover-steps is [10, "half", 100]: cutover step 2 is "half": each step must be an integer from 1 to 100. ' +
                    "Declare steps that rise strictly to 100, each at most 50 points above the one before (the first counts from 0), e.g. [10, 25, 50, 100].",
            ]);
        });

        it("config maxStep 20 makes [10, 25, 50, 100] violate and suggests a plan that fits", () => {
            assert.deepStrictEqual(cutoverPlanValid(router({ cutoverSteps: [10, 25, 50, 100] }), { maxStep: 20 }), [
                `${LOCAL.router} "router": cutover-plan-valid: cutoverSteps is [10, 25, 50, 100]: cutover step 3 jumps from 25 to 50 (25 points), more than the maximum of 20: add intermediate steps. ` +
                    "Declare steps that rise strictly to 100, each at most 20 points above the one before (the first counts from 0), e.g. [20, 40, 60, 80, 100].",
            ]);
        });

        it("the example plan always satisfies the configured maxStep", () => {
            for (let m = 1; m <= 100; m++) {
                assert.strictEqual(checkStepPlan(examplePlan(m), m), undefined, `maxStep ${m}: ${examplePlan(m)}`);
            }
        });
    });

    describe("flags-valid", () => {
        const file = (flags: unknown, content = flagdText({})) => res(LOCAL.flagsFile, "shop-flags", { path: "/x/flags.flagd.json", flags, content });
        it("passes well-formed flags and their file", () => {
            const flags = { "new-checkout": { rollout: 10 } };
            assert.deepStrictEqual(flagsValid(file(flags, flagdText(flags))), []);
        });
        it("refuses an unknown variant, a percentage over 100 and a rule that does not parse, naming the flag", () => {
            const [v] = flagsValid(file({ "new-checkout": { defaultVariant: "maybe" } }));
            assert.strictEqual(
                v,
                `${LOCAL.flagsFile} "shop-flags": flags-valid: switchyard:flags.new-checkout: defaultVariant "maybe" is not a variant: use one of "on", "off". Fix the flag's definition (see README, Feature flags).`,
            );
            assert.match(flagsValid(file({ "new-checkout": { rollout: 150 } })).join(), /flags-valid: switchyard:flags\.new-checkout: rollout is 150/);
            assert.match(flagsValid(file({ "new-checkout": { internal: { rule: "{oops" } } })).join(), /flags-valid: switchyard:flags\.new-checkout: internal\.rule does not parse/);
        });
        it("reads a flagd file in S3 (key *.flagd.json), and only that", () => {
            const doc = JSON.stringify({ flags: { promo: { state: "ENABLED", variants: { on: true, off: false }, defaultVariant: "off", targeting: { fractional: [["on", 70], ["off", 70]] } } } });
            assert.match(flagsValid(res(S3_OBJECT[0], "flags", { key: "shop/flags.flagd.json", content: doc })).join(), /flags-valid: flags\.promo: fractional percentages sum to 140, not 100/);
            assert.deepStrictEqual(flagsValid(res(S3_OBJECT[0], "other", { key: "shop/readme.txt", content: doc })), []);
        });
        it("skips unknown values", () => {
            const props = unknownCheckingProxy({ flags: unknownStringValue, content: unknownStringValue }) as Record<string, unknown>;
            assert.deepStrictEqual(flagsValid(res(LOCAL.flagsFile, "f", props)), []);
        });
    });

    describe("prod-db-deletion-protection", () => {
        it("accepts a production database with deletion protection and a final snapshot", () => {
            assert.deepStrictEqual(prodDbDeletionProtection(prodDb()), []);
        });

        it("reports deletion protection off and a skipped final snapshot", () => {
            assert.deepStrictEqual(prodDbDeletionProtection(prodDb({ deletionProtection: false, skipFinalSnapshot: true })), [
                'aws:rds/instance:Instance "shop-db": prod-db-deletion-protection: deletionProtection is false; a production database must not be deletable by a mistaken update or destroy. Set deletionProtection: true.',
                'aws:rds/instance:Instance "shop-db": prod-db-deletion-protection: skipFinalSnapshot is true; deleting a production database must leave a final snapshot. Set skipFinalSnapshot: false and a finalSnapshotIdentifier.',
            ]);
        });

        it("reports a missing final snapshot identifier", () => {
            assert.deepStrictEqual(prodDbDeletionProtection(prodDb({ finalSnapshotIdentifier: undefined })), [
                'aws:rds/instance:Instance "shop-db": prod-db-deletion-protection: finalSnapshotIdentifier is undefined; without it RDS cannot take the final snapshot of a production database when it is deleted. ' +
                    'Set finalSnapshotIdentifier, e.g. "shop-db-final".',
            ]);
        });

        it("does not apply to sandbox databases", () => {
            assert.deepStrictEqual(prodDbDeletionProtection(sandboxDb()), []);
        });
    });

    describe("prod-db-backup-retention", () => {
        it("accepts 7 days by default", () => {
            assert.deepStrictEqual(prodDbBackupRetention(prodDb()), []);
        });

        it("reports 1 day", () => {
            assert.deepStrictEqual(prodDbBackupRetention(prodDb({ backupRetentionPeriod: 1 })), [
                'aws:rds/instance:Instance "shop-db": prod-db-backup-retention: backupRetentionPeriod is 1 day(s); production databases keep backups at least 7 days. Set backupRetentionPeriod to 7 or more.',
            ]);
        });

        it("reports a retention that is not set", () => {
            assert.deepStrictEqual(prodDbBackupRetention(prodDb({ backupRetentionPeriod: undefined })), [
                'aws:rds/instance:Instance "shop-db": prod-db-backup-retention: backupRetentionPeriod is not set; production databases keep backups at least 7 days. Set backupRetentionPeriod to 7 or more.',
            ]);
        });

        it("config minDays 14 makes 7 days violate", () => {
            assert.deepStrictEqual(prodDbBackupRetention(prodDb(), { minDays: 14 }), [
                'aws:rds/instance:Instance "shop-db": prod-db-backup-retention: backupRetentionPeriod is 7 day(s); production databases keep backups at least 14 days. Set backupRetentionPeriod to 14 or more.',
            ]);
        });

        it("does not apply to sandboxes (0 days)", () => {
            assert.deepStrictEqual(prodDbBackupRetention(sandboxDb()), []);
        });
    });

    describe("prod-db-encrypted-protected", () => {
        it("accepts an encrypted, protected production database", () => {
            assert.deepStrictEqual(prodDbEncryptedProtected(prodDb()), []);
        });

        it("reports an unencrypted, unprotected AWS production database", () => {
            assert.deepStrictEqual(prodDbEncryptedProtected(prodDb({ storageEncrypted: false }, false)), [
                'aws:rds/instance:Instance "shop-db": prod-db-encrypted-protected: storageEncrypted is false; production data must be encrypted at rest. ' +
                    "Set storageEncrypted: true (an existing unencrypted instance moves by restoring an encrypted snapshot copy).",
                'aws:rds/instance:Instance "shop-db": prod-db-encrypted-protected: the protect option is false; Pulumi must refuse to delete a production database. Pass { protect: true } in its resource options.',
            ]);
        });

        it("does not apply to a local production server (a rehearsal copy that destroy must remove)", () => {
            assert.deepStrictEqual(prodDbEncryptedProtected(localDb({ role: "production", encrypted: false })), []);
        });
    });

    describe("sandbox-db-private-encrypted", () => {
        it("accepts a private, encrypted sandbox and a loopback local sandbox", () => {
            assert.deepStrictEqual(sandboxDbPrivateEncrypted(sandboxDb()), []);
            assert.deepStrictEqual(sandboxDbPrivateEncrypted(localDb()), []);
            assert.deepStrictEqual(sandboxDbPrivateEncrypted(localDb({ listenAddress: "::1" })), []);
        });

        it("reports a public, unencrypted AWS sandbox", () => {
            assert.deepStrictEqual(sandboxDbPrivateEncrypted(sandboxDb({ publiclyAccessible: true, storageEncrypted: undefined })), [
                'aws:rds/instance:Instance "pr-42-db": sandbox-db-private-encrypted: publiclyAccessible is true; a sandbox database holds a copy of production data and must not be reachable from the internet. Set publiclyAccessible: false.',
                'aws:rds/instance:Instance "pr-42-db": sandbox-db-private-encrypted: storageEncrypted is undefined; a sandbox database holds a copy of production data and must be encrypted at rest. Set storageEncrypted: true.',
            ]);
        });

        it("applies to any database restored from a snapshot, production role included", () => {
            assert.deepStrictEqual(sandboxDbPrivateEncrypted(prodDb({ snapshotIdentifier: "snap-7", publiclyAccessible: true })), [
                'aws:rds/instance:Instance "shop-db": sandbox-db-private-encrypted: publiclyAccessible is true; a restored database holds a copy of production data and must not be reachable from the internet. Set publiclyAccessible: false.',
            ]);
            assert.deepStrictEqual(sandboxDbPrivateEncrypted(prodDb({ publiclyAccessible: true })), [], "a production database that is not restored is out of scope");
        });

        it("reports a local sandbox listening beyond loopback", () => {
            assert.deepStrictEqual(sandboxDbPrivateEncrypted(localDb({ listenAddress: "192.168.1.5" })), [
                `${LOCAL.postgresServer} "pg": sandbox-db-private-encrypted: listenAddress is "192.168.1.5"; a sandbox database holds a copy of production data and must listen on loopback only. Set listenAddress to "127.0.0.1".`,
            ]);
        });
    });

    describe("sandbox-db-tags", () => {
        it("accepts a sandbox with an expiry and a source snapshot (AWS and local)", () => {
            assert.deepStrictEqual(sandboxDbTags(sandboxDb()), []);
            assert.deepStrictEqual(sandboxDbTags(localDb()), []);
        });

        it("reports an AWS sandbox without either tag", () => {
            assert.deepStrictEqual(sandboxDbTags(sandboxDb({ tags: { "switchyard:role": "sandbox" } })), [
                'aws:rds/instance:Instance "pr-42-db": sandbox-db-tags: tag switchyard:expires-at is not set; a sandbox database needs an expiry so it is removed, not forgotten. ' +
                    "Give the sandbox ttlHours (it writes the tag), or tag switchyard:expires-at with an ISO time.",
                'aws:rds/instance:Instance "pr-42-db": sandbox-db-tags: tag switchyard:source-snapshot is not set; a sandbox database records the snapshot it was restored from. ' +
                    "Tag switchyard:source-snapshot with the snapshot identifier.",
            ]);
        });

        it("reports an expiry that is not an ISO time", () => {
            assert.deepStrictEqual(sandboxDbTags(sandboxDb({ tags: { ...sandboxTags, "switchyard:expires-at": "tomorrow" } })), [
                'aws:rds/instance:Instance "pr-42-db": sandbox-db-tags: tag switchyard:expires-at is "tomorrow", not an ISO 8601 time; the expiry must be machine-readable. Set it to a time like "2025-11-25T12:00:00Z".',
            ]);
        });

        it("reports a local sandbox without expiresAt and sourceSnapshot", () => {
            assert.deepStrictEqual(sandboxDbTags(localDb({ expiresAt: undefined, sourceSnapshot: undefined })), [
                `${LOCAL.postgresServer} "pg": sandbox-db-tags: expiresAt is not set; a sandbox database needs an expiry so it is removed, not forgotten. Give the sandbox ttlHours (it sets expiresAt).`,
                `${LOCAL.postgresServer} "pg": sandbox-db-tags: sourceSnapshot is not set; a sandbox database records the snapshot it was restored from. Set sourceSnapshot to the snapshot's name.`,
            ]);
        });

        it("treats a restored database without a role as a sandbox, and leaves restored production alone", () => {
            const noRole = sandboxDb({ tags: {} });
            assert.strictEqual(sandboxDbTags(noRole).length, 2);
            assert.deepStrictEqual(sandboxDbTags(prodDb({ snapshotIdentifier: "snap-7" })), []);
        });
    });

    describe("sandbox-expiry-max", () => {
        it("accepts an expiry 48 hours away", () => {
            assert.deepStrictEqual(sandboxExpiryMax(sandboxDb(), {}, { now: NOW }), []);
            assert.deepStrictEqual(sandboxExpiryMax(localDb(), {}, { now: NOW }), []);
        });

        it("reports an expiry beyond 168 hours", () => {
            const db = sandboxDb({ tags: { ...sandboxTags, "switchyard:expires-at": "2025-12-03T12:00:00Z" } });
            assert.deepStrictEqual(sandboxExpiryMax(db, {}, { now: NOW }), [
                'aws:rds/instance:Instance "pr-42-db": sandbox-expiry-max: tag switchyard:expires-at is 2025-12-03T12:00:00Z, 240 hours from now; a sandbox lives at most 168 hours. Set ttlHours to 168 or less.',
            ]);
        });

        it("config maxHours 24 makes 48 hours violate (local)", () => {
            assert.deepStrictEqual(sandboxExpiryMax(localDb(), { maxHours: 24 }, { now: NOW }), [
                `${LOCAL.postgresServer} "pg": sandbox-expiry-max: expiresAt is 2025-11-25T12:00:00Z, 48 hours from now; a sandbox lives at most 24 hours. Set ttlHours to 24 or less.`,
            ]);
        });

        it("does not apply to production databases", () => {
            assert.deepStrictEqual(sandboxExpiryMax(prodDb({ tags: { ...prodTags, "switchyard:expires-at": "2030-01-01T00:00:00Z" } }), {}, { now: NOW }), []);
        });
    });

    describe("no-public-db-port", () => {
        const sg = (ingress: unknown[]) => res(AWS.securityGroup, "db-sg", { ingress, tags: prodTags });

        it("accepts database ports open to a security group or a private CIDR, and web ports open to the world", () => {
            assert.deepStrictEqual(
                noPublicDbPort(
                    sg([
                        { protocol: "tcp", fromPort: 5432, toPort: 5432, securityGroups: ["sg-app"] },
                        { protocol: "tcp", fromPort: 5432, toPort: 5432, cidrBlocks: ["10.0.0.0/16"] },
                        { protocol: "tcp", fromPort: 443, toPort: 443, cidrBlocks: ["0.0.0.0/0"], ipv6CidrBlocks: ["::/0"] },
                        { protocol: "udp", fromPort: 0, toPort: 65535, cidrBlocks: ["0.0.0.0/0"] },
                    ]),
                ),
                [],
            );
            assert.deepStrictEqual(noPublicDbPort(localDb({ role: "production" })), []);
        });

        it("reports a security group opening 5432 to 0.0.0.0/0", () => {
            assert.deepStrictEqual(noPublicDbPort(sg([{ protocol: "tcp", fromPort: 5432, toPort: 5432, cidrBlocks: ["0.0.0.0/0"] }])), [
                'aws:ec2/securityGroup:SecurityGroup "db-sg": no-public-db-port: ingress[0] opens database port 5432 (tcp 5432-5432) to 0.0.0.0/0; a database port must never be reachable from the internet. ' +
                    "Allow the app's security group instead (ingress securityGroups), or a private CIDR.",
            ]);
        });

        it("reports all protocols open to ::/0 as every database port", () => {
            assert.deepStrictEqual(noPublicDbPort(sg([{ protocol: "-1", fromPort: 0, toPort: 0, ipv6CidrBlocks: ["::/0"] }])), [
                'aws:ec2/securityGroup:SecurityGroup "db-sg": no-public-db-port: ingress[0] opens database ports 5432, 3306 (all protocols and ports) to ::/0; a database port must never be reachable from the internet. ' +
                    "Allow the app's security group instead (ingress securityGroups), or a private CIDR.",
            ]);
        });

        it("reports a SecurityGroupRule and a SecurityGroupIngressRule", () => {
            const rule = res(AWS.securityGroupRule, "open-mysql", { type: "ingress", protocol: "tcp", fromPort: 3000, toPort: 4000, cidrBlocks: ["0.0.0.0/0"] });
            assert.deepStrictEqual(noPublicDbPort(rule), [
                'aws:ec2/securityGroupRule:SecurityGroupRule "open-mysql": no-public-db-port: the ingress rule opens database port 3306 (tcp 3000-4000) to 0.0.0.0/0; a database port must never be reachable from the internet. ' +
                    "Use sourceSecurityGroupId (the app's security group) instead of cidrBlocks, or a private CIDR.",
            ]);
            const egress = res(AWS.securityGroupRule, "out", { type: "egress", protocol: "tcp", fromPort: 5432, toPort: 5432, cidrBlocks: ["0.0.0.0/0"] });
            assert.deepStrictEqual(noPublicDbPort(egress), []);
            const ir = res(AWS.securityGroupIngressRule, "open-pg", { ipProtocol: "tcp", fromPort: 5432, toPort: 5432, cidrIpv4: "0.0.0.0/0" });
            assert.deepStrictEqual(noPublicDbPort(ir), [
                'aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule "open-pg": no-public-db-port: the ingress rule opens database port 5432 (tcp 5432-5432) to 0.0.0.0/0; a database port must never be reachable from the internet. ' +
                    "Use referencedSecurityGroupId (the app's security group) instead of cidrIpv4/cidrIpv6, or a private CIDR.",
            ]);
        });

        it("config ports [6379] checks Redis instead of the defaults", () => {
            const open = sg([
                { protocol: "tcp", fromPort: 5432, toPort: 5432, cidrBlocks: ["0.0.0.0/0"] },
                { protocol: "tcp", fromPort: 6379, toPort: 6379, cidrBlocks: ["0.0.0.0/0"] },
            ]);
            assert.deepStrictEqual(noPublicDbPort(open, { ports: [6379] }), [
                'aws:ec2/securityGroup:SecurityGroup "db-sg": no-public-db-port: ingress[1] opens database port 6379 (tcp 6379-6379) to 0.0.0.0/0; a database port must never be reachable from the internet. ' +
                    "Allow the app's security group instead (ingress securityGroups), or a private CIDR.",
            ]);
        });

        it("reports a local database listening on every interface", () => {
            assert.deepStrictEqual(noPublicDbPort(localDb({ role: "production", listenAddress: "0.0.0.0" })), [
                `${LOCAL.postgresServer} "pg": no-public-db-port: listenAddress is "0.0.0.0", which opens database port 15432 on every network interface; a database port must never be reachable from the network. Set listenAddress to "127.0.0.1".`,
            ]);
        });
    });

    describe("sandbox-masking-valid", () => {
        const schema = {
            customers: {
                columns: { id: { type: "integer", notNull: true }, email: { type: "text", notNull: true }, phone: { type: "text", notNull: false } },
            },
        };
        const mask = (props: Record<string, unknown>) => ({
            type: LOCAL.masking,
            name: "shop-sandbox-mask",
            props: { role: "sandbox", label: "shop-sandbox-db", database: "shop", strict: false, schema, rules: [{ table: "customers", column: "email", rule: "hash" }], ...props },
        });
        const h = `${LOCAL.masking} "shop-sandbox-mask": sandbox-masking-valid: `;

        it("rules that fit the snapshot's schema pass; other resources are not its concern", () => {
            assert.deepStrictEqual(sandboxMaskingValid(mask({})), []);
            assert.deepStrictEqual(sandboxMaskingValid({ type: LOCAL.postgresServer, name: "db", props: { rules: "nonsense" } }), []);
        });

        it("a missing table or column, and an unknown rule, are named", () => {
            assert.deepStrictEqual(sandboxMaskingValid(mask({ rules: [{ table: "customer", column: "email", rule: "hash" }] })), [
                `${h}switchyard:masking[0]: table "customer" does not exist in database "shop"; its tables: customers`,
            ]);
            assert.deepStrictEqual(sandboxMaskingValid(mask({ rules: [{ table: "customers", column: "mail", rule: "hash" }] })), [
                `${h}switchyard:masking[0]: column "mail" does not exist in table customers of database "shop"; its columns: id, email, phone`,
            ]);
            assert.match(sandboxMaskingValid(mask({ rules: [{ table: "customers", column: "email", rule: "rot13" }] })).join("\n"), /switchyard:masking\[0\]\.rule is "rot13", an unknown rule/);
        });

        it("strict: a personal-looking column with no rule is named", () => {
            assert.deepStrictEqual(sandboxMaskingValid(mask({ strict: true })), [
                `${h}switchyard:maskingStrict: column customers.phone of database "shop" looks personal and has no rule in switchyard:masking: give it one (keep, if it is not personal)`,
            ]);
        });

        it("a production database is named", () => {
            assert.match(sandboxMaskingValid(mask({ role: "production" })).join("\n"), /database "shop-sandbox-db" has the production role/);
        });

        it("unknown during preview: the check waits for the values", () => {
            const unknownSchema = unknownCheckingProxy({ ...mask({}).props, schema: unknownStringValue, rules: [{ table: "nope", column: "x", rule: "hash" }] }) as Record<string, unknown>;
            assert.deepStrictEqual(sandboxMaskingValid({ ...mask({}), props: unknownSchema }), [], "the schema is not known yet");
            const unknownRules = unknownCheckingProxy({ ...mask({}).props, rules: unknownStringValue }) as Record<string, unknown>;
            assert.deepStrictEqual(sandboxMaskingValid({ ...mask({}), props: unknownRules }), [], "the rules are not known yet");
        });
    });

    describe("health-check-required", () => {
        const tg = (healthCheck: unknown) => res(TG, "blue-tg", { port: 8080, protocol: "HTTP", healthCheck, tags: prodTags });

        it("accepts an enabled health check with a path, and apps and routers with a healthCheckPath", () => {
            assert.deepStrictEqual(healthCheckRequired(tg({ enabled: true, path: "/healthz" })), []);
            assert.deepStrictEqual(healthCheckRequired(tg({ path: "/healthz" })), []);
            assert.deepStrictEqual(healthCheckRequired(res(LOCAL.appProcess, "blue", { color: "blue", healthCheckPath: "/healthz" })), []);
            assert.deepStrictEqual(healthCheckRequired(router()), []);
        });

        it("reports a target group without a health check", () => {
            assert.deepStrictEqual(healthCheckRequired(tg(undefined)), [
                'aws:lb/targetGroup:TargetGroup "blue-tg": health-check-required: healthCheck is not set; a cutover moves traffic only to a color whose health check passes. Set healthCheck: { enabled: true, path: "/healthz" }.',
            ]);
        });

        it("reports a disabled health check without a path", () => {
            assert.deepStrictEqual(healthCheckRequired(tg({ enabled: false })), [
                'aws:lb/targetGroup:TargetGroup "blue-tg": health-check-required: healthCheck.enabled is false; a cutover moves traffic only to a color whose health check passes. Set healthCheck.enabled: true.',
                'aws:lb/targetGroup:TargetGroup "blue-tg": health-check-required: healthCheck.path is not set; a cutover moves traffic only to a color whose health check passes. Set healthCheck.path to the app\'s health path, e.g. "/healthz".',
            ]);
        });

        it("reports a local app without a healthCheckPath and a router with a relative one", () => {
            assert.deepStrictEqual(healthCheckRequired(res(LOCAL.appProcess, "blue", { color: "blue" })), [
                `${LOCAL.appProcess} "blue": health-check-required: healthCheckPath is not set; a cutover moves traffic only to a color whose health check passes. Set healthCheckPath to a path starting with "/", e.g. "/healthz".`,
            ]);
            assert.deepStrictEqual(healthCheckRequired(router({ healthCheckPath: "healthz" })), [
                `${LOCAL.router} "router": health-check-required: healthCheckPath is "healthz"; a cutover moves traffic only to a color whose health check passes. Set healthCheckPath to a path starting with "/", e.g. "/healthz".`,
            ]);
        });
    });

    describe("stack-role-consistent", () => {
        const stray = localDb({ role: "sandbox" });

        it("accepts a stack of one role, and resources without a role", () => {
            assert.deepStrictEqual(stackRoleConsistent([prodDb(), router(), res("pulumi:pulumi:Stack", "shop-prod", {})]), []);
            assert.deepStrictEqual(stackRoleConsistent([sandboxDb(), localDb()]), []);
        });

        it("reports the minority resource", () => {
            assert.deepStrictEqual(stackRoleConsistent([prodDb(), router(), stray]), [
                {
                    urn: stray.urn,
                    message:
                        `${LOCAL.postgresServer} "pg": stack-role-consistent: role is "sandbox" but this is a production stack (2 production and 1 sandbox resource(s)); a stack is either production or a sandbox, never both. ` +
                        'Move this resource to a sandbox stack, or set its role prop to "production".',
                },
            ]);
        });

        it("config stackRole sandbox reports the production resources even when they are the majority", () => {
            const db = prodDb();
            const out = stackRoleConsistent([db, router(), stray], { stackRole: "sandbox" });
            assert.deepStrictEqual(out[0], {
                urn: db.urn,
                message:
                    'aws:rds/instance:Instance "shop-db": stack-role-consistent: role is "production" but this is a sandbox stack (configured stackRole); a stack is either production or a sandbox, never both. ' +
                    'Move this resource to a production stack, or set its switchyard:role tag to "sandbox".',
            });
            assert.strictEqual(out.length, 2);
        });

        const stackRes = (role: unknown) => res(STACK_TYPE, "switchyard-shop", { role, platform: "local" });

        it("takes the stack's role from its role output: all-sandbox resources in a blue-green stack are reported", () => {
            const db = sandboxDb();
            assert.deepStrictEqual(stackRoleConsistent([stackRes("blue-green"), db]), [
                {
                    urn: db.urn,
                    message:
                        'aws:rds/instance:Instance "pr-42-db": stack-role-consistent: role is "sandbox" but this is a production stack (its role output is "blue-green"); a stack is either production or a sandbox, never both. ' +
                        'Move this resource to a sandbox stack, or set its switchyard:role tag to "production".',
                },
            ]);
            assert.deepStrictEqual(stackRoleConsistent([stackRes("sandbox"), sandboxDb(), localDb()]), []);
            assert.deepStrictEqual(stackRoleConsistent([stackRes("blue-green"), sandboxDb()], { stackRole: "sandbox" }), [], "a configured stackRole wins");
        });

        it("the declared role decides even when the other role is the majority", () => {
            const out = stackRoleConsistent([stackRes("sandbox"), prodDb(), router(), stray]);
            assert.deepStrictEqual(
                out.map((v) => v.urn),
                [prodDb().urn, router().urn],
            );
        });

        it("on a tie reports every resource carrying a role", () => {
            const out = stackRoleConsistent([prodDb(), sandboxDb()]);
            assert.deepStrictEqual(
                out.map((v) => v.message),
                [
                    'aws:rds/instance:Instance "shop-db": stack-role-consistent: role is "production" in a stack that mixes 1 production and 1 sandbox resource(s); a stack is either production or a sandbox, never both. ' +
                        "Move the resources of one role to a stack of their own, or set the policy's stackRole to say which role this stack has.",
                    'aws:rds/instance:Instance "pr-42-db": stack-role-consistent: role is "sandbox" in a stack that mixes 1 production and 1 sandbox resource(s); a stack is either production or a sandbox, never both. ' +
                        "Move the resources of one role to a stack of their own, or set the policy's stackRole to say which role this stack has.",
                ],
            );
        });
    });

    describe("unknown values (preview)", () => {
        // The policy framework hands rules a proxy that throws UnknownValueError on reading an unknown value.
        const unknownProps = (props: Record<string, unknown>) => unknownCheckingProxy(props) as Record<string, unknown>;

        it("skips the checks that need an unknown value and still runs the others", () => {
            const db = res(RDS, "shop-db", unknownProps({ ...prodDb().props, deletionProtection: unknownBooleanValue, backupRetentionPeriod: 1 }), true);
            assert.deepStrictEqual(prodDbDeletionProtection(db), []);
            assert.strictEqual(prodDbBackupRetention(db).length, 1);
        });

        it("an unknown snapshotIdentifier counts as restored", () => {
            const db = res(RDS, "shop-db", unknownProps({ ...prodDb().props, snapshotIdentifier: unknownStringValue, publiclyAccessible: true }), true);
            assert.strictEqual(sandboxDbPrivateEncrypted(db).length, 1);
        });

        it("a restored database whose role tag is not known yet is not taken for a sandbox", () => {
            const db = res(RDS, "shop-db", unknownProps({ ...prodDb().props, snapshotIdentifier: "snap-7", tags: { "switchyard:role": unknownStringValue } }), true);
            assert.deepStrictEqual(sandboxDbTags(db), []);
            const known = res(RDS, "shop-db", { ...prodDb().props, snapshotIdentifier: "snap-7", tags: {} }, true);
            assert.strictEqual(sandboxDbTags(known).length, 2, "with no role at all it is a sandbox");
        });

        it("unknown target group ARNs and weights do not fail or report", () => {
            const l = res(
                LISTENER,
                "front-main",
                unknownProps({
                    defaultActions: [{ type: "forward", forward: { targetGroups: [{ arn: unknownStringValue, weight: unknownNumberValue }, { arn: unknownStringValue, weight: 10 }] } }],
                    tags: prodTags,
                }),
            );
            assert.deepStrictEqual(trafficTwoColors(l), []);
            assert.deepStrictEqual(trafficWeightsValid(l), []);
        });

        it("every rule survives props made entirely of unknowns", () => {
            const types = [RDS, LISTENER, AWS.listenerRule[0], TG, AWS.securityGroup, AWS.securityGroupRule, AWS.securityGroupIngressRule, ...Object.values(LOCAL)];
            for (const type of types) {
                const r = res(type, "x", unknownProps({ tags: unknownStringValue, role: unknownStringValue, ingress: unknownStringValue, defaultActions: unknownStringValue, actions: unknownStringValue }));
                for (const spec of RULES) {
                    if (spec.kind === "resource") {
                        assert.doesNotThrow(() => spec.check(r, {}), `${spec.name} on ${type}`);
                    }
                }
            }
        });
    });

    describe("sandbox-no-production-db", () => {
        const PROD_URL = "postgres://127.0.0.1:20204/shop";
        const sandboxStack = res(STACK_TYPE, "switchyard-test-sandbox", { role: "sandbox" });
        const localRef = res(STACK_REFERENCE_TYPE, "shop-sandbox-production", {
            name: "organization/switchyard-test/pair",
            outputs: { role: "blue-green", databaseUrl: PROD_URL, databasePort: 20204 },
        });
        const app = (environment: Record<string, unknown>) =>
            res(LOCAL.appProcess, "shop-sandbox-app", { role: "sandbox", environment: { PORT: "20205", DATABASE_URL: "postgres://127.0.0.1:20206/shop", ...environment } });

        it("accepts a sandbox whose app reaches only its own database", () => {
            assert.deepStrictEqual(sandboxNoProductionDb([sandboxStack, localRef, app({ REPORTS_URL: "http://127.0.0.1:9000/" })]), []);
        });

        it("blocks a local sandbox whose app names production's URL, its host and port in another URL, or its port", () => {
            const urn = `urn:pulumi:test::switchyard::${LOCAL.appProcess}::shop-sandbox-app`;
            const tail = "(stack organization/switchyard-test/pair); a sandbox must never reach production's database, or its tests would write to production. Point it at the sandbox's own database (DATABASE_URL is set to it) and remove the variable.";
            const h = `${LOCAL.appProcess} "shop-sandbox-app": sandbox-no-production-db: its environment: `;
            assert.deepStrictEqual(sandboxNoProductionDb([sandboxStack, localRef, app({ LEGACY_DATABASE_URL: PROD_URL })]), [
                { urn, message: `${h}LEGACY_DATABASE_URL holds production's database URL ${tail}` },
            ]);
            assert.deepStrictEqual(
                sandboxNoProductionDb([sandboxStack, localRef, app({ AUDIT_DSN: "postgresql://writer:pw@localhost:20204/audit?sslmode=disable" })]).map((v) => v.message),
                [`${h}AUDIT_DSN names production's database at localhost:20204 ${tail}`],
            );
            assert.deepStrictEqual(sandboxNoProductionDb([sandboxStack, localRef, app({ PGPORT: 20204 })]).map((v) => v.message), [`${h}PGPORT is production's database port 20204 ${tail}`]);
        });

        it("blocks an AWS sandbox whose task definition or SSM parameter names production's RDS endpoint", () => {
            const ref = res(STACK_REFERENCE_TYPE, "shop-sandbox-production", {
                name: "organization/shop/prod",
                outputs: { role: "blue-green", databaseAddress: "shop-prod.abc123.us-east-1.rds.amazonaws.com", databasePort: 5432 },
            });
            const task = res(AWS_ENV.taskDefinition, "shop-sandbox-app-task", {
                tags: { "switchyard:role": "sandbox" },
                containerDefinitions: JSON.stringify([{ name: "app", environment: [{ name: "DB_HOST", value: "shop-prod.abc123.us-east-1.rds.amazonaws.com" }, { name: "COLOR", value: "green" }] }]),
            });
            const param = res(AWS_ENV.ssmParameter, "shop-sandbox-app-database-url", {
                tags: { "switchyard:role": "sandbox" },
                name: "/switchyard/shop-sandbox/DATABASE_URL",
                value: "postgres://app:pw@shop-prod.abc123.us-east-1.rds.amazonaws.com:5432/shop",
            });
            const own = res(AWS_ENV.ssmParameter, "own-url", { tags: { "switchyard:role": "sandbox" }, name: "/x", value: "postgres://app:pw@shop-sandbox.abc123.us-east-1.rds.amazonaws.com:5432/shop" });
            const got = sandboxNoProductionDb([sandboxStack, ref, task, param, own]).map((v) => v.message.split(" (stack")[0]);
            assert.deepStrictEqual(got, [
                `${AWS_ENV.taskDefinition} "shop-sandbox-app-task": sandbox-no-production-db: its container "app" environment: DB_HOST is production's database host shop-prod.abc123.us-east-1.rds.amazonaws.com`,
                `${AWS_ENV.ssmParameter} "shop-sandbox-app-database-url": sandbox-no-production-db: its value: /switchyard/shop-sandbox/DATABASE_URL names production's database at shop-prod.abc123.us-east-1.rds.amazonaws.com:5432`,
            ]);
        });

        it("reads production's endpoint from the sandbox's ProductionDatabase (a stack policy is not shown StackReferences)", () => {
            const recorded = res("switchyard:index:ProductionDatabase", "shop-sandbox-production-db", { stack: "organization/switchyard-test/pair", databaseUrl: PROD_URL, databasePort: 20204 });
            assert.deepStrictEqual(
                sandboxNoProductionDb([sandboxStack, recorded, app({ LEGACY_DATABASE_URL: PROD_URL })]).map((v) => v.message.split(" (stack")[0]),
                [`${LOCAL.appProcess} "shop-sandbox-app": sandbox-no-production-db: its environment: LEGACY_DATABASE_URL holds production's database URL`],
            );
        });

        it("judges only sandbox stacks, production references, and known values", () => {
            const bad = app({ LEGACY_DATABASE_URL: PROD_URL });
            assert.deepStrictEqual(sandboxNoProductionDb([res(STACK_TYPE, "s", { role: "blue-green" }), localRef, bad]), [], "a production stack is not a sandbox");
            const otherSandbox = res(STACK_REFERENCE_TYPE, "peer", { name: "o/p/other", outputs: { role: "sandbox", databaseUrl: PROD_URL } });
            assert.deepStrictEqual(sandboxNoProductionDb([sandboxStack, otherSandbox, bad]), [], "a reference to another sandbox is not production");
            assert.deepStrictEqual(productionDatabases([res(STACK_REFERENCE_TYPE, "x-production", { name: "o/p/prod", outputs: unknownCheckingProxy })]), [], "unknown outputs are skipped");
            assert.deepStrictEqual(productionDatabases([res(STACK_REFERENCE_TYPE, "x-production", { name: "o/p/prod", outputs: { databaseUrl: PROD_URL } })]), [
                { stack: "o/p/prod", urls: [PROD_URL], host: "127.0.0.1", port: 20204 },
            ], "no role output: a reference named *-production is production");
            // On this machine a host alone is not production's (every local server is on 127.0.0.1): its port must match too.
            const db = { stack: "p", urls: [], host: "127.0.0.1", port: 20204 };
            assert.deepStrictEqual(envNamesDatabase({ PGHOST: "127.0.0.1", PGPORT: "20206" }, db), []);
            assert.deepStrictEqual(envNamesDatabase({ PGHOST: "localhost", PGPORT: "20204" }, db), ["PGHOST is production's database host localhost (with PGPORT 20204)"]);
        });
    });

    describe("rollout-settings-valid", () => {
        const LOCAL_PAIR = "switchyard:local:BlueGreen";
        const pair = (rollout: unknown, type = LOCAL_PAIR) => res(type, "shop", { platform: "local", weights: { blue: 100, green: 0 }, ...(rollout === undefined ? {} : { rollout }) });
        const messages = (rollout: unknown, type?: string) => rolloutSettingsValid([pair(rollout, type)]).map((v) => v.message);
        const TAIL = ". Correct it in the stack's configuration (switchyard:cutover), or remove it: a cutover would refuse it.";
        const h = `${LOCAL_PAIR} "shop": rollout-settings-valid: `;

        it("accepts well-formed windows and durations, and a pair that declares none", () => {
            assert.deepStrictEqual(messages({ window: "Sat 02:00-05:00 UTC", watch: "24h", keepWarm: "1h30m" }), []);
            assert.deepStrictEqual(messages({ window: ["Mon-Fri 22:00-02:00 Europe/Paris", "daily 23:00-24:00"], watch: "6s" }), []);
            assert.deepStrictEqual(messages(undefined), []);
        });

        it("refuses a window nearly right, naming the key and the value", () => {
            assert.deepStrictEqual(messages({ window: "Sat 25:00-05:00 UTC" }), [`${h}switchyard:cutover.window: window "Sat 25:00-05:00 UTC": "25:00" is not a time of day${TAIL}`]);
            assert.deepStrictEqual(messages({ window: "Sat 02:00-02:00 UTC" }), [`${h}switchyard:cutover.window: window "Sat 02:00-02:00 UTC" is empty: its start and end are the same time${TAIL}`]);
            assert.deepStrictEqual(messages({ window: "Sat 2:00-05:00 UTC" }), [`${h}switchyard:cutover.window: window "Sat 2:00-05:00 UTC": "2:00" is not a time: write HH:MM on a 24-hour clock${TAIL}`]);
            assert.match(messages({ window: "Sta 02:00-05:00" })[0], /switchyard:cutover\.window: window "Sta 02:00-05:00": "Sta" is not a day/);
            assert.match(messages({ window: "Sat 02:00-05:00 UTX" })[0], /switchyard:cutover\.window: window "Sat 02:00-05:00 UTX": "UTX" is not a time zone/);
            assert.match(messages({ window: "Sat 02:00-24:01" })[0], /"24:01" is not a time of day/);
        });

        it("refuses an empty element of a window list, an empty list and a value that is not text, one message each", () => {
            const got = messages({ window: ["Sat 02:00-05:00 UTC", "", 5] });
            assert.strictEqual(got.length, 2, got.join("\n"));
            assert.match(got[0], /^switchyard:local:BlueGreen "shop": rollout-settings-valid: switchyard:cutover\.window: window "" does not read as \[days\] HH:MM-HH:MM \[zone\]/);
            assert.match(got[1], /switchyard:cutover\.window: window 5 is not text/);
            assert.match(messages({ window: [] })[0], /switchyard:cutover\.window: the window list is empty/);
            assert.match(messages({ window: 3 })[0], /window 3 is not text/, "a number is one element that is not text, not a crash");
        });

        it("refuses a malformed, negative, unitless, zero or too long duration, naming the key and the value", () => {
            const dur = (key: string, v: unknown) =>
                `${h}switchyard:cutover.${key} is ${JSON.stringify(v)}: give a duration such as 6s, 30m, 24h or 1h30m (whole numbers, units s, m, h, d; at most 7d)${TAIL}`;
            for (const v of ["1.5.h", "-1h", "0.5", "1.5h", "30 m", "1h30", "0h", "8d", "", 30]) {
                assert.deepStrictEqual(messages({ watch: v }), [dur("watch", v)], `watch ${JSON.stringify(v)}`);
            }
            assert.deepStrictEqual(messages({ keepWarm: "-1h" }), [dur("keepWarm", "-1h")]);
            assert.deepStrictEqual(messages({ window: "Sat 02:00-02:00 UTC", watch: "0.5", keepWarm: "2h" }).length, 2, "each bad setting is reported");
        });

        it("checks an AWS pair alike, reports on the pair's urn, skips unknown settings and other resources", () => {
            assert.deepStrictEqual(rolloutSettingsValid([pair({ watch: "-1h" }, "switchyard:aws:BlueGreen")]).map((v) => v.urn), ["urn:pulumi:test::switchyard::switchyard:aws:BlueGreen::shop"]);
            assert.deepStrictEqual(rolloutSettingsValid([res(LOCAL.router, "shop-router", { rollout: { watch: "-1h" } }), res(STACK_TYPE, "s", { rollout: { watch: "-1h" } })]), []);
            const unknown = res(LOCAL_PAIR, "shop", unknownCheckingProxy({ rollout: { window: unknownStringValue } }) as Record<string, unknown>);
            assert.deepStrictEqual(rolloutSettingsValid([unknown]), []);
        });
    });

    describe("the rule table", () => {
        it("has every rule once, with its defaults in the config schema", () => {
            assert.deepStrictEqual(RULES.map((r) => r.name), [...RULE_NAMES]);
            const schema = (name: string) => RULES.find((r) => r.name === name)!.configSchema!.properties;
            assert.strictEqual((schema("cutover-plan-valid").maxStep as { default: unknown }).default, DEFAULTS.maxStep);
            assert.strictEqual((schema("prod-db-backup-retention").minDays as { default: unknown }).default, 7);
            assert.strictEqual((schema("sandbox-expiry-max").maxHours as { default: unknown }).default, 168);
            assert.deepStrictEqual((schema("no-public-db-port").ports as { default: unknown }).default, [5432, 3306]);
        });
    });
});

describe("policies: the pack (index.ts)", () => {
    type Served = { name: string; version: string; level: string; args: { policies: Array<Record<string, unknown>> } };
    let served: Served | undefined;

    before(() => {
        // `new PolicyPack` starts the gRPC server the CLI talks to; capture what it would serve instead.
        const server = require("@pulumi/policy/server");
        const realServe = server.serve;
        server.serve = (name: string, version: string, level: string, args: Served["args"]) => {
            served = { name, version, level, args };
        };
        try {
            require("./index");
        } finally {
            server.serve = realServe;
        }
    });

    it("is named switchyard and serves every policy with its default level", () => {
        assert.ok(served, "index.ts did not construct a PolicyPack");
        assert.strictEqual(served.name, "switchyard");
        const levels = Object.fromEntries(served.args.policies.map((p) => [p.name, p.enforcementLevel]));
        assert.deepStrictEqual(levels, {
            "traffic-two-colors": "mandatory",
            "traffic-weights-valid": "mandatory",
            "cutover-plan-valid": "mandatory",
            "flags-valid": "mandatory",
            "prod-db-deletion-protection": "mandatory",
            "prod-db-backup-retention": "mandatory",
            "prod-db-encrypted-protected": "mandatory",
            "sandbox-db-private-encrypted": "mandatory",
            "sandbox-db-tags": "mandatory",
            "sandbox-expiry-max": "mandatory",
            "sandbox-masking-valid": "mandatory",
            "no-public-db-port": "mandatory",
            "health-check-required": "mandatory",
            "stack-role-consistent": "mandatory",
            "sandbox-no-production-db": "mandatory",
            "rollout-settings-valid": "mandatory",
        });
    });

    it("gives each policy a description and the right kind of validation, with valid config schemas", () => {
        for (const p of served!.args.policies) {
            assert.ok(typeof p.description === "string" && p.description.length > 0, `${p.name} description`);
            const isStack = ["stack-role-consistent", "sandbox-no-production-db", "rollout-settings-valid"].includes(p.name as string);
            assert.strictEqual(typeof (isStack ? p.validateStack : p.validateResource), "function", `${p.name} validation`);
            const schema = p.configSchema as { properties: Record<string, unknown> } | undefined;
            assert.ok(!schema || !("enforcementLevel" in schema.properties), `${p.name}: enforcementLevel may not be a config property`);
        }
    });

    it("wires the rules to reportViolation with the policy's config and the protect option", () => {
        const p = served!.args.policies.find((x) => x.name === "prod-db-backup-retention")!;
        const reported: string[] = [];
        const db = prodDb();
        (p.validateResource as Function)(
            { type: db.type, name: db.name, urn: db.urn, props: db.props, opts: { protect: true }, getConfig: () => ({ minDays: 14 }) },
            (m: string) => reported.push(m),
        );
        assert.deepStrictEqual(reported, [
            'aws:rds/instance:Instance "shop-db": prod-db-backup-retention: backupRetentionPeriod is 7 day(s); production databases keep backups at least 14 days. Set backupRetentionPeriod to 14 or more.',
        ]);

        const protect = served!.args.policies.find((x) => x.name === "prod-db-encrypted-protected")!;
        const got: string[] = [];
        (protect.validateResource as Function)(
            { type: db.type, name: db.name, urn: db.urn, props: db.props, opts: { protect: false }, getConfig: () => ({}) },
            (m: string) => got.push(m),
        );
        assert.strictEqual(got.length, 1);

        const stack = served!.args.policies.find((x) => x.name === "stack-role-consistent")!;
        const stray = localDb();
        const violations: [string, string | undefined][] = [];
        (stack.validateStack as Function)(
            {
                resources: [prodDb(), router(), stray].map((r) => ({ type: r.type, name: r.name, urn: r.urn, props: r.props, opts: { protect: false } })),
                getConfig: () => ({}),
            },
            (m: string, urn?: string) => violations.push([m, urn]),
        );
        assert.strictEqual(violations.length, 1);
        assert.strictEqual(violations[0][1], stray.urn);
    });
});
