export * from "./backoff";
export * from "./encoder";
export * from "./exporter";
export * from "./information-elements";
export * from "./templates";
