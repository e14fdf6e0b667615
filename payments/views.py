"""Payment pages: parents (invoices, pay several at once, history, receipts) and staff (billing
runs, counter payments, refunds, exports, reconciliation)."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from csp.constants import NONCE
from django.conf import settings
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.db.models import Count
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from backend.core.access import get_or_404, is_parent, role_required
from backend.core.confirm import confirmation_page, needs_confirmation
from backend.core.exceptions import ApplicationError
from backend.core.money import format_money
from backend.core.services import audit_record

from . import permissions as perms
from .declines import decline_reason
from .forms import (
    AdjustmentForm,
    BillingModeForm,
    BillingRunForm,
    CancelInvoiceForm,
    CounterPaymentForm,
    ExportForm,
    RefundForm,
    SepaMandateForm,
    TestCardForm,
    TopUpForm,
    next_month,
    previous_month,
)
from .models import BillingRun, Finding, Invoice, LedgerEntry, Payment, PaymentSettings, Refund
from .receipts import certificate_pdf, receipt_pdf
from .selectors import (
    balances_for_accounts,
    billing_mode_of,
    household_balance_cents,
    pending_debit_invoice_ids,
)
from .services.billing import billing_run_request


def server_confirm() -> bool:
    """Demo and tests (localstripe has no Payment Element): confirm server-side with a test card."""
    return bool(getattr(settings, "MINOT_PAYMENTS_SERVER_CONFIRM", False))


def _no_store(response):
    response["Cache-Control"] = "no-store"
    return response


# --- Parents ---------------------------------------------------------------------------------


@role_required("parent")
def home(request):
    invoices = list(perms.invoices_for_user(request.user).select_related("account__guardian__user"))
    pending = pending_debit_invoice_ids(invoice_ids=[i.pk for i in invoices])
    for invoice in invoices:
        invoice.debit_pending = invoice.pk in pending  # type: ignore[attr-defined]  # for the template
    open_invoices = [i for i in invoices if i.is_open and not i.debit_pending]  # type: ignore[attr-defined]
    household = perms.households_for_user(request.user).first()
    account = perms.own_account(request.user)
    context: dict[str, Any] = {
        "title": _("Factures et paiements"),
        "open_invoices": open_invoices,
        "other_invoices": [i for i in invoices if i not in open_invoices],
        "balance": household_balance_cents(household=household) if household else 0,
        "due_total": sum(i.outstanding_cents for i in open_invoices),
        "balance_differs": False,
        "account": account,
        "prepaid": PaymentSettings.current().mode == PaymentSettings.Mode.PREPAID,
        "year": timezone.localdate().year - 1
        if timezone.localdate().month < 3
        else timezone.localdate().year,
    }
    context["balance_differs"] = (
        context["balance"] < 0 and -context["balance"] != context["due_total"]
    )
    return _no_store(render(request, "payments/home.html", context))


@role_required("parent", "staff", "admin")
def invoice_detail(request, pk):
    invoice = perms.invoice_for_user(request.user, pk)
    lines = invoice.lines.select_related("child").order_by("child__first_name", "day")
    return render(
        request,
        "payments/invoice_detail.html",
        {
            "title": _("Facture %(number)s") % {"number": invoice.number},
            "invoice": invoice,
            "lines": lines,
        },
    )


def _selected_invoices(request, source) -> list[Invoice]:
    ids = source.getlist("invoice")
    if not ids:
        raise ApplicationError(_("Cochez au moins une facture à payer."))
    return [perms.invoice_for_user(request.user, i) for i in dict.fromkeys(ids)]  # foreign → 404


@role_required("parent")
def pay(request):
    source = request.POST if request.method == "POST" else request.GET
    try:
        invoices = _selected_invoices(request, source)
    except ApplicationError as exc:
        messages.error(request, exc.message)
        return redirect("payments:home")
    total = sum(i.outstanding_cents for i in invoices)
    form = TestCardForm(request.POST or None) if server_confirm() else None
    context = {"title": _("Payer en ligne"), "invoices": invoices, "total": total, "form": form}
    if request.method == "POST":
        from .services.payments import payment_start_online

        payment_method = None
        if server_confirm():
            if not form.is_valid():  # type: ignore[union-attr]  # form is set when server_confirm()
                return render(request, "payments/pay.html", context, status=400)
            payment_method = form.cleaned_data["payment_method"]  # type: ignore[union-attr]
        try:
            payment = payment_start_online(
                actor=request.user, invoices=invoices, payment_method=payment_method
            )
        except ApplicationError as exc:
            messages.error(request, exc.message)
            return redirect("payments:home")
        if payment_method is None and payment.status == Payment.Status.PENDING:
            # Production: the Payment Element confirms the PaymentIntent in the browser.
            context.update(payment=payment, publishable_key=settings.STRIPE_PUBLISHABLE_KEY)
            response = _no_store(render(request, "payments/pay_element.html", context))
            # PCI DSS SAQ A: no third-party script on the payment page but Stripe's own.
            # The site-wide policy (django-csp, nonces, no 'unsafe-inline') plus Stripe's origins.
            response._csp_replace = STRIPE_CSP  # type: ignore[attr-defined]
            return response
        return redirect("payments:payment", pk=payment.pk)
    return _no_store(render(request, "payments/pay.html", context))


# Stripe.js and its frames (docs.stripe.com/security/guide#content-security-policy): the only
# third-party origins allowed anywhere, and only on the payment page.
STRIPE_CSP = {
    "script-src": ["'self'", NONCE, "https://js.stripe.com"],
    "frame-src": ["https://js.stripe.com", "https://hooks.stripe.com"],
    "connect-src": ["'self'", "https://api.stripe.com"],
}


@role_required("parent")
def history(request):
    household = perms.households_for_user(request.user).first()
    payments = perms.payments_for_user(request.user).prefetch_related(
        "allocations__invoice", "refunds"
    )
    entries = LedgerEntry.objects.filter(household=household).select_related("invoice", "payment")[
        :200
    ]
    years = sorted(
        {d.year for d in perms.invoices_for_user(request.user).values_list("period", flat=True)},
        reverse=True,
    )
    return render(
        request,
        "payments/history.html",
        {
            "title": _("Historique des paiements"),
            "payments": payments,
            "entries": entries,
            "years": years,
        },
    )


@role_required("parent", "staff", "admin")
def payment_detail(request, pk):
    payment = perms.payment_for_user(request.user, pk)
    if payment.status in (Payment.Status.PENDING, Payment.Status.PROCESSING) and request.GET.get(
        "refresh"
    ):
        from .providers import ProviderError, provider_for
        from .services.payments import payment_record_result

        if payment.provider_reference:
            try:
                payment = payment_record_result(
                    payment=payment,
                    result=provider_for(payment.provider).retrieve_payment(payment=payment),
                )
            except ProviderError:
                pass
    allocations = list(payment.allocations.select_related("invoice"))
    failed = payment.status == Payment.Status.FAILED
    retry_url = ""
    if failed and is_parent(request.user):
        still_open = [a.invoice.pk for a in allocations if a.invoice.is_open]
        if still_open:
            retry_url = (
                reverse("payments:pay") + "?" + urlencode([("invoice", i) for i in still_open])
            )
    return _no_store(
        render(
            request,
            "payments/payment_detail.html",
            {
                # a declined payment has no receipt: its page is not titled with a receipt number
                "title": _("Paiement non abouti")
                if failed
                else _("Paiement %(number)s") % {"number": payment.receipt_number},
                "payment": payment,
                "failure_reason": decline_reason(payment.failure_message) if failed else "",
                "retry_url": retry_url,
                "allocations": allocations,
                "refunds": payment.refunds.all(),
            },
        )
    )


@role_required("parent", "staff", "admin")
def receipt(request, pk):
    payment = perms.payment_for_user(request.user, pk)
    if payment.status != Payment.Status.SUCCEEDED:
        raise Http404
    response = HttpResponse(receipt_pdf(payment=payment), content_type="application/pdf")
    response["Content-Disposition"] = f'attachment; filename="recu-{payment.receipt_number}.pdf"'
    return _no_store(response)


@role_required("parent")
def certificate(request, year):
    if not 2000 <= year <= timezone.localdate().year:
        raise Http404
    account = perms.own_account(request.user)
    if account is None:
        raise Http404
    response = HttpResponse(
        certificate_pdf(account=account, year=year), content_type="application/pdf"
    )
    response["Content-Disposition"] = f'attachment; filename="attestation-{year}.pdf"'
    return _no_store(response)


@role_required("parent")
def sepa(request):
    from .services.sepa import sepa_mandate_revoke, sepa_mandate_setup

    account = perms.own_account(request.user)
    form = SepaMandateForm(request.POST or None)
    if request.method == "POST" and account is not None:
        if request.POST.get("action") == "revoke":
            sepa_mandate_revoke(actor=request.user, account=account)
            messages.success(request, _("Le prélèvement automatique est arrêté."))
            return redirect("payments:sepa")
        if form.is_valid():
            try:
                sepa_mandate_setup(
                    actor=request.user, account=account, iban=form.cleaned_data["iban"]
                )
            except ApplicationError as exc:
                form.add_error("iban", exc.message)
            else:
                messages.success(
                    request, _("Mandat SEPA enregistré : vos prochaines factures seront prélevées.")
                )
                return redirect("payments:sepa")
    return _no_store(
        render(
            request,
            "payments/sepa.html",
            {"title": _("Prélèvement automatique (SEPA)"), "form": form, "account": account},
        )
    )


@role_required("parent")
def top_up(request):
    from .services.payments import payment_top_up

    if PaymentSettings.current().mode != PaymentSettings.Mode.PREPAID:
        raise Http404
    account = perms.own_account(request.user)
    if account is None:
        raise Http404
    form = TopUpForm(request.POST or None)
    card = TestCardForm(request.POST or None) if server_confirm() else None
    if request.method == "POST" and form.is_valid() and (card is None or card.is_valid()):
        try:
            payment = payment_top_up(
                actor=request.user,
                account=account,
                amount_cents=form.cleaned_data["amount"],
                payment_method=card.cleaned_data["payment_method"] if card else None,
                token=form.cleaned_data.get("token") or None,
            )
        except ApplicationError as exc:
            messages.error(request, exc.message)
        else:
            return redirect("payments:payment", pk=payment.pk)
    return render(
        request,
        "payments/top_up.html",
        {"title": _("Recharger mon compte"), "form": form, "card": card},
    )


# --- Staff -----------------------------------------------------------------------------------


@role_required("staff", "admin")
def staff_home(request):
    finance = perms.is_finance(request.user)
    if request.method == "POST":
        perms.require_finance(request.user)  # the billing run is city-wide: finance only
    form = BillingRunForm(request.POST or None, initial={"period": previous_month()})
    if request.method == "POST" and form.is_valid():
        if form.cleaned_data["issue"] and needs_confirmation(request):
            # Billing and issuing at once emails every family: irreversible, so confirmed first.
            month = form.cleaned_data["period"].strftime("%m/%Y")
            return confirmation_page(
                request,
                title=_("Facturer et émettre %(period)s") % {"period": month},
                summary=[
                    _("Les factures de %(period)s sont calculées pour toutes les familles.")
                    % {"period": month},
                    _("Chaque payeur reçoit sa facture par e-mail et dans son espace."),
                ],
                warning=_("Une facture émise ne se modifie plus : seul un avoir peut la corriger."),
                confirm_label=_("Facturer, émettre et prévenir les familles"),
                cancel_url=reverse("payments:staff"),
            )
        try:
            period = billing_run_request(
                actor=request.user,
                period=form.cleaned_data["period"],
                issue=form.cleaned_data["issue"],
            )
        except ApplicationError as exc:
            form.add_error("period", exc.message)
        else:
            messages.success(
                request,
                _(
                    "Facturation de %(period)s lancée. Relancer la même période ne crée aucun doublon."
                )
                % {"period": f"{period:%m/%Y}"},
            )
            return redirect("payments:staff")
    households = perms.households_for_user(request.user).order_by("name")
    query = request.GET.get("q", "").strip()
    if query:
        households = households.filter(name__icontains=query)
    households = list(households[:50])  # type: ignore[assignment]  # the page's first 50
    runs = BillingRun.objects.select_related("triggered_by")[:10]
    drafts = (
        Invoice.objects.filter(status=Invoice.Status.DRAFT)
        .values("period")
        .annotate(n=Count("id"))
        .order_by("period")
    )
    return _no_store(
        render(
            request,
            "payments/staff_home.html",
            {
                "title": _("Gestion des paiements"),
                "form": form,
                "runs": runs,
                "households": households,
                "query": query,
                "export_form": ExportForm(initial={"period": previous_month(), "service": "all"}),
                "drafts": drafts,
                "is_finance": finance,
                "open_findings": Finding.objects.filter(status=Finding.Status.OPEN).count()
                if finance
                else 0,
            },
        )
    )


@role_required("staff", "admin")
@require_POST
def staff_issue(request):
    from .services.billing import invoices_issue, parse_period

    perms.require_finance(request.user)
    try:
        period = parse_period(request.POST.get("period", ""))
    except ApplicationError as exc:
        messages.error(request, exc.message)
        return redirect("payments:staff")
    if needs_confirmation(request):
        drafts = Invoice.objects.filter(status=Invoice.Status.DRAFT, period=period)
        n = drafts.count()
        total = sum(drafts.values_list("total_cents", flat=True))
        return confirmation_page(
            request,
            title=_("Émettre les factures de %(period)s") % {"period": period.strftime("%m/%Y")},
            summary=[
                _("%(n)d factures en brouillon, %(total)s au total")
                % {"n": n, "total": format_money(total)},
                _("Chaque payeur reçoit sa facture par e-mail et dans son espace."),
            ],
            warning=_("Une facture émise ne se modifie plus : seul un avoir peut la corriger."),
            confirm_label=_("Émettre et prévenir les familles"),
            cancel_url=reverse("payments:staff"),
        )
    count = invoices_issue(period=period, actor=request.user)
    messages.success(request, _("%(count)d factures émises.") % {"count": count})
    return redirect("payments:staff")


@role_required("staff", "admin")
def staff_household(request, household_id):
    household = perms.household_for_user(request.user, household_id)
    accounts = list(
        perms.accounts_for_user(request.user)
        .filter(household=household)
        .select_related("guardian__user")
    )
    balances = balances_for_accounts(account_ids=[a.pk for a in accounts])
    for account in accounts:
        # Attributes set on the instances for the template.
        account.balance = balances.get(account.pk, 0)  # type: ignore[attr-defined]
        account.open_invoices = list(account.invoices.filter(status__in=Invoice.OPEN_STATUSES))  # type: ignore[attr-defined]
        account.counter_form = CounterPaymentForm(  # type: ignore[attr-defined]
            invoices=account.open_invoices,  # type: ignore[attr-defined]
            prefix=f"a{account.pk}",
        )
        account.adjustment_form = AdjustmentForm(prefix=f"adj{account.pk}")  # type: ignore[attr-defined]
    invoices = Invoice.objects.filter(household=household).order_by("-period")
    payments = Payment.objects.filter(household=household).prefetch_related("refunds")
    return _no_store(
        render(
            request,
            "payments/staff_household.html",
            {
                "title": household.name,
                "household": household,
                "accounts": accounts,
                "invoices": invoices,
                "payments": payments,
                "refund_form": RefundForm(),
                "cancel_form": CancelInvoiceForm(),
                "mode_now": billing_mode_of(
                    household_id=household.pk, period=timezone.localdate().replace(day=1)
                ),
                "mode_changes": household.billing_mode_changes.order_by("-effective_from"),
                "mode_form": BillingModeForm(initial={"effective_from": next_month()}),
                "is_finance": perms.is_finance(request.user),
            },
        )
    )


@role_required("staff", "admin")
@require_POST
def staff_counter_payment(request, account_id):
    from .services.payments import payment_record_counter

    account = perms.account_for_user(request.user, account_id)
    open_invoices = list(account.invoices.filter(status__in=Invoice.OPEN_STATUSES))
    form = CounterPaymentForm(request.POST, invoices=open_invoices, prefix=f"a{account.pk}")
    if form.is_valid():
        chosen = [i for i in open_invoices if str(i.pk) in form.cleaned_data["invoices"]]
        try:
            payment = payment_record_counter(
                actor=request.user,
                account=account,
                method=form.cleaned_data["method"],
                amount_cents=form.cleaned_data["amount"],
                invoices=chosen,
                reference=form.cleaned_data["reference"],
                idempotency_key=form.cleaned_data["token"],
            )
        except ApplicationError as exc:
            messages.error(request, exc.message)
        else:
            messages.success(
                request, _("Paiement %(number)s enregistré.") % {"number": payment.receipt_number}
            )
    else:
        messages.error(
            request, _("Paiement non enregistré : %(errors)s") % {"errors": _form_errors(form)}
        )
    return redirect("payments:staff-household", household_id=account.household_id)


def _form_errors(form) -> str:
    return " ".join(
        f"{form.fields[f].label if f in form.fields else ''} {' '.join(e)}".strip()
        for f, e in form.errors.items()
    )


@role_required("staff", "admin")
@require_POST
def staff_refund(request, pk):
    from .services.payments import refund_create

    payment = perms.payment_for_user(request.user, pk)
    form = RefundForm(request.POST)
    if form.is_valid():
        try:
            refund = refund_create(
                actor=request.user,
                payment=payment,
                amount_cents=form.cleaned_data["amount"],
                reason=form.cleaned_data["reason"],
                token=form.cleaned_data["token"],
            )
        except ApplicationError as exc:
            messages.error(request, exc.message)
        else:
            if refund.status == Refund.Status.PENDING:
                messages.warning(
                    request,
                    _(
                        "Remboursement de %(amount)s envoyé, en attente de confirmation du "
                        "prestataire : ne le refaites pas, il sera confirmé automatiquement."
                    )
                    % {"amount": format_money(refund.amount_cents, refund.currency)},
                )
            else:
                messages.success(
                    request,
                    _("Remboursement de %(amount)s effectué.")
                    % {"amount": format_money(refund.amount_cents, refund.currency)},
                )
    else:
        messages.error(
            request, _("Remboursement non effectué : %(errors)s") % {"errors": _form_errors(form)}
        )
    return redirect("payments:staff-household", household_id=payment.household_id)


@role_required("staff", "admin")
@require_POST
def staff_cancel_invoice(request, pk):
    from .services.billing import invoice_cancel

    invoice = perms.invoice_for_user(request.user, pk)
    form = CancelInvoiceForm(request.POST)
    if form.is_valid():
        try:
            invoice_cancel(invoice=invoice, actor=request.user, reason=form.cleaned_data["reason"])
        except ApplicationError as exc:
            messages.error(request, exc.message)
        else:
            messages.success(
                request, _("Facture annulée ; un avoir a été inscrit au compte de la famille.")
            )
    else:
        messages.error(request, _("Indiquez le motif de l'annulation."))
    return redirect("payments:staff-household", household_id=invoice.household_id)


@role_required("staff", "admin")
def staff_export(request):
    from .services.accounting import treasury_export_csv

    perms.require_finance(request.user)
    form = ExportForm(request.GET or None)
    if not form.is_valid():
        messages.error(
            request,
            _("Export impossible : %(errors)s")
            % {"errors": _form_errors(form) if form.is_bound else ""},
        )
        return redirect("payments:staff")
    period, service = form.cleaned_data["period"], form.cleaned_data["service"]
    response = HttpResponse(
        treasury_export_csv(period=period, service=service),
        content_type="text/csv; charset=utf-8",
    )
    response["Content-Disposition"] = (
        f'attachment; filename="tresorerie-{period:%Y-%m}-{service}.csv"'
    )
    return _no_store(response)


@role_required("staff", "admin")
def staff_reconciliation(request):
    from .forms import PeriodField
    from .services.accounting import reconcile_stripe_period

    perms.require_finance(request.user)
    report = None
    period_value = request.GET.get("period") or previous_month()
    try:
        period = PeriodField().clean(period_value)
    except ValidationError:
        period = None
        messages.error(request, _("Période invalide."))
    if period is not None and request.GET.get("period"):
        report = reconcile_stripe_period(period=period)
    return render(
        request,
        "payments/staff_reconciliation.html",
        {"title": _("Rapprochement avec le prestataire"), "report": report, "period": period_value},
    )


@role_required("staff", "admin")
def staff_findings(request):
    """Money anomalies for finance: overpayments, reversals, refunds larger than the payment,
    events that did not match, audit findings. Marking one handled keeps it listed."""
    perms.require_finance(request.user)
    if request.method == "POST":
        note = (request.POST.get("resolution") or "").strip()[:255]
        updated = Finding.objects.filter(
            pk=request.POST.get("finding") or 0, status=Finding.Status.OPEN
        ).update(
            status=Finding.Status.RESOLVED,
            resolution=note or _("Traité par %(user)s") % {"user": request.user.email},
            resolved_at=timezone.now(),
        )
        if updated:
            audit_record(
                action="payments.finding_resolve",
                actor=request.user,
                target_type="payments.finding",
                target_id=request.POST.get("finding"),
                data={"resolution": note},
            )
            messages.success(request, _("Anomalie marquée comme traitée."))
        return redirect("payments:staff-findings")
    findings = Finding.objects.select_related("payment", "invoice", "household")[:200]
    return _no_store(
        render(
            request,
            "payments/staff_findings.html",
            {"title": _("Anomalies de paiement"), "findings": findings},
        )
    )


@role_required("staff", "admin")
@require_POST
def staff_billing_mode(request, household_id):
    """Schedule a household's billing mode from the 1st of a month that has not started."""
    from .services.modes import billing_mode_change

    household = perms.household_for_user(request.user, household_id)
    form = BillingModeForm(request.POST)
    if form.is_valid():
        try:
            billing_mode_change(
                actor=request.user,
                household=household,
                mode=form.cleaned_data["mode"],
                effective_from=form.cleaned_data["effective_from"],
                reason=form.cleaned_data["reason"],
            )
        except ApplicationError as exc:
            messages.error(request, exc.message)
        else:
            messages.success(request, _("Changement de mode enregistré."))
    else:
        messages.error(request, _("Changement non enregistré : %(e)s") % {"e": _form_errors(form)})
    return redirect("payments:staff-household", household_id=household.pk)


@role_required("staff", "admin")
@require_POST
def staff_adjustment(request, account_id):
    """Finance records a correction on a payer's balance (a won dispute, a late correction):
    a new ``adjustment`` ledger entry with its reason, never an edit."""
    from .services.ledger import ledger_adjustment_add

    account = get_or_404(perms.accounts_for_user(request.user), account_id)
    perms.require_finance(request.user)
    form = AdjustmentForm(request.POST, prefix=f"adj{account.pk}")
    if form.is_valid():
        try:
            ledger_adjustment_add(
                account=account,
                amount_cents=form.signed_cents(),
                reason=form.cleaned_data["reason"],
                actor=request.user,
            )
        except ApplicationError as exc:
            messages.error(request, exc.message)
        else:
            messages.success(request, _("Régularisation enregistrée."))
    else:
        messages.error(
            request, _("Régularisation non enregistrée : %(e)s") % {"e": _form_errors(form)}
        )
    return redirect("payments:staff-household", household_id=account.household_id)
