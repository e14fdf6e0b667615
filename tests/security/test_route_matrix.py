"""Role × route matrix: every URL of Minot is listed here, and a route that is not fails.

For every object route (a URL with an id), each signed-in role — parent, another household's
parent, staff of the school, staff of another school, technician, admin — asking for an object
out of its reach gets exactly 404 (or 405 when the method does not exist), a denied write changes
nothing, and anonymous visitors are sent to sign in (401/403 on the API). Unknown ids make sure
no route escapes the rule and none is forgotten; real objects of the other household and the
other school (``test_real_objects_of_the_other_side_...``), each shown reachable by its own
side first, make sure the 404 is an authorization denial and not a missing object.
"""

from __future__ import annotations

import pytest
from django.apps import apps
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver

pytestmark = pytest.mark.django_db

UNKNOWN = {"int": "987654", "str": "zz-unknown", "slug": "zz-unknown", "path": "987654"}


def all_routes() -> list[tuple[str, str]]:
    """(name, route) of every URL outside the Django admin (the admin has its own gate)."""

    def walk(patterns, prefix="", ns=""):
        for p in patterns:
            if isinstance(p, URLResolver):
                n = ns + (p.namespace + ":" if p.namespace else "")
                yield from walk(p.url_patterns, prefix + str(p.pattern), n)
            elif isinstance(p, URLPattern):
                yield ns + (p.name or "?"), prefix + str(p.pattern)

    return [(n, r) for n, r in walk(get_resolver().url_patterns) if not r.startswith("admin/")]


