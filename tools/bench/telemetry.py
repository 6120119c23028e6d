"""A minimal client for DPDK's telemetry socket (v2), standard library only.

The socket is /var/run/dpdk/<file-prefix>/dpdk_telemetry.v2, SOCK_SEQPACKET. On connect the
server sends a greeting (JSON with "version", "pid", "max_output_len"); then each message we
send is one command ("/mpf/stats", "/ethdev/stats,1") and each reply is one JSON object
{"<command without parameters>": value}.
"""
import json
import os
import socket
import time

RUNTIME_DIR = "/var/run/dpdk"


def socket_path(prefix):
    return os.path.join(RUNTIME_DIR, prefix, "dpdk_telemetry.v2")


class TelemetryError(Exception):
    pass


class Telemetry:
    def __init__(self, path, timeout=2.0):
        self.path = path
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        self.sock.settimeout(timeout)
        try:
            self.sock.connect(path)
            greeting = json.loads(self.sock.recv(16384).decode())
        except (OSError, ValueError) as e:
            self.sock.close()
            raise TelemetryError(f"{path}: {e}") from e
        self.pid = greeting.get("pid")
        self.max_len = int(greeting.get("max_output_len", 16384))

    @classmethod
    def wait(cls, prefix, timeout, alive=lambda: True):
        """Connects once the process has created its socket; alive() false stops waiting."""
        path = socket_path(prefix)
        deadline = time.monotonic() + timeout
        last = None
        while time.monotonic() < deadline and alive():
            if os.path.exists(path):
                try:
                    return cls(path)
                except TelemetryError as e:
                    last = e
            time.sleep(0.05)
        raise TelemetryError(f"no telemetry socket at {path} ({last or 'timed out'})")

    def cmd(self, command):
        """Runs one command; returns its value (the reply's only entry)."""
        try:
            self.sock.send(command.encode())
            data = self.sock.recv(self.max_len + 1024)
        except OSError as e:
            raise TelemetryError(f"{command}: {e}") from e
        if not data:
            raise TelemetryError(f"{command}: connection closed")
        reply = json.loads(data.decode())
        key = command.split(",", 1)[0]
        if key not in reply:
            raise TelemetryError(f"{command}: unexpected reply {reply!r}")
        if reply[key] is None:
            raise TelemetryError(f"{command}: command failed or unknown")
        return reply[key]

    def close(self):
        self.sock.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
