"""The monthly billing run: one invoice per payer and period, built set-based and idempotent."""

from __future__ import annotations

import calendar
import datetime as dt
from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from decimal import ROUND_FLOOR, Decimal
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.db import connection, transaction
from django.db.models import Count, Max, Q, Sum
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from backend.core.exceptions import ApplicationError
from backend.core.models import ActorKind
from backend.core.services import audit_record, notification_send
from family.models import ChildGuardian

from .. import sources
from ..models import Account, BillingRun, Invoice, InvoiceLine, LedgerEntry, PaymentSettings

if TYPE_CHECKING:
    from backend.accounts.models import User

LINE_KINDS = {k.value for k in InvoiceLine.Kind}


def period_bounds(period: dt.date) -> tuple[dt.date, dt.date]:
    start = period.replace(day=1)
    end = start.replace(day=calendar.monthrange(start.year, start.month)[1])
    return start, end


def parse_period(value: str) -> dt.date:
    """``"2026-10"`` → ``date(2026, 10, 1)``; a clear error otherwise."""
    try:
        year, month = str(value).strip().split("-")
        return dt.date(int(year), int(month), 1)
    except (ValueError, TypeError):
        raise ApplicationError(
            _("Période invalide : « %(value)s ». Format attendu : AAAA-MM (ex. 2026-10).")
            % {"value": value}
        )


def split_amount(amount_cents: int, shares: Sequence[int]) -> list[int]:
    """Split an amount in proportion to ``shares`` (largest remainder): the parts sum exactly.

    >>> split_amount(245, [50, 50])
    [123, 122]
    """
    total_share = sum(shares)
    if total_share <= 0:
        raise ValueError("shares must add up to more than zero")
    exact = [Decimal(amount_cents) * share / total_share for share in shares]
    parts = [int(x.to_integral_value(rounding=ROUND_FLOOR)) for x in exact]
    remainder = amount_cents - sum(parts)
    order = sorted(range(len(shares)), key=lambda i: (-(exact[i] - parts[i]), i))
    for i in order[:remainder]:
        parts[i] += 1
    return parts


def payers_for_day(payers: Sequence[tuple[int, str, int]], day: dt.date) -> list[tuple[int, int]]:
    """Who pays a child's meal on ``day``: ``[(guardian_id, share)]``.

    ``payers`` are the child's billing payers ``(guardian_id, custody_weeks, share_percent)``.
    Week custody is by ISO week parity; the shares of the payers present that week are then
    applied (normalised to their sum). If nobody's weeks match, every payer shares the cost.
    """
    parity = "even" if day.isocalendar().week % 2 == 0 else "odd"
    present = [(g, share) for g, weeks, share in payers if weeks in ("all", parity)]
    if not present:
        present = [(g, share) for g, _weeks, share in payers]
    if sum(share for _g, share in present) <= 0:
        present = [(g, 1) for g, _share in present]
    return present


LINE_COLUMNS = (
    "invoice_id",
    "child_id",
    "day",
    "kind",
    "amount_cents",
    "share_percent",
    "description",
    "source",
    "source_id",
)
INVOICE_COLUMNS = (
    "id",
    "created_at",
    "updated_at",
    "account_id",
    "household_id",
    "period",
    "version",
    "number",
    "status",
    "total_cents",
    "paid_cents",
    "currency",
    "cancel_reason",
    "billing_run_id",
)


def _copy_rows(table: str, columns: Sequence[str], rows: Iterable[tuple]) -> None:
    """PostgreSQL COPY: ~10× faster than INSERT for the million lines of a city run."""
    with connection.cursor() as cursor:
        with cursor.connection.cursor().copy(
            f"COPY {table} ({', '.join(columns)}) FROM STDIN"
        ) as copy:
            for row in rows:
                copy.write_row(row)


def _insert_invoices(rows: list[dict]) -> list[int]:
    """Insert invoices, return their ids in order (2 queries on PostgreSQL, whatever the count)."""
    if connection.vendor == "postgresql":
        table = Invoice._meta.db_table
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT nextval(pg_get_serial_sequence(%s, 'id')) FROM generate_series(1, %s)",
                [table, len(rows)],
            )
            ids = [r[0] for r in cursor.fetchall()]
        now = timezone.now()
        _copy_rows(
            table,
            INVOICE_COLUMNS,
            (
                (
                    pk,
                    now,
                    now,
                    r["account_id"],
                    r["household_id"],
                    r["period"],
                    r["version"],
                    r["number"],
                    Invoice.Status.DRAFT.value,
                    r["total_cents"],
                    0,
                    r["currency"],
                    "",
                    r["billing_run_id"],
                )
                for pk, r in zip(ids, rows, strict=True)
            ),
        )
        return ids
    created = Invoice.objects.bulk_create(
        [Invoice(status=Invoice.Status.DRAFT, **r) for r in rows], batch_size=1000
    )
    return [i.pk for i in created]


