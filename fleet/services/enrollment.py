"""Enroll secrets (one per school, hashed, rotatable, revocable) and device enrollment."""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING

from django.db import IntegrityError, transaction
from django.db.models import F, QuerySet
from django.utils import timezone
from django.utils.crypto import get_random_string
from django.utils.translation import gettext as _

from backend.core.exceptions import ApplicationError
from backend.core.models import ActorKind
from backend.core.services import audit_record
from family.models import School

from .. import conf
from ..models import (
    Alert,
    AlertKind,
    Device,
    DeviceAssignment,
    DeviceRole,
    EnrollSecret,
    IdentityRequest,
)
from ..protocol import EnrollRequest, key_hash
from .inventory import host_details_fields
from .nodes import node_forget

if TYPE_CHECKING:
    from backend.accounts.models import User

SECRET_LENGTH = 40
NODE_KEY_LENGTH = 48


def enroll_secret_rotate(
    *, school: School, actor: User | None = None, secret: str | None = None
) -> str:
    """Revoke the school's active secret (if any) and create a new one. Returns the clear secret once."""
    secret = secret or get_random_string(SECRET_LENGTH)
    if len(secret) < 12:
        raise ApplicationError(_("Un secret d'inscription compte au moins 12 caractères."))
    with transaction.atomic():
        now = timezone.now()
        EnrollSecret.objects.select_for_update().filter(
            school=school, revoked_at__isnull=True
        ).update(revoked_at=now)
        try:
            with transaction.atomic():
                record = EnrollSecret.objects.create(
                    school=school, secret_hash=key_hash(secret), hint=secret[:4], created_by=actor
                )
        except IntegrityError as exc:
            raise ApplicationError(_("Ce secret est déjà utilisé.")) from exc
        audit_record(
            action="fleet.enroll_secret_rotated",
            actor=actor,
            target=record,
            data={"school": school.code},
        )
    return secret


def enroll_secret_revoke(*, school: School, actor: User | None = None) -> int:
    with transaction.atomic():
        count = EnrollSecret.objects.filter(school=school, revoked_at__isnull=True).update(
            revoked_at=timezone.now()
        )
        if count:
            audit_record(action="fleet.enroll_secret_revoked", actor=actor, target=school)
    return count


def _active(device: Device, now: dt.datetime) -> bool:
    """The device holds a key it used (or got) within the online window."""
    seen = max((t for t in (device.last_seen_at, device.enrolled_at) if t), default=None)
    window = dt.timedelta(seconds=conf.get("FLEET_ONLINE_WINDOW_SECONDS"))
    return bool(device.node_key_hash and seen and now - seen <= window)


def _random_identity() -> str:
    return "minot-" + get_random_string(20, "abcdefghijklmnopqrstuvwxyz0123456789")


def _alert(device: Device, kind: str, message: str) -> None:
    Alert.objects.bulk_create(
        [Alert(device=device, kind=kind, message=message[:300])], ignore_conflicts=True
    )


def _identity_request(
    device: Device, secret: EnrollSecret, request: EnrollRequest, now: dt.datetime
) -> None:
    """A known device presents another school's secret: ask a technician, move nothing."""
    found = IdentityRequest.objects.filter(device=device, school=secret.school).exclude(
        state=IdentityRequest.State.APPROVED
    )
    if found.filter(state=IdentityRequest.State.REJECTED).exists():
        return
    updated = found.filter(state=IdentityRequest.State.PENDING).update(
        attempts=F("attempts") + 1, last_attempt_at=now
    )
    if updated:
        return
    record = IdentityRequest.objects.create(
        device=device, school=secret.school, instance_id=request.instance_id, last_attempt_at=now
    )
    _alert(
        device,
        AlertKind.IDENTITY_REQUEST,
        f"enroll request for {secret.school.code} (device at {device.school.code if device.school else '-'})",
    )
    audit_record(
        action="fleet.identity_request_opened",
        actor_kind=ActorKind.DEVICE,
        actor_label=device.identity,
        target=record,
        data={"school": secret.school.code, "from": device.school.code if device.school else ""},
    )


def _active_secret(request: EnrollRequest) -> EnrollSecret | None:
    return (
        EnrollSecret.objects.select_related("school")
        .filter(secret_hash=key_hash(request.secret), revoked_at__isnull=True)
        .first()
    )


