import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import { type Handle, onLibbpfMessage } from "../bpf/libbpf";
import { defaultBytecodePath, type LoadedKernflow, loadKernflow } from "../bpf/loader";
import { destroyLink } from "../bpf/object";
import { type AttachMode, kernelHasTcx, requireTcSupport } from "../bpf/tc";
import { InterfaceAttachments } from "./attachments";
import { seedSocketOwners } from "./preexisting";
import { SocketTable } from "./sockets";

/** Which BPF object to load: a file (the built-in object or `--bytecode`) or bytes (downloaded). */
export type BytecodeSource =
  | { kind: "file"; path?: string }
  | { kind: "bytes"; bytes: Buffer; label: string };

/** One bytecode live in the kernel: its programs and maps, the tracepoint links, the tc attachments
 * and the socket table read from its maps. A capture swaps one of these for another without stopping. */
export class LoadedBytecode {
  private constructor(
    readonly kf: LoadedKernflow,
    private readonly links: Handle[],
    readonly attachments: InterfaceAttachments,
    readonly sockets: SocketTable,
    readonly mode: AttachMode,
    /** SHA-256 of the object's bytes: what the console calls this bytecode. */
    readonly sha256: string,
  ) {}

  /** Loads the object and attaches its tracepoints; tc programs are attached per interface later. Throws
   * (leaving nothing behind) when the kernel refuses the object, so a caller can keep the last good one. */
  static async load(
    source: BytecodeSource,
    opts: { mapEntries?: number; attachMode?: "auto" | AttachMode; log: (msg: string) => void },
  ): Promise<LoadedBytecode> {
    // libbpf's warnings (verifier log on a failed load, attach problems) belong in the capture's log.
    onLibbpfMessage((level, message) => {
      if (level === "warn") opts.log(message.trimEnd());
    });
    const bytes = source.kind === "bytes" ? source.bytes : undefined;
    const path = source.kind === "file" ? (source.path ?? defaultBytecodePath()) : undefined;
    const kf = loadKernflow({
      ...(bytes === undefined ? { bytecodePath: path as string } : { bytecode: bytes }),
      ...(opts.mapEntries === undefined ? {} : { mapEntries: opts.mapEntries }),
    });
    const links: Handle[] = [];
    try {
      for (const { program, reason } of kf.skippedTracing) opts.log(`${program} not loaded: ${reason}`);
      for (const program of kf.tracing) links.push(kf.object.attachProgram(program));
      // After the tracepoints are live, so that nothing the kernel records is overwritten by /proc's view.
      const seeded = await seedSocketOwners(kf.maps.sockOwners);
      opts.log(`attributed ${seeded} socket(s) that predate this capture`);
      const hasTcx = kernelHasTcx(kf.tcIngressFd);
      const wanted = opts.attachMode ?? "auto";
      if (wanted !== "auto") requireTcSupport(hasTcx, wanted);
      const mode: AttachMode = wanted === "auto" ? (hasTcx ? "tcx" : "clsact") : wanted;
      const attachments = new InterfaceAttachments(
        mode,
        kf.tcIngressFd,
        kf.tcEgressFd,
        kf.maps.ifaces,
        opts.log,
      );
      const sha256 = createHash("sha256")
        .update(bytes ?? readFileSync(path as string))
        .digest("hex");
      return new LoadedBytecode(
        kf,
        links,
        attachments,
        new SocketTable(kf.maps.sockOwners, kf.maps.sockStats),
        mode,
        sha256,
      );
    } catch (error) {
      for (const link of links) destroyLink(link);
      kf.close();
      throw error;
    }
  }

  /** Detaches everything and unloads; returns the errors met, so clean-up goes on past one failure. */
  close(): unknown[] {
    const errors: unknown[] = [];
    try {
      this.attachments.detachAll();
    } catch (error) {
      errors.push(error);
    }
    for (const link of this.links) {
      try {
        destroyLink(link);
      } catch (error) {
        errors.push(error);
      }
    }
    this.kf.close();
    return errors;
  }
}