def _insert_lines(rows: list[tuple]) -> None:
    """Rows are tuples in ``LINE_COLUMNS`` order (no model instances: a million of them is slow)."""
    if not rows:
        return
    if connection.vendor == "postgresql":
        _copy_rows(InvoiceLine._meta.db_table, LINE_COLUMNS, rows)
    else:
        InvoiceLine.objects.bulk_create(
            [InvoiceLine(**dict(zip(LINE_COLUMNS, row, strict=True))) for row in rows],
            batch_size=2000,
        )


def billing_run_request(*, actor: User, period: dt.date, issue: bool = False) -> dt.date:
    """Ask for the billing run of ``period`` (the first day of a month) in the background.

    The one entry point for pages and the API: refuses a period that has not started, then runs
    :func:`billing_run_for_period` in a Celery task after the surrounding transaction commits.
    Asking twice is harmless (the run is idempotent).
    """
    if period > timezone.localdate():
        raise ApplicationError(_("On ne peut pas facturer une période qui n'a pas commencé."))
    from backend.core.outbox import enqueue

    from ..tasks import billing_run_task

    user_id = getattr(actor, "pk", None)
    enqueue(billing_run_task, f"{period:%Y-%m}", user_id, issue)
    return period


def billing_run_for_period(
    *,
    period: dt.date,
    actor: User | None = None,
    batch_size: int = 2000,
    issue: bool = False,
    progress: Callable[[Iterable, int], Iterable] | None = None,
) -> BillingRun:
    """Build the draft invoices of ``period`` (one per payer with something to pay).

    Idempotent: a payer who already has an active invoice for the period is skipped, so a second
    run creates nothing. Work is done per batch of payers with a constant number of queries:
    lock, existing invoices, meals of their children (one canteen call), invoice insert, line
    insert.
    """
    start, end = period_bounds(period)
    if start > timezone.localdate():
        raise ApplicationError(_("On ne peut pas facturer une période qui n'a pas commencé."))
    currency = settings.MINOT_CURRENCY
    run = BillingRun.objects.create(
        period=start, triggered_by=actor if getattr(actor, "pk", None) else None
    )

    # Who pays for whom (billing payers only), in one query.
    child_payers: dict[int, list[tuple[int, str, int]]] = defaultdict(list)
    payer_children: dict[int, set[int]] = defaultdict(set)
    payer_household: dict[int, int] = {}
    for child_id, guardian_id, household_id, weeks, share in ChildGuardian.objects.filter(
        billing_payer=True
    ).values_list(
        "child_id",
        "guardian_id",
        "guardian__household_id",
        "custody_weeks",
        "billing_share_percent",
    ):
        child_payers[child_id].append((guardian_id, weeks, share))
        payer_children[guardian_id].add(child_id)
        payer_household[guardian_id] = household_id

    # Payer accounts, created in bulk for payers who have none yet.
    accounts = dict(Account.objects.values_list("guardian_id", "id"))
    missing = [g for g in payer_children if g not in accounts]
    if missing:
        Account.objects.bulk_create(
            [
                Account(guardian_id=g, household_id=payer_household[g], currency=currency)
                for g in missing
            ],
            batch_size=5000,
            ignore_conflicts=True,
        )
        accounts = dict(Account.objects.values_list("guardian_id", "id"))

    # Prepaid and post-paid are exclusive per household and month: prepaid households' meals are
    # debited one by one (services/prepaid.py), never invoiced as well.
    from ..selectors import household_is_prepaid

    prepaid = household_is_prepaid(period=start)
    payers = sorted(g for g in payer_children if not prepaid(payer_household[g]))
    stats_prepaid = len(payer_children) - len(payers)
    batches = [payers[i : i + batch_size] for i in range(0, len(payers), batch_size)]
    iterator: Iterable = progress(batches, len(batches)) if progress else batches
    stats = {
        "payers": len(payers),
        "skipped_existing": 0,
        "meals": 0,
        "other_currency": 0,
        "unknown_kind": 0,
        "prepaid_skipped": stats_prepaid,
    }
    invoices_created = lines_created = total_cents = 0
    for batch in iterator:
        created, n_lines, cents = _bill_batch(
            batch=batch,
            start=start,
            end=end,
            run=run,
            accounts=accounts,
            payer_children=payer_children,
            payer_household=payer_household,
            child_payers=child_payers,
            currency=currency,
            stats=stats,
        )
        invoices_created += created
        lines_created += n_lines
        total_cents += cents

    run.invoices_created = invoices_created
    run.lines_created = lines_created
    run.total_cents = total_cents
    run.stats = stats
    run.finished_at = timezone.now()
    run.save(
        update_fields=["invoices_created", "lines_created", "total_cents", "stats", "finished_at"]
    )
    audit_record(
        action="payments.billing_run",
        actor=actor if getattr(actor, "pk", None) else None,
        actor_kind=ActorKind.PERSON if getattr(actor, "pk", None) else ActorKind.SYSTEM,
        target=run,
        data={"period": f"{start:%Y-%m}", "invoices": invoices_created, "lines": lines_created},
    )
    if issue:
        run.invoices_issued = invoices_issue(period=start, actor=actor)
        run.save(update_fields=["invoices_issued"])
    return run


