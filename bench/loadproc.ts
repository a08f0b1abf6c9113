/**
 * Load in a process of its own, as real clients are: the cutover's driver and the load generator do
 * not share an event loop (in one process, each delays the other and the latency measured is the
 * generator's own). Runs `startLoad` until its duration ends or its standard input closes, then
 * prints the LoadResult as one JSON line.
 *
 *   node -r ts-node/register/transpile-only bench/loadproc.ts <url> <rate> <connections> <maxMs>
 */
import { startLoad } from "../cutover/traffic";

const [url, rate, connections, maxMs] = process.argv.slice(2);
const load = startLoad(url, { rate: Number(rate) || undefined, connections: Number(connections), durationMs: Number(maxMs) });
process.stdin.on("end", () => void load.stop());
process.stdin.resume();
load.done.then((r) => {
    process.stdout.write(JSON.stringify(r) + "\n");
    process.exit(0);
});
