"""Sign-in with the city's identity providers, the password confirmation before linking an
existing account and the citizen-account page (the logout that also ends the provider session:
logout.py)."""

from __future__ import annotations

import logging
import time
from typing import TYPE_CHECKING, cast

from django import forms
from django.conf import settings
from django.contrib import messages
from django.contrib.auth import authenticate, get_user_model, login, update_session_auth_hash
from django.contrib.auth.decorators import login_required
from django.contrib.auth.forms import SetPasswordForm
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET, require_http_methods

from backend.core.exceptions import ApplicationError

from . import providers, selectors, services
from .logout import remember_sign_in
from .providers import CITIZEN, STAFF, SignInError

if TYPE_CHECKING:
    from backend.accounts.models import User

logger = logging.getLogger(__name__)

NEXT_KEY = "citizen_next"
PENDING_KEY = "citizen_pending"
PENDING_SECONDS = 10 * 60

# reason → (HTTP status, title, message). Nothing is created on any of these paths.
ERROR_PAGES = {
    "unreachable": (
        503,
        gettext_lazy("Le service d'identité de la ville ne répond pas"),
        gettext_lazy(
            "Nous n'avons pas pu joindre le fournisseur d'identité. Réessayez dans quelques "
            "minutes, ou connectez-vous avec votre adresse e-mail et votre mot de passe Minot."
        ),
    ),
    "state": (
        400,
        gettext_lazy("Cette connexion a expiré"),
        gettext_lazy(
            "Le retour du fournisseur d'identité ne correspond à aucune connexion en cours dans "
            "ce navigateur (lien déjà utilisé, ouvert dans un autre navigateur ou trop ancien). "
            "Recommencez la connexion."
        ),
    ),
    "denied": (
        400,
        gettext_lazy("Connexion annulée"),
        gettext_lazy(
            "Le fournisseur d'identité n'a pas autorisé la connexion à Minot. Vous pouvez "
            "recommencer ou vous connecter avec votre mot de passe Minot."
        ),
    ),
    "code": (
        400,
        gettext_lazy("Cette connexion a déjà été utilisée"),
        gettext_lazy(
            "Le fournisseur d'identité a refusé le code de connexion (déjà utilisé ou expiré). "
            "Recommencez la connexion."
        ),
    ),
    "token": (
        400,
        gettext_lazy("Identité non vérifiée"),
        gettext_lazy(
            "La réponse du fournisseur d'identité n'a pas pu être vérifiée (signature, émetteur, "
            "destinataire ou date de validité incorrects). Par sécurité, aucune connexion n'a "
            "été ouverte. Recommencez ; si cela se reproduit, prévenez la mairie."
        ),
    ),
    "email": (
        400,
        gettext_lazy("Adresse e-mail manquante"),
        gettext_lazy(
            "Votre compte citoyen ne nous a pas transmis d'adresse e-mail. Autorisez le partage "
            "de votre adresse e-mail avec Minot chez le fournisseur d'identité, puis recommencez."
        ),
    ),
    "acr": (
        403,
        gettext_lazy("Niveau d'authentification insuffisant"),
        gettext_lazy(
            "Ce service demande une authentification plus forte (par exemple à deux facteurs) "
            "que celle utilisée. Recommencez en choisissant ce moyen chez le fournisseur."
        ),
    ),
    "not_parent": (
        403,
        gettext_lazy("Compte réservé aux familles"),
        gettext_lazy(
            "Le compte citoyen ne donne accès qu'aux comptes des familles. Pour un compte du "
            "personnel, connectez-vous avec votre adresse e-mail et votre mot de passe."
        ),
    ),
    "other_link": (
        409,
        gettext_lazy("Compte déjà lié"),
        gettext_lazy(
            "Votre compte Minot est déjà lié à un autre compte citoyen. Connectez-vous avec votre "
            "mot de passe et supprimez l'ancien lien depuis « Mon compte citoyen »."
        ),
    ),
    "inactive": (
        403,
        gettext_lazy("Compte désactivé"),
        gettext_lazy("Ce compte Minot est désactivé. Contactez la mairie."),
    ),
    "no_role": (
        403,
        gettext_lazy("Aucun accès prévu dans Minot"),
        gettext_lazy(
            "Votre compte de l'annuaire de la ville n'appartient à aucun groupe qui donne accès "
            "à Minot. Demandez à un administrateur de vous y ajouter."
        ),
    ),
    "not_staff": (
        403,
        gettext_lazy("Compte non agent"),
        gettext_lazy(
            "Cette adresse correspond à un compte Minot qui n'est pas un compte d'agent. "
            "Connectez-vous avec votre mot de passe Minot."
        ),
    ),
    "email_unverified": (
        403,
        gettext_lazy("Adresse e-mail non vérifiée"),
        gettext_lazy(
            "L'annuaire ne confirme pas votre adresse e-mail : un administrateur doit lier votre "
            "compte Minot."
        ),
    ),
    "expired": (
        400,
        gettext_lazy("Confirmation expirée"),
        gettext_lazy("La confirmation a pris trop de temps. Recommencez la connexion."),
    ),
}


def error_page(request: HttpRequest, error: SignInError) -> HttpResponse:
    status, title, message = ERROR_PAGES.get(error.reason, ERROR_PAGES["token"])
    logger.warning("OpenID Connect sign-in refused: %s", error)
    return render(
        request,
        "citizen/error.html",
        {"title": title, "message": message, "reason": error.reason},
        status=status,
    )


