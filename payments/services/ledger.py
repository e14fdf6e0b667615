"""Writes to the append-only ledger."""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.db import IntegrityError, transaction
from django.utils.translation import gettext as _

from backend.core.exceptions import ApplicationError

from ..models import Account, LedgerEntry

if TYPE_CHECKING:
    from backend.accounts.models import User

    from ..models import Invoice, Payment, Refund


def ledger_entry_add(
    *,
    account: Account,
    kind: str,
    amount_cents: int,
    source_key: str,
    label: str = "",
    reason: str = "",
    actor: User | None = None,
    invoice: Invoice | None = None,
    payment: Payment | None = None,
    refund: Refund | None = None,
) -> tuple[LedgerEntry | None, bool]:
    """Append one entry; a second call with the same ``source_key`` changes nothing.

    Returns ``(entry, created)``.
    """
    if not isinstance(amount_cents, int) or isinstance(amount_cents, bool):
        raise ApplicationError(_("Les montants sont des nombres entiers de centimes."))
    if amount_cents == 0:
        return None, False
    entry = LedgerEntry(
        account=account,
        household_id=account.household_id,
        kind=kind,
        amount_cents=amount_cents,
        currency=account.currency,
        source_key=source_key,
        label=label[:255],
        reason=reason[:255],
        created_by=actor if actor is not None and actor.is_authenticated else None,
        invoice=invoice,
        payment=payment,
        refund=refund,
    )
    try:
        with transaction.atomic():
            entry.save(force_insert=True)
    except IntegrityError:
        existing = LedgerEntry.objects.filter(source_key=source_key).first()
        if existing is None:
            raise
        return existing, False
    return entry, True


def ledger_adjustment_add(
    *, account: Account, amount_cents: int, reason: str, actor: User
) -> LedgerEntry:
    """A manual correction by staff: a new entry with its reason, never an update."""
    import uuid

    from backend.core.models import ActorKind
    from backend.core.services import audit_record

    reason = (reason or "").strip()
    if not reason:
        raise ApplicationError(_("Indiquez le motif de la régularisation."))
    if amount_cents == 0:
        raise ApplicationError(_("Le montant de la régularisation ne peut pas être nul."))
    with transaction.atomic():
        entry, _created = ledger_entry_add(
            account=account,
            kind=LedgerEntry.Kind.ADJUSTMENT,
            amount_cents=amount_cents,
            source_key=f"adjustment:{uuid.uuid4()}",
            label="Régularisation",
            reason=reason,
            actor=actor,
        )
        audit_record(
            action="payments.adjustment",
            actor=actor,
            actor_kind=ActorKind.STAFF_FOR_FAMILY,
            target=entry,
            household_id=account.household_id,
            data={"amount_cents": amount_cents, "reason": reason},
        )
    assert entry is not None
    return entry
