/** HTTP helpers for tests: the library's bounded traffic (autocannon), and a port probe. Loopback only. */
import * as net from "net";

export { countColors, load, runLoad, startLoad, formatLoad, LoadResult, LoadOptions, RunningLoad } from "../../cutover/traffic";

/** True when something accepts TCP connections on 127.0.0.1:port. */
export function portOpen(port: number): Promise<boolean> {
    return new Promise((resolve) => {
        const s = net.connect({ port, host: "127.0.0.1" });
        s.once("connect", () => {
            s.destroy();
            resolve(true);
        });
        s.once("error", () => resolve(false));
    });
}
