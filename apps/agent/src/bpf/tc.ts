import { BpfCallError, MissingKernelFeatureError, MissingPrivilegeError } from "../capture/errors";
import { libbpf, withoutLibbpfMessages } from "./libbpf";
import { clsactHandle, clsactPriority } from "./names";

/** Attach types of bpf_link_create for tcx (kernel 6.6+); libbpf 1.1 has no bpf_program__attach_tcx. */
const BPF_TCX_INGRESS = 46;
const BPF_TCX_EGRESS = 47;
/** enum bpf_tc_attach_point */
const BPF_TC_INGRESS = 1;
const BPF_TC_EGRESS = 2;

const EPERM = 1;
const ENOENT = 2;
const EEXIST = 17;
const EINVAL = 22;
const ENODEV = 19;

export type TcDirection = "ingress" | "egress";
export type AttachMode = "tcx" | "clsact";

/** How one program is attached to one interface hook; `detach` undoes exactly that. */
export interface TcAttachment {
  readonly mode: AttachMode;
  readonly ifindex: number;
  readonly direction: TcDirection;
  detach(): void;
}

export class InterfaceGoneError extends Error {
  override readonly name = "InterfaceGoneError";
}

function check(call: string, err: number, ifindex: number): void {
  if (err >= 0) return;
  if (-err === EPERM)
    throw new MissingPrivilegeError(`CAP_NET_ADMIN (or root) to attach tc programs (${call})`);
  if (-err === ENODEV) throw new InterfaceGoneError(`interface ${ifindex} vanished during ${call}`);
  throw new BpfCallError(call, -err, `ifindex ${ifindex}`);
}

/** A tcx link lives only as long as its fd: the kernel removes it when this process exits or is killed. */
export function attachTcx(progFd: number, ifindex: number, direction: TcDirection): TcAttachment {
  const fd = libbpf().linkCreate(
    progFd,
    ifindex,
    direction === "ingress" ? BPF_TCX_INGRESS : BPF_TCX_EGRESS,
    null,
  );
  check(`tcx ${direction} link`, fd, ifindex);
  let open = true;
  return {
    mode: "tcx",
    ifindex,
    direction,
    detach() {
      if (!open) return;
      open = false;
      libbpf().close(fd);
    },
  };
}

/** Whether this kernel knows tcx: attaching to a missing ifindex fails with ENODEV when the attach
 * type exists and with EINVAL when it does not. */
export function kernelHasTcx(progFd: number): boolean {
  const fd = libbpf().linkCreate(progFd, 0x7fffffff, BPF_TCX_INGRESS, null);
  if (fd >= 0) {
    libbpf().close(fd);
    return true;
  }
  if (-fd === EPERM) throw new MissingPrivilegeError("CAP_NET_ADMIN (or root) to attach tc programs");
  return -fd !== EINVAL;
}

function tcHook(ifindex: number, direction: TcDirection): Buffer {
  const hook = Buffer.alloc(24); // struct bpf_tc_hook { size_t sz; int ifindex; enum attach_point; __u32 parent; }
  hook.writeBigUInt64LE(24n, 0);
  hook.writeInt32LE(ifindex, 8);
  hook.writeUInt32LE(direction === "ingress" ? BPF_TC_INGRESS : BPF_TC_EGRESS, 12);
  return hook;
}

function tcOpts(progFd = 0, replace = false): Buffer {
  // struct bpf_tc_opts { size_t sz; int prog_fd; __u32 flags; __u32 prog_id; __u32 handle; __u32 priority; }
  const opts = Buffer.alloc(32);
  opts.writeBigUInt64LE(32n, 0);
  opts.writeInt32LE(progFd, 8);
  opts.writeUInt32LE(replace ? 1 : 0, 12);
  opts.writeUInt32LE(clsactHandle, 20);
  opts.writeUInt32LE(clsactPriority, 24);
  return opts;
}

/** Fallback for kernels before 6.6: a clsact direct-action filter with kernflow's handle/priority.
 * Unlike tcx it survives the process, so detach() must run, and removeStaleClsact() cleans up after a
 * killed run. */
export function attachClsact(progFd: number, ifindex: number, direction: TcDirection): TcAttachment {
  const hook = tcHook(ifindex, direction);
  const created = libbpf().tcHookCreate(hook);
  if (created < 0 && -created !== EEXIST) check("clsact qdisc creation", created, ifindex);
  check(`clsact ${direction} filter`, libbpf().tcAttach(hook, tcOpts(progFd, true)), ifindex);
  let attached = true;
  return {
    mode: "clsact",
    ifindex,
    direction,
    detach() {
      if (!attached) return;
      attached = false;
      const err = libbpf().tcDetach(hook, tcOpts());
      // The interface (and with it the filter) may be gone already.
      if (err < 0 && -err !== ENOENT && -err !== ENODEV && -err !== EINVAL)
        check("clsact detach", err, ifindex);
    },
  };
}

/** Ids of the programs attached through tcx to an interface hook (BPF_PROG_QUERY by ifindex). */
export function tcxProgramIds(ifindex: number, direction: TcDirection): number[] {
  const ids = Buffer.alloc(4 * 64);
  const count = Buffer.alloc(4);
  count.writeUInt32LE(64);
  const attachFlags = Buffer.alloc(4);
  const type = direction === "ingress" ? BPF_TCX_INGRESS : BPF_TCX_EGRESS;
  const err = libbpf().progQuery(ifindex, type, 0, attachFlags, ids, count);
  if (err < 0) check(`tcx ${direction} query`, err, ifindex);
  return Array.from({ length: count.readUInt32LE() }, (_, i) => ids.readUInt32LE(i * 4));
}

/** Name of a loaded program by id, or undefined when it is gone. */
export function programName(id: number): string | undefined {
  const fd = libbpf().progGetFdById(id);
  if (fd < 0) return undefined;
  try {
    const info = Buffer.alloc(256);
    const len = Buffer.alloc(4);
    len.writeUInt32LE(info.length);
    if (libbpf().objGetInfoByFd(fd, info, len) < 0) return undefined;
    const name = info.subarray(64, 80); // struct bpf_prog_info.name[BPF_OBJ_NAME_LEN]
    const end = name.indexOf(0);
    return name.subarray(0, end < 0 ? 16 : end).toString("utf8");
  } finally {
    libbpf().close(fd);
  }
}

/** Removes clsact filters that a killed earlier run left on this interface (recognised by kernflow's
 * handle/priority and a program named kf_tc_*). Returns how many it removed. */
export function removeStaleClsact(ifindex: number): number {
  let removed = 0;
  for (const direction of ["ingress", "egress"] as const) {
    const hook = tcHook(ifindex, direction);
    const query = tcOpts();
    // Most interfaces have no clsact qdisc: the query's kernel complaint about it is expected.
    const err = withoutLibbpfMessages(() => libbpf().tcQuery(hook, query));
    if (err < 0) continue; // no clsact qdisc or no filter with our handle
    const name = programName(query.readUInt32LE(16));
    if (name !== undefined && !name.startsWith("kf_tc_")) continue;
    const detached = libbpf().tcDetach(hook, tcOpts());
    if (detached < 0 && -detached !== ENOENT) check("stale clsact filter removal", detached, ifindex);
    removed++;
  }
  return removed;
}

export function requireTcSupport(hasTcx: boolean, mode: AttachMode): void {
  if (mode === "tcx" && !hasTcx) throw new MissingKernelFeatureError("tcx attachment (Linux 6.6 or later)");
}
