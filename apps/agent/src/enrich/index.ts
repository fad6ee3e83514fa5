export * from "./cgroup";
export * from "./cgroup-id";
export * from "./endpoint";
export * from "./proc";
