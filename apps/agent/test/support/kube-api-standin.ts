import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type KubeObject, uidOf } from "./kube-api-standin-objects";

/**
 * A stand-in Kubernetes API server over real HTTP, speaking the list/watch protocol as kube-apiserver
 * does for the resources kubetags watches:
 *
 * - `GET <path>?limit=N[&continue=T]` → a `<Kind>List` with `metadata.resourceVersion` (the list's
 *   snapshot) and `continue` while items remain; a continue token older than the last compaction
 *   answers HTTP 410 with a `Status` (reason `Expired`), as etcd compaction makes kube-apiserver do.
 * - `GET <path>?watch=true&resourceVersion=RV` → a chunked stream of `{"type","object"}` lines: every
 *   event after RV from the history, then live ones. RV older than the compaction → one `ERROR` event
 *   carrying a `Status` with code 410 ("too old resource version"), then the stream ends. Empty RV:
 *   synthetic `ADDED` events for every object first. `allowWatchBookmarks=true` enables `BOOKMARK`s.
 * - resourceVersion is one counter across all resources, like etcd's revision.
 *
 * Test controls: apply/remove objects, compact the history, end or expire open watches, send
 * bookmarks, make lists fail. It is a stand-in: no auth, no field/label selectors, no namespaced paths.
 */

export const standinResources = {
  pods: { path: "/api/v1/pods", kind: "Pod", apiVersion: "v1" },
  services: { path: "/api/v1/services", kind: "Service", apiVersion: "v1" },
  nodes: { path: "/api/v1/nodes", kind: "Node", apiVersion: "v1" },
  replicasets: { path: "/apis/apps/v1/replicasets", kind: "ReplicaSet", apiVersion: "apps/v1" },
  deployments: { path: "/apis/apps/v1/deployments", kind: "Deployment", apiVersion: "apps/v1" },
  statefulsets: { path: "/apis/apps/v1/statefulsets", kind: "StatefulSet", apiVersion: "apps/v1" },
  daemonsets: { path: "/apis/apps/v1/daemonsets", kind: "DaemonSet", apiVersion: "apps/v1" },
  jobs: { path: "/apis/batch/v1/jobs", kind: "Job", apiVersion: "batch/v1" },
  cronjobs: { path: "/apis/batch/v1/cronjobs", kind: "CronJob", apiVersion: "batch/v1" },
} as const;

const pathOfKind = new Map<string, string>(Object.values(standinResources).map((r) => [r.kind, r.path]));

type EventType = "ADDED" | "MODIFIED" | "DELETED";
interface HistoryEvent {
  rv: number;
  path: string;
  type: EventType;
  object: KubeObject;
}
interface OpenWatch {
  path: string;
  res: ServerResponse;
  bookmarks: boolean;
}

export interface StandinRequest {
  method: string;
  path: string;
  query: Record<string, string>;
}

const status = (code: number, reason: string, message: string) => ({
  kind: "Status",
  apiVersion: "v1",
  metadata: {},
  status: "Failure",
  message,
  reason,
  code,
});

export class KubeApiStandin {
  readonly requests: StandinRequest[] = [];
  private readonly server: Server;
  private readonly store = new Map<string, Map<string, KubeObject>>();
  private history: HistoryEvent[] = [];
  private revision = 1000;
  private compactedThrough = 0;
  private readonly watches = new Set<OpenWatch>();
  private readonly failures = new Map<string, { code: number; remaining: number }>();
  /** While false, events go to the history but not to open watches (a partition between client and server). */
  deliverEvents = true;
  /** Called after each list page is served: lets a test compact between pages. */
  afterListPage: ((path: string, itemsServed: number) => void) | null = null;
  /** Keep history bounded for the 50k-pod benchmark: a long-lived real server compacts too. */
  maxHistory = 100_000;

  private constructor(server: Server) {
    this.server = server;
  }

  static async start(): Promise<KubeApiStandin> {
    const server = createServer();
    const standin = new KubeApiStandin(server);
    server.on("request", (req, res) => standin.handle(req, res));
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    return standin;
  }

  get url(): string {
    const { port } = this.server.address() as AddressInfo;
    return `http://127.0.0.1:${port}`;
  }

  get resourceVersion(): number {
    return this.revision;
  }

  get openWatches(): number {
    return this.watches.size;
  }

  /** Writes a kubeconfig pointing at this server; returns its path. */
  writeKubeconfig(dir: string): string {
    const file = join(dir, "kubeconfig");
    writeFileSync(
      file,
      [
        "apiVersion: v1",
        "kind: Config",
        "clusters:",
        // client-node refuses plain HTTP unless TLS verification is declared skipped.
        `- name: standin\n  cluster:\n    server: ${this.url}\n    insecure-skip-tls-verify: true`,
        "users:",
        "- name: kubetags\n  user:\n    token: standin-token",
        "contexts:",
        "- name: standin\n  context:\n    cluster: standin\n    user: kubetags",
        "current-context: standin",
        "",
      ].join("\n"),
    );
    return file;
  }

