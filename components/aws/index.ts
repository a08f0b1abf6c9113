/**
 * Switchyard's AWS platform: blue-green pairs and sandboxes on ECS Fargate, ALB and RDS.
 */
export * from "./common";
export * from "./rdsApi";
export * from "./password";
export * from "./rdsBlueGreen";
export * from "./snapshotDatabase";
export * from "./colorEnvironment";
export * from "./weightedListener";
export * from "./frontDoor";
export * from "./blueGreen";
export * from "./sandbox";
export * from "./program";
export * from "./flags";
