"""The account page (/compte/): profile, password, two-factor, API tokens, data export."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404
from django.shortcuts import redirect, render
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST
from django_otp import login as otp_login

from backend.core.access import is_parent
from backend.core.exceptions import ApplicationError

from . import twofactor
from .forms import ProfileForm
from .selectors import api_token_list
from .services import api_token_revoke, profile_update


@never_cache
@login_required
def account(request):
    user = request.user
    form = ProfileForm(
        request.POST or None, initial={"phone": user.phone, "language": user.language}
    )
    if request.method == "POST" and form.is_valid():
        try:
            profile_update(user=user, **form.cleaned_data)
            messages.success(request, _("Profil enregistré."))
            response = redirect("account")
            response.set_cookie("django_language", user.language, samesite="Lax")
            return response
        except ApplicationError as exc:
            form.add_error(None, exc.message)
    return render(
        request,
        "accounts/account.html",
        {
            "title": _("Mon compte"),
            "form": form,
            "tokens": api_token_list(user=user),
            "two_factor_enabled": twofactor.two_factor_enabled(user),
            "two_factor_enforced": twofactor.two_factor_enforced_for_role(user),
            "recovery_codes_left": twofactor.recovery_codes_left(user),
            "is_parent": is_parent(user),
        },
    )


@login_required
@require_POST
def token_revoke(request, key: str):
    try:
        api_token_revoke(user=request.user, token_key=key)
    except ApplicationError:
        raise Http404  # another person's token or none: the same answer
    messages.success(request, _("Jeton révoqué."))
    return redirect("account")


@never_cache
@login_required
def two_factor_setup(request):
    # Replacing an enabled app needs the current second factor first (else a stolen password
    # would be enough to enrol the thief's phone).
    if twofactor.two_factor_enabled(request.user) and not request.user.is_verified():
        return redirect("account-2fa-verify")
    codes = None
    if request.method == "POST":
        try:
            codes = twofactor.totp_device_confirm(user=request.user, code=request.POST.get("code"))
            from django_otp.plugins.otp_totp.models import TOTPDevice

            otp_login(request, TOTPDevice.objects.get(user=request.user, confirmed=True))
            messages.success(request, _("Double authentification activée."))
        except ApplicationError as exc:
            messages.error(request, exc.message)
    if codes is not None:
        return render(
            request,
            "accounts/recovery_codes.html",
            {"title": _("Codes de secours"), "codes": codes, "next": _safe_next(request)},
        )
    device = twofactor.totp_device_start(user=request.user)
    return render(
        request,
        "accounts/two_factor_setup.html",
        {
            "title": _("Activer la double authentification"),
            "qr": twofactor.totp_qr_data_uri(device),
            "secret": twofactor.totp_secret(device),
            "enforced": twofactor.two_factor_enforced_for_role(request.user),
            "next": _safe_next(request),
        },
    )


def _safe_next(request) -> str:
    target = request.POST.get("next") or request.GET.get("next") or ""
    if target and url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return target
    return ""


@never_cache
@login_required
def two_factor_verify(request):
    if not twofactor.two_factor_enabled(request.user):
        return redirect("account-2fa-setup")
    if request.method == "POST":
        device = twofactor.two_factor_match(user=request.user, code=request.POST.get("code"))
        if device is not None:
            otp_login(request, device)
            return redirect(_safe_next(request) or "home")
        messages.error(request, _("Ce code n'est pas valable."))
    return render(
        request,
        "accounts/two_factor_verify.html",
        {"title": _("Double authentification"), "next": _safe_next(request)},
    )


@login_required
@require_POST
def two_factor_disable(request):
    try:
        twofactor.two_factor_disable(user=request.user)
        messages.success(request, _("Double authentification désactivée."))
    except ApplicationError as exc:
        messages.error(request, exc.message)
    return redirect("account")


@never_cache
@login_required
@require_POST
def recovery_codes(request):
    try:
        codes = twofactor.recovery_codes_regenerate(user=request.user)
    except ApplicationError as exc:
        messages.error(request, exc.message)
        return redirect("account")
    return render(
        request, "accounts/recovery_codes.html", {"title": _("Codes de secours"), "codes": codes}
    )
