/**
 * SnapshotDatabase: an RDS instance restored from a snapshot, never publicly accessible, reachable
 * only from the app's security group on the engine port, with encrypted storage and a master
 * password that exists only as a Pulumi secret, or (recommended: `manageMasterUserPassword`) only in
 * AWS Secrets Manager, managed and rotated by RDS, so that no password sits in the stack's state.
 */
import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import {
    ROLES,
    Role,
    SandboxLifetimeArgs,
    TAGS,
    Transform,
    applyTransform,
    checkTtlHours,
    expiryFrom,
    throwIfInvalid,
} from "../types";
import {
    ENGINE_PORTS,
    Engine,
    checkEngine,
    checkIntRange,
    checkNow,
    checkedOutput,
    childTags,
    parameterGroupFamily,
    rdsIdentifier,
} from "./common";
import { GeneratedPassword, GeneratedPasswordArgs } from "./password";
import { checkRestoreFrom, restoredInstanceName } from "./restoreFrom";

/**
 * The instance class used when none is given and the snapshot's source instance no longer exists
 * (a snapshot does not record its instance's class).
 */
export const DEFAULT_INSTANCE_CLASS = "db.t4g.micro";

/** Characters RDS refuses in a master password. */
const PASSWORD_FORBIDDEN = /[/"@\s]/;

/** Checks a master password given by the user. */
export function checkMasterPassword(pw: unknown): string | undefined {
    if (typeof pw !== "string" || pw.length < 8 || pw.length > 128) {
        return "masterPassword must be a string of 8 to 128 characters";
    }
    if (PASSWORD_FORBIDDEN.test(pw)) {
        return 'masterPassword must not contain "/", "@", a double quote or spaces (RDS refuses them)';
    }
    return undefined;
}

/**
 * Parameters an RDS blue/green deployment needs beyond backups: logical replication on postgres
 * (applied at the next reboot); none on mysql, whose binary log is on whenever backups are.
 */
export function blueGreenParameters(engine: Engine): aws.types.input.rds.ParameterGroupParameter[] {
    return engine === "postgres" ? [{ name: "rds.logical_replication", value: "1", applyMethod: "pending-reboot" }] : [];
}

/** Checks that exactly one snapshot source is given. */
export function checkSnapshotSource(snapshotIdentifier: unknown, sourceInstanceIdentifier: unknown): string | undefined {
    if (snapshotIdentifier === undefined && sourceInstanceIdentifier === undefined) {
        return "no snapshot to restore: set snapshotIdentifier (a snapshot's identifier or ARN) or sourceInstanceIdentifier (to restore that instance's latest snapshot)";
    }
    if (snapshotIdentifier !== undefined && sourceInstanceIdentifier !== undefined) {
        return "both snapshotIdentifier and sourceInstanceIdentifier are set: give only one snapshot source";
    }
    return undefined;
}

/** Arguments of a SnapshotDatabase. */
export interface SnapshotDatabaseArgs extends SandboxLifetimeArgs {
    /**
     * What the database is for; a plain value because it decides resource options. `"blue-green"`
     * (tagged `switchyard:role=production`): `protect`, deletion protection, a final snapshot and
     * backups. `"sandbox"`: expires (`ttlHours` required), tagged with its expiry and source snapshot,
     * deleted without a final snapshot.
     * Required: no default.
     * @example "sandbox"
     */
    readonly role: Role;
    /**
     * The snapshot to restore, by identifier or ARN. Give this or `sourceInstanceIdentifier`.
     * @default none: the latest snapshot of `sourceInstanceIdentifier`
     * @example "shop-prod-before-migration-42"
     */
    readonly snapshotIdentifier?: pulumi.Input<string>;
    /**
     * Restore the latest snapshot (automated or manual) of this instance, looked up at preview time.
     * Give this or `snapshotIdentifier`. The snapshot is chosen when the database is created; later
     * snapshots do not replace it (to refresh a sandbox, replace it).
     * @default none: `snapshotIdentifier` is restored
     * @example "shop-prod"
     */
    readonly sourceInstanceIdentifier?: pulumi.Input<string>;
    /**
     * Database engine: "postgres" or "mysql".
     * @default the snapshot's engine
     */
    readonly engine?: pulumi.Input<Engine>;
    /**
     * Engine version. When it comes from the snapshot, later snapshots' versions are ignored, so
     * an update never upgrades the engine by surprise.
     * @default the snapshot's engine version
     * @example "16.4"
     */
    readonly engineVersion?: pulumi.Input<string>;
    /**
     * Instance class. A snapshot does not record its instance's class, so the source instance
     * (`sourceInstanceIdentifier`, else the snapshot's instance) is looked up at preview time. When
     * it comes from the source, later changes of the source's class are ignored, so an update never
     * resizes the database by surprise (or shrinks it once the source is gone).
     * @default the source instance's class; "db.t4g.micro" when the source instance no longer exists
     * @example "db.r6g.large"
     */
    readonly instanceClass?: pulumi.Input<string>;
    /**
     * VPC of the database's security group. Required: no default.
     * @example "vpc-0a1b2c3d4e5f60718"
     */
    readonly vpcId: pulumi.Input<string>;
    /**
     * Private subnets (two or more availability zones) for the DB subnet group. Required: no default.
     * @example ["subnet-0c1d2e3f4a5b60001", "subnet-0c1d2e3f4a5b60002"]
     */
    readonly subnetIds: pulumi.Input<pulumi.Input<string>[]>;
    /**
     * The app's security group: the only source allowed to connect, on the engine port.
     * Required: no default.
     */
    readonly appSecurityGroupId: pulumi.Input<string>;
    /**
     * Database name in the connection URL.
     * @default the restored instance's database name (from the snapshot), else "postgres" (postgres) or none (mysql)
     * @example "shop"
     */
    readonly databaseName?: pulumi.Input<string>;
    /**
     * Master password. Kept as a secret. When not given, one is generated once and kept (as a
     * secret) in the stack's state, so every update sees the same password.
     * @default generated: 32 characters of A-Z a-z 0-9 - _
     */
    readonly masterPassword?: pulumi.Input<string>;
    /**
     * Let RDS manage the master password in AWS Secrets Manager (recommended): RDS generates it,
     * keeps it in a secret of its own (`masterUserSecretArn`) and rotates it; no password is ever in
     * the stack's state, and none is generated here. A restored database gets a new secret, so a
     * sandbox restored from production's snapshot never shares production's password. The app reads
     * the password from the secret (`connectionUrl` then carries none); a plain value.
     * @default false: a password generated once and kept as a secret in the state
     * @example true
     */
    readonly manageMasterUserPassword?: boolean;
    /**
     * The KMS key that encrypts the managed secret (with `manageMasterUserPassword`).
     * @default the account's `aws/secretsmanager` key
     * @example "arn:aws:kms:us-east-1:123456789012:key/0a1b2c3d-4e5f-6a7b-8c9d-0e1f2a3b4c5d"
     */
    readonly masterUserSecretKmsKeyId?: pulumi.Input<string>;
    /**
     * Days of automated backups (0 to 35). A production database needs at least 1 (RDS blue/green
     * deployments need backups too).
     * @default 7 (production), 0 (sandbox)
     */
    readonly backupRetentionPeriod?: pulumi.Input<number>;
    /**
     * Identifier of the snapshot taken when a production database is deleted.
     * @default "<name>-final"
     */
    readonly finalSnapshotIdentifier?: pulumi.Input<string>;
    /**
     * Run a standby in a second availability zone.
     * @default false
     */
    readonly multiAz?: pulumi.Input<boolean>;
    /**
     * Extra parameters for the parameter group.
     * @default []
     * @example [{ name: "log_min_duration_statement", value: "500" }]
     */
    readonly parameters?: pulumi.Input<pulumi.Input<aws.types.input.rds.ParameterGroupParameter>[]>;
    /**
     * Prepare the instance to be the blue side of an RDS blue/green deployment (see
     * blueGreenParameters); a plain value.
     * @default false
     */
    readonly rdsBlueGreenReady?: boolean;
    /**
     * Production only: restore the database from this RDS snapshot (identifier or ARN), through the
     * stack. A second instance, `<name>-from-<snapshot>`, is created from it beside the one in service,
     * with the same subnets, security group, parameters and password (or a managed secret of its own),
     * and becomes the database every output names (connectionUrl, identifier, address…). The instance
     * in service before is kept, protected, no longer used: remove it by hand once the restore is
     * checked. A later restore from another snapshot drops the earlier restored instance from the
     * stack but leaves it in AWS (deletion protection on, `retainOnDelete`). A plain value: it names
     * the resource. Set by `switchyard restore` (the key `switchyard:database.restoreFrom`).
     * @default none: the database restored from `snapshotIdentifier` or `sourceInstanceIdentifier` serves
     * @example "shop-prod-pre-cutover-20261130101500"
     */
    readonly restoreFrom?: string;
    /**
     * The expiry instant to tag a sandbox with (ISO 8601), when the caller computed it already.
     * @default ttlHours after now (each update extends a sandbox's life)
     */
    readonly expiresAt?: pulumi.Input<string>;
    /**
     * The clock the expiry is computed from.
     * @default () => new Date()
     */
    readonly clock?: () => Date;
    /**
     * Tags for every child; `switchyard:role` is always set from `role`.
     * @default {}
     */
    readonly tags?: pulumi.Input<Record<string, pulumi.Input<string>>>;
    /**
     * Adjust a child's arguments before it is created: `subnetGroup` (`<name>-subnets`),
     * `securityGroup` (`<name>-sg`), `parameterGroup` (`<name>-params`), `password`
     * (`<name>-password`, only when no masterPassword is given), `dbInstance` (`<name>-instance`).
     * @default {}: no child is adjusted
     * @example { dbInstance: (a) => ({ ...a, performanceInsightsEnabled: true }) }
     */
    readonly transform?: {
        readonly subnetGroup?: Transform<aws.rds.SubnetGroupArgs>;
        readonly securityGroup?: Transform<aws.ec2.SecurityGroupArgs>;
        readonly parameterGroup?: Transform<aws.rds.ParameterGroupArgs>;
        readonly password?: Transform<GeneratedPasswordArgs>;
        readonly dbInstance?: Transform<aws.rds.InstanceArgs>;
    };
}

/**
 * The class of the source instance, or undefined when there is none or it no longer exists (a
 * snapshot outlives its instance: a final snapshot, a decommissioned database). Looked up through
 * the provider: `getInstances` first, which finds nothing without failing, then `getInstance`.
 */
async function sourceInstanceClass(parent: pulumi.Resource, identifier: string | undefined): Promise<string | undefined> {
    if (!identifier) {
        return undefined;
    }
    const found = await aws.rds.getInstances({ filters: [{ name: "db-instance-id", values: [identifier] }] }, { parent });
    if (!found.instanceIdentifiers.includes(identifier)) {
        return undefined;
    }
    return (await aws.rds.getInstance({ dbInstanceIdentifier: identifier }, { parent })).dbInstanceClass;
}

/** Validates the plain arguments of a SnapshotDatabase; returns the first problem. */
export function checkSnapshotDatabaseArgs(args: SnapshotDatabaseArgs | undefined): string | undefined {
    if (!args) {
        return "SnapshotDatabase needs arguments: role, a snapshot source, vpcId, subnetIds and appSecurityGroupId";
    }
    if (!(ROLES as readonly unknown[]).includes(args.role)) {
        return `role ${JSON.stringify(args.role)} is unknown: use one of ${ROLES.join(", ")}`;
    }
    const source = checkSnapshotSource(args.snapshotIdentifier, args.sourceInstanceIdentifier);
    if (source) {
        return source;
    }
    for (const [what, v] of [
        ["vpcId", args.vpcId],
        ["subnetIds", args.subnetIds],
        ["appSecurityGroupId", args.appSecurityGroupId],
    ] as const) {
        if (v === undefined) {
            return `${what} is missing: the database needs its network`;
        }
    }
    if (args.engine !== undefined) {
        const m = checkNow(args.engine, checkEngine);
        if (m) {
            return m;
        }
    }
    if (args.role === "sandbox") {
        const m = checkNow(args.ttlHours, checkTtlHours);
        if (m) {
            return m;
        }
    } else if (args.ttlHours !== undefined) {
        return "ttlHours is for sandboxes: a production database does not expire";
    }
    if (args.manageMasterUserPassword !== undefined && typeof args.manageMasterUserPassword !== "boolean") {
        return `manageMasterUserPassword is ${JSON.stringify(args.manageMasterUserPassword)}: give true (RDS keeps the password in Secrets Manager) or false`;
    }
    if (args.manageMasterUserPassword === true && args.masterPassword !== undefined) {
        return "manageMasterUserPassword and masterPassword are both set: with manageMasterUserPassword RDS makes and keeps the password in Secrets Manager; leave masterPassword out";
    }
    if (args.manageMasterUserPassword !== true && args.masterUserSecretKmsKeyId !== undefined) {
        return "masterUserSecretKmsKeyId is set without manageMasterUserPassword: it encrypts the secret RDS manages; set manageMasterUserPassword: true, or leave it out";
    }
    if (args.masterPassword !== undefined) {
        const m = checkNow(args.masterPassword, checkMasterPassword);
        if (m) {
            return m;
        }
    }
    if (args.restoreFrom !== undefined) {
        const m = checkRestoreFrom(args.restoreFrom);
        if (m) {
            return m;
        }
        if (args.role === "sandbox") {
            return "restoreFrom is for a production database: a sandbox restores its snapshot with snapshotIdentifier";
        }
    }
    const minBackup = args.role === "sandbox" ? 0 : 1;
    return checkNow(args.backupRetentionPeriod, (v) => (v === undefined ? undefined : checkIntRange("backupRetentionPeriod", v, minBackup, 35)));
}

/**
 * An RDS instance restored from a snapshot: chosen by identifier, or the latest snapshot of a
 * source instance. Comes with a DB subnet group, a security group admitting only the app's
 * security group on the engine port (5432 postgres, 3306 mysql), a parameter group, encrypted
 * storage, no public access, and a master password held only as a Pulumi secret.
 *
 * @example
 * new SnapshotDatabase("shop-sandbox-db", {
 *     role: "sandbox", ttlHours: 24, sourceInstanceIdentifier: "shop-prod",
 *     vpcId, subnetIds, appSecurityGroupId: appSg.id,
 * });
 */
export class SnapshotDatabase extends pulumi.ComponentResource {
    /** The RDS instance in service: the restored one with `restoreFrom`. */
    public readonly instance: aws.rds.Instance;
    /** With `restoreFrom`: the instance that served before, kept (protected) and no longer used. */
    public readonly replacedInstance?: aws.rds.Instance;
    public readonly securityGroup: aws.ec2.SecurityGroup;
    public readonly subnetGroup: aws.rds.SubnetGroup;
    public readonly parameterGroup: aws.rds.ParameterGroup;
    /** The instance's identifier, e.g. for a sandbox's StackReference. */
    public readonly identifier: pulumi.Output<string>;
    public readonly arn: pulumi.Output<string>;
    public readonly address: pulumi.Output<string>;
    public readonly port: pulumi.Output<number>;
    public readonly engine: pulumi.Output<Engine>;
    public readonly engineVersion: pulumi.Output<string>;
    /** The snapshot restored. */
    public readonly snapshotIdentifier: pulumi.Output<string>;
    public readonly username: pulumi.Output<string>;
    /** The master password; a secret. Undefined when RDS manages it (`manageMasterUserPassword`). */
    public readonly password: pulumi.Output<string | undefined>;
    /** The Secrets Manager secret holding the master password, when RDS manages it; else undefined. */
    public readonly masterUserSecretArn: pulumi.Output<string | undefined>;
    public readonly databaseName: pulumi.Output<string>;
    /**
     * `postgres://user:password@host:port/db` (or `mysql://...`); a secret. With a managed password,
     * `postgres://user@host:port/db`: the password is read from `masterUserSecretArn`.
     */
    public readonly connectionUrl: pulumi.Output<string>;
    /** Expiry instant of a sandbox database; undefined for production. */
    public readonly expiresAt: pulumi.Output<string | undefined>;

    constructor(name: string, args: SnapshotDatabaseArgs, opts?: pulumi.ComponentResourceOptions) {
        super("switchyard:aws:SnapshotDatabase", name, {}, opts);
        throwIfInvalid(this, checkSnapshotDatabaseArgs(args));

        const production = args.role !== "sandbox";
        const t = args.transform ?? {};

        // The snapshot: by identifier, or the latest of the source instance.
        const lookup = aws.rds.getSnapshotOutput(
            args.snapshotIdentifier !== undefined
                ? { dbSnapshotIdentifier: args.snapshotIdentifier }
                : { dbInstanceIdentifier: args.sourceInstanceIdentifier, mostRecent: true },
            { parent: this },
        );
        const snapshotIdentifier = checkedOutput(
            this,
            args.snapshotIdentifier ?? lookup.apply((s) => s.dbSnapshotIdentifier ?? s.id),
            (id) => (id ? undefined : "the snapshot lookup returned no snapshot identifier: nothing to restore"),
        );
        const snapshot = pulumi.all([lookup, args.engine]).apply(([s, wanted]) => {
            throwIfInvalid(this, checkEngine(s.engine));
            if (wanted !== undefined && wanted !== s.engine) {
                throwIfInvalid(this, `engine is "${wanted}" but the snapshot ${s.dbSnapshotIdentifier ?? s.id} is ${s.engine}: a snapshot restores only to its own engine`);
            }
            if (s.encrypted === false) {
                throwIfInvalid(
                    this,
                    `snapshot ${s.dbSnapshotIdentifier ?? s.id} is not encrypted: copy it with a KMS key (aws rds copy-db-snapshot --kms-key-id ...) and restore the copy`,
                );
            }
            return s;
        });
        const engine = snapshot.apply((s) => s.engine as Engine);
        // The instance class: given, or the source instance's (looked up only when it still exists).
        const sourceClass =
            args.instanceClass !== undefined
                ? undefined
                : pulumi
                      .all([args.sourceInstanceIdentifier, snapshot])
                      .apply(([source, s]) => sourceInstanceClass(this, source ?? s.dbInstanceIdentifier))
                      .apply((c) => c ?? DEFAULT_INSTANCE_CLASS);
        const engineVersion = pulumi.output(args.engineVersion ?? snapshot.engineVersion);
        const port = engine.apply((e) => ENGINE_PORTS[e]);
        const ttl = production ? undefined : checkedOutput(this, args.ttlHours, checkTtlHours);
        const clock = args.clock ?? (() => new Date());
        const expiresAt = production ? undefined : pulumi.output(args.expiresAt ?? ttl!.apply((h) => expiryFrom(clock(), h)));

        const tags = childTags(args.role, args.tags);
        const instanceTags = production
            ? tags
            : childTags(args.role, args.tags, { [TAGS.expiresAt]: expiresAt!, [TAGS.sourceSnapshot]: snapshotIdentifier });

        this.subnetGroup = new aws.rds.SubnetGroup(
            `${name}-subnets`,
            applyTransform<aws.rds.SubnetGroupArgs>(
                { description: `Switchyard: subnets of database ${name}`, subnetIds: args.subnetIds, tags },
                t.subnetGroup,
            ),
            { parent: this },
        );

        this.securityGroup = new aws.ec2.SecurityGroup(
            `${name}-sg`,
            applyTransform<aws.ec2.SecurityGroupArgs>(
                {
                    description: `Switchyard: database ${name}, reachable only from the app's security group`,
                    vpcId: args.vpcId,
                    ingress: [
                        {
                            description: "app to database, engine port",
                            protocol: "tcp",
                            fromPort: port,
                            toPort: port,
                            securityGroups: [args.appSecurityGroupId],
                        },
                    ],
                    egress: [],
                    tags,
                },
                t.securityGroup,
            ),
            { parent: this },
        );

        this.parameterGroup = new aws.rds.ParameterGroup(
            `${name}-params`,
            applyTransform<aws.rds.ParameterGroupArgs>(
                {
                    description: `Switchyard: parameters of database ${name}`,
                    family: pulumi.all([engine, engineVersion]).apply(([e, v]) => parameterGroupFamily(e, v)),
                    parameters: pulumi
                        .all([engine, args.parameters ?? []])
                        .apply(([e, extra]) => [...(args.rdsBlueGreenReady ? blueGreenParameters(e) : []), ...extra]),
                    tags,
                },
                t.parameterGroup,
            ),
            { parent: this },
        );

        const managed = args.manageMasterUserPassword === true;
        const password: pulumi.Output<string> | undefined = managed
            ? undefined
            : args.masterPassword !== undefined
              ? pulumi.secret(checkedOutput(this, args.masterPassword, checkMasterPassword))
              : pulumi.secret(new GeneratedPassword(`${name}-password`, applyTransform<GeneratedPasswordArgs>({ length: 32 }, t.password), { parent: this }).result);

        const instanceArgs = applyTransform<aws.rds.InstanceArgs>(
            {
                snapshotIdentifier,
                engine,
                engineVersion,
                instanceClass: args.instanceClass ?? sourceClass!,
                dbSubnetGroupName: this.subnetGroup.name,
                vpcSecurityGroupIds: [this.securityGroup.id],
                parameterGroupName: this.parameterGroup.name,
                ...(managed ? { manageMasterUserPassword: true, masterUserSecretKmsKeyId: args.masterUserSecretKmsKeyId } : { password }),
                storageEncrypted: true,
                publiclyAccessible: false,
                multiAz: args.multiAz ?? false,
                copyTagsToSnapshot: true,
                autoMinorVersionUpgrade: true,
                backupRetentionPeriod: args.backupRetentionPeriod ?? (production ? 7 : 0),
                deletionProtection: production,
                skipFinalSnapshot: !production,
                finalSnapshotIdentifier: production ? (args.finalSnapshotIdentifier ?? `${rdsIdentifier(name)}-final`) : undefined,
                tags: instanceTags,
            },
            t.dbInstance,
        );
        const ignoreChanges = ["snapshotIdentifier"];
        if (args.engineVersion === undefined) {
            ignoreChanges.push("engineVersion");
        }
        if (sourceClass !== undefined && instanceArgs.instanceClass === sourceClass) {
            ignoreChanges.push("instanceClass");
        }
        if (!production) {
            ignoreChanges.push(`tags["${TAGS.sourceSnapshot}"]`);
        }
        const first = new aws.rds.Instance(`${name}-instance`, instanceArgs, {
            parent: this,
            protect: production,
            ignoreChanges,
            additionalSecretOutputs: ["password"],
        });
        this.instance = first;
        let servedSnapshot: pulumi.Output<string> = snapshotIdentifier;
        if (args.restoreFrom !== undefined) {
            // A second instance from the named snapshot, beside the first: created before anything
            // points at it, the first kept as it is (protected), so nothing is replaced in place.
            const restoreFrom = args.restoreFrom;
            const from = aws.rds.getSnapshotOutput({ dbSnapshotIdentifier: restoreFrom }, { parent: this });
            const fromVersion = pulumi.all([from, engine]).apply(([s, e]) => {
                if (s.engine !== e) {
                    throwIfInvalid(this, `restoreFrom: the snapshot ${restoreFrom} is ${s.engine} but the database is ${e}: a snapshot restores only to its own engine`);
                }
                if (s.encrypted === false) {
                    throwIfInvalid(this, `restoreFrom: the snapshot ${restoreFrom} is not encrypted: copy it with a KMS key (aws rds copy-db-snapshot --kms-key-id ...) and restore the copy`);
                }
                return s.engineVersion;
            });
            const restoredName = restoredInstanceName(name, restoreFrom);
            this.replacedInstance = first;
            this.instance = new aws.rds.Instance(
                restoredName,
                {
                    ...instanceArgs,
                    snapshotIdentifier: restoreFrom,
                    engineVersion: args.engineVersion ?? fromVersion,
                    finalSnapshotIdentifier: `${rdsIdentifier(restoredName)}-final`,
                },
                {
                    parent: this,
                    deleteBeforeReplace: false,
                    retainOnDelete: true,
                    ignoreChanges,
                    additionalSecretOutputs: ["password"],
                },
            );
            servedSnapshot = pulumi.output(restoreFrom);
        }

        this.identifier = this.instance.identifier;
        this.arn = this.instance.arn;
        this.address = this.instance.address;
        this.port = this.instance.port;
        this.engine = engine;
        this.engineVersion = engineVersion;
        this.snapshotIdentifier = servedSnapshot;
        this.username = this.instance.username;
        this.password = pulumi.output(password);
        this.masterUserSecretArn = this.instance.masterUserSecrets.apply((s) => (managed ? s?.[0]?.secretArn : undefined));
        this.databaseName = pulumi
            .all([args.databaseName, this.instance.dbName, engine])
            .apply(([given, restored, e]) => given ?? (restored || (e === "postgres" ? "postgres" : "")));
        this.connectionUrl = pulumi.secret(
            pulumi
                .all([engine, this.username, this.password, this.address, this.port, this.databaseName])
                .apply(
                    ([e, user, pw, host, p, db]) =>
                        `${e === "mysql" ? "mysql" : "postgres"}://${encodeURIComponent(user)}${pw === undefined ? "" : `:${encodeURIComponent(pw)}`}@${host}:${p}/${encodeURIComponent(db)}`,
                ),
        );
        this.expiresAt = pulumi.output(expiresAt);

        this.registerOutputs({
            identifier: this.identifier,
            arn: this.arn,
            address: this.address,
            port: this.port,
            engine: this.engine,
            engineVersion: this.engineVersion,
            snapshotIdentifier: this.snapshotIdentifier,
            username: this.username,
            password: this.password,
            masterUserSecretArn: this.masterUserSecretArn,
            databaseName: this.databaseName,
            connectionUrl: this.connectionUrl,
            expiresAt: this.expiresAt,
        });
    }
}
