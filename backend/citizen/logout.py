"""RP-initiated logout (OpenID Connect RP-Initiated Logout 1.0) for the single logout view
(``backend.core.views.LogoutView``, through ``settings.MINOT_LOGOUT_REDIRECTS``).

Two parts:

- ``end_session_redirect(request)``: for a person who signed in through one of the city's
  providers that announces an ``end_session_endpoint``, the URL there (``id_token_hint``,
  ``client_id``, ``state``, ``post_logout_redirect_uri=<site>/connexion/``); ``None`` otherwise
  (password sign-in, provider without the endpoint or unreachable: the logout stays local).
- ``EndSessionFormActionMiddleware``: « Se déconnecter » is a form, and browsers apply the page's
  CSP ``form-action`` to the redirects that follow a form submission. For those sessions only,
  the pages add the end-session endpoint's origin to ``form-action``; everyone else keeps
  ``form-action 'self'``.
"""

from __future__ import annotations

from collections.abc import Callable
from urllib.parse import urlsplit

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.urls import reverse

from . import providers
from .providers import SignInError

SESSION_PROVIDER = "citizen_provider"
SESSION_ID_TOKEN = "citizen_id_token"
SESSION_END_SESSION_ORIGIN = "citizen_end_session_origin"


def remember_sign_in(request: HttpRequest, p: providers.Provider, id_token: str) -> None:
    """Called right after ``login()``: what the logout will need."""
    request.session[SESSION_PROVIDER] = p.name
    request.session[SESSION_ID_TOKEN] = id_token
    try:
        endpoint = providers.metadata(p).get("end_session_endpoint") or ""
    except SignInError:
        endpoint = ""
    parts = urlsplit(endpoint)
    if parts.scheme in ("http", "https") and parts.netloc:
        request.session[SESSION_END_SESSION_ORIGIN] = f"{parts.scheme}://{parts.netloc}"


def end_session_redirect(request: HttpRequest) -> str | None:
    name = request.session.get(SESSION_PROVIDER)
    id_token = request.session.get(SESSION_ID_TOKEN)
    p = providers.provider(name) if name else None
    if p is None or not id_token:
        return None
    back = request.build_absolute_uri(reverse(settings.LOGOUT_REDIRECT_URL))
    return providers.end_session_url(p, id_token, back)


class EndSessionFormActionMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        # Read before the view runs: the logout view empties the session.
        session = getattr(request, "session", None)
        origin = session.get(SESSION_END_SESSION_ORIGIN) if session is not None else None
        response = self.get_response(request)
        if origin:
            update = dict(getattr(response, "_csp_update", None) or {})
            update["form-action"] = [*update.get("form-action", []), origin]
            response._csp_update = update  # type: ignore[attr-defined]
        return response
