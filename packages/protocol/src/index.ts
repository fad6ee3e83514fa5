export * from "./flow-record";
