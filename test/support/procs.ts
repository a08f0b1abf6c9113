/** Processes on this machine, as the tests look for what a stack left behind. */
import * as fs from "fs";

/** Pids of processes whose working directory is under dir (PostgreSQL works in its data directory). */
export function processesIn(dir: string): number[] {
    const pids: number[] = [];
    for (const ent of fs.readdirSync("/proc")) {
        if (!/^\d+$/.test(ent)) continue;
        try {
            const cwd = fs.readlinkSync(`/proc/${ent}/cwd`).replace(/ \(deleted\)$/, "");
            if (cwd === dir || cwd.startsWith(`${dir}/`)) pids.push(Number(ent));
        } catch {
            /* gone, or not ours to read */
        }
    }
    return pids;
}