ROUTES: dict[str, str] = {
    # generated once from all_routes(), then kept by hand: "public", "signed-in", "object",
    # "token" (public, with a secret in the URL) or "agent" (osquery devices, own credentials).
    "": "public",  # home
    "parent/": "signed-in",  # home-parent
    "ecole/": "signed-in",  # home-staff
    "ville/": "signed-in",  # home-admin
    "technicien/": "signed-in",  # home-technician
    "connexion/": "public",  # login
    "deconnexion/": "public",  # logout
    "mot-de-passe/oubli/": "public",  # password_reset
    "mot-de-passe/oubli/envoye/": "public",  # password_reset_done
    "mot-de-passe/nouveau/<uidb64>/<token>/": "token",  # password_reset_confirm
    "mot-de-passe/termine/": "public",  # password_reset_complete
    "mot-de-passe/changer/": "signed-in",  # password_change
    "mot-de-passe/change/": "signed-in",  # password_change_done
    "notifications/": "signed-in",  # notifications
    "notifications/lues/": "signed-in",  # notifications-read
    "compte/notifications/": "signed-in",  # notification-preferences
    "csp-report/": "public",  # csp-report
    "vie-privee/": "public",  # privacy
    "accessibilite/": "public",  # accessibility
    "ville/journal-des-consultations/": "signed-in",  # audit-access
    "healthz": "public",  # healthz
    "readyz": "public",  # readyz
    "i18n/setlang/": "public",  # set_language
    "compte/": "signed-in",  # account
    "compte/jetons/<str:key>/revoquer/": "object",  # account-token-revoke
    "compte/double-authentification/": "signed-in",  # account-2fa-setup
    "compte/double-authentification/verifier/": "signed-in",  # account-2fa-verify
    "compte/double-authentification/desactiver/": "signed-in",  # account-2fa-disable
    "compte/double-authentification/codes/": "signed-in",  # account-recovery-codes
    "api/v1/": "public",  # api-root
    "api/v1/auth/token/": "public",  # api-token
    "api/v1/auth/logout/": "signed-in",  # api-token-logout
    "api/v1/auth/logout-all/": "signed-in",  # api-token-logout-all
    "api/v1/auth/tokens/": "signed-in",  # api-tokens
    "api/v1/auth/tokens/<str:key>/revoke/": "object",  # api-token-revoke
    "api/v1/me/": "signed-in",  # api-me
    "api/v1/notifications/": "signed-in",  # api-notifications
    "api/v1/notifications/<int:notification_id>/read/": "object",  # api-notification-read
    "api/v1/household/": "signed-in",  # family-api:household
    "api/v1/household/<int:household_id>/": "object",  # family-api:household-detail
    "api/v1/household/<int:household_id>/invitations/": "object",  # family-api:household-invite
    "api/v1/household/<int:household_id>/leave/": "object",  # family-api:household-leave
    "api/v1/household/<int:household_id>/contacts/": "object",  # family-api:household-contacts
    "api/v1/household/<int:household_id>/income-assessments/": "object",  # family-api:household-income
    "api/v1/household/contacts/<int:contact_id>/": "object",  # family-api:contact-delete
    "api/v1/household/invitations/respond/": "signed-in",  # family-api:invitation-respond
    "api/v1/household/invitations/<int:invitation_id>/revoke/": "object",  # family-api:invitation-revoke
    "api/v1/household/income-assessments/<int:assessment_id>/decide/": "object",  # family-api:income-decide
    "api/v1/children/": "signed-in",  # family-api:children
    "api/v1/children/<int:child_id>/": "object",  # family-api:child-detail
    "api/v1/children/change-requests/": "signed-in",  # family-api:change-requests
    "api/v1/children/change-requests/<int:change_request_id>/decide/": "object",  # family-api:change-request-decide
    "api/v1/schools/": "signed-in",  # family-api:schools
    "api/v1/schools/address-lookup/": "signed-in",  # family-api:address-lookup
    "api/v1/registrations/": "signed-in",  # family-api:registrations
    "api/v1/registrations/bulk/": "signed-in",  # family-api:registrations-bulk
    "api/v1/registrations/<int:application_id>/": "object",  # family-api:registration-detail
    "api/v1/registrations/<int:application_id>/submit/": "object",  # family-api:registration-submit
    "api/v1/registrations/<int:application_id>/withdraw/": "object",  # family-api:registration-withdraw
    "api/v1/registrations/<int:application_id>/review/": "object",  # family-api:registration-review
    "api/v1/registrations/<int:application_id>/decide/": "object",  # family-api:registration-decide
    "api/v1/registrations/<int:application_id>/request-documents/": "object",  # family-api:registration-request-documents
    "api/v1/registrations/<int:application_id>/documents/": "object",  # family-api:registration-documents
    "api/v1/registrations/documents/<int:document_id>/": "object",  # family-api:document-download
    "api/v1/registrations/documents/<int:document_id>/check/": "object",  # family-api:document-check
    "api/v1/activities/": "signed-in",  # family-api:activities
    "api/v1/activities/registrations/": "signed-in",  # family-api:activity-registrations
    "api/v1/activities/registrations/<int:registration_id>/cancel/": "object",  # family-api:activity-registration-cancel
    "api/v1/activities/<int:activity_id>/": "object",  # family-api:activity-detail
    "api/v1/activities/<int:activity_id>/register/": "object",  # family-api:activity-register
    "api/v1/activities/<int:activity_id>/capacity/": "object",  # family-api:activity-capacity
    "api/v1/canteen/menus/": "public",  # canteen-api:menus
    "api/v1/canteen/menus/save/": "signed-in",  # canteen-api:menu-save
    "api/v1/canteen/menus/copy-week/": "signed-in",  # canteen-api:menus-copy-week
    "api/v1/canteen/bookings/": "signed-in",  # canteen-api:bookings
    "api/v1/canteen/bookings/cancel/": "signed-in",  # canteen-api:bookings-cancel
    "api/v1/canteen/bookings/copy-week/": "signed-in",  # canteen-api:bookings-copy-week
    "api/v1/canteen/children/<int:child_id>/calendar/": "object",  # canteen-api:child-calendar
    "api/v1/canteen/price/": "signed-in",  # canteen-api:price
    "api/v1/canteen/attendance/": "signed-in",  # canteen-api:attendance
    "api/v1/canteen/forecast/": "signed-in",  # canteen-api:forecast
    "api/v1/canteen/kitchen-list/": "signed-in",  # canteen-api:kitchen-list
    "api/v1/invoices/": "signed-in",  # payments-api:invoices
    "api/v1/invoices/<int:pk>/": "object",  # payments-api:invoice
    "api/v1/payments/": "signed-in",  # payments-api:payments
    "api/v1/payments/<int:pk>/": "object",  # payments-api:payment
    "api/v1/payments/<int:pk>/refunds/": "object",  # payments-api:payment-refunds
    "api/v1/billing-runs/": "signed-in",  # payments-api:billing-runs
    "api/v1/fleet/devices/": "signed-in",  # fleet-api:devices
    "api/v1/fleet/devices/<int:device_id>/": "object",  # fleet-api:device
    "api/v1/fleet/devices/<int:device_id>/unblock/": "object",  # fleet-api:device-unblock
    "api/v1/fleet/alerts/": "signed-in",  # fleet-api:alerts
    "api/v1/fleet/alerts/<int:alert_id>/acknowledge/": "object",  # fleet-api:alert-acknowledge
    "api/v1/osquery/^enroll/?$": "agent",  # ?
    "api/v1/osquery/^config/?$": "agent",  # ?
    "api/v1/osquery/^log/?$": "agent",  # ?
    "api/v1/osquery/^distributed/read/?$": "agent",  # ?
    "api/v1/osquery/^distributed/write/?$": "agent",  # ?
    "api/osquery/^enroll/?$": "agent",  # ?
    "api/osquery/^config/?$": "agent",  # ?
    "api/osquery/^log/?$": "agent",  # ?
    "api/osquery/^distributed/read/?$": "agent",  # ?
    "api/osquery/^distributed/write/?$": "agent",  # ?
    "api/schema/": "public",  # api-schema
    "api/docs/": "public",  # api-docs
    "famille/foyer/": "signed-in",  # family:household
    "famille/foyer/inviter/": "signed-in",  # family:household-invite
    "famille/foyer/invitations/<int:invitation_id>/annuler/": "object",  # family:invitation-revoke
    "famille/foyer/quitter/": "signed-in",  # family:household-leave
    "famille/foyer/contacts/": "signed-in",  # family:contact-add
    "famille/foyer/contacts/<int:contact_id>/supprimer/": "object",  # family:contact-delete
    "famille/foyer/adresse/": "signed-in",  # family:address-change
    "famille/foyer/quotient/": "signed-in",  # family:income-declare
    "famille/foyer/demandes/<int:change_request_id>/annuler/": "object",  # family:change-request-cancel
    "famille/invitation/<str:token>/": "token",  # family:invitation
    "famille/enfants/ajouter/": "signed-in",  # family:child-add
    "famille/enfants/<int:child_id>/": "object",  # family:child-detail
    "famille/enfants/<int:child_id>/identite/": "object",  # family:child-identity
    "famille/enfants/<int:child_id>/sante/": "object",  # family:child-health
    "famille/enfants/<int:child_id>/pai/": "object",  # family:child-care-plan
    "famille/enfants/<int:child_id>/droits/<int:guardianship_id>/": "object",  # family:child-guardianship
    "famille/inscriptions/": "signed-in",  # family:applications
    "famille/inscriptions/<int:application_id>/": "object",  # family:application-detail
    "famille/inscriptions/<int:application_id>/documents/": "object",  # family:application-upload
    "famille/inscriptions/<int:application_id>/envoyer/": "object",  # family:application-submit
    "famille/inscriptions/<int:application_id>/retirer/": "object",  # family:application-withdraw
    "famille/inscriptions/<int:application_id>/instruire/": "object",  # family:application-review
    "famille/inscriptions/<int:application_id>/demander-documents/": "object",  # family:application-request-documents
    "famille/inscriptions/<int:application_id>/decider/": "object",  # family:application-decide
    "famille/documents/<int:document_id>/": "object",  # family:document-download
    "famille/documents/<int:document_id>/verifier/": "object",  # family:document-check
    "famille/dossiers/": "signed-in",  # family:queue
    "famille/dossiers/actions/": "signed-in",  # family:queue-bulk
    "famille/modifications/": "signed-in",  # family:change-requests
    "famille/modifications/<int:change_request_id>/": "object",  # family:change-request-decide
    "famille/quotients/<int:assessment_id>/": "object",  # family:income-decide
    "famille/mes-donnees/export/": "signed-in",  # family:data-export
    "famille/mes-donnees/consultations/": "signed-in",  # family:privacy-access
    "famille/guichet/foyers/<int:household_id>/export/": "object",  # family:counter-data-export
    "famille/guichet/": "signed-in",  # family:counter
    "famille/guichet/foyers/<int:household_id>/": "object",  # family:counter-household
    "famille/guichet/terminer/": "signed-in",  # family:counter-end
    "famille/guichet/foyers/<int:household_id>/enfant/": "object",  # family:counter-child-add
    "famille/calendrier/": "public",  # family:calendar
    "famille/activites/": "signed-in",  # family:activities
    "famille/activites/<int:activity_id>/inscrire/": "object",  # family:activity-register
    "famille/activites/inscriptions/<int:registration_id>/annuler/": "object",  # family:activity-cancel
    "famille/activites/<int:activity_id>/capacite/": "object",  # family:activity-capacity
    "cantine/": "signed-in",  # canteen:home
    "cantine/enfant/<int:child_id>/": "object",  # canteen:calendar-current
    "cantine/enfant/<int:child_id>/<int:year>/<int:month>/": "object",  # canteen:calendar
    "cantine/menus/": "public",  # canteen:menus
    "cantine/menus/<str:school_code>/": "public-object",  # canteen:menu-week-public
    "cantine/personnel/appel/<int:school_id>/": "object",  # canteen:roll
    "cantine/personnel/menus/<str:scope>/": "object",  # canteen:menu-week
    "cantine/personnel/menus/<str:scope>/<str:day>/": "object",  # canteen:menu-day
    "cantine/personnel/previsions/": "signed-in",  # canteen:forecast
    "paiements/": "signed-in",  # payments:home
    "paiements/factures/<int:pk>/": "object",  # payments:invoice
    "paiements/payer/": "signed-in",  # payments:pay
    "paiements/historique/": "signed-in",  # payments:history
    "paiements/historique/<int:pk>/": "object",  # payments:payment
    "paiements/historique/<int:pk>/recu.pdf": "object",  # payments:receipt
    "paiements/attestation/<int:year>.pdf": "object",  # payments:certificate
    "paiements/sepa/": "signed-in",  # payments:sepa
    "paiements/recharger/": "signed-in",  # payments:top-up
    "paiements/gestion/": "signed-in",  # payments:staff
    "paiements/gestion/emettre/": "signed-in",  # payments:staff-issue
    "paiements/gestion/familles/<int:household_id>/": "object",  # payments:staff-household
    "paiements/gestion/comptes/<int:account_id>/guichet/": "object",  # payments:staff-counter
    "paiements/gestion/paiements/<int:pk>/rembourser/": "object",  # payments:staff-refund
    "paiements/gestion/factures/<int:pk>/annuler/": "object",  # payments:staff-cancel
    "paiements/gestion/export/": "signed-in",  # payments:staff-export
    "paiements/gestion/rapprochement/": "signed-in",  # payments:staff-reconciliation
    "payments/stripe/webhook/": "token",  # payments-stripe-webhook
    "parc/": "signed-in",  # fleet:dashboard
    "parc/ecoles/<int:school_id>/": "object",  # fleet:school
    "parc/ecoles/<int:school_id>/secret/": "object",  # fleet:school-secret
    "parc/ecoles/<int:school_id>/chariots/": "object",  # fleet:cart-create
    "parc/chariots/<int:cart_id>/": "object",  # fleet:cart
    "parc/appareils/": "signed-in",  # fleet:devices
    "parc/appareils/export.csv": "signed-in",  # fleet:devices-csv
    "parc/appareils/<int:device_id>/": "object",  # fleet:device
    "parc/appareils/<int:device_id>/<slug:action>/": "object",  # fleet:device-action
    "parc/alertes/": "signed-in",  # fleet:alerts
    "parc/alertes/<int:alert_id>/<slug:action>/": "object",  # fleet:alert-action
    "parc/reparations/": "signed-in",  # fleet:tickets
    "parc/reparations/<int:ticket_id>/": "object",  # fleet:ticket
    "parc/requetes/": "signed-in",  # fleet:live-queries
    "parc/requetes/<int:query_id>/": "object",  # fleet:live-query
    "parc/requetes/<int:query_id>/resultats.json": "object",  # fleet:live-query-results
    "parc/rapport/": "signed-in",  # fleet:report
    # added with the daily-services engine, the school year, derogations, the citizen account,
    # payments corrections and metrics
    "api/v1/services/": "signed-in",
    "api/v1/services/bookings/": "signed-in",
    "api/v1/services/bookings/cancel/": "signed-in",
    "api/v1/services/children/<int:child_id>/calendar/": "object",
    "api/v1/services/forecast/": "signed-in",
    "api/v1/services/holiday-week/": "signed-in",
    "api/v1/services/roll/": "signed-in",
    "cantine/personnel/services/": "signed-in",
    "cantine/personnel/services/<int:service_id>/appel/<int:school_id>/": "object",
    "cantine/personnel/services/reglages/": "signed-in",
    "cantine/personnel/services/reglages/<int:service_id>/": "object",
    "cantine/services/enfant/<int:child_id>/": "object",
    "cantine/services/enfant/<int:child_id>/<int:year>/<int:month>/": "object",
    "compte/compte-citoyen/": "signed-in",
    "famille/activites/<int:activity_id>/appel/": "object",
    "famille/annee-scolaire/passage/": "signed-in",
    "famille/enfants/<int:child_id>/maladie/": "object",
    "famille/guichet/foyers/<int:household_id>/reinscription/": "object",
    "famille/import/": "signed-in",
    "famille/inscriptions/<int:application_id>/derogation/avis/": "object",
    "famille/inscriptions/<int:application_id>/derogation/decision/": "object",
    "famille/inscriptions/<int:application_id>/derogation/lettre.pdf": "object",
    "famille/reinscription/": "signed-in",
    "famille/reinscriptions/": "signed-in",
    "metrics": "public",  # loopback or bearer token only
    "oidc/agents/authenticate/": "public",
    "oidc/authenticate/": "public",
    "oidc/callback/": "public",
    "oidc/confirmer/": "public",
    "paiements/gestion/anomalies/": "signed-in",
    "paiements/gestion/familles/<int:household_id>/mode/": "object",
    # messages between families and schools, office appointments
    "famille/messages/": "signed-in",  # family:messages
    "famille/messages/ecrire/": "signed-in",  # family:message-new
    "famille/messages/<int:thread_id>/": "object",  # family:message-thread
    "famille/messages/<int:thread_id>/etat/": "object",  # family:message-thread-status
    "famille/messages/<int:thread_id>/rendez-vous/": "object",  # family:message-appointment
    "famille/messages/<int:thread_id>/suivi/": "object",  # family:message-thread-assign
    "famille/messages/pieces-jointes/<int:message_id>/": "object",  # family:message-attachment
    "famille/rendez-vous/<int:appointment_id>/": "object",  # family:appointment-decide
    "famille/rendez-vous/creneaux/": "signed-in",  # family:office-slots
    "api/v1/messages/threads/": "signed-in",
    "api/v1/messages/threads/<int:thread_id>/": "object",
    "api/v1/messages/threads/<int:thread_id>/messages/": "object",
    "api/v1/messages/threads/<int:thread_id>/assign/": "object",
    "api/v1/messages/threads/<int:thread_id>/status/": "object",
    "api/v1/messages/threads/<int:thread_id>/appointments/": "object",
    "api/v1/messages/<int:message_id>/attachment/": "object",
    "api/v1/messages/slots/": "signed-in",
    "api/v1/messages/appointments/<int:appointment_id>/": "object",
    # finance: an adjustment on a payer's account
    "paiements/gestion/comptes/<int:account_id>/regularisation/": "object",  # payments:staff-adjustment
}

