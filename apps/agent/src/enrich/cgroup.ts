/**
 * Container attribution from cgroup paths. A process's cgroup path names the container that holds it
 * under every common runtime, in one of two shapes: the systemd driver (`<runtime>-<id>.scope`) and the
 * cgroupfs driver (`/<runtime>/<id>`). Both cgroup v1 lines (`N:controllers:/path`) and the v2 line
 * (`0::/path`) are read, because hosts like this one still mount v1 with v2 beside it.
 */

export type ContainerRuntime = "docker" | "containerd" | "cri-o" | "podman" | "unknown";

export interface ContainerRef {
  /** Full container id as the runtime prints it (64 hex characters for all runtimes above). */
  id: string;
  runtime: ContainerRuntime;
  /** Kubernetes pod UID (dashed form) when the cgroup lies under a kubepods hierarchy. */
  podUid: string | null;
}

const scopePrefixes: ReadonlyArray<[prefix: string, runtime: ContainerRuntime]> = [
  ["cri-containerd-", "containerd"],
  ["docker-", "docker"],
  ["crio-", "cri-o"],
  ["libpod-", "podman"],
];

/** Runtimes print 64 hex characters; shorter ids (12+) appear in hand-made and test cgroups. */
const containerIdPattern = /^[0-9a-f]{12,64}$/;
const podUidPattern = /^[0-9a-f]{8}[-_][0-9a-f]{4}[-_][0-9a-f]{4}[-_][0-9a-f]{4}[-_][0-9a-f]{12}$/;

function runtimeFromAncestors(ancestors: readonly string[]): ContainerRuntime {
  const joined = ancestors.join("/");
  if (joined.includes("docker")) return "docker";
  if (joined.includes("libpod")) return "podman";
  if (joined.includes("crio")) return "cri-o";
  if (joined.includes("containerd")) return "containerd";
  return "unknown";
}

/** The container id a single path segment names, or null when the segment is not a container's. */
function containerFromSegment(
  segment: string,
  ancestors: readonly string[],
): { id: string; runtime: ContainerRuntime } | null {
  const unit = segment.endsWith(".scope") ? segment.slice(0, -".scope".length) : segment;
  for (const [prefix, runtime] of scopePrefixes) {
    if (!unit.startsWith(prefix)) continue;
    // `crio-conmon-<id>` and `libpod-conmon-<id>` are the runtime monitors, not the container.
    const id = unit.slice(prefix.length);
    return containerIdPattern.test(id) ? { id, runtime } : null;
  }
  if (containerIdPattern.test(unit) && unit.length === 64) {
    return { id: unit, runtime: runtimeFromAncestors(ancestors) };
  }
  return null;
}

function podUidFromSegments(segments: readonly string[]): string | null {
  for (const segment of segments) {
    // cgroupfs: `pod<uid>`; systemd: `kubepods-besteffort-pod<uid_with_underscores>.slice`.
    const unit = segment.endsWith(".slice") ? segment.slice(0, -".slice".length) : segment;
    const at = unit.lastIndexOf("pod");
    if (at === -1) continue;
    const candidate = unit.slice(at + 3);
    if (podUidPattern.test(candidate)) return candidate.replaceAll("_", "-");
  }
  return null;
}

/** Container of one cgroup path (`/kubepods/burstable/pod…/<id>`), or null for a host cgroup. */
export function containerFromCgroupPath(path: string): ContainerRef | null {
  const segments = path.split("/").filter((s) => s.length > 0);
  // The deepest container-looking segment wins: nested runtimes (docker-in-docker) report the innermost.
  for (let i = segments.length - 1; i >= 0; i--) {
    const found = containerFromSegment(segments[i] as string, segments.slice(0, i));
    if (found === null) continue;
    const isKube = segments.slice(0, i).some((s) => s.startsWith("kubepods"));
    return { ...found, podUid: isKube ? podUidFromSegments(segments.slice(0, i)) : null };
  }
  return null;
}

export interface CgroupLine {
  hierarchyId: number;
  controllers: string[];
  path: string;
}

/** Parses `/proc/<pid>/cgroup`; malformed lines are skipped because the kernel never writes them. */
export function parseProcCgroup(content: string): CgroupLine[] {
  const lines: CgroupLine[] = [];
  for (const raw of content.split("\n")) {
    if (raw.length === 0) continue;
    const first = raw.indexOf(":");
    const second = raw.indexOf(":", first + 1);
    if (first === -1 || second === -1) continue;
    const hierarchyId = Number(raw.slice(0, first));
    if (!Number.isInteger(hierarchyId)) continue;
    const controllerList = raw.slice(first + 1, second);
    lines.push({
      hierarchyId,
      controllers: controllerList.length === 0 ? [] : controllerList.split(","),
      path: raw.slice(second + 1),
    });
  }
  return lines;
}

/** Container of a process from its `/proc/<pid>/cgroup` content; null for host processes. */
export function containerFromProcCgroup(content: string): ContainerRef | null {
  const lines = parseProcCgroup(content);
  // The v2 line is authoritative where a runtime uses v2; otherwise the v1 controllers all agree.
  const ordered = [...lines.filter((l) => l.hierarchyId === 0), ...lines.filter((l) => l.hierarchyId !== 0)];
  for (const line of ordered) {
    const found = containerFromCgroupPath(line.path);
    if (found !== null) return found;
  }
  return null;
}

/** The v2 path of a process (the `0::` line), which is what a kernel cgroup id refers to. */
export function unifiedPathFromProcCgroup(content: string): string | null {
  return parseProcCgroup(content).find((l) => l.hierarchyId === 0)?.path ?? null;
}
