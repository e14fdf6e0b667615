from django import forms
from django.conf import settings
from django.contrib.auth.forms import PasswordResetForm
from django.utils.translation import gettext_lazy as _

from backend.core.exceptions import ApplicationError
from backend.core.ratelimit import email_rate_limit, normalise_email


class RateLimitedPasswordResetForm(PasswordResetForm):
    """Case-folded address; at most MINOT_EMAIL_RATE_LIMIT emails per address and per account
    per window. Beyond it nothing is sent, and the page says the same as for an unknown address
    (no account enumeration, no inbox flooding)."""

    def clean_email(self):
        return normalise_email(self.cleaned_data["email"])

    def send_mail(self, subject_template_name, email_template_name, context, *args, **kwargs):
        user = context.get("user")
        try:
            email_rate_limit(
                action="password_reset",
                address=context["email"],
                account_id=getattr(user, "pk", None),
            )
        except ApplicationError:
            return
        super().send_mail(subject_template_name, email_template_name, context, *args, **kwargs)


class ProfileForm(forms.Form):
    phone = forms.CharField(label=_("Téléphone"), max_length=32, required=False)
    language = forms.ChoiceField(label=_("Langue"), choices=settings.LANGUAGES)
