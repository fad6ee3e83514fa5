import { readdir, readFile } from "node:fs/promises";
import { join } from "node:path";

/** A network interface of this host's (network namespace's) /sys/class/net. */
export interface NetInterface {
  name: string;
  ifindex: number;
  /** Bytes of link-layer header in front of the IP header at tc, from the ARPHRD type. */
  linkHeaderLen: number;
}

const ARPHRD_ETHER = 1;
const ARPHRD_LOOPBACK = 772;

/** Ethernet and loopback carry a 14-byte Ethernet header at tc; L3 devices (tun, wireguard, ipip,
 * gre) hand tc the IP header directly. */
export function linkHeaderLength(arphrdType: number): number {
  return arphrdType === ARPHRD_ETHER || arphrdType === ARPHRD_LOOPBACK ? 14 : 0;
}

async function readNumber(path: string): Promise<number | undefined> {
  try {
    return Number.parseInt((await readFile(path, "utf8")).trim(), 10);
  } catch (error) {
    // The interface vanished between listing and reading: routine while containers come and go.
    if (
      (error as NodeJS.ErrnoException).code === "ENOENT" ||
      (error as NodeJS.ErrnoException).code === "ENODEV"
    ) {
      return undefined;
    }
    throw error;
  }
}

export async function listInterfaces(sysClassNet = "/sys/class/net"): Promise<NetInterface[]> {
  const names = await readdir(sysClassNet);
  const found: NetInterface[] = [];
  for (const name of names) {
    const ifindex = await readNumber(join(sysClassNet, name, "ifindex"));
    const type = await readNumber(join(sysClassNet, name, "type"));
    if (ifindex === undefined || type === undefined || Number.isNaN(ifindex)) continue;
    found.push({ name, ifindex, linkHeaderLen: linkHeaderLength(type) });
  }
  return found;
}

export interface InterfaceChanges {
  added: NetInterface[];
  removed: NetInterface[];
}

/** Differences between two listings; a renamed or re-created interface (new ifindex) is removed + added. */
export function diffInterfaces(
  before: ReadonlyMap<number, NetInterface>,
  now: readonly NetInterface[],
): InterfaceChanges {
  const added: NetInterface[] = [];
  const removed: NetInterface[] = [];
  const seen = new Set<number>();
  for (const iface of now) {
    seen.add(iface.ifindex);
    const old = before.get(iface.ifindex);
    if (!old) added.push(iface);
    else if (old.name !== iface.name) {
      removed.push(old);
      added.push(iface);
    }
  }
  for (const [ifindex, iface] of before) if (!seen.has(ifindex)) removed.push(iface);
  return { added, removed };
}
