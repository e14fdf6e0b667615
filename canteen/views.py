"""Pages: the parent's month calendar, the public menu, the staff roll, menus and forecasts."""

from __future__ import annotations

import datetime as dt
from collections import Counter

from django import forms
from django.contrib import messages
from django.http import Http404, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_http_methods

from backend.core.access import is_parent, role_required
from backend.core.allergens import Allergen
from backend.core.confirm import confirmation_page, needs_confirmation
from backend.core.exceptions import ApplicationError
from family.models import Child, School

from . import forecasts, selectors, services
from .deadlines import monday_of
from .models import COURSE_ORDER, AllergenPresence, AttendanceRecord, Dish, Menu, Variant
from .page_helpers import MONTH_NAMES, _parse_date, _report
from .permissions import (
    can_edit_citywide_menus,
    child_for_user,
    school_for_staff,
    staff_schools,
    visible_children,
)

WEEKDAY_NAMES = [
    gettext_lazy("Lundi"),
    gettext_lazy("Mardi"),
    gettext_lazy("Mercredi"),
    gettext_lazy("Jeudi"),
    gettext_lazy("Vendredi"),
]
STATE_TAGS = {
    "booked": "tag-ok",
    "not_booked": "",
    "closed": "",
    "past_deadline": "tag-warn",
    "absent": "tag-warn",
}
LEVEL_TAGS = {
    "contains": "tag-danger",
    "may_contain": "tag-warn",
    "unknown": "tag-warn",
    "safe": "tag-ok",
    "packed_lunch": "tag-ok",
    "no_allergy": "",
}


# --- parent calendar -----------------------------------------------------------------------------
class PatternForm(forms.Form):
    start = forms.DateField(
        label=gettext_lazy("Du"), widget=forms.DateInput(attrs={"type": "date"})
    )
    end = forms.DateField(
        label=gettext_lazy("Au (inclus)"), widget=forms.DateInput(attrs={"type": "date"})
    )
    weekdays = forms.TypedMultipleChoiceField(
        label=gettext_lazy("Jours de la semaine"),
        coerce=int,
        choices=[(i, name) for i, name in enumerate(WEEKDAY_NAMES)],
        widget=forms.CheckboxSelectMultiple,
    )


class CopyWeekForm(forms.Form):
    source_week = forms.DateField(
        label=gettext_lazy("Semaine à copier (un jour de la semaine)"),
        widget=forms.DateInput(attrs={"type": "date"}),
    )
    target_week = forms.DateField(
        label=gettext_lazy("Vers la semaine du"), widget=forms.DateInput(attrs={"type": "date"})
    )


class RangeForm(forms.Form):
    start = forms.DateField(
        label=gettext_lazy("Du"), widget=forms.DateInput(attrs={"type": "date"})
    )
    end = forms.DateField(
        label=gettext_lazy("Au (inclus)"), widget=forms.DateInput(attrs={"type": "date"})
    )