def _safe_next(request: HttpRequest, value: str | None) -> str:
    if value and url_has_allowed_host_and_scheme(
        value, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return value
    return reverse(settings.LOGIN_REDIRECT_URL)


def _start(request: HttpRequest, name: str) -> HttpResponse:
    p = providers.provider(name)
    if p is None:
        raise Http404
    request.session[NEXT_KEY] = _safe_next(request, request.GET.get("next"))
    try:
        return providers.authorize_redirect(
            request, p, request.build_absolute_uri(reverse("citizen-callback"))
        )
    except SignInError as error:
        return error_page(request, error)


@require_GET
def authenticate_citizen(request: HttpRequest) -> HttpResponse:
    """``GET /oidc/authenticate/``: 302 to the citizen provider's authorization endpoint."""
    return _start(request, CITIZEN)


@require_GET
def authenticate_staff(request: HttpRequest) -> HttpResponse:
    """``GET /oidc/agents/authenticate/``: the same with the staff directory's provider."""
    return _start(request, STAFF)


def _login(request: HttpRequest, user, p: providers.Provider, id_token: str) -> HttpResponse:
    target = _safe_next(request, request.session.pop(NEXT_KEY, None))
    login(request, user, backend="django.contrib.auth.backends.ModelBackend")
    remember_sign_in(request, p, id_token)
    return HttpResponseRedirect(target)


@require_GET
def callback(request: HttpRequest) -> HttpResponse:
    """``GET /oidc/callback/``: where every configured provider returns."""
    try:
        p = providers.provider_for_state(request)
        claims, id_token = providers.complete(request, p)
        if p.name == STAFF:
            user = services.staff_sign_in(
                issuer=p.issuer, claims=claims, groups_claim=settings.OIDC_STAFF_GROUPS_CLAIM
            )
            return _login(request, user, p, id_token)
        result = services.citizen_sign_in(issuer=p.issuer, claims=claims)
    except SignInError as error:
        return error_page(request, error)
    if result.user is not None:
        return _login(request, result.user, p, id_token)
    request.session[PENDING_KEY] = {
        "user_id": result.confirm_user.pk,  # type: ignore[union-attr]  # set when user is None
        "claims": {"sub": claims["sub"], "email": claims.get("email")},
        "id_token": id_token,
        "at": time.time(),
    }
    return redirect("citizen-confirm")


class ConfirmForm(forms.Form):
    password = forms.CharField(
        label=gettext_lazy("Mot de passe Minot"),
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "current-password"}),
    )


@require_http_methods(["GET", "POST"])
def confirm(request: HttpRequest) -> HttpResponse:
    """An account with the citizen's email exists but the provider did not vouch for the email:
    its owner proves it is theirs with its Minot password before the link is made."""
    pending = request.session.get(PENDING_KEY)
    p = providers.provider(CITIZEN)
    if not pending or p is None:
        return error_page(request, SignInError("state"))
    if time.time() - pending["at"] > PENDING_SECONDS:
        del request.session[PENDING_KEY]
        return error_page(request, SignInError("expired"))
    owner = get_user_model().objects.filter(pk=pending["user_id"]).first()
    if owner is None:
        del request.session[PENDING_KEY]
        return error_page(request, SignInError("state"))
    form = ConfirmForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        user = authenticate(request, username=owner.email, password=form.cleaned_data["password"])
        if user is not None and user.pk == owner.pk:
            try:
                services.citizen_link_confirm(user=user, issuer=p.issuer, claims=pending["claims"])
            except SignInError as error:
                return error_page(request, error)
            del request.session[PENDING_KEY]
            messages.success(request, _("Votre compte citoyen est maintenant lié à Minot."))
            return _login(request, user, p, pending["id_token"])
        form.add_error("password", _("Mot de passe incorrect."))
    return render(request, "citizen/confirm.html", {"form": form, "email": owner.email})


@login_required
@require_http_methods(["GET", "POST"])
def account(request: HttpRequest) -> HttpResponse:
    """``/compte/compte-citoyen/``: see and remove the link; set a Minot password first when the
    account was created by the provider."""
    user = cast("User", request.user)  # login_required: never AnonymousUser
    password_form = SetPasswordForm(user)
    if request.method == "POST":
        if "remove" in request.POST:
            try:
                services.citizen_link_remove(
                    user=user, link_id=int(request.POST.get("remove") or 0)
                )
            except (ApplicationError, ValueError) as exc:
                messages.error(request, getattr(exc, "message", _("Ce lien n'existe pas.")))
            else:
                messages.success(request, _("Le lien avec votre compte citoyen est supprimé."))
                return redirect("citizen-account")
        else:
            password_form = SetPasswordForm(user, request.POST)
            if password_form.is_valid():
                password_form.save()
                update_session_auth_hash(request, password_form.user)
                messages.success(request, _("Votre mot de passe Minot est enregistré."))
                return redirect("citizen-account")
    return render(
        request,
        "citizen/account.html",
        {
            "links": selectors.links_for(user=user),
            "has_password": user.has_usable_password(),
            "password_form": password_form,
            "configured": bool(providers.configured_providers()),
        },
    )
