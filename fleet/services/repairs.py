"""Alerts acknowledged by technicians and repair tickets (open → in progress → waiting for part → fixed)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from backend.core.exceptions import ApplicationError
from backend.core.services import audit_record

from ..models import Alert, Device, RepairNote, RepairTicket

if TYPE_CHECKING:
    from backend.accounts.models import User


def alert_acknowledge(*, alert: Alert, actor: User) -> Alert:
    with transaction.atomic():
        updated = Alert.objects.filter(pk=alert.pk, state=Alert.State.OPEN).update(
            state=Alert.State.ACKNOWLEDGED, acknowledged_at=timezone.now(), acknowledged_by=actor
        )
        if not updated and alert.state == Alert.State.RESOLVED:
            raise ApplicationError(_("Cette alerte est déjà résolue."))
        audit_record(action="fleet.alert_acknowledged", actor=actor, target=alert)
    alert.refresh_from_db()
    return alert


def ticket_create(
    *, device: Device, actor: User, title: str, note: str = "", alert: Alert | None = None
) -> RepairTicket:
    title = (title or "").strip()
    if not title:
        raise ApplicationError(_("Donnez un objet au ticket."))
    with transaction.atomic():
        ticket = RepairTicket.objects.create(
            device=device,
            school_id=device.school_id,
            alert=alert,
            title=title[:200],
            created_by=actor,
        )
        RepairNote.objects.create(
            ticket=ticket, author=actor, body=note.strip(), state_to=ticket.state
        )
        if alert is not None and alert.state == Alert.State.OPEN:
            Alert.objects.filter(pk=alert.pk).update(
                state=Alert.State.ACKNOWLEDGED,
                acknowledged_at=timezone.now(),
                acknowledged_by=actor,
            )
        audit_record(
            action="fleet.ticket_created",
            actor=actor,
            target=ticket,
            data={"device": device.identity},
        )
    return ticket


def ticket_update(
    *, ticket: RepairTicket, actor: User, state: str = "", note: str = ""
) -> RepairTicket:
    note = (note or "").strip()
    with transaction.atomic():
        ticket = RepairTicket.objects.select_for_update().get(pk=ticket.pk)
        previous = ticket.state
        if state and state != previous:
            if state not in RepairTicket.TRANSITIONS.get(previous, set()):
                raise ApplicationError(
                    _("Passage impossible de « %(a)s » à « %(b)s ».")
                    % {"a": RepairTicket.State(previous).label, "b": state}
                )
            ticket.state = state
            ticket.closed_at = timezone.now() if state == RepairTicket.State.FIXED else None
            ticket.save(update_fields=["state", "closed_at", "updated_at"])
        elif not note:
            raise ApplicationError(
                _("Rien à enregistrer : choisissez un état ou écrivez une note.")
            )
        RepairNote.objects.create(
            ticket=ticket,
            author=actor,
            body=note,
            state_from=previous if state else "",
            state_to=state if state else "",
        )
        audit_record(
            action="fleet.ticket_updated",
            actor=actor,
            target=ticket,
            data={"from": previous, "to": ticket.state},
        )
    return ticket
