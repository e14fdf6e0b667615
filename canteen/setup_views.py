"""Staff pages to set up the daily services outside the Django admin: the list of services and one
page per service (the service, its units, a day's seats, its deadline rules and its tariffs).

City administrators change everything; school staff read the services of their schools; anybody
else gets 404 (as every page of another role), and so does a service beyond the staff's schools.
Forms validate at the boundary with French messages; every change goes through
``canteen.service_setup`` (one transaction, audited).
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import messages
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from backend.core.access import clean_pk, role_required
from backend.core.exceptions import ApplicationError
from backend.core.money import format_money, parse_amount
from family.models import School

from . import service_setup
from .models import DeadlineRule, Service, Tariff, TariffLine, Unit
from .permissions import can_edit_setup, setup_service_for, setup_services

WEEKDAYS = [
    (0, gettext_lazy("Lundi")),
    (1, gettext_lazy("Mardi")),
    (2, gettext_lazy("Mercredi")),
    (3, gettext_lazy("Jeudi")),
    (4, gettext_lazy("Vendredi")),
    (5, gettext_lazy("Samedi")),
    (6, gettext_lazy("Dimanche")),
]
DATE = forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")


def _amount_cents(text: str, *, allow_zero: bool) -> int:
    """Money typed by a person (``12,50``) → cents; ``0`` allowed where a price may be free."""
    cleaned = (text or "").strip().replace(",", ".").replace("€", "").strip()
    if allow_zero and cleaned and cleaned.strip("0.") == "":
        return 0
    try:
        return parse_amount(text)
    except ValueError as exc:
        raise forms.ValidationError(str(exc)) from None


class ServiceForm(forms.Form):
    name = forms.CharField(label=gettext_lazy("Nom"), max_length=120)
    weekdays = forms.TypedMultipleChoiceField(
        label=gettext_lazy("Jours d'ouverture"),
        choices=WEEKDAYS,
        coerce=int,
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text=gettext_lazy("Aucun jour coché : du lundi au vendredi."),
    )
    site = forms.ModelChoiceField(
        label=gettext_lazy("Lieu d'accueil"),
        queryset=School.objects.filter(is_active=True),
        required=False,
        empty_label=gettext_lazy("À l'école de l'enfant"),
        help_text=gettext_lazy(
            "Un centre de loisirs peut accueillir les enfants dans une autre école."
        ),
    )
    schools = forms.ModelMultipleChoiceField(
        label=gettext_lazy("Écoles concernées"),
        queryset=School.objects.filter(is_active=True),
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text=gettext_lazy("Aucune cochée : toutes les écoles."),
    )
    min_age = forms.IntegerField(
        label=gettext_lazy("Âge minimum (ans)"), min_value=0, max_value=25, required=False
    )
    max_age = forms.IntegerField(
        label=gettext_lazy("Âge maximum (ans)"), min_value=0, max_value=25, required=False
    )
    classes = forms.CharField(
        label=gettext_lazy("Classes admises"),
        required=False,
        max_length=300,
        help_text=gettext_lazy("Séparées par des virgules (ex. CP, CE1) ; vide : toutes."),
    )
    position = forms.IntegerField(
        label=gettext_lazy("Ordre d'affichage"), min_value=0, max_value=999
    )
    is_active = forms.BooleanField(label=gettext_lazy("Actif"), required=False)

    def clean_classes(self) -> list[str]:
        return [c.strip() for c in self.cleaned_data["classes"].split(",") if c.strip()]

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        low, high = data.get("min_age"), data.get("max_age")
        if low is not None and high is not None and low > high:
            self.add_error(
                "max_age", _("L'âge maximum doit être supérieur ou égal à l'âge minimum.")
            )
        return data

    @classmethod
    def initial_for(cls, service: Service) -> dict[str, Any]:
        return {
            "name": service.name,
            "weekdays": [int(w) for w in service.weekdays or []],
            "site": service.site_id,
            "schools": list(service.schools.all()),
            "min_age": service.min_age,
            "max_age": service.max_age,
            "classes": ", ".join(service.classes or []),
            "position": service.position,
            "is_active": service.is_active,
        }


class UnitForm(forms.Form):
    name = forms.CharField(label=gettext_lazy("Nom"), max_length=120)
    kind = forms.ChoiceField(label=gettext_lazy("Type"), choices=Unit.Kind.choices)
    includes_meal = forms.BooleanField(
        label=gettext_lazy("Comprend un repas (prévision cuisine, liste PAI)"), required=False
    )
    capacity = forms.IntegerField(
        label=gettext_lazy("Places par jour et par site"),
        min_value=0,
        max_value=10000,
        required=False,
        help_text=gettext_lazy("Vide : sans limite."),
    )
    position = forms.IntegerField(label=gettext_lazy("Ordre"), min_value=0, max_value=999)


class NewUnitForm(UnitForm):
    code = forms.RegexField(
        label=gettext_lazy("Code"),
        regex=r"^[A-Za-z0-9-]{1,16}$",
        error_messages={
            "invalid": gettext_lazy("Lettres, chiffres et tirets, 16 caractères au plus.")
        },
    )
    field_order = ["code", "name", "kind", "includes_meal", "capacity", "position"]


class DayCapacityForm(forms.Form):
    unit = forms.TypedChoiceField(label=gettext_lazy("Unité"), coerce=int)
    site = forms.ModelChoiceField(
        label=gettext_lazy("Site"), queryset=School.objects.filter(is_active=True)
    )
    day = forms.DateField(label=gettext_lazy("Jour"), widget=DATE)
    capacity = forms.IntegerField(
        label=gettext_lazy("Places ce jour"),
        min_value=0,
        max_value=10000,
        required=False,
        help_text=gettext_lazy(
            "Vide : la capacité de l'unité. Des places en plus vont d'abord à la liste d'attente."
        ),
    )

    def __init__(self, *args: Any, service: Service, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["unit"].choices = [(u.id, u.name) for u in service.units.all()]  # type: ignore[attr-defined]  # a choice field
        if service.site_id:
            self.fields["site"].queryset = School.objects.filter(pk=service.site_id)  # type: ignore[attr-defined]  # a model choice field


class RuleForm(forms.Form):
    days_before = forms.IntegerField(
        label=gettext_lazy("Jours ouvrés avant (J-n)"),
        min_value=0,
        max_value=60,
        help_text=gettext_lazy("0 = le jour même avant l'heure limite."),
    )
    cutoff_time = forms.TimeField(
        label=gettext_lazy("Heure limite"), widget=forms.TimeInput(attrs={"type": "time"})
    )
    skip_weekends = forms.BooleanField(
        label=gettext_lazy("Ne pas compter les week-ends"), required=False
    )
    skip_public_holidays = forms.BooleanField(
        label=gettext_lazy("Ne pas compter les jours fériés"), required=False
    )
    skip_school_holidays = forms.BooleanField(
        label=gettext_lazy("Ne pas compter les vacances scolaires et jours sans école"),
        required=False,
    )


class TariffForm(forms.Form):
    name = forms.CharField(label=gettext_lazy("Nom de la grille"), max_length=120)
    mode = forms.ChoiceField(label=gettext_lazy("Mode"), choices=Tariff.Mode.choices)
    valid_from = forms.DateField(label=gettext_lazy("Valable du"), widget=DATE)
    valid_until = forms.DateField(label=gettext_lazy("Valable jusqu'au"), widget=DATE)
    surcharge = forms.CharField(
        label=gettext_lazy("Majoration si présent sans réservation (€)"),
        required=False,
        max_length=20,
        help_text=gettext_lazy("Par exemple 1,50 ; vide : aucune."),
    )

    def clean_surcharge(self) -> int:
        text = self.cleaned_data["surcharge"]
        return _amount_cents(text, allow_zero=True) if text.strip() else 0

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        start, end = data.get("valid_from"), data.get("valid_until")
        if start and end and end < start:
            self.add_error("valid_until", _("La date de fin précède la date de début."))
        return data


class TariffLineForm(forms.Form):
    unit = forms.TypedChoiceField(
        label=gettext_lazy("Unité"), coerce=int, required=False, empty_value=None
    )
    bracket = forms.IntegerField(
        label=gettext_lazy("Tranche de revenus"),
        min_value=1,
        max_value=30,
        required=False,
        help_text=gettext_lazy("Vide : plein tarif (sans quotient validé)."),
    )
    sibling_rank = forms.IntegerField(
        label=gettext_lazy("Rang de l'enfant"), min_value=1, max_value=10, initial=1
    )
    resident = forms.BooleanField(label=gettext_lazy("Résident"), required=False, initial=True)
    amount = forms.CharField(
        label=gettext_lazy("Prix (€)"),
        max_length=20,
        help_text=gettext_lazy("Par exemple 3,20 ; 0 pour un service gratuit."),
    )

    def __init__(self, *args: Any, service: Service, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["unit"].choices = [("", _("Toutes les unités"))] + [  # type: ignore[attr-defined]  # a choice field
            (u.id, u.name) for u in service.units.all()
        ]

    def clean_amount(self) -> int:
        return _amount_cents(self.cleaned_data["amount"], allow_zero=True)


# --- pages ---------------------------------------------------------------------------------------
@role_required("staff", "admin")
def setup_list(request):
    services = list(
        setup_services(request.user).select_related("site").prefetch_related("units", "schools")
    )
    return render(
        request,
        "canteen/setup_list.html",
        {
            "title": _("Réglages des services"),
            "services": services,
            "editable": can_edit_setup(request.user),
        },
    )


class _Forms:
    """The forms of one service page: unbound, or the one that was posted (bound, with errors)."""

    def __init__(self, service: Service) -> None:
        self.service = service
        self.units = list(service.units.all())
        self.tariffs = list(
            service.tariffs.prefetch_related("lines", "lines__unit").order_by("-valid_from")
        )
        rules = {r.action: r for r in service.deadline_rules.all()}
        defaults = {r.action: r for r in DeadlineRule.objects.filter(service__isnull=True)}
        self.rules = [
            (action, label, rules.get(action), defaults.get(action))
            for action, label in DeadlineRule.Action.choices
        ]
        self.service_form = ServiceForm(prefix="s", initial=ServiceForm.initial_for(service))
        self.unit_forms = {
            u.id: UnitForm(
                prefix=f"u{u.id}",
                initial={f: getattr(u, f) for f in service_setup.UNIT_FIELDS},
            )
            for u in self.units
        }
        self.new_unit_form = NewUnitForm(prefix="nu", initial={"position": len(self.units)})
        self.day_form = DayCapacityForm(prefix="d", service=service)
        self.rule_forms = {
            action: RuleForm(prefix=f"r-{action}", initial=_rule_initial(own or default))
            for action, _label, own, default in self.rules
        }
        self.tariff_forms = {
            t.id: TariffForm(prefix=f"t{t.id}", initial=_tariff_initial(t)) for t in self.tariffs
        }
        self.new_tariff_form = TariffForm(prefix="nt")
        self.line_forms = {
            t.id: TariffLineForm(prefix=f"l{t.id}", service=service) for t in self.tariffs
        }


def _rule_initial(rule: DeadlineRule | None) -> dict[str, Any]:
    if rule is None:
        return {"days_before": 2, "cutoff_time": "10:00", "skip_weekends": True}
    return {f: getattr(rule, f) for f in service_setup.RULE_FIELDS}


def _tariff_initial(tariff: Tariff) -> dict[str, Any]:
    return {
        "name": tariff.name,
        "mode": tariff.mode,
        "valid_from": tariff.valid_from,
        "valid_until": tariff.valid_until,
        "surcharge": format_money(tariff.unbooked_surcharge_cents, tariff.currency)
        if tariff.unbooked_surcharge_cents
        else "",
    }


def _pick(items: list[Any], value: Any) -> Any:
    """The item of ``items`` whose id was posted; anything else is not found (404)."""
    pk = clean_pk(value)
    for item in items:
        if item.id == pk:
            return item
    raise Http404


def _post_service(request, f: _Forms) -> bool:
    form = f.service_form = ServiceForm(request.POST, prefix="s")
    if not form.is_valid():
        return False
    data = dict(form.cleaned_data)
    schools = list(data.pop("schools"))
    service_setup.service_update(actor=request.user, service=f.service, schools=schools, **data)
    messages.success(request, _("Service enregistré."))
    return True


def _post_unit(request, f: _Forms) -> bool:
    unit = _pick(f.units, request.POST.get("unit"))
    form = f.unit_forms[unit.id] = UnitForm(request.POST, prefix=f"u{unit.id}")
    if not form.is_valid():
        return False
    service_setup.unit_save(actor=request.user, service=f.service, unit=unit, **form.cleaned_data)
    messages.success(request, _("Unité « %(name)s » enregistrée.") % {"name": unit.name})
    return True


def _post_new_unit(request, f: _Forms) -> bool:
    form = f.new_unit_form = NewUnitForm(request.POST, prefix="nu")
    if not form.is_valid():
        return False
    unit = service_setup.unit_save(actor=request.user, service=f.service, **form.cleaned_data)
    messages.success(request, _("Unité « %(name)s » ajoutée.") % {"name": unit.name})
    return True


def _post_day(request, f: _Forms) -> bool:
    form = f.day_form = DayCapacityForm(request.POST, prefix="d", service=f.service)
    if not form.is_valid():
        return False
    v = form.cleaned_data
    unit = _pick(f.units, v["unit"])
    promoted = service_setup.unit_day_capacity_set(
        actor=request.user, unit=unit, site=v["site"], day=v["day"], capacity=v["capacity"]
    )
    messages.success(
        request,
        _("Places du %(day)s enregistrées ; %(n)s demande(s) de la liste d'attente confirmée(s).")
        % {"day": v["day"].strftime("%d/%m/%Y"), "n": len(promoted)},
    )
    return True


def _post_rule(request, f: _Forms) -> bool:
    action = request.POST.get("rule")
    if action not in f.rule_forms:
        raise Http404
    if request.POST.get("reset"):
        service_setup.deadline_rule_reset(actor=request.user, service=f.service, action=action)
        messages.success(request, _("Le délai par défaut de la ville s'applique de nouveau."))
        return True
    form = f.rule_forms[action] = RuleForm(request.POST, prefix=f"r-{action}")
    if not form.is_valid():
        return False
    service_setup.deadline_rule_set(
        actor=request.user, service=f.service, action=action, **form.cleaned_data
    )
    messages.success(request, _("Délai enregistré."))
    return True


def _tariff_values(form: TariffForm) -> dict[str, Any]:
    v = dict(form.cleaned_data)
    v["unbooked_surcharge_cents"] = v.pop("surcharge")
    return v


def _post_tariff(request, f: _Forms) -> bool:
    tariff_id = request.POST.get("tariff")
    if tariff_id:
        tariff = _pick(f.tariffs, tariff_id)
        form = f.tariff_forms[tariff.id] = TariffForm(request.POST, prefix=f"t{tariff.id}")
    else:
        tariff = None
        form = f.new_tariff_form = TariffForm(request.POST, prefix="nt")
    if not form.is_valid():
        return False
    service_setup.tariff_save(
        actor=request.user, service=f.service, tariff=tariff, **_tariff_values(form)
    )
    messages.success(request, _("Grille tarifaire enregistrée."))
    return True


def _post_line(request, f: _Forms) -> bool:
    tariff = _pick(f.tariffs, request.POST.get("tariff"))
    form = f.line_forms[tariff.id] = TariffLineForm(
        request.POST, prefix=f"l{tariff.id}", service=f.service
    )
    if not form.is_valid():
        return False
    v = form.cleaned_data
    unit = _pick(f.units, v["unit"]) if v["unit"] is not None else None
    service_setup.tariff_line_save(
        actor=request.user,
        tariff=tariff,
        unit=unit,
        bracket=v["bracket"],
        sibling_rank=v["sibling_rank"],
        resident=v["resident"],
        amount_cents=v["amount"],
    )
    messages.success(request, _("Prix enregistré."))
    return True


def _post_line_delete(request, f: _Forms) -> bool:
    lines: list[TariffLine] = [line for t in f.tariffs for line in t.lines.all()]
    line = _pick(lines, request.POST.get("line"))
    service_setup.tariff_line_delete(actor=request.user, line=line)
    messages.success(request, _("Prix supprimé."))
    return True


POST_ACTIONS = {
    "service": _post_service,
    "unit": _post_unit,
    "unit_new": _post_new_unit,
    "day": _post_day,
    "rule": _post_rule,
    "tariff": _post_tariff,
    "line": _post_line,
    "line_delete": _post_line_delete,
}


@role_required("staff", "admin")
def setup_service(request, service_id: int):
    service = setup_service_for(request.user, service_id)
    editable = can_edit_setup(request.user)
    f = _Forms(service)
    if request.method == "POST":
        if not editable:
            raise Http404  # staff read the set-up; changing it is the city's (as another role)
        handler = POST_ACTIONS.get(request.POST.get("action", ""))
        if handler is None:
            raise Http404
        try:
            if handler(request, f):
                return redirect(reverse("canteen:setup-service", args=[service.id]))
        except ApplicationError as exc:
            messages.error(request, exc.message)
            return redirect(reverse("canteen:setup-service", args=[service.id]))
        messages.error(request, _("Vérifiez le formulaire ci-dessous."))
    return render(
        request,
        "canteen/setup_service.html",
        {
            "title": _("Réglages — %(name)s") % {"name": service.name},
            "service": service,
            "editable": editable,
            "weekday_labels": [
                str(label) for d, label in WEEKDAYS if d in f.service.open_weekdays()
            ]
            if service.weekdays
            else [],
            "f": f,
            "units": [(u, f.unit_forms[u.id]) for u in f.units],
            "rules": [
                (a, label, own, default, f.rule_forms[a]) for a, label, own, default in f.rules
            ],
            "tariffs": [(t, f.tariff_forms[t.id], f.line_forms[t.id]) for t in f.tariffs],
        },
    )
