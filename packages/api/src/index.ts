import type { inferRouterInputs, inferRouterOutputs } from "@trpc/server";
import type { AppRouter } from "./root";

export {
  type AgentDeps,
  type AuthenticatedDevice,
  authenticateAgent,
  handleAgentRequest,
  listenFetch,
  startConfigChangeRelay,
  stopConfigChangeRelay,
} from "./agent";
export type { ApiDeps, Context } from "./context";
export { createContext } from "./context";
export * from "./errors";
export { type IngestDeps, ingestFlowBatch } from "./flows/ingest";
export { DEFAULT_INGEST_CONCURRENCY } from "./flows/ingest-gate";
export { FlowRateLimiter } from "./flows/rate-limit";
export { applyFlowRetention, scheduleFlowRetention } from "./flows/retention";
export { CSRF_HEADER, SESSION_COOKIE } from "./http/request-info";
export { handleTrpcRequest, TRPC_ENDPOINT } from "./http/trpc-handler";
export { handleRestRequest } from "./rest/handler";
export { openApiDocument } from "./rest/openapi";
export { type AppRouter, appRouter, createCaller } from "./root";
export {
  type BootstrapCredentials,
  ensureBootstrapAdmin,
  InvalidBootstrapEnvError,
} from "./services/bootstrap";
export { chooseBytecode, registerDefaultBytecode } from "./services/bytecode";
export { effectiveCaptureRule } from "./services/capture-rules";
export { createLocalEnrollmentToken } from "./services/local-agent";
export { FixedWindowRateLimiter } from "./services/rate-limit";

/** Input types of every procedure, e.g. `RouterInputs["plans"]["create"]`. */
export type RouterInputs = inferRouterInputs<AppRouter>;
/** Output types of every procedure, e.g. `RouterOutputs["plans"]["list"]`. */
export type RouterOutputs = inferRouterOutputs<AppRouter>;
