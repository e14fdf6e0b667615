from django.utils.translation import gettext as _

from backend.core.access import is_parent, is_staff_or_admin
from backend.core.nav import NavItem


def items(user) -> list[NavItem]:
    """Entries this app adds to the header and to the role's home page."""
    if is_parent(user):
        return [
            NavItem(
                _("Paiements"),
                "/paiements/",
                _("Vos factures, le paiement en ligne, vos reçus et attestations."),
            ),
        ]
    if is_staff_or_admin(user):
        return [
            NavItem(
                _("Paiements"),
                "/paiements/gestion/",
                _(
                    "Facturation mensuelle, paiements au guichet, remboursements, exports de trésorerie."
                ),
            ),
        ]
    return []
