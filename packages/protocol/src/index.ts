export * from "./agent-protocol";
export * from "./bpf-names";
export * from "./flow-query";
export * from "./flow-record";
export * from "./flow-stream";
export * from "./globs";
export * from "./kube-metadata";
export * from "./record-time";
