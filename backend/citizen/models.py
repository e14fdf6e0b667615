"""Links between Minot accounts and identities at the city's OpenID Connect providers.

A link is the pair (issuer, sub): the provider's stable identifier for a person. The database
guarantees that one identity opens exactly one Minot account, and that an account has at most one
identity per provider.
"""

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from backend.accounts.models import Role


class CitizenLink(models.Model):
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        related_name="citizen_links",
        verbose_name=_("compte Minot"),
    )
    issuer = models.CharField(_("fournisseur d'identité"), max_length=255)
    sub = models.CharField(_("identifiant chez le fournisseur"), max_length=255)
    created_at = models.DateTimeField(_("lié le"), default=timezone.now, editable=False)
    last_login_at = models.DateTimeField(_("dernière connexion"), null=True, blank=True)

    class Meta:
        verbose_name = _("lien avec un compte citoyen")
        verbose_name_plural = _("liens avec des comptes citoyens")
        constraints = [
            models.UniqueConstraint(fields=["issuer", "sub"], name="citizen_link_one_account"),
            models.UniqueConstraint(fields=["user", "issuer"], name="citizen_link_one_per_issuer"),
        ]

    def __str__(self) -> str:
        return f"{self.user} ↔ {self.issuer} {self.sub}"


class StaffGroupRole(models.Model):
    """What a group of the city's staff directory gives in Minot (edited by administrators).

    Only the staff provider (``OIDC_STAFF_ISSUER``) reads it. The first matching row, by
    ``priority``, decides the role; schools of every matching row are added together.
    """

    STAFF_ROLES = [(Role.STAFF, Role.STAFF.label), (Role.TECHNICIAN, Role.TECHNICIAN.label)]

    group = models.CharField(_("groupe de l'annuaire"), max_length=255, unique=True)
    role = models.CharField(_("rôle dans Minot"), max_length=16, choices=STAFF_ROLES)
    schools = models.ManyToManyField(
        "family.School", blank=True, related_name="+", verbose_name=_("écoles")
    )
    priority = models.PositiveSmallIntegerField(
        _("priorité"), default=100, help_text=_("La plus petite valeur l'emporte.")
    )

    class Meta:
        ordering = ["priority", "group"]
        verbose_name = _("correspondance groupe → rôle")
        verbose_name_plural = _("correspondances groupes → rôles")

    def __str__(self) -> str:
        return f"{self.group} → {self.get_role_display()}"
