// The agent protocol's server side (protocol: @kernflow/protocol agent-protocol.ts).
export {
  announceConfigChange,
  onConfigChange,
  startConfigChangeRelay,
  stopConfigChangeRelay,
} from "./config-bus";
export { loadDeviceConfig } from "./config-loader";
export { type AuthenticatedDevice, authenticateAgent } from "./credentials";
export { buildDesiredConfig, hashDesiredConfig } from "./desired-config";
export { type AgentDeps, handleAgentRequest } from "./handler";
export { type FetchHandler, listenFetch } from "./node-server";
