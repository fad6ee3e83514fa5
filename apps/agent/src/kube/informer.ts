import type { KubeInformerHealth } from "@kernflow/protocol";
// The HTTP client @kubernetes/client-node 1.x uses: its applyToFetchOptions gives a node-fetch agent (TLS, CA).
import fetch from "node-fetch";
import type { ZodType } from "zod";
import { ApplyTimings } from "./apply-timings";
import {
  ADD,
  DELETE,
  ERROR,
  type KubeConfig,
  type KubernetesListObject,
  type KubernetesObject,
  ListWatch,
  Watch,
} from "./client-node";
import { listEnvelopeSchema, type ObjectStub, statusSchema, stubOf } from "./objects";

/** One watched resource: where it lives in the API and what to do with its (slimmed) objects. */
export interface ResourceSpec<T> {
  /** Plural name, as in the URL: `pods`, `replicasets`. */
  resource: string;
  /** Cluster-wide list path: `/api/v1/pods`, `/apis/apps/v1/replicasets`. */
  path: string;
  schema: ZodType<T & { metadata: ObjectStub["metadata"] }>;
  /** An object was listed or watched (added or modified); called with every field the schema keeps. */
  onUpsert(object: T): void;
  /** An object is gone (watched deletion, or absent from a relist); only its stub is left by then. */
  onDelete(object: ObjectStub): void;
}

export interface InformerOptions {
  /**
   * Items per list page (`limit`), default 200: bounds the memory a relist of 50k pods needs at once.
   * Each page of full pods is garbage once slimmed; with client-go's 500, V8 grew the heap it keeps
   * after the sync by ~20 MiB more (bench/README.md, kubetags). 250 lists for 50k pods cost little.
   */
  pageSize?: number;
  /**
   * A watch that carries nothing (not even a bookmark, which kube-apiserver sends about once a minute)
   * for this long is presumed dead (a half-open connection) and restarted. Default 5 min.
   */
  watchIdleTimeoutMs?: number;
  /** First delay before restarting after an error; doubles up to 30 s, reset by a healthy watch. */
  restartDelayMs?: number;
  log?: (message: string) => void;
}

const maxRestartDelayMs = 30_000;

/**
 * A @kubernetes/client-node ListWatch on one resource, with what the library leaves to its user:
 * paged lists, objects slimmed to the fields kubetags maps before they enter the cache, bookmarks
 * requested, a restart with backoff after errors (the library stops the informer on a list or watch
 * failure), and the health and timing figures `/healthz` and `/metrics` report.
 *
 * The library itself relists on `410 Gone` (HTTP 410 on the watch, or an ERROR event with code 410
 * followed by the stream's end) and reconnects from the last resourceVersion when a stream closes.
 */
export class ResourceInformer<T> {
  readonly timings = new ApplyTimings();
  private readonly listWatch: ListWatch<KubernetesObject>;
  private synced = false;
  private failing = false;
  private lastError: string | null = null;
  private lastErrorAt: Date | null = null;
  private objects = 0;
  private lists = 0;
  private watches = 0;
  private events = 0;
  private gone = 0;
  private stopped = false;
  /** The watch was ended on purpose (resync, or silent too long): its abort error is not a failure. */
  private endedOnPurpose = false;
  private restartTimer: NodeJS.Timeout | null = null;
  private restartDelayMs: number;
  private readonly log: (message: string) => void;

  constructor(
    private readonly kubeConfig: KubeConfig,
    private readonly spec: ResourceSpec<T>,
    private readonly options: InformerOptions = {},
  ) {
    this.restartDelayMs = options.restartDelayMs ?? 1_000;
    this.log = options.log ?? (() => {});
    this.listWatch = new ListWatch<KubernetesObject>(
      spec.path,
      new SlimmingWatch(kubeConfig, this, options.watchIdleTimeoutMs ?? 300_000),
      () => this.listAll(),
      false,
    );
    // Upserts reach the maps straight from the list and the watch, with the full slim object; the
    // library's cache holds stubs, so its add/update callbacks only count.
    this.listWatch.on(ADD, () => {
      this.objects += 1;
    });
    this.listWatch.on(DELETE, (o) => {
      this.objects -= 1;
      spec.onDelete(o as ObjectStub);
    });
    this.listWatch.on(ERROR, (error) => this.onError(error));
  }

  get resource(): string {
    return this.spec.resource;
  }