def _line_text(meal: Any) -> str:
    """The line's text; a daily service other than the canteen starts with its service code."""
    code = getattr(meal, "service_code", "")
    text = meal.explanation or ""
    if code and getattr(meal, "service_kind", "canteen") != "canteen":
        text = f"[{code}] {text}"
    return text[:255]


def _payers_to_bill(
    batch: list[int], accounts: dict[int, int], start: dt.date, stats: dict[str, int]
) -> tuple[dict[int, Any], set[int]]:
    """Per account of the batch: its invoices of the period (latest version, how many still
    active); and the payers with no active invoice for the period (the others are skipped)."""
    batch_accounts = [accounts[g] for g in batch]
    existing = {
        row["account_id"]: row
        for row in Invoice.objects.filter(account_id__in=batch_accounts, period=start)
        .values("account_id")
        .annotate(
            version=Max("version"),
            active=Count("id", filter=~Q(status=Invoice.Status.CANCELLED)),
        )
    }
    to_bill = set()
    for g in batch:
        row = existing.get(accounts[g])
        if row and row["active"]:
            stats["skipped_existing"] += 1
        else:
            to_bill.add(g)
    return existing, to_bill


def _meal_is_billable(
    meal: Any,
    *,
    start: dt.date,
    end: dt.date,
    child_payers: dict[int, list[tuple[int, str, int]]],
    currency: str,
    stats: dict[str, int],
) -> bool:
    """In the period, for a child with a payer, in the run's currency, of a known kind."""
    if not (start <= meal.day <= end) or meal.child_id not in child_payers:
        return False
    if meal.currency != currency:
        stats["other_currency"] += 1
        return False
    if meal.kind not in LINE_KINDS:
        stats["unknown_kind"] += 1
        return False
    return True


def _meal_shares(meal: Any, payers: list[tuple[int, str, int]]) -> list[tuple[int, int, int]]:
    """``[(guardian_id, cents, percent)]``: the payers present that day share the price."""
    present = payers_for_day(payers, meal.day)
    if len(present) == 1:
        return [(present[0][0], int(meal.amount_cents), 100)]
    shares = [s for _g, s in present]
    parts = split_amount(int(meal.amount_cents), shares)
    total_share = sum(shares)
    return [
        (guardian_id, cents, round(100 * share / total_share))
        for (guardian_id, share), cents in zip(present, parts, strict=True)
    ]


SUPERVISION_CODE = "SURV-MIDI"
SUPERVISION_SOURCES = ("attendance", "booking")  # a meal priced per day (not a monthly flat)


def _supervision_tariffs(start: dt.date, end: dt.date) -> list[tuple[dt.date, dt.date, int]]:
    """The canteen tariffs in force in [start, end] whose meal price carries a lunch-supervision
    part: ``[(valid_from, valid_until, supervision_cents)]``."""
    from canteen.models import Tariff
    from canteen.selectors import CANTEEN_CODE

    return list(
        Tariff.objects.filter(
            service__code=CANTEEN_CODE,
            mode=Tariff.Mode.PER_UNIT,
            supervision_cents__gt=0,
            valid_from__lte=end,
            valid_until__gte=start,
        ).values_list("valid_from", "valid_until", "supervision_cents")
    )


