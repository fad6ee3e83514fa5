import { createHash } from "node:crypto";

/**
 * Kubernetes objects shaped as a real API server emits them (v1.30-era JSON: metadata with uid,
 * creationTimestamp, managedFields, ownerReferences; full pod specs and statuses), for the stand-in
 * API server. kubetags must find its few fields among all the others, as it will in a cluster.
 */

export type KubeObject = Record<string, unknown> & {
  apiVersion: string;
  kind: string;
  metadata: Record<string, unknown> & { name: string; namespace?: string; resourceVersion?: string };
};

/** A stable UID from kind/namespace/name, so owner references can be written before the owner exists. */
export function uidOf(kind: string, namespace: string, name: string): string {
  const h = createHash("sha256").update(`${kind}/${namespace}/${name}`).digest("hex");
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-4${h.slice(13, 16)}-a${h.slice(17, 20)}-${h.slice(20, 32)}`;
}

/** A 64-hex container id, as containerd reports it. */
export function containerIdOf(pod: string, container: string): string {
  return createHash("sha256").update(`${pod}/${container}`).digest("hex");
}

const created = "2026-11-20T08:14:07Z";

function meta(
  kind: string,
  namespace: string | undefined,
  name: string,
  extra: Record<string, unknown> = {},
): KubeObject["metadata"] {
  return {
    name,
    ...(namespace === undefined ? {} : { namespace }),
    uid: uidOf(kind, namespace ?? "", name),
    creationTimestamp: created,
    ...extra,
    managedFields: [
      {
        manager: "kube-controller-manager",
        operation: "Update",
        apiVersion: "v1",
        time: created,
        fieldsType: "FieldsV1",
        fieldsV1: { "f:metadata": { "f:labels": {} }, "f:spec": {} },
      },
    ],
  };
}

export interface OwnerRef {
  kind: string;
  name: string;
}

function ownerReferences(namespace: string, owner: OwnerRef | undefined) {
  if (owner === undefined) return {};
  const apiVersion = owner.kind === "Job" || owner.kind === "CronJob" ? "batch/v1" : "apps/v1";
  return {
    ownerReferences: [
      {
        apiVersion,
        kind: owner.kind,
        name: owner.name,
        uid: uidOf(owner.kind, namespace, owner.name),
        controller: true,
        blockOwnerDeletion: true,
      },
    ],
  };
}

export interface PodShape {
  name: string;
  namespace: string;
  node: string;
  /** Absent: pending (no IP yet). Two addresses: dual-stack. */
  ips?: string[];
  hostIP?: string;
  hostNetwork?: boolean;
  phase?: "Pending" | "Running" | "Succeeded" | "Failed";
  labels?: Record<string, string>;
  owner?: OwnerRef;
  containers?: string[];
  initContainers?: string[];
  /** `containerd` unless said otherwise. */
  runtime?: "containerd" | "cri-o" | "docker";
}

export function pod(shape: PodShape): KubeObject {
  const containers = shape.containers ?? ["app"];
  const runtime = shape.runtime ?? "containerd";
  const phase = shape.phase ?? (shape.ips === undefined ? "Pending" : "Running");
  const status = (name: string, init: boolean) => ({
    name,
    state: init
      ? { terminated: { exitCode: 0, reason: "Completed", startedAt: created, finishedAt: created } }
      : { running: { startedAt: "2026-11-20T08:14:12Z" } },
    lastState: {},
    ready: !init,
    restartCount: 0,
    image: `registry.example.com/${name}:1.4.2`,
    imageID: `registry.example.com/${name}@sha256:${containerIdOf("image", name)}`,
    ...(phase === "Pending" ? {} : { containerID: `${runtime}://${containerIdOf(shape.name, name)}` }),
    started: !init,
  });
  const containerSpec = (name: string) => ({
    name,
    image: `registry.example.com/${name}:1.4.2`,
    ports: [{ name: "http", containerPort: 8080, protocol: "TCP" }],
    env: [{ name: "POD_NAME", valueFrom: { fieldRef: { apiVersion: "v1", fieldPath: "metadata.name" } } }],
    resources: { limits: { memory: "256Mi" }, requests: { cpu: "100m", memory: "128Mi" } },
    volumeMounts: [
      {
        name: "kube-api-access-x2k9p",
        readOnly: true,
        mountPath: "/var/run/secrets/kubernetes.io/serviceaccount",
      },
    ],
    terminationMessagePath: "/dev/termination-log",
    terminationMessagePolicy: "File",
    imagePullPolicy: "IfNotPresent",
  });
  const hostIP = shape.hostIP ?? "10.0.0.10";
  return {
    apiVersion: "v1",
    kind: "Pod",
    metadata: meta("Pod", shape.namespace, shape.name, {
      generateName: shape.owner === undefined ? undefined : `${shape.owner.name}-`,
      labels: shape.labels ?? { app: shape.name },
      annotations: { "kubectl.kubernetes.io/restartedAt": "2026-11-20T08:14:00Z" },
      ...ownerReferences(shape.namespace, shape.owner),
    }),
    spec: {
      volumes: [
        {
          name: "kube-api-access-x2k9p",
          projected: {
            sources: [
              { serviceAccountToken: { expirationSeconds: 3607, path: "token" } },
              { configMap: { name: "kube-root-ca.crt", items: [{ key: "ca.crt", path: "ca.crt" }] } },
            ],
            defaultMode: 420,
          },
        },
      ],
      ...(shape.initContainers ? { initContainers: shape.initContainers.map(containerSpec) } : {}),
      containers: containers.map(containerSpec),
      restartPolicy: "Always",
      terminationGracePeriodSeconds: 30,
      dnsPolicy: shape.hostNetwork ? "ClusterFirstWithHostNet" : "ClusterFirst",
      serviceAccountName: "default",
      serviceAccount: "default",
      nodeName: shape.node,
      ...(shape.hostNetwork ? { hostNetwork: true } : {}),
      securityContext: {},
      schedulerName: "default-scheduler",
      tolerations: [
        {
          key: "node.kubernetes.io/not-ready",
          operator: "Exists",
          effect: "NoExecute",
          tolerationSeconds: 300,
        },
      ],
      priority: 0,
      enableServiceLinks: true,
      preemptionPolicy: "PreemptLowerPriority",
    },
    status: {
      phase,
      conditions: [
        {
          type: "PodReadyToStartContainers",
          status: "True",
          lastProbeTime: null,
          lastTransitionTime: created,
        },
        { type: "Initialized", status: "True", lastProbeTime: null, lastTransitionTime: created },
        { type: "Ready", status: "True", lastProbeTime: null, lastTransitionTime: created },
        { type: "PodScheduled", status: "True", lastProbeTime: null, lastTransitionTime: created },
      ],
      hostIP,
      hostIPs: [{ ip: hostIP }],
      ...(shape.ips === undefined ? {} : { podIP: shape.ips[0], podIPs: shape.ips.map((ip) => ({ ip })) }),
      startTime: created,
      ...(shape.initContainers
        ? { initContainerStatuses: shape.initContainers.map((c) => status(c, true)) }
        : {}),
      containerStatuses: containers.map((c) => status(c, false)),
      qosClass: "Burstable",
    },
  };
}

