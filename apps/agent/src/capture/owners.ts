import { existsSync } from "node:fs";
import type { Endpoint } from "@kernflow/protocol";
import type { SockOwner } from "../bpf/structs";
import { CgroupIdResolver, EndpointEnricher, ProcessResolver } from "../enrich";

/** cgroup v2 hierarchy: /sys/fs/cgroup/unified on hybrid (v1 + v2) hosts, /sys/fs/cgroup otherwise. */
export function cgroupV2Root(): string {
  return existsSync("/sys/fs/cgroup/unified/cgroup.procs") ? "/sys/fs/cgroup/unified" : "/sys/fs/cgroup";
}

/** Endpoint metadata of socket owners: /proc and cgroup enrichment, with the kernel's comm as the
 * process name when the process exited before the drain. */
export class OwnerEndpoints {
  private readonly enricher = new EndpointEnricher(
    new ProcessResolver(),
    new CgroupIdResolver({ root: cgroupV2Root() }),
  );

  async endpointOf(owner: SockOwner): Promise<Endpoint> {
    const endpoint = await this.enricher.endpointFor({ pid: owner.tgid, cgroupId: owner.cgroupId });
    if (endpoint.process_name === null && owner.comm) endpoint.process_name = owner.comm;
    return endpoint;
  }
}
