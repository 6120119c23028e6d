#!/usr/bin/env python3
"""Malformed and hostile requests against mpf-controld's socket (stdlib only).

  control_fuzz.py SOCKET N SEED

Sends N bad requests (seeded, reproducible): random bytes, broken and non-object JSON, unknown
commands and fields, wrongly typed or out-of-range arguments for every command, invalid
UTF-8, deep nesting, huge numbers. They go over 4 connections at once while a fifth client
holds half a request without its newline (it must not block the others). Every request must
get exactly one response line that is a JSON object with "ok": false and an error code from
docs/control-api.md. Then a line over 64 KiB must be refused with "too_large" (and that
connection closed), and a good request on a fresh connection must still succeed.

Prints one line per finding ("bad: ...") and at the end
"answered A of N, errors E, codes c1=n1,c2=n2..., too_large T, after OK"; exit 0 when every
check held, 1 otherwise.
"""
import json
import random
import socket
import sys
import threading

CODES = {"bad_request", "unknown_command", "not_found", "dataplane_unavailable",
         "dataplane_timeout", "busy", "unsupported", "failed", "too_large"}
COMMANDS = ["stats", "ports", "paths", "flows", "nat", "config", "policy", "capture",
            "path.set", "status", "drops", "lcores"]


def bad_requests(n, rng):
    """N request lines (bytes, no newline, not blank), each one the daemon must refuse."""
    fixed = [
        b"{", b"}", b"[]", b"42", b"null", b"true", b'"stats"', b"{\"cmd\": \"stats\"",
        b"{'cmd': 'stats'}", b"{\"cmd\": stats}", b"{\"cmd\": 1}", b"{\"cmd\": null}",
        b"{\"cmd\": [\"stats\"]}", b"{\"cmd\": {}}", b"{}", b"{\"args\": {}}",
        b"{\"cmd\": \"stats\", \"args\": []}", b"{\"cmd\": \"stats\", \"args\": 5}",
        b"{\"cmd\": \"stats\", \"extra\": 1}", b"{\"cmd\": \"\"}", b"{\"cmd\": \"STATS\"}",
        b"{\"cmd\": \"stats\\u0000\"}", b"{\"cmd\": \"st\xffats\"}", b"{\"cmd\": \"\xc3\x28\"}",
        b"\xef\xbb\xbf{\"cmd\": \"bogus\"}", b"{\"cmd\": \"stats\"} trailing",
        b"{\"cmd\": \"stats\", \"cmd\": \"bogus\"}",
        b"[" * 20000 + b"]" * 20000, b"{\"a\":" * 5000 + b"1" + b"}" * 5000,
        b"{\"cmd\": \"flows\", \"args\": {\"top\": 1e400}}",
        b"{\"cmd\": \"flows\", \"args\": {\"top\": 18446744073709551617}}",
        b"{\"cmd\": \"flows\", \"args\": {\"top\": -1}}",
        b"{\"cmd\": \"flows\", \"args\": {\"top\": 0.5}}",
        b"{\"cmd\": \"flows\", \"args\": {\"top\": \"10\"}}",
        b"{\"cmd\": \"flows\", \"args\": {\"proto\": \"sctp\"}}",
        b"{\"cmd\": \"flows\", \"args\": {\"addr\": \"999.1.1.1\"}}",
        b"{\"cmd\": \"flows\", \"args\": {\"addr\": \"10.0.0.0/33\"}}",
        b"{\"cmd\": \"flows\", \"args\": {\"port\": 70000}}",
        b"{\"cmd\": \"flows\", \"args\": {\"colour\": \"red\"}}",
        b"{\"cmd\": \"path.set\"}", b"{\"cmd\": \"path.set\", \"args\": {}}",
        b"{\"cmd\": \"path.set\", \"args\": {\"path\": \"lte\", \"state\": \"down\"}}",
        b"{\"cmd\": \"path.set\", \"args\": {\"path\": \"5g\", \"state\": \"sideways\"}}",
        b"{\"cmd\": \"path.set\", \"args\": {\"path\": \"5g\", \"weight\": 0}}",
        b"{\"cmd\": \"path.set\", \"args\": {\"path\": \"5g\", \"weight\": 100000}}",
        b"{\"cmd\": \"path.set\", \"args\": {\"path\": \"5g\", \"max_rate\": -5}}",
        b"{\"cmd\": \"path.set\", \"args\": {\"path\": \"5g\", \"max_rate\": \"fast\"}}",
        b"{\"cmd\": \"path.set\", \"args\": {\"path\": \"5g\"}}",
        b"{\"cmd\": \"path.set\", \"args\": {\"path\": 5}}",
        b"{\"cmd\": \"path.set\", \"args\": {\"path\": \"5g\", \"peer\": 99999, \"state\": \"up\"}}",
        b"{\"cmd\": \"path.set\", \"args\": {\"path\": \"5g\", \"impairment\": {\"loss_pct\": 1e400}}}",
        b"{\"cmd\": \"path.set\", \"args\": {\"path\": \"5g\", \"impairment\": {\"delay_ms\": -1}}}",
        b"{\"cmd\": \"path.set\", \"args\": {\"path\": \"5g\", \"impairment\": {\"rate\": \"auto\"}}}",
        b"{\"cmd\": \"path.set\", \"args\": {\"path\": \"5g\", \"impairment\": {\"x\": {}}}}",
        b"{\"cmd\": \"path.set\", \"args\": {\"path\": \"5g\", \"impairment\": [1, 2]}}",
        b"{\"cmd\": \"capture\"}", b"{\"cmd\": \"capture\", \"args\": {\"action\": \"start\", \"port\": \"lan\"}}",
        b"{\"cmd\": \"capture\", \"args\": {\"action\": \"start\", \"port\": \"nope\", \"count\": 1, \"file\": \"/tmp/x.pcapng\"}}",
        b"{\"cmd\": \"capture\", \"args\": {\"action\": \"start\", \"port\": \"lan\", \"count\": 0, \"file\": \"/tmp/x.pcapng\"}}",
        b"{\"cmd\": \"capture\", \"args\": {\"action\": \"start\", \"port\": \"lan\", \"count\": 1, \"file\": \"../x.pcapng\"}}",
        b"{\"cmd\": \"capture\", \"args\": {\"action\": \"start\", \"port\": \"lan\", \"count\": 1, \"file\": \"/etc/x\"}}",
        b"{\"cmd\": \"capture\", \"args\": {\"action\": \"explode\"}}",
        b"{\"cmd\": \"stats\", \"args\": {\"watch\": 1}}",
        b"{\"cmd\": \"config\", \"args\": {\"x\": 1}}",
    ]
    out = []
    i = 0
    while len(out) < n:
        kind = i % 5
        if i < len(fixed):
            line = fixed[i]
        elif kind == 0:                          # random bytes
            line = bytes(rng.randrange(1, 256) for _ in range(rng.randrange(1, 300)))
        elif kind == 1:                          # unknown command, random name
            name = "".join(rng.choice("abcdefghijklmnopqrstuvwxyz._-") for _ in range(rng.randrange(1, 40)))
            line = json.dumps({"cmd": "x" + name, "id": i}).encode()
        elif kind == 2:                          # a real command with a random unknown argument
            line = json.dumps({"cmd": rng.choice(COMMANDS), "args": {"zz%d" % rng.randrange(10**6): rng.random()},
                               "id": [i, "fuzz"]}).encode()
        elif kind == 3:                          # a valid request cut short
            good = json.dumps({"cmd": rng.choice(COMMANDS), "args": {"top": 5}, "id": i}).encode()
            line = good[:rng.randrange(1, len(good) - 1)]
        else:                                    # a real command, arguments of the wrong type
            line = json.dumps({"cmd": rng.choice(COMMANDS),
                               "args": rng.choice([[], 7, "s", None, True])}).encode()
        line = line.replace(b"\n", b" ")
        if line.strip():
            out.append(line)
        i += 1
    return out