def _supervision_part(meal: Any, tariffs: list[tuple[dt.date, dt.date, int]]) -> int:
    """The supervision cents inside a canteen meal's price (0: nothing to separate)."""
    if (
        meal.kind != InvoiceLine.Kind.MEAL
        or getattr(meal, "service_kind", "canteen") != "canteen"
        or meal.source not in SUPERVISION_SOURCES
    ):
        return 0
    for valid_from, valid_until, cents in tariffs:
        if valid_from <= meal.day <= valid_until:
            return min(cents, int(meal.amount_cents))
    return 0


def _meal_lines(meal: Any, cents: int, percent: int, text: str, supervision: int) -> list[tuple]:
    """One payer's line(s) for a meal: the whole price, or, when the tariff separates them, the
    food and the lunch supervision (its own line, kind and service code) sharing the price."""
    line = (meal.child_id, meal.day, meal.kind, cents, percent, text, meal.source, meal.source_id)
    if not supervision:
        return [line]
    food, watched = split_amount(cents, [int(meal.amount_cents) - supervision, supervision])
    label = f"[{SUPERVISION_CODE}] " + str(_("Surveillance de la pause méridienne"))
    return [
        (*line[:3], food, *line[4:]),
        (
            meal.child_id,
            meal.day,
            InvoiceLine.Kind.SUPERVISION.value,
            watched,
            percent,
            label[:255],
            f"sup_{meal.source}",
            meal.source_id,
        ),
    ]


def _lines_by_payer(
    meals: list[Any],
    *,
    start: dt.date,
    end: dt.date,
    to_bill: set[int],
    child_payers: dict[int, list[tuple[int, str, int]]],
    currency: str,
    stats: dict[str, int],
) -> tuple[dict[int, list[tuple]], dict[int, int]]:
    """Line tuples per payer to bill, without the invoice id:
    ``(child, day, kind, cents, percent, text, source, source_id)``, and each payer's total."""
    supervision_tariffs = _supervision_tariffs(start, end)
    lines_by_payer: dict[int, list[tuple]] = defaultdict(list)
    totals: dict[int, int] = defaultdict(int)
    single_payer = {c: p[0][0] for c, p in child_payers.items() if len(p) == 1}
    for meal in meals:
        if not _meal_is_billable(
            meal, start=start, end=end, child_payers=child_payers, currency=currency, stats=stats
        ):
            continue
        stats["meals"] += 1
        text = _line_text(meal)
        only = single_payer.get(meal.child_id)
        if only is not None:  # the common case: one payer, the whole price
            shares = [(only, int(meal.amount_cents), 100)]
        else:
            shares = _meal_shares(meal, child_payers[meal.child_id])
        supervision = _supervision_part(meal, supervision_tariffs)
        for guardian_id, cents, percent in shares:
            if guardian_id not in to_bill:
                continue
            lines_by_payer[guardian_id] += _meal_lines(meal, cents, percent, text, supervision)
            totals[guardian_id] += cents
    return lines_by_payer, totals


def _invoice_rows(
    payers_billed: list[int],
    *,
    start: dt.date,
    run: BillingRun,
    accounts: dict[int, int],
    payer_household: dict[int, int],
    existing: dict[int, Any],
    totals: dict[int, int],
    currency: str,
) -> list[dict[str, Any]]:
    """One draft invoice per payer billed: the next version after the period's cancelled ones."""
    rows: list[dict[str, Any]] = []
    for g in payers_billed:
        account_id = accounts[g]
        version = (existing[account_id]["version"] + 1) if account_id in existing else 1
        rows.append(
            {
                "account_id": account_id,
                "household_id": payer_household[g],
                "period": start,
                "version": version,
                "number": f"{start:%Y%m}-{account_id:06d}" + (f"-{version}" if version > 1 else ""),
                "total_cents": totals[g],
                "currency": currency,
                "billing_run_id": run.pk,
            }
        )
    return rows


