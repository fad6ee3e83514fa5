// The console's sections, in navigation order. `built: false` sections render a plain notice instead
// of pretending to have data.
export interface ConsoleSection {
  readonly href: string;
  readonly title: string;
  readonly built: boolean;
  readonly summary: string;
}

export const consoleSections: readonly ConsoleSection[] = [
  { href: "/", title: "Overview", built: true, summary: "What this console manages at a glance." },
  {
    href: "/devices",
    title: "Devices",
    built: true,
    summary: "Enrolled agents, their status and configuration.",
  },
  { href: "/plans", title: "Plans", built: true, summary: "Device limits, flow rate limits and retention." },
  {
    href: "/enrollment-tokens",
    title: "Enrollment tokens",
    built: true,
    summary: "Tokens that let a new agent enroll into a plan.",
  },
  {
    href: "/bytecode",
    title: "Bytecode",
    built: true,
    summary: "eBPF objects served to agents, per kernel.",
  },
  {
    href: "/capture-rules",
    title: "Capture rules",
    built: true,
    summary: "Which interfaces agents capture on.",
  },
  { href: "/flows", title: "Flows", built: true, summary: "Explore flow records by any dimension." },
  {
    href: "/latency",
    title: "Latency",
    built: true,
    summary: "Application latency and TCP round-trip times.",
  },
  { href: "/exports", title: "Exports", built: true, summary: "IPFIX and NATS JetStream export targets." },
  { href: "/users", title: "Users", built: true, summary: "People who can sign in, and their roles." },
  {
    href: "/api-tokens",
    title: "API tokens",
    built: true,
    summary: "Tokens for the REST API under /api/v1.",
  },
  { href: "/audit", title: "Audit log", built: true, summary: "Every change, who made it and when." },
];

export function sectionAt(href: string): ConsoleSection {
  const section = consoleSections.find((candidate) => candidate.href === href);
  if (!section) throw new Error(`no console section at ${href}`);
  return section;
}
