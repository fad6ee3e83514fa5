import koffi, { type LibraryHandle } from "koffi";
import { MissingKernelFeatureError } from "../capture/errors";

/** Raw libbpf 1.x entry points through koffi. Pointers to libbpf objects are opaque handles; keys,
 * values and option structs are Buffers laid out by the callers. libbpf 1.x returns -errno from fd
 * calls and NULL + errno from constructors. */
export type Handle = unknown;

function bind() {
  let lib: LibraryHandle;
  let libc: LibraryHandle;
  try {
    lib = koffi.load("libbpf.so.1");
    libc = koffi.load("libc.so.6");
  } catch (cause) {
    throw new MissingKernelFeatureError("libbpf.so.1 (install the libbpf1 package)", { cause });
  }
  return {
    objectOpenFile: lib.func("void *bpf_object__open_file(const char *path, void *opts)"),
    objectOpenMem: lib.func("void *bpf_object__open_mem(const void *buf, size_t size, void *opts)"),
    objectLoad: lib.func("int bpf_object__load(void *obj)"),
    objectClose: lib.func("void bpf_object__close(void *obj)"),
    findProgram: lib.func("void *bpf_object__find_program_by_name(void *obj, const char *name)"),
    findMap: lib.func("void *bpf_object__find_map_by_name(void *obj, const char *name)"),
    programSetAutoload: lib.func("int bpf_program__set_autoload(void *prog, bool autoload)"),
    programFd: lib.func("int bpf_program__fd(void *prog)"),
    programAttach: lib.func("void *bpf_program__attach(void *prog)"),
    linkDestroy: lib.func("int bpf_link__destroy(void *link)"),
    mapSetMaxEntries: lib.func("int bpf_map__set_max_entries(void *map, uint32_t max)"),
    mapFd: lib.func("int bpf_map__fd(void *map)"),
    mapLookupElem: lib.func("int bpf_map_lookup_elem(int fd, const void *key, void *value)"),
    mapUpdateElem: lib.func(
      "int bpf_map_update_elem(int fd, const void *key, const void *value, uint64_t flags)",
    ),
    mapDeleteElem: lib.func("int bpf_map_delete_elem(int fd, const void *key)"),
    mapGetNextKey: lib.func("int bpf_map_get_next_key(int fd, const void *key, void *next)"),
    mapLookupAndDeleteBatch: lib.func(
      "int bpf_map_lookup_and_delete_batch(int fd, void *in_batch, void *out_batch, void *keys, void *values, void *count, void *opts)",
    ),
    linkCreate: lib.func("int bpf_link_create(int prog_fd, int target_fd, int attach_type, void *opts)"),
    tcHookCreate: lib.func("int bpf_tc_hook_create(void *hook)"),
    tcAttach: lib.func("int bpf_tc_attach(const void *hook, void *opts)"),
    tcDetach: lib.func("int bpf_tc_detach(const void *hook, const void *opts)"),
    tcQuery: lib.func("int bpf_tc_query(const void *hook, void *opts)"),
    progGetFdById: lib.func("int bpf_prog_get_fd_by_id(uint32_t id)"),
    objGetInfoByFd: lib.func("int bpf_obj_get_info_by_fd(int fd, void *info, void *info_len)"),
    numPossibleCpus: lib.func("int libbpf_num_possible_cpus()"),
    btfLoadVmlinux: lib.func("void *btf__load_vmlinux_btf()"),
    btfFree: lib.func("void btf__free(void *btf)"),
    btfFindByNameKind: lib.func("int btf__find_by_name_kind(void *btf, const char *name, uint32_t kind)"),
    btfTypeById: lib.func("const void *btf__type_by_id(void *btf, uint32_t id)"),
    close: libc.func("int close(int fd)"),
  };
}

export type Libbpf = ReturnType<typeof bind>;
let bound: Libbpf | undefined;

/** The bound library, loaded on first use so that importing the agent never needs libbpf. */
export function libbpf(): Libbpf {
  bound ??= bind();
  return bound;
}

/** errno of the last failed call on this thread. */
export function lastErrno(): number {
  return koffi.errno();
}

/** Reads `length` bytes at a native address returned by libbpf (e.g. a struct btf_type *). */
export function readNative(pointer: Handle, length: number): Buffer {
  return Buffer.from(koffi.view(pointer, length));
}