class Results:
    def __init__(self):
        self.lock = threading.Lock()
        self.answered = 0
        self.codes = {}
        self.problems = []

    def bad(self, msg):
        with self.lock:
            if len(self.problems) < 20:
                self.problems.append(msg)
            else:
                self.problems.append(None)


def read_lines(sock, n, buf=b""):
    lines = []
    while len(lines) < n:
        nl = buf.find(b"\n")
        if nl >= 0:
            lines.append(buf[:nl])
            buf = buf[nl + 1:]
            continue
        chunk = sock.recv(65536)
        if not chunk:
            break
        buf += chunk
    return lines


def client(path, reqs, res):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(20)
    try:
        s.connect(path)
        for r in reqs:                           # one at a time: a response per request
            s.sendall(r + b"\n")
            got = read_lines(s, 1)
            if not got:
                res.bad("no response to %r" % r[:80])
                return
            try:
                v = json.loads(got[0])
            except ValueError:
                res.bad("response is not JSON: %r" % got[0][:120])
                continue
            code = (v.get("error") or {}).get("code") if isinstance(v, dict) else None
            if not isinstance(v, dict) or v.get("ok") is not False or code not in CODES \
                    or not isinstance(v["error"].get("message"), str):
                res.bad("request %r answered %r" % (r[:80], got[0][:160]))
            with res.lock:
                res.answered += 1
                res.codes[code] = res.codes.get(code, 0) + 1
    except OSError as e:
        res.bad("client: %s" % e)
    finally:
        s.close()


