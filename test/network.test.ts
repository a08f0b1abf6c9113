/**
 * No network access other than loopback: a real preview, up, refresh and destroy of a program with a
 * dynamic resource run in a child Node process under `strace -f`, which follows everything the
 * Automation API starts (the `pulumi` CLI, the dynamic provider plugin, …). Every connect() and every
 * addressed send must go to a unix socket, to loopback, or to no address at all.
 *
 * The operations run in a child process because the Automation API runs the engine from the process
 * that calls it: tracing a child is the only way to trace the engine and the program together.
 */
import * as assert from "assert";
import * as fs from "fs";
import * as path from "path";
import { spawn, spawnSync } from "child_process";
import { PROJECT_ROOT, pulumiCliDir } from "../stack/env";
import { tempProject, TempProject } from "./support/project";

/** Syscalls traced: those that name a peer address, and those that tell which program a pid runs. */
const TRACED = ["connect", "sendto", "sendmsg", "sendmmsg", "execve", "clone", "clone3", "fork", "vfork"];
const ADDRESSED = new Set(["connect", "sendto", "sendmsg", "sendmmsg"]);
const CHILD_TIMEOUT_MS = 240_000;

interface Peer {
    readonly pid: number;
    readonly syscall: string;
    /** "AF_INET 127.0.0.1:41234", "AF_UNIX /run/x.sock", "AF_UNSPEC", or "unparsed: <args>". */
    readonly address: string;
    readonly family: string;
    readonly local: boolean;
    /** The program the pid ran (basename of its last execve, else its parent's). */
    program: string;
}

interface Trace {
    readonly peers: Peer[];
    readonly programs: Set<string>;
}

/** Parses `strace -f` output (one "PID syscall(args) = ret" per line, with unfinished/resumed pairs). */
function parseTrace(text: string): Trace {
    const pending = new Map<number, string>();
    const parent = new Map<number, number>();
    const image = new Map<number, string>();
    const peers: Peer[] = [];
    for (const raw of text.split("\n")) {
        const m = /^(\d+)\s+(.*)$/.exec(raw);
        if (!m) continue;
        const pid = Number(m[1]);
        let call = m[2];
        if (call.startsWith("+++") || call.startsWith("---")) continue;
        const unfinished = /^(.*) <unfinished \.\.\.>$/.exec(call);
        if (unfinished) {
            pending.set(pid, unfinished[1]);
            continue;
        }
        const resumed = /^<\.\.\. (\w+) resumed>(.*)$/.exec(call);
        if (resumed) {
            call = (pending.get(pid) ?? `${resumed[1]}(`) + resumed[2];
            pending.delete(pid);
        }
        const c = /^(\w+)\((.*)\)\s+=\s+(-?\d+|\?)/.exec(call);
        if (!c) continue;
        const [, name, args, ret] = c;
        if (name === "execve" && ret === "0") {
            image.set(pid, path.basename(/^"([^"]*)"/.exec(args)?.[1] ?? "?"));
        } else if (["clone", "clone3", "fork", "vfork"].includes(name) && Number(ret) > 0) {
            parent.set(Number(ret), pid);
        } else if (ADDRESSED.has(name)) {
            const found = [...args.matchAll(/\{sa_family=(AF_\w+)([^}]*)\}/g)];
            if (found.length === 0 && name === "connect") {
                peers.push({ pid, syscall: name, address: `unparsed: ${args}`, family: "?", local: false, program: "" });
            }
            for (const [, family, rest] of found) {
                peers.push({ pid, syscall: name, family, ...classify(family, rest), program: "" });
            }
        }
    }
    const programOf = (pid: number, depth = 0): string =>
        image.get(pid) ?? (parent.has(pid) && depth < 64 ? programOf(parent.get(pid)!, depth + 1) : "?");
    for (const p of peers) p.program = programOf(p.pid);
    return { peers, programs: new Set(image.values()) };
}

/** Whether an address stays on this machine: unix sockets, loopback, no address, the kernel (netlink). */
function classify(family: string, rest: string): { address: string; local: boolean } {
    switch (family) {
        case "AF_UNIX": {
            const p = /sun_path=(@?"[^"]*")/.exec(rest)?.[1] ?? "(unnamed)";
            return { address: `AF_UNIX ${p}`, local: true };
        }
        case "AF_INET": {
            const ip = /inet_addr\("([^"]+)"\)/.exec(rest)?.[1] ?? "?";
            const port = /sin_port=htons\((\d+)\)/.exec(rest)?.[1] ?? "?";
            return { address: `AF_INET ${ip}:${port}`, local: /^127\.\d+\.\d+\.\d+$/.test(ip) };
        }
        case "AF_INET6": {
            const ip = /inet_pton\(AF_INET6, "([^"]+)"/.exec(rest)?.[1] ?? "?";
            const port = /sin6_port=htons\((\d+)\)/.exec(rest)?.[1] ?? "?";
            return { address: `AF_INET6 [${ip}]:${port}`, local: ip === "::1" || /^::ffff:127\.\d+\.\d+\.\d+$/i.test(ip) };
        }
        case "AF_UNSPEC":
            // connect() with AF_UNSPEC dissolves a socket's association: no peer at all.
            return { address: "AF_UNSPEC", local: true };
        case "AF_NETLINK": {
            // Messages to the kernel (nl_pid=0), e.g. listing interfaces: never leave the machine.
            const nlPid = /nl_pid=(\d+)/.exec(rest)?.[1] ?? "?";
            return { address: `AF_NETLINK pid ${nlPid}`, local: nlPid === "0" };
        }
        default:
            return { address: `${family}${rest}`, local: false };
    }
}

