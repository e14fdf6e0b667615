"""School → cart → slot placement, with a dated history of moves, swaps, loans and spares."""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from backend.core.exceptions import ApplicationError
from backend.core.services import audit_record
from family.models import School

from ..models import Cart, Device, DeviceAssignment, DeviceRole

if TYPE_CHECKING:
    import datetime as dt

    from backend.accounts.models import User

Kind = DeviceAssignment.Kind


def cart_create(
    *, school: School, name: str, slot_count: int = 16, actor: User | None = None
) -> Cart:
    name = (name or "").strip()
    if not name:
        raise ApplicationError(_("Donnez un nom au chariot."))
    if not 1 <= slot_count <= 64:
        raise ApplicationError(_("Un chariot compte entre 1 et 64 emplacements."))
    try:
        with transaction.atomic():
            cart = Cart.objects.create(school=school, name=name[:100], slot_count=slot_count)
            audit_record(action="fleet.cart_created", actor=actor, target=cart)
    except IntegrityError as exc:
        raise ApplicationError(_("Cette école a déjà un chariot de ce nom.")) from exc
    return cart


def _record(device: Device, kind: str, actor: User, note: str, now: dt.datetime) -> None:
    DeviceAssignment.objects.filter(device=device, ended_at__isnull=True).update(ended_at=now)
    DeviceAssignment.objects.create(
        device=device,
        kind=kind,
        school=device.school,
        cart=device.cart,
        slot=device.slot,
        role=device.role,
        started_at=now,
        actor=actor,
        note=note[:300],
    )
    audit_record(
        action=f"fleet.device_{kind}",
        actor=actor,
        target=device,
        data={
            "school": device.school_id,
            "cart": device.cart_id,
            "slot": device.slot,
            "role": device.role,
        },
    )


def _check_slot(cart: Cart | None, slot: int | None) -> None:
    if slot is not None and cart is None:
        raise ApplicationError(_("Un emplacement se choisit dans un chariot."))
    if cart is not None and slot is not None and not 1 <= slot <= cart.slot_count:
        raise ApplicationError(
            _("Emplacement hors du chariot (1 à %(n)s).") % {"n": cart.slot_count}
        )


def device_move(
    *,
    device: Device,
    actor: User,
    cart: Cart | None = None,
    slot: int | None = None,
    school: School | None = None,
    note: str = "",
) -> Device:
    """Place a device in a cart slot (or loose in a school)."""
    school = cart.school if cart is not None else (school or device.school)
    _check_slot(cart, slot)
    now = timezone.now()
    try:
        with transaction.atomic():
            device = Device.objects.select_for_update().get(pk=device.pk)
            device.school, device.cart, device.slot = school, cart, slot
            if device.role == DeviceRole.SPARE and cart is not None and slot is not None:
                device.role = DeviceRole.REGULAR
            device.save(update_fields=["school", "cart", "slot", "role", "updated_at"])
            _record(device, Kind.MOVE, actor, note, now)
    except IntegrityError as exc:
        raise ApplicationError(
            _("Cet emplacement est déjà occupé : échangez plutôt les deux appareils.")
        ) from exc
    return device


def device_swap(*, device: Device, other: Device, actor: User, note: str = "") -> None:
    """Exchange the places of two devices (e.g. a spare replaces a broken tablet)."""
    if device.pk == other.pk:
        raise ApplicationError(_("Choisissez deux appareils différents."))
    now = timezone.now()
    with transaction.atomic():
        a, b = (
            Device.objects.select_for_update().get(pk=pk) for pk in sorted([device.pk, other.pk])
        )
        places = {x.pk: (x.school_id, x.cart_id, x.slot, x.role) for x in (a, b)}
        Device.objects.filter(pk__in=[a.pk, b.pk]).update(slot=None)
        for x, y in ((a, b), (b, a)):
            x.school_id, x.cart_id, x.slot, x.role = places[y.pk]
        for x in (a, b):
            x.save(update_fields=["school", "cart", "slot", "role", "updated_at"])
            _record(x, Kind.SWAP, actor, note, now)


def device_set_spare(*, device: Device, actor: User, note: str = "") -> Device:
    with transaction.atomic():
        device = Device.objects.select_for_update().get(pk=device.pk)
        device.cart, device.slot, device.role = None, None, DeviceRole.SPARE
        device.save(update_fields=["cart", "slot", "role", "updated_at"])
        _record(device, Kind.SPARE, actor, note, timezone.now())
    return device


def device_loan(*, device: Device, to_school: School, actor: User, note: str = "") -> Device:
    if to_school.pk == device.school_id:
        raise ApplicationError(_("Choisissez une autre école que celle de l'appareil."))
    with transaction.atomic():
        device = Device.objects.select_for_update().get(pk=device.pk)
        if device.role == DeviceRole.LOAN:
            raise ApplicationError(
                _("Cet appareil est déjà prêté : enregistrez d'abord son retour.")
            )
        device.loaned_from_id = device.school_id
        device.school, device.cart, device.slot, device.role = (
            to_school,
            None,
            None,
            DeviceRole.LOAN,
        )
        device.save(update_fields=["loaned_from", "school", "cart", "slot", "role", "updated_at"])
        _record(device, Kind.LOAN, actor, note, timezone.now())
    return device


def device_return(*, device: Device, actor: User, note: str = "") -> Device:
    with transaction.atomic():
        device = Device.objects.select_for_update().get(pk=device.pk)
        if device.role != DeviceRole.LOAN:
            raise ApplicationError(_("Cet appareil n'est pas prêté."))
        device.school_id, device.loaned_from = device.loaned_from_id, None
        device.cart, device.slot, device.role = None, None, DeviceRole.SPARE
        device.save(update_fields=["loaned_from", "school", "cart", "slot", "role", "updated_at"])
        _record(device, Kind.RETURN, actor, note, timezone.now())
    return device
