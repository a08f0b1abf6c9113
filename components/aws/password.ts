/**
 * A generated password kept in the stack's state (as a secret), so it is generated once and stays
 * the same on every later update. A small dynamic resource: no random provider plugin is needed.
 *
 * A password generated in the program itself (crypto.randomBytes wrapped in pulumi.secret) would
 * differ on every run: with `ignoreChanges: ["password"]` the database would keep the first one
 * while every connection string built from the new one would be wrong.
 *
 * Recommended instead: let RDS manage the master password in Secrets Manager
 * (SnapshotDatabase / Sandbox `manageMasterUserPassword`); then no GeneratedPassword is made and no
 * password is in the state at all.
 */
import * as pulumi from "@pulumi/pulumi";

/** Marks the dynamic resources of this library, so readers of the state (and test mocks) tell them apart. */
export const PASSWORD_KIND = "switchyard:aws:GeneratedPassword";

/** Inputs of a GeneratedPassword. */
export interface GeneratedPasswordArgs {
    /**
     * Length in characters, from 16 to 128. Changing it generates a new password.
     * @default 32
     */
    readonly length?: pulumi.Input<number>;
}

/**
 * The provider: `create` draws the password from crypto.randomBytes (characters A-Z a-z 0-9 - _,
 * all accepted by RDS), `diff` replaces it only when the length changes. Self-contained: it runs in
 * the dynamic-provider host, which has nothing of this program but node_modules.
 */
export const generatedPasswordProvider: pulumi.dynamic.ResourceProvider = {
    create: async (inputs: { length?: number }) => {
        const crypto = require("crypto") as typeof import("crypto");
        const length = inputs.length ?? 32;
        const result = crypto.randomBytes(length * 2).toString("base64url").slice(0, length);
        return { id: crypto.randomUUID(), outs: { kind: "switchyard:aws:GeneratedPassword", length, result } };
    },
    diff: async (_id: string, olds: { length?: number }, news: { length?: number }) => {
        const changed = (olds.length ?? 32) !== (news.length ?? 32);
        return { changes: changed, replaces: changed ? ["length"] : [], deleteBeforeReplace: false };
    },
};

/** A password generated once and kept, as a secret, in the stack's state. */
export class GeneratedPassword extends pulumi.dynamic.Resource {
    /** The password; always a secret. */
    declare public readonly result: pulumi.Output<string>;

    constructor(name: string, args: GeneratedPasswordArgs = {}, opts?: pulumi.CustomResourceOptions) {
        super(
            generatedPasswordProvider,
            name,
            { kind: PASSWORD_KIND, length: args.length ?? 32, result: undefined },
            { ...opts, additionalSecretOutputs: ["result"] },
        );
    }
}
