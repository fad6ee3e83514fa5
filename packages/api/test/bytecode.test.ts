import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { onConfigChange } from "../src/agent/config-bus";
import { listenFetch } from "../src/agent/node-server";
import { InvalidBytecodeError, MAX_BYTECODE_BYTES, validateBytecode } from "../src/bytecode/elf";
import { handleRestRequest } from "../src/index";
import {
  chooseBytecode,
  DEFAULT_BYTECODE_NAME,
  registerDefaultBytecode,
  uploadBytecode,
} from "../src/services/bytecode";
import {
  builtObject,
  builtObjectPath,
  patchU8,
  patchU16,
  renameSection,
  renameString,
  variant,
} from "./bytecode.helpers";
import { callerAs, createHarness, type Harness } from "./harness";

let h: Harness;
let server: { url: string; close(): Promise<void> };
let built: Uint8Array;
beforeAll(async () => {
  h = await createHarness();
  built = builtObject();
  server = await listenFetch((request) => handleRestRequest(request, h.deps));
});
afterAll(async () => {
  await server?.close();
  await h?.cleanup();
});

const admin = { userId: null, label: "test", ip: null };

function reason(bytes: Uint8Array): string {
  try {
    validateBytecode(bytes);
  } catch (error) {
    if (error instanceof InvalidBytecodeError) return error.message;
    throw error;
  }
  return "accepted";
}

describe("bytecode validator", () => {
  it("accepts the object built from bpf/ and lists the agent's programs and maps in it", () => {
    const summary = validateBytecode(built);
    expect(summary.programs).toEqual(
      expect.arrayContaining(["kf_tc_ingress", "kf_tc_egress", "kf_tcp_probe"]),
    );
    expect(summary.maps).toEqual(expect.arrayContaining(["kf_flows", "kf_overflow", "kf_sock_owners"]));
    expect(summary.btfBytes).toBeGreaterThan(0);
  });

  it("rejects each kind of wrong file with its reason", () => {
    expect(reason(new Uint8Array(0))).toBe("the file is empty");
    expect(reason(new TextEncoder().encode("#!/bin/sh\necho hi\n"))).toBe("not an ELF file");
    expect(reason(patchU16(built, 18, 62))).toBe("machine is x86-64 (62), expected BPF (247)");
    expect(reason(patchU16(built, 18, 183))).toBe("machine is AArch64 (183), expected BPF (247)");
    expect(reason(patchU8(built, 4, 1))).toBe("a 32-bit ELF file, expected a 64-bit BPF object");
    expect(reason(patchU8(built, 5, 2))).toContain("big-endian");
    expect(reason(patchU16(built, 16, 2))).toContain("not a relocatable object (ELF type 2)");
    expect(reason(renameSection(built, ".BTF", ".BTX"))).toBe("no BTF section: build with -g");
    expect(reason(renameString(built, "kf_tc_ingress", "kf_tc_ingrexx"))).toBe(
      "missing program kf_tc_ingress",
    );
    expect(reason(renameString(built, "kf_tcp_probe", "kf_tcp_probX"))).toBe("missing program kf_tcp_probe");
    expect(reason(renameString(built, "kf_flows", "kf_flowX"))).toBe("missing map kf_flows");
    expect(reason(built.slice(0, 4096))).toMatch(/^truncated or corrupt ELF file/);
    expect(reason(new Uint8Array(MAX_BYTECODE_BYTES + 1))).toContain("limited to 8388608 bytes (8 MiB)");
  });
});

describe("chooseBytecode", () => {
  it("prefers an exact release, then the most specific glob, then the default, else null", async () => {
    expect(await chooseBytecode(h.db, "5.4.0-1103-aws")).toBeNull();
    const registered = await registerDefaultBytecode(h.db, builtObjectPath);
    const upload = (tag: string, kernelMatch: string) =>
      uploadBytecode(h.db, admin, { name: tag, kernelMatch, content: variant(built, tag) });
    const broad = await upload("broad", "5.*");
    const aws = await upload("aws", "5.4.*-aws");
    const exact = await upload("exact", "5.4.0-1103-aws");
    await upload("other", "6.1.?-foo");

    expect((await chooseBytecode(h.db, "5.4.0-1103-aws"))?.id).toBe(exact.id);
    expect((await chooseBytecode(h.db, "5.4.0-2000-aws"))?.id).toBe(aws.id);
    expect((await chooseBytecode(h.db, "5.10.0-generic"))?.id).toBe(broad.id);
    expect((await chooseBytecode(h.db, "6.1.7-foo"))?.name).toBe("other");
    expect((await chooseBytecode(h.db, "6.1.17-foo"))?.id).toBe(registered.id);
    expect(await chooseBytecode(h.db, "6.8.0-45-generic")).toMatchObject({
      id: registered.id,
      name: DEFAULT_BYTECODE_NAME,
      kernelMatch: "*",
    });
    await h.db.bytecode.deleteMany({ where: { isDefault: false } });
  });
});

