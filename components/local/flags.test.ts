/** The served flags file on one machine: written whole, never seen half-written, read back. */
import * as assert from "assert";
import { spawn } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { flagdText, FlagsConfig, servedRollouts, withRollout } from "../flags";
import { readFlagsFile, writeFlagsFile } from "./flagsFile";

describe("local flags file", function () {
    this.timeout(30_000);
    let dir: string;
    beforeEach(() => (dir = fs.mkdtempSync(path.join(os.tmpdir(), "switchyard-flags-"))));
    afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

    it("writes the file whole, making its folder, and reads it back; no temporary file is left", () => {
        const file = path.join(dir, "flags", "flags.flagd.json");
        assert.strictEqual(readFlagsFile(file), undefined);
        writeFlagsFile(file, flagdText({ "new-checkout": { rollout: "internal" } }));
        assert.deepStrictEqual(servedRollouts(readFlagsFile(file)!), { "new-checkout": "internal" });
        assert.deepStrictEqual(fs.readdirSync(path.dirname(file)), ["flags.flagd.json"]);
    });

    it("removes temporaries a killed writer left (its pid gone), keeps a live writer's", async () => {
        const file = path.join(dir, "flags.flagd.json");
        const gone = spawn(process.execPath, ["-e", ""]);
        await new Promise((r) => gone.once("exit", r));
        const live = spawn(process.execPath, ["-e", "setTimeout(() => {}, 30000)"]);
        try {
            const dead = `.flags.flagd.json.${gone.pid}.1.tmp`;
            const busy = `.flags.flagd.json.${live.pid}.1.tmp`;
            fs.writeFileSync(path.join(dir, dead), "{");
            fs.writeFileSync(path.join(dir, busy), "{");
            writeFlagsFile(file, flagdText({ "new-checkout": { rollout: 10 } }));
            assert.deepStrictEqual(fs.readdirSync(dir).sort(), [busy, "flags.flagd.json"].sort());
        } finally {
            live.kill("SIGKILL");
        }
    });

    it("a reader polling the file while it is rewritten 300 times never sees half a file", async () => {
        const file = path.join(dir, "flags.flagd.json");
        // Many flags, so one document is tens of kilobytes: a plain write would be seen half-done.
        let flags: FlagsConfig = Object.fromEntries(Array.from({ length: 300 }, (_, i) => [`flag-${i}`, { rollout: "off" as const }]));
        writeFlagsFile(file, flagdText(flags));
        const reader = spawn(
            process.execPath,
            [
                "-e",
                `const fs = require("fs"); let reads = 0, bad = 0; const end = Date.now() + 60000;
                 process.stdin.on("data", () => { process.stdout.write(JSON.stringify({ reads, bad })); process.exit(0); });
                 (function loop() { for (let i = 0; i < 50; i++) { try { JSON.parse(fs.readFileSync(${JSON.stringify(file)}, "utf8")); reads++; } catch { bad++; } } if (Date.now() < end) setImmediate(loop); })();`,
            ],
            { stdio: ["pipe", "pipe", "inherit"] },
        );
        let answer = "";
        reader.stdout.on("data", (d) => (answer += String(d)));
        const exited = new Promise((r) => reader.once("exit", r));
        for (let n = 0; n < 300; n++) {
            flags = withRollout(flags, `flag-${n}`, n % 101);
            writeFlagsFile(file, flagdText(flags));
            if (n % 20 === 0) await new Promise((r) => setImmediate(r));
        }
        reader.stdin.write("stop\n");
        await exited;
        const { reads, bad } = JSON.parse(answer) as { reads: number; bad: number };
        assert.ok(reads > 0, "the reader read the file");
        assert.strictEqual(bad, 0, `${bad} of ${reads + bad} reads saw a file that did not parse`);
        assert.strictEqual(servedRollouts(readFlagsFile(file)!)["flag-299"], 299 % 101);
        assert.deepStrictEqual(fs.readdirSync(dir), ["flags.flagd.json"]);
    });
});
