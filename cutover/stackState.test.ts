/** The one-cutover-per-stack lock, with real processes as owners. */
import * as assert from "assert";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { spawn, spawnSync } from "child_process";
import { lockCutover } from "./stackState";

describe("cutover lock", () => {
    let dir: string;
    beforeEach(() => (dir = fs.mkdtempSync(path.join(os.tmpdir(), "switchyard-lock-"))));
    afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));
    const file = () => path.join(dir, "cutover-pair.lock");

    it("is taken with the owner's pid, refused while held, and gone once released", () => {
        const release = lockCutover(dir, "pair");
        assert.strictEqual(fs.readFileSync(file(), "utf8"), String(process.pid));
        assert.throws(() => lockCutover(dir, "pair"), new RegExp(`a cutover of stack "pair" is already running \\(pid ${process.pid}\\)`));
        release();
        assert.ok(!fs.existsSync(file()));
        lockCutover(dir, "pair")();
    });

    it("is refused while another live process holds it", async () => {
        const owner = spawn("sleep", ["30"]);
        try {
            fs.writeFileSync(file(), String(owner.pid));
            assert.throws(() => lockCutover(dir, "pair"), new RegExp(`already running \\(pid ${owner.pid}\\)`));
        } finally {
            owner.kill("SIGKILL");
        }
    });

    it("is taken over from a process that is gone (a cutover killed with SIGKILL)", () => {
        const gone = spawnSync("sh", ["-c", "echo $$"], { encoding: "utf8" });
        fs.writeFileSync(file(), gone.stdout.trim());
        const release = lockCutover(dir, "pair");
        assert.strictEqual(fs.readFileSync(file(), "utf8"), String(process.pid));
        release();
    });
});
