import * as assert from "assert";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { spawnSync } from "child_process";
import { bytesNeeded, checkStateStorage, MIN_FREE_BYTES, storageProblem } from "./storage";

describe("state backend storage check (pure)", () => {
    const url = "file:///srv/state";

    it("names a read-only backend, or one this user cannot write, with the fix", () => {
        const ro = storageProblem(url, 10 << 30, 0, "EROFS");
        assert.strictEqual(ro?.code, "EROFS");
        assert.strictEqual(ro?.message, "the state backend file:///srv/state is on a read-only file system (EROFS): make it writable, then run the command again");
        assert.match(storageProblem(url, 10 << 30, 0, "EACCES")?.message ?? "", /^the state backend file:\/\/\/srv\/state cannot be written \(EACCES\): give this user write access/);
    });

    it("asks for four times the largest state file, and never less than the floor", () => {
        assert.strictEqual(bytesNeeded(0), MIN_FREE_BYTES);
        assert.strictEqual(bytesNeeded(10 << 20), 40 << 20);
        assert.strictEqual(storageProblem(url, bytesNeeded(3 << 20), 3 << 20), undefined, "exactly enough is enough");
        const full = storageProblem(url, bytesNeeded(3 << 20) - 1, 3 << 20);
        assert.strictEqual(full?.code, "ENOSPC");
        assert.match(full?.message ?? "", /^the state backend file:\/\/\/srv\/state has no room for this operation's writes: no space left on device \(ENOSPC\): 12\.0 MiB free, 12\.0 MiB needed/);
        assert.match(storageProblem(url, 0, 0)?.message ?? "", /0\.0 MiB free, 1\.0 MiB needed .*free space there, then run the command again$/);
    });

    it("leaves other backends alone", () => {
        assert.doesNotThrow(() => checkStateStorage("s3://bucket/state"));
    });
});

describe("state backend storage check (a real tmpfs)", function () {
    let mnt = "";
    let mounted = false;

    before(function () {
        mnt = fs.mkdtempSync(path.join(os.tmpdir(), "switchyard-storage-"));
        const m = process.getuid?.() === 0 ? spawnSync("mount", ["-t", "tmpfs", "-o", "size=4m", "tmpfs", mnt], { encoding: "utf8" }) : undefined;
        if (!m || m.status !== 0) {
            process.stderr.write(`SKIPPED: mounting a tmpfs at ${mnt} is not possible here (${m ? m.stderr.trim() : "not root"}); these cases need root\n`);
            fs.rmSync(mnt, { recursive: true, force: true });
            this.skip();
        }
        mounted = true;
    });

    after(() => {
        if (mounted) {
            spawnSync("mount", ["-o", "remount,rw", mnt]);
            const u = spawnSync("umount", [mnt], { encoding: "utf8" });
            if (u.status !== 0) spawnSync("umount", ["-l", mnt]);
            fs.rmSync(mnt, { recursive: true, force: true });
        }
    });

    it("passes on an empty disk, for a backend folder not made yet", () => {
        assert.doesNotThrow(() => checkStateStorage(`file://${mnt}/state`));
    });

    it("refuses a disk with less room than the state needs, naming the backend and ENOSPC; passes once space is freed", () => {
        const dir = path.join(mnt, "state", ".pulumi", "stacks", "p");
        fs.mkdirSync(dir, { recursive: true });
        fs.writeFileSync(path.join(dir, "pair.json"), Buffer.alloc(512 << 10, 0x20)); // 2 MiB needed
        fs.writeFileSync(path.join(mnt, "filler"), Buffer.alloc(2 << 20, 1)); // about 1.5 MiB left
        assert.throws(() => checkStateStorage(`file://${mnt}/state`), (e: Error & { code?: string }) => {
            assert.strictEqual(e.code, "ENOSPC");
            assert.match(e.message, new RegExp(`^the state backend file://${mnt}/state has no room for this operation's writes: no space left on device \\(ENOSPC\\): 1\\.\\d MiB free, 2\\.0 MiB needed`));
            return true;
        });
        fs.rmSync(path.join(mnt, "filler"));
        assert.doesNotThrow(() => checkStateStorage(`file://${mnt}/state`));
    });

    it("refuses a read-only disk, naming the backend and EROFS", () => {
        assert.strictEqual(spawnSync("mount", ["-o", "remount,ro", mnt]).status, 0);
        try {
            assert.throws(() => checkStateStorage(`file://${mnt}/state`), (e: Error & { code?: string }) => {
                assert.strictEqual(e.code, "EROFS");
                assert.match(e.message, new RegExp(`^the state backend file://${mnt}/state is on a read-only file system \\(EROFS\\)`));
                return true;
            });
        } finally {
            assert.strictEqual(spawnSync("mount", ["-o", "remount,rw", mnt]).status, 0);
        }
    });
});
