"""Technician pages (server-rendered). Access: fleet.permissions (technicians only, else 404)."""

from __future__ import annotations

from django.contrib import messages
from django.core.paginator import Paginator
from django.http import HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from backend.core.access import role_required
from backend.core.exceptions import ApplicationError
from backend.core.exports import csv_bytes, frame_to_csv

from . import charts, conf, selectors
from .forms import (
    CartForm,
    LiveQueryForm,
    LoanForm,
    MoveForm,
    SwapForm,
    TicketForm,
    TicketUpdateForm,
)
from .models import (
    Alert,
    AlertKind,
    Cart,
    Device,
    DeviceStatus,
    EnrollSecret,
    IdentityRequest,
    LiveQuery,
    RepairTicket,
)
from .permissions import (
    alert_for_user,
    alerts_for_user,
    can_use_fleet,
    cart_for_user,
    device_for_user,
    devices_for_user,
    fleet_page,
    live_query_for_user,
    school_for_user,
    schools_for_user,
    ticket_for_user,
)
from .reports import report_columns, report_rows, weekly_report_frame
from .services import enrollment, hierarchy, live_queries, onboarding, repairs


def _fail(request, exc: ApplicationError):
    messages.error(request, exc.message)


@fleet_page
def dashboard(request):
    by_school = selectors.status_by_school()
    battery = selectors.battery_health_distribution()
    os_versions = selectors.os_versions()
    alerts_weeks = selectors.alerts_over_time()
    context = {
        "totals": selectors.fleet_totals(),
        "by_school": by_school,
        "battery": battery,
        "os_versions": os_versions,
        "alerts_weeks": alerts_weeks,
        "status_chart": charts.stacked_status_chart(
            by_school, title=_("État des appareils par école")
        ),
        "battery_chart": charts.bar_chart(
            battery, title=_("Répartition de la santé des batteries")
        ),
        "os_chart": charts.bar_chart(os_versions, title=_("Versions du système")),
        "alerts_chart": charts.bar_chart(alerts_weeks, title=_("Alertes ouvertes par semaine")),
        "recent_alerts": selectors.alerts_by_priority(
            alerts_for_user(request.user).exclude(state=Alert.State.RESOLVED)
        )[:8],
    }
    return render(request, "fleet/dashboard.html", context)


@fleet_page
def school_detail(request, school_id):
    school = school_for_user(request.user, school_id)
    carts = Cart.objects.filter(school=school).order_by("name")
    devices = selectors.device_list(school_id=school.pk)
    context = {
        "school": school,
        "carts": [(cart, [d for d in devices if d.cart_id == cart.pk]) for cart in carts],
        "loose": [d for d in devices if d.cart_id is None],
        "secret": EnrollSecret.objects.filter(school=school, revoked_at__isnull=True).first(),
        "new_secret": request.session.pop(f"fleet_secret_{school.pk}", None),
        "cart_form": CartForm(),
        "tickets": RepairTicket.objects.filter(school=school).exclude(
            state=RepairTicket.State.FIXED
        )[:20],
    }
    return render(request, "fleet/school.html", context)


@fleet_page
@require_POST
def school_secret(request, school_id):
    school = school_for_user(request.user, school_id)
    if request.POST.get("action") == "package":
        package = onboarding.onboarding_package(
            school=school, host=request.get_host().split(":")[0], actor=request.user
        )
        response = HttpResponse(package, content_type="application/zip")
        response["Content-Disposition"] = f'attachment; filename="minot-osquery-{school.code}.zip"'
        return response
    if request.POST.get("action") == "revoke":
        enrollment.enroll_secret_revoke(school=school, actor=request.user)
        messages.success(
            request,
            _("Le secret d'inscription est révoqué : aucun nouvel appareil ne peut s'inscrire."),
        )
    else:
        secret = enrollment.enroll_secret_rotate(school=school, actor=request.user)
        request.session[f"fleet_secret_{school.pk}"] = secret
        messages.success(
            request, _("Nouveau secret créé. Copiez-le maintenant : il ne sera plus affiché.")
        )
    return redirect("fleet:school", school_id=school.pk)


@fleet_page
@require_POST
def cart_create(request, school_id):
    school = school_for_user(request.user, school_id)
    form = CartForm(request.POST)
    if form.is_valid():
        try:
            cart = hierarchy.cart_create(school=school, actor=request.user, **form.cleaned_data)
            messages.success(request, _("Chariot créé."))
            return redirect("fleet:cart", cart_id=cart.pk)
        except ApplicationError as exc:
            _fail(request, exc)
    else:
        messages.error(request, _("Vérifiez le nom et le nombre d'emplacements."))
    return redirect("fleet:school", school_id=school.pk)


