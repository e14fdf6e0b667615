"""HTTPS: the server certificate is verified (system CAs or the configured CA bundle)."""

from __future__ import annotations

import http.server
import json
import shutil
import ssl
import subprocess
import threading

import pytest
from minot_agent.transport import Transport, TransportError

pytestmark = pytest.mark.skipif(not shutil.which("openssl"), reason="needs the openssl command")


class Handler(http.server.BaseHTTPRequestHandler):
    def log_message(self, *args):
        pass

    def do_POST(self):
        self.rfile.read(int(self.headers.get("Content-Length", 0)))
        body = json.dumps({"node_key": "tls-node-key"}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


@pytest.fixture
def https_server(tmp_path):
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(
        [
            "openssl",
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-days",
            "1",
            "-subj",
            "/CN=127.0.0.1",
            "-addext",
            "subjectAltName=IP:127.0.0.1",
            "-keyout",
            str(key),
            "-out",
            str(cert),
        ],
        check=True,
        capture_output=True,
    )
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(str(cert), str(key))
    server.socket = context.wrap_socket(server.socket, server_side=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"https://127.0.0.1:{server.server_address[1]}", str(cert)
    server.shutdown()
    server.server_close()


def test_unknown_certificate_is_refused(https_server):
    url, _cert = https_server
    with pytest.raises(
        TransportError, match=r"CERTIFICATE_VERIFY_FAILED|certificate verify failed"
    ):
        Transport(url, timeout=5).post("/enroll", {"enroll_secret": "s"})


def test_ca_bundle_makes_it_trusted(https_server):
    url, cert = https_server
    answer = Transport(url, ca_bundle=cert, timeout=5).post("/enroll", {"enroll_secret": "s"})
    assert answer == {"node_key": "tls-node-key"}
