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
    mapLookupBatch: lib.func(
      "int bpf_map_lookup_batch(int fd, void *in_batch, void *out_batch, void *keys, void *values, void *count, void *opts)",
    ),
    mapLookupAndDeleteBatch: lib.func(
      "int bpf_map_lookup_and_delete_batch(int fd, void *in_batch, void *out_batch, void *keys, void *values, void *count, void *opts)",
    ),
    linkCreate: lib.func("int bpf_link_create(int prog_fd, int target_fd, int attach_type, void *opts)"),
    tcHookCreate: lib.func("int bpf_tc_hook_create(void *hook)"),
    tcAttach: lib.func("int bpf_tc_attach(const void *hook, void *opts)"),
    tcDetach: lib.func("int bpf_tc_detach(const void *hook, const void *opts)"),
    tcQuery: lib.func("int bpf_tc_query(const void *hook, void *opts)"),
    progQuery: lib.func(
      "int bpf_prog_query(int target, int type, uint32_t query_flags, void *attach_flags, void *prog_ids, void *prog_cnt)",
    ),
    progGetFdById: lib.func("int bpf_prog_get_fd_by_id(uint32_t id)"),
    objGetInfoByFd: lib.func("int bpf_obj_get_info_by_fd(int fd, void *info, void *info_len)"),
    numPossibleCpus: lib.func("int libbpf_num_possible_cpus()"),
    btfLoadVmlinux: lib.func("void *btf__load_vmlinux_btf()"),
    btfFree: lib.func("void btf__free(void *btf)"),
    btfFindByNameKind: lib.func("int btf__find_by_name_kind(void *btf, const char *name, uint32_t kind)"),
    btfTypeById: lib.func("const void *btf__type_by_id(void *btf, uint32_t id)"),
    setPrint: lib.func("void *libbpf_set_print(void *fn)"),
    close: libc.func("int close(int fd)"),
    vsnprintf: libc.func("int vsnprintf(char *buf, size_t size, const char *fmt, void *ap)"),
  };
}

/** libbpf message levels (enum libbpf_print_level). */
export type LibbpfLevel = "warn" | "info" | "debug";
const levels: LibbpfLevel[] = ["warn", "info", "debug"];

// va_list reaches the callback as a pointer on x86-64 (array type) and arm64 (large struct), so
// libc's vsnprintf can format it.
const printProto = koffi.proto("int kf_libbpf_print(int level, const char *fmt, void *ap)");
let printSink: (level: LibbpfLevel, message: string) => void = (level, message) => {
  if (level === "warn") process.stderr.write(message);
};
let printRegistered = false;
let quiet = 0;

/** Routes libbpf's own messages (verifier logs, warnings) to `sink` instead of stderr. */
export function onLibbpfMessage(sink: (level: LibbpfLevel, message: string) => void): void {
  printSink = sink;
  registerPrint(libbpf());
}

/** Runs `fn` with libbpf's messages dropped: for probes whose failure is expected and handled. */
export function withoutLibbpfMessages<T>(fn: () => T): T {
  quiet++;
  try {
    return fn();
  } finally {
    quiet--;
  }
}

function registerPrint(lib: ReturnType<typeof bind>): void {
  if (printRegistered) return;
  printRegistered = true;
  const callback = koffi.register((level: number, fmt: unknown, ap: unknown) => {
    if (quiet > 0) return 0;
    const buf = Buffer.alloc(4096);
    const n = lib.vsnprintf(buf, buf.length, fmt, ap) as number;
    printSink(
      levels[level] ?? "debug",
      buf.subarray(0, Math.max(0, Math.min(n, buf.length - 1))).toString("utf8"),
    );
    return 0;
  }, koffi.pointer(printProto));
  lib.setPrint(callback);
}

export type Libbpf = ReturnType<typeof bind>;
let bound: Libbpf | undefined;

/** The bound library, loaded on first use so that importing the agent never needs libbpf. */
export function libbpf(): Libbpf {
  if (!bound) {
    bound = bind();
    registerPrint(bound);
  }
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
