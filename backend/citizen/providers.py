"""The city's OpenID Connect providers, as the environment configures them, and the protocol work.

Authlib does the protocol: discovery, authorization code flow with PKCE (S256), state and nonce kept
in the session, the code exchanged at the token endpoint, the ID token's signature checked against
the provider's JWKS (refetched when a new key id appears) and its ``iss``, ``aud``, ``exp``, ``iat``
and ``nonce`` claims validated. This module adds what Minot requires on top: the discovery
document's issuer must be the configured one, an ID token is mandatory, ``acr``/``amr`` are
checked when configured, and every failure becomes one :class:`SignInError` with a reason code.
"""

from __future__ import annotations

import logging
import secrets
import threading
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

import requests
from authlib.common.errors import AuthlibBaseError
from authlib.integrations.base_client import MismatchingStateError, OAuthError
from authlib.integrations.django_client import DjangoOAuth2App, OAuth
from django.conf import settings
from django.http import HttpRequest, HttpResponse
from joserfc import jwt
from joserfc.errors import InvalidKeyIdError, JoseError
from joserfc.jwk import KeySet

logger = logging.getLogger(__name__)

CITIZEN = "citizen"
STAFF = "staff"


class SignInError(Exception):
    """A sign-in that cannot go on. ``reason`` picks the page shown (see views.ERROR_PAGES)."""

    def __init__(self, reason: str, detail: str = ""):
        super().__init__(f"{reason}: {detail}" if detail else reason)
        self.reason = reason
        self.detail = detail


@dataclass(frozen=True)
class Provider:
    name: str  # CITIZEN or STAFF
    issuer: str
    client_id: str
    client_secret: str
    scopes: str
    acr_values: str
    required_amr: tuple[str, ...]
    timeout: float

    @property
    def discovery_url(self) -> str:
        return f"{self.issuer.rstrip('/')}/.well-known/openid-configuration"


def provider(name: str) -> Provider | None:
    """The provider ``name`` as configured, or None when its issuer is unset."""
    prefix = "OIDC_" if name == CITIZEN else "OIDC_STAFF_"
    issuer = getattr(settings, f"{prefix}ISSUER", "")
    if not issuer:
        return None
    return Provider(
        name=name,
        issuer=issuer,
        client_id=getattr(settings, f"{prefix}CLIENT_ID", ""),
        client_secret=getattr(settings, f"{prefix}CLIENT_SECRET", ""),
        scopes=getattr(settings, f"{prefix}SCOPES", "openid"),
        acr_values=getattr(settings, f"{prefix}ACR_VALUES", ""),
        required_amr=tuple(getattr(settings, f"{prefix}REQUIRED_AMR", ())),
        timeout=settings.OIDC_TIMEOUT,
    )


def configured_providers() -> list[Provider]:
    return [p for p in (provider(CITIZEN), provider(STAFF)) if p is not None]


_clients: dict[Provider, DjangoOAuth2App] = {}
_clients_lock = threading.Lock()


def _client(p: Provider) -> DjangoOAuth2App:
    """One Authlib client per configuration, kept for the process: it caches the discovery
    document and the JWKS (a failed fetch is not cached, the next request tries again)."""
    with _clients_lock:
        client = _clients.get(p)
        if client is None:
            oauth = OAuth()
            client = oauth.register(
                name=p.name,
                client_id=p.client_id,
                client_secret=p.client_secret,
                server_metadata_url=p.discovery_url,
                client_kwargs={
                    "scope": p.scopes,
                    "code_challenge_method": "S256",
                    "default_timeout": p.timeout,
                },
            )
            _clients[p] = client
        return client


def metadata(p: Provider) -> dict[str, Any]:
    """The provider's discovery document; SignInError("unreachable") if it cannot be read."""
    client = _client(p)
    try:
        data = client.load_server_metadata()
    except (requests.RequestException, ValueError) as exc:
        logger.warning("OpenID provider %s unreachable: %s", p.issuer, exc)
        raise SignInError("unreachable", str(exc))
    if data.get("issuer", "").rstrip("/") != p.issuer.rstrip("/"):
        # OpenID Connect Discovery §4.3: the document must name the issuer we asked.
        client.server_metadata.clear()
        raise SignInError("unreachable", f"discovery issuer {data.get('issuer')!r}")
    return data


def state_key(p: Provider, state: str) -> str:
    return f"_state_{p.name}_{state}"


def authorize_redirect(request: HttpRequest, p: Provider, redirect_uri: str) -> HttpResponse:
    """302 to the provider's authorization endpoint (state, nonce and PKCE kept in the session)."""
    metadata(p)
    # 256-bit state and nonce (FranceConnect asks for at least 32 characters).
    extra = {"state": secrets.token_urlsafe(32), "nonce": secrets.token_urlsafe(32)}
    if p.acr_values:
        extra["acr_values"] = p.acr_values
    return _client(p).authorize_redirect(request, redirect_uri, **extra)


