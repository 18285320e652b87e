"""Run a WSGI app on a real socket in a background thread (demo mode and tests)."""
from __future__ import annotations

import socket
import logging
import threading

from werkzeug.serving import make_server

# one line per request drowns what matters in demo and test output
logging.getLogger("werkzeug").setLevel(logging.WARNING)


def free_port(host: str = "127.0.0.1") -> int:
    """A TCP port nobody listens on right now."""
    with socket.socket() as s:
        s.bind((host, 0))
        return s.getsockname()[1]


class ServerThread:
    """A threaded werkzeug server; `url` is where it listens, `stop()` shuts it down."""

    def __init__(self, app, host: str = "127.0.0.1", port: int = 0):
        # port 0: the system picks a free port at bind time (no window for another process to take it)
        self.server = make_server(host, port, app, threaded=True)
        self.host, self.port = host, self.server.server_port
        self.url = f"http://{host}:{self.port}"
        self.thread = threading.Thread(target=lambda: self.server.serve_forever(poll_interval=0.05), name=f"http-{self.port}", daemon=True)

    def start(self) -> "ServerThread":
        self.thread.start()
        return self

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(timeout=5)
