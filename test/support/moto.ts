/**
 * A real moto server (AWS API stand-in) for tests: started on 127.0.0.1 on a free port before a
 * suite, stopped after it, with a check that no process is left behind.
 *
 * The set-up (`npm run setup`) installs moto 5.2.5 in a virtualenv in the tool cache.
 */
import * as assert from "assert";
import { ChildProcess, spawn } from "child_process";
import * as fs from "fs";
import * as http from "http";
import * as path from "path";
import { cacheDir } from "../../stack/env";
import { freePort } from "./ports";

export const MOTO_VERSION = "5.2.5";

/** Path of the moto_server the set-up installs. */
export function motoServerPath(): string {
    return path.join(cacheDir(), `moto-${MOTO_VERSION}`, "bin", "moto_server");
}

/** A free TCP port on 127.0.0.1, outside the kernel's ephemeral range (see ./ports). */
export { freePort };

/** True while a process (or, with a negative id, a process group) exists. */
export function alive(pid: number): boolean {
    try {
        process.kill(pid, 0);
        return true;
    } catch (e) {
        return (e as NodeJS.ErrnoException).code === "EPERM";
    }
}

function answers(port: number): Promise<boolean> {
    return new Promise((resolve) => {
        const req = http.get({ host: "127.0.0.1", port, path: "/moto-api/", timeout: 1000 }, (res) => {
            res.resume();
            resolve(true);
        });
        req.on("error", () => resolve(false));
        req.on("timeout", () => {
            req.destroy();
            resolve(false);
        });
    });
}

/** A running moto server. */
export interface MotoServer {
    readonly port: number;
    readonly pid: number;
    /** e.g. "http://127.0.0.1:41234" */
    readonly endpoint: string;
    /** Stops the server and its process group; resolves once nothing is left. */
    stop(): Promise<void>;
    /** What the server printed, for failure messages. */
    output(): string;
}

/** Starts moto_server on 127.0.0.1 and waits until it answers. */
export async function startMoto(timeoutMs = 30_000): Promise<MotoServer> {
    const bin = motoServerPath();
    if (!fs.existsSync(bin)) {
        throw new Error(`moto_server is not installed at ${bin}: run \`npm run setup\`, which installs moto[server]==${MOTO_VERSION}`);
    }
    const port = await freePort();
    let log = "";
    const child: ChildProcess = spawn(bin, ["-H", "127.0.0.1", "-p", String(port)], {
        detached: true, // own process group, so stop() reaches any child it starts
        stdio: ["ignore", "pipe", "pipe"],
        env: { ...process.env, PYTHONUNBUFFERED: "1" },
    });
    child.stdout?.on("data", (d) => (log += String(d)));
    child.stderr?.on("data", (d) => (log += String(d)));
    const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
    let hasExited = false;
    void exited.then(() => (hasExited = true));
    const pid = child.pid!;

    const stop = async (): Promise<void> => {
        for (const [signal, waitMs] of [["SIGTERM", 5000], ["SIGKILL", 5000]] as const) {
            if (!alive(-pid) && hasExited) {
                break;
            }
            try {
                process.kill(-pid, signal);
            } catch {
                /* already gone */
            }
            const deadline = Date.now() + waitMs;
            while ((alive(-pid) || !hasExited) && Date.now() < deadline) {
                await new Promise((r) => setTimeout(r, 50));
            }
        }
        if (alive(pid) || alive(-pid)) {
            throw new Error(`moto_server (pid ${pid}) is still running after SIGKILL`);
        }
    };

    const deadline = Date.now() + timeoutMs;
    while (!(await answers(port))) {
        if (hasExited) {
            throw new Error(`moto_server exited before answering on port ${port}:\n${log}`);
        }
        if (Date.now() > deadline) {
            await stop();
            throw new Error(`moto_server did not answer on port ${port} within ${timeoutMs} ms:\n${log}`);
        }
        await new Promise((r) => setTimeout(r, 100));
    }
    return { port, pid, endpoint: `http://127.0.0.1:${port}`, stop, output: () => log };
}

