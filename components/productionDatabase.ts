/**
 * What a sandbox knows of production's database, kept in its own stack: the endpoint read through
 * the reference to the production stack. The policy pack reads it (a stack policy does not see a
 * StackReference's outputs) to block a sandbox whose app could write to production
 * (`sandbox-no-production-db`). Only the endpoint is kept: a URL's password is dropped.
 */
import * as pulumi from "@pulumi/pulumi";

/** Type token of {@link ProductionDatabase}. */
export const PRODUCTION_DATABASE_TOKEN = "switchyard:index:ProductionDatabase";

/** The production stack outputs read: a local pair's `databaseUrl` and `databasePort`, an AWS pair's `databaseAddress` and `databasePort`. */
export const PRODUCTION_DATABASE_OUTPUTS = ["databaseUrl", "databaseAddress", "databasePort"] as const;

/** Pure: a URL without its password (undefined stays undefined; text that is no URL is kept as is). */
export function withoutPassword(url: string | undefined): string | undefined {
    if (url === undefined) {
        return undefined;
    }
    try {
        const u = new URL(url);
        u.password = "";
        return u.toString();
    } catch {
        return url;
    }
}

/** The registered outputs of a {@link ProductionDatabase}. */
export interface ProductionDatabaseOutputs {
    /** The production stack, as referenced. */
    readonly stack: string;
    /** Its database URL without a password, when it exports one. */
    readonly databaseUrl?: string;
    /** Its database host, when it exports one. */
    readonly databaseAddress?: string;
    /** Its database port, when it exports one. */
    readonly databasePort?: number;
}

/**
 * Production's database endpoint in a sandbox stack's state, read from the production stack's
 * outputs through `reference`.
 *
 * @example
 * const prod = new pulumi.StackReference("shop-production", { name: "organization/shop/prod" });
 * new ProductionDatabase("shop-production-db", { reference: prod });
 */
export class ProductionDatabase extends pulumi.ComponentResource {
    constructor(name: string, args: { readonly reference: pulumi.StackReference }, opts?: pulumi.ComponentResourceOptions) {
        super(PRODUCTION_DATABASE_TOKEN, name, {}, opts);
        const out = (k: (typeof PRODUCTION_DATABASE_OUTPUTS)[number]) => pulumi.unsecret(args.reference.getOutput(k));
        this.registerOutputs({
            stack: args.reference.name,
            databaseUrl: out("databaseUrl").apply((u) => withoutPassword(typeof u === "string" ? u : undefined)),
            databaseAddress: out("databaseAddress").apply((a) => (typeof a === "string" ? a : undefined)),
            databasePort: out("databasePort").apply((p) => (typeof p === "number" || typeof p === "string" ? Number(p) : undefined)),
        });
    }
}
