import logging
from functools import cache

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.db import connection
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect, JsonResponse
from django.shortcuts import redirect, render
from django.utils.module_loading import import_string
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from .access import role_required
from .forms import LoginForm
from .homes import panels_for
from .models import NotificationCategory
from .nav import nav_items
from .retention import retention_schedule
from .safejson import JSONLimitError, loads_limited
from .selectors import notification_list, record_reads
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


@cache
def _logout_redirects():
    return [import_string(path) for path in settings.MINOT_LOGOUT_REDIRECTS]


class LogoutView(auth_views.LogoutView):
    """``POST /deconnexion/``, the only logout of the site: ends the Minot session, then sends the
    browser where the first of ``settings.MINOT_LOGOUT_REDIRECTS`` says, if one does (the citizen
    app: the identity provider's end-session endpoint, so its session ends too), else to the
    login page. Each entry is ``(request) -> str | None``, asked while the session still holds
    what it needs. API tokens are the devices' own sessions: they stay (``/compte/`` and
    ``POST /api/v1/auth/logout-all/`` revoke them)."""

    def post(self, request, *args, **kwargs):
        target = next(filter(None, (hook(request) for hook in _logout_redirects())), None)
        response = super().post(request, *args, **kwargs)
        return HttpResponseRedirect(target) if target else response


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


# --- privacy: public notices, access log -------------------------------------------------------


def privacy_notice(request):
    """Public: what Minot collects, why, for how long, who to contact (RGPD art. 13)."""
    return render(
        request,
        "core/privacy.html",
        {
            "title": _("Vie privée et données personnelles"),
            "retention": retention_schedule(),
            "dpo_email": settings.MINOT_DPO_EMAIL,
        },
    )


def accessibility_statement(request):
    """Public: RGAA conformity level, known non-conformities, contact."""
    return render(
        request,
        "core/accessibility.html",
        {
            "title": _("Déclaration d'accessibilité"),
            "level": settings.MINOT_ACCESSIBILITY_LEVEL,
            "contact_email": settings.MINOT_ACCESSIBILITY_EMAIL,
        },
    )


READ_LABELS = {
    "family.child.read": gettext_lazy("Dossier d'un enfant"),
    "family.household.read": gettext_lazy("Dossier du foyer"),
    "family.document.read": gettext_lazy("Document"),
}


def _parse_day(value: str | None):
    import datetime as dt

    try:
        return dt.date.fromisoformat(value) if value else None
    except ValueError:
        return None


def _labelled(page):
    for event in page:
        event.label = READ_LABELS.get(event.action, event.action)
    return page


@role_required("admin")
def audit_access(request):
    """City administrators (and the DPO): who read which child's record, with filters."""
    filters = {
        "actor_email": request.GET.get("agent", "")[:254],
        "action": request.GET.get("type", ""),
        "since": _parse_day(request.GET.get("du")),
        "until": _parse_day(request.GET.get("au")),
    }
    household = request.GET.get("foyer", "")
    events = record_reads(household_id=int(household) if household.isdigit() else None, **filters)
    page = _labelled(Paginator(events, 50).get_page(request.GET.get("page")))
    return render(
        request,
        "core/audit_access.html",
        {
            "title": _("Journal des consultations"),
            "page": page,
            "labels": READ_LABELS,
            "query": request.GET,
        },
    )


CSP_REPORT_MAX_BYTES = 16 * 1024
csp_logger = logging.getLogger("minot.csp")


@csrf_exempt
@require_POST
def csp_report(request):
    """Browsers post Content-Security-Policy violations here; they are logged (a warning each),
    never stored. Bodies are size- and depth-limited like every JSON Minot reads."""
    try:
        report = loads_limited(request.body, max_bytes=CSP_REPORT_MAX_BYTES, depth=8)
    except JSONLimitError as exc:
        return JsonResponse({"message": str(exc), "extra": {}}, status=400)
    body = report.get("csp-report", report) if isinstance(report, dict) else {}
    if not isinstance(body, dict):
        body = {}
    csp_logger.warning(
        "CSP violation: %s blocked %s on %s",
        str(body.get("violated-directive") or body.get("effective-directive") or "?")[:200],
        str(body.get("blocked-uri") or "?")[:300],
        str(body.get("document-uri") or "?")[:300],
    )
    return HttpResponse(status=204)


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
    import sys

    from django.db import InterfaceError, OperationalError

    if isinstance(sys.exc_info()[1], OperationalError | InterfaceError):
        # The database failed outside a view (a middleware, the session save): still a 503.
        from .middleware import database_unavailable_response

        return database_unavailable_response(request)
    return render(
        request, "core/error.html", {"title": _("Erreur du serveur"), "code": 500}, status=500
    )
