"""The one place that decides who reaches which payment object. Foreign objects answer 404.

- a parent reaches the invoices, payments and accounts of their own household;
- school staff reach those of households with a child in one of their schools, and act for them
  at the counter (audited);
- city administrators reach everything;
- anybody else (technicians, anonymous) reaches nothing.

City-wide money work (billing runs, issuing invoices, treasury exports, reconciliation with the
provider, the anomalies list, billing-mode changes) belongs to finance: :func:`is_finance` — a
city administrator, or a user given the Django permission ``payments.manage_finance``. School
staff keep the counter work for their schools' families.
"""

from __future__ import annotations

from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.http import Http404

from backend.core.access import (
    get_or_404,
    households_reached_by,
    is_city_admin,
    is_parent,
    is_staff_or_admin,
)
from family.models import Household

from .models import Account, Invoice, Payment


def households_for_user(user) -> QuerySet[Household]:
    """The households the user reaches (:func:`backend.core.access.households_reached_by`)."""
    return households_reached_by(user)


def household_for_user(user, household_id) -> Household:
    return get_or_404(households_for_user(user), household_id)


def accounts_for_user(user) -> QuerySet[Account]:
    return Account.objects.filter(household__in=households_for_user(user).values("pk"))


def own_account(user) -> Account | None:
    """The parent's own payer account (None when they are not a billing payer yet)."""
    if not is_parent(user):
        raise Http404
    return Account.objects.filter(guardian__user=user).select_related("household").first()


def account_for_user(user, account_id) -> Account:
    return get_or_404(
        accounts_for_user(user).select_related("guardian__user", "household"), account_id
    )


def invoices_for_user(user) -> QuerySet[Invoice]:
    qs = Invoice.objects.filter(household__in=households_for_user(user).values("pk"))
    if is_parent(user):
        qs = qs.exclude(status=Invoice.Status.DRAFT)  # drafts are not the family's business yet
    return qs


def invoice_for_user(user, invoice_id) -> Invoice:
    return get_or_404(invoices_for_user(user).select_related("account", "household"), invoice_id)


def payments_for_user(user) -> QuerySet[Payment]:
    return Payment.objects.filter(household__in=households_for_user(user).values("pk"))


def payment_for_user(user, payment_id) -> Payment:
    return get_or_404(payments_for_user(user).select_related("account", "household"), payment_id)


def is_finance(user) -> bool:
    """City administrators, or anyone holding ``payments.manage_finance`` (Django admin)."""
    if not (user and user.is_authenticated and user.is_active):
        return False
    return is_city_admin(user) or user.has_perm("payments.manage_finance")


def require_finance(user) -> None:
    """Finance actions refused to others with 403 (the page exists, the action is not theirs)."""
    if not is_finance(user):
        raise PermissionDenied


def finance_users():
    from backend.accounts.models import User

    return [u for u in User.objects.filter(is_active=True) if is_finance(u)]


def can_manage(user) -> bool:
    """Staff work: counter payments, refunds, billing runs, exports."""
    return is_staff_or_admin(user)


def require_manager(user) -> None:
    if not can_manage(user):
        raise Http404
