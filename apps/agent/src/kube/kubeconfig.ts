import { existsSync } from "node:fs";
import { KubeConfig } from "./client-node";

/** The Kubernetes API cannot be reached with what was given; the CLI reports it as bad usage. */
export class KubeConfigError extends Error {
  override readonly name = "KubeConfigError";
}

const serviceAccountToken = "/var/run/secrets/kubernetes.io/serviceaccount/token";

/**
 * `--kubeconfig FILE` when given; inside a pod, the service account (KUBERNETES_SERVICE_HOST and the
 * mounted token); else `$KUBECONFIG`. No silent fallback to ~/.kube/config: an operator running kubetags
 * by hand says which cluster it watches.
 */
export function loadKubeConfig(
  kubeconfigPath: string | undefined,
  env: Readonly<Record<string, string | undefined>>,
): KubeConfig {
  const config = new KubeConfig();
  try {
    if (kubeconfigPath !== undefined) config.loadFromFile(kubeconfigPath);
    else if (env.KUBERNETES_SERVICE_HOST && existsSync(serviceAccountToken)) config.loadFromCluster();
    else if (env.KUBECONFIG) config.loadFromFile(env.KUBECONFIG);
    else {
      throw new KubeConfigError(
        "not running in a cluster (no KUBERNETES_SERVICE_HOST and service account token) and no kubeconfig: " +
          "pass --kubeconfig FILE or set KUBECONFIG",
      );
    }
  } catch (error) {
    if (error instanceof KubeConfigError) throw error;
    const source = kubeconfigPath ?? env.KUBECONFIG ?? "the in-cluster service account";
    throw new KubeConfigError(`cannot load ${source}: ${(error as Error).message}`);
  }
  const cluster = config.getCurrentCluster();
  if (cluster === null) throw new KubeConfigError("the kubeconfig has no current context with a cluster");
  try {
    new URL(cluster.server);
  } catch {
    throw new KubeConfigError(`the kubeconfig's cluster server "${cluster.server}" is not a URL`);
  }
  return config;
}
