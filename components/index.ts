/** Switchyard's components, importable by other Pulumi programs. */
export * as types from "./types";
export * from "./types";
export * as local from "./local";
export * as aws from "./aws";
export { switchyardHome, localStackDataDir, trafficFromConfig, TRAFFIC_CONFIG_KEY } from "./config";
export { TestRunLog, TestRun, TEST_RUNS_KEY, REQUIRE_TESTS_KEY, checkRequireTests, checkSuiteName } from "./testRuns";
export * as flags from "./flags";
export { resolveFlags } from "./flagsConfig";
