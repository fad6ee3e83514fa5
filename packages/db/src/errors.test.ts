import { describe, expect, it } from "vitest";
import { DatabaseUnreachableError, describe as describeError, redactDatabaseUrl } from "./errors";

describe("redactDatabaseUrl", () => {
  it("hides the password and keeps everything an operator needs to find the server", () => {
    expect(redactDatabaseUrl("postgresql://app:s3cr%40t@db.internal:6432/console?sslmode=require")).toBe(
      "postgresql://app:***@db.internal:6432/console?sslmode=require",
    );
  });

  it("leaves a URL without password as it is", () => {
    expect(redactDatabaseUrl("postgres://app@localhost/console")).toBe("postgres://app@localhost/console");
  });

  it("never echoes an unparseable value, which may be a bare secret", () => {
    expect(redactDatabaseUrl("hunter2")).toBe("<unparseable URL>");
  });
});

describe("DatabaseUnreachableError", () => {
  it("names the server without its password and gives the driver's reason", () => {
    const error = new DatabaseUnreachableError(
      "postgresql://u:topsecret@10.0.0.9:5432/db",
      new Error("ETIMEDOUT"),
    );
    expect(error.code).toBe("unreachable");
    expect(error.name).toBe("DatabaseUnreachableError");
    expect(error.message).toContain("postgresql://u:***@10.0.0.9:5432/db: ETIMEDOUT");
    expect(error.message).not.toContain("topsecret");
  });
});

describe("describe", () => {
  it("lists every cause of an AggregateError (pg reports IPv4 and IPv6 failures together)", () => {
    const error = new AggregateError([
      new Error("connect ECONNREFUSED ::1:5432"),
      new Error("connect ECONNREFUSED 127.0.0.1:5432"),
    ]);
    expect(describeError(error)).toBe("connect ECONNREFUSED ::1:5432; connect ECONNREFUSED 127.0.0.1:5432");
  });
});
