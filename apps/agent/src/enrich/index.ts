export * from "./cgroup";
export * from "./cgroup-id";
export * from "./container-name";
export * from "./endpoint";
export * from "./proc";
