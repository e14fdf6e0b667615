"""Pages and API through their public surface; who reaches what (roles × objects)."""

import datetime as dt

import pytest
from django.urls import reverse

from family.models import School
from payments.models import Account, Invoice, LedgerEntry, Payment, Refund
from payments.services.payments import payment_record_counter
from tests.conftest import api_client_for
from tests.factories import StaffFactory, TechnicianFactory

from .factories import billed_family, extra_invoice

pytestmark = pytest.mark.django_db


@pytest.fixture
def two_families():
    a = billed_family(email="a@example.test")
    b = billed_family(email="b@example.test")
    return a, b


def _staff_of(school):
    staff = StaffFactory()
    school.staff.add(staff)
    return staff


# --- roles × objects ---------------------------------------------------------------------------


def test_parent_sees_only_own_invoices_in_api(two_families):
    (_ha, ua, _ka, inv_a), (_hb, _ub, _kb, inv_b) = two_families
    client = api_client_for(ua)
    response = client.get(reverse("payments-api:invoices"))
    assert response.status_code == 200
    assert [row["id"] for row in response.json()["results"]] == [inv_a.pk]
    assert client.get(reverse("payments-api:invoice", args=[inv_b.pk])).status_code == 404
    detail = client.get(reverse("payments-api:invoice", args=[inv_a.pk])).json()
    assert detail["total_cents"] == 980
    assert len(detail["lines"]) == 4


def test_paying_someone_elses_invoice_is_404_and_writes_nothing(two_families):
    (_ha, ua, _ka, inv_a), (_hb, _ub, _kb, inv_b) = two_families
    client = api_client_for(ua)
    response = client.post(
        reverse("payments-api:payments"), {"invoices": [inv_a.pk, inv_b.pk]}, format="json"
    )
    assert response.status_code == 404
    assert Payment.objects.count() == 0
    # and through the page
    from django.test import Client

    web = Client()
    web.force_login(ua)
    assert web.get(reverse("payments:pay"), {"invoice": inv_b.pk}).status_code == 404
    assert (
        web.post(
            reverse("payments:pay"), {"invoice": [inv_b.pk], "payment_method": "pm_card_visa"}
        ).status_code
        == 404
    )
    assert Payment.objects.count() == 0


@pytest.mark.parametrize(
    "role", ["staff_same_school", "staff_other_school", "admin", "technician", "other_parent"]
)
def test_roles_on_invoice_payment_and_receipt(two_families, role, admin_user, client):
    (ha, _ua, ka, inv_a), (_hb, ub, _kb, _inv_b) = two_families
    payment = payment_record_counter(
        actor=admin_user, account=inv_a.account, method="cash", amount_cents=980, invoices=[inv_a]
    )
    user = {
        "staff_same_school": lambda: _staff_of(ka[0].school),
        "staff_other_school": lambda: _staff_of(School.objects.create(code="X1", name="Autre")),
        "admin": lambda: admin_user,
        "technician": lambda: TechnicianFactory(),
        "other_parent": lambda: ub,
    }[role]()
    allowed = role in ("staff_same_school", "admin")
    expected = 200 if allowed else 404
    api = api_client_for(user)
    assert api.get(reverse("payments-api:invoice", args=[inv_a.pk])).status_code == expected
    assert api.get(reverse("payments-api:payment", args=[payment.pk])).status_code == expected
    client.force_login(user)
    assert client.get(reverse("payments:invoice", args=[inv_a.pk])).status_code == expected
    assert client.get(reverse("payments:receipt", args=[payment.pk])).status_code == expected
    refund = api.post(
        reverse("payments-api:payment-refunds", args=[payment.pk]),
        {"amount_cents": 100, "reason": "test"},
        format="json",
    )
    assert refund.status_code == (201 if allowed else 404)
    assert Refund.objects.count() == (1 if allowed else 0)
    household_page = client.get(reverse("payments:staff-household", args=[ha.pk]))
    assert household_page.status_code == expected


def test_anonymous_gets_login_redirect_and_api_401(client, api_client, two_families):
    assert client.get(reverse("payments:home")).status_code == 302
    assert api_client.get(reverse("payments-api:invoices")).status_code == 401


def test_staff_list_is_scoped_to_their_schools(two_families):
    (_ha, _ua, ka, inv_a), (_hb, _ub, _kb, _inv_b) = two_families
    staff = _staff_of(ka[0].school)
    ids = [
        r["id"]
        for r in api_client_for(staff).get(reverse("payments-api:invoices")).json()["results"]
    ]
    assert ids == [inv_a.pk]