def _own_record(request: EnrollRequest, school: School) -> QuerySet[Device]:
    """A device without hardware id: its record, found by instance id in its own school."""
    return Device.objects.select_for_update(of=("self",)).filter(
        instance_id=request.instance_id, school=school, identity__startswith="minot-"
    )


def _known_device(request: EnrollRequest, school: School) -> Device | None:
    """The device presenting this identity (or, without one, this instance id), row locked."""
    if request.identity:
        found = Device.objects.select_for_update(of=("self",)).filter(identity=request.identity)
    elif request.instance_id:
        found = _own_record(request, school)
    else:
        found = Device.objects.none()
    return found.select_related("school").first()


def _is_clone(device: Device, request: EnrollRequest, now: dt.datetime) -> bool:
    """Another installation presents the hardware id of a device that is active."""
    return bool(
        request.instance_id
        and device.instance_id
        and request.instance_id != device.instance_id
        and _active(device, now)
    )


def _in_cooldown(device: Device, now: dt.datetime) -> bool:
    """A device holding a key re-enrolls at most once per cooldown (a revoked key re-enrolls at
    once)."""
    if not (device.enrolled_at and device.node_key_hash):
        return False
    cooldown = dt.timedelta(seconds=conf.get("FLEET_ENROLL_COOLDOWN_SECONDS"))
    return now - device.enrolled_at < cooldown


def _new_device(request: EnrollRequest, school: School, clone_of: Device | None) -> Device | None:
    """A new record (a clone never takes the hardware id); None if enrolled concurrently."""
    identity = request.identity if clone_of is None and request.identity else ""
    try:
        with transaction.atomic():
            return Device.objects.create(identity=identity or _random_identity(), school=school)
    except IntegrityError:  # enrolled concurrently by another request
        return None


def _store_enrollment(
    device: Device,
    request: EnrollRequest,
    secret: EnrollSecret,
    node_key: str,
    now: dt.datetime,
) -> None:
    device.node_key_hash = key_hash(node_key)
    device.enrolled_at = now
    device.enroll_secret = secret
    device.serial = request.serial
    device.hardware_uuid = request.hardware_uuid
    device.instance_id = request.instance_id
    device.platform_type = request.platform_type
    for name, value in host_details_fields(request.host_details).items():
        setattr(device, name, value)
    device.school = secret.school
    device.save()


def _open_enroll_assignment(device: Device, school: School, now: dt.datetime) -> None:
    DeviceAssignment.objects.filter(device=device, ended_at__isnull=True).update(ended_at=now)
    DeviceAssignment.objects.create(
        device=device,
        kind=DeviceAssignment.Kind.ENROLL,
        school=school,
        role=device.role,
        started_at=now,
    )


def _enroll_locked(
    request: EnrollRequest, secret: EnrollSecret, node_key: str, now: dt.datetime
) -> tuple[Device, str | None] | None:
    """The enrollment itself, inside the transaction: (device, its previous key hash), or None
    when the device may not enroll now."""
    clone_of: Device | None = None
    device = _known_device(request, secret.school)
    if device is not None and device.revoked_at is not None:
        return None
    if device is not None and device.school_id not in (None, secret.school_id):
        _identity_request(device, secret, request, now)
        return None
    if device is not None and _is_clone(device, request, now):
        clone_of = device
        device = _own_record(request, secret.school).first()  # the clone's own, if it enrolled
    if device is not None and _in_cooldown(device, now):
        return None
    created = device is None
    if device is None:
        device = _new_device(request, secret.school, clone_of)
        if device is None:
            return None
    old_hash = device.node_key_hash
    unassigned = device.school_id is None
    _store_enrollment(device, request, secret, node_key, now)
    if created or unassigned:
        _open_enroll_assignment(device, secret.school, now)
    if clone_of is not None and created:
        message = f"hardware id {clone_of.identity} also used by {device.identity}"
        _alert(clone_of, AlertKind.DUPLICATE_HARDWARE_ID, message)
        _alert(device, AlertKind.DUPLICATE_HARDWARE_ID, message)
    audit_record(
        action="fleet.device_enrolled",
        actor_kind=ActorKind.DEVICE,
        actor_label=device.identity,
        target=device,
        data={
            "school": secret.school.code,
            "reenroll": not created,
            "clone_of": clone_of.identity if clone_of else "",
        },
    )
    return device, old_hash