  private ownDir: string | null = null;

  /** A kubeconfig pointing at this server, in a temporary directory of its own that stop() removes. */
  kubeconfigFile(): string {
    this.ownDir ??= mkdtempSync(join(tmpdir(), "kube-standin-"));
    return this.writeKubeconfig(this.ownDir);
  }

  /** Creates or replaces an object (ADDED or MODIFIED), giving it the next resourceVersion. */
  apply(object: KubeObject): KubeObject {
    const path = this.pathOf(object.kind);
    const objects = this.objectsAt(path);
    const key = keyOf(object);
    const exists = objects.has(key);
    this.revision += 1;
    const stored: KubeObject = {
      ...object,
      metadata: {
        ...object.metadata,
        uid: object.metadata.uid ?? uidOf(object.kind, object.metadata.namespace ?? "", object.metadata.name),
        resourceVersion: String(this.revision),
      },
    };
    objects.set(key, stored);
    this.record({ rv: this.revision, path, type: exists ? "MODIFIED" : "ADDED", object: stored });
    return stored;
  }

  /** Deletes an object (DELETED event carrying its last state at the new resourceVersion). */
  remove(kind: string, namespace: string | undefined, name: string): void {
    const path = this.pathOf(kind);
    const key = `${namespace ?? ""}/${name}`;
    const object = this.store.get(path)?.get(key);
    if (object === undefined) throw new Error(`standin: no ${kind} ${key}`);
    this.store.get(path)?.delete(key);
    this.revision += 1;
    const gone = { ...object, metadata: { ...object.metadata, resourceVersion: String(this.revision) } };
    this.record({ rv: this.revision, path, type: "DELETED", object: gone });
  }

  get(kind: string, namespace: string | undefined, name: string): KubeObject | undefined {
    return this.store.get(this.pathOf(kind))?.get(`${namespace ?? ""}/${name}`);
  }

  /**
   * Loads objects without recording history or notifying watches (a cluster that existed before the
   * client came): fast set-up of the 50k-pod benchmark.
   */
  preload(objects: Iterable<KubeObject>): void {
    for (const object of objects) {
      this.revision += 1;
      object.metadata.resourceVersion = String(this.revision);
      this.objectsAt(this.pathOf(object.kind)).set(keyOf(object), object);
    }
    this.compactedThrough = this.revision;
  }

  /** Forgets the history up to now, as etcd compaction does: older watches and continue tokens get 410. */
  compact(): void {
    this.history = [];
    this.compactedThrough = this.revision;
  }

  /** Ends every open watch stream cleanly, as kube-apiserver does when a watch's timeout passes. */
  closeWatches(): void {
    for (const w of this.watches) w.res.end();
    this.watches.clear();
  }

  /** Sends each open watch an ERROR event with a 410 Status and ends it (what follows a compaction). */
  expireWatches(): void {
    for (const w of this.watches) {
      w.res.end(
        line({
          type: "ERROR",
          object: status(410, "Expired", `too old resource version: 1 (${this.compactedThrough})`),
        }),
      );
    }
    this.watches.clear();
  }

  /** A BOOKMARK with the current resourceVersion to every watch that asked for bookmarks. */
  bookmark(): void {
    for (const w of this.watches) {
      if (!w.bookmarks) continue;
      const r = Object.values(standinResources).find((x) => x.path === w.path);
      w.res.write(
        line({
          type: "BOOKMARK",
          object: {
            kind: r?.kind,
            apiVersion: r?.apiVersion,
            metadata: { resourceVersion: String(this.revision) },
          },
        }),
      );
    }
  }

  /** The next `times` requests (lists and watches) on `resource` answer HTTP `code` with a Status. */
  failRequests(resource: keyof typeof standinResources, code: number, times = Number.POSITIVE_INFINITY) {
    this.failures.set(standinResources[resource].path, { code, remaining: times });
  }

  clearFailures(): void {
    this.failures.clear();
  }

  async stop(): Promise<void> {
    for (const w of this.watches) w.res.destroy();
    this.watches.clear();
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
    if (this.ownDir !== null) rmSync(this.ownDir, { recursive: true, force: true });
  }

  private pathOf(kind: string): string {
    const path = pathOfKind.get(kind);
    if (path === undefined) throw new Error(`standin: unsupported kind ${kind}`);
    return path;
  }

  private objectsAt(path: string): Map<string, KubeObject> {
    let objects = this.store.get(path);
    if (objects === undefined) {
      objects = new Map();
      this.store.set(path, objects);
    }
    return objects;
  }

