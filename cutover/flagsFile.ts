/**
 * The local `Flags` port: the flagd flag-definitions file the stack writes (its `flagsFile` output),
 * written here at once for a flag step or a revert, and read back. The text written is the stack's
 * own (`flagdText` of `switchyard:flags` with the step's stage), so the `up` that follows finds the
 * file as it would write it.
 */
import * as fs from "fs";
import { flagdText, FlagsConfig, servedRollouts, withRollout } from "../components/flags";
import { writeFlagsFile } from "../components/local/flagsFile";
import { FlagsPort, FlagStage } from "./flags";

export class FileFlags implements FlagsPort {
    /** A local file is cheap to read: a revert holds the flags off reading it every 10 ms. */
    readonly holdPollMs = 10;

    /**
     * @param file the flag-definitions file the app watches
     * @param config the stack's `switchyard:flags`, the base every write starts from
     */
    constructor(
        readonly file: string,
        private config: FlagsConfig,
    ) {}

    /**
     * Writes the flags with this one at `stage`: a whole new file (written, flushed, renamed over the
     * old), so the app never reads half of one; the stack's own writer (`writeFlagsFile`).
     */
    async setNow(flag: string, stage: FlagStage): Promise<void> {
        this.config = withRollout(this.config, flag, stage);
        writeFlagsFile(this.file, flagdText(this.config));
    }

    /** The flag's stage as the file serves it now (undefined when the file does not serve it). */
    async served(flag: string): Promise<FlagStage | undefined> {
        return servedRollouts(await fs.promises.readFile(this.file, "utf8"))[flag];
    }
}
