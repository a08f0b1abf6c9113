/**
 * Real HTTP traffic, bounded in count and time: the steady load that runs through a cutover in the
 * demo and the tests (and that a gate needs when real traffic is thin, like Flagger's load tester).
 */
import * as http from "http";

const agent = new http.Agent({ keepAlive: true, maxSockets: 64 });

/** One GET; resolves with status and body text. */
export function get(url: string, timeoutMs = 5000): Promise<{ status: number; body: string }> {
    return new Promise((resolve, reject) => {
        const req = http.get(url, { agent, timeout: timeoutMs }, (res) => {
            let body = "";
            res.setEncoding("utf8");
            res.on("data", (c) => (body += c));
            res.on("end", () => resolve({ status: res.statusCode ?? 0, body }));
        });
        req.on("timeout", () => req.destroy(new Error(`timeout after ${timeoutMs} ms`)));
        req.on("error", reject);
    });
}

/** Sends n requests with the given concurrency and counts the `color` each answer names. */
export async function countColors(url: string, n: number, concurrency: number): Promise<{ colors: Record<string, number>; failed: number }> {
    const colors: Record<string, number> = {};
    let failed = 0;
    let next = 0;
    const worker = async () => {
        while (next < n) {
            next++;
            try {
                const r = await get(url);
                if (r.status !== 200) {
                    failed++;
                    continue;
                }
                const c = (JSON.parse(r.body) as { color?: string }).color ?? "?";
                colors[c] = (colors[c] ?? 0) + 1;
            } catch {
                failed++;
            }
        }
    };
    await Promise.all(Array.from({ length: concurrency }, worker));
    return { colors, failed };
}

export interface LoadResult {
    total: number;
    failed: number;
    errors: string[];
    colors: Record<string, number>;
}

/**
 * Steady load until stopWhen() is true or durationMs passes (whichever first). With `pauseMs`, each
 * worker waits that long between requests, so the load leaves room for the engine on a small machine.
 */
export async function load(url: string, o: { concurrency: number; durationMs: number; stopWhen: () => boolean; pauseMs?: number }): Promise<LoadResult> {
    const res: LoadResult = { total: 0, failed: 0, errors: [], colors: {} };
    const end = Date.now() + o.durationMs;
    const worker = async () => {
        while (!o.stopWhen() && Date.now() < end) {
            res.total++;
            try {
                const r = await get(url);
                if (r.status !== 200) {
                    res.failed++;
                    res.errors.push(`HTTP ${r.status}`);
                } else {
                    const c = (JSON.parse(r.body) as { color?: string }).color ?? "?";
                    res.colors[c] = (res.colors[c] ?? 0) + 1;
                }
            } catch (e) {
                res.failed++;
                res.errors.push((e as Error).message);
            }
            if (o.pauseMs) {
                await new Promise((r) => setTimeout(r, o.pauseMs));
            }
        }
    };
    await Promise.all(Array.from({ length: o.concurrency }, worker));
    return res;
}

