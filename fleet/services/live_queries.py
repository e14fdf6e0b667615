"""Live queries: a technician's osquery SQL, handed to targeted devices via distributed read/write."""

from __future__ import annotations

import datetime as dt
import time

from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _

from backend.core.exceptions import ApplicationError
from backend.core.services import audit_record

from .. import conf
from ..models import Device, LiveQuery, LiveQueryTarget
from ..protocol import DistributedAnswer
from ..sql_policy import PolicyError, live_query_check

RESEND_AFTER = dt.timedelta(minutes=10)


def live_query_create(
    *, sql: str, devices, actor=None, target_label: str = "", minutes: int = 60
) -> LiveQuery:
    sql = (sql or "").strip()
    if not sql:
        raise ApplicationError(_("Saisissez une requête SQL osquery."))
    if len(sql) > 10_000:
        raise ApplicationError(_("La requête est trop longue (10 000 caractères au plus)."))
    try:
        live_query_check(sql)  # minimal data: only allowlisted tables and columns
    except PolicyError as exc:
        raise ApplicationError(str(exc)) from exc
    if not 1 <= minutes <= 7 * 24 * 60:
        raise ApplicationError(_("Durée de validité entre 1 minute et 7 jours."))
    device_ids = list(devices.values_list("pk", flat=True))
    if not device_ids:
        raise ApplicationError(_("Aucun appareil ne correspond à cette cible."))
    with transaction.atomic():
        query = LiveQuery.objects.create(
            sql=sql,
            created_by=actor,
            target_label=target_label[:200],
            expires_at=timezone.now() + dt.timedelta(minutes=minutes),
        )
        LiveQueryTarget.objects.bulk_create(
            [LiveQueryTarget(query=query, device_id=pk) for pk in device_ids]
        )
        audit_record(
            action="fleet.live_query_created",
            actor=actor,
            target=query,
            data={"devices": len(device_ids)},
        )
    _pending_cache["at"] = 0.0
    return query


_pending_cache: dict = {"at": 0.0, "by_device": {}}


def _pending_by_device() -> dict[int, list[tuple[int, str]]]:
    """device id → [(query id, sql)] for unanswered, unexpired queries (refreshed every few seconds)."""
    ttl = conf.get("FLEET_LIVE_QUERY_CACHE_SECONDS")
    now_mono = time.monotonic()
    if now_mono - _pending_cache["at"] < ttl:
        return _pending_cache["by_device"]
    now = timezone.now()
    rows = (
        LiveQueryTarget.objects.filter(query__expires_at__gt=now)
        .filter(
            Q(state=LiveQueryTarget.State.PENDING)
            | Q(state=LiveQueryTarget.State.SENT, sent_at__lt=now - RESEND_AFTER)
        )
        .values_list("device_id", "query_id", "query__sql")
    )
    by_device: dict[int, list[tuple[int, str]]] = {}
    for device_id, query_id, sql in rows:
        by_device.setdefault(device_id, []).append((query_id, sql))
    _pending_cache.update(at=now_mono, by_device=by_device)
    return by_device


def distributed_read(*, device_id: int) -> dict[str, str]:
    pending = _pending_by_device().get(device_id)
    if not pending:
        return {}
    ids = [query_id for query_id, _sql in pending]
    LiveQueryTarget.objects.filter(device_id=device_id, query_id__in=ids).exclude(
        state__in=[LiveQueryTarget.State.DONE, LiveQueryTarget.State.FAILED]
    ).update(state=LiveQueryTarget.State.SENT, sent_at=timezone.now())
    return {f"lq-{query_id}": sql for query_id, sql in pending}


def _first_rows(rows: list[dict], max_rows: int, max_bytes: int) -> list[dict]:
    kept, size = [], 0
    for row in rows[:max_rows]:
        size += sum(len(k) + len(v) + 6 for k, v in row.items())
        if size > max_bytes:
            break
        kept.append(row)
    return kept


def distributed_write(*, device_id: int, answers: list[DistributedAnswer]) -> int:
    if not answers:
        return 0
    now = timezone.now()
    max_rows = conf.get("FLEET_LIVE_QUERY_MAX_ROWS")
    max_bytes = conf.get("FLEET_LIVE_QUERY_MAX_RESULT_BYTES")
    stored = 0
    with transaction.atomic():
        targets = {
            t.query_id: t
            for t in LiveQueryTarget.objects.select_for_update().filter(
                device_id=device_id,
                query_id__in=[a.query_id for a in answers],
                query__expires_at__gt=now,
            )
        }
        for answer in answers:
            target = targets.get(answer.query_id)
            if target is None:
                continue
            target.state = (
                LiveQueryTarget.State.DONE if answer.status == 0 else LiveQueryTarget.State.FAILED
            )
            target.answered_at = now
            target.status_code = answer.status
            rows = _first_rows(answer.rows, max_rows, max_bytes)
            target.message = answer.message
            target.stats = {
                k: v for k, v in list(answer.stats.items())[:8] if isinstance(v, (int, float, str))
            }
            if len(rows) < len(answer.rows):
                # stored, not refused: osqueryd would re-send a refused answer forever
                target.message = _(
                    "Résultat trop volumineux : %(kept)s premières lignes gardées sur %(n)s."
                ) % {"kept": len(rows), "n": len(answer.rows)}
                target.stats["truncated"] = 1
            target.rows = rows
            target.row_count = len(answer.rows)
            target.save(
                update_fields=[
                    "state",
                    "answered_at",
                    "status_code",
                    "message",
                    "rows",
                    "row_count",
                    "stats",
                ]
            )
            stored += 1
    if stored:
        _pending_cache["at"] = 0.0
    return stored


def live_query_devices(*, school=None, cart=None, device_ids=None):
    devices = Device.objects.filter(revoked_at__isnull=True)
    if cart is not None:
        return devices.filter(cart=cart)
    if school is not None:
        return devices.filter(school=school)
    if device_ids:
        return devices.filter(pk__in=device_ids)
    return devices.none()
