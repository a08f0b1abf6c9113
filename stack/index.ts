/** The stack layer's public API: projects, stack operations, snapshots, sandbox expiry, set-up. */
export * from "./errors";
export * from "./project";
export { up, preview, refresh, destroy, outputs, openStack, projectOf, StackTarget, PreviewOptions, stateResources, StateResource, refusal } from "./run";
export { defaultPolicyPack } from "./policyPack";
export { snapshotStack, utcStamp, StackSnapshotOptions } from "./snapshot";
export { listSandboxes, destroyExpired, judgeExpiry, SandboxStatus } from "./expiry";
export { clearStaleLocks, clearPendingOperations, engineLocks } from "./recover";
export { PACKAGE_ROOT, PULUMI_VERSION } from "./env";
export { findComponent, componentsIn, chooseComponent, ComponentRef } from "./pairs";
export { maskSandbox, MaskSandboxOptions, MaskSandboxResult } from "./mask";
export { impact, ImpactOptions, MigrationsSource, appliedMigrations, migrationIds, migrationsDir } from "./impactRun";
export * from "./impact";
export { runTestSuite, recordTestRun, testRunsFor, productionTestRuns, sandboxStacksOf, TEST_ENV, DEFAULT_SUITE, TestSuiteOptions, TestRun } from "./testRuns";
export { flagsStatus, formatFlagsStatus, FlagsStatus, FlagStatus, FlagsStatusOptions, AppSample } from "./flags";
