/**
 * Switchyard's library API (`require("switchyard")`): the components of both platforms, the
 * cutover, the migration rehearsal, snapshots and sandbox expiry, the stack operations the CLI runs on
 * any Pulumi project, and the ready-made config-driven program.
 *
 * @example
 * import { local } from "switchyard";
 * const pair = new local.LocalBlueGreen("shop", { app: { command: "node app/server.js" }, colors, dataDir });
 */
export * from "./components";
export * as cutover from "./cutover";
export * as rehearsal from "./rehearsal";
export * as stack from "./stack";
export { program } from "./program";
export { UserError } from "./stack/errors";
