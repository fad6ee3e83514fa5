import { describe, expect, it } from "vitest";
import { PayloadTooLargeError } from "../errors";
import { readBodyLimited } from "./body";

function streamOf(chunks: number[]): ReadableStream<Uint8Array> {
  return new ReadableStream({
    start(controller) {
      for (const size of chunks) controller.enqueue(new Uint8Array(size).fill(65));
      controller.close();
    },
  });
}

describe("readBodyLimited", () => {
  it("returns the whole body when it fits", async () => {
    const body = await readBodyLimited(new Request("http://x/", { method: "POST", body: "hello" }), 5);
    expect(new TextDecoder().decode(body)).toBe("hello");
  });

  it("refuses a declared Content-Length over the limit without reading", async () => {
    const req = new Request("http://x/", {
      method: "POST",
      body: "tiny",
      headers: { "content-length": "999" },
    });
    await expect(readBodyLimited(req, 10)).rejects.toBeInstanceOf(PayloadTooLargeError);
  });

  it("counts streamed bytes when no length is declared", async () => {
    const req = new Request("http://x/", {
      method: "POST",
      body: streamOf([6, 6]),
      duplex: "half",
    } as RequestInit);
    expect(req.headers.get("content-length")).toBeNull();
    await expect(readBodyLimited(req, 10)).rejects.toBeInstanceOf(PayloadTooLargeError);
    const ok = new Request("http://x/", {
      method: "POST",
      body: streamOf([5, 5]),
      duplex: "half",
    } as RequestInit);
    expect((await readBodyLimited(ok, 10)).byteLength).toBe(10);
  });
});