describe("registerDefaultBytecode", () => {
  it("is idempotent for one build, and a new build replaces the default and tells every agent", async () => {
    const first = await registerDefaultBytecode(h.db, builtObjectPath);
    const again = await registerDefaultBytecode(h.db, builtObjectPath);
    expect(again).toEqual({ ...first, changed: false });

    const changes: unknown[] = [];
    const stop = onConfigChange((c) => changes.push(c));
    const dir = await import("node:fs/promises").then((fs) => fs.mkdtemp("/tmp/kf-bytecode-"));
    const path = `${dir}/kernflow.bpf.o`;
    await import("node:fs/promises").then((fs) => fs.writeFile(path, variant(built, "new-build")));
    const rebuilt = await registerDefaultBytecode(h.db, path);
    stop();
    expect(rebuilt.changed).toBe(true);
    expect(rebuilt.id).not.toBe(first.id);
    expect(changes).toContainEqual({ all: true });
    const defaults = await h.db.bytecode.findMany({ where: { isDefault: true }, select: { id: true } });
    expect(defaults).toEqual([{ id: rebuilt.id }]);
    expect(await h.db.bytecode.count({ where: { id: first.id } })).toBe(0);
    // Back to the real build for the tests below.
    await registerDefaultBytecode(h.db, builtObjectPath);
  });
});

// biome-ignore lint/suspicious/noExplicitAny: response bodies are checked by the tests' assertions
type Json = any;

async function post(path: string, body: Uint8Array, token: string, contentType = "application/octet-stream") {
  const res = await fetch(`${server.url}/api/v1${path}`, {
    method: "POST",
    headers: { authorization: `Bearer ${token}`, "content-type": contentType },
    body,
  });
  return { status: res.status, body: (await res.json()) as Json };
}

