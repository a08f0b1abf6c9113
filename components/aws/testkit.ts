/**
 * Test support for the AWS components: runs a program under `pulumi.runtime.setMocks` and records
 * every resource registered (type, name, inputs, and options such as protect, parent, ignoreChanges
 * and dependencies) and every invoke, so tests can assert the resource graph.
 *
 * The AWS provider plugin is not available here, so the mocks stand in for it: a resource's state
 * is its inputs plus the few computed outputs the components read (ids, ARNs, endpoints), and the
 * invokes return fixtures (snapshots, an ECR token, a VPC, stack outputs).
 *
 * Not exported from ./index: only the tests use it.
 */
import * as pulumi from "@pulumi/pulumi";
import { SnapshotSummary, pickLatestSnapshot } from "./rdsApi";
import { BLUE_GREEN_KIND } from "./rdsBlueGreen";
import { PASSWORD_KIND } from "./password";

const SIG_KEY = "4dabf18193072939515e22adb298388d";
const SECRET_SIG = "1b47061264138c4ac30d75fd1eb44270";
const RESOURCE_SIG = "5cf8f73096256a8f31e491e813e4eb8e";

/** One registered (or read) resource, as the engine would have seen it. */
export interface Recorded {
    readonly type: string;
    readonly name: string;
    readonly urn: string;
    readonly custom: boolean;
    /** Inputs with secrets unwrapped and `__provider` (a dynamic provider's code) left out. */
    readonly inputs: Record<string, any>;
    /** Top-level input keys whose value was (or contained) a secret. */
    readonly secretInputs: string[];
    readonly parent: string;
    readonly protect: boolean | undefined;
    readonly ignoreChanges: string[];
    readonly dependencies: string[];
    readonly additionalSecretOutputs: string[];
    readonly deleteBeforeReplace: boolean | undefined;
    /** A read (e.g. a StackReference), not a registration. */
    readonly read: boolean;
}

export interface Invoked {
    readonly token: string;
    readonly inputs: Record<string, any>;
}

/** Fixtures the invokes answer from. */
export interface Fixtures {
    /** Snapshots `aws:rds/getSnapshot:getSnapshot` chooses from. */
    readonly snapshots?: readonly (SnapshotSummary & { port?: number })[];
    /**
     * RDS instances that exist, for `aws:rds/getInstances:getInstances` and `aws:rds/getInstance:getInstance`.
     * @default DEFAULT_INSTANCES
     */
    readonly instances?: readonly MockInstance[];
    /** Outputs of other stacks, by stack name, for StackReferences. */
    readonly stacks?: Readonly<Record<string, Record<string, unknown>>>;
    /** CIDR block of every VPC `aws:ec2/getVpc:getVpc` looks up. @default "10.0.0.0/16" */
    readonly vpcCidr?: string;
}

/** An RDS instance the lookups find. */
export interface MockInstance {
    readonly identifier: string;
    readonly instanceClass: string;
    readonly engine: string;
    readonly engineVersion: string;
}

/** shop-prod exists; legacy-mysql and reports do not (only their snapshots are left). */
export const DEFAULT_INSTANCES: readonly MockInstance[] = [
    { identifier: "shop-prod", instanceClass: "db.m6g.large", engine: "postgres", engineVersion: "16.4" },
];

export const DEFAULT_SNAPSHOTS: readonly SnapshotSummary[] = [
    {
        identifier: "rds:shop-prod-2025-11-20-03-10",
        instanceIdentifier: "shop-prod",
        createdAt: new Date("2025-11-20T03:10:00Z"),
        status: "available",
        type: "automated",
        engine: "postgres",
        engineVersion: "16.4",
    },
    {
        identifier: "shop-prod-before-migration-42",
        instanceIdentifier: "shop-prod",
        createdAt: new Date("2025-11-21T15:00:00Z"),
        status: "available",
        type: "manual",
        engine: "postgres",
        engineVersion: "16.4",
    },
    {
        identifier: "rds:shop-prod-2025-11-22-03-10",
        instanceIdentifier: "shop-prod",
        createdAt: new Date("2025-11-22T03:10:00Z"),
        status: "creating",
        type: "automated",
        engine: "postgres",
        engineVersion: "16.4",
    },
    {
        identifier: "legacy-mysql-final",
        instanceIdentifier: "legacy-mysql",
        createdAt: new Date("2025-10-01T00:00:00Z"),
        status: "available",
        type: "manual",
        engine: "mysql",
        engineVersion: "8.0.39",
    },
    {
        identifier: "reports-aurora-snap",
        instanceIdentifier: "reports",
        createdAt: new Date("2025-10-01T00:00:00Z"),
        status: "available",
        type: "manual",
        engine: "aurora-postgresql",
        engineVersion: "15.4",
    },
];

