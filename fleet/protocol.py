"""The osquery remote API at the boundary: read, size-check, inflate, parse and validate bodies.

Pure functions (no database): everything an agent sends is checked here before any service
writes, so a malformed request is refused whole with a 4xx and a message.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import re
import zlib
from dataclasses import dataclass, field
from typing import Any

from django.utils.translation import gettext as _

from backend.core.safejson import JSONLimitError, loads_limited

from . import conf


class ProtocolError(Exception):
    def __init__(self, message: str, status: int = 400):
        super().__init__(message)
        self.message = message
        self.status = status


def key_hash(value: str) -> str:
    """Secrets and node keys are stored as SHA-256 hex digests (they are long random strings)."""
    return hashlib.sha256(value.encode("utf-8", "surrogatepass")).hexdigest()


def read_json_body(
    request, *, limit: int | None = None, inflated_limit: int | None = None
) -> dict[str, Any]:
    """The request body as a JSON object: size-capped, gunzipped when compressed."""
    limit = limit or conf.get("FLEET_MAX_BODY_BYTES")
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
        raw = _inflate(
            raw,
            gzip=encoding != "deflate" or raw[:2] == b"\x1f\x8b",
            limit=inflated_limit or conf.get("FLEET_MAX_INFLATED_BYTES"),
        )
    elif encoding not in ("", "identity"):
        raise ProtocolError(
            _("Encodage de contenu non pris en charge : %(e)s.") % {"e": encoding[:20]}, 415
        )
    if not raw.strip():
        raise ProtocolError(_("Corps de requête vide : un objet JSON est attendu."))
    # osqueryd copies bytes from the system as they are (a file name, a package description in
    # Latin-1): one undecodable byte must not refuse the whole batch, which osqueryd would re-send
    # until its buffer is full. Such bytes become U+FFFD.
    text = raw.decode("utf-8", errors="replace")
    try:
        body = loads_limited(text)
    except JSONLimitError as exc:
        raise ProtocolError(str(exc)) from exc
    if not isinstance(body, dict):
        raise ProtocolError(_("Le corps doit être un objet JSON."))
    return body


def _inflate(raw: bytes, *, gzip: bool, limit: int) -> bytes:
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

# Values that firmware ships unconfigured and that many machines share: never an identity.
PLACEHOLDER_SERIALS = {
    "",
    "0",
    "none",
    "null",
    "n/a",
    "na",
    "unknown",
    "default string",
    "default_string",
    "to be filled by o.e.m.",
    "to be filled by oem",
    "system serial number",
    "chassis serial number",
    "base board serial number",
    "system product name",
    "not specified",
    "not applicable",
    "not available",
    "oem",
    "0123456789",
    "123456789",
}
# osquery's own list (osquery/core/system.cpp, kPlaceholderHardwareUUIDList) plus the all-0xFF and
# 0xFE patterns some Windows images report. Repeated-digit values are caught by ``usable_id``.
PLACEHOLDER_UUIDS = {
    "00000000-0000-0000-0000-000000000000",
    "03000200-0400-0500-0006-000700080009",
    "03020100-0504-0706-0809-0a0b0c0d0e0f",
    "10000000-0000-8000-0040-000000000000",
    "ffffffff-ffff-ffff-ffff-ffffffffffff",
    "fefefefe-fefe-fefe-fefe-fefefefefefe",
}
_UUID_SHAPE = re.compile(
    r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$"
)

# What Minot keeps of an enroll's host_details: hardware and OS facts only. Host names, computer
# names and anything else osqueryd sends are dropped here, before any service sees them.
HOST_DETAIL_COLUMNS = {
    "system_info": (
        "hardware_serial",
        "uuid",
        "hardware_vendor",
        "hardware_model",
        "cpu_brand",
        "physical_memory",
    ),
    "os_version": ("name", "version", "major", "minor", "patch", "build", "platform"),
    "osquery_info": ("version", "instance_id"),
}


def usable_id(value: str) -> str:
    """``value`` when it can identify one machine; "" for placeholders and shared ids
    (FLEET_IGNORED_HARDWARE_IDS lists ids an operator found shared, e.g. a cloned machine-id)."""
    value = (value or "").strip()
    low = value.lower()
    if low in PLACEHOLDER_SERIALS or low in PLACEHOLDER_UUIDS:
        return ""
    if len(set(low.replace("-", ""))) <= 1:  # 0000…, FFFF…, xxxx…
        return ""
    if low in {str(x).strip().lower() for x in conf.get("FLEET_IGNORED_HARDWARE_IDS")}:
        return ""
    return value


@dataclass
class EnrollRequest:
    secret: str
    platform_type: str
    host_details: dict[str, dict[str, str]]
    host_identifier_hint: str = ""  # host_identifier only when it is a UUID (never a hostname)

    @property
    def serial(self) -> str:
        return usable_id(self.host_details.get("system_info", {}).get("hardware_serial", ""))[:128]

    @property
    def hardware_uuid(self) -> str:
        return usable_id(self.host_details.get("system_info", {}).get("uuid", ""))[:64]

    @property
    def instance_id(self) -> str:
        """osquery's random per-installation id (osquery_info.instance_id): tells two installs
        apart and finds a device again when it has no usable hardware id."""
        found = self.host_details.get("osquery_info", {}).get("instance_id", "")
        return (usable_id(found) or self.host_identifier_hint)[:64]

    @property
    def identity(self) -> str:
        """Serial, else hardware UUID, else "" (the server then assigns a random id)."""
        return (self.serial or self.hardware_uuid)[:128]


def clean(value: Any, size: int) -> str:
    """A string safe for every database: NUL characters removed (PostgreSQL refuses them), lone
    surrogates (a "\\udcff" escape in the JSON) replaced, capped."""
    if isinstance(value, bool):
        return "1" if value else "0"  # --logger_numerics sends JSON booleans and numbers
    text = ("" if value is None else str(value)).replace("\x00", "")[:size]
    if not text.isascii():
        text = text.encode("utf-8", "replace").decode("utf-8")
    return text


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
    host_details = {}
    for table, columns in HOST_DETAIL_COLUMNS.items():
        row = _str_map(details.get(table), f"host_details.{table}")
        host_details[table] = {c: row[c] for c in columns if c in row}
    hint = host_identifier.strip()
    return EnrollRequest(
        secret.strip(),
        platform_type[:8],
        host_details,
        host_identifier_hint=usable_id(hint) if _UUID_SHAPE.match(hint) else "",
    )


# --- log ------------------------------------------------------------------------------------


@dataclass
class ResultRow:
    name: str  # query name without pack prefix
    # snapshot (one line holds the whole result) | snapshot_part (event-form snapshot rows:
    # maybe not all of them) | added | removed
    action: str
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
    return "result", _merge_snapshot_parts(results)


def _result_line(line: Any, now: dt.datetime) -> list[ResultRow]:
    if not isinstance(line, dict):
        raise ProtocolError(_("Chaque ligne de résultat doit être un objet."))
    name = line.get("name")
    if not isinstance(name, str) or not name:
        raise ProtocolError(_("Ligne de résultat sans nom de requête (name)."))
    at = _unix_time(line.get("unixTime"), now)
    decorations = _decorations(line)
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
    if action == "snapshot" and "snapshot" not in line and isinstance(line.get("columns"), dict):
        # --logger_snapshot_event_type: one line per row (osquery/core/query.cpp), so one
        # batch may hold only part of the snapshot.
        return [
            ResultRow(
                name, "snapshot_part", [_str_map(line["columns"], "columns")], at, decorations
            )
        ]
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


# Decorations Minot reads (the serial, for identity conflicts); the others (a hostname, a user
# name) are dropped at the boundary. Nested under "decorations", or top-level keys of the line
# with --decorations_top_level (osquery/core/query.cpp).
DECORATION_KEYS = ("serial_number",)


def _decorations(line: dict[str, Any]) -> dict[str, str]:
    source = line.get("decorations")
    if not isinstance(source, dict):
        source = line
    return {
        key: clean(source[key], 128)
        for key in DECORATION_KEYS
        if isinstance(source.get(key), (str, int, float))
    }


def _merge_snapshot_parts(rows: list[ResultRow]) -> list[ResultRow]:
    """Consecutive event-form snapshot rows of one query run become one partial snapshot."""
    out: list[ResultRow] = []
    for row in rows:
        last = out[-1] if out else None
        if (
            row.action == "snapshot_part"
            and last is not None
            and last.action == "snapshot_part"
            and (last.name, last.at) == (row.name, row.at)
        ):
            last.rows.extend(row.rows)
        else:
            out.append(row)
    return out


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
    if isinstance(message, (dict, list)):
        message = json.dumps(message)[:4000]
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
