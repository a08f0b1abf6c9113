// The plain modules the local platform's dynamic providers call: processes, PostgreSQL, snapshots,
// HAProxy. No Pulumi here.
export * from "./proc";
export * from "./postgres";
export * from "./clone";
export * from "./haproxy";
export * from "./mask";
export * from "./restore";
