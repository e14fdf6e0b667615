from django.urls import reverse
from django.utils.translation import gettext as _

from backend.core.access import is_city_admin, is_parent, is_school_staff
from backend.core.nav import NavItem


def items(user) -> list[NavItem]:
    """Entries this app adds to the header and to the role's home page."""
    if is_parent(user):
        return [
            NavItem(
                _("Mon foyer"),
                reverse("family:household"),
                _("Responsables, enfants, santé, contacts d'urgence et quotient familial."),
            ),
            NavItem(
                _("Inscriptions"),
                reverse("family:applications"),
                _("Inscrire un enfant à l'école et suivre la demande pas à pas."),
            ),
            NavItem(
                _("Activités"),
                reverse("family:activities"),
                _("Accueil du matin, étude, mercredis : places et liste d'attente."),
            ),
            NavItem(
                _("Messages"),
                reverse("family:message-inbox"),
                _("Écrire à l'école de vos enfants, lire ses réponses, demander un rendez-vous."),
            ),
            NavItem(
                _("Calendrier scolaire"),
                reverse("family:calendar"),
                _("Rentrée, périodes, vacances et jours sans école."),
                in_header=False,
            ),
            NavItem(
                _("Réinscription"),
                reverse("family:reenrolment"),
                _("Confirmer cantine, activités et quotient pour l'année prochaine."),
                in_header=False,
            ),
        ]
    if is_school_staff(user) or is_city_admin(user):
        return [
            NavItem(
                _("Dossiers"),
                reverse("family:queue"),
                _("File des demandes d'inscription : filtrer, vérifier les pièces, décider."),
            ),
            NavItem(
                _("Modifications"),
                reverse("family:change-requests"),
                _("Changements d'adresse, de santé, de droits et quotients à valider."),
            ),
            NavItem(
                _("Messages"),
                reverse("family:message-inbox"),
                _("Messages des familles : à traiter, en attente, suivis ; rendez-vous."),
            ),
            NavItem(
                _("Créneaux de rendez-vous"),
                reverse("family:office-slots"),
                _("Publier les créneaux où l'école reçoit les familles."),
                in_header=False,
            ),
            NavItem(
                _("Guichet"),
                reverse("family:counter"),
                _("Agir pour une famille au guichet (chaque action est tracée)."),
            ),
            NavItem(
                _("Activités"),
                reverse("family:activities"),
                _("Places, inscrits et listes d'attente des activités périscolaires."),
            ),
            NavItem(
                _("Réinscriptions"),
                reverse("family:reenrolment-staff"),
                _("Campagne de réinscription : qui n'a pas répondu, relances, guichet."),
                in_header=False,
            ),
            *(
                [
                    NavItem(
                        _("Passage d'année"),
                        reverse("family:school-year-switch"),
                        _("Clôturer l'année, monter les classes, appliquer les inscriptions."),
                        in_header=False,
                    ),
                    NavItem(
                        _("Import"),
                        reverse("family:import"),
                        _("Importer écoles et familles de l'ancien système (tout ou rien)."),
                        in_header=False,
                    ),
                ]
                if is_city_admin(user)
                else []
            ),
        ]
    return []
