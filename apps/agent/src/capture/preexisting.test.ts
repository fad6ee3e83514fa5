import { describe, expect, it } from "vitest";
import { formatAddress } from "./addresses";
import { parseProcNet } from "./preexisting";

const tcp = `  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode
   0: 0100007F:1F90 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 4242 1 0000000000000000 100 0 0 10 0
   1: 0201A8C0:C350 0101A8C0:0050 01 00000000:00000000 00:00000000 00000000  1000        0 4343 1 0000000000000000 20 4 30 10 -1
`;
const tcp6 = `  sl  local_address                         remote_address                        st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode
   0: 00000000000000000000000001000000:0016 00000000000000000000000000000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 5151 1 0000000000000000 100 0 0 10 0
`;

describe("/proc/net socket tables", () => {
  it("reads IPv4 listeners with a zero remote end and connected sockets with both ends", () => {
    const [listener, connected] = parseProcNet(tcp, 6);
    expect(formatAddress(listener?.key.localAddr ?? Buffer.alloc(16))).toBe("127.0.0.1");
    expect(listener).toMatchObject({
      inode: 4242,
      state: 0x0a,
      key: { localPort: 8080, remotePort: 0, protocol: 6 },
    });
    expect(listener?.key.remoteAddr.equals(Buffer.alloc(16))).toBe(true);
    expect(formatAddress(connected?.key.localAddr ?? Buffer.alloc(16))).toBe("192.168.1.2");
    expect(formatAddress(connected?.key.remoteAddr ?? Buffer.alloc(16))).toBe("192.168.1.1");
    expect(connected?.key).toMatchObject({ localPort: 50000, remotePort: 80 });
  });

  it("reads IPv6 addresses word by word", () => {
    const [ssh] = parseProcNet(tcp6, 6);
    expect(formatAddress(ssh?.key.localAddr ?? Buffer.alloc(16))).toBe("::1");
    expect(ssh?.key.localPort).toBe(22);
  });
});
