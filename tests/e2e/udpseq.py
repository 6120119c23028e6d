#!/usr/bin/env python3
"""Sequence-numbered UDP datagrams for the end-to-end tests (stdlib only).

  udpseq.py send HOST PORT N SPACING_MS
      N datagrams carrying sequence numbers 0..N-1 (4 bytes, then 160 bytes of padding: an
      RTP-sized payload), paced on an absolute schedule; prints "N seconds_taken"
  udpseq.py recv PORT N IDLE_S DEADLINE_S
      counts them until IDLE_S after the last one (or DEADLINE_S); prints
      "unique duplicated missing bad first_missing..." (up to 10 missing numbers)
  udpseq.py echo PORT SECS
      answers every datagram with itself for SECS seconds
  udpseq.py ping HOST PORT N SPACING_MS [TRAIN]
      N numbered requests to an echo, SPACING_MS apart, each after TRAIN 1200-byte fillers
      (default 0); prints "answered min_ms median_ms max_ms" of the round trips
"""
import socket
import struct
import sys
import time


def send(host, port, n, spacing_ms):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    pad = b"\0" * 160
    t0 = time.monotonic()
    for i in range(n):
        dt = t0 + i * spacing_ms / 1000.0 - time.monotonic()
        if dt > 0:
            time.sleep(dt)
        for _ in range(100):
            try:
                s.sendto(struct.pack("!I", i) + pad, (host, port))
                break
            except OSError:                    # ENOBUFS on a busy machine: retry
                time.sleep(0.001)
    print(n, "%.3f" % (time.monotonic() - t0))


def recv(port, n, idle, deadline):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4 << 20)
    s.bind(("0.0.0.0", port))
    s.settimeout(0.1)
    seen = bytearray(n)
    dup = bad = 0
    start = time.monotonic()
    last = None
    while True:
        now = time.monotonic()
        if now - start > deadline or (last is not None and now - last > idle):
            break
        try:
            d, _ = s.recvfrom(4096)
        except socket.timeout:
            continue
        last = time.monotonic()
        if len(d) < 4:
            bad += 1
            continue
        q = struct.unpack("!I", d[:4])[0]
        if q >= n:
            bad += 1
        elif seen[q]:
            dup += 1
        else:
            seen[q] = 1
    missing = [i for i in range(n) if not seen[i]]
    print(n - len(missing), dup, len(missing), bad, " ".join(map(str, missing[:10])), flush=True)


def echo(port, secs):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind(("0.0.0.0", port))
    s.settimeout(0.2)
    end = time.monotonic() + secs
    while time.monotonic() < end:
        try:
            d, a = s.recvfrom(4096)
        except socket.timeout:
            continue
        s.sendto(d, a)


FILLER = 0xFFFFFFFF


def ping(host, port, n, spacing_ms, train=0):
    """n requests spacing_ms apart; each preceded by `train` 1200-byte fillers on the same
    socket (the flow then has frames queued behind each other: it is not sparse)."""
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.settimeout(0.001)
    sent = {}
    rtts = []
    t0 = time.monotonic()
    i = 0
    while True:
        now = time.monotonic()
        if i < n and now >= t0 + i * spacing_ms / 1000.0:
            for _ in range(train):
                s.sendto(struct.pack("!I", FILLER) + b"\0" * 1196, (host, port))
            sent[i] = time.monotonic()
            s.sendto(struct.pack("!I", i) + b"\0" * 60, (host, port))
            i += 1
        elif i >= n and now > t0 + n * spacing_ms / 1000.0 + 1.0:
            break
        try:
            d, _ = s.recvfrom(4096)
        except (socket.timeout, BlockingIOError):
            continue
        q = struct.unpack("!I", d[:4])[0]
        if q in sent:
            rtts.append((time.monotonic() - sent.pop(q)) * 1000)
    rtts.sort()
    if not rtts:
        print(0, "-", "-", "-")
    else:
        print(len(rtts), "%.1f" % rtts[0], "%.1f" % rtts[len(rtts) // 2], "%.1f" % rtts[-1])


if __name__ == "__main__":
    cmd, a = sys.argv[1], sys.argv[2:]
    if cmd == "send":
        send(a[0], int(a[1]), int(a[2]), float(a[3]))
    elif cmd == "recv":
        recv(int(a[0]), int(a[1]), float(a[2]), float(a[3]))
    elif cmd == "echo":
        echo(int(a[0]), float(a[1]))
    elif cmd == "ping":
        ping(a[0], int(a[1]), int(a[2]), float(a[3]), int(a[4]) if len(a) > 4 else 0)
    else:
        sys.exit(__doc__)