# --- money rules through the API -------------------------------------------------------------------


def test_refund_over_what_was_paid_is_refused_and_nothing_changes(admin_user):
    _h, _u, _k, invoice = billed_family()
    payment = payment_record_counter(
        actor=admin_user,
        account=invoice.account,
        method="cash",
        amount_cents=500,
        invoices=[invoice],
    )
    api = api_client_for(admin_user)
    url = reverse("payments-api:payment-refunds", args=[payment.pk])
    assert (
        api.post(url, {"amount_cents": 300, "reason": "repas annulé"}, format="json").status_code
        == 201
    )
    response = api.post(url, {"amount_cents": 201, "reason": "trop"}, format="json")
    assert response.status_code == 400
    assert "2,00" in response.json()["message"]
    assert api.post(url, {"amount_cents": 2.5, "reason": "float"}, format="json").status_code == 400
    assert api.post(url, {"amount_cents": -5, "reason": "neg"}, format="json").status_code == 400
    payment.refresh_from_db()
    assert payment.refunded_cents == 300
    assert list(
        LedgerEntry.objects.filter(kind="refund").values_list("amount_cents", flat=True)
    ) == [-300]


def test_counter_payment_partial_then_full(admin_user):
    _h, _u, _k, invoice = billed_family()  # 9,80 €
    payment_record_counter(
        actor=admin_user,
        account=invoice.account,
        method="cheque",
        amount_cents=480,
        invoices=[invoice],
        reference="123",
    )
    invoice.refresh_from_db()
    assert (invoice.status, invoice.paid_cents) == (Invoice.Status.PARTIALLY_PAID, 480)
    payment_record_counter(
        actor=admin_user,
        account=invoice.account,
        method="cash",
        amount_cents=500,
        invoices=[invoice],
    )
    invoice.refresh_from_db()
    assert invoice.status == Invoice.Status.PAID
    balance = sum(
        LedgerEntry.objects.filter(account=invoice.account).values_list("amount_cents", flat=True)
    )
    assert balance == 0


def test_api_bad_input_is_4xx_never_500(two_families):
    (_ha, ua, _ka, inv_a), _ = two_families
    api = api_client_for(ua)
    for body in (
        {},
        {"invoices": []},
        {"invoices": ["x"]},
        {"invoices": [inv_a.pk], "payment_method": "bad id"},
    ):
        response = api.post(reverse("payments-api:payments"), body, format="json")
        assert response.status_code == 400, body
        assert "message" in response.json()
    assert api.get(reverse("payments-api:invoices"), {"period": "2026-99"}).status_code == 400
    assert api.get(reverse("payments-api:invoices"), {"status": "nope"}).status_code == 400


# --- pages ---------------------------------------------------------------------------------


@pytest.mark.usefixtures("frozen_clock")  # billing periods of 2026: never today's date
def test_parent_pages_render(client):
    _h, user, _k, invoice = billed_family()
    extra_invoice(user=user, period=dt.date(2026, 9, 1))
    client.force_login(user)
    home = client.get(reverse("payments:home"))
    assert home.status_code == 200
    assert invoice.number.encode() in home.content
    assert home["Cache-Control"] == "no-store"
    pay = client.get(reverse("payments:pay"), {"invoice": [invoice.pk]})
    assert pay.status_code == 200
    for name in ("payments:history", "payments:sepa"):
        assert client.get(reverse(name)).status_code == 200
    assert client.get(reverse("payments:invoice", args=[invoice.pk])).status_code == 200
    pdf = client.get(reverse("payments:certificate", args=[2026]))
    assert pdf.status_code == 200
    assert pdf.content.startswith(b"%PDF")
    assert "attachment" in pdf["Content-Disposition"]


