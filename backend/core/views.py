from django.contrib import messages
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.db import connection
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST

from .forms import LoginForm
from .homes import panels_for
from .models import NotificationCategory
from .nav import nav_items
from .permissions import role_required
from .selectors import notification_list
from .services import notification_channels, notification_mark_read, notification_preferences_set

ROLE_HOMES = {
    "parent": "home-parent",
    "staff": "home-staff",
    "admin": "home-admin",
    "technician": "home-technician",
}


def home(request: HttpRequest) -> HttpResponse:
    """Each role lands on its own home page; visitors see the public landing page."""
    if not request.user.is_authenticated:
        return render(request, "core/landing.html")
    role = "admin" if request.user.is_superuser else request.user.role
    return redirect(ROLE_HOMES.get(role, "home-parent"))


def _role_home(request: HttpRequest, title: str, intro: str) -> HttpResponse:
    cards = [item for item in nav_items(request.user) if item.description]
    return render(
        request,
        "core/role_home.html",
        {"title": title, "intro": intro, "cards": cards, "panels": panels_for(request.user)},
    )


@role_required("parent")
def home_parent(request):
    return _role_home(
        request, _("Mon espace famille"), _("Inscriptions, repas, factures : tout au même endroit.")
    )


@role_required("staff")
def home_staff(request):
    return _role_home(
        request, _("Espace école"), _("Dossiers à traiter, appel, prévisions de repas.")
    )


@role_required("admin")
def home_admin(request):
    return _role_home(
        request,
        _("Administration de la ville"),
        _("Écoles, calendriers, tarifs, facturation et comptes."),
    )


@role_required("technician")
def home_technician(request):
    return _role_home(
        request, _("Parc numérique"), _("Tablettes et ordinateurs des classes mobiles.")
    )


class LoginView(auth_views.LoginView):
    form_class = LoginForm
    template_name = "registration/login.html"
    redirect_authenticated_user = True


def lockout(request, credentials, *args, **kwargs) -> HttpResponse:
    """Shown (and answered to the API) when an account is throttled from one address."""
    message = _(
        "Trop de tentatives de connexion pour ce compte depuis cette adresse. "
        "Réessayez dans quelques minutes ou réinitialisez votre mot de passe."
    )
    if request.path.startswith("/api/"):
        return JsonResponse({"message": message, "extra": {"throttled": True}}, status=429)
    return render(request, "registration/lockout.html", {"message": message}, status=429)


@login_required
def notifications(request):
    return render(
        request,
        "core/notifications.html",
        {"notifications": notification_list(user=request.user)[:100]},
    )


@login_required
def notification_preferences(request):
    """Per category: in the app and/or by email. Account and security messages always arrive."""
    categories = [c for c in NotificationCategory if c != NotificationCategory.GENERAL]
    if request.method == "POST":
        notification_preferences_set(
            user=request.user,
            choices={
                c.value: (
                    request.POST.get(f"{c.value}-in_app") == "on",
                    request.POST.get(f"{c.value}-email") == "on",
                )
                for c in categories
            },
        )
        messages.success(request, _("Vos préférences de notification sont enregistrées."))
        return redirect("notification-preferences")
    rows = []
    for c in categories:
        in_app, email = notification_channels(user=request.user, category=c.value)
        rows.append({"value": c.value, "label": c.label, "in_app": in_app, "email": email})
    return render(
        request,
        "core/notification_preferences.html",
        {"title": _("Préférences de notification"), "rows": rows},
    )


@login_required
@require_POST
def notifications_read(request):
    count = notification_mark_read(user=request.user)
    messages.success(
        request, _("%(count)d notification(s) marquée(s) comme lue(s).") % {"count": count}
    )
    return redirect("notifications")


@never_cache
def healthz(request):
    return JsonResponse({"status": "ok"})


@never_cache
def readyz(request):
    checks: dict[str, str] = {}
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
        checks["database"] = "ok"
    except Exception as exc:  # noqa: BLE001 - reported, not raised
        checks["database"] = f"error: {exc.__class__.__name__}"
    try:
        from backend.celery import app

        with app.connection_for_write() as conn:
            conn.ensure_connection(max_retries=1, timeout=2)
        checks["broker"] = "ok"
    except Exception as exc:  # noqa: BLE001
        checks["broker"] = f"error: {exc.__class__.__name__}"
    ready = all(v == "ok" for v in checks.values())
    return JsonResponse(
        {"status": "ok" if ready else "unavailable", "checks": checks}, status=200 if ready else 503
    )


def error_404(request, exception=None):
    return render(
        request, "core/error.html", {"title": _("Page introuvable"), "code": 404}, status=404
    )


def error_500(request):
    return render(
        request, "core/error.html", {"title": _("Erreur du serveur"), "code": 500}, status=500
    )