ROLES = ["parent", "other_parent", "staff", "staff_other_school", "technician", "admin"]
OUR_APPS = ["accounts", "family", "canteen", "payments", "fleet"]


def url_for(route: str) -> str:
    import re

    def sub(match):
        converter = match.group(1) or "str"
        return UNKNOWN.get(converter, "zz-unknown")

    return "/" + re.sub(r"<(?:(\w+):)?\w+>", sub, route)


def row_counts() -> dict[str, int]:
    return {
        model._meta.label: model._default_manager.count()
        for app in OUR_APPS
        for model in apps.get_app_config(app).get_models()
    }


@pytest.fixture
def people():
    from tests.factories import (
        AdminFactory,
        SchoolFactory,
        StaffFactory,
        TechnicianFactory,
        household_with_parent,
    )

    school, other = SchoolFactory(), SchoolFactory()
    _h, parent, _kids = household_with_parent(children=1, school=school)
    _h2, parent2, _kids2 = household_with_parent(children=1, school=other)
    staff, staff_b = StaffFactory(), StaffFactory()
    staff.staff_schools.add(school)
    staff_b.staff_schools.add(other)
    return {
        "parent": parent,
        "other_parent": parent2,
        "staff": staff,
        "staff_other_school": staff_b,
        "technician": TechnicianFactory(),
        "admin": AdminFactory(),
    }


