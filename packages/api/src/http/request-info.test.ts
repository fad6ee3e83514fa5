import { describe, expect, it } from "vitest";
import { clientIpFromHeaders, originMatchesHost, readCookie } from "./request-info";

const req = (headers: Record<string, string>) => new Request("http://console.test/x", { headers });

describe("request header readers", () => {
  it("reads one cookie among several and ignores undecodable values", () => {
    expect(readCookie(req({ cookie: "a=1; kf_session=abc%2Fd; b=2" }), "kf_session")).toBe("abc/d");
    expect(readCookie(req({ cookie: "kf_session=%E0%A4%A" }), "kf_session")).toBeNull();
    expect(readCookie(req({}), "kf_session")).toBeNull();
  });

  it("takes the right-most X-Forwarded-For entry, the one the nearest proxy appended", () => {
    expect(clientIpFromHeaders(req({ "x-forwarded-for": "6.6.6.6, 10.0.0.5" }))).toBe("10.0.0.5");
    expect(clientIpFromHeaders(req({ "x-real-ip": "10.0.0.9" }))).toBe("10.0.0.9");
    expect(clientIpFromHeaders(req({}))).toBeNull();
  });

  it("accepts a missing Origin or one naming this host, and refuses others", () => {
    expect(originMatchesHost(req({ host: "console.test" }))).toBe(true);
    expect(originMatchesHost(req({ host: "console.test", origin: "http://console.test" }))).toBe(true);
    expect(originMatchesHost(req({ host: "console.test", origin: "http://evil.test" }))).toBe(false);
    expect(originMatchesHost(req({ host: "console.test", origin: "null" }))).toBe(false);
    expect(
      originMatchesHost(
        req({
          host: "10.0.0.2:3000",
          "x-forwarded-host": "kernflow.example",
          origin: "https://kernflow.example",
        }),
      ),
    ).toBe(true);
  });
});
