"""Fixtures for the device agent: deterministic collectors, a real Thrift osquery extension
manager on a unix socket, and settings pointing at a server."""

from __future__ import annotations

import os
import sqlite3
import tempfile
import threading

import pytest
from minot_agent.config import Settings
from minot_agent.native import TABLE_COLUMNS, NativeBackend

FIXTURE_ROWS = {
    "system_info": [
        {
            "hostname": "chariot-a-07",
            "uuid": "4C4C4544-0042-3510-8052-B4C04F4A3732",
            "cpu_type": "x86_64",
            "cpu_brand": "Intel(R) Celeron(R) N4500 @ 1.10GHz",
            "physical_memory": "4294967296",
            "hardware_vendor": "LENOVO",
            "hardware_model": "82VR",
            "hardware_serial": "PF3AGENT1",
            "computer_name": "chariot-a-07",
        }
    ],
    "os_version": [
        {
            "name": "Ubuntu",
            "version": "22.04.4 LTS (Jammy Jellyfish)",
            "major": "22",
            "minor": "4",
            "patch": "0",
            "build": "",
            "platform": "ubuntu",
            "platform_like": "debian",
            "codename": "jammy",
            "arch": "x86_64",
        }
    ],
    "battery": [
        {
            "manufacturer": "SMP",
            "model": "L19M3PF1",
            "serial_number": "1234",
            "cycle_count": "412",
            "designed_capacity": "3948",
            "max_capacity": "3300",
            "current_capacity": "2900",
            "percent_remaining": "87",
            "charging": "1",
            "charged": "0",
            "state": "Charging",
        }
    ],
    "mounts": [
        {
            "device": "/dev/nvme0n1p2",
            "path": "/",
            "type": "ext4",
            "blocks_size": "4096",
            "blocks": "30000000",
            "blocks_free": "12000000",
            "blocks_available": "11000000",
        },
        {
            "device": "/dev/nvme0n1p1",
            "path": "/boot/efi",
            "type": "vfat",
            "blocks_size": "4096",
            "blocks": "130000",
            "blocks_free": "120000",
            "blocks_available": "120000",
        },
    ],
    "deb_packages": [
        {"name": "firefox", "version": "133.0+build1-0ubuntu1", "arch": "amd64"},
        {"name": "libreoffice-writer", "version": "1:7.3.7-0ubuntu0.22.04.5", "arch": "amd64"},
        {"name": "gcompris-qt", "version": "2.3-1", "arch": "amd64"},
    ],
    "interface_details": [
        {"interface": "lo", "mac": "00:00:00:00:00:00", "type": "772"},
        {"interface": "wlp1s0", "mac": "3c:21:9c:aa:bb:cc", "type": "1"},
    ],
    "interface_addresses": [
        {"interface": "lo", "address": "127.0.0.1", "mask": "255.0.0.0"},
        {"interface": "wlp1s0", "address": "10.42.7.23", "mask": "255.255.255.0"},
        {
            "interface": "wlp1s0",
            "address": "fe80::3e21:9cff:feaa:bbcc",
            "mask": "ffff:ffff:ffff:ffff::",
        },
    ],
    "osquery_info": [{"version": "5.12.1", "pid": "4242", "platform_mask": "9"}],
    "platform_info": [{"vendor": "LENOVO", "version": "JYCN39WW", "date": "05/12/2023"}],
}


def fixture_providers(rows=None):
    rows = rows or FIXTURE_ROWS
    providers = {}
    for table in TABLE_COLUMNS:
        providers[table] = lambda t=table: [dict(r) for r in rows.get(t, [])]
    return providers


@pytest.fixture
def fixture_backend():
    return NativeBackend(fixture_providers())


@pytest.fixture
def agent_settings(tmp_path):
    def make(server: str = "https://fleet.invalid", **overrides) -> Settings:
        values = dict(
            server=server,
            enroll_secret="agent-test-secret-0001",
            state_dir=str(tmp_path / "state"),
            insecure_http=server.startswith("http://"),
            host_identifier="specified",
            specified_identifier="chariot-a-07",
            osquery="never",
            request_timeout=3.0,
            min_interval=0.2,
            jitter=0.1,
            backoff_max=1.0,
            config_refresh=60.0,
            distributed_interval=60.0,
            logger_period=60.0,
        )
        values.update(overrides)
        return Settings(**values)

    return make


# -- a real Thrift server speaking osquery's ExtensionManager interface ----------------------