def test_every_route_is_listed():
    routes = {route for _name, route in all_routes()}
    missing = sorted(routes - set(ROUTES))
    stale = sorted(set(ROUTES) - routes)
    assert not missing, f"new routes must be listed in ROUTES (and pass this matrix): {missing}"
    assert not stale, f"routes listed here no longer exist: {stale}"


@pytest.mark.parametrize("role", ROLES)
def test_objects_out_of_reach_are_404_and_denied_writes_change_nothing(people, role):
    client = Client()
    client.force_login(people[role])
    before = row_counts()
    wrong = []
    for route, kind in ROUTES.items():
        if kind not in ("object", "public-object"):
            continue
        url = url_for(route)
        status = client.get(url).status_code
        if status == 405:
            status = client.post(url, {}).status_code
        if status not in (404, 405):
            wrong.append((url, status))
    assert wrong == [], "\n".join(f"{u} {s}" for u, s in wrong)
    assert row_counts() == before


# --- real objects of the other side -------------------------------------------------------------
#
# Unknown ids prove that no route answers for an object that does not exist; they do not prove
# the authorization check, since a lookup by id alone also answers 404. Here every object route
# whose ids name a family's things gets real objects of one side (a household and its school) and
# is asked by the people of the other side: parent and staff of school A for household B's
# objects, parent and staff of school B for household A's, and the technician for both. Each
# route is first shown to reach its object for someone of the owning side (its parent, its
# school's staff or a city administrator: anything but 404; a POST is rolled back), so the 404
# the others get is an authorization denial, not a missing object.
# Not here (unknown ids above only): the fleet (technicians' objects, not a family's), a user's
# own API tokens and notifications, menus by scope and day, and routes without an object id.

