import { createRequire } from "node:module";
import type * as ClientNode from "@kubernetes/client-node";

/**
 * @kubernetes/client-node, loaded with `require` instead of `import`: the one place kubetags' code gets
 * the library's values from (types are imported as types only, which costs nothing at run time).
 *
 * Why: the agent runs its TypeScript through tsx, whose ESM hooks see every `import` on a loader
 * thread. The library is ~2 700 ES modules (its generated API and model classes load with
 * `KubeConfig`); passed through those hooks they left ~60 MiB more resident memory than the same
 * modules loaded without them (measured: 205 vs 145 MiB RSS for the library alone, see the kubetags
 * section of bench/README.md), a fifth of kubetags' 300 MiB budget. `require` of an ES module
 * (Node ≥ 20.19) takes Node's own loader, which those hooks do not intercept; the library needs no
 * compiling, so nothing is lost.
 */
const load = createRequire(import.meta.url);
const clientNode = load("@kubernetes/client-node") as typeof ClientNode;

export const { ADD, DELETE, ERROR, KubeConfig, ListWatch, Watch } = clientNode;
export type KubeConfig = ClientNode.KubeConfig;
export type ListWatch<T extends ClientNode.KubernetesObject> = ClientNode.ListWatch<T>;
export type { KubernetesListObject, KubernetesObject } from "@kubernetes/client-node";
