"""Enroll secrets (one per school, hashed, rotatable, revocable) and device enrollment."""

from __future__ import annotations

from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.crypto import get_random_string
from django.utils.translation import gettext as _

from backend.core.exceptions import ApplicationError
from backend.core.models import ActorKind
from backend.core.services import audit_record
from family.models import School

from ..models import Device, DeviceAssignment, DeviceRole, EnrollSecret
from ..protocol import EnrollRequest, key_hash
from .inventory import host_details_fields
from .nodes import node_forget

SECRET_LENGTH = 40
NODE_KEY_LENGTH = 48


def enroll_secret_rotate(*, school: School, actor=None, secret: str | None = None) -> str:
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


def enroll_secret_revoke(*, school: School, actor=None) -> int:
    with transaction.atomic():
        count = EnrollSecret.objects.filter(school=school, revoked_at__isnull=True).update(
            revoked_at=timezone.now()
        )
        if count:
            audit_record(action="fleet.enroll_secret_revoked", actor=actor, target=school)
    return count


def device_enroll(*, request: EnrollRequest) -> str | None:
    """Enroll (or re-enroll) a device with its school's secret. Returns a new node key, or None."""
    secret = (
        EnrollSecret.objects.select_related("school")
        .filter(secret_hash=key_hash(request.secret), revoked_at__isnull=True)
        .first()
    )
    if secret is None:
        return None
    node_key = get_random_string(NODE_KEY_LENGTH)
    now = timezone.now()
    fields = host_details_fields(request.host_details)
    with transaction.atomic():
        device = Device.objects.select_for_update().filter(identity=request.identity).first()
        if device is not None and device.revoked_at is not None:
            return None
        created = device is None
        if created:
            try:
                with transaction.atomic():
                    device = Device.objects.create(identity=request.identity, school=secret.school)
            except IntegrityError:  # enrolled concurrently by another request
                device = Device.objects.select_for_update().get(identity=request.identity)
                created = False
        assert device is not None  # noqa: S101 - narrowed for the type checker
        old_hash = device.node_key_hash
        moved = device.school_id != secret.school_id
        device.node_key_hash = key_hash(node_key)
        device.enrolled_at = now
        device.enroll_secret = secret
        device.serial = request.serial[:128]
        device.hardware_uuid = request.hardware_uuid[:64]
        device.host_identifier = request.host_identifier
        device.platform_type = request.platform_type
        for name, value in fields.items():
            setattr(device, name, value)
        if moved:
            device.school = secret.school
            device.cart = None
            device.slot = None
            if device.role == DeviceRole.LOAN:
                device.role = DeviceRole.REGULAR
                device.loaned_from = None
        device.save()
        if created or moved:
            DeviceAssignment.objects.filter(device=device, ended_at__isnull=True).update(
                ended_at=now
            )
            DeviceAssignment.objects.create(
                device=device,
                kind=DeviceAssignment.Kind.ENROLL,
                school=secret.school,
                role=device.role,
                started_at=now,
            )
        audit_record(
            action="fleet.device_enrolled",
            actor_kind=ActorKind.DEVICE,
            actor_label=device.identity,
            target=device,
            data={"school": secret.school.code, "reenroll": not created},
        )
    node_forget(old_hash)
    return node_key


def device_revoke_key(*, device: Device, actor=None, block: bool = False) -> None:
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


def device_unblock(*, device: Device, actor=None) -> None:
    with transaction.atomic():
        device.revoked_at = None
        device.save(update_fields=["revoked_at", "updated_at"])
        audit_record(action="fleet.device_unblocked", actor=actor, target=device)
