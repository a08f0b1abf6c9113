export * from "./resources";
export * from "./blueGreen";
export * from "./sandbox";
export * from "./program";
