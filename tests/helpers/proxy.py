"""A TCP proxy between a client and PostgreSQL that can lose the answer to a commit.

Armed, it passes on the client's next commit (a ``COMMIT``, or a put, which is
one statement and its own transaction: ``WITH moved AS ...``), lets the server
commit, and then cuts both connections before the server's answer reaches the
client: the one failure a writer cannot tell apart from a commit that never
happened.
"""

from __future__ import annotations

import contextlib
import select
import socket
import threading
import time


class CommitDroppingProxy:
    def __init__(self, target: tuple[str, int]) -> None:
        self.target = target
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.armed = threading.Event()
        self.dropped = threading.Event()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._accept, daemon=True)

    def __enter__(self) -> CommitDroppingProxy:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self.listener.close()

    def _accept(self) -> None:
        self.listener.settimeout(0.2)
        while not self._stop.is_set():
            try:
                client, _ = self.listener.accept()
            except (TimeoutError, OSError):
                continue
            server = socket.create_connection(self.target)
            threading.Thread(target=self._pipe, args=(client, server), daemon=True).start()

    def _pipe(self, client: socket.socket, server: socket.socket) -> None:
        deadline = time.monotonic() + 120  # a bounded life, whatever happens
        try:
            while not self._stop.is_set() and time.monotonic() < deadline:
                ready, _, _ = select.select([client, server], [], [], 0.2)
                for sock in ready:
                    data = sock.recv(65536)
                    if not data:
                        return
                    if sock is client:
                        server.sendall(data)
                        if self.armed.is_set() and _commits(data):
                            self.armed.clear()
                            time.sleep(0.5)  # the server commits; its answer is lost
                            self.dropped.set()
                            return
                    else:
                        client.sendall(data)
        finally:
            for sock in (client, server):
                with contextlib.suppress(OSError):
                    sock.close()


def _commits(data: bytes) -> bool:
    # A put's statement is sent as text until psycopg prepares it (its fifth
    # run of the same text): a test arms the proxy before that.
    return b"COMMIT" in data or b"WITH moved AS" in data