  /** Lists, applies the list and opens the watch; resolves once the watch request was answered (or failed). */
  async start(): Promise<void> {
    this.stopped = false;
    await this.listWatch.start();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.restartTimer !== null) clearTimeout(this.restartTimer);
    this.restartTimer = null;
    await this.listWatch.stop();
  }

  /**
   * Resync: relists now (the library then reports what the list no longer has as deleted, and the watch
   * resumes from the new list), repairing whatever a missed event could have left wrong. The library has
   * no call for this: clearing its resourceVersion and ending the watch makes it relist, as after a 410.
   */
  resync(): void {
    if (this.stopped || !this.synced || this.failing) return;
    this.endedOnPurpose = true;
    const internals = this.listWatch as unknown as { resourceVersion: string; request?: AbortController };
    internals.resourceVersion = "";
    internals.request?.abort();
  }

  health(): KubeInformerHealth {
    return {
      resource: this.spec.resource,
      synced: this.synced,
      failing: this.failing,
      last_error: this.lastError,
      last_error_at: this.lastErrorAt?.toISOString() ?? null,
      objects: this.objects,
      lists: this.lists,
      watches: this.watches,
      events: this.events,
      gone: this.gone,
    };
  }

  /** @internal A watch silent for too long is presumed dead: end it; the library resumes from its resourceVersion. */
  endSilentWatch(controller: AbortController | null, message: string): void {
    this.noteError(message, false);
    this.endedOnPurpose = true;
    controller?.abort();
  }

  /** @internal Called by the watch wrapper. */
  noteWatchAnswered(ok: boolean): void {
    this.watches += 1;
    if (!ok) return;
    // The library opens a watch only after the list is applied: from here on, the cache is in sync.
    this.synced = true;
    if (this.failing) this.log(`${this.spec.resource}: watching again`);
    this.failing = false;
    this.restartDelayMs = this.options.restartDelayMs ?? 1_000;
  }

  /**
   * @internal Parses one watch event's object and applies an addition or change to the maps; returns
   * the stub for the library's cache, or null (an error noted) when the object is not a valid one.
   */
  apply(phase: string, object: unknown): ObjectStub | null {
    this.events += 1;
    const parsed = this.spec.schema.safeParse(object);
    if (!parsed.success) {
      this.noteError(
        `invalid ${phase} object on ${this.spec.path}: ${parsed.error.issues[0]?.message}`,
        false,
      );
      return null;
    }
    if (phase !== "DELETED") this.spec.onUpsert(parsed.data);
    return stubOf(parsed.data);
  }

  /** @internal */
  noteGone(how: string): void {
    this.gone += 1;
    this.log(`${this.spec.resource}: ${how}; relisting`);
  }

  /** @internal */
  noteError(message: string, failing: boolean): void {
    this.lastError = message;
    this.lastErrorAt = new Date();
    if (failing) this.failing = true;
  }

  private onError(error: unknown): void {
    if (this.endedOnPurpose && !this.stopped) {
      this.endedOnPurpose = false;
      this.listWatch.start().catch((e: unknown) => this.onError(e));
      return;
    }
    const message = describeApiError(error);
    this.noteError(message, true);
    if (this.stopped) return;
    const delay = this.restartDelayMs;
    this.restartDelayMs = Math.min(delay * 2, maxRestartDelayMs);
    this.log(`${this.spec.resource}: ${message}; retrying in ${delay} ms`);
    this.restartTimer = setTimeout(() => {
      this.restartTimer = null;
      if (this.stopped) return;
      this.listWatch.start().catch((e: unknown) => this.onError(e));
    }, delay);
    this.restartTimer.unref();
  }

  /** Lists every page (`limit` + `continue`), keeping only the slim objects; the list's resourceVersion is the first page's. */
  private async listAll(): Promise<KubernetesListObject<KubernetesObject>> {
    this.lists += 1;
    this.endedOnPurpose = false;
    const cluster = this.kubeConfig.getCurrentCluster();
    if (cluster === null) throw new Error("the kubeconfig has no current cluster");
    const items: KubernetesObject[] = [];
    let resourceVersion: string | undefined;
    let continueToken: string | undefined;
    do {
      const url = new URL(cluster.server.replace(/\/$/, "") + this.spec.path);
      url.searchParams.set("limit", String(this.options.pageSize ?? 200));
      if (continueToken !== undefined) url.searchParams.set("continue", continueToken);
      const init = await this.kubeConfig.applyToFetchOptions({});
      const response = await fetch(url, { ...init, method: "GET", signal: AbortSignal.timeout(60_000) });
      const body: unknown = await response.json().catch(() => null);
      if (!response.ok) {
        const status = statusSchema.safeParse(body);
        const detail = status.success && status.data.message ? `: ${status.data.message}` : "";
        throw Object.assign(new Error(`list ${this.spec.path}: HTTP ${response.status}${detail}`), {
          statusCode: response.status,
        });
      }
      const page = listEnvelopeSchema.safeParse(body);
      if (!page.success)
        throw new Error(`list ${this.spec.path}: not a list: ${page.error.issues[0]?.message}`);
      resourceVersion ??= page.data.metadata.resourceVersion;
      for (const item of page.data.items) {
        // A relist (resync, 410) of an object whose version the cache holds changes nothing: keep the
        // cached stub, so a relist of 50k unchanged pods makes no new objects for V8 to grow its heap for.
        const unchanged = this.cachedAtSameVersion(item);
        if (unchanged !== undefined) {
          items.push(unchanged);
          continue;
        }
        const parsed = this.spec.schema.safeParse(item);
        if (parsed.success) {
          this.spec.onUpsert(parsed.data);
          items.push(stubOf(parsed.data) as KubernetesObject);
        } else this.noteError(`invalid item in ${this.spec.path}: ${parsed.error.issues[0]?.message}`, false);
      }
      continueToken = page.data.metadata.continue || undefined;
    } while (continueToken !== undefined);
    return { metadata: { resourceVersion: resourceVersion ?? "" }, items };
  }

  private cachedAtSameVersion(item: unknown): KubernetesObject | undefined {
    const meta = (item as { metadata?: { name?: unknown; namespace?: unknown; resourceVersion?: unknown } })
      ?.metadata;
    if (typeof meta?.name !== "string" || typeof meta.resourceVersion !== "string") return undefined;
    const namespace = typeof meta.namespace === "string" ? meta.namespace : undefined;
    const cached = this.listWatch.get(meta.name, namespace);
    return cached?.metadata?.resourceVersion === meta.resourceVersion ? cached : undefined;
  }
}

