import { describe, expect, it } from "vitest";
import { LauncherConfigError, parseLauncherEnv } from "./env";

describe("parseLauncherEnv", () => {
  it("defaults to 127.0.0.1:3000 and the embedded database when nothing is set", () => {
    const env = parseLauncherEnv({});
    expect(env).toMatchObject({ PORT: 3000, HOST: "127.0.0.1" });
    expect(env.DATABASE_URL).toBeUndefined();
  });

  it("treats empty variables as unset", () => {
    const env = parseLauncherEnv({ PORT: "", HOST: "", DATABASE_URL: "", KERNFLOW_ADMIN_EMAIL: "" });
    expect(env).toMatchObject({ PORT: 3000, HOST: "127.0.0.1" });
    expect(env.DATABASE_URL).toBeUndefined();
    expect(env.KERNFLOW_ADMIN_EMAIL).toBeUndefined();
  });

  it("accepts port 0 so the operating system picks a free port", () => {
    expect(parseLauncherEnv({ PORT: "0" }).PORT).toBe(0);
  });

  it("rejects a port that is not a number, naming the variable", () => {
    expect(() => parseLauncherEnv({ PORT: "http" })).toThrow(LauncherConfigError);
    expect(() => parseLauncherEnv({ PORT: "http" })).toThrow(/PORT/);
  });

  it("rejects a port above 65535", () => {
    expect(() => parseLauncherEnv({ PORT: "70000" })).toThrow(/between 0 and 65535/);
  });

  it("rejects a DATABASE_URL that is not a PostgreSQL URL", () => {
    expect(() => parseLauncherEnv({ DATABASE_URL: "mysql://localhost/x" })).toThrow(/DATABASE_URL/);
  });

  it("keeps a PostgreSQL DATABASE_URL and the administrator variables", () => {
    const env = parseLauncherEnv({
      DATABASE_URL: "postgresql://u:p@127.0.0.1:6543/kernflow",
      KERNFLOW_ADMIN_EMAIL: "ops@example.com",
      KERNFLOW_ADMIN_PASSWORD: "correct horse battery",
      KERNFLOW_HOME: "/tmp/kf",
    });
    expect(env).toMatchObject({
      DATABASE_URL: "postgresql://u:p@127.0.0.1:6543/kernflow",
      KERNFLOW_ADMIN_EMAIL: "ops@example.com",
      KERNFLOW_ADMIN_PASSWORD: "correct horse battery",
      KERNFLOW_HOME: "/tmp/kf",
    });
  });

  it("rejects an administrator email that is not an email address", () => {
    expect(() => parseLauncherEnv({ KERNFLOW_ADMIN_EMAIL: "admin" })).toThrow(/KERNFLOW_ADMIN_EMAIL/);
  });
});
