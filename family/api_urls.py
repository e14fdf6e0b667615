from django.urls import path

from . import apis, message_apis

app_name = "family-api"

urlpatterns = [
    path("household/", apis.HouseholdListApi.as_view(), name="household"),
    path(
        "household/<int:household_id>/", apis.HouseholdDetailApi.as_view(), name="household-detail"
    ),
    path(
        "household/<int:household_id>/invitations/",
        apis.HouseholdInviteApi.as_view(),
        name="household-invite",
    ),
    path(
        "household/<int:household_id>/leave/",
        apis.HouseholdLeaveApi.as_view(),
        name="household-leave",
    ),
    path(
        "household/<int:household_id>/contacts/",
        apis.ContactCreateApi.as_view(),
        name="household-contacts",
    ),
    path(
        "household/<int:household_id>/income-assessments/",
        apis.IncomeDeclareApi.as_view(),
        name="household-income",
    ),
    path(
        "household/contacts/<int:contact_id>/",
        apis.ContactDeleteApi.as_view(),
        name="contact-delete",
    ),
    path(
        "household/invitations/respond/",
        apis.InvitationRespondApi.as_view(),
        name="invitation-respond",
    ),
    path(
        "household/invitations/<int:invitation_id>/revoke/",
        apis.InvitationRevokeApi.as_view(),
        name="invitation-revoke",
    ),
    path(
        "household/income-assessments/<int:assessment_id>/decide/",
        apis.IncomeDecideApi.as_view(),
        name="income-decide",
    ),
    path("children/", apis.ChildListApi.as_view(), name="children"),
    path("children/<int:child_id>/", apis.ChildDetailApi.as_view(), name="child-detail"),
    path("children/change-requests/", apis.ChangeRequestListApi.as_view(), name="change-requests"),
    path(
        "children/change-requests/<int:change_request_id>/decide/",
        apis.ChangeRequestDecideApi.as_view(),
        name="change-request-decide",
    ),
    path("schools/", apis.SchoolListApi.as_view(), name="schools"),
    path("schools/address-lookup/", apis.AddressLookupApi.as_view(), name="address-lookup"),
    path("registrations/", apis.RegistrationListApi.as_view(), name="registrations"),
    path("registrations/bulk/", apis.RegistrationBulkApi.as_view(), name="registrations-bulk"),
    path(
        "registrations/<int:application_id>/",
        apis.RegistrationDetailApi.as_view(),
        name="registration-detail",
    ),
    path(
        "registrations/<int:application_id>/submit/",
        apis.RegistrationFamilyActionApi.as_view(action="submit"),
        name="registration-submit",
    ),
    path(
        "registrations/<int:application_id>/withdraw/",
        apis.RegistrationFamilyActionApi.as_view(action="withdraw"),
        name="registration-withdraw",
    ),
    path(
        "registrations/<int:application_id>/review/",
        apis.RegistrationReviewApi.as_view(),
        name="registration-review",
    ),
    path(
        "registrations/<int:application_id>/decide/",
        apis.RegistrationDecideApi.as_view(),
        name="registration-decide",
    ),
    path(
        "registrations/<int:application_id>/request-documents/",
        apis.RegistrationRequestDocumentsApi.as_view(),
        name="registration-request-documents",
    ),
    path(
        "registrations/<int:application_id>/documents/",
        apis.RegistrationDocumentUploadApi.as_view(),
        name="registration-documents",
    ),
    path(
        "registrations/documents/<int:document_id>/",
        apis.DocumentDownloadApi.as_view(),
        name="document-download",
    ),
    path(
        "registrations/documents/<int:document_id>/check/",
        apis.DocumentCheckApi.as_view(),
        name="document-check",
    ),
    path("activities/", apis.ActivityListApi.as_view(), name="activities"),
    path(
        "activities/registrations/",
        apis.ActivityRegistrationListApi.as_view(),
        name="activity-registrations",
    ),
    path(
        "activities/registrations/<int:registration_id>/cancel/",
        apis.ActivityRegistrationCancelApi.as_view(),
        name="activity-registration-cancel",
    ),
    path("activities/<int:activity_id>/", apis.ActivityDetailApi.as_view(), name="activity-detail"),
    path(
        "activities/<int:activity_id>/register/",
        apis.ActivityRegisterApi.as_view(),
        name="activity-register",
    ),
    path(
        "activities/<int:activity_id>/capacity/",
        apis.ActivityCapacityApi.as_view(),
        name="activity-capacity",
    ),
    # Messages between families and schools, office appointments.
    path("messages/threads/", message_apis.ThreadListApi.as_view(), name="message-threads"),
    path(
        "messages/threads/<int:thread_id>/",
        message_apis.ThreadDetailApi.as_view(),
        name="message-thread",
    ),
    path(
        "messages/threads/<int:thread_id>/messages/",
        message_apis.MessagePostApi.as_view(),
        name="message-post",
    ),
    path(
        "messages/threads/<int:thread_id>/assign/",
        message_apis.ThreadAssignApi.as_view(),
        name="message-thread-assign",
    ),
    path(
        "messages/threads/<int:thread_id>/status/",
        message_apis.ThreadStatusApi.as_view(),
        name="message-thread-status",
    ),
    path(
        "messages/threads/<int:thread_id>/appointments/",
        message_apis.AppointmentRequestApi.as_view(),
        name="appointment-request",
    ),
    path(
        "messages/<int:message_id>/attachment/",
        message_apis.MessageAttachmentApi.as_view(),
        name="message-attachment",
    ),
    path("messages/slots/", message_apis.OfficeSlotListApi.as_view(), name="office-slots"),
    path(
        "messages/appointments/<int:appointment_id>/",
        message_apis.AppointmentActionApi.as_view(),
        name="appointment-action",
    ),
]