function tail(s: string, n = 2000): string {
    return s.length > n ? `…${s.slice(-n)}` : s;
}

describe("Network: no access other than loopback (real engine under strace)", function () {
    this.timeout(CHILD_TIMEOUT_MS + 30_000);
    let proj: TempProject;
    let traceFile: string;

    before(function () {
        const probe = spawnSync("strace", ["-f", "-o", "/dev/null", "true"], { encoding: "utf8", timeout: 20_000 });
        if (probe.error || probe.status !== 0) {
            throw new Error(
                `strace cannot trace here (${probe.error?.message ?? `exit ${probe.status}: ${probe.stderr.trim()}`}); ` +
                    "run `npm run setup`, which installs it, on a machine that allows ptrace",
            );
        }
        pulumiCliDir(); // fails early, with its own message, when there is no CLI
        proj = tempProject({ dev: "config:\n  switchyard-test:content: hello\n" });
        traceFile = path.join(proj.root, "strace.txt");
    });
    after(() => proj?.cleanup());

    it("previews, ups, refreshes and destroys with every connection on loopback or a unix socket", async () => {
        const started = Date.now();
        const args = ["-f", "-qq", "-e", `trace=${TRACED.join(",")}`, "-o", traceFile];
        const node = [process.execPath, "-r", "ts-node/register/transpile-only", path.join(__dirname, "fixtures", "network-ops.ts"), proj.root];
        const { code, stdout, stderr } = await new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve, reject) => {
            const child = spawn("strace", [...args, ...node], {
                cwd: PROJECT_ROOT,
                env: { ...process.env, PULUMI_BACKEND_URL: `file://${proj.stateDir}` },
                stdio: ["ignore", "pipe", "pipe"],
                detached: true, // its own process group, so a timeout ends strace and everything it traces
            });
            let out = "";
            let err = "";
            child.stdout.on("data", (d: Buffer) => (out += d.toString()));
            child.stderr.on("data", (d: Buffer) => (err += d.toString()));
            const timer = setTimeout(() => {
                try {
                    process.kill(-child.pid!, "SIGKILL");
                } catch {
                    /* already gone */
                }
                reject(new Error(`the traced operations did not finish in ${CHILD_TIMEOUT_MS / 1000} s; stderr: ${tail(err)}`));
            }, CHILD_TIMEOUT_MS);
            child.on("error", (e) => {
                clearTimeout(timer);
                reject(e);
            });
            child.on("close", (c) => {
                clearTimeout(timer);
                resolve({ code: c, stdout: out, stderr: err });
            });
        });
        assert.strictEqual(code, 0, `the traced operations failed (exit ${code}): ${tail(stderr)}`);

        const line = stdout.split("\n").find((l) => l.startsWith("RESULT "));
        assert.ok(line, `no result from the traced operations; stdout: ${tail(stdout)}`);
        assert.deepStrictEqual(JSON.parse(line.slice("RESULT ".length)), {
            previewCreates: 2,
            up: "succeeded",
            written: "hello",
            refreshUpdates: 1,
            destroy: "succeeded",
            removed: true,
        });

        const trace = parseTrace(fs.readFileSync(traceFile, "utf8"));
        const offending = trace.peers.filter((p) => !p.local);
        assert.deepStrictEqual(
            offending.map((p) => `${p.program}[${p.pid}] ${p.syscall} ${p.address}`),
            [],
            "connections that leave the machine",
        );

        // Not vacuous: the trace followed the engine, and recorded its loopback gRPC connections.
        assert.ok(trace.programs.has("pulumi"), `the trace never saw the pulumi CLI start (programs: ${[...trace.programs].join(", ")})`);
        const loopback = (p: Peer) => p.syscall === "connect" && /^AF_INET6? /.test(p.address);
        const engine = trace.peers.filter((p) => loopback(p) && p.program === "pulumi");
        const program = trace.peers.filter((p) => loopback(p) && p.program === "node");
        assert.ok(engine.length > 0, "the trace recorded no loopback connect() by the pulumi CLI");
        assert.ok(program.length > 0, "the trace recorded no loopback connect() by the Node program");

        const counts = new Map<string, number>();
        for (const p of trace.peers) {
            const key = `${p.program} ${p.syscall} ${p.address.replace(/:\d+$/, ":*").replace(/^AF_UNIX .*/, "AF_UNIX")}`;
            counts.set(key, (counts.get(key) ?? 0) + 1);
        }
        console.log(
            `      traced in ${((Date.now() - started) / 1000).toFixed(1)} s: ` +
                [...counts].map(([k, n]) => `${k} ×${n}`).join("; "),
        );
    });
});
