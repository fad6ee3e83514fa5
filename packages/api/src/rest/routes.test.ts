import { describe, expect, it } from "vitest";
import { compileRoutes, InvalidRouteError, matchRoute } from "./routes";

const routes = compileRoutes([
  { method: "GET", path: "/plans", procedurePath: "plans.list" },
  { method: "POST", path: "/plans", procedurePath: "plans.create" },
  { method: "GET", path: "/plans/{id}", procedurePath: "plans.get" },
  { method: "DELETE", path: "/plans/{id}", procedurePath: "plans.delete" },
  { method: "POST", path: "/users/{id}/password", procedurePath: "users.resetPassword" },
]);

describe("REST route matching", () => {
  it("matches a literal path by method", () => {
    const get = matchRoute(routes, "GET", "/plans");
    const post = matchRoute(routes, "POST", "/plans");
    expect(get.kind === "match" && get.route.procedurePath).toBe("plans.list");
    expect(post.kind === "match" && post.route.procedurePath).toBe("plans.create");
  });

  it("extracts and decodes path parameters", () => {
    const m = matchRoute(routes, "POST", "/users/a%20b/password");
    expect(m).toMatchObject({ kind: "match", params: { id: "a b" } });
    expect(m.kind === "match" && m.route.procedurePath).toBe("users.resetPassword");
  });

  it("tolerates a trailing slash", () => {
    expect(matchRoute(routes, "GET", "/plans/").kind).toBe("match");
  });

  it("tells a wrong method from an unknown path", () => {
    expect(matchRoute(routes, "PUT", "/plans/1")).toEqual({
      kind: "method_not_allowed",
      allowed: ["GET", "DELETE"],
    });
    expect(matchRoute(routes, "GET", "/plans/1/extra")).toEqual({ kind: "not_found" });
    expect(matchRoute(routes, "GET", "/nothing")).toEqual({ kind: "not_found" });
  });

  it("does not match an empty parameter segment", () => {
    expect(matchRoute(routes, "POST", "/users//password")).toEqual({ kind: "not_found" });
  });

  it("refuses two procedures on the same method and path shape", () => {
    expect(() =>
      compileRoutes([
        { method: "GET", path: "/plans/{id}", procedurePath: "a" },
        { method: "GET", path: "/plans/{planId}", procedurePath: "b" },
      ]),
    ).toThrow(InvalidRouteError);
  });
});