@role_required("parent", "staff", "admin")
@require_http_methods(["GET", "POST"])
def child_calendar(request, child_id: int, year: int | None = None, month: int | None = None):
    child = child_for_user(request.user, child_id)
    today = timezone.localdate()
    year, month = year or today.year, month or today.month
    if not (2000 <= year <= 2100 and 1 <= month <= 12):
        raise Http404
    here = reverse("canteen:calendar", args=[child.id, year, month])
    page_forms = {
        "pattern": PatternForm(prefix="p"),
        "copy": CopyWeekForm(prefix="c"),
        "cancel_range": RangeForm(prefix="r"),
    }
    if request.method == "POST":
        response = _calendar_post(request, child=child, here=here, page_forms=page_forms)
        if response is not None:
            return response
        messages.error(request, _("Vérifiez le formulaire ci-dessous."))
    days = selectors.child_month_calendar(child=child, year=year, month=month)
    services.staff_read_record(
        user=request.user,
        action="canteen.calendar.view",
        target=child,
        household_id=child.household_id,
        data={"month": f"{year}-{month:02d}"},
    )
    weeks = _school_weeks(days)
    first = dt.date(year, month, 1)
    prev_month = (first - dt.timedelta(days=1)).replace(day=1)
    next_month = (first + dt.timedelta(days=32)).replace(day=1)
    booked = [d for d in days if d.state == "booked" and d.price]
    warnings = [d for d in days if d.safety and d.safety.warn and d.state == "booked"]
    return render(
        request,
        "canteen/calendar.html",
        {
            "title": _("Repas de %(child)s — %(month)s %(year)s")
            % {"child": child.first_name, "month": MONTH_NAMES[month - 1], "year": year},
            "child": child,
            "weeks": weeks,
            "weekday_names": WEEKDAY_NAMES,
            "state_tags": STATE_TAGS,
            "level_tags": LEVEL_TAGS,
            "prev": prev_month,
            "next": next_month,
            "pattern_form": page_forms["pattern"],
            "copy_form": page_forms["copy"],
            "range_form": page_forms["cancel_range"],
            "booked_count": len(booked),
            "booked_total": sum(d.price.amount_cents for d in booked),  # type: ignore[union-attr,misc]  # booked keeps days with a price
            "warnings": warnings,
            "month_label": f"{MONTH_NAMES[month - 1]} {year}",
        },
    )


def _school_weeks(days: list) -> list[list]:
    """The month's days as weeks of Monday–Friday (``None`` where the week is cut by the month)."""
    weeks: list[list] = []
    for d in days:
        if d.day.weekday() >= 5:
            continue
        if not weeks or d.day.weekday() == 0:
            weeks.append([None] * 5)
        weeks[-1][d.day.weekday()] = d
    return weeks


def _calendar_day_action(request, *, child: Child, action: str) -> None:
    """Book or cancel the one day posted (strict: a refusal raises ``ApplicationError``)."""
    day = _parse_date(request.POST.get("day"))
    if day is None:
        raise ApplicationError(_("Jour invalide."))
    if action == "book":
        services.booking_create(child=child, day=day, actor=request.user)
        messages.success(request, _("Repas réservé le %(d)s.") % {"d": day.strftime("%d/%m/%Y")})
    else:
        services.booking_cancel(child=child, day=day, actor=request.user)
        messages.success(request, _("Repas annulé le %(d)s.") % {"d": day.strftime("%d/%m/%Y")})


def _run_pattern(child: Child, v: dict, actor) -> services.BookingResult:
    return services.bookings_create_pattern(
        children=[child], start=v["start"], end=v["end"], weekdays=v["weekdays"], actor=actor
    )


def _run_copy(child: Child, v: dict, actor) -> services.BookingResult:
    return services.bookings_copy_week(
        child=child, source_monday=v["source_week"], target_monday=v["target_week"], actor=actor
    )


def _run_cancel_range(child: Child, v: dict, actor) -> services.BookingResult:
    return services.bookings_cancel_range(child=child, start=v["start"], end=v["end"], actor=actor)


# action → (form class, prefix, service call, message with %(n)s)
CALENDAR_FORM_ACTIONS = {
    "pattern": (PatternForm, "p", _run_pattern, gettext_lazy("%(n)s repas réservés.")),
    "copy": (CopyWeekForm, "c", _run_copy, gettext_lazy("%(n)s repas réservés.")),
    "cancel_range": (RangeForm, "r", _run_cancel_range, gettext_lazy("%(n)s repas annulés.")),
}


def _calendar_post(request, *, child: Child, here: str, page_forms: dict):
    """Handle a POST of the month calendar: a redirect when done or refused, ``None`` when a
    form has errors (``page_forms`` then holds the bound form to show again)."""
    action = request.POST.get("action")
    try:
        if action in ("book", "cancel"):
            _calendar_day_action(request, child=child, action=action)
            return redirect(here)
        if action not in CALENDAR_FORM_ACTIONS:
            raise ApplicationError(_("Action inconnue."))
        form_class, prefix, run, done = CALENDAR_FORM_ACTIONS[action]
        form = page_forms[action] = form_class(request.POST, prefix=prefix)
        if not form.is_valid():
            return None
        result = run(child, form.cleaned_data, request.user)
        _report(request, result, str(done))
        return redirect(here)
    except ApplicationError as exc:
        messages.error(request, exc.message)
        return redirect(here)