const FAKE_CREDENTIALS: Record<string, string> = {
    AWS_ACCESS_KEY_ID: "testing",
    AWS_SECRET_ACCESS_KEY: "testing",
    AWS_SESSION_TOKEN: "testing",
    AWS_REGION: "us-east-1",
    AWS_DEFAULT_REGION: "us-east-1",
};

/**
 * Mocha hooks: a moto server for the enclosing `describe`, with fake credentials in the environment
 * while it runs. The returned object's `server` is set in before() and stopped in after(), which
 * also asserts that no moto process is left.
 */
export function useMoto(): { server: MotoServer } {
    const ctx = {} as { server: MotoServer };
    const saved: Record<string, string | undefined> = {};
    before(async function () {
        this.timeout(60_000);
        for (const [k, v] of Object.entries(FAKE_CREDENTIALS)) {
            saved[k] = process.env[k];
            process.env[k] = v;
        }
        ctx.server = await startMoto();
    });
    after(async function () {
        this.timeout(30_000);
        for (const [k, v] of Object.entries(saved)) {
            if (v === undefined) {
                delete process.env[k];
            } else {
                process.env[k] = v;
            }
        }
        if (ctx.server) {
            const { pid } = ctx.server;
            await ctx.server.stop();
            assert.strictEqual(alive(pid), false, `moto_server pid ${pid} is still running`);
            assert.strictEqual(alive(-pid), false, `moto_server's process group ${pid} still has processes`);
        }
    });
    return ctx;
}

/** An EC2 Query API call to moto (no EC2 SDK client is a dependency); returns the XML answer. */
export async function motoEc2(endpoint: string, action: string, params: Record<string, string>): Promise<string> {
    const res = await fetch(endpoint, {
        method: "POST",
        headers: {
            "content-type": "application/x-www-form-urlencoded",
            // moto routes by the credential scope; it does not check the signature.
            authorization: "AWS4-HMAC-SHA256 Credential=testing/20250101/us-east-1/ec2/aws4_request, SignedHeaders=host, Signature=0",
        },
        body: new URLSearchParams({ Action: action, Version: "2016-11-15", ...params }).toString(),
    });
    const text = await res.text();
    assert.strictEqual(res.status, 200, `EC2 ${action}: ${text}`);
    return text;
}

/** The text of the first <name> element of an XML answer. */
export const xmlTag = (xml: string, name: string): string => new RegExp(`<${name}>([^<]+)</${name}>`).exec(xml)![1];

/** A VPC with two subnets and an internet-facing ALB in moto, on 10.<octet>.0.0/16. */
export async function motoAlb(endpoint: string, elbv2: import("@aws-sdk/client-elastic-load-balancing-v2").ElasticLoadBalancingV2Client, octet: number): Promise<{ vpcId: string; lbArn: string }> {
    const { CreateLoadBalancerCommand } = await import("@aws-sdk/client-elastic-load-balancing-v2");
    const vpcId = xmlTag(await motoEc2(endpoint, "CreateVpc", { CidrBlock: `10.${octet}.0.0/16` }), "vpcId");
    const subnets: string[] = [];
    for (const [i, az] of ["us-east-1a", "us-east-1b"].entries()) {
        subnets.push(xmlTag(await motoEc2(endpoint, "CreateSubnet", { VpcId: vpcId, CidrBlock: `10.${octet}.${i}.0/24`, AvailabilityZone: az }), "subnetId"));
    }
    const lb = await elbv2.send(new CreateLoadBalancerCommand({ Name: "shop", Subnets: subnets, Type: "application", Scheme: "internet-facing" }));
    return { vpcId, lbArn: lb.LoadBalancers![0].LoadBalancerArn! };
}

/** A PostgreSQL RDS instance in moto. */
export async function motoDb(rds: import("@aws-sdk/client-rds").RDSClient, id: string): Promise<void> {
    const { CreateDBInstanceCommand } = await import("@aws-sdk/client-rds");
    await rds.send(
        new CreateDBInstanceCommand({
            DBInstanceIdentifier: id,
            Engine: "postgres",
            DBInstanceClass: "db.t4g.micro",
            AllocatedStorage: 20,
            MasterUsername: "shop_admin",
            MasterUserPassword: "not-a-real-password",
        }),
    );
}