class ExtensionManagerHandler:
    """Answers ``query(sql)`` like osqueryd: SQLite over fixture tables, string values."""

    def __init__(self, rows, missing=()):
        self.rows = {t: r for t, r in rows.items() if t not in missing}
        self.queries = []
        self.registered = []

    def ping(self):
        from osquery.extensions.ttypes import ExtensionStatus

        return ExtensionStatus(code=0, message="pong")

    def call(self, registry, item, request):
        from osquery.extensions.ttypes import ExtensionResponse, ExtensionStatus

        return ExtensionResponse(
            status=ExtensionStatus(code=1, message="not supported"), response=[]
        )

    def shutdown(self):
        return None

    def extensions(self):
        return {}

    def options(self):
        return {}

    def registerExtension(self, info, registry):
        from osquery.extensions.ttypes import ExtensionStatus

        self.registered.append((info, registry))
        return ExtensionStatus(code=0, message="OK", uuid=1)

    def deregisterExtension(self, uuid):
        from osquery.extensions.ttypes import ExtensionStatus

        return ExtensionStatus(code=0, message="OK")

    def getQueryColumns(self, sql):
        from osquery.extensions.ttypes import ExtensionResponse, ExtensionStatus

        return ExtensionResponse(status=ExtensionStatus(code=0, message="OK"), response=[])

    def query(self, sql):
        from osquery.extensions.ttypes import ExtensionResponse, ExtensionStatus

        self.queries.append(sql)
        db = sqlite3.connect(":memory:")
        try:
            for table, rows in self.rows.items():
                columns = TABLE_COLUMNS[table]
                db.execute(f"CREATE TABLE {table} ({', '.join(columns)})")
                db.executemany(
                    f"INSERT INTO {table} VALUES ({', '.join('?' for _ in columns)})",
                    [[r.get(c, "") for c in columns] for r in rows],
                )
            cursor = db.execute(sql)
            names = [d[0] for d in cursor.description]
            result = [
                {n: "" if v is None else str(v) for n, v in zip(names, values)}
                for values in cursor.fetchall()
            ]
        except sqlite3.Error as exc:
            return ExtensionResponse(
                status=ExtensionStatus(code=1, message=f"Error running query: {exc}"), response=[]
            )
        finally:
            db.close()
        return ExtensionResponse(status=ExtensionStatus(code=0, message="OK"), response=result)


class ThriftOsquery:
    def __init__(self, handler, path):
        from osquery.extensions import ExtensionManager
        from thrift.protocol import TBinaryProtocol
        from thrift.server import TServer
        from thrift.transport import TSocket, TTransport

        self.handler = handler
        self.path = path
        self.transport = TSocket.TServerSocket(unix_socket=path)
        self.server = TServer.TThreadedServer(
            ExtensionManager.Processor(handler),
            self.transport,
            TTransport.TBufferedTransportFactory(),
            TBinaryProtocol.TBinaryProtocolFactory(),
            daemon=True,
        )
        self.thread = threading.Thread(target=self._serve, daemon=True)

        self.stopped = False
        self.clients = []

    def _serve(self):
        # TThreadedServer.serve() without its endless retry after the socket is closed.
        while not self.stopped:
            try:
                client = self.transport.accept()
            except Exception:  # noqa: BLE001 - socket closed at teardown
                if self.stopped:
                    return
                continue
            if client:
                self.clients.append(client)
                threading.Thread(target=self.server.handle, args=(client,), daemon=True).start()

    def start(self):
        self.transport.listen()
        self.thread.start()
        return self

    def stop(self):
        """Like osqueryd exiting: the socket and every open connection close."""
        import socket as socket_module

        self.stopped = True
        self.transport.close()
        for client in self.clients:
            handle = getattr(client, "handle", None)
            if handle is not None:
                try:
                    handle.shutdown(socket_module.SHUT_RDWR)
                except OSError:
                    pass
            client.close()


@pytest.fixture
def osquery_server():
    """Start a Thrift ExtensionManager on a unix socket: ``osquery_server(missing=("battery",))``."""
    started = []
    directory = tempfile.mkdtemp(prefix="minot-osq-")

    def start(rows=None, missing=()):
        path = os.path.join(directory, f"osquery-{len(started)}.em")
        server = ThriftOsquery(ExtensionManagerHandler(rows or FIXTURE_ROWS, missing), path).start()
        started.append(server)
        return server

    yield start
    for server in started:
        server.stop()


@pytest.fixture(scope="session")
def _live_server_media_url():
    """backend/settings/base.py has MEDIA_URL = None, which makes Django's live server handler
    fail on every request (urlparse(None) → bytes). Give it a path before the server starts."""
    from django.conf import settings

    if settings.MEDIA_URL is None:
        settings.MEDIA_URL = "/media/"


@pytest.fixture(scope="session")
def live_server(_live_server_media_url, live_server):
    return live_server