SIDE_PARAMS = {
    "household_id": "household",
    "child_id": "child",
    "application_id": "application",
    "document_id": "document",
    "invitation_id": "invitation",
    "contact_id": "contact",
    "change_request_id": "change",
    "guardianship_id": "guardianship",
    "assessment_id": "income",
    "activity_id": "activity",
    "registration_id": "registration",
    "account_id": "account",
    "school_id": "school",
    "service_id": "service",
}
CALENDAR = {"year": "2026", "month": "10"}
# Routes whose object exists here but which answer only in a state these objects are not in (no
# derogation asked, no re-enrolment campaign open): the owners' check is skipped, the denial kept.
OWNER_CHECK_SKIPPED = {
    "famille/inscriptions/<int:application_id>/derogation/avis/": "no derogation asked",
    "famille/inscriptions/<int:application_id>/derogation/lettre.pdf": "no derogation decided",
    "famille/guichet/foyers/<int:household_id>/reinscription/": "no re-enrolment campaign",
}
# What the owners post (their own child for an activity registration).
OWNER_POST = {"famille/activites/<int:activity_id>/inscrire/": {"child": "child"}}


def _pk_object(route: str) -> str:
    payment_routes = ("api/v1/payments/", "paiements/historique/", "paiements/gestion/paiements/")
    return "payment" if route.startswith(payment_routes) else "invoice"


