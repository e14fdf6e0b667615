from django.urls import reverse
from django.utils.translation import gettext as _

from backend.core.access import is_city_admin, is_parent, is_staff_or_admin
from backend.core.nav import NavItem


def items(user) -> list[NavItem]:
    """Entries this app adds to the header and to the role's home page."""
    if is_parent(user):
        return [
            NavItem(
                _("Cantine"),
                reverse("canteen:home"),
                _("Réservez les repas du mois, voyez les prix, les délais et les allergènes."),
            ),
            NavItem(
                _("Accueils et centres"),
                reverse("canteen:home"),
                _(
                    "Accueil du matin et du soir, étude, mercredis et vacances : un seul calendrier."
                ),
                False,
            ),
            NavItem(
                _("Menus"),
                reverse("canteen:menus"),
                _("Les menus de la semaine et leurs allergènes."),
                False,
            ),
        ]
    if is_staff_or_admin(user):
        setup = (
            [
                NavItem(
                    _("Réglages des services"),
                    reverse("canteen:setup-list"),
                    _("Unités, places, délais, tarifs et sites de chaque service."),
                    False,
                )
            ]
            if is_city_admin(user)
            else []
        )
        return [
            NavItem(
                _("Cantine"),
                reverse("canteen:home"),
                _("Appel du jour, menus, prévisions de la cuisine et liste PAI."),
            ),
            NavItem(
                _("Services"),
                reverse("canteen:services-staff"),
                _("Appels de chaque service par site, prévisions et taux d'encadrement."),
                False,
            ),
            NavItem(
                _("Prévisions"),
                reverse("canteen:forecast"),
                _("Repas prévus par école et variante, export CSV / Excel."),
                False,
            ),
            *setup,
        ]
    return []
