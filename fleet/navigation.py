from django.urls import reverse
from django.utils.translation import gettext as _

from backend.core.nav import NavItem

from .permissions import can_use_fleet


def items(user) -> list[NavItem]:
    """Technicians only: the fleet is invisible to every other role."""
    if not can_use_fleet(user):
        return []
    return [
        NavItem(_("Parc"), reverse("fleet:dashboard"), _("Tableau de bord des classes mobiles.")),
        NavItem(
            _("Alertes"),
            reverse("fleet:alerts"),
            _("Batteries, stockage, appareils disparus."),
            in_header=False,
        ),
        NavItem(_("Réparations"), reverse("fleet:tickets"), _("File des tickets de réparation.")),
        NavItem(
            _("Requêtes en direct"),
            reverse("fleet:live-queries"),
            _("Interroger des appareils."),
            in_header=False,
        ),
    ]