@fleet_page
def cart_detail(request, cart_id):
    cart = cart_for_user(request.user, cart_id)
    devices = {d.slot: d for d in Device.objects.filter(cart=cart)}
    slots = [(n, devices.get(n)) for n in range(1, cart.slot_count + 1)]
    unslotted = [d for slot, d in devices.items() if slot is None]
    return render(
        request,
        "fleet/cart.html",
        {
            "cart": cart,
            "slots": slots,
            "unslotted": unslotted,
            "forecast": selectors.cart_battery_forecast(cart),
        },
    )


@fleet_page
def device_list(request):
    devices_for_user(request.user)
    status = request.GET.get("status") if request.GET.get("status") in DeviceStatus.values else None
    school_id = request.GET.get("school") if (request.GET.get("school") or "").isdigit() else None
    search = (request.GET.get("q") or "")[:100]
    devices = selectors.device_list(school_id=school_id, status=status, search=search)
    page = Paginator(devices, 50).get_page(request.GET.get("page"))
    return render(
        request,
        "fleet/devices.html",
        {
            "page": page,
            "statuses": DeviceStatus.choices,
            "schools": schools_for_user(request.user),
            "status": status,
            "school_id": school_id,
            "q": search,
        },
    )


@fleet_page
def device_export(request):
    devices_for_user(request.user)
    school_id = request.GET.get("school") if (request.GET.get("school") or "").isdigit() else None
    columns = [
        "serial",
        "school",
        "cart",
        "slot",
        "role",
        "status",
        "last_seen_at",
        "hardware_vendor",
        "hardware_model",
        "os_name",
        "os_version",
        "storage_total_bytes",
        "storage_free_bytes",
        "battery_health_percent",
        "battery_cycle_count",
        "battery_forecast_date",
    ]
    rows = (
        [
            d.serial or d.identity,
            d.school.name if d.school else "",
            d.cart.name if d.cart else "",
            d.slot or "",
            d.role,
            d.status,
            d.last_seen_at.isoformat() if d.last_seen_at else "",
            d.hardware_vendor,
            d.hardware_model,
            d.os_name,
            d.os_version,
            d.storage_total_bytes or "",
            d.storage_free_bytes or "",
            d.battery_health_percent if d.battery_health_percent is not None else "",
            d.battery_cycle_count or "",
            d.battery_forecast_date or "",
        ]
        for d in selectors.device_list(school_id=school_id).iterator(chunk_size=1000)
    )
    # Through the one safe export helper: a device or cart named "=..." stays text.
    response = HttpResponse(
        csv_bytes(rows, header=columns, delimiter=","), content_type="text/csv; charset=utf-8"
    )
    response["Content-Disposition"] = 'attachment; filename="parc-appareils.csv"'
    return response


@fleet_page
def device_detail(request, device_id):
    device = device_for_user(request.user, device_id)
    series = selectors.battery_series(device)
    context = {
        "device": device,
        "battery_chart": charts.line_chart(
            series,
            title=_("Santé de la batterie (%) sur six mois"),
            threshold=conf.get("FLEET_BATTERY_HEALTH_THRESHOLD"),
        ),
        "battery_points": series[-1:] if series else [],
        "assignments": device.assignments.select_related("school", "cart", "actor")[:50],
        "alerts": device.alerts.all()[:20],
        "tickets": device.tickets.all()[:20],
        "move_form": MoveForm(initial={"cart": device.cart_id, "slot": device.slot}),
        "swap_form": SwapForm(device=device),
        "loan_form": LoanForm(),
        "ticket_form": TicketForm(),
        "status_logs": device.status_logs.filter(severity__gte=1)[:10],
        "threshold": conf.get("FLEET_BATTERY_HEALTH_THRESHOLD"),
    }
    return render(request, "fleet/device.html", context)


def _device_move(request, device: Device) -> None:
    form = MoveForm(request.POST)
    if not form.is_valid():
        raise ApplicationError(_("Choix de chariot ou d'emplacement invalide."))
    hierarchy.device_move(
        device=device,
        actor=request.user,
        cart=form.cleaned_data["cart"],
        slot=form.cleaned_data["slot"],
        note=form.cleaned_data["note"],
    )


