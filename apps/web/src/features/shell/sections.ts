// The console's sections, in navigation order.
export interface ConsoleSection {
  readonly href: string;
  readonly title: string;
  readonly summary: string;
}

export const consoleSections: readonly ConsoleSection[] = [
  { href: "/", title: "Overview", summary: "What this console manages at a glance." },
  {
    href: "/devices",
    title: "Devices",
    summary: "Enrolled agents, their status and configuration.",
  },
  { href: "/plans", title: "Plans", summary: "Device limits, flow rate limits and retention." },
  {
    href: "/enrollment-tokens",
    title: "Enrollment tokens",
    summary: "Tokens that let a new agent enroll into a plan.",
  },
  {
    href: "/bytecode",
    title: "Bytecode",
    summary: "eBPF objects served to agents, per kernel.",
  },
  {
    href: "/capture-rules",
    title: "Capture rules",
    summary: "Which interfaces agents capture on.",
  },
  { href: "/flows", title: "Flows", summary: "Explore flow records by any dimension." },
  {
    href: "/latency",
    title: "Latency",
    summary: "Application latency and TCP round-trip times.",
  },
  { href: "/exports", title: "Exports", summary: "IPFIX and NATS JetStream export targets." },
  { href: "/users", title: "Users", summary: "People who can sign in, and their roles." },
  {
    href: "/api-tokens",
    title: "API tokens",
    summary: "Tokens for the REST API under /api/v1.",
  },
  { href: "/audit", title: "Audit log", summary: "Every change, who made it and when." },
];

export function sectionAt(href: string): ConsoleSection {
  const section = consoleSections.find((candidate) => candidate.href === href);
  if (!section) throw new Error(`no console section at ${href}`);
  return section;
}
