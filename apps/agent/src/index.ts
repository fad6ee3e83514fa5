// The agent's public surface for other workspaces (bench, tools); the program itself is bin/kernflow-agent.js.

// Capture-engine pieces that benchmarks drive directly (bench/drain measures the drain path in isolation).
export { conversationKey, FlowJoiner, type JoinMetrics, type JoinOptions } from "./aggregate/join";
export { KubeMetadata } from "./aggregate/kube";
export { defaultBytecodePath, type LoadedKernflow, loadKernflow } from "./bpf/loader";
export { possibleCpus } from "./bpf/map";
export { flowKeyLayout, flowValueLayout, roundUp8 } from "./bpf/structs";
export { localAddresses, parseAddress } from "./capture/addresses";
export { KtimeClock } from "./capture/clock";
export { buildRecords } from "./capture/records";
export { SocketTable } from "./capture/sockets";
export { type CaptureRunner, exitCode, missingCaptureCapabilities, runCli } from "./cli";
export { type ExportTarget, parseDuration, parseExportUrl, UsageError } from "./cli-flags";
export * from "./enrich";
export { type CaptureOptions, type CaptureSummary, runCapture } from "./roles/capture";
export * from "./sinks";
