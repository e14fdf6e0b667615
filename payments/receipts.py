"""PDF receipts and the yearly childcare-cost certificate (reportlab)."""

from __future__ import annotations

import datetime as dt
import io
from collections import defaultdict
from decimal import ROUND_HALF_UP, Decimal

from django.conf import settings
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _
from reportlab.lib.pagesizes import A4
from reportlab.lib.units import mm
from reportlab.pdfgen import canvas

from family.models import ActivityRegistration, Child, ChildGuardian

from .models import Account, Invoice, InvoiceLine, Payment, PaymentAllocation, Refund
from .selectors import format_cents


def _header(pdf: canvas.Canvas, title: str) -> float:
    _width, height = A4
    pdf.setTitle(title)
    pdf.setFont("Helvetica-Bold", 16)
    pdf.drawString(20 * mm, height - 25 * mm, settings.MINOT_CITY_NAME)
    pdf.setFont("Helvetica-Bold", 13)
    pdf.drawString(20 * mm, height - 35 * mm, title)
    pdf.setFont("Helvetica", 10)
    return height - 50 * mm


def receipt_pdf(*, payment: Payment) -> bytes:
    buffer = io.BytesIO()
    pdf = canvas.Canvas(buffer, pagesize=A4)
    y = _header(pdf, _("Reçu de paiement %(number)s") % {"number": payment.receipt_number})
    user = payment.account.guardian.user
    rows = [
        (_("Payeur"), user.get_full_name() or user.email),
        (_("Foyer"), payment.household.name),
        (
            _("Date"),
            timezone.localtime(payment.succeeded_at or payment.created_at).strftime(
                "%d/%m/%Y %H:%M"
            ),
        ),
        (_("Moyen de paiement"), str(payment.get_provider_display())),
        (_("Montant"), format_cents(payment.amount_cents, payment.currency)),
    ]
    if payment.refunded_cents:
        rows.append((_("Remboursé"), format_cents(payment.refunded_cents, payment.currency)))
    if payment.provider_reference or payment.counter_reference:
        rows.append((_("Référence"), payment.provider_reference or payment.counter_reference))
    for label, value in rows:
        pdf.drawString(20 * mm, y, f"{label} :")
        pdf.drawString(70 * mm, y, str(value))
        y -= 7 * mm
    y -= 5 * mm
    allocations = list(payment.allocations.select_related("invoice"))
    if allocations:
        pdf.setFont("Helvetica-Bold", 10)
        pdf.drawString(20 * mm, y, _("Factures réglées"))
        y -= 7 * mm
        pdf.setFont("Helvetica", 10)
        for allocation in allocations:
            pdf.drawString(
                25 * mm, y, f"{allocation.invoice.number} ({allocation.invoice.period:%m/%Y})"
            )
            pdf.drawRightString(
                190 * mm, y, format_cents(allocation.amount_cents, payment.currency)
            )
            y -= 6 * mm
    pdf.setFont("Helvetica-Oblique", 8)
    pdf.drawString(
        20 * mm,
        20 * mm,
        _("Document généré le %(date)s.") % {"date": timezone.localdate().strftime("%d/%m/%Y")},
    )
    pdf.showPage()
    pdf.save()
    return buffer.getvalue()