def side_url(route: str, objects: dict[str, int]) -> str | None:
    """The route filled with one side's real objects, or None if it names no family object."""
    import re

    if route.startswith(("parc/", "api/v1/fleet/")):
        return None
    if route.startswith("cantine/personnel/services/reglages/"):
        # A service's set-up is city data, not a family's: staff of every school it is open to
        # read it (tests/canteen/test_setup_pages.py covers who may change it).
        return None
    params = re.findall(r"<(?:\w+:)?(\w+)>", route)
    if not params or all(p in CALENDAR for p in params):
        return None
    values = {}
    for param in params:
        if param in CALENDAR:
            values[param] = CALENDAR[param]
        elif param == "pk":
            values[param] = str(objects[_pk_object(route)])
        elif param in SIDE_PARAMS:
            values[param] = str(objects[SIDE_PARAMS[param]])
        else:
            return None
    return "/" + re.sub(r"<(?:\w+:)?(\w+)>", lambda m: values[m.group(1)], route)


def side_objects(*, school, service) -> dict:
    """One side: a household (parent, child at ``school``) with every kind of family object."""
    import datetime as dt

    from django.utils import timezone

    from family import services
    from family.models import ChildGuardian
    from tests.factories import StaffFactory, household_with_parent
    from tests.family.factories import ActivityFactory, pdf_io
    from tests.world import school_year_of

    household, parent, (child,) = household_with_parent(children=1, school=school)
    staff = StaffFactory()
    staff.staff_schools.add(school)
    application = services.application_create(
        actor=parent,
        child=child,
        school_year=school_year_of(timezone.localdate(), offset=1),
        school=school,
    )
    services.application_submit(actor=parent, application=application)
    document = services.document_upload(
        actor=parent,
        household=household,
        kind="vaccinations",
        uploaded_file=pdf_io(),
        application=application,
    )
    change = services.change_request_create(
        actor=parent,
        household=household,
        child=child,
        category="health",
        changes={"diet": "vegetarian"},
    )
    activity = ActivityFactory(school=school)
    registration = services.activity_register(actor=parent, activity=activity, child=child)
    today = timezone.localdate()
    income = services.income_assessment_declare(
        actor=parent,
        household=household,
        quotient=800,
        source="caf",
        valid_from=today,
        valid_until=today + dt.timedelta(days=300),
        uploaded_file=pdf_io(),
    )
    contact = services.emergency_contact_create(
        actor=parent, household=household, name="Mamie", phone="0600000000"
    )
    invitation = services.guardian_invite(
        actor=parent, household=household, email=f"invite-{household.pk}@example.test"
    )
    return {
        "owners": [parent, staff],
        "parent": parent,
        "household": household.pk,
        "child": child.pk,
        "application": application.pk,
        "document": document.pk,
        "change": change.pk,
        "guardianship": ChildGuardian.objects.get(child=child).pk,
        "activity": activity.pk,
        "registration": registration.pk,
        "income": income.pk,
        "contact": contact.pk,
        "invitation": invitation.pk,
        "school": school.pk,
        "service": service.pk,
    }


