/** Capture cannot run because the process lacks a privilege (root, or CAP_BPF + CAP_NET_ADMIN + CAP_PERFMON). */
export class MissingPrivilegeError extends Error {
  override readonly name = "MissingPrivilegeError";
  constructor(
    readonly missing: string,
    options?: { cause?: unknown },
  ) {
    super(`missing privilege: ${missing}`, options);
  }
}

/** Capture cannot run because the kernel or the system lacks something (BTF, tcx/clsact, libbpf.so.1). */
export class MissingKernelFeatureError extends Error {
  override readonly name = "MissingKernelFeatureError";
  constructor(
    readonly missing: string,
    options?: { cause?: unknown },
  ) {
    super(`missing kernel feature: ${missing}`, options);
  }
}

/** A libbpf or bpf(2) call failed at run time; `errno` is the positive error number. */
export class BpfCallError extends Error {
  override readonly name = "BpfCallError";
  constructor(
    readonly call: string,
    readonly errno: number,
    detail?: string,
  ) {
    super(`${call} failed: ${errnoName(errno)}${detail ? ` (${detail})` : ""}`);
  }
}

/** The bytecode given is not a kernflow object (a program or map is missing, or a struct differs). */
export class BytecodeError extends Error {
  override readonly name = "BytecodeError";
}

const errnoNames: Record<number, string> = {
  1: "EPERM",
  2: "ENOENT",
  3: "ESRCH",
  7: "E2BIG",
  9: "EBADF",
  12: "ENOMEM",
  13: "EACCES",
  16: "EBUSY",
  17: "EEXIST",
  19: "ENODEV",
  22: "EINVAL",
  28: "ENOSPC",
  38: "ENOSYS",
  95: "EOPNOTSUPP",
  524: "ENOTSUPP",
};

export function errnoName(errno: number): string {
  return `${errnoNames[errno] ?? "errno"} ${errno}`;
}
