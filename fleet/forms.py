from django import forms
from django.utils.translation import gettext_lazy as _

from family.models import School

from .models import Cart, Device, RepairTicket


class CartForm(forms.Form):
    name = forms.CharField(label=_("Nom du chariot"), max_length=100)
    slot_count = forms.IntegerField(
        label=_("Nombre d'emplacements"), min_value=1, max_value=64, initial=16
    )


class MoveForm(forms.Form):
    cart = forms.ModelChoiceField(
        label=_("Chariot"), queryset=Cart.objects.select_related("school"), required=False
    )
    slot = forms.IntegerField(label=_("Emplacement"), min_value=1, max_value=64, required=False)
    note = forms.CharField(label=_("Note"), max_length=300, required=False)


class SwapForm(forms.Form):
    other = forms.ModelChoiceField(
        label=_("Échanger avec l'appareil"), queryset=Device.objects.none()
    )
    note = forms.CharField(label=_("Note"), max_length=300, required=False)

    def __init__(self, *args, device=None, **kwargs):
        super().__init__(*args, **kwargs)
        if device is not None:
            self.fields["other"].queryset = Device.objects.filter(  # type: ignore[attr-defined]
                school_id=device.school_id
            ).exclude(pk=device.pk)


class LoanForm(forms.Form):
    school = forms.ModelChoiceField(
        label=_("Prêter à l'école"), queryset=School.objects.filter(is_active=True)
    )
    note = forms.CharField(label=_("Note"), max_length=300, required=False)


class TicketForm(forms.Form):
    title = forms.CharField(label=_("Objet"), max_length=200)
    note = forms.CharField(
        label=_("Note"), widget=forms.Textarea(attrs={"rows": 3}), required=False
    )


class TicketUpdateForm(forms.Form):
    state = forms.ChoiceField(
        label=_("Nouvel état"),
        choices=[("", _("(inchangé)")), *RepairTicket.State.choices],
        required=False,
    )
    note = forms.CharField(
        label=_("Note"), widget=forms.Textarea(attrs={"rows": 3}), required=False
    )


class LiveQueryForm(forms.Form):
    sql = forms.CharField(
        label=_("Requête SQL osquery"),
        widget=forms.Textarea(attrs={"rows": 4, "spellcheck": "false"}),
        max_length=10000,
        help_text=_(
            "Lecture seule : un SELECT sur les tables et colonnes de la liste autorisée "
            "(matériel, système, logiciels), colonnes nommées. Le reste est refusé avec la raison."
        ),
    )
    school = forms.ModelChoiceField(
        label=_("École"), queryset=School.objects.filter(is_active=True), required=False
    )
    cart = forms.ModelChoiceField(
        label=_("Chariot"), queryset=Cart.objects.select_related("school"), required=False
    )
    devices = forms.CharField(
        label=_("Ou numéros de série (séparés par des virgules)"), required=False, max_length=2000
    )
    minutes = forms.IntegerField(
        label=_("Valable (minutes)"), min_value=1, max_value=10080, initial=60
    )
