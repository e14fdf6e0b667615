"""A small TCP proxy that injects faults between the application and a server it depends on
(PostgreSQL, Redis, SMTP, the Stripe stand-in).

    proxy = FaultProxy("127.0.0.1", 5432).start()   # listens on a free port: proxy.port
    proxy.cut()      # drop every connection (RST) and reset new ones: the server is "down"
    proxy.hang()     # accept, but forward nothing: the server is unreachable (timeouts)
    proxy.delay(0.5) # add latency to every chunk
    proxy.reset()    # reset the connections open now, accept new ones
    proxy.restore()  # back to normal
"""

from __future__ import annotations

import select
import socket
import struct
import threading
import time


def _rst(sock: socket.socket) -> None:
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        sock.close()
    except OSError:
        pass


class FaultProxy:
    def __init__(self, target_host: str, target_port: int):
        self.target = (target_host, target_port)
        self.mode = "up"
        self.latency = 0.0
        self.connections: set[tuple[socket.socket, socket.socket]] = set()
        self.lock = threading.Lock()
        self.listener = socket.socket()
        self.listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.listener.bind(("127.0.0.1", 0))
        self.listener.listen(128)
        self.port = self.listener.getsockname()[1]
        self.stopped = threading.Event()

    # --- faults ---------------------------------------------------------------------------
    def cut(self) -> None:
        self.mode = "cut"
        self._drop_all()

    def hang(self) -> None:
        self.mode = "hang"

    def delay(self, seconds: float) -> None:
        self.latency = seconds

    def reset(self) -> None:
        self._drop_all()

    def restore(self) -> None:
        self.mode, self.latency = "up", 0.0

    # --- machinery ----------------------------------------------------------------------
    def start(self) -> FaultProxy:
        threading.Thread(target=self._accept, daemon=True).start()
        return self

    def stop(self) -> None:
        self.stopped.set()
        self._drop_all()
        self.listener.close()

    def __enter__(self) -> FaultProxy:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    def _drop_all(self) -> None:
        with self.lock:
            pairs, self.connections = list(self.connections), set()
        for client, upstream in pairs:
            _rst(client)
            _rst(upstream)

    def _accept(self) -> None:
        while not self.stopped.is_set():
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            if self.mode == "cut":
                _rst(client)
                continue
            threading.Thread(target=self._serve, args=(client,), daemon=True).start()

    def _serve(self, client: socket.socket) -> None:
        try:
            upstream = socket.create_connection(self.target, timeout=5)
        except OSError:
            _rst(client)
            return
        pair = (client, upstream)
        with self.lock:
            self.connections.add(pair)
        try:
            self._pump(client, upstream)
        finally:
            with self.lock:
                self.connections.discard(pair)
            for sock in pair:
                try:
                    sock.close()
                except OSError:
                    pass

    def _pump(self, client: socket.socket, upstream: socket.socket) -> None:
        peers = {client: upstream, upstream: client}
        while not self.stopped.is_set():
            try:
                readable, _, _ = select.select(list(peers), [], [], 0.2)
            except (OSError, ValueError):
                return
            if self.mode == "hang":
                time.sleep(0.2)
                continue
            for sock in readable:
                try:
                    data = sock.recv(65536)
                except OSError:
                    return
                if not data:
                    return
                if self.latency:
                    time.sleep(self.latency)
                try:
                    peers[sock].sendall(data)
                except OSError:
                    return