/**
 * The library's Watch, with bookmarks asked for and each event's object slimmed (and validated) before
 * the ListWatch sees it. The time from an event's arrival to its application in the maps is recorded.
 */
class SlimmingWatch<T> extends Watch {
  constructor(
    config: KubeConfig,
    private readonly informer: ResourceInformer<T>,
    private readonly idleTimeoutMs: number,
  ) {
    super(config);
  }

  override async watch(
    path: string,
    queryParams: Record<string, string | number | boolean | undefined>,
    callback: (phase: string, apiObj: unknown, watchObj?: unknown) => void,
    done: (err: unknown) => void,
  ): Promise<AbortController> {
    const informer = this.informer;
    let failed = false;
    let idleTimer: NodeJS.Timeout | null = null;
    let controller: AbortController | null = null;
    const rearm = () => {
      if (idleTimer !== null) clearTimeout(idleTimer);
      idleTimer = setTimeout(() => {
        informer.endSilentWatch(
          controller,
          `watch ${path} silent for ${this.idleTimeoutMs} ms; reconnecting`,
        );
      }, this.idleTimeoutMs);
      idleTimer.unref();
    };
    rearm();
    controller = await super.watch(
      path,
      { ...queryParams, allowWatchBookmarks: true },
      (phase, object, event) => {
        rearm();
        if (phase === "BOOKMARK") return callback(phase, object, event);
        if (phase === "ERROR") {
          const status = statusSchema.safeParse(object);
          const code = status.success ? status.data.code : undefined;
          if (code === 410) informer.noteGone("watch ERROR 410 Gone (resourceVersion too old)");
          else
            informer.noteError(`watch ERROR event: ${status.data?.message ?? JSON.stringify(object)}`, true);
          return callback(phase, object, event);
        }
        const started = performance.now();
        const stub = informer.apply(phase, object);
        if (stub === null) return;
        callback(phase, stub, event);
        informer.timings.record(performance.now() - started);
      },
      (error: unknown) => {
        if (idleTimer !== null) clearTimeout(idleTimer);
        if (error) {
          failed = true;
          if ((error as { statusCode?: number }).statusCode === 410) informer.noteGone("watch HTTP 410 Gone");
        }
        done(error);
      },
    );
    informer.noteWatchAnswered(!failed);
    return controller;
  }
}

export function describeApiError(error: unknown): string {
  if (!(error instanceof Error)) return String(error);
  const cause = error.cause instanceof Error ? `: ${error.cause.message}` : "";
  const status = (error as { statusCode?: number }).statusCode;
  return `${status !== undefined && !error.message.includes(String(status)) ? `HTTP ${status} ` : ""}${error.message}${cause}`;
}
