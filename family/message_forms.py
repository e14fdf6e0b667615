"""Forms of the message pages: they only parse input; the rules live in services/messages.py."""

from __future__ import annotations

import uuid
from typing import Any, cast

from django import forms
from django.utils.translation import gettext_lazy as _

from .forms import DateInput
from .message_models import MessageThread, OfficeSlot
from .models import School, SchoolApplication

ATTACHMENT_HELP = _("Facultatif : un fichier PDF, JPEG ou PNG.")


class ChoiceFieldsMixin:
    fields: dict[str, Any]

    def _choice(self, name: str) -> forms.ModelChoiceField:
        return cast(forms.ModelChoiceField, self.fields[name])


class ApplicationChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj: Any) -> str:
        return f"{obj.tracking_code_display} · {obj.child.first_name} · {obj.school.name}"


class PersonChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj: Any) -> str:
        return obj.get_full_name() or obj.email


class SlotChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj: Any) -> str:
        return f"{obj.date:%d/%m/%Y} {obj.start_time:%H:%M}–{obj.end_time:%H:%M}"


class TokenForm(ChoiceFieldsMixin, forms.Form):
    """A fresh token per rendered form: the same form sent twice stores one message."""

    client_token = forms.UUIDField(widget=forms.HiddenInput, required=False)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if not self.is_bound:
            self.initial.setdefault("client_token", uuid.uuid4())


class ThreadStartForm(TokenForm):
    school = forms.ModelChoiceField(label=_("École"), queryset=School.objects.none())
    application = ApplicationChoiceField(
        label=_("Au sujet de la demande d'inscription"),
        queryset=SchoolApplication.objects.none(),
        required=False,
        empty_label=_("Aucune en particulier"),
    )
    subject = forms.CharField(label=_("Objet"), max_length=200)
    body = forms.CharField(
        label=_("Message"), max_length=5000, widget=forms.Textarea(attrs={"rows": 6})
    )
    attachment = forms.FileField(label=_("Pièce jointe"), required=False, help_text=ATTACHMENT_HELP)

    def __init__(self, *args, schools=None, applications=None, **kwargs):
        super().__init__(*args, **kwargs)
        self._choice("school").queryset = schools if schools is not None else School.objects.none()
        self._choice("application").queryset = (
            applications if applications is not None else SchoolApplication.objects.none()
        )
        self.order_fields(["school", "application", "subject", "body", "attachment"])


class MessageForm(TokenForm):
    body = forms.CharField(
        label=_("Votre réponse"), max_length=5000, widget=forms.Textarea(attrs={"rows": 5})
    )
    attachment = forms.FileField(label=_("Pièce jointe"), required=False, help_text=ATTACHMENT_HELP)


class AssignForm(forms.Form):
    assignee = PersonChoiceField(
        label=_("Suivie par"),
        queryset=School.objects.none(),
        required=False,
        empty_label=_("Personne"),
    )

    def __init__(self, *args, thread: MessageThread, **kwargs):
        super().__init__(*args, **kwargs)
        field = cast(forms.ModelChoiceField, self.fields["assignee"])
        field.queryset = thread.school.staff.filter(is_active=True).order_by(
            "last_name", "first_name"
        )
        field.initial = thread.assigned_to_id


class OfficeSlotForm(ChoiceFieldsMixin, forms.Form):
    school = forms.ModelChoiceField(label=_("École"), queryset=School.objects.none())
    date = forms.DateField(label=_("Date"), widget=DateInput())
    start_time = forms.TimeField(
        label=_("Heure de début"), widget=forms.TimeInput(attrs={"type": "time"}, format="%H:%M")
    )
    duration_minutes = forms.IntegerField(
        label=_("Durée (minutes)"), min_value=5, max_value=240, initial=20
    )
    capacity = forms.IntegerField(
        label=_("Nombre de familles reçues"), min_value=1, max_value=50, initial=1
    )

    def __init__(self, *args, schools, **kwargs):
        super().__init__(*args, **kwargs)
        self._choice("school").queryset = schools
        if schools.count() == 1:
            self.fields["school"].initial = schools.first()


class AppointmentRequestForm(ChoiceFieldsMixin, forms.Form):
    slot = SlotChoiceField(label=_("Créneau"), queryset=OfficeSlot.objects.none())

    def __init__(self, *args, slots: list[OfficeSlot], **kwargs):
        super().__init__(*args, **kwargs)
        self._choice("slot").queryset = OfficeSlot.objects.filter(pk__in=[s.pk for s in slots])
