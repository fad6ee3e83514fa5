export * from "./agent-protocol";
export * from "./flow-query";
export * from "./flow-record";
