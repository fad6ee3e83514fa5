import { type Endpoint, emptyEndpoint } from "@kernflow/protocol";
import { type ContainerRef, containerFromProcCgroup } from "./cgroup";
import type { CgroupIdResolver } from "./cgroup-id";
import { ContainerNameResolver } from "./container-name";
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
    private readonly containerNames: ContainerNameResolver = new ContainerNameResolver(),
  ) {}

  async endpointFor(task: LocalTask): Promise<Endpoint> {
    const endpoint = emptyEndpoint();
    let container: ContainerRef | null = null;
    if (task.pid !== null && task.pid > 0) {
      const info = await this.processes.lookup(task.pid);
      endpoint.pid = task.pid;
      endpoint.process_name = info.process_name;
      endpoint.process_cmdline = info.process_cmdline;
      if (info.cgroup !== null) container = containerFromProcCgroup(info.cgroup);
    }
    // The process may have exited before the drain; its cgroup id still names the container.
    if (container === null && task.cgroupId != null && this.cgroupIds !== null) {
      container = await this.cgroupIds.containerOf(task.cgroupId);
    }
    if (container !== null) {
      endpoint.container_id = container.id;
      endpoint.container_name = await this.containerNames.nameOf(container);
    }
    return endpoint;
  }
}
