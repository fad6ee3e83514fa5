import { describe, expect, it } from "vitest";
import {
  containerFromCgroupPath,
  containerFromProcCgroup,
  parseProcCgroup,
  unifiedPathFromProcCgroup,
} from "./cgroup";

const id64 = "3f8c2b1a9d7e6f5c4b3a29180716f5e4d3c2b1a0f9e8d7c6b5a4938271605f4e";
const id64b = "a1b2c3d4e5f60718293a4b5c6d7e8f90a1b2c3d4e5f60718293a4b5c6d7e8f90";
const podUid = "5f0a9c7e-1b2d-4e3f-8a9b-0c1d2e3f4a5b";

describe("containerFromProcCgroup", () => {
  it("finds a docker container under the cgroupfs driver on cgroup v1", () => {
    const content = [
      `12:pids:/docker/${id64}`,
      `11:memory:/docker/${id64}`,
      `1:name=systemd:/docker/${id64}`,
      "0::/",
      "",
    ].join("\n");
    expect(containerFromProcCgroup(content)).toEqual({ id: id64, runtime: "docker", podUid: null });
  });

  it("finds a docker container under the systemd driver on cgroup v2", () => {
    expect(containerFromProcCgroup(`0::/system.slice/docker-${id64}.scope\n`)).toEqual({
      id: id64,
      runtime: "docker",
      podUid: null,
    });
  });

  it("finds a containerd container of a burstable pod with the systemd driver, pod uid dashed", () => {
    const path = `/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod${podUid.replaceAll("-", "_")}.slice/cri-containerd-${id64}.scope`;
    expect(containerFromProcCgroup(`0::${path}\n`)).toEqual({ id: id64, runtime: "containerd", podUid });
  });

  it("finds a kubernetes container under the cgroupfs driver with a guaranteed pod", () => {
    const content = `10:cpu,cpuacct:/kubepods/pod${podUid}/${id64}\n0::/\n`;
    expect(containerFromProcCgroup(content)).toEqual({ id: id64, runtime: "unknown", podUid });
  });

  it("finds a cri-o container and ignores its conmon monitor scope", () => {
    const path = `/kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod${podUid.replaceAll("-", "_")}.slice/crio-${id64}.scope`;
    expect(containerFromProcCgroup(`0::${path}`)).toEqual({ id: id64, runtime: "cri-o", podUid });
    expect(containerFromProcCgroup(`0::/machine.slice/crio-conmon-${id64}.scope`)).toBeNull();
  });

  it("finds a podman container and ignores libpod-conmon", () => {
    expect(
      containerFromProcCgroup(
        `0::/user.slice/user-1000.slice/user@1000.service/user.slice/libpod-${id64}.scope/container`,
      ),
    ).toEqual({
      id: id64,
      runtime: "podman",
      podUid: null,
    });
    expect(containerFromProcCgroup(`0::/machine.slice/libpod-conmon-${id64}.scope`)).toBeNull();
  });

  it("reports the innermost container when containers nest", () => {
    expect(containerFromCgroupPath(`/docker/${id64}/docker/${id64b}`)?.id).toBe(id64b);
  });

  it("returns null for host processes, including this host's own cgroup layout", () => {
    const thisHost = [
      "9:name=systemd:/",
      "4:memory:/process_api/5a46ac1b3f1575944dedd6c627e097ef",
      "1:cpu:/",
      "0::/",
    ].join("\n");
    expect(containerFromProcCgroup(thisHost)).toBeNull();
    expect(containerFromProcCgroup("0::/user.slice/user-1000.slice/session-3.scope\n")).toBeNull();
    expect(containerFromProcCgroup("0::/system.slice/sshd.service\n")).toBeNull();
  });

  it("prefers the v2 line over v1 lines", () => {
    const content = `3:memory:/docker/${id64}\n0::/system.slice/docker-${id64b}.scope\n`;
    expect(containerFromProcCgroup(content)?.id).toBe(id64b);
  });
});

describe("parseProcCgroup", () => {
  it("splits hierarchy, controller list and path, keeping colons inside the path", () => {
    expect(parseProcCgroup("4:cpu,cpuacct:/a:b\n0::/\n")).toEqual([
      { hierarchyId: 4, controllers: ["cpu", "cpuacct"], path: "/a:b" },
      { hierarchyId: 0, controllers: [], path: "/" },
    ]);
  });
  it("returns the unified path, or null on a v1-only host", () => {
    expect(unifiedPathFromProcCgroup("1:cpu:/x\n0::/system.slice/a.service\n")).toBe(
      "/system.slice/a.service",
    );
    expect(unifiedPathFromProcCgroup("1:cpu:/x\n")).toBeNull();
  });
});
