/**
 * The local platform's served flags: a flagd flag-definitions file that the stack writes and each
 * color's app follows (its path in the app's `FLAGD_OFFLINE_FLAG_SOURCE_PATH`).
 */
import * as pulumi from "@pulumi/pulumi";
import { flagdText, FlagsConfig } from "../flags";
import { LOCAL_MODULE } from "./resources";

/** Absolute path of the file module, captured by the provider (TypeScript under ts-node, else JavaScript). */
const FILE_OPS_PATH: string = require.resolve("./flagsFile");
const TS_NODE_PATH: string = FILE_OPS_PATH.endsWith(".ts") ? require.resolve("ts-node") : "";

/** Loads ./flagsFile inside the provider's process. Kept tiny: it is serialized with the provider. */
function loadFileOps(): typeof import("./flagsFile") {
    if (FILE_OPS_PATH.endsWith(".ts")) {
        // eslint-disable-next-line @typescript-eslint/no-require-imports
        require(TS_NODE_PATH).register({ transpileOnly: true, compilerOptions: { module: "commonjs" } });
    }
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    return require(FILE_OPS_PATH);
}

export interface FlagsFileInputs {
    /** Where the file is served from. */
    path: string;
    /** The flags as declared (`switchyard:flags`), for the policy pack and `switchyard flags`. */
    flags: FlagsConfig;
    /** The flagd document's text. */
    content: string;
}

const flagsFileProvider: pulumi.dynamic.ResourceProvider = {
    async create(inputs: FlagsFileInputs) {
        loadFileOps().writeFlagsFile(inputs.path, inputs.content);
        return { id: inputs.path, outs: inputs };
    },
    async read(id: string, props: FlagsFileInputs) {
        const served = loadFileOps().readFlagsFile(id);
        return { id, props: { ...props, content: served ?? "" } };
    },
    async diff(_id: string, olds: FlagsFileInputs, news: FlagsFileInputs) {
        // A file changed or removed behind the stack's back is written again by the next update.
        const onDisk = loadFileOps().readFlagsFile(olds.path);
        const changes = olds.path !== news.path || olds.content !== news.content || onDisk !== news.content || JSON.stringify(olds.flags) !== JSON.stringify(news.flags);
        return { changes, replaces: olds.path !== news.path ? ["path"] : [], deleteBeforeReplace: false };
    },
    async update(_id: string, _olds: FlagsFileInputs, news: FlagsFileInputs) {
        loadFileOps().writeFlagsFile(news.path, news.content);
        return { outs: news };
    },
    async delete(id: string) {
        require("fs").rmSync(id, { force: true });
    },
};

/**
 * A flagd flag-definitions file written from the flags (atomically), rewritten when they change.
 *
 * @example new FlagsFile("app-flags", { path: "/srv/app/flags/flags.flagd.json", flags: { "new-checkout": { rollout: "internal" } } }, { parent: pair })
 */
export class FlagsFile extends pulumi.dynamic.Resource {
    public readonly path!: pulumi.Output<string>;
    public readonly content!: pulumi.Output<string>;
    public readonly flags!: pulumi.Output<FlagsConfig>;
    constructor(name: string, args: { path: string; flags: FlagsConfig }, opts?: pulumi.CustomResourceOptions) {
        super(flagsFileProvider, name, { path: args.path, flags: args.flags, content: flagdText(args.flags) }, opts, LOCAL_MODULE, "FlagsFile");
    }
}

/** The FlagsFile's type token, as the stack's state and the policy pack see it. */
export const LOCAL_FLAGS_FILE_TYPE = `pulumi-nodejs:dynamic/${LOCAL_MODULE}:FlagsFile`;

/** The file's name under a pair's data folder: `<dataDir>/flags/flags.flagd.json`. */
export const LOCAL_FLAGS_FILE = ["flags", "flags.flagd.json"] as const;
