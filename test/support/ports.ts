/**
 * Ports for tests that start real servers (HAProxy, PostgreSQL, app processes, moto).
 *
 * Never a port from the kernel's ephemeral range: the kernel hands those out as the local port of any
 * outgoing connection or `listen(0)` on the machine (the tests' own HTTP clients, PostgreSQL clients,
 * the Pulumi engine's gRPC servers), so a port found free there can be taken before the server binds
 * it. Each port handed out is:
 * - outside the ephemeral range (`/proc/sys/net/ipv4/ip_local_port_range`) and above FLOOR, clear of
 *   the fixed ports the demo stacks and some suites use;
 * - reserved for this process with a lock file in the temp folder naming its pid, so concurrent test
 *   runs never get the same port (a lock whose pid is gone is taken over);
 * - verified free by binding it on 127.0.0.1 (a listener, a connected socket or a TIME_WAIT that would
 *   stop the server binding it makes the allocator move on);
 * - never handed out twice by one process.
 */
import * as fs from "fs";
import * as net from "net";
import * as os from "os";
import * as path from "path";

export interface PortRange {
    readonly low: number;
    readonly high: number;
}

/** Lowest port handed out: the demo stacks (15432-18101) and the suites with fixed ports stay below. */
export const FLOOR = 25_000;

/** Linux's default ephemeral range, when procfs does not say. */
export const DEFAULT_EPHEMERAL: PortRange = { low: 32_768, high: 60_999 };

/** Parses the text of ip_local_port_range ("32768\t60999"). Pure. */
export function parsePortRange(text: string): PortRange {
    const m = /^\s*(\d+)\s+(\d+)\s*$/.exec(text);
    if (!m || Number(m[1]) > Number(m[2])) {
        throw new Error(`not a port range: ${JSON.stringify(text)}`);
    }
    return { low: Number(m[1]), high: Number(m[2]) };
}

/** The kernel's ephemeral port range. */
export function ephemeralRange(file = "/proc/sys/net/ipv4/ip_local_port_range"): PortRange {
    try {
        return parsePortRange(fs.readFileSync(file, "utf8"));
    } catch {
        return DEFAULT_EPHEMERAL;
    }
}

/** The ranges the allocator draws from: [floor, 65535] minus the ephemeral range, in order. Pure. */
export function candidateRanges(ephemeral: PortRange, floor = FLOOR): PortRange[] {
    const out: PortRange[] = [];
    if (floor < ephemeral.low) {
        out.push({ low: floor, high: Math.min(65_535, ephemeral.low - 1) });
    }
    const above = Math.max(floor, ephemeral.high + 1);
    if (above <= 65_535) {
        out.push({ low: above, high: 65_535 });
    }
    return out;
}

/**
 * The first block of n consecutive ports at or after `from` inside one range, each accepted by
 * `usable`, or undefined. Pure given `usable`; ports it rejects are skipped for good.
 */
export function nextBlock(ranges: PortRange[], from: number, n: number, usable: (port: number) => boolean): number | undefined {
    for (const r of ranges) {
        let base = Math.max(from, r.low);
        while (base + n - 1 <= r.high) {
            let bad = -1;
            for (let p = base; p < base + n; p++) {
                if (!usable(p)) {
                    bad = p;
                    break;
                }
            }
            if (bad < 0) {
                return base;
            }
            base = bad + 1;
        }
    }
    return undefined;
}

function pidAlive(pid: number): boolean {
    try {
        process.kill(pid, 0);
        return true;
    } catch (e) {
        return (e as NodeJS.ErrnoException).code === "EPERM";
    }
}

/** True when a server could bind 127.0.0.1:port now. */
export function canBind(port: number): Promise<boolean> {
    return new Promise((resolve) => {
        const srv = net.createServer();
        srv.once("error", () => resolve(false));
        srv.listen({ port, host: "127.0.0.1", exclusive: true }, () => srv.close(() => resolve(true)));
    });
}

export interface AllocatorOptions {
    /** Folder of the lock files, shared by every process that allocates. */
    readonly lockDir: string;
    /** Where the search starts. @default the lowest candidate port */
    readonly from?: number;
    /** @default candidateRanges(ephemeralRange()) */
    readonly ranges?: PortRange[];
}

