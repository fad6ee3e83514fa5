// The agent's public surface for other workspaces (bench, tests); the program itself is bin/kernflow-agent.js.
export { type CaptureRunner, exitCode, missingCaptureCapabilities, runCli } from "./cli";
export { type ExportTarget, parseDuration, parseExportUrl, UsageError } from "./cli-flags";
export * from "./enrich";
export { InterfaceGlob, InvalidGlobError, matchesInterface, splitPatternList, validateGlobs } from "./globs";
export * from "./sinks";