export function service(
  name: string,
  namespace: string,
  clusterIPs: string[] | "None",
  selector: Record<string, string> = { app: name },
): KubeObject {
  const ips = clusterIPs === "None" ? ["None"] : clusterIPs;
  return {
    apiVersion: "v1",
    kind: "Service",
    metadata: meta("Service", namespace, name, { labels: { app: name } }),
    spec: {
      ports: [{ name: "http", protocol: "TCP", port: 80, targetPort: 8080 }],
      selector,
      clusterIP: ips[0],
      clusterIPs: ips,
      type: "ClusterIP",
      sessionAffinity: "None",
      ipFamilies: ["IPv4"],
      ipFamilyPolicy: "SingleStack",
      internalTrafficPolicy: "Cluster",
    },
    status: { loadBalancer: {} },
  };
}

export function node(name: string, internalIP: string): KubeObject {
  return {
    apiVersion: "v1",
    kind: "Node",
    metadata: meta("Node", undefined, name, {
      labels: {
        "kubernetes.io/hostname": name,
        "kubernetes.io/os": "linux",
        "topology.kubernetes.io/zone": "zone-a",
      },
      annotations: { "node.alpha.kubernetes.io/ttl": "0" },
    }),
    spec: { podCIDR: "10.244.1.0/24", podCIDRs: ["10.244.1.0/24"] },
    status: {
      capacity: { cpu: "8", memory: "32827324Ki", pods: "110" },
      allocatable: { cpu: "8", memory: "32724924Ki", pods: "110" },
      conditions: [
        {
          type: "Ready",
          status: "True",
          lastHeartbeatTime: created,
          lastTransitionTime: created,
          reason: "KubeletReady",
          message: "kubelet is posting ready status",
        },
      ],
      addresses: [
        { type: "InternalIP", address: internalIP },
        { type: "Hostname", address: name },
      ],
      nodeInfo: {
        kernelVersion: "6.18.0",
        osImage: "Debian GNU/Linux 12 (bookworm)",
        containerRuntimeVersion: "containerd://1.7.24",
        kubeletVersion: "v1.32.4",
        architecture: "amd64",
        operatingSystem: "linux",
      },
    },
  };
}

const workloadApi: Record<string, string> = {
  Deployment: "apps/v1",
  ReplicaSet: "apps/v1",
  StatefulSet: "apps/v1",
  DaemonSet: "apps/v1",
  Job: "batch/v1",
  CronJob: "batch/v1",
};

/** A Deployment, ReplicaSet, StatefulSet, DaemonSet, Job or CronJob, owned by `owner` when given. */
export function workload(kind: string, name: string, namespace: string, owner?: OwnerRef): KubeObject {
  const template = {
    metadata: { labels: { app: name } },
    spec: { containers: [{ name: "app", image: "registry.example.com/app:1.4.2" }] },
  };
  const spec: Record<string, unknown> =
    kind === "CronJob"
      ? { schedule: "*/5 * * * *", concurrencyPolicy: "Forbid", jobTemplate: { spec: { template } } }
      : kind === "Job"
        ? { completions: 1, parallelism: 1, backoffLimit: 6, template }
        : { replicas: 2, selector: { matchLabels: { app: name } }, template };
  return {
    apiVersion: workloadApi[kind] ?? "apps/v1",
    kind,
    metadata: meta(kind, namespace, name, {
      labels: { app: name },
      generation: 1,
      ...ownerReferences(namespace, owner),
    }),
    spec,
    status: kind === "CronJob" ? { lastScheduleTime: created } : { observedGeneration: 1, replicas: 2 },
  };
}