def _device_swap(request, device: Device) -> None:
    form = SwapForm(request.POST, device=device)
    if not form.is_valid():
        raise ApplicationError(_("Choisissez un appareil de la même école."))
    hierarchy.device_swap(
        device=device,
        other=form.cleaned_data["other"],
        actor=request.user,
        note=form.cleaned_data["note"],
    )


def _device_spare(request, device: Device) -> None:
    hierarchy.device_set_spare(device=device, actor=request.user)


def _device_loan(request, device: Device) -> None:
    form = LoanForm(request.POST)
    if not form.is_valid():
        raise ApplicationError(_("Choisissez une école."))
    hierarchy.device_loan(
        device=device,
        to_school=form.cleaned_data["school"],
        actor=request.user,
        note=form.cleaned_data["note"],
    )


def _device_return(request, device: Device) -> None:
    hierarchy.device_return(device=device, actor=request.user)


def _device_revoke(request, device: Device) -> None:
    enrollment.device_revoke_key(
        device=device, actor=request.user, block=request.POST.get("block") == "1"
    )


def _device_unblock(request, device: Device) -> None:
    enrollment.device_unblock(device=device, actor=request.user)


def _device_ticket(request, device: Device):
    form = TicketForm(request.POST)
    if not form.is_valid():
        raise ApplicationError(_("Donnez un objet au ticket."))
    ticket = repairs.ticket_create(device=device, actor=request.user, **form.cleaned_data)
    messages.success(request, _("Ticket de réparation créé."))
    return redirect("fleet:ticket", ticket_id=ticket.pk)


# action (last part of the URL) -> handler; a handler answers a response to redirect elsewhere
# than the device page, or None ("Enregistré." and back to the device page).
DEVICE_ACTIONS = {
    "move": _device_move,
    "swap": _device_swap,
    "spare": _device_spare,
    "loan": _device_loan,
    "return": _device_return,
    "revoke": _device_revoke,
    "unblock": _device_unblock,
    "ticket": _device_ticket,
}


@fleet_page
@require_POST
def device_action(request, device_id, action):
    device = device_for_user(request.user, device_id)
    handler = DEVICE_ACTIONS.get(action)
    try:
        if handler is None:
            raise ApplicationError(_("Action inconnue."))
        response = handler(request, device)
        if response is not None:
            return response
        messages.success(request, _("Enregistré."))
    except ApplicationError as exc:
        _fail(request, exc)
    return redirect("fleet:device", device_id=device.pk)


@fleet_page
def alert_list(request):
    alerts = alerts_for_user(request.user)
    state = request.GET.get("state", "active")
    if state == "active":
        alerts = alerts.exclude(state=Alert.State.RESOLVED)
    elif state in Alert.State.values:
        alerts = alerts.filter(state=state)
    kind = request.GET.get("kind")
    if kind in AlertKind.values:
        alerts = alerts.filter(kind=kind)
    page = Paginator(selectors.alerts_by_priority(alerts), 50).get_page(request.GET.get("page"))
    return render(
        request,
        "fleet/alerts.html",
        {"page": page, "state": state, "kind": kind, "kinds": AlertKind.choices},
    )


@fleet_page
@require_POST
def alert_action(request, alert_id, action):
    alert = alert_for_user(request.user, alert_id)
    try:
        if action == "acknowledge":
            repairs.alert_acknowledge(alert=alert, actor=request.user)
            messages.success(request, _("Alerte prise en compte."))
        elif action in ("approve", "reject") and alert.kind == AlertKind.IDENTITY_REQUEST:
            pending = IdentityRequest.objects.filter(
                device=alert.device, state=IdentityRequest.State.PENDING
            ).first()
            if pending is None:
                raise ApplicationError(_("Cette demande a déjà été traitée."))
            enrollment.identity_request_decide(
                request=pending, approve=action == "approve", actor=request.user
            )
            messages.success(
                request,
                _("Changement d'école accepté : l'appareil va se réinscrire.")
                if action == "approve"
                else _("Changement d'école refusé : l'appareil reste dans son école."),
            )
        elif action == "ticket":
            ticket = repairs.ticket_create(
                device=alert.device,
                actor=request.user,
                alert=alert,
                title=f"{alert.get_kind_display()} — {alert.device}",
            )
            return redirect("fleet:ticket", ticket_id=ticket.pk)
    except ApplicationError as exc:
        _fail(request, exc)
    return redirect(
        request.POST.get("next")
        if (request.POST.get("next") or "").startswith("/parc/")
        else "fleet:alerts"
    )


