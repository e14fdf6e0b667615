from django.urls import reverse
from django.utils.translation import gettext as _

from .access import is_city_admin
from .nav import NavItem


def items(user) -> list[NavItem]:
    """The city administrator's reference data lives in the Django admin."""
    if not is_city_admin(user):
        return []
    return [
        NavItem(
            _("Référentiels"),
            reverse("admin:index"),
            _(
                "Écoles, calendriers, secteurs, tarifs, utilisateurs et rôles (administration Django)."
            ),
        ),
        NavItem(
            _("Journal des consultations"),
            reverse("audit-access"),
            _("Quels agents ont consulté le dossier de quels enfants (RGPD)."),
            in_header=False,
        ),
    ]
