import { type Endpoint, emptyEndpoint } from "@kernflow/protocol";
import { containerFromProcCgroup } from "./cgroup";
import type { CgroupIdResolver } from "./cgroup-id";
import type { ProcessResolver } from "./proc";

/** What the kernel side knows about the local end of a flow. */
export interface LocalTask {
  pid: number | null;
  /** cgroup v2 id from `bpf_get_current_cgroup_id()`, when the program recorded one. */
  cgroupId?: bigint | null;
}

/**
 * Builds the endpoint metadata of the local end of a flow from /proc and the cgroup tree. Kubernetes
 * fields stay null here: the aggregator fills them from kubetags.
 */
export class EndpointEnricher {
  constructor(
    private readonly processes: ProcessResolver,
    private readonly cgroupIds: CgroupIdResolver | null = null,
  ) {}

  async endpointFor(task: LocalTask): Promise<Endpoint> {
    const endpoint = emptyEndpoint();
    if (task.pid !== null && task.pid > 0) {
      const info = await this.processes.lookup(task.pid);
      endpoint.pid = task.pid;
      endpoint.process_name = info.process_name;
      endpoint.process_cmdline = info.process_cmdline;
      if (info.cgroup !== null) endpoint.container_id = containerFromProcCgroup(info.cgroup)?.id ?? null;
    }
    // The process may have exited before the drain; its cgroup id still names the container.
    if (endpoint.container_id === null && task.cgroupId != null && this.cgroupIds !== null) {
      endpoint.container_id = (await this.cgroupIds.containerOf(task.cgroupId))?.id ?? null;
    }
    return endpoint;
  }
}