  private record(event: HistoryEvent): void {
    this.history.push(event);
    if (this.history.length > this.maxHistory) {
      const dropped = this.history.splice(0, this.history.length - this.maxHistory);
      this.compactedThrough = (dropped[dropped.length - 1] as HistoryEvent).rv;
    }
    if (!this.deliverEvents) return;
    for (const w of this.watches) {
      if (w.path === event.path) w.res.write(line({ type: event.type, object: event.object }));
    }
  }

  private handle(req: IncomingMessage, res: ServerResponse): undefined {
    const url = new URL(req.url ?? "/", this.url);
    const query = Object.fromEntries(url.searchParams);
    this.requests.push({ method: req.method ?? "", path: url.pathname, query });
    const resource = Object.values(standinResources).find((r) => r.path === url.pathname);
    if (req.method !== "GET" || resource === undefined) {
      return sendJson(res, 404, status(404, "NotFound", `the server could not find the requested resource`));
    }
    if (req.headers.authorization !== "Bearer standin-token") {
      return sendJson(res, 401, status(401, "Unauthorized", "Unauthorized"));
    }
    const failure = this.failures.get(resource.path);
    if (failure !== undefined && failure.remaining > 0) {
      failure.remaining -= 1;
      return sendJson(res, failure.code, status(failure.code, "InternalError", "injected failure"));
    }
    if (query.watch === "true" || query.watch === "1") return this.watch(resource, query, res);
    return this.list(resource, query, res);
  }

  private list(
    resource: (typeof standinResources)[keyof typeof standinResources],
    query: Record<string, string>,
    res: ServerResponse,
  ): undefined {
    const limit = query.limit ? Number(query.limit) : Number.POSITIVE_INFINITY;
    let snapshotRv = this.revision;
    let after = "";
    if (query.continue) {
      const token = JSON.parse(Buffer.from(query.continue, "base64url").toString()) as {
        rv: number;
        after: string;
      };
      if (token.rv < this.compactedThrough) {
        return sendJson(
          res,
          410,
          status(
            410,
            "Expired",
            "The provided continue parameter is too old to display a consistent list result. You can start a new list without the continue parameter.",
          ),
        );
      }
      snapshotRv = token.rv;
      after = token.after;
    }
    // Pages come from the current state rather than a true snapshot at snapshotRv; the watch that
    // follows replays every change after snapshotRv, so a client still converges.
    const objects = this.objectsAt(resource.path);
    const keys = [...objects.keys()].sort().filter((k) => k > after);
    const page = keys.slice(0, limit);
    const items = page.map((k) => {
      // Items of a list carry no kind/apiVersion of their own: the list's kind says it.
      const { kind: _kind, apiVersion: _apiVersion, ...rest } = objects.get(k) as KubeObject;
      return rest;
    });
    const remaining = keys.length - page.length;
    sendJson(res, 200, {
      kind: `${resource.kind}List`,
      apiVersion: resource.apiVersion,
      metadata: {
        resourceVersion: String(snapshotRv),
        ...(remaining > 0
          ? {
              continue: Buffer.from(
                JSON.stringify({ rv: snapshotRv, after: page[page.length - 1] }),
              ).toString("base64url"),
              remainingItemCount: remaining,
            }
          : {}),
      },
      items,
    });
    this.afterListPage?.(resource.path, items.length);
  }

  private watch(
    resource: (typeof standinResources)[keyof typeof standinResources],
    query: Record<string, string>,
    res: ServerResponse,
  ): undefined {
    res.writeHead(200, { "content-type": "application/json", "transfer-encoding": "chunked" });
    res.flushHeaders();
    const rv = query.resourceVersion ?? "";
    if (rv !== "" && rv !== "0") {
      const from = Number(rv);
      if (from < this.compactedThrough) {
        res.end(
          line({
            type: "ERROR",
            object: status(410, "Expired", `too old resource version: ${from} (${this.compactedThrough})`),
          }),
        );
        return;
      }
      for (const e of this.history) {
        if (e.path === resource.path && e.rv > from) res.write(line({ type: e.type, object: e.object }));
      }
    } else {
      for (const object of this.store.get(resource.path)?.values() ?? []) {
        res.write(line({ type: "ADDED", object }));
      }
    }
    const open: OpenWatch = { path: resource.path, res, bookmarks: query.allowWatchBookmarks === "true" };
    this.watches.add(open);
    res.on("close", () => this.watches.delete(open));
    if (query.timeoutSeconds) {
      setTimeout(() => {
        this.watches.delete(open);
        res.end();
      }, Number(query.timeoutSeconds) * 1000).unref();
    }
  }
}

function keyOf(object: KubeObject): string {
  return `${object.metadata.namespace ?? ""}/${object.metadata.name}`;
}

function line(event: unknown): string {
  return `${JSON.stringify(event)}\n`;
}

function sendJson(res: ServerResponse, code: number, body: unknown): undefined {
  const text = JSON.stringify(body);
  res.writeHead(code, { "content-type": "application/json", "content-length": Buffer.byteLength(text) });
  res.end(text);
}
