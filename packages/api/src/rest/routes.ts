import type { HttpMethod } from "../trpc";

export interface RestRouteSpec {
  method: HttpMethod;
  /** Relative to /api/v1, with `{name}` parameters, e.g. `/plans/{id}`. */
  path: string;
  procedurePath: string;
}

type Segment = { literal: string } | { param: string };

export interface CompiledRoute extends RestRouteSpec {
  segments: Segment[];
  params: string[];
}

export type RouteMatch =
  | { kind: "match"; route: CompiledRoute; params: Record<string, string> }
  | { kind: "method_not_allowed"; allowed: HttpMethod[] }
  | { kind: "not_found" };

export class InvalidRouteError extends Error {}

export function compileRoutes(specs: RestRouteSpec[]): CompiledRoute[] {
  const seen = new Set<string>();
  return specs.map((spec) => {
    if (!spec.path.startsWith("/"))
      throw new InvalidRouteError(`REST path must start with "/": ${spec.path}`);
    const segments = spec.path
      .split("/")
      .slice(1)
      .map((segment): Segment => {
        const param = /^\{([A-Za-z_][A-Za-z0-9_]*)\}$/.exec(segment)?.[1];
        return param ? { param } : { literal: segment };
      });
    // Two procedures on one method + shape would make the second unreachable: fail at start-up, not silently.
    const shape = `${spec.method} ${segments.map((s) => ("param" in s ? "{}" : s.literal)).join("/")}`;
    if (seen.has(shape)) throw new InvalidRouteError(`Two procedures claim ${spec.method} ${spec.path}`);
    seen.add(shape);
    const params = segments.flatMap((s) => ("param" in s ? [s.param] : []));
    return { ...spec, segments, params };
  });
}

export function matchRoute(routes: CompiledRoute[], method: string, path: string): RouteMatch {
  const parts = path.replace(/\/+$/, "").split("/").slice(1);
  const allowed: HttpMethod[] = [];
  for (const route of routes) {
    const params = matchSegments(route, parts);
    if (!params) continue;
    if (route.method === method) return { kind: "match", route, params };
    allowed.push(route.method);
  }
  return allowed.length > 0 ? { kind: "method_not_allowed", allowed } : { kind: "not_found" };
}

function matchSegments(route: CompiledRoute, parts: string[]): Record<string, string> | null {
  if (parts.length !== route.segments.length) return null;
  const params: Record<string, string> = {};
  for (const [i, segment] of route.segments.entries()) {
    const part = parts[i] ?? "";
    if ("param" in segment) {
      if (part === "") return null;
      try {
        params[segment.param] = decodeURIComponent(part);
      } catch {
        return null;
      }
    } else if (segment.literal !== part) {
      return null;
    }
  }
  return params;
}
