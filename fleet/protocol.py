"""The osquery remote API at the boundary: read, size-check, inflate, parse and validate bodies.

Pure functions (no database): everything an agent sends is checked here before any service
writes, so a malformed request is refused whole with a 4xx and a message.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import zlib
from dataclasses import dataclass, field
from typing import Any

from django.utils.translation import gettext as _

from . import conf


class ProtocolError(Exception):
    def __init__(self, message: str, status: int = 400):
        super().__init__(message)
        self.message = message
        self.status = status


def key_hash(value: str) -> str:
    """Secrets and node keys are stored as SHA-256 hex digests (they are long random strings)."""
    return hashlib.sha256(value.encode("utf-8", "surrogatepass")).hexdigest()


def read_json_body(request) -> dict[str, Any]:
    """The request body as a JSON object: size-capped, gunzipped when compressed."""
    limit = conf.get("FLEET_MAX_BODY_BYTES")
    try:
        length = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        length = 0
    if length > limit:
        raise ProtocolError(
            _("Corps de requête trop volumineux (%(n)s octets au plus).") % {"n": limit}, 413
        )
    try:
        raw = request.read(limit + 1)
    except OSError as exc:
        raise ProtocolError(_("Corps de requête illisible.")) from exc
    if len(raw) > limit:
        raise ProtocolError(
            _("Corps de requête trop volumineux (%(n)s octets au plus).") % {"n": limit}, 413
        )
    encoding = (request.META.get("HTTP_CONTENT_ENCODING") or "").strip().lower()
    if encoding in ("gzip", "x-gzip", "deflate") or raw[:2] == b"\x1f\x8b":
        raw = _inflate(raw, gzip=encoding != "deflate" or raw[:2] == b"\x1f\x8b")
    elif encoding not in ("", "identity"):
        raise ProtocolError(
            _("Encodage de contenu non pris en charge : %(e)s.") % {"e": encoding[:20]}, 415
        )
    if not raw.strip():
        raise ProtocolError(_("Corps de requête vide : un objet JSON est attendu."))
    try:
        body = json.loads(raw)
    except (UnicodeDecodeError, ValueError) as exc:
        raise ProtocolError(_("JSON invalide : %(e)s.") % {"e": str(exc)[:120]}) from exc
    if not isinstance(body, dict):
        raise ProtocolError(_("Le corps doit être un objet JSON."))
    return body


def _inflate(raw: bytes, *, gzip: bool) -> bytes:
    limit = conf.get("FLEET_MAX_INFLATED_BYTES")
    decompressor = zlib.decompressobj(wbits=31 if gzip else 15)
    try:
        out = decompressor.decompress(raw, limit + 1)
        if decompressor.unconsumed_tail:
            raise ProtocolError(
                _("Corps décompressé trop volumineux (%(n)s octets au plus).") % {"n": limit}, 413
            )
        out += decompressor.flush()
    except zlib.error as exc:
        raise ProtocolError(
            _("Compression gzip invalide : %(e)s.") % {"e": str(exc)[:120]}
        ) from exc
    if len(out) > limit:
        raise ProtocolError(
            _("Corps décompressé trop volumineux (%(n)s octets au plus).") % {"n": limit}, 413
        )
    if not decompressor.eof:
        raise ProtocolError(_("Compression gzip invalide : flux tronqué."))
    return out


def node_key_from(body: dict[str, Any], request) -> str | None:
    key = body.get("node_key")
    if key is None:
        header = request.META.get("HTTP_AUTHORIZATION", "")
        if header[:8].lower() == "nodekey ":
            key = header[8:].strip()
    if not isinstance(key, str) or not key or len(key) > 256:
        return None
    return key


# --- enroll ---------------------------------------------------------------------------------

PLACEHOLDER_SERIALS = {
    "",
    "0",
    "none",
    "null",
    "n/a",
    "na",
    "unknown",
    "default string",
    "to be filled by o.e.m.",
    "system serial number",
    "not specified",
    "not applicable",
    "0123456789",
    "123456789",
}


@dataclass
class EnrollRequest:
    secret: str
    host_identifier: str
    platform_type: str
    host_details: dict[str, dict[str, str]]

    @property
    def serial(self) -> str:
        serial = self.host_details.get("system_info", {}).get("hardware_serial", "").strip()
        return "" if serial.lower() in PLACEHOLDER_SERIALS else serial

    @property
    def hardware_uuid(self) -> str:
        return self.host_details.get("system_info", {}).get("uuid", "").strip()

    @property
    def identity(self) -> str:
        return (self.serial or self.hardware_uuid or self.host_identifier)[:128]


def clean(value: Any, size: int) -> str:
    """A string safe for every database: NUL characters removed (PostgreSQL refuses them), capped."""
    return ("" if value is None else str(value)).replace("\x00", "")[:size]


def _str_map(value: Any, what: str) -> dict[str, str]:
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise ProtocolError(_("%(w)s doit être un objet.") % {"w": what})
    out = {}
    for key, item in value.items():
        if isinstance(item, (dict, list)):
            raise ProtocolError(
                _("%(w)s : la valeur de %(k)s doit être une chaîne.") % {"w": what, "k": key[:40]}
            )
        out[clean(key, 64)] = clean(item, 512)
    return out


def parse_enroll(body: dict[str, Any]) -> EnrollRequest | None:
    """None when the secret is missing (→ node_invalid). ProtocolError for wrong types."""
    secret = body.get("enroll_secret")
    if not isinstance(secret, str) or not secret.strip() or len(secret) > 512:
        return None
    host_identifier = body.get("host_identifier", "")
    if not isinstance(host_identifier, str):
        raise ProtocolError(_("host_identifier doit être une chaîne."))
    platform_type = body.get("platform_type", "")
    if isinstance(platform_type, int) and not isinstance(platform_type, bool):
        platform_type = str(platform_type)
    if not isinstance(platform_type, str):
        raise ProtocolError(_("platform_type doit être une chaîne."))
    details = body.get("host_details") or {}
    if not isinstance(details, dict):
        raise ProtocolError(_("host_details doit être un objet."))
    host_details = {
        str(k)[:64]: _str_map(v, f"host_details.{str(k)[:40]}") for k, v in details.items()
    }
    request = EnrollRequest(
        secret.strip(), host_identifier.strip()[:255], platform_type[:8], host_details
    )
    if not request.identity:
        raise ProtocolError(
            _("Identité de l'appareil introuvable : host_identifier ou system_info attendu.")
        )
    return request


# --- log ------------------------------------------------------------------------------------


@dataclass
class ResultRow:
    name: str  # query name without pack prefix
    action: str  # snapshot | added | removed
    rows: list[dict[str, str]]
    at: dt.datetime
    decorations: dict[str, str] = field(default_factory=dict)


@dataclass
class StatusLine:
    at: dt.datetime
    severity: int
    filename: str
    line: int | None
    message: str
    version: str


def _unix_time(value: Any, now: dt.datetime) -> dt.datetime:
    if value is None or value == "":
        return now
    if isinstance(value, bool):
        raise ProtocolError(_("unixTime doit être un nombre."))
    try:
        seconds = float(value)
    except (TypeError, ValueError, OverflowError) as exc:
        raise ProtocolError(_("unixTime doit être un nombre ou une chaîne numérique.")) from exc
    if not (0 <= seconds < 4102444800):  # before 2100
        raise ProtocolError(_("unixTime hors limites."))
    return dt.datetime.fromtimestamp(seconds, tz=dt.UTC)


def _rows(value: Any, what: str) -> list[dict[str, str]]:
    if value in (None, ""):
        return []
    if isinstance(value, dict):
        return [_str_map(value, what)]
    if not isinstance(value, list):
        raise ProtocolError(_("%(w)s doit être une liste de lignes.") % {"w": what})
    return [_str_map(row, what) for row in value]


def query_name(name: str) -> str:
    """`pack/<pack>/<query>` → `<query>`."""
    if name.startswith("pack/"):
        return name.rsplit("/", 1)[-1]
    return name


def parse_log(body: dict[str, Any], now: dt.datetime) -> tuple[str, list]:
    log_type = body.get("log_type")
    data = body.get("data")
    if log_type not in ("result", "status"):
        raise ProtocolError(_("log_type inconnu : « result » ou « status » attendu."))
    if data is None:
        data = []
    if isinstance(data, str):
        # Some clients send the lines as one JSON string.
        try:
            data = json.loads(data) if data.strip() else []
        except ValueError as exc:
            raise ProtocolError(_("data n'est pas du JSON valide.")) from exc
    if not isinstance(data, list):
        raise ProtocolError(_("data doit être une liste."))
    if len(data) > conf.get("FLEET_MAX_LOG_LINES"):
        raise ProtocolError(_("Trop de lignes dans un envoi."), 413)
    if log_type == "status":
        return "status", [_status_line(line, now) for line in data]
    results: list[ResultRow] = []
    for line in data:
        results.extend(_result_line(line, now))
    return "result", results


def _result_line(line: Any, now: dt.datetime) -> list[ResultRow]:
    if not isinstance(line, dict):
        raise ProtocolError(_("Chaque ligne de résultat doit être un objet."))
    name = line.get("name")
    if not isinstance(name, str) or not name:
        raise ProtocolError(_("Ligne de résultat sans nom de requête (name)."))
    at = _unix_time(line.get("unixTime"), now)
    decorations = _str_map(line.get("decorations"), "decorations")
    name = clean(query_name(name), 128)
    if "diffResults" in line:
        diff = line["diffResults"]
        if not isinstance(diff, dict):
            raise ProtocolError(_("diffResults doit être un objet."))
        out = []
        removed = _rows(diff.get("removed"), "diffResults.removed")
        added = _rows(diff.get("added"), "diffResults.added")
        if removed:
            out.append(ResultRow(name, "removed", removed, at, decorations))
        if added:
            out.append(ResultRow(name, "added", added, at, decorations))
        return out
    action = line.get("action")
    if action == "snapshot":
        return [
            ResultRow(name, "snapshot", _rows(line.get("snapshot"), "snapshot"), at, decorations)
        ]
    if action in ("added", "removed"):
        columns = line.get("columns")
        if not isinstance(columns, dict):
            raise ProtocolError(_("columns doit être un objet."))
        return [ResultRow(name, action, [_str_map(columns, "columns")], at, decorations)]
    raise ProtocolError(_("Ligne de résultat sans action, snapshot ni diffResults."))


def _status_line(line: Any, now: dt.datetime) -> StatusLine:
    if not isinstance(line, dict):
        raise ProtocolError(_("Chaque ligne de statut doit être un objet."))
    try:
        severity = int(line.get("severity", 0) or 0)
        number = line.get("line")
        number = int(number) if number not in (None, "") else None
    except (TypeError, ValueError, OverflowError) as exc:
        raise ProtocolError(_("severity et line doivent être des nombres.")) from exc
    message = line.get("message", "")
    if not isinstance(message, str):
        raise ProtocolError(_("message doit être une chaîne."))
    return StatusLine(
        at=_unix_time(line.get("unixTime"), now),
        severity=max(0, min(severity, 9)),
        filename=clean(line.get("filename", ""), 128),
        line=number if number is None or abs(number) < 2**31 else None,
        message=clean(message, 4000),
        version=clean(line.get("version", ""), 32),
    )


# --- distributed write ------------------------------------------------------------------------


@dataclass
class DistributedAnswer:
    query_id: int
    rows: list[dict[str, str]]
    status: int
    message: str
    stats: dict[str, Any]


def live_query_id(external: str) -> int | None:
    if isinstance(external, str) and external.startswith("lq-") and external[3:].isdigit():
        return int(external[3:])
    return None


def parse_distributed_write(body: dict[str, Any]) -> list[DistributedAnswer]:
    parts = {}
    for key in ("queries", "statuses", "messages", "stats"):
        value = body.get(key) or {}
        if not isinstance(value, dict):
            raise ProtocolError(_("%(k)s doit être un objet.") % {"k": key})
        parts[key] = value
    answers = []
    for external in set(parts["queries"]) | set(parts["statuses"]):
        rows = _rows(parts["queries"].get(external), f"queries.{str(external)[:20]}")
        status = parts["statuses"].get(external, 0)
        try:
            status = int(status)
        except (TypeError, ValueError, OverflowError) as exc:
            raise ProtocolError(_("statuses : un code numérique est attendu.")) from exc
        message = parts["messages"].get(external, "")
        stats = parts["stats"].get(external) or {}
        if not isinstance(stats, dict):
            raise ProtocolError(_("stats : un objet est attendu."))
        query_id = live_query_id(external)
        if query_id is None:
            continue
        if not -(2**31) < status < 2**31:
            raise ProtocolError(_("statuses : code hors limites."))
        stats = {
            clean(k, 32): v
            for k, v in stats.items()
            if isinstance(v, (int, float)) and abs(v) < 2**53
        }
        answers.append(DistributedAnswer(query_id, rows, status, clean(message or "", 2000), stats))
    return answers
