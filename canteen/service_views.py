"""Pages of the daily-services engine: the parent's month calendar with every service, the staff
roll of any service at a site, and the staff overview (services, forecasts with staff ratios)."""

from __future__ import annotations

import datetime as dt

from django import forms
from django.contrib import messages
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from backend.core.access import role_required
from backend.core.exceptions import ApplicationError

from . import calendar as services_calendar
from . import forecasts, selectors, services
from .deadlines import monday_of
from .models import AttendanceRecord, Service, Unit
from .page_helpers import MONTH_NAMES, _parse_date, _report
from .permissions import child_for_user, school_for_staff, staff_schools

WEEKDAY_CHOICES = [
    (0, gettext_lazy("Lundi")),
    (1, gettext_lazy("Mardi")),
    (2, gettext_lazy("Mercredi")),
    (3, gettext_lazy("Jeudi")),
    (4, gettext_lazy("Vendredi")),
]


class PlanForm(forms.Form):
    """One pattern across services: the weekdays, the period and the units booked each day."""

    units = forms.TypedMultipleChoiceField(
        label=gettext_lazy("Services"), coerce=int, widget=forms.CheckboxSelectMultiple
    )
    weekdays = forms.TypedMultipleChoiceField(
        label=gettext_lazy("Jours"),
        choices=WEEKDAY_CHOICES,
        coerce=int,
        widget=forms.CheckboxSelectMultiple,
    )
    start = forms.DateField(
        label=gettext_lazy("Du"), widget=forms.DateInput(attrs={"type": "date"})
    )
    end = forms.DateField(label=gettext_lazy("Au"), widget=forms.DateInput(attrs={"type": "date"}))

    def __init__(self, *args, units, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["units"].choices = [(u.id, f"{u.service.name} — {u.name}") for u in units]  # type: ignore[attr-defined]  # a choice field


class HolidayWeekForm(forms.Form):
    unit = forms.TypedChoiceField(label=gettext_lazy("Formule"), coerce=int)
    week = forms.DateField(
        label=gettext_lazy("Semaine du"), widget=forms.DateInput(attrs={"type": "date"})
    )

    def __init__(self, *args, units, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["unit"].choices = [(u.id, f"{u.service.name} — {u.name}") for u in units]  # type: ignore[attr-defined]  # a choice field


def _bookable_units(child, others: list[Service]) -> list[Unit]:
    canteen = list(
        Unit.objects.filter(service__kind=Service.Kind.CANTEEN).select_related("service")
    )
    return canteen + [u for s in others for u in s.units.all()]


@role_required("parent", "staff", "admin")
def child_services(request, child_id: int, year: int | None = None, month: int | None = None):
    child = child_for_user(request.user, child_id)
    today = timezone.localdate()
    year, month = year or today.year, month or today.month
    if not (2000 <= year <= 2100 and 1 <= month <= 12):
        raise Http404
    here = reverse("canteen:services-calendar", args=[child.id, year, month])
    child_services_list = services_calendar.services_for_child(child) if child.school_id else []
    units = _bookable_units(child, child_services_list)
    holiday_units = [u for u in units if u.service.kind == Service.Kind.HOLIDAY_CENTRE]
    page_forms = {
        "plan": PlanForm(prefix="p", units=units),
        "week": HolidayWeekForm(prefix="w", units=holiday_units),
    }
    if request.method == "POST":
        response = _services_post(
            request, child=child, here=here, units=units, page_forms=page_forms
        )
        if response is not None:
            return response
        messages.error(request, _("Vérifiez le formulaire ci-dessous."))
    days = services_calendar.child_services_month(
        child=child, year=year, month=month, services=child_services_list
    )
    services.staff_read_record(
        user=request.user,
        action="services.calendar.view",
        target=child,
        household_id=child.household_id,
        data={"month": f"{year}-{month:02d}"},
    )
    first = dt.date(year, month, 1)
    service_names = [c.service.name for c in days[0].cells] if days else []
    shown = [d for d in days if d.day.weekday() < 5 and _open_somewhere(d)]
    total = sum(_booked_cents(d) for d in days)
    return render(
        request,
        "canteen/services_calendar.html",
        {
            "title": _("Services de %(child)s — %(month)s %(year)s")
            % {"child": child.first_name, "month": MONTH_NAMES[month - 1], "year": year},
            "child": child,
            "days": shown,
            "service_names": service_names,
            "prev": (first - dt.timedelta(days=1)).replace(day=1),
            "next": (first + dt.timedelta(days=32)).replace(day=1),
            "plan_form": page_forms["plan"],
            "week_form": page_forms["week"] if holiday_units else None,
            "total": total,
            "month_label": f"{MONTH_NAMES[month - 1]} {year}",
        },
    )


def _open_somewhere(d: services_calendar.ServicesDay) -> bool:
    """A day shown on the page: the canteen or one of the services is open."""
    if d.canteen and d.canteen.state != "closed":
        return True
    return any(c.state != "closed" for c in d.cells)


def _booked_cents(d: services_calendar.ServicesDay) -> int:
    """What the booked units of one day cost (canteen and every service)."""
    canteen = d.canteen
    cents = (
        canteen.price.amount_cents if canteen and canteen.state == "booked" and canteen.price else 0
    )
    return cents + sum(c.price.amount_cents for c in d.cells if c.state == "booked" and c.price)


def _services_day_action(request, *, child, action: str, units: list[Unit]) -> None:
    """Book one unit or cancel one service on the day posted; a unit or service the child
    cannot book is not found (404)."""
    day = _parse_date(request.POST.get("day"))
    if day is None:
        raise ApplicationError(_("Jour invalide."))
    if action == "book":
        unit = next((u for u in units if u.id == _int(request.POST.get("unit"))), None)
        if unit is None:
            raise Http404
        result = services.bookings_create(
            children=[child], days=[day], unit=unit, actor=request.user
        )
        _report(request, result, _("%(n)s jour réservé."))
        return
    service_id = _int(request.POST.get("service"))
    service = next((u.service for u in units if u.service_id == service_id), None)
    if service is None:
        raise Http404
    services.bookings_cancel(child=child, days=[day], service=service, actor=request.user)
    messages.success(request, _("Annulé le %(d)s.") % {"d": day.strftime("%d/%m/%Y")})


def _services_post(request, *, child, here: str, units: list[Unit], page_forms: dict):
    """Handle a POST of the services calendar: a redirect when done or refused, ``None`` when a
    form has errors (``page_forms`` then holds the bound form to show again)."""
    action = request.POST.get("action")
    by_id = {u.id: u for u in units}
    try:
        if action in ("book", "cancel"):
            _services_day_action(request, child=child, action=action, units=units)
            return redirect(here)
        if action == "plan":
            form = page_forms["plan"] = PlanForm(request.POST, prefix="p", units=units)
            if not form.is_valid():
                return None
            v = form.cleaned_data
            result = services.bookings_create_plan(
                children=[child],
                start=v["start"],
                end=v["end"],
                weekdays=v["weekdays"],
                units=[by_id[i] for i in v["units"]],
                actor=request.user,
            )
        elif action == "week":
            holiday_units = [u for u in units if u.service.kind == Service.Kind.HOLIDAY_CENTRE]
            week_form = page_forms["week"] = HolidayWeekForm(
                request.POST, prefix="w", units=holiday_units
            )
            if not week_form.is_valid():
                return None
            v = week_form.cleaned_data
            result = services.holiday_week_book(
                child=child, unit=by_id[v["unit"]], monday=v["week"], actor=request.user
            )
        else:
            raise ApplicationError(_("Action inconnue."))
        _report(request, result, _("%(n)s jours réservés."))
        return redirect(here)
    except ApplicationError as exc:
        messages.error(request, exc.message)
        return redirect(here)


def _int(value) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


# --- staff ---------------------------------------------------------------------------------------
@role_required("staff", "admin")
def staff_services(request):
    """Every service with a link to today's roll at each of your sites, and the forecast."""
    schools = list(staff_schools(request.user))
    day = _parse_date(request.GET.get("jour"), timezone.localdate())
    start = monday_of(day)
    end = start + dt.timedelta(days=4)
    frame = forecasts.service_forecast(start=start, end=end, school_ids=[s.id for s in schools])
    rows = []
    for service in Service.objects.filter(is_active=True).exclude(kind=Service.Kind.CANTEEN):
        sites = [s for s in schools if not service.site_id or s.id == service.site_id]
        rows.append((service, sites))
    return render(
        request,
        "canteen/services_staff.html",
        {
            "title": _("Services périscolaires et extrascolaires"),
            "rows": rows,
            "day": day,
            "forecast": frame.to_dict(orient="records"),
            "start": start,
            "end": end,
        },
    )


@role_required("staff", "admin")
def service_roll(request, service_id: int, school_id: int):
    school = school_for_staff(request.user, school_id)
    try:
        service = Service.objects.get(pk=service_id, is_active=True)
    except Service.DoesNotExist:
        raise Http404
    day = _parse_date(request.GET.get("jour") or request.POST.get("jour"), timezone.localdate())
    here = (
        reverse("canteen:service-roll", args=[service.id, school.id]) + f"?jour={day.isoformat()}"
    )
    if request.method == "POST":
        statuses: dict[int, str] = {}
        for key, value in request.POST.items():
            if key.startswith("child-") and value:
                child_id = _int(key.removeprefix("child-"))
                if child_id is not None:
                    statuses[child_id] = value
        try:
            services.roll_take(
                school=school, day=day, statuses=statuses, service=service, actor=request.user
            )
            messages.success(
                request, _("Appel enregistré : la journée est close pour la facturation.")
            )
        except ApplicationError as exc:
            messages.error(request, exc.message)
        return redirect(here)
    roll, rows = selectors.service_roll_sheet(service=service, school=school, day=day)
    services.staff_read_record(
        user=request.user,
        action="services.roll.view",
        target=school,
        data={"day": day.isoformat(), "service": service.code},
    )
    return render(
        request,
        "canteen/service_roll.html",
        {
            "title": _("Appel — %(service)s — %(school)s")
            % {"service": service.name, "school": school.name},
            "service": service,
            "school": school,
            "day": day,
            "taken": roll,
            "rows": rows,
            "statuses": [
                (s.value, s.label)
                for s in AttendanceRecord.Status
                if s != AttendanceRecord.Status.PRESENT_UNBOOKED
            ],
            "status_labels": dict(AttendanceRecord.Status.choices),
            "prev": day - dt.timedelta(days=1),
            "next": day + dt.timedelta(days=1),
            "future": day > timezone.localdate(),
        },
    )