def device_enroll(*, request: EnrollRequest) -> str | None:
    """Enroll (or re-enroll) a device with its school's secret. Returns a new node key, or None.

    Identity rules (docs/fleet.md, "Device identity"):
    - identity = usable serial, else usable hardware UUID, else a random server id; a device
      without hardware id is found again by its osquery instance id, in its own school only;
    - a known device presenting another school's secret is never moved or re-keyed: an identity
      request waits for a technician (``identity_request_decide``);
    - while a device is active, another installation (a different instance id) presenting the
      same hardware id is a clone: it gets its own record and a "duplicate hardware id" alert;
    - a device re-enrolls at most once per FLEET_ENROLL_COOLDOWN_SECONDS.
    """
    secret = _active_secret(request)
    if secret is None:
        return None
    node_key = get_random_string(NODE_KEY_LENGTH)
    now = timezone.now()
    with transaction.atomic():
        enrolled = _enroll_locked(request, secret, node_key, now)
    if enrolled is None:
        return None
    node_forget(enrolled[1])
    return node_key


def identity_request_decide(
    *, request: IdentityRequest, approve: bool, actor: User
) -> IdentityRequest:
    """A technician's answer. Approve: the device moves to the requested school (cart and slot
    cleared, key revoked, so the device's next enroll with that school's secret succeeds).
    Reject: the device stays where it is with its key; further requests are ignored."""
    with transaction.atomic():
        record = (
            IdentityRequest.objects.select_for_update(of=("self",))
            .select_related("device", "school")
            .filter(pk=request.pk, state=IdentityRequest.State.PENDING)
            .first()
        )
        if record is None:
            raise ApplicationError(_("Cette demande a déjà été traitée."))
        now = timezone.now()
        record.state = IdentityRequest.State.APPROVED if approve else IdentityRequest.State.REJECTED
        record.decided_at, record.decided_by = now, actor
        record.save(update_fields=["state", "decided_at", "decided_by"])
        device = Device.objects.select_for_update().get(pk=record.device_id)
        old_hash = device.node_key_hash if approve else None
        if approve:
            device.school = record.school
            device.cart, device.slot = None, None
            device.node_key_hash = None  # the device's next enroll with that school succeeds
            if device.role == DeviceRole.LOAN:
                device.role, device.loaned_from = DeviceRole.REGULAR, None
            device.save()
            DeviceAssignment.objects.filter(device=device, ended_at__isnull=True).update(
                ended_at=now
            )
            DeviceAssignment.objects.create(
                device=device,
                kind=DeviceAssignment.Kind.ENROLL,
                school=record.school,
                role=device.role,
                started_at=now,
                actor=actor,
            )
        if not IdentityRequest.objects.filter(
            device=device, state=IdentityRequest.State.PENDING
        ).exists():
            Alert.objects.filter(
                device=device, kind=AlertKind.IDENTITY_REQUEST, state__in=["open", "acknowledged"]
            ).update(state=Alert.State.RESOLVED, resolved_at=now)
        audit_record(
            action="fleet.identity_request_approved"
            if approve
            else "fleet.identity_request_rejected",
            actor=actor,
            target=record,
            data={"school": record.school.code, "device": device.identity},
        )
    node_forget(old_hash)
    return record


def device_revoke_key(*, device: Device, actor: User | None = None, block: bool = False) -> None:
    """Invalidate the device's node key (it must re-enroll); ``block`` also refuses re-enrollment."""
    with transaction.atomic():
        old_hash = device.node_key_hash
        device.node_key_hash = None
        if block:
            device.revoked_at = timezone.now()
        device.save(update_fields=["node_key_hash", "revoked_at", "updated_at"])
        audit_record(
            action="fleet.device_key_revoked", actor=actor, target=device, data={"blocked": block}
        )
    node_forget(old_hash)


def device_unblock(*, device: Device, actor: User | None = None) -> Device:
    """Lift a block (``device_revoke_key(block=True)``): the device may enroll again with its
    school's secret (its key stays revoked, so it enrolls afresh)."""
    with transaction.atomic():
        locked = Device.objects.select_for_update().get(pk=device.pk)
        if locked.revoked_at is None:
            raise ApplicationError(_("Cet appareil n'est pas bloqué."))
        locked.revoked_at = None
        locked.save(update_fields=["revoked_at", "updated_at"])
        audit_record(action="fleet.device_unblocked", actor=actor, target=locked)
    device.revoked_at = None
    return locked