def _eligible_by_invoice(invoice_ids: set[int], year: int) -> dict[int, dict[int, int]]:
    """Per invoice, per child: the cents of its lines that are childcare (activity sessions whose
    tariff is childcare supervision, and the lunch-supervision lines of canteen meals; never food)
    for a child under 6 on 1 January of ``year``."""
    from .models import ActivityTariff
    from .sources import ACTIVITY_SOURCE_FACTOR

    limit = dt.date(year - 6, 1, 1)  # born after this day: under 6 on 1 January
    lines = list(
        InvoiceLine.objects.filter(
            invoice_id__in=invoice_ids,
            kind=InvoiceLine.Kind.ACTIVITY,
            source="activity",
            child__birth_date__gt=limit,
        ).values_list("invoice_id", "child_id", "amount_cents", "source_id")
    )
    registrations = {source_id // ACTIVITY_SOURCE_FACTOR for *_rest, source_id in lines}
    childcare = (
        set(
            ActivityRegistration.objects.filter(
                pk__in=registrations,
                activity__tariff__is_childcare=True,
            ).values_list("pk", flat=True)
        )
        if registrations and ActivityTariff.objects.exists()
        else set()
    )
    out: dict[int, dict[int, int]] = defaultdict(lambda: defaultdict(int))
    for invoice_id, child_id, cents, source_id in lines:
        if source_id // ACTIVITY_SOURCE_FACTOR in childcare:
            out[invoice_id][child_id] += cents
    # the lunch-supervision part of canteen meals, on its own lines (the food never is)
    for invoice_id, child_id, cents in InvoiceLine.objects.filter(
        invoice_id__in=invoice_ids,
        kind=InvoiceLine.Kind.SUPERVISION,
        child__birth_date__gt=limit,
    ).values_list("invoice_id", "child_id", "amount_cents"):
        out[invoice_id][child_id] += cents
    return out


def _kept_by_child(account_id: int, year: int) -> dict[int, Decimal]:
    """What this payer paid in ``year`` (by payment date) minus what was refunded in ``year``
    (by refund date), for eligible childcare, per child.

    Each payment's eligible share is what its allocations were for: allocation amounts × the
    eligible part of each (not cancelled) invoice, over the payment's amount.
    """
    payments = {
        p.pk: p
        for p in Payment.objects.filter(account_id=account_id).filter(
            Q(status=Payment.Status.SUCCEEDED, succeeded_at__year=year)
            | Q(refunds__status=Refund.Status.SUCCEEDED, refunds__succeeded_at__year=year)
        )
    }
    if not payments:
        return {}
    allocations = list(
        PaymentAllocation.objects.filter(payment_id__in=payments)
        .exclude(invoice__status=Invoice.Status.CANCELLED)
        .values_list("payment_id", "invoice_id", "amount_cents", "invoice__total_cents")
    )
    eligible = _eligible_by_invoice({a[1] for a in allocations}, year)
    ratio: dict[int, dict[int, Decimal]] = defaultdict(lambda: defaultdict(Decimal))
    allocated: dict[int, int] = defaultdict(int)
    for payment_id, _invoice_id, amount, _total in allocations:
        allocated[payment_id] += amount
    for payment_id, invoice_id, amount, total in allocations:
        base = max(payments[payment_id].amount_cents, allocated[payment_id])
        for child_id, cents in eligible.get(invoice_id, {}).items():
            if total and base:
                ratio[payment_id][child_id] += Decimal(amount) * cents / total / base
    kept: dict[int, Decimal] = defaultdict(Decimal)
    for pk, payment in payments.items():
        if (
            payment.status == Payment.Status.SUCCEEDED
            and payment.succeeded_at
            and timezone.localtime(payment.succeeded_at).year == year
        ):
            for child_id, r in ratio[pk].items():
                kept[child_id] += payment.amount_cents * r
    for refund in Refund.objects.filter(
        payment_id__in=payments, status=Refund.Status.SUCCEEDED, succeeded_at__year=year
    ):
        for child_id, r in ratio[refund.payment_id].items():
            kept[child_id] -= refund.amount_cents * r
    return kept


def childcare_costs(*, account, year: int) -> list[tuple[Child, int, bool]]:
    """The certificate of one payer: ``[(child, cents, shared_custody)]``.

    Childcare of a child under 6 on 1 January, outside the home, excluding food: the supervision
    sessions this payer paid in the year, minus refunds made in the year. In shared custody (the
    child has two billing payers), each parent's certificate carries half of what both paid.
    """
    own = _kept_by_child(account.pk, year)
    children = Child.objects.filter(pk__in=list(own)).order_by("first_name")
    rows = []
    for child in children:
        payers = list(
            ChildGuardian.objects.filter(child=child, billing_payer=True).values_list(
                "guardian_id", flat=True
            )
        )
        shared = len(payers) >= 2
        if shared:
            total = Decimal(0)
            for other in Account.objects.filter(guardian_id__in=payers):
                total += (own if other.pk == account.pk else _kept_by_child(other.pk, year)).get(
                    child.pk, Decimal(0)
                )
            cents = int((total / 2).quantize(Decimal(1), rounding=ROUND_HALF_UP))
        else:
            cents = int(own[child.pk].quantize(Decimal(1), rounding=ROUND_HALF_UP))
        if cents > 0:
            rows.append((child, cents, shared))
    return rows


def certificate_pdf(*, account, year: int) -> bytes:
    buffer = io.BytesIO()
    pdf = canvas.Canvas(buffer, pagesize=A4)
    y = _header(pdf, _("Attestation de frais de garde d'enfants %(year)s") % {"year": year})
    user = account.guardian.user
    pdf.drawString(
        20 * mm,
        y,
        _("Payeur : %(name)s — foyer %(household)s")
        % {"name": user.get_full_name() or user.email, "household": account.household.name},
    )
    y -= 7 * mm
    pdf.drawString(
        20 * mm,
        y,
        _("La commune atteste que ce payeur a réglé en %(year)s, pour la garde hors du domicile")
        % {"year": year},
    )
    y -= 5 * mm
    pdf.drawString(
        20 * mm,
        y,
        _("d'enfants de moins de 6 ans au 1er janvier (repas exclus), les sommes suivantes :"),
    )
    y -= 10 * mm
    total = 0
    costs = childcare_costs(account=account, year=year)
    for child, cents, shared in costs:
        total += cents
        label = f"{child.first_name} {child.last_name} ({child.birth_date:%d/%m/%Y})"
        if shared:
            label += " — " + _("résidence alternée : moitié")
        pdf.drawString(25 * mm, y, label)
        pdf.drawRightString(190 * mm, y, format_cents(cents))
        y -= 6 * mm
    if not costs:
        pdf.drawString(25 * mm, y, _("Aucune somme éligible réglée sur cette année."))
        y -= 6 * mm
    pdf.setFont("Helvetica-Bold", 10)
    pdf.drawString(25 * mm, y - 4 * mm, _("Total"))
    pdf.drawRightString(190 * mm, y - 4 * mm, format_cents(total))
    pdf.setFont("Helvetica-Oblique", 8)
    pdf.drawString(
        20 * mm,
        26 * mm,
        _(
            "Sommes versées dans l'année, remboursements de l'année déduits (art. 200 quater B du CGI)."
        ),
    )
    pdf.drawString(
        20 * mm,
        20 * mm,
        _("Fait le %(date)s.") % {"date": timezone.localdate().strftime("%d/%m/%Y")},
    )
    pdf.showPage()
    pdf.save()
    return buffer.getvalue()
