import { readdir, readFile, readlink } from "node:fs/promises";
import { join } from "node:path";
import type { BpfMap } from "../bpf/map";
import { encodeSockKey, type SockKey, sockOwnerLayout } from "../bpf/structs";

const BPF_NOEXIST = 1n;
const TCP_LISTEN = 0x0a;

/** A socket of /proc/net/{tcp,udp}{,6}: addresses in the kernel's 16-byte form. */
export interface ProcSocket {
  key: SockKey;
  inode: number;
  state: number;
}

/** /proc/net prints each 32-bit address word as %08X of its in-memory (network order) value, so on
 * this little-endian host the bytes of each word come out reversed. */
function procAddress(hex: string): Buffer {
  const out = Buffer.alloc(16);
  if (hex.length === 8) {
    out[10] = 0xff;
    out[11] = 0xff;
    out.writeUInt32LE(Number.parseInt(hex, 16), 12);
  } else {
    for (let i = 0; i < 4; i++) out.writeUInt32LE(Number.parseInt(hex.slice(i * 8, i * 8 + 8), 16), i * 4);
  }
  return out;
}

/** Parses one /proc/net/{tcp,udp}{,6} table. Listening and unconnected sockets get a zero remote end,
 * as the kernel side files them. */
export function parseProcNet(text: string, protocol: number): ProcSocket[] {
  const out: ProcSocket[] = [];
  for (const line of text.split("\n").slice(1)) {
    const f = line.trim().split(/\s+/);
    if (f.length < 10) continue;
    const [local = "", remote = "", st = "", inode = ""] = [f[1], f[2], f[3], f[9]];
    const [laddr = "", lport = ""] = local.split(":");
    const [raddr = "", rport = ""] = remote.split(":");
    const remotePort = Number.parseInt(rport, 16);
    const state = Number.parseInt(st, 16);
    const unconnected = remotePort === 0 || (protocol === 6 && state === TCP_LISTEN);
    out.push({
      key: {
        localAddr: procAddress(laddr),
        localPort: Number.parseInt(lport, 16),
        remoteAddr: unconnected ? Buffer.alloc(16) : procAddress(raddr),
        remotePort: unconnected ? 0 : remotePort,
        protocol,
      },
      inode: Number(inode),
      state,
    });
  }
  return out;
}

/** inode of every socket a process holds -> that process (pid, comm). */
async function socketHolders(procRoot: string): Promise<Map<number, { pid: number; comm: string }>> {
  const holders = new Map<number, { pid: number; comm: string }>();
  for (const entry of await readdir(procRoot)) {
    const pid = Number(entry);
    if (!Number.isInteger(pid)) continue;
    let fds: string[];
    let comm: string;
    try {
      fds = await readdir(join(procRoot, entry, "fd"));
      comm = (await readFile(join(procRoot, entry, "comm"), "utf8")).trim();
    } catch {
      continue; // exited meanwhile, or a kernel thread without fds
    }
    for (const fd of fds) {
      try {
        const target = await readlink(join(procRoot, entry, "fd", fd));
        const m = /^socket:\[(\d+)\]$/.exec(target);
        if (m && !holders.has(Number(m[1]))) holders.set(Number(m[1]), { pid, comm });
      } catch {
        // fd closed while listing
      }
    }
  }
  return holders;
}

/** Files the owners of sockets that existed before the programs were loaded (a server that listened
 * before the agent started), so their first packets are attributed too. Never replaces what the
 * kernel side recorded. Returns how many sockets it filed. */
export async function seedSocketOwners(owners: BpfMap, procRoot = "/proc"): Promise<number> {
  const sockets: ProcSocket[] = [];
  for (const [file, protocol] of [
    ["tcp", 6],
    ["tcp6", 6],
    ["udp", 17],
    ["udp6", 17],
  ] as const) {
    try {
      sockets.push(...parseProcNet(await readFile(join(procRoot, "net", file), "utf8"), protocol));
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== "ENOENT") throw error; // no IPv6 in this kernel
    }
  }
  const holders = await socketHolders(procRoot);
  let filed = 0;
  for (const socket of sockets) {
    const holder = holders.get(socket.inode);
    if (!holder || socket.inode === 0) continue;
    const value = Buffer.alloc(sockOwnerLayout.size);
    value.writeUInt32LE(holder.pid, sockOwnerLayout.fields.pid);
    value.writeUInt32LE(holder.pid, sockOwnerLayout.fields.tgid);
    value.write(holder.comm.slice(0, 15), sockOwnerLayout.fields.comm);
    if (owners.insert(encodeSockKey(socket.key), value, BPF_NOEXIST)) filed++;
  }
  return filed;
}