def bill(sides: list[dict]) -> None:
    """October 2026 invoices for both sides, and a cash payment each."""
    from family.models import Child
    from payments.models import Account, Invoice, Payment
    from payments.services.billing import billing_run_for_period, invoices_issue
    from payments.services.payments import payment_record_counter
    from payments.sources import use_meal_source
    from tests.payments.factories import PERIOD, MealSource, meals_for, school_days

    kids = list(Child.objects.filter(pk__in=[side["child"] for side in sides]))
    with use_meal_source(MealSource(meals_for(kids, school_days(2026, 10, 4)))):
        billing_run_for_period(period=PERIOD)
    for side in sides:
        account = Account.objects.get(guardian__user=side["parent"])
        invoice = Invoice.objects.get(account=account, period=PERIOD)
        invoices_issue(invoice_ids=[invoice.pk])
        invoice.refresh_from_db()
        payment = payment_record_counter(
            actor=None,
            account=account,
            method=Payment.Provider.CASH,
            amount_cents=invoice.total_cents,
            invoices=[invoice],
        )
        side.update(account=account.pk, invoice=invoice.pk, payment=payment.pk)


@pytest.fixture
def two_sides(people):
    from canteen.models import Service, Unit
    from tests.canteen.factories import make_service
    from tests.factories import AdminFactory, SchoolFactory

    school_a, school_b = SchoolFactory(), SchoolFactory()
    service, _units = make_service(
        code="GARD-MATIN",
        kind=Service.Kind.MORNING_CARE,
        units=[("MATIN", Unit.Kind.MORNING, None, False)],
    )
    a = side_objects(school=school_a, service=service)
    b = side_objects(school=school_b, service=service)
    bill([a, b])
    admin = AdminFactory()
    a["owners"].append(admin)
    b["owners"].append(admin)
    technician = people["technician"]
    return {
        # who asks → the objects out of their reach
        "parent of A": (a["parent"], [b]),
        "staff of A": (a["owners"][1], [b]),
        "parent of B": (b["parent"], [a]),
        "staff of B": (b["owners"][1], [a]),
        "technician": (technician, [a, b]),
    }


