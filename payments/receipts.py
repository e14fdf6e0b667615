"""PDF receipts and the yearly childcare-cost certificate (reportlab)."""

from __future__ import annotations

import io

from django.conf import settings
from django.db.models import Sum
from django.utils import timezone
from django.utils.translation import gettext as _
from reportlab.lib.pagesizes import A4
from reportlab.lib.units import mm
from reportlab.pdfgen import canvas

from family.models import Child

from .models import Invoice, InvoiceLine, Payment
from .selectors import format_cents


def _header(pdf: canvas.Canvas, title: str) -> float:
    width, height = A4
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


def childcare_costs(*, household, year: int) -> list[tuple[Child, int]]:
    """What the household paid for each child's meals in ``year`` (paid invoices of that year)."""
    rows = (
        InvoiceLine.objects.filter(
            invoice__household=household,
            invoice__status=Invoice.Status.PAID,
            invoice__period__year=year,
        )
        .values("child_id")
        .annotate(total=Sum("amount_cents"))
    )
    totals = {r["child_id"]: r["total"] or 0 for r in rows}
    children = Child.objects.filter(pk__in=list(totals)).order_by("first_name")
    return [(child, totals[child.pk]) for child in children]


def certificate_pdf(*, household, year: int) -> bytes:
    buffer = io.BytesIO()
    pdf = canvas.Canvas(buffer, pagesize=A4)
    y = _header(
        pdf, _("Attestation de frais de garde et de restauration %(year)s") % {"year": year}
    )
    pdf.drawString(20 * mm, y, _("Foyer : %(name)s") % {"name": household.name})
    y -= 7 * mm
    pdf.drawString(
        20 * mm,
        y,
        _("La commune atteste que les sommes suivantes ont été réglées pour l'année %(year)s :")
        % {"year": year},
    )
    y -= 10 * mm
    total = 0
    costs = childcare_costs(household=household, year=year)
    for child, cents in costs:
        total += cents
        pdf.drawString(
            25 * mm, y, f"{child.first_name} {child.last_name} ({child.birth_date:%d/%m/%Y})"
        )
        pdf.drawRightString(190 * mm, y, format_cents(cents))
        y -= 6 * mm
    if not costs:
        pdf.drawString(25 * mm, y, _("Aucune facture réglée sur cette année."))
        y -= 6 * mm
    pdf.setFont("Helvetica-Bold", 10)
    pdf.drawString(25 * mm, y - 4 * mm, _("Total"))
    pdf.drawRightString(190 * mm, y - 4 * mm, format_cents(total))
    pdf.setFont("Helvetica-Oblique", 8)
    pdf.drawString(
        20 * mm,
        20 * mm,
        _("Fait le %(date)s.") % {"date": timezone.localdate().strftime("%d/%m/%Y")},
    )
    pdf.showPage()
    pdf.save()
    return buffer.getvalue()