def _bill_batch(
    *,
    batch: list[int],
    start: dt.date,
    end: dt.date,
    run: BillingRun,
    accounts: dict[int, int],
    payer_children: dict[int, set[int]],
    payer_household: dict[int, int],
    child_payers: dict[int, list[tuple[int, str, int]]],
    currency: str,
    stats: dict[str, int],
) -> tuple[int, int, int]:
    with transaction.atomic():
        # Serialise concurrent runs (PostgreSQL row lock; SQLite writes are already serialised).
        PaymentSettings.current()
        list(PaymentSettings.objects.select_for_update().filter(pk=1))
        existing, to_bill = _payers_to_bill(batch, accounts, start, stats)
        if not to_bill:
            return 0, 0, 0
        child_ids = sorted({c for g in to_bill for c in payer_children[g]})
        meals = sources.billable_meals(start=start, end=end, child_ids=child_ids)
        meals += sources.billable_activities(start=start, end=end, child_ids=child_ids)
        lines_by_payer, totals = _lines_by_payer(
            meals,
            start=start,
            end=end,
            to_bill=to_bill,
            child_payers=child_payers,
            currency=currency,
            stats=stats,
        )
        payers_billed = sorted(lines_by_payer)
        rows = _invoice_rows(
            payers_billed,
            start=start,
            run=run,
            accounts=accounts,
            payer_household=payer_household,
            existing=existing,
            totals=totals,
            currency=currency,
        )
        if not rows:
            return 0, 0, 0
        invoice_ids = _insert_invoices(rows)
        all_lines = [
            (invoice_id, *line)
            for g, invoice_id in zip(payers_billed, invoice_ids, strict=True)
            for line in lines_by_payer[g]
        ]
        _insert_lines(all_lines)
        return len(rows), len(all_lines), sum(r["total_cents"] for r in rows)


def invoices_issue(
    *,
    period: dt.date | None = None,
    invoice_ids: list[int] | None = None,
    actor: User | None = None,
    batch_size: int = 500,
) -> int:
    """Issue draft invoices: due date, SEPA debit date, the ledger charge and one email each."""
    conf = PaymentSettings.current()
    today = timezone.localdate()
    qs = Invoice.objects.filter(status=Invoice.Status.DRAFT)
    if period is not None:
        qs = qs.filter(period=period.replace(day=1))
    if invoice_ids is not None:
        qs = qs.filter(pk__in=invoice_ids)
    ids = list(qs.order_by("pk").values_list("pk", flat=True))
    issued = 0
    for i in range(0, len(ids), batch_size):
        issued += _issue_batch(ids[i : i + batch_size], conf=conf, today=today, actor=actor)
    return issued


def invoice_charges(invoice: Invoice, activity_cents: int) -> list[tuple[str, int, str]]:
    """The ledger charges of an issued invoice, one per service: ``(kind, cents, source_key)``.
    Meals keep the key ``invoice:<id>``; activities use ``invoice:<id>:activity``."""
    charges: list[tuple[str, int, str]] = []
    meal_cents = invoice.total_cents - activity_cents
    if meal_cents:
        charges.append((LedgerEntry.Kind.MEAL_CHARGE, meal_cents, f"invoice:{invoice.pk}"))
    if activity_cents:
        charges.append(
            (LedgerEntry.Kind.ACTIVITY_CHARGE, activity_cents, f"invoice:{invoice.pk}:activity")
        )
    return charges


