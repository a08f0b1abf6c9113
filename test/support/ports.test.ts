// The test port allocator: pure range arithmetic, then real sockets and a second process.
import * as assert from "assert";
import { spawn } from "child_process";
import * as fs from "fs";
import * as net from "net";
import * as os from "os";
import * as path from "path";
import { candidateRanges, canBind, DEFAULT_EPHEMERAL, ephemeralRange, FLOOR, freePort, LOCK_DIR, nextBlock, parsePortRange, PortAllocator, portBlock } from "./ports";

describe("test port allocator (pure)", () => {
    it("parses ip_local_port_range and refuses anything else", () => {
        assert.deepStrictEqual(parsePortRange("32768\t60999\n"), { low: 32768, high: 60999 });
        assert.deepStrictEqual(parsePortRange("1024 65535"), { low: 1024, high: 65535 });
        for (const bad of ["", "32768", "a b", "60999 32768"]) {
            assert.throws(() => parsePortRange(bad), /not a port range/);
        }
    });

    it("draws only from outside the ephemeral range and above the floor", () => {
        assert.deepStrictEqual(candidateRanges(DEFAULT_EPHEMERAL), [
            { low: FLOOR, high: 32767 },
            { low: 61000, high: 65535 },
        ]);
        assert.deepStrictEqual(candidateRanges({ low: 1024, high: 65535 }), [], "nothing when the kernel may use every port");
        assert.deepStrictEqual(candidateRanges({ low: 10000, high: 30000 }), [{ low: 30001, high: 65535 }]);
        assert.deepStrictEqual(candidateRanges({ low: 40000, high: 65535 }), [{ low: FLOOR, high: 39999 }]);
    });

    it("finds a block of usable ports inside one range, past the unusable ones", () => {
        const ranges = [{ low: 100, high: 110 }, { low: 200, high: 210 }];
        assert.strictEqual(nextBlock(ranges, 0, 3, () => true), 100);
        assert.strictEqual(nextBlock(ranges, 105, 3, () => true), 105);
        assert.strictEqual(nextBlock(ranges, 0, 3, (p) => p !== 101), 102);
        assert.strictEqual(nextBlock(ranges, 109, 3, () => true), 200, "a block never straddles two ranges");
        assert.strictEqual(nextBlock(ranges, 0, 12, () => true), undefined);
        assert.strictEqual(nextBlock(ranges, 0, 1, (p) => p > 205), 206);
    });
});

describe("test port allocator (real sockets)", function () {
    this.timeout(30_000);
    const eph = ephemeralRange();
    const outside = (p: number) => p >= FLOOR && (p < eph.low || p > eph.high);

    it("hands out distinct ports outside the ephemeral range, each bindable and locked for this process", async () => {
        const seen = new Set<number>();
        for (let i = 0; i < 20; i++) {
            const p = await freePort();
            assert.ok(outside(p), `port ${p} is outside the ephemeral range ${eph.low}-${eph.high}`);
            assert.ok(!seen.has(p), `port ${p} handed out twice`);
            assert.ok(await canBind(p), `port ${p} can be bound`);
            assert.strictEqual(fs.readFileSync(path.join(LOCK_DIR, String(p)), "utf8"), String(process.pid));
            seen.add(p);
        }
        const base = await portBlock(7);
        for (let p = base; p < base + 7; p++) {
            assert.ok(outside(p) && !seen.has(p), `block port ${p}`);
        }
    });

    it("skips a port with a listener, a port used by a connection, and a port another live process has locked", async () => {
        // Four clean ports from the shared allocator; a second allocator (own lock folder) starts at them.
        const base = await portBlock(4);
        const lockDir = fs.mkdtempSync(path.join(os.tmpdir(), "sy-ports-"));
        const listener = net.createServer().listen(base, "127.0.0.1");
        await new Promise((r) => listener.once("listening", r));
        const target = net.createServer((c) => c.on("error", () => undefined)).listen(0, "127.0.0.1");
        await new Promise((r) => target.once("listening", r));
        // A plain client socket on base+1 (no SO_REUSEADDR, as the kernel makes them for outgoing
        // connections; Node's localPort sets it, so python makes this one). It closes with a reset, so
        // no TIME_WAIT is left on the port; held until stdin closes.
        const script = [
            "import socket, struct, sys",
            "c = socket.socket(); c.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack('ii', 1, 0))",
            "c.bind(('127.0.0.1', int(sys.argv[1]))); c.connect(('127.0.0.1', int(sys.argv[2])))",
            "print('ready', flush=True); sys.stdin.read(); c.close()",
        ].join("\n");
        const client = spawn("python3", ["-c", script, String(base + 1), String((target.address() as net.AddressInfo).port)], { stdio: ["pipe", "pipe", "inherit"] });
        const clientExit = new Promise((r) => client.once("exit", r));
        await Promise.race([new Promise((r) => client.stdout.once("data", r)), clientExit.then(() => Promise.reject(new Error(`python could not hold port ${base + 1}`)))]);
        fs.writeFileSync(path.join(lockDir, String(base + 2)), String(process.ppid)); // a live process: this runner's parent
        fs.writeFileSync(path.join(lockDir, String(base + 3)), "999999999"); // a process long gone: taken over
        const other = new PortAllocator({ lockDir, from: base });
        try {
            assert.strictEqual(await other.block(1), base + 3, `skips ${base} (listener), ${base + 1} (connection), ${base + 2} (locked)`);
            assert.strictEqual(fs.readFileSync(path.join(lockDir, String(base + 3)), "utf8"), String(process.pid), "the stale lock is now this process's");
            other.releaseAll();
            assert.ok(!fs.existsSync(path.join(lockDir, String(base + 3))), "released");
            assert.ok(fs.existsSync(path.join(lockDir, String(base + 2))), "another process's lock is left alone");
        } finally {
            client.stdin.end();
            await clientExit;
            listener.close();
            target.close();
            fs.rmSync(lockDir, { recursive: true, force: true });
        }
    });

    it("two processes allocating at once never share a port", async () => {
        const script = `const { freePort } = require(${JSON.stringify(path.join(__dirname, "ports"))}); (async () => { const out = []; for (let i = 0; i < 15; i++) out.push(await freePort()); console.log(JSON.stringify(out)); })();`;
        const child = spawn(process.execPath, ["-r", "ts-node/register/transpile-only", "-e", script], { cwd: path.resolve(__dirname, "..", ".."), stdio: ["ignore", "pipe", "inherit"] });
        let out = "";
        child.stdout.on("data", (d) => (out += d));
        const exited = new Promise<number | null>((r) => child.once("exit", r));
        const mine: number[] = [];
        for (let i = 0; i < 15; i++) mine.push(await freePort());
        assert.strictEqual(await exited, 0);
        const theirs = JSON.parse(out) as number[];
        assert.strictEqual(theirs.length, 15);
        assert.deepStrictEqual(mine.filter((p) => theirs.includes(p)), [], `shared ports: mine ${mine}, theirs ${theirs}`);
        for (const p of theirs) {
            assert.ok(!fs.existsSync(path.join(LOCK_DIR, String(p))), `the other process released port ${p} when it exited`);
        }
    });
});