def provider_for_state(request: HttpRequest) -> Provider:
    """Which provider this callback answers, from the state it started; wrong state otherwise.

    A refusal at the provider (``?error=access_denied``) ends here too, state or not (some
    providers drop it on errors): nothing is exchanged or created, and the state is spent."""
    state = request.GET.get("state", "")
    error = request.GET.get("error")
    if error:
        for p in configured_providers():
            request.session.pop(state_key(p, state), None)
        raise SignInError("denied", f"{error}: {request.GET.get('error_description', '')}")
    for p in configured_providers():
        if state and state_key(p, state) in request.session:
            return p
    raise SignInError("state")


def complete(request: HttpRequest, p: Provider) -> tuple[dict[str, Any], str]:
    """Exchange the code, verify the ID token; return its claims and the raw token."""
    issuer = metadata(p)["issuer"]
    # Authlib checks ``aud`` only through ``azp``; name both expected values explicitly.
    claims_options = {
        "iss": {"essential": True, "value": issuer},
        "aud": {"essential": True, "value": p.client_id},
    }
    try:
        token = _client(p).authorize_access_token(request, claims_options=claims_options)
    except MismatchingStateError:
        raise SignInError("state")
    except OAuthError as exc:
        # invalid_grant: the code was already used, expired, or the PKCE verifier did not match.
        raise SignInError("code", f"{exc.error}: {exc.description}")
    except requests.RequestException as exc:
        raise SignInError("unreachable", str(exc))
    except (JoseError, AuthlibBaseError, ValueError) as exc:
        # Bad signature, unknown key, expired, wrong issuer/audience/nonce, malformed token.
        raise SignInError("token", f"{type(exc).__name__}: {exc}")
    id_claims = token.get("userinfo")
    if not token.get("id_token") or not id_claims:
        raise SignInError("token", "no ID token in the token response")
    if not id_claims.get("sub"):
        raise SignInError("token", "no sub")
    # Profile claims may live only at the userinfo endpoint (FranceConnect, ProConnect); the ID
    # token's own claims win over them.
    claims = {**_userinfo(p, token["access_token"], id_claims), **id_claims}
    if p.acr_values and claims.get("acr") not in p.acr_values.split():
        raise SignInError("acr", f"acr {claims.get('acr')!r}")
    if p.required_amr and not set(p.required_amr) & set(claims.get("amr") or ()):
        raise SignInError("acr", f"amr {claims.get('amr')!r}")
    return dict(claims), token["id_token"]


def _userinfo(p: Provider, access_token: str, id_claims: dict[str, Any]) -> dict[str, Any]:
    """The userinfo endpoint's claims, as JSON or as a JWT signed with the provider's keys
    (checked like the ID token's); ``{}`` when the provider has no such endpoint."""
    meta = metadata(p)
    endpoint = meta.get("userinfo_endpoint")
    if not endpoint or not access_token:
        return {}
    try:
        response = requests.get(
            endpoint, headers={"Authorization": f"Bearer {access_token}"}, timeout=p.timeout
        )
        response.raise_for_status()
    except requests.RequestException as exc:
        raise SignInError("unreachable", f"userinfo: {exc}")
    try:
        if response.headers.get("Content-Type", "").split(";")[0].strip() == "application/jwt":
            data = _verified_jwt(p, response.text, meta)
            if data.get("iss", meta["issuer"]) != meta["issuer"]:
                raise SignInError("token", "userinfo iss")
            audience = data.get("aud", p.client_id)
            if p.client_id not in (audience if isinstance(audience, list) else [audience]):
                raise SignInError("token", "userinfo aud")
        else:
            data = response.json()
    except (JoseError, ValueError) as exc:
        raise SignInError("token", f"userinfo: {type(exc).__name__}: {exc}")
    if not isinstance(data, dict) or str(data.get("sub")) != str(id_claims["sub"]):
        # OpenID Connect Core §5.3.2: a userinfo answer about someone else is never used.
        raise SignInError("token", "userinfo sub differs from the ID token's")
    return data


def _verified_jwt(p: Provider, value: str, meta: dict[str, Any]) -> dict[str, Any]:
    client = _client(p)
    algorithms = meta.get("userinfo_signing_alg_values_supported") or meta.get(
        "id_token_signing_alg_values_supported"
    )
    try:
        decoded = jwt.decode(value, KeySet.import_key_set(client.fetch_jwk_set()), algorithms)
    except InvalidKeyIdError:
        decoded = jwt.decode(
            value, KeySet.import_key_set(client.fetch_jwk_set(force=True)), algorithms
        )
    return dict(decoded.claims)


def end_session_url(p: Provider, id_token: str, post_logout_redirect_uri: str) -> str | None:
    """RP-initiated logout URL, or None if the provider has no end_session_endpoint (or is down:
    the local session is ended either way)."""
    try:
        endpoint = metadata(p).get("end_session_endpoint")
    except SignInError:
        return None
    if not endpoint:
        return None
    params = {
        "id_token_hint": id_token,
        "post_logout_redirect_uri": post_logout_redirect_uri,
        "client_id": p.client_id,
        "state": secrets.token_urlsafe(16),  # required by FranceConnect, harmless elsewhere
    }
    return f"{endpoint}{'&' if '?' in endpoint else '?'}{urlencode(params)}"