def one(path, line, timeout=10):
    """Sends LINE on a fresh connection; returns (first response line or None, closed after)."""
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(timeout)
    s.connect(path)
    s.sendall(line + b"\n")
    got = read_lines(s, 1)
    closed = False
    try:
        closed = s.recv(1) == b""
    except OSError:
        closed = True
    s.close()
    return (got[0] if got else None), closed


def main():
    path, n, seed = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
    rng = random.Random(seed)
    reqs = bad_requests(n, rng)
    res = Results()

    # A client that sends half a request and then nothing: the others must not wait for it.
    stall = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    stall.connect(path)
    stall.sendall(b'{"cmd": "sta')

    threads = [threading.Thread(target=client, args=(path, reqs[k::4], res)) for k in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    stall.close()

    too_large = 0
    line, closed = one(path, b'{"cmd": "stats", "pad": "' + b"x" * (70 * 1024) + b'"}')
    try:
        v = json.loads(line) if line else None
        if isinstance(v, dict) and v.get("ok") is False and v["error"]["code"] == "too_large" and closed:
            too_large = 1
        else:
            res.bad("a 70 KiB line got %r (closed: %s)" % ((line or b"")[:160], closed))
    except ValueError:
        res.bad("a 70 KiB line got a response that is not JSON: %r" % (line or b"")[:160])

    after = "no"
    line, _ = one(path, b'{"cmd": "status", "id": "after"}')
    try:
        v = json.loads(line) if line else None
        if isinstance(v, dict) and v.get("ok") is True and v.get("id") == "after":
            after = "OK"
        else:
            res.bad("a good request after the fuzzing got %r" % (line or b"")[:160])
    except ValueError:
        res.bad("a good request after the fuzzing got %r" % (line or b"")[:160])

    shown = [p for p in res.problems if p is not None]
    for p in shown:
        print("bad:", p)
    if len(res.problems) > len(shown):
        print("bad: ... and %d more" % (len(res.problems) - len(shown)))
    codes = ",".join("%s=%d" % kv for kv in sorted(res.codes.items(), key=lambda kv: str(kv[0])))
    print("answered %d of %d, errors %d, codes %s, too_large %d, after %s"
          % (res.answered, len(reqs), res.answered, codes, too_large, after))
    sys.exit(0 if not res.problems and res.answered == len(reqs) and too_large and after == "OK" else 1)


if __name__ == "__main__":
    main()