/** Hands out ports (see the module's comment); one instance per process is the rule. */
export class PortAllocator {
    private readonly held = new Set<number>();
    private cursor: number;
    private readonly ranges: PortRange[];

    constructor(private readonly o: AllocatorOptions) {
        this.ranges = o.ranges ?? candidateRanges(ephemeralRange());
        this.cursor = o.from ?? 0;
    }

    /** Ports this allocator holds. */
    ports(): number[] {
        return [...this.held].sort((a, b) => a - b);
    }

    /** Gives every port back (their lock files go). */
    releaseAll(): void {
        this.held.forEach((p) => this.unlock(p));
        this.held.clear();
    }

    /** Takes the lock file of a port for this process; false when a live process holds it. */
    private lock(port: number): boolean {
        const file = path.join(this.o.lockDir, String(port));
        for (let attempt = 0; attempt < 2; attempt++) {
            try {
                fs.writeFileSync(file, String(process.pid), { flag: "wx" });
                return true;
            } catch (e) {
                if ((e as NodeJS.ErrnoException).code !== "EEXIST") {
                    throw e;
                }
            }
            let owner: number;
            try {
                owner = Number(fs.readFileSync(file, "utf8").trim());
            } catch {
                continue; // released meanwhile: try again
            }
            if (owner === process.pid || (owner > 0 && pidAlive(owner))) {
                return false;
            }
            fs.rmSync(file, { force: true }); // its process is gone
        }
        return false;
    }

    private unlock(port: number): void {
        const file = path.join(this.o.lockDir, String(port));
        try {
            if (fs.readFileSync(file, "utf8").trim() === String(process.pid)) {
                fs.rmSync(file, { force: true });
            }
        } catch {
            /* already gone */
        }
    }

    /** n consecutive ports, locked and verified free by binding each; returns the first. */
    async block(n: number): Promise<number> {
        if (!Number.isInteger(n) || n < 1) {
            throw new Error(`portBlock: n must be a positive integer, not ${n}`);
        }
        if (this.ranges.length === 0) {
            throw new Error(`no test ports: the ephemeral range ${JSON.stringify(ephemeralRange())} covers everything from ${FLOOR} up`);
        }
        fs.mkdirSync(this.o.lockDir, { recursive: true });
        const end = this.ranges[this.ranges.length - 1].high;
        for (let wrapped = false; ; ) {
            const base = nextBlock(this.ranges, this.cursor, n, (p) => !this.held.has(p));
            if (base === undefined) {
                if (wrapped) {
                    throw new Error(`no block of ${n} free test ports in ${JSON.stringify(this.ranges)}`);
                }
                wrapped = true;
                this.cursor = 0;
                continue;
            }
            const taken: number[] = [];
            let bad: number | undefined;
            for (let p = base; p < base + n; p++) {
                if (!this.lock(p)) {
                    bad = p;
                    break;
                }
                taken.push(p);
                if (!(await canBind(p))) {
                    bad = p;
                    break;
                }
            }
            if (bad === undefined) {
                taken.forEach((p) => this.held.add(p));
                this.cursor = base + n;
                return base;
            }
            taken.forEach((p) => this.unlock(p));
            this.cursor = bad + 1;
            if (this.cursor > end && !wrapped) {
                wrapped = true;
                this.cursor = 0;
            }
        }
    }
}

/** The folder of the lock files every test process shares. */
export const LOCK_DIR = path.join(os.tmpdir(), "switchyard-test-ports");

const allocator = new PortAllocator({ lockDir: LOCK_DIR });
process.once("exit", () => allocator.releaseAll());

/**
 * n consecutive ports, reserved for this process and verified free by binding each; returns the
 * first. For configurations that take a base port (`localPairConfig(base)`).
 */
export function portBlock(n: number): Promise<number> {
    return allocator.block(n);
}

/** One port, reserved for this process and verified free by binding it. */
export function freePort(): Promise<number> {
    return portBlock(1);
}
