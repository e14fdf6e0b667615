"""HTTP(S) transport for the osquery remote API: JSON POSTs, gzip, TLS verification."""

from __future__ import annotations

import gzip
import http.client
import json
import logging
import ssl
import time
from typing import Any
from urllib.parse import urlsplit

from . import __version__

logger = logging.getLogger("minot_agent.transport")

MAX_RESPONSE_BYTES = 16 * 1024 * 1024


class TransportError(Exception):
    """The request did not get a usable answer (network, HTTP error, not JSON, ``error``)."""


class NodeInvalid(TransportError):
    """The server no longer knows our node key: re-enroll."""


class Transport:
    def __init__(
        self,
        server: str,
        *,
        api_prefix: str = "/api/osquery",
        ca_bundle: str = "",
        timeout: float = 30.0,
        insecure_http: bool = False,
    ):
        self.base = server.rstrip("/") + "/" + api_prefix.strip("/")
        self.timeout = timeout
        if self.base.startswith("http://") and not insecure_http:
            raise ValueError("plain http needs insecure_http")
        parts = urlsplit(self.base)
        self._https = parts.scheme == "https"
        self._host = parts.hostname or ""
        self._port = parts.port
        self._path = parts.path.rstrip("/")
        self._context = None
        if self._https:
            # Certificate and host name verified against the system CAs or the given bundle.
            self._context = ssl.create_default_context(cafile=ca_bundle or None)
            self._context.minimum_version = ssl.TLSVersion.TLSv1_2
        self.bytes_sent = 0

    def post(
        self,
        endpoint: str,
        body: dict[str, Any],
        *,
        node_key: str | None = None,
        compress: bool = False,
    ) -> dict[str, Any]:
        """POST ``body`` as JSON; returns the answer's JSON object or raises."""
        data = json.dumps(body, separators=(",", ":"), ensure_ascii=False).encode("utf-8")
        headers = {
            "Content-Type": "application/json",
            "Accept": "application/json",
            "Accept-Encoding": "gzip",
            "User-Agent": f"osquery/5.12.1 minot-agent/{__version__}",
        }
        if compress:
            data = gzip.compress(data, compresslevel=6)
            headers["Content-Encoding"] = "gzip"
        if node_key:
            headers["Authorization"] = f"NodeKey {node_key}"
        self.bytes_sent += len(data)
        started = time.monotonic()
        if self._https:
            connection: http.client.HTTPConnection = http.client.HTTPSConnection(
                self._host, self._port, timeout=self.timeout, context=self._context
            )
        else:
            connection = http.client.HTTPConnection(self._host, self._port, timeout=self.timeout)
        try:
            # Redirects are not followed: a POST must not turn into a GET on another host.
            connection.request("POST", self._path + endpoint, body=data, headers=headers)
            response = connection.getresponse()
            status = response.status
            encoding = response.getheader("Content-Encoding", "") or ""
            raw = self._read(response, started)
        except TransportError as exc:
            raise TransportError(f"{endpoint}: {exc}")
        except Exception as exc:  # noqa: BLE001 - OSError, SSL, http.client oddities on bad servers
            raise TransportError(f"{endpoint}: {type(exc).__name__}: {exc}")
        finally:
            connection.close()
        try:
            if "gzip" in encoding.lower():
                raw = gzip.decompress(raw)
            answer = json.loads(raw.decode("utf-8"))
        except (OSError, EOFError, ValueError, UnicodeDecodeError):
            raise TransportError(f"{endpoint}: HTTP {status}, answer is not JSON ({raw[:60]!r})")
        if not isinstance(answer, dict):
            raise TransportError(f"{endpoint}: HTTP {status}, answer is not a JSON object")
        if answer.get("node_invalid") is True:
            raise NodeInvalid(f"{endpoint}: node_invalid")
        if answer.get("error"):
            raise TransportError(f"{endpoint}: HTTP {status}, error: {answer.get('error')}")
        if not 200 <= status < 300:
            raise TransportError(f"{endpoint}: HTTP {status}")
        return answer

    def _read(self, response, started: float) -> bytes:
        chunks = []
        total = 0
        while True:
            if time.monotonic() - started > self.timeout * 2:
                raise TransportError("answer too slow")
            chunk = response.read(65536)
            if not chunk:
                break
            total += len(chunk)
            if total > MAX_RESPONSE_BYTES:
                raise TransportError("answer too large")
            chunks.append(chunk)
        return b"".join(chunks)