# --- home ----------------------------------------------------------------------------------------
class FamilyPatternForm(PatternForm):
    children: forms.ModelMultipleChoiceField[Child] = forms.ModelMultipleChoiceField(
        label=gettext_lazy("Enfants"), queryset=None, widget=forms.CheckboxSelectMultiple
    )

    def __init__(self, *args, children_qs, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["children"].queryset = children_qs  # type: ignore[attr-defined]  # a ModelMultipleChoiceField
        self.order_fields(["children", "start", "end", "weekdays"])


@role_required("parent", "staff", "admin")
@require_http_methods(["GET", "POST"])
def home(request):
    if is_parent(request.user):
        today = timezone.localdate()
        children = visible_children(request.user).select_related("school", "household")
        form = FamilyPatternForm(prefix="f", children_qs=children)
        if request.method == "POST":
            form = FamilyPatternForm(request.POST, prefix="f", children_qs=children)
            if form.is_valid():
                v = form.cleaned_data
                try:
                    result = services.bookings_create_pattern(
                        children=list(v["children"]),
                        start=v["start"],
                        end=v["end"],
                        weekdays=v["weekdays"],
                        actor=request.user,
                    )
                    _report(request, result, _("%(n)s repas réservés."))
                except ApplicationError as exc:
                    messages.error(request, exc.message)
                return redirect("canteen:home")
            messages.error(request, _("Vérifiez le formulaire ci-dessous."))
        context = {"children": children, "today": today, "form": form, "title": _("Cantine")}
        return render(request, "canteen/home_parent.html", context)
    if request.method == "POST":
        raise Http404
    return render(
        request,
        "canteen/home_staff.html",
        {
            "schools": staff_schools(request.user),
            "today": timezone.localdate(),
            "title": _("Cantine — personnel"),
            "citywide": can_edit_citywide_menus(request.user),
        },
    )


# --- public menus --------------------------------------------------------------------------------
def public_menu_index(request):
    schools = School.objects.filter(is_active=True, has_canteen=True).order_by("name")
    return render(
        request, "canteen/menu_index.html", {"schools": schools, "title": _("Menus de la cantine")}
    )


def _dish_allergen_summary(dish: Dish) -> dict:
    groups: dict[str, list[str]] = {p: [] for p in AllergenPresence.values}
    for code in Allergen.values:
        groups[dish.presence(code)].append(str(Allergen(code).label))
    return {
        "dish": dish,
        "contains": groups["contains"],
        "may_contain": groups["may_contain"],
        "unknown": groups["unknown"],
        "variant_label": Variant(dish.variant).label,
    }


def public_menu_week(request, school_code: str):
    school = get_object_or_404(School, code=school_code, is_active=True)
    monday = monday_of(_parse_date(request.GET.get("semaine"), timezone.localdate()))
    menus = selectors.menus_for_school(
        school=school, start=monday, end=monday + dt.timedelta(days=4)
    )
    days = []
    for i in range(5):
        day = monday + dt.timedelta(days=i)
        menu = menus.get(day)
        courses = []
        if menu:
            for label, dishes in selectors.dishes_by_course(menu):
                courses.append(
                    {"label": label, "dishes": [_dish_allergen_summary(d) for d in dishes]}
                )
        days.append({"day": day, "name": WEEKDAY_NAMES[i], "menu": menu, "courses": courses})
    return render(
        request,
        "canteen/menu_week.html",
        {
            "school": school,
            "days": days,
            "monday": monday,
            "prev": monday - dt.timedelta(days=7),
            "next": monday + dt.timedelta(days=7),
            "title": _("Menus — %(school)s") % {"school": school.name},
        },
    )


# --- staff: roll ---------------------------------------------------------------------------------
@role_required("staff", "admin")
@require_http_methods(["GET", "POST"])
def roll(request, school_id: int):
    school = school_for_staff(request.user, school_id)
    day = _parse_date(request.GET.get("jour") or request.POST.get("jour"), timezone.localdate())
    here = reverse("canteen:roll", args=[school.id]) + f"?jour={day.isoformat()}"
    if request.method == "POST":
        statuses: dict[int, str] = {}
        for key, value in request.POST.items():
            if key.startswith("child-"):
                try:
                    child_id = int(key.removeprefix("child-"))
                except ValueError:
                    continue
                if value:
                    statuses[child_id] = value
        for value in request.POST.getlist("unbooked"):
            try:
                statuses[int(value)] = AttendanceRecord.Status.PRESENT_UNBOOKED
            except ValueError:
                continue
        try:
            services.roll_day_check(school=school, day=day)
            if needs_confirmation(request):
                counts = Counter(statuses.values())
                labels = dict(AttendanceRecord.Status.choices)
                return confirmation_page(
                    request,
                    title=_("Clore l'appel du %(day)s") % {"day": date_format(day, "l j F Y")},
                    summary=[
                        _("École : %(school)s") % {"school": school.name},
                        *[f"{labels[status]} : {n}" for status, n in sorted(counts.items())],
                    ],
                    warning=_(
                        "Une fois l'appel clos, la journée est verrouillée et sert à la facturation."
                    ),
                    confirm_label=_("Clore l'appel"),
                    cancel_url=here,
                )
            services.roll_take(school=school, day=day, statuses=statuses, actor=request.user)
            messages.success(
                request, _("Appel enregistré : la journée est close pour la facturation.")
            )
        except ApplicationError as exc:
            messages.error(request, exc.message)
        return redirect(here)
    taken, rows = selectors.roll_sheet(school=school, day=day)
    services.staff_read_record(
        user=request.user, action="canteen.roll.view", target=school, data={"day": day.isoformat()}
    )
    return render(
        request,
        "canteen/roll.html",
        {
            "school": school,
            "day": day,
            "taken": taken,
            "booked_rows": [r for r in rows if r["booked"]],
            "other_rows": [r for r in rows if not r["booked"] and (not taken or r["status"])],
            "statuses": [
                (s.value, s.label)
                for s in AttendanceRecord.Status
                if s != AttendanceRecord.Status.PRESENT_UNBOOKED
            ],
            "status_labels": dict(AttendanceRecord.Status.choices),
            "kitchen": selectors.kitchen_daily_list(school=school, day=day),
            "prev": day - dt.timedelta(days=1),
            "next": day + dt.timedelta(days=1),
            "title": _("Appel de cantine — %(school)s") % {"school": school.name},
            "future": day > timezone.localdate(),
        },
    )


# --- staff: menus --------------------------------------------------------------------------------
def _menu_scope(request, scope: str) -> School | None:
    if scope == "ville":
        if not can_edit_citywide_menus(request.user):
            raise Http404
        return None
    return school_for_staff(request.user, scope)


PRESENCE_CHOICES = [
    (AllergenPresence.UNKNOWN, gettext_lazy("Inconnu")),
    (AllergenPresence.FREE, gettext_lazy("Sans")),
    (AllergenPresence.MAY_CONTAIN, gettext_lazy("Traces")),
    (AllergenPresence.CONTAINS, gettext_lazy("Contient")),
]


class DishForm(forms.Form):
    course = forms.ChoiceField(
        label=gettext_lazy("Service"), choices=[("", "—"), *Dish.Course.choices], required=False
    )
    variant = forms.ChoiceField(
        label=gettext_lazy("Variante"),
        choices=[c for c in Variant.choices if c[0] != Variant.PACKED_LUNCH],
        initial=Variant.STANDARD,
    )
    name = forms.CharField(label=gettext_lazy("Plat"), max_length=200, required=False)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for allergen in Allergen:
            self.fields[f"a_{allergen.value}"] = forms.ChoiceField(
                label=allergen.label,
                choices=PRESENCE_CHOICES,
                initial=AllergenPresence.UNKNOWN,
                required=False,
            )

    def allergen_fields(self):
        return [self[f"a_{a.value}"] for a in Allergen]


DishFormSet = forms.formset_factory(DishForm, extra=0, max_num=12)


@role_required("staff", "admin")
@require_http_methods(["GET", "POST"])
def menu_week_edit(request, scope: str):
    school = _menu_scope(request, scope)
    monday = monday_of(
        _parse_date(request.GET.get("semaine") or request.POST.get("semaine"), timezone.localdate())
    )
    here = reverse("canteen:menu-week", args=[scope]) + f"?semaine={monday.isoformat()}"
    if request.method == "POST":
        try:
            if request.POST.get("action") == "copy":
                target = _parse_date(request.POST.get("target"))
                if target is None:
                    raise ApplicationError(_("Choisissez la semaine de destination."))
                copied = services.menus_copy_week(
                    school=school, source_monday=monday, target_monday=target, actor=request.user
                )
                messages.success(
                    request, _("%(n)s menus copiés (non publiés).") % {"n": len(copied)}
                )
                return redirect(
                    reverse("canteen:menu-week", args=[scope])
                    + f"?semaine={monday_of(target).isoformat()}"
                )
            if request.POST.get("action") == "publish":
                count = services.menus_publish_week(
                    school=school, monday=monday, actor=request.user
                )
                messages.success(request, _("%(n)s menus publiés.") % {"n": count})
                return redirect(here)
        except ApplicationError as exc:
            messages.error(request, exc.message)
            return redirect(here)
    menus = {
        m.day: m
        for m in Menu.objects.filter(
            school=school, day__gte=monday, day__lte=monday + dt.timedelta(days=4)
        ).prefetch_related("dishes")
    }
    days = [
        {
            "day": monday + dt.timedelta(days=i),
            "name": WEEKDAY_NAMES[i],
            "menu": menus.get(monday + dt.timedelta(days=i)),
        }
        for i in range(5)
    ]
    return render(
        request,
        "canteen/menu_edit_week.html",
        {
            "scope": scope,
            "school": school,
            "monday": monday,
            "days": days,
            "prev": monday - dt.timedelta(days=7),
            "next": monday + dt.timedelta(days=7),
            "title": _("Menus — %(who)s")
            % {"who": school.name if school else _("toutes les écoles")},
        },
    )


@role_required("staff", "admin")
@require_http_methods(["GET", "POST"])
def menu_day_edit(request, scope: str, day: str):
    school = _menu_scope(request, scope)
    the_day = _parse_date(day)
    if the_day is None:
        raise Http404
    menu = Menu.objects.filter(school=school, day=the_day).prefetch_related("dishes").first()
    if request.method == "POST":
        formset = DishFormSet(request.POST, prefix="d")
        if formset.is_valid():
            dishes = []
            for form in formset:
                v = form.cleaned_data
                if not v or not v.get("name") or not v.get("course"):
                    continue
                dishes.append(
                    {
                        "course": v["course"],
                        "variant": v["variant"],
                        "name": v["name"],
                        "allergens": {
                            a.value: v.get(f"a_{a.value}") or AllergenPresence.UNKNOWN
                            for a in Allergen
                        },
                    }
                )
            try:
                services.menu_save(
                    school=school,
                    day=the_day,
                    dishes=dishes,
                    publish=bool(request.POST.get("publish")),
                    note=request.POST.get("note", ""),
                    actor=request.user,
                )
                messages.success(request, _("Menu enregistré."))
                return redirect(
                    reverse("canteen:menu-week", args=[scope])
                    + f"?semaine={monday_of(the_day).isoformat()}"
                )
            except ApplicationError as exc:
                messages.error(request, exc.message)
        else:
            messages.error(request, _("Vérifiez le formulaire ci-dessous."))
    else:
        initial = []
        current_dishes: list[Dish] = sorted(
            menu.dishes.all() if menu else [],
            key=lambda d: (COURSE_ORDER.index(d.course), d.variant != Variant.STANDARD, d.variant),
        )
        for dish in current_dishes:
            row = {"course": dish.course, "variant": dish.variant, "name": dish.name}
            row.update({f"a_{a.value}": dish.presence(a.value) for a in Allergen})
            initial.append(row)
        initial += [{}] * (7 - len(initial)) if len(initial) < 7 else [{}]
        formset = DishFormSet(initial=initial, prefix="d")
    return render(
        request,
        "canteen/menu_edit_day.html",
        {
            "scope": scope,
            "school": school,
            "day": the_day,
            "menu": menu,
            "formset": formset,
            "title": _("Menu du %(d)s") % {"d": the_day.strftime("%d/%m/%Y")},
        },
    )


# --- staff: forecasts ----------------------------------------------------------------------------
@role_required("staff", "admin")
def forecast(request):
    schools = list(staff_schools(request.user))
    school_ids = [s.id for s in schools]
    start = _parse_date(request.GET.get("debut"), timezone.localdate() + dt.timedelta(days=1))
    try:
        n_days = max(1, min(int(request.GET.get("jours", 1)), 31))
    except ValueError:
        n_days = 1
    end = start + dt.timedelta(days=n_days - 1)
    frame = forecasts.meal_forecast(start=start, end=end, school_ids=school_ids)
    pivot = forecasts.forecast_pivot(frame)
    report = forecasts.attendance_report(
        start=start - dt.timedelta(days=28), end=start, school_ids=school_ids
    )
    lists = selectors.kitchen_lists(school_ids=school_ids, day=start)
    kitchen = [(school, lists[school.id]) for school in schools if school.id in lists]
    kitchen_frame = forecasts.kitchen_frame(kitchen, day=start)
    fmt = request.GET.get("format")
    stamp = f"{start.isoformat()}_{n_days}j"
    if fmt == "csv":
        response = HttpResponse(forecasts.to_csv(pivot), content_type="text/csv; charset=utf-8")
        response["Content-Disposition"] = f'attachment; filename="previsions-cantine-{stamp}.csv"'
        return response
    if fmt == "pai_csv":
        response = HttpResponse(
            forecasts.to_csv(kitchen_frame), content_type="text/csv; charset=utf-8"
        )
        response["Content-Disposition"] = (
            f'attachment; filename="liste-pai-{start.isoformat()}.csv"'
        )
        return response
    if fmt == "xlsx":
        data = forecasts.to_xlsx(
            {_("Prévisions"): pivot, _("PAI et allergies"): kitchen_frame, _("Présence"): report}
        )
        response = HttpResponse(
            data, content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
        )
        response["Content-Disposition"] = f'attachment; filename="previsions-cantine-{stamp}.xlsx"'
        return response
    totals = (
        frame.groupby("school")["meals"].sum().sort_values(ascending=False)
        if not frame.empty
        else None
    )
    chart = forecasts.svg_bar_chart(
        title=_("Repas réservés par école du %(d1)s au %(d2)s")
        % {"d1": start.strftime("%d/%m"), "d2": end.strftime("%d/%m")},
        bars=[(str(k), int(v)) for k, v in totals.head(20).items()] if totals is not None else [],
    )
    return render(
        request,
        "canteen/forecast.html",
        {
            "title": _("Prévisions de la cuisine"),
            "start": start,
            "end": end,
            "n_days": n_days,
            "pivot_columns": list(pivot.columns),
            "pivot_rows": pivot.values.tolist(),
            "chart": chart,
            "report_rows": report.to_dict(orient="records"),
            "kitchen": kitchen,
            "total": int(frame["meals"].sum()) if not frame.empty else 0,
        },
    )
