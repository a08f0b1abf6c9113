export * from "./resources";
export * from "./blueGreen";
export * from "./sandbox";
export * from "./program";
export * from "./flags";
export * from "./flagsFile";
