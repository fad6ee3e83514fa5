"""Traffic endpoints for the agent's kernel tests, run inside a network namespace.

Launched through a symlink named after the role (kf-server, kf-client) so the kernel's comm, which the
agent reports as process_name, is a known value. Every event is one JSON line on stdout.
"""
import json
import os
import socket
import sys


def emit(**fields):
    sys.stdout.write(json.dumps({"pid": os.getpid(), **fields}) + "\n")
    sys.stdout.flush()


def family_of(addr):
    return socket.AF_INET6 if ":" in addr else socket.AF_INET


def recv_all(conn):
    total = 0
    while True:
        chunk = conn.recv(65536)
        if not chunk:
            return total
        total += len(chunk)


def send_exactly(sock, count):
    block = b"k" * 65536
    left = count
    while left > 0:
        left -= sock.send(block[: min(left, len(block))])


def tcp_server(bind, port, reply):
    srv = socket.socket(family_of(bind), socket.SOCK_STREAM)
    srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    srv.bind((bind, port))
    srv.listen(64)
    emit(event="ready", port=srv.getsockname()[1])
    while True:
        conn, peer = srv.accept()
        with conn:
            received = recv_all(conn)
            if reply > 0:
                send_exactly(conn, reply)
            conn.shutdown(socket.SHUT_WR)
            emit(event="connection", peer_addr=peer[0], peer_port=peer[1], received=received, sent=reply)


def udp_server(bind, port, reply):
    srv = socket.socket(family_of(bind), socket.SOCK_DGRAM)
    srv.bind((bind, port))
    emit(event="ready", port=srv.getsockname()[1])
    while True:
        data, peer = srv.recvfrom(65536)
        if reply > 0:
            srv.sendto(b"r" * reply, peer)
        emit(event="datagram", peer_addr=peer[0], peer_port=peer[1], received=len(data), sent=reply)


def tcp_client(addr, port, count):
    sock = socket.socket(family_of(addr), socket.SOCK_STREAM)
    sock.connect((addr, port))
    local_port = sock.getsockname()[1]
    send_exactly(sock, count)
    sock.shutdown(socket.SHUT_WR)
    received = recv_all(sock)
    sock.close()
    emit(event="done", local_port=local_port, sent=count, received=received)


def udp_client(addr, port, size, datagrams, wait_reply):
    sock = socket.socket(family_of(addr), socket.SOCK_DGRAM)
    sock.connect((addr, port))
    sock.settimeout(5)
    received = 0
    for _ in range(datagrams):
        sock.send(b"u" * size)
        if wait_reply:
            received += len(sock.recv(65536))
    emit(event="done", local_port=sock.getsockname()[1], sent=size * datagrams, received=received)


def main():
    mode = sys.argv[1]
    if mode == "tcp-server":
        tcp_server(sys.argv[2], int(sys.argv[3]), int(sys.argv[4]))
    elif mode == "udp-server":
        udp_server(sys.argv[2], int(sys.argv[3]), int(sys.argv[4]))
    elif mode == "tcp-client":
        tcp_client(sys.argv[2], int(sys.argv[3]), int(sys.argv[4]))
    elif mode == "udp-client":
        udp_client(sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5]), sys.argv[6] == "1")
    else:
        raise SystemExit(f"unknown mode {mode}")


if __name__ == "__main__":
    main()