describe("bytecode over REST (real HTTP)", () => {
  it("stores a valid upload with its sha256 and kernel match, and 409s a duplicate naming the first", async () => {
    const object = variant(built, "rest-upload");
    const res = await post("/bytecode?name=aws-build&kernel_match=5.4.*-aws", object, h.users.admin.token);
    expect(res.status).toBe(201);
    expect(res.body).toMatchObject({ name: "aws-build", kernelMatch: "5.4.*-aws", size: object.byteLength });
    expect(res.body.sha256).toMatch(/^[0-9a-f]{64}$/);
    const stored = await h.db.bytecode.findUniqueOrThrow({ where: { id: res.body.id } });
    expect(Buffer.from(stored.content).equals(Buffer.from(object))).toBe(true);

    const dup = await post("/bytecode?name=again&kernel_match=*", object, h.users.admin.token);
    expect(dup.status).toBe(409);
    expect(dup.body.error.message).toContain(`already stored as "aws-build" (${res.body.id})`);
    const audit = await h.db.auditEntry.findFirst({
      where: { action: "bytecode.upload", targetId: res.body.id },
    });
    expect(audit?.actorLabel).toBe(h.users.admin.email);
  });

  it("answers 400 with the validator's reason for a bad object, and stores nothing", async () => {
    const before = await h.db.bytecode.count();
    const x86 = await post("/bytecode?name=x86&kernel_match=*", patchU16(built, 18, 62), h.users.admin.token);
    expect(x86.status).toBe(400);
    expect(x86.body.error.message).toBe("Rejected bytecode: machine is x86-64 (62), expected BPF (247)");
    const noBtf = await post(
      "/bytecode?name=nobtf&kernel_match=*",
      renameSection(built, ".BTF", ".BTX"),
      h.users.admin.token,
    );
    expect(noBtf.body.error.message).toContain("no BTF section: build with -g");
    expect(await h.db.bytecode.count()).toBe(before);
  });

  it("validates the kernel match and the content type", async () => {
    const object = variant(built, "bad-match");
    const regex = await post("/bytecode?name=r&kernel_match=5.(4|10).*", object, h.users.admin.token);
    expect(regex.status).toBe(400);
    expect(regex.body.error.message).toContain("kernel_match");
    const json = await post(
      "/bytecode?name=j&kernel_match=*",
      object,
      h.users.admin.token,
      "application/json",
    );
    expect(json.status).toBe(400);
    expect(json.body.error.message).toContain("application/octet-stream");
  });

  it("takes an upload above the 1 MiB JSON limit but 413s one above 8 MiB", async () => {
    const big = Buffer.concat([built, new Uint8Array(2 * 1024 * 1024)]);
    const ok = await post("/bytecode?name=padded&kernel_match=6.*", big, h.users.admin.token);
    expect(ok.status).toBe(201);
    const huge = await post(
      "/bytecode?name=huge&kernel_match=*",
      new Uint8Array(MAX_BYTECODE_BYTES + 1),
      h.users.admin.token,
    );
    expect(huge.status).toBe(413);
  });

  it("lets a member list but not upload, change or delete", async () => {
    const member = h.users.member.token;
    const list = await fetch(`${server.url}/api/v1/bytecode`, {
      headers: { authorization: `Bearer ${member}` },
    });
    expect(list.status).toBe(200);
    expect(((await list.json()) as unknown[]).length).toBeGreaterThan(0);
    const res = await post("/bytecode?name=m&kernel_match=*", variant(built, "member"), member);
    expect(res.status).toBe(403);
    const any = await h.db.bytecode.findFirstOrThrow({ where: { isDefault: false } });
    const patch = await fetch(`${server.url}/api/v1/bytecode/${any.id}`, {
      method: "PATCH",
      headers: { authorization: `Bearer ${member}`, "content-type": "application/json" },
      body: JSON.stringify({ kernelMatch: "*" }),
    });
    expect(patch.status).toBe(403);
  });
});

describe("bytecode kernel match and delete", () => {
  it("changes a kernel match, refuses to delete the default, and deletes one in use only with force", async () => {
    const caller = await callerAs(h, h.users.admin);
    const plan = await h.db.plan.create({
      data: { name: "bytecode-plan", maxDevices: 5, maxFlowsPerSecond: 100, retentionDays: 1 },
    });
    const up = await uploadBytecode(h.db, admin, {
      name: "inuse",
      kernelMatch: "4.19.*",
      content: variant(built, "inuse"),
    });
    await h.db.device.create({
      data: { name: "node-old", planId: plan.id, kernelRelease: "4.19.0-27-amd64", bytecodeId: up.id },
    });

    const changes: Array<{ deviceIds?: string[] }> = [];
    const stop = onConfigChange((c) => changes.push(c));
    const moved = await caller.bytecode.setKernelMatch({ id: up.id, kernelMatch: "4.19.0-27-amd64" });
    expect(moved.kernelMatch).toBe("4.19.0-27-amd64");
    expect((await caller.bytecode.choose({ kernelRelease: "4.19.0-27-amd64" })).bytecode?.id).toBe(up.id);

    const def = await h.db.bytecode.findFirstOrThrow({ where: { isDefault: true } });
    await expect(caller.bytecode.delete({ id: def.id })).rejects.toThrow(/is the default bytecode/);
    await expect(caller.bytecode.setKernelMatch({ id: def.id, kernelMatch: "6.*" })).rejects.toThrow(/fixed/);
    await expect(caller.bytecode.delete({ id: up.id })).rejects.toThrow(
      /in use by 1 device\(s\) \(node-old\)/,
    );
    const deleted = await caller.bytecode.delete({ id: up.id, force: true });
    stop();
    expect(deleted.id).toBe(up.id);
    const device = await h.db.device.findUniqueOrThrow({ where: { name: "node-old" } });
    expect(device.bytecodeId).toBeNull();
    expect(changes.some((c) => c.deviceIds?.includes(device.id))).toBe(true);
    expect((await caller.bytecode.choose({ kernelRelease: "4.19.0-27-amd64" })).bytecode?.id).toBe(def.id);
  });
});