function unwrap(v: any): { value: any; secret: boolean } {
    if (Array.isArray(v)) {
        let secret = false;
        const value = v.map((x) => {
            const u = unwrap(x);
            secret ||= u.secret;
            return u.value;
        });
        return { value, secret };
    }
    if (v !== null && typeof v === "object") {
        if (v[SIG_KEY] === SECRET_SIG) {
            return { value: unwrap(v.value).value, secret: true };
        }
        if (v[SIG_KEY] === RESOURCE_SIG) {
            return { value: { urn: v.urn, id: v.id }, secret: false };
        }
        if (pulumi.Resource.isInstance(v)) {
            return { value: { resource: v.constructor.name }, secret: false };
        }
        let secret = false;
        const value: Record<string, any> = {};
        for (const [k, x] of Object.entries(v)) {
            const u = unwrap(x);
            secret ||= u.secret;
            value[k] = u.value;
        }
        return { value, secret };
    }
    return { value: v, secret: false };
}

function unwrapInputs(raw: Record<string, any>): { inputs: Record<string, any>; secretInputs: string[] } {
    const inputs: Record<string, any> = {};
    const secretInputs: string[] = [];
    for (const [k, v] of Object.entries(raw ?? {})) {
        if (k === "__provider") {
            continue;
        }
        const u = unwrap(v);
        inputs[k] = u.value;
        if (u.secret) {
            secretInputs.push(k);
        }
    }
    return { inputs, secretInputs };
}

/** The ARN the mocks give a resource of a type and name. */
export function mockArn(type: string, name: string): string {
    return `arn:aws:mock:us-east-1:123456789012:${type.split(":")[1] ?? type}/${name}`;
}

/** The outputs a mocked resource has beyond its inputs. */
function computed(type: string, name: string, inputs: Record<string, any>): { id: string; state: Record<string, any> } {
    const arn = mockArn(type, name);
    const base = { arn };
    switch (type) {
        case "aws:ec2/securityGroup:SecurityGroup":
            return { id: `sg-${name}`, state: base };
        case "aws:rds/instance:Instance": {
            const identifier = inputs.identifier ?? `${name}-abc123`;
            const address = `${identifier}.cmock.us-east-1.rds.amazonaws.com`;
            const port = inputs.port ?? (String(inputs.engine).includes("mysql") ? 3306 : 5432);
            return {
                id: `db-${name}`,
                state: { ...base, identifier, address, port, endpoint: `${address}:${port}`, username: inputs.username ?? "shop_admin", dbName: inputs.dbName ?? "shop",
                    // RDS makes the secret of a managed master password (manageMasterUserPassword).
                    ...(inputs.manageMasterUserPassword ? { masterUserSecrets: [{ secretArn: `arn:aws:secretsmanager:us-east-1:123456789012:secret:rds!db-${identifier}-AbCdEf`, kmsKeyId: "alias/aws/secretsmanager", secretStatus: "active" }] } : {}) },
            };
        }
        case "aws:lb/loadBalancer:LoadBalancer":
            return { id: arn, state: { ...base, dnsName: `${name}-123456.us-east-1.elb.amazonaws.com`, zoneId: "Z35SXDOTRQ7X7K" } };
        case "aws:ecr/repository:Repository":
            return { id: name, state: { ...base, repositoryUrl: `123456789012.dkr.ecr.us-east-1.amazonaws.com/${name}`, registryId: "123456789012" } };
        case "docker:index/image:Image": {
            const repo = String(inputs.imageName ?? name).replace(/:[^:/]*$/, "");
            return { id: `${name}-id`, state: { repoDigest: `${repo}@sha256:${"ab".repeat(32)}` } };
        }
        case "pulumi-nodejs:dynamic:Resource":
            if (inputs.kind === PASSWORD_KIND) {
                return { id: `${name}-id`, state: { result: `mock-password-of-${name}` } };
            }
            if (inputs.kind === BLUE_GREEN_KIND) {
                return { id: "bgd-mock0123456789ab", state: { identifier: "bgd-mock0123456789ab", targetArn: `${inputs.sourceArn}-green`, status: "AVAILABLE" } };
            }
            return { id: `${name}-id`, state: {} };
        default:
            return { id: arn, state: base };
    }
}

/** What a graph run produced. */
export interface Graph<T> {
    readonly result: T;
    readonly resources: Recorded[];
    readonly invokes: Invoked[];
    /** The one resource of a type and name; fails if there is not exactly one. */
    one(type: string, name?: string | RegExp): Recorded;
    /** All resources of a type. */
    all(type: string): Recorded[];
    /** Resources whose parent is the given URN. */
    childrenOf(urn: string): Recorded[];
}