@fleet_page
def ticket_list(request):
    tickets = RepairTicket.objects.select_related("device", "school")
    state = request.GET.get("state", "active")
    if state == "active":
        tickets = tickets.exclude(state=RepairTicket.State.FIXED)
    elif state in RepairTicket.State.values:
        tickets = tickets.filter(state=state)
    school_id = request.GET.get("school") if (request.GET.get("school") or "").isdigit() else None
    if school_id:
        tickets = tickets.filter(school_id=school_id)
    page = Paginator(tickets, 50).get_page(request.GET.get("page"))
    return render(
        request,
        "fleet/tickets.html",
        {
            "page": page,
            "state": state,
            "states": RepairTicket.State.choices,
            "schools": schools_for_user(request.user),
            "school_id": school_id,
        },
    )


@fleet_page
def ticket_detail(request, ticket_id):
    ticket = ticket_for_user(request.user, ticket_id)
    if request.method == "POST":
        form = TicketUpdateForm(request.POST)
        if form.is_valid():
            try:
                repairs.ticket_update(ticket=ticket, actor=request.user, **form.cleaned_data)
                messages.success(request, _("Ticket mis à jour."))
                return redirect("fleet:ticket", ticket_id=ticket.pk)
            except ApplicationError as exc:
                _fail(request, exc)
    else:
        form = TicketUpdateForm()
    return render(
        request,
        "fleet/ticket.html",
        {"ticket": ticket, "form": form, "notes": ticket.notes.select_related("author")},
    )


@fleet_page
def live_query_list(request):
    form = LiveQueryForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        serials = [s.strip() for s in data["devices"].split(",") if s.strip()]
        ids = (
            list(Device.objects.filter(identity__in=serials).values_list("pk", flat=True))
            if serials
            else None
        )
        devices = live_queries.live_query_devices(
            school=data["school"], cart=data["cart"], device_ids=ids
        )
        label = str(data["cart"] or data["school"] or ", ".join(serials)[:200])
        try:
            query = live_queries.live_query_create(
                sql=data["sql"],
                devices=devices,
                actor=request.user,
                target_label=label,
                minutes=data["minutes"],
            )
            return redirect("fleet:live-query", query_id=query.pk)
        except ApplicationError as exc:
            form.add_error(None, exc.message)
    queries = LiveQuery.objects.all()[:30]
    return render(request, "fleet/live_queries.html", {"form": form, "queries": queries})


def _live_query_state(query):
    targets = list(query.targets.select_related("device").order_by("device__identity"))
    answered = [t for t in targets if t.state in ("done", "failed")]
    return targets, answered


@fleet_page
def live_query_detail(request, query_id):
    query = live_query_for_user(request.user, query_id)
    targets, answered = _live_query_state(query)
    columns: list[str] = []
    for t in answered:
        for row in t.rows[:1]:
            columns.extend(c for c in row if c not in columns)
    return render(
        request,
        "fleet/live_query.html",
        {"query": query, "targets": targets, "answered": answered, "columns": columns},
    )


@fleet_page
def live_query_results(request, query_id):
    query = live_query_for_user(request.user, query_id)
    targets, answered = _live_query_state(query)
    return JsonResponse(
        {
            "id": query.external_id,
            "expired": query.is_expired,
            "targets": len(targets),
            "answered": len(answered),
            "results": [
                {
                    "device": t.device.identity,
                    "state": t.state,
                    "message": t.message,
                    "row_count": t.row_count,
                    "rows": t.rows[:50],
                }
                for t in answered
            ],
        }
    )


@role_required("technician", "admin")
def report(request):
    """The weekly report: technicians, and the city administrator (read-only, no device data)."""
    frame = weekly_report_frame()
    if request.GET.get("format") == "csv":
        response = HttpResponse(
            frame_to_csv(frame, index=True, delimiter=","), content_type="text/csv; charset=utf-8"
        )
        response["Content-Disposition"] = 'attachment; filename="rapport-parc.csv"'
        return response
    return render(
        request,
        "fleet/report.html",
        {
            "rows": report_rows(frame),
            "columns": [label for _key, label in report_columns()],
            "generated": timezone.now(),
            "technician": can_use_fleet(request.user),
        },
    )
