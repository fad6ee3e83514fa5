"""Traffic for the capture tests. Started through a symlink named after its role so that the kernel's
comm (the reported process_name) is known. Each line on stdout is one JSON event."""
import json
import os
import socket
import struct
import sys
import time


def emit(**fields):
    sys.stdout.write(json.dumps({"pid": os.getpid(), **fields}) + "\n")
    sys.stdout.flush()


def family(addr):
    return socket.AF_INET6 if ":" in addr else socket.AF_INET


def recv_exactly(conn, count):
    got = 0
    while got < count:
        chunk = conn.recv(min(65536, count - got))
        if not chunk:
            raise SystemExit("peer closed early")
        got += len(chunk)


def tcp_server(bind, reply, delay_ms, request):
    """Per connection: read `request`-byte requests until EOF, answer each after delay_ms with `reply` bytes."""
    srv = socket.socket(family(bind), socket.SOCK_STREAM)
    srv.bind((bind, 0))
    srv.listen(16)
    emit(event="ready", port=srv.getsockname()[1])
    while True:
        conn, peer = srv.accept()
        served = 0
        while True:
            first = conn.recv(1)
            if not first:
                finish(conn)
                break
            recv_exactly(conn, request - 1)
            time.sleep(delay_ms / 1000.0)
            conn.sendall(b"r" * reply)
            served += 1
        rtt_us, total_retrans = tcp_info(conn)
        conn.close()
        emit(event="closed", peer_port=peer[1], served=served, rtt_us=rtt_us, total_retrans=total_retrans)


def finish(sock):
    """Half-closes, waits for the peer's FIN and for ours to be acknowledged (state TCP_CLOSE), so that
    the socket can retransmit nothing more and its tcp_info totals are final."""
    sock.shutdown(socket.SHUT_WR)
    while sock.recv(65536):
        pass
    deadline = time.monotonic() + 20
    while sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_INFO, 104)[0] != 7 and time.monotonic() < deadline:
        time.sleep(0.01)


def tcp_info(sock):
    """The kernel's own view of the connection: struct tcp_info's tcpi_rtt (us) and tcpi_total_retrans."""
    info = sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_INFO, 104)
    rtt_us, total_retrans = struct.unpack_from("I", info, 68)[0], struct.unpack_from("I", info, 100)[0]
    return rtt_us, total_retrans


def tcp_sent(sock):
    """Segments (tcpi_segs_out, retransmissions and pure ACKs included) and payload bytes
    (tcpi_bytes_sent, retransmissions included) this socket has sent."""
    info = sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_INFO, 216)
    return struct.unpack_from("I", info, 136)[0], struct.unpack_from("Q", info, 200)[0]


def tcp_client(addr, port, requests, request, reply):
    sock = socket.socket(family(addr), socket.SOCK_STREAM)
    sock.connect((addr, port))
    for _ in range(requests):
        sock.sendall(b"q" * request)
        recv_exactly(sock, reply)
    local_port = sock.getsockname()[1]
    finish(sock)
    rtt_us, total_retrans = tcp_info(sock)
    segs_out, bytes_sent = tcp_sent(sock)
    sock.close()
    emit(
        event="done",
        local_port=local_port,
        rtt_us=rtt_us,
        total_retrans=total_retrans,
        segs_out=segs_out,
        bytes_sent=bytes_sent,
    )


def udp_server(bind):
    srv = socket.socket(family(bind), socket.SOCK_DGRAM)
    srv.bind((bind, 0))
    emit(event="ready", port=srv.getsockname()[1])
    while True:
        data, peer = srv.recvfrom(65536)
        srv.sendto(data, peer)


def udp_client(addr, port, datagrams, size):
    sock = socket.socket(family(addr), socket.SOCK_DGRAM)
    sock.settimeout(5)
    sock.connect((addr, port))
    for _ in range(datagrams):
        sock.send(b"u" * size)
        sock.recv(65536)
    emit(event="done", local_port=sock.getsockname()[1])


def tcp_listen_only(bind):
    """Listens and never accepts: the kernel completes handshakes and queues data on its own."""
    srv = socket.socket(family(bind), socket.SOCK_STREAM)
    srv.bind((bind, 0))
    srv.listen(16)
    emit(event="ready", port=srv.getsockname()[1])
    while True:
        time.sleep(3600)


def tcp_push(addr, port, count):
    sock = socket.socket(family(addr), socket.SOCK_STREAM)
    sock.connect((addr, port))
    sock.sendall(b"p" * count)
    emit(event="done", local_port=sock.getsockname()[1])
    sock.close()


def udp_sendto(addr, port, datagrams, size):
    """An unconnected client: the kernel knows no remote end for its socket."""
    sock = socket.socket(family(addr), socket.SOCK_DGRAM)
    sock.settimeout(5)
    for _ in range(datagrams):
        sock.sendto(b"t" * size, (addr, port))
        sock.recvfrom(65536)
    emit(event="done", local_port=sock.getsockname()[1])


def udp_spray(addr, port, sockets, size):
    """One datagram (and its echo) from each of `sockets` sockets: as many flows as sockets, each way."""
    socks = []
    for _ in range(sockets):
        sock = socket.socket(family(addr), socket.SOCK_DGRAM)
        sock.settimeout(5)
        sock.connect((addr, port))
        sock.send(b"s" * size)
        socks.append(sock)
    for sock in socks:
        sock.recv(65536)
    emit(event="done", local_ports=[s.getsockname()[1] for s in socks])


def main():
    mode, args = sys.argv[1], sys.argv[2:]
    if mode == "tcp-server":
        tcp_server(args[0], int(args[1]), float(args[2]), int(args[3]))
    elif mode == "tcp-client":
        tcp_client(args[0], int(args[1]), int(args[2]), int(args[3]), int(args[4]))
    elif mode == "udp-server":
        udp_server(args[0])
    elif mode == "udp-client":
        udp_client(args[0], int(args[1]), int(args[2]), int(args[3]))
    elif mode == "tcp-listen-only":
        tcp_listen_only(args[0])
    elif mode == "tcp-push":
        tcp_push(args[0], int(args[1]), int(args[2]))
    elif mode == "udp-sendto":
        udp_sendto(args[0], int(args[1]), int(args[2]), int(args[3]))
    elif mode == "udp-spray":
        udp_spray(args[0], int(args[1]), int(args[2]), int(args[3]))
    else:
        raise SystemExit(f"unknown mode {mode}")


if __name__ == "__main__":
    main()
