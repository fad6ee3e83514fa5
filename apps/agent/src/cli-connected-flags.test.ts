import { describe, expect, it } from "vitest";
import { parseEnrollFlags, parseRunFlags } from "./cli-connected-flags";
import { UsageError } from "./cli-flags";

describe("enroll flags", () => {
  it("reads server, token and state dir, defaulting the state dir to /var/lib/kernflow", () => {
    expect(parseEnrollFlags(["--server", "http://console:3000/", "--token", "kfe_abc"])).toEqual({
      server: "http://console:3000",
      token: "kfe_abc",
      stateDir: "/var/lib/kernflow",
    });
    expect(
      parseEnrollFlags(["--server", "https://c", "--token", "t", "--state-dir", "/tmp/s"])?.stateDir,
    ).toBe("/tmp/s");
    expect(parseEnrollFlags(["--help"])).toBeNull();
  });

  it("refuses a missing server or token, a non-http server and stray arguments with a usage error", () => {
    expect(() => parseEnrollFlags(["--token", "t"])).toThrow(/--server is required/);
    expect(() => parseEnrollFlags(["--server", "http://c"])).toThrow(/--token is required/);
    expect(() => parseEnrollFlags(["--server", "ftp://c", "--token", "t"])).toThrow(
      /--server must be the console's http\(s\) URL/,
    );
    expect(() => parseEnrollFlags(["--server", "http://c", "--token", "t", "extra"])).toThrow(UsageError);
    expect(() => parseEnrollFlags(["--server", "http://c", "--token", "t", "--tokn", "x"])).toThrow(
      /Unknown option '--tokn'/,
    );
  });
});

describe("run flags", () => {
  it("needs nothing: the server comes from the state written by enroll", () => {
    expect(parseRunFlags([])).toEqual({
      server: undefined,
      stateDir: "/var/lib/kernflow",
      bytecodePath: undefined,
    });
    expect(parseRunFlags(["--server", "http://other:3000"])?.server).toBe("http://other:3000");
  });

  it("refuses an unreadable --bytecode and a bad --server", () => {
    expect(() => parseRunFlags(["--bytecode", "/nonexistent.o"])).toThrow(
      /--bytecode \/nonexistent.o cannot be read \(ENOENT\)/,
    );
    expect(() => parseRunFlags(["--server", "not a url"])).toThrow(UsageError);
  });
});