/** Options of a graph run. */
export interface RunOptions extends Fixtures {
    readonly project?: string;
    readonly stack?: string;
    readonly preview?: boolean;
    /** Stack configuration, e.g. { "switchyard:traffic": '{"blue":100,"green":0}' }. */
    readonly config?: Record<string, string>;
}

async function settle(): Promise<void> {
    const waitForRPCs = (pulumi.runtime as unknown as { waitForRPCs(): Promise<void> }).waitForRPCs;
    // Registrations start from promise chains; let them all begin, then wait for them to finish.
    for (let i = 0; i < 3; i++) {
        await new Promise((r) => setImmediate(r));
        await waitForRPCs();
    }
}

/**
 * Runs `program` under fresh mocks and returns what it registered and invoked. If the program
 * throws, the error is rethrown with the resources registered until then in `error.graph`.
 */
export async function runGraph<T>(program: () => T, opts: RunOptions = {}): Promise<Graph<T>> {
    const resources: Recorded[] = [];
    const invokes: Invoked[] = [];
    const snapshots = opts.snapshots ?? DEFAULT_SNAPSHOTS;
    const instances = opts.instances ?? DEFAULT_INSTANCES;

    const mocks: pulumi.runtime.Mocks = {
        newResource(args) {
            if (args.type === "pulumi:pulumi:StackReference") {
                const outputs = opts.stacks?.[args.inputs.name];
                if (!outputs) {
                    throw new Error(`no outputs for stack ${args.inputs.name}`);
                }
                return { id: args.inputs.name, state: { name: args.inputs.name, outputs, secretOutputNames: [] } };
            }
            const { id, state } = computed(args.type, args.name, args.inputs);
            // The provider autonames what has no name; the mocks use the logical name.
            return { id, state: { name: args.name, ...args.inputs, ...state } };
        },
        call(args) {
            invokes.push({ token: args.token, inputs: args.inputs });
            switch (args.token) {
                case "aws:rds/getSnapshot:getSnapshot": {
                    const i = args.inputs;
                    const match = i.dbSnapshotIdentifier
                        ? snapshots.find((s) => s.identifier === i.dbSnapshotIdentifier && (!i.dbInstanceIdentifier || s.instanceIdentifier === i.dbInstanceIdentifier))
                        : i.mostRecent
                          ? pickLatestSnapshot(snapshots, { instanceIdentifier: i.dbInstanceIdentifier })
                          : undefined;
                    if (!match) {
                        throw new Error("Your query returned no results. Please change your search criteria and try again.");
                    }
                    return {
                        id: match.identifier,
                        dbSnapshotIdentifier: match.identifier,
                        dbSnapshotArn: `arn:aws:rds:us-east-1:123456789012:snapshot:${match.identifier}`,
                        dbInstanceIdentifier: match.instanceIdentifier,
                        engine: match.engine,
                        engineVersion: match.engineVersion,
                        snapshotType: match.type,
                        status: match.status,
                        snapshotCreateTime: match.createdAt?.toISOString(),
                        port: String(match.engine).includes("mysql") ? 3306 : 5432,
                        encrypted: true,
                        allocatedStorage: 20,
                    };
                }
                case "aws:rds/getInstances:getInstances": {
                    // Only the db-instance-id filter is modelled; any other filter is a test bug.
                    const filters: { name: string; values: string[] }[] = args.inputs.filters ?? [];
                    for (const f of filters) {
                        if (f.name !== "db-instance-id") {
                            throw new Error(`no mock for getInstances filter ${f.name}`);
                        }
                    }
                    const matched = instances.filter((i) => filters.every((f) => f.values.includes(i.identifier)));
                    return {
                        id: "us-east-1",
                        instanceIdentifiers: matched.map((i) => i.identifier),
                        instanceArns: matched.map((i) => `arn:aws:rds:us-east-1:123456789012:db:${i.identifier}`),
                    };
                }
                case "aws:rds/getInstance:getInstance": {
                    const found = instances.find((i) => i.identifier === args.inputs.dbInstanceIdentifier);
                    if (!found) {
                        // What the provider answers for an instance that does not exist.
                        throw new Error(`reading RDS DB Instance (${args.inputs.dbInstanceIdentifier}): couldn't find resource`);
                    }
                    return {
                        id: found.identifier,
                        dbInstanceIdentifier: found.identifier,
                        dbInstanceClass: found.instanceClass,
                        engine: found.engine,
                        engineVersion: found.engineVersion,
                        dbInstanceArn: `arn:aws:rds:us-east-1:123456789012:db:${found.identifier}`,
                    };
                }
                case "aws:ecr/getAuthorizationToken:getAuthorizationToken":
                    return {
                        id: "us-east-1",
                        userName: "AWS",
                        password: "mock-ecr-token",
                        authorizationToken: Buffer.from("AWS:mock-ecr-token").toString("base64"),
                        proxyEndpoint: "https://123456789012.dkr.ecr.us-east-1.amazonaws.com",
                        expiresAt: "2030-01-01T00:00:00Z",
                    };
                case "aws:ec2/getVpc:getVpc":
                    return { id: args.inputs.id, cidrBlock: opts.vpcCidr ?? "10.0.0.0/16" };
                case "aws:index/getRegion:getRegion":
                    return { id: "us-east-1", region: "us-east-1", name: "us-east-1" };
                default:
                    throw new Error(`no mock for invoke ${args.token}`);
            }
        },
    };

    await pulumi.runtime.setMocks(mocks, opts.project ?? "switchyard", opts.stack ?? "test", opts.preview ?? false);
    (pulumi.runtime as unknown as { setAllConfig(c: Record<string, string>): void }).setAllConfig(opts.config ?? {});

    const monitor = (pulumi.runtime as unknown as { getMonitor(): any }).getMonitor();
    const record = (req: any, read: boolean): void => {
        const raw = pulumi.runtime.deserializeProperties(read ? req.getProperties() : req.getObject());
        const { inputs, secretInputs } = unwrapInputs(raw);
        const type: string = req.getType();
        const name: string = req.getName();
        const parent: string = req.getParent();
        resources.push({
            type,
            name,
            urn: monitor.newUrn(parent, type, name),
            custom: read ? true : req.getCustom(),
            inputs,
            secretInputs,
            parent,
            protect: read ? undefined : req.hasProtect?.() === false ? undefined : req.getProtect(),
            ignoreChanges: read ? [] : req.getIgnorechangesList(),
            dependencies: req.getDependenciesList(),
            additionalSecretOutputs: req.getAdditionalsecretoutputsList(),
            deleteBeforeReplace: read ? undefined : req.getDeletebeforereplacedefined() ? req.getDeletebeforereplace() : undefined,
            read,
        });
    };
    const register = monitor.registerResource.bind(monitor);
    monitor.registerResource = (req: any, cb: any) => {
        record(req, false);
        return register(req, cb);
    };
    const readResource = monitor.readResource.bind(monitor);
    monitor.readResource = (req: any, cb: any) => {
        record(req, true);
        return readResource(req, cb);
    };

    const graph = (result: T): Graph<T> => ({
        result,
        resources,
        invokes,
        one(type, name) {
            const found = resources.filter(
                (r) => r.type === type && (name === undefined || (typeof name === "string" ? r.name === name : name.test(r.name))),
            );
            if (found.length !== 1) {
                throw new Error(`expected one ${type}${name ? ` named ${name}` : ""}, found ${found.length}: ${found.map((r) => r.name).join(", ")}`);
            }
            return found[0];
        },
        all(type) {
            return resources.filter((r) => r.type === type);
        },
        childrenOf(urn) {
            return resources.filter((r) => r.parent === urn);
        },
    });

    let result: T;
    try {
        result = program();
    } catch (e) {
        await settle();
        (e as { graph?: Graph<undefined> }).graph = graph(undefined as T) as Graph<undefined>;
        throw e;
    }
    await settle();
    return graph(result);
}

/** The value of an Output (resolved under the mocks). */
export function valueOf<T>(o: pulumi.Output<T> | pulumi.Input<T>): Promise<T> {
    return new Promise((resolve, reject) => {
        const out = pulumi.output(o);
        out.apply((v) => {
            resolve(v as T);
            return v;
        });
        // An Output that fails never runs the apply: surface its error instead.
        (out as unknown as { promise(): Promise<unknown> }).promise().catch(reject);
    });
}

/** Runs a program that must throw synchronously; returns the error and the graph up to that point. */
export async function expectThrows(program: () => unknown, opts: RunOptions = {}): Promise<{ error: Error; graph: Graph<undefined> }> {
    try {
        await runGraph(program, opts);
    } catch (e) {
        return { error: e as Error, graph: (e as { graph: Graph<undefined> }).graph };
    }
    throw new Error("expected the program to throw, but it did not");
}

/** Stable JSON of a value (keys sorted), for comparing recorded inputs. */
export function stableJson(v: unknown): string {
    return JSON.stringify(v, (_k, x) =>
        x !== null && typeof x === "object" && !Array.isArray(x) ? Object.fromEntries(Object.entries(x).sort(([a], [b]) => a.localeCompare(b))) : x,
    );
}