def _issue_batch(
    ids: list[int], *, conf: PaymentSettings, today: dt.date, actor: User | None
) -> int:
    from ..selectors import format_cents

    now = timezone.now()
    due = today + dt.timedelta(days=conf.invoice_due_days)
    debit = today + dt.timedelta(days=conf.sepa_debit_delay_days)
    with transaction.atomic():
        invoices = list(
            Invoice.objects.select_for_update()
            .filter(pk__in=ids, status=Invoice.Status.DRAFT)
            .select_related("account__guardian__user")
        )
        if not invoices:
            return 0
        activity_totals = dict(
            InvoiceLine.objects.filter(
                invoice_id__in=[i.pk for i in invoices], kind=InvoiceLine.Kind.ACTIVITY
            )
            .values("invoice_id")
            .annotate(total=Sum("amount_cents"))
            .values_list("invoice_id", "total")
        )
        entries = []
        for invoice in invoices:
            invoice.issued_at = now
            invoice.due_date = due
            invoice.debit_date = debit if invoice.account.has_sepa_mandate else None
            invoice.status = (
                Invoice.Status.ISSUED if invoice.total_cents > 0 else Invoice.Status.PAID
            )
            for kind, cents, key in invoice_charges(invoice, activity_totals.get(invoice.pk, 0)):
                entries.append(
                    LedgerEntry(
                        account_id=invoice.account_id,
                        household_id=invoice.household_id,
                        kind=kind,
                        amount_cents=-cents,
                        currency=invoice.currency,
                        source_key=key,
                        invoice_id=invoice.pk,
                        label=_("Facture %(number)s") % {"number": invoice.number},
                    )
                )
        Invoice.objects.bulk_update(
            invoices, ["issued_at", "due_date", "debit_date", "status"], batch_size=1000
        )
        LedgerEntry.objects.bulk_create(entries, batch_size=2000, ignore_conflicts=True)
        # Money already received and not applied (credit: a cancelled invoice's payments, an
        # overpayment kept as credit) pays the new invoices first.
        from .corrections import credit_apply, credit_available

        with_credit = credit_available(account_ids={i.account_id for i in invoices})
        if with_credit:
            credit_apply(invoice_ids=[i.pk for i in invoices if i.account_id in with_credit])
        for invoice in invoices:
            if invoice.total_cents <= 0:
                continue
            # Stored as keys + parameters, rendered in the reader's language (core/text.py).
            params = {
                "number": invoice.number,
                "amount": format_cents(invoice.total_cents, invoice.currency),
                "due": due.strftime("%d/%m/%Y"),
                "date": invoice.debit_date.strftime("%d/%m/%Y") if invoice.debit_date else "",
            }
            if invoice.debit_date:
                body_key = gettext_noop(
                    "Votre facture %(number)s de %(amount)s est disponible. Échéance : %(due)s. "
                    "Elle sera prélevée sur votre compte (mandat SEPA) le %(date)s."
                )
            else:
                body_key = gettext_noop(
                    "Votre facture %(number)s de %(amount)s est disponible. Échéance : %(due)s."
                )
            subject_key = gettext_noop("Facture %(number)s : %(amount)s")
            notification_send(
                user=invoice.account.guardian.user,
                subject=_(subject_key) % params,
                body=_(body_key) % params,
                url=f"/paiements/factures/{invoice.pk}/",
                subject_key=subject_key,
                body_key=body_key,
                params=params,
            )
    return len(invoices)


def invoice_cancel(*, invoice: Invoice, actor: User, reason: str) -> Invoice:
    """Cancel an invoice (to correct it: billing the period again issues the next version).

    An issued invoice gets credit notes in the ledger (never a deletion). Money its payments
    applied to it is released as the payer's credit and pays the replacing version when that is
    issued (so nothing is billed or debited twice). Refused while a payment of it is in progress.
    """
    from .corrections import invoice_release_payments
    from .ledger import ledger_entry_add

    reason = (reason or "").strip()
    if not reason:
        raise ApplicationError(_("Indiquez le motif de l'annulation."))
    with transaction.atomic():
        locked = Invoice.objects.select_for_update().filter(pk=invoice.pk).first()
        if locked is None or locked.status == Invoice.Status.CANCELLED:
            raise ApplicationError(_("Cette facture est déjà annulée."))
        if locked.allocations.filter(is_open_attempt=True).exists():
            raise ApplicationError(
                _(
                    "Un paiement de cette facture est en cours (carte ou prélèvement) : attendez "
                    "son résultat avant de l'annuler."
                )
            )
        Invoice.objects.filter(pk=invoice.pk).update(
            status=Invoice.Status.CANCELLED,
            cancelled_at=timezone.now(),
            cancel_reason=reason[:255],
        )
        invoice.refresh_from_db()
        released = invoice_release_payments(invoice=invoice)
        charges = LedgerEntry.objects.filter(invoice=invoice, source_key__startswith="invoice:")
        for charge in charges.exclude(kind=LedgerEntry.Kind.CREDIT_NOTE):
            ledger_entry_add(
                account=invoice.account,
                kind=LedgerEntry.Kind.CREDIT_NOTE,
                amount_cents=-charge.amount_cents,
                source_key=f"{charge.source_key}:credit_note",
                label=_("Avoir sur la facture %(number)s") % {"number": invoice.number},
                reason=reason,
                actor=actor,
                invoice=invoice,
            )
        audit_record(
            action="payments.invoice_cancel",
            actor=actor,
            actor_kind=ActorKind.STAFF_FOR_FAMILY,
            target=invoice,
            household_id=invoice.household_id,
            data={"reason": reason, "total_cents": invoice.total_cents, "released": released},
        )
    return invoice
