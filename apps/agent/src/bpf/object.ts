import {
  BpfCallError,
  BytecodeError,
  MissingKernelFeatureError,
  MissingPrivilegeError,
} from "../capture/errors";
import { type Handle, lastErrno, libbpf } from "./libbpf";
import { BpfMap } from "./map";

const objectBytes = new WeakMap<BpfObject, Buffer>();

/** One opened (then loaded) BPF object file. Closing it unloads every program and map it created
 * (links made from its programs hold their own references and must be destroyed separately). */
export class BpfObject {
  private closed = false;
  private loaded = false;

  private constructor(
    private readonly handle: Handle,
    readonly source: string,
  ) {}

  static openFile(path: string): BpfObject {
    const handle = libbpf().objectOpenFile(path, null);
    if (!handle) throw new BytecodeError(`cannot open BPF object ${path}: errno ${lastErrno()}`);
    return new BpfObject(handle, path);
  }

  /** Opens an object from bytes (bytecode downloaded from the console). */
  static openMemory(bytes: Buffer, label = "memory"): BpfObject {
    const handle = libbpf().objectOpenMem(bytes, bytes.length, null);
    if (!handle) throw new BytecodeError(`cannot open BPF object from ${label}: errno ${lastErrno()}`);
    const object = new BpfObject(handle, label);
    // libbpf parses the ELF in place: the bytes must outlive the object.
    objectBytes.set(object, bytes);
    return object;
  }

  private program(name: string): Handle {
    const prog = libbpf().findProgram(this.handle, name);
    if (!prog) throw new BytecodeError(`program ${name} missing from ${this.source}`);
    return prog;
  }

  hasProgram(name: string): boolean {
    return Boolean(libbpf().findProgram(this.handle, name));
  }

  setAutoload(programName: string, autoload: boolean): void {
    const err = libbpf().programSetAutoload(this.program(programName), autoload);
    if (err < 0) throw new BpfCallError(`bpf_program__set_autoload(${programName})`, -err);
  }

  setMaxEntries(mapName: string, entries: number): void {
    const err = libbpf().mapSetMaxEntries(this.mapHandle(mapName), entries);
    if (err < 0) throw new BpfCallError(`bpf_map__set_max_entries(${mapName})`, -err);
  }

  load(): void {
    const err = libbpf().objectLoad(this.handle);
    if (err < 0) {
      const errno = -err;
      if (errno === 1 || errno === 13) {
        throw new MissingPrivilegeError("CAP_BPF and CAP_PERFMON (or root) to load eBPF programs", {
          cause: new BpfCallError("bpf_object__load", errno),
        });
      }
      if (errno === 38) throw new MissingKernelFeatureError("the bpf() system call (CONFIG_BPF_SYSCALL)");
      throw new BpfCallError(
        "bpf_object__load",
        errno,
        `${this.source}; libbpf printed the verifier log above`,
      );
    }
    this.loaded = true;
  }

  programFd(name: string): number {
    const fd = libbpf().programFd(this.program(name));
    if (fd < 0) throw new BpfCallError(`bpf_program__fd(${name})`, -fd, "program not loaded");
    return fd;
  }

  /** Attaches a tracing program where its section says (tp_btf/...); returns the bpf_link handle. */
  attachProgram(name: string): Handle {
    const link = libbpf().programAttach(this.program(name));
    if (!link) throw new BpfCallError(`bpf_program__attach(${name})`, lastErrno());
    return link;
  }

  private mapHandle(name: string): Handle {
    const map = libbpf().findMap(this.handle, name);
    if (!map) throw new BytecodeError(`map ${name} missing from ${this.source}`);
    return map;
  }

  map(name: string, keySize: number, valueSize: number, perCpu = false): BpfMap {
    if (!this.loaded) throw new Error(`map ${name} requested before load`);
    const fd = libbpf().mapFd(this.mapHandle(name));
    if (fd < 0) throw new BpfCallError(`bpf_map__fd(${name})`, -fd);
    return new BpfMap(name, fd, keySize, valueSize, perCpu);
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    libbpf().objectClose(this.handle);
    objectBytes.delete(this);
  }
}

export function destroyLink(link: Handle): void {
  const err = libbpf().linkDestroy(link);
  if (err < 0) throw new BpfCallError("bpf_link__destroy", -err);
}