def _status(client: Client, url: str, data: dict) -> int:
    from django.db import transaction

    status = client.get(url).status_code
    if status == 405:
        with transaction.atomic():
            status = client.post(url, data).status_code
            transaction.set_rollback(True)
    return status


def side_routes(side: dict) -> list[tuple[str, str]]:
    """(route, url) of every object route filled with this side's objects."""
    pairs = [(route, side_url(route, side)) for route, kind in ROUTES.items() if kind == "object"]
    return [(route, url) for route, url in pairs if url is not None]


def unreachable_for_owners(side: dict) -> list[str]:
    unreachable = []
    for route, url in side_routes(side):
        if route in OWNER_CHECK_SKIPPED:
            continue
        data = {k: side[v] for k, v in OWNER_POST.get(route, {}).items()}
        statuses = []
        for owner in side["owners"]:
            client = Client()
            client.force_login(owner)
            statuses.append(_status(client, url, data))
        if all(s == 404 for s in statuses):
            unreachable.append(url)
    return unreachable


def test_real_objects_of_the_other_side_are_404_and_reachable_by_their_own(two_sides):
    sides = {id(side): side for _user, out in two_sides.values() for side in out}
    assert len(side_routes(next(iter(sides.values())))) > 40
    unreachable = [url for side in sides.values() for url in unreachable_for_owners(side)]
    assert unreachable == [], "the owning side should reach these:\n" + "\n".join(unreachable)

    before = row_counts()
    wrong = []
    for who, (user, out_of_reach) in two_sides.items():
        client = Client()
        client.force_login(user)
        for side in out_of_reach:
            for _route, url in side_routes(side):
                status = client.get(url).status_code
                if status == 405:
                    status = client.post(url, {}).status_code
                if status not in (404, 405):
                    wrong.append(f"{who}: {url} {status}")
    assert wrong == [], "\n".join(wrong)
    assert row_counts() == before


def test_anonymous_visitors_reach_no_private_route():
    client = Client()
    wrong = []
    for route, kind in ROUTES.items():
        if kind not in ("object", "signed-in"):
            continue
        url = url_for(route)
        response = client.get(url)
        if response.status_code == 405:
            response = client.post(url, {})
        login = response.status_code == 302 and "/connexion/" in response["Location"]
        if not (login or response.status_code in (401, 403, 404, 405)):
            wrong.append((url, response.status_code))
    assert wrong == [], "\n".join(f"{u} {s}" for u, s in wrong)
