"""Sessions of people who must give a second factor reach nothing else until they have."""

from __future__ import annotations

from urllib.parse import urlencode

from django.http import JsonResponse
from django.shortcuts import redirect
from django.urls import reverse
from django.utils.translation import gettext as _

from .twofactor import two_factor_enabled, two_factor_required

ALWAYS_ALLOWED = ("/static/", "/csp-report/", "/i18n/", "/healthz", "/readyz", "/deconnexion/")


class TwoFactorMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        user = getattr(request, "user", None)
        if (
            user is not None
            and user.is_authenticated
            and not user.is_verified()
            and not request.path.startswith(ALWAYS_ALLOWED)
            and two_factor_required(user)
        ):
            verify, setup = reverse("account-2fa-verify"), reverse("account-2fa-setup")
            if request.path in (verify, setup):
                return self.get_response(request)
            if request.path.startswith("/api/"):
                return JsonResponse(
                    {
                        "message": _("Double authentification requise."),
                        "extra": {"otp_required": True},
                    },
                    status=403,
                )
            target = verify if two_factor_enabled(user) else setup
            return redirect(f"{target}?{urlencode({'next': request.get_full_path()})}")
        return self.get_response(request)
