from django.urls import path

from . import message_views, privacy_views, views

app_name = "family"

urlpatterns = [
    path("foyer/", views.household, name="household"),
    path("foyer/inviter/", views.household_invite, name="household-invite"),
    path(
        "foyer/invitations/<int:invitation_id>/annuler/",
        views.invitation_revoke,
        name="invitation-revoke",
    ),
    path("foyer/quitter/", views.household_leave, name="household-leave"),
    path("foyer/contacts/", views.contact_add, name="contact-add"),
    path("foyer/contacts/<int:contact_id>/supprimer/", views.contact_delete, name="contact-delete"),
    path("foyer/adresse/", views.address_change, name="address-change"),
    path("foyer/quotient/", views.income_declare, name="income-declare"),
    path(
        "foyer/demandes/<int:change_request_id>/annuler/",
        views.change_request_cancel,
        name="change-request-cancel",
    ),
    path("invitation/<str:token>/", views.invitation, name="invitation"),
    path("enfants/ajouter/", views.child_add, name="child-add"),
    path("enfants/<int:child_id>/", views.child_detail, name="child-detail"),
    path("enfants/<int:child_id>/identite/", views.child_identity, name="child-identity"),
    path("enfants/<int:child_id>/sante/", views.child_health, name="child-health"),
    path("enfants/<int:child_id>/pai/", views.child_care_plan, name="child-care-plan"),
    path(
        "enfants/<int:child_id>/droits/<int:guardianship_id>/",
        views.child_guardianship,
        name="child-guardianship",
    ),
    path("inscriptions/", views.applications, name="applications"),
    path("inscriptions/<int:application_id>/", views.application_detail, name="application-detail"),
    path(
        "inscriptions/<int:application_id>/documents/",
        views.application_upload,
        name="application-upload",
    ),
    path(
        "inscriptions/<int:application_id>/envoyer/",
        views.application_submit,
        name="application-submit",
    ),
    path(
        "inscriptions/<int:application_id>/retirer/",
        views.application_withdraw,
        name="application-withdraw",
    ),
    path(
        "inscriptions/<int:application_id>/instruire/",
        views.application_review,
        name="application-review",
    ),
    path(
        "inscriptions/<int:application_id>/demander-documents/",
        views.application_request_documents,
        name="application-request-documents",
    ),
    path(
        "inscriptions/<int:application_id>/decider/",
        views.application_decide,
        name="application-decide",
    ),
    path("documents/<int:document_id>/", views.document_download, name="document-download"),
    path("documents/<int:document_id>/verifier/", views.document_check, name="document-check"),
    path("dossiers/", views.queue, name="queue"),
    path("dossiers/actions/", views.queue_bulk, name="queue-bulk"),
    path("modifications/", views.change_requests, name="change-requests"),
    path(
        "modifications/<int:change_request_id>/",
        views.change_request_decide,
        name="change-request-decide",
    ),
    path("quotients/<int:assessment_id>/", views.income_decide, name="income-decide"),
    path("mes-donnees/export/", privacy_views.data_export, name="data-export"),
    path("mes-donnees/consultations/", privacy_views.privacy_access, name="privacy-access"),
    path(
        "guichet/foyers/<int:household_id>/export/",
        privacy_views.data_export_for_family,
        name="counter-data-export",
    ),
    path("guichet/", views.counter, name="counter"),
    path("guichet/foyers/<int:household_id>/", views.counter_household, name="counter-household"),
    path("guichet/terminer/", views.counter_end, name="counter-end"),
    path("guichet/foyers/<int:household_id>/enfant/", views.child_add, name="counter-child-add"),
    path("calendrier/", views.school_calendar, name="calendar"),
    path("activites/", views.activities, name="activities"),
    path(
        "activites/<int:activity_id>/inscrire/", views.activity_register, name="activity-register"
    ),
    path(
        "activites/inscriptions/<int:registration_id>/annuler/",
        views.activity_cancel,
        name="activity-cancel",
    ),
    path(
        "activites/<int:activity_id>/capacite/", views.activity_capacity, name="activity-capacity"
    ),
    path("activites/<int:activity_id>/appel/", views.activity_roll, name="activity-roll"),
    path("annee-scolaire/passage/", views.school_year_switch_page, name="school-year-switch"),
    path("import/", views.import_page, name="import"),
    path("enfants/<int:child_id>/maladie/", views.child_illness, name="child-illness"),
    path(
        "inscriptions/<int:application_id>/derogation/avis/",
        views.derogation_opinion,
        name="derogation-opinion",
    ),
    path(
        "inscriptions/<int:application_id>/derogation/decision/",
        views.derogation_decide,
        name="derogation-decide",
    ),
    path(
        "inscriptions/<int:application_id>/derogation/lettre.pdf",
        views.derogation_letter,
        name="derogation-letter",
    ),
    path("reinscription/", views.reenrolment, name="reenrolment"),
    path("reinscriptions/", views.reenrolment_staff, name="reenrolment-staff"),
    path(
        "guichet/foyers/<int:household_id>/reinscription/",
        views.reenrolment_counter,
        name="reenrolment-counter",
    ),
    # Messages between families and schools, office appointments.
    path("messages/", message_views.inbox, name="message-inbox"),
    path("messages/ecrire/", message_views.thread_start, name="message-start"),
    path("messages/<int:thread_id>/", message_views.thread, name="message-thread"),
    path("messages/<int:thread_id>/suivi/", message_views.thread_assign, name="message-assign"),
    path("messages/<int:thread_id>/etat/", message_views.thread_status, name="message-status"),
    path(
        "messages/<int:thread_id>/rendez-vous/",
        message_views.appointment_request,
        name="appointment-request",
    ),
    path(
        "messages/pieces-jointes/<int:message_id>/",
        message_views.attachment,
        name="message-attachment",
    ),
    path(
        "rendez-vous/<int:appointment_id>/",
        message_views.appointment_action,
        name="appointment-action",
    ),
    path("rendez-vous/creneaux/", message_views.office_slots, name="office-slots"),
]
