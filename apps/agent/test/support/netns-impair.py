"""A point-to-point link with delay and loss, made of two TUN devices and this forwarder.

This kernel has no sch_netem, so impairment is done in user space: every packet written to one TUN
device by the kernel is held for the delay (or dropped with the loss probability) and then written into
the other. The devices vanish when this process exits, so a crash cannot leave them behind.
Arguments: NAME_A NAME_B DELAY_MS LOSS_PERCENT. Prints "ready" once both devices exist.
"""
import fcntl
import heapq
import os
import random
import select
import struct
import sys
import time

TUNSETIFF = 0x400454CA
IFF_TUN = 0x0001
IFF_NO_PI = 0x1000


def open_tun(name):
    fd = os.open("/dev/net/tun", os.O_RDWR | os.O_NONBLOCK)
    fcntl.ioctl(fd, TUNSETIFF, struct.pack("16sH", name.encode(), IFF_TUN | IFF_NO_PI))
    return fd


def main():
    name_a, name_b, delay_ms, loss_percent = sys.argv[1], sys.argv[2], float(sys.argv[3]), float(sys.argv[4])
    fd_a, fd_b = open_tun(name_a), open_tun(name_b)
    peer = {fd_a: fd_b, fd_b: fd_a}
    delay = delay_ms / 1000.0
    pending = []  # (due, seq, out_fd, packet)
    seq = 0
    sys.stdout.write("ready\n")
    sys.stdout.flush()
    while True:
        timeout = max(0.0, pending[0][0] - time.monotonic()) if pending else None
        readable, _, _ = select.select([fd_a, fd_b], [], [], timeout)
        for fd in readable:
            while True:
                try:
                    packet = os.read(fd, 65536)
                except BlockingIOError:
                    break
                if random.random() * 100.0 < loss_percent:
                    continue
                seq += 1
                heapq.heappush(pending, (time.monotonic() + delay, seq, peer[fd], packet))
        now = time.monotonic()
        while pending and pending[0][0] <= now:
            _, _, out_fd, packet = heapq.heappop(pending)
            try:
                os.write(out_fd, packet)
            except OSError:
                # The far device is down or moving between namespaces; a dropped packet is what a link does.
                pass


if __name__ == "__main__":
    main()