def test_staff_counter_refund_cancel_and_export_pages(client, admin_user):
    household, _user, _k, invoice = billed_family()
    account = Account.objects.get(pk=invoice.account_id)
    client.force_login(admin_user)
    page = client.get(reverse("payments:staff-household", args=[household.pk]))
    assert page.status_code == 200
    token = page.context["accounts"][0].counter_form.initial["token"]
    data = {
        f"a{account.pk}-method": "cash",
        f"a{account.pk}-amount": "9,80",
        f"a{account.pk}-invoices": [str(invoice.pk)],
        f"a{account.pk}-token": token,
    }
    url = reverse("payments:staff-counter", args=[account.pk])
    assert client.post(url, data).status_code == 302
    assert client.post(url, data).status_code == 302  # double submit: same token, one payment
    assert Payment.objects.count() == 1
    invoice.refresh_from_db()
    assert invoice.status == Invoice.Status.PAID
    payment = Payment.objects.get()
    client.post(
        reverse("payments:staff-refund", args=[payment.pk]),
        {"amount": "2,45", "reason": "absence justifiée"},
    )
    payment.refresh_from_db()
    assert payment.refunded_cents == 245
    client.post(
        reverse("payments:staff-refund", args=[payment.pk]), {"amount": "abc", "reason": "x"}
    )
    payment.refresh_from_db()
    assert payment.refunded_cents == 245
    receipt = client.get(reverse("payments:receipt", args=[payment.pk]))
    assert receipt.content.startswith(b"%PDF")
    export = client.get(
        reverse("payments:staff-export"), {"period": timezone_period(), "service": "all"}
    )
    assert export.status_code == 200
    assert export["Content-Type"].startswith("text/csv")
    text = export.content.decode("utf-8-sig")
    assert "montant_centimes" in text.splitlines()[0]
    assert "-980" in text
    assert "980" in text
    assert "-245" in text
    assert client.get(reverse("payments:staff-export"), {"period": "nope"}).status_code == 302
    assert client.get(reverse("payments:staff")).status_code == 200


@pytest.mark.usefixtures("frozen_clock")  # billing periods of 2026: never today's date
def test_staff_billing_run_page_starts_the_run(
    client, admin_user, django_capture_on_commit_callbacks
):
    from payments.sources import use_meal_source
    from tests.factories import household_with_parent

    from .factories import MealSource, meals_for, school_days

    _h, _u, kids = household_with_parent(children=1)
    client.force_login(admin_user)
    with use_meal_source(MealSource(meals_for(kids, school_days(2026, 10, 3)))):
        # billing and issuing at once emails every family: a confirmation page first, nothing run
        with django_capture_on_commit_callbacks(execute=True):
            page = client.post(reverse("payments:staff"), {"period": "2026-10", "issue": "on"})
        assert page.status_code == 200
        assert "Facturer, émettre et prévenir les familles" in page.content.decode()
        assert not Invoice.objects.exists()
        with django_capture_on_commit_callbacks(execute=True):
            response = client.post(
                reverse("payments:staff"), {"period": "2026-10", "issue": "on", "confirmed": "1"}
            )
    assert response.status_code == 302
    assert Invoice.objects.get().status == Invoice.Status.ISSUED
    bad = client.post(reverse("payments:staff"), {"period": "2999-01"})
    assert bad.status_code == 200
    assert "pas commencé" in bad.content.decode()


def timezone_period():
    from django.utils import timezone

    return timezone.localdate().strftime("%Y-%m")


# --- default months in the staff forms -----------------------------------------------------------


def test_staff_forms_default_to_a_month_the_period_field_accepts(client, admin_user, time_machine):
    """Observed: the export form's default period was ``2026-10-31`` in a field whose pattern is
    ``YYYY-MM`` (maxlength 7), so the browser refused to submit it and no CSV came (a type-ignore
    comment had swallowed the ``strftime``). Defaults are ``YYYY-MM``, across a year end too."""
    import zoneinfo

    paris = zoneinfo.ZoneInfo("Europe/Paris")
    time_machine.move_to(dt.datetime(2027, 1, 15, 10, 0, tzinfo=paris), tick=False)
    household, _user, _kids, _invoice = billed_family(email="mois@example.test")
    client.force_login(admin_user)
    page = client.get(reverse("payments:staff")).content.decode()
    assert page.count('name="period" value="2026-12"') == 2  # billing run and export
    page = client.get(reverse("payments:staff-household", args=[household.pk])).content.decode()
    assert 'name="effective_from" value="2027-02"' in page
    page = client.get(reverse("payments:staff-reconciliation")).content.decode()
    assert "2026-12-31" not in page
    # the default export is downloadable as it stands
    response = client.get(reverse("payments:staff-export"), {"period": "2026-12", "service": "all"})
    assert response.status_code == 200
    assert response["Content-Disposition"].endswith('"tresorerie-2026-12-all.csv"')
