import { MissingKernelFeatureError } from "../capture/errors";
import { type Handle, libbpf, readNative } from "./libbpf";

const BTF_KIND_PTR = 2;
const BTF_KIND_TYPEDEF = 8;
const BTF_KIND_FUNC_PROTO = 13;

interface BtfType {
  kind: number;
  vlen: number;
  type: number;
}

/** The running kernel's BTF (/sys/kernel/btf/vmlinux), asked which tracepoints exist and with which
 * arguments, so that only programs the kernel can load are loaded. */
export class KernelBtf {
  private constructor(private readonly handle: Handle) {}

  static load(): KernelBtf {
    const handle = libbpf().btfLoadVmlinux();
    if (!handle) {
      throw new MissingKernelFeatureError("kernel BTF (/sys/kernel/btf/vmlinux, CONFIG_DEBUG_INFO_BTF=y)");
    }
    return new KernelBtf(handle);
  }

  private type(id: number): BtfType {
    const raw = readNative(libbpf().btfTypeById(this.handle, id), 12);
    const info = raw.readUInt32LE(4);
    return { kind: (info >>> 24) & 0x1f, vlen: info & 0xffff, type: raw.readUInt32LE(8) };
  }

  /** Arguments of a BTF tracepoint (without the leading context pointer), or undefined if absent. */
  tracepointArgs(tracepoint: string): number | undefined {
    const id = libbpf().btfFindByNameKind(this.handle, `btf_trace_${tracepoint}`, BTF_KIND_TYPEDEF);
    if (id < 0) return undefined;
    const ptr = this.type(this.type(id).type);
    if (ptr.kind !== BTF_KIND_PTR) return undefined;
    const proto = this.type(ptr.type);
    if (proto.kind !== BTF_KIND_FUNC_PROTO) return undefined;
    return proto.vlen - 1;
  }

  close(): void {
    libbpf().btfFree(this.handle);
  }
}
