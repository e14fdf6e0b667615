"""The derogation decision letter (PDF, reportlab: the same approach as payments' receipts)."""

from __future__ import annotations

import io
import textwrap

from django.conf import settings
from django.utils import timezone
from django.utils.translation import gettext as _
from reportlab.lib.pagesizes import A4
from reportlab.lib.units import mm
from reportlab.pdfgen import canvas

from .models import DerogationReview


def derogation_letter_pdf(*, review: DerogationReview) -> bytes:
    application = review.application
    buffer = io.BytesIO()
    pdf = canvas.Canvas(buffer, pagesize=A4)
    width, height = A4
    title = _("Décision de dérogation scolaire %(code)s") % {
        "code": application.tracking_code_display
    }
    pdf.setTitle(title)
    pdf.setFont("Helvetica-Bold", 16)
    pdf.drawString(20 * mm, height - 25 * mm, settings.MINOT_CITY_NAME)
    pdf.setFont("Helvetica-Bold", 13)
    pdf.drawString(20 * mm, height - 35 * mm, title)
    pdf.setFont("Helvetica", 10)
    y = height - 50 * mm
    rows = [
        (_("Foyer"), application.household.name),
        (_("Enfant"), str(application.child)),
        (_("Année scolaire"), application.school_year.label),
        (
            _("École de secteur"),
            application.catchment_school.name if application.catchment_school else "—",
        ),
        (_("École demandée"), application.school.name),
        (_("Motif"), str(application.get_derogation_reason_display())),
        (_("Avis de l'école de secteur"), str(review.get_opinion_display())),
        (
            _("Commission du"),
            review.commission_date.strftime("%d/%m/%Y") if review.commission_date else "—",
        ),
        (_("Décision"), str(review.get_decision_display())),
        (
            _("Décidée le"),
            timezone.localtime(review.decided_at).strftime("%d/%m/%Y")
            if review.decided_at
            else "—",
        ),
    ]
    for label, value in rows:
        pdf.drawString(20 * mm, y, f"{label} :")
        pdf.drawString(75 * mm, y, str(value))
        y -= 7 * mm
    if review.decision_reason:
        y -= 3 * mm
        pdf.drawString(20 * mm, y, f"{_('Motif de la décision')} :")
        y -= 6 * mm
        for line in textwrap.wrap(review.decision_reason, 90):
            pdf.drawString(20 * mm, y, line)
            y -= 6 * mm
    y -= 8 * mm
    pdf.drawString(
        20 * mm,
        y,
        _(
            "Cette décision peut faire l'objet d'un recours auprès du maire dans un délai de deux mois."
        ),
    )
    pdf.showPage()
    pdf.save()
    return buffer.getvalue()
