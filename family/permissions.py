"""The one place that decides who reaches which family object. Foreign objects answer 404.

Rules:
- a parent reaches their own household and everything hanging from it;
- school staff reach the children of their schools, the applications made to their schools,
  and the households (documents, change requests, income assessments) of those children and
  applications;
- city administrators reach everything;
- anyone else (technicians, another household's parent) gets ``Http404``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, cast

from django.db.models import Q, QuerySet
from django.http import Http404

from backend.core.access import (
    get_or_404,
    households_reached_by,
    is_parent,
    is_staff_or_admin,
    staff_school_ids,
)

from .models import (
    Activity,
    ActivityRegistration,
    AppointmentRequest,
    ChangeRequest,
    Child,
    Document,
    EmergencyContact,
    GuardianInvitation,
    Household,
    IncomeAssessment,
    Message,
    MessageThread,
    OfficeSlot,
    School,
    SchoolApplication,
)

if TYPE_CHECKING:
    from django.contrib.auth.models import AnonymousUser

    from backend.accounts.models import User


def is_family_staff(user: User | AnonymousUser) -> bool:
    return is_staff_or_admin(user)


def schools_for_user(user: User | AnonymousUser) -> QuerySet[School]:
    ids = staff_school_ids(user)
    qs = School.objects.all()
    return qs if ids is None else qs.filter(id__in=ids)


# --- households --------------------------------------------------------------------------


def household_for_user(user: User | AnonymousUser) -> Household:
    """The parent's own household, or 404."""
    if not is_parent(user):
        raise Http404
    try:
        return Household.objects.get(guardians__user=cast("User", user))
    except Household.DoesNotExist:
        raise Http404


def households_for_user(user: User | AnonymousUser) -> QuerySet[Household]:
    """The households the user reaches (:func:`backend.core.access.households_reached_by`)."""
    return households_reached_by(user)


def household_for_staff(user: User | AnonymousUser, household_id: Any) -> Household:
    """A household a staff member may act for (one of their schools' families), or 404."""
    if not is_family_staff(user):
        raise Http404
    return get_or_404(households_for_user(user), household_id)


def household_any_for_user(user: User | AnonymousUser, household_id: Any) -> Household:
    return get_or_404(households_for_user(user), household_id)


# --- children ----------------------------------------------------------------------------


def children_for_user(user: User | AnonymousUser) -> QuerySet[Child]:
    if is_parent(user):
        return Child.objects.filter(household__guardians__user=cast("User", user))
    ids = staff_school_ids(user)
    if ids is None:
        return Child.objects.all()
    if not ids:
        return Child.objects.none()
    return Child.objects.filter(
        Q(school_id__in=ids)
        | Q(id__in=SchoolApplication.objects.filter(school_id__in=ids).values("child_id"))
    )


def child_for_user(user: User | AnonymousUser, child_id: int) -> Child:
    return get_or_404(children_for_user(user), child_id)


# --- applications ------------------------------------------------------------------------


def applications_for_user(user: User | AnonymousUser) -> QuerySet[SchoolApplication]:
    if is_parent(user):
        return SchoolApplication.objects.filter(household__guardians__user=cast("User", user))
    ids = staff_school_ids(user)
    if ids is None:
        return SchoolApplication.objects.all()
    return SchoolApplication.objects.filter(school_id__in=ids)


def application_for_user(user: User | AnonymousUser, application_id: Any) -> SchoolApplication:
    return get_or_404(applications_for_user(user), application_id)


def application_for_staff(user: User | AnonymousUser, application_id: Any) -> SchoolApplication:
    """An application a staff member may decide on, or 404 (parents never decide)."""
    if not is_family_staff(user):
        raise Http404
    return application_for_user(user, application_id)


def derogations_for_catchment_staff(user: User | AnonymousUser) -> QuerySet[SchoolApplication]:
    """Derogation applications whose catchment school is one of the staff member's schools:
    they give their opinion on them (they do not reach them otherwise: they ask for another
    school)."""
    if not is_family_staff(user):
        return SchoolApplication.objects.none()
    ids = staff_school_ids(user)
    qs = SchoolApplication.objects.exclude(derogation_reason="")
    return qs if ids is None else qs.filter(catchment_school_id__in=ids)


def application_for_catchment_staff(
    user: User | AnonymousUser, application_id: Any
) -> SchoolApplication:
    return get_or_404(derogations_for_catchment_staff(user), application_id)


def application_for_reader(user: User | AnonymousUser, application_id: Any) -> SchoolApplication:
    """An application a user may read: their own, their schools', or (staff) a derogation away
    from their catchment school. 404 otherwise."""
    return get_or_404(
        applications_for_user(user) | derogations_for_catchment_staff(user), application_id
    )


# --- documents, change requests, income ------------------------------------------------


def documents_for_user(user: User | AnonymousUser) -> QuerySet[Document]:
    if is_parent(user):
        return Document.objects.filter(household__guardians__user=cast("User", user))
    if not is_family_staff(user):
        return Document.objects.none()
    return Document.objects.filter(household__in=households_for_user(user))


def document_for_user(user: User | AnonymousUser, document_id: Any) -> Document:
    return get_or_404(documents_for_user(user), document_id)


def change_requests_for_user(user: User | AnonymousUser) -> QuerySet[ChangeRequest]:
    if is_parent(user):
        return ChangeRequest.objects.filter(household__guardians__user=cast("User", user))
    if not is_family_staff(user):
        return ChangeRequest.objects.none()
    return ChangeRequest.objects.filter(household__in=households_for_user(user))


def change_request_for_staff(user: User | AnonymousUser, change_request_id: Any) -> ChangeRequest:
    if not is_family_staff(user):
        raise Http404
    return get_or_404(change_requests_for_user(user), change_request_id)


def income_assessments_for_user(user: User | AnonymousUser) -> QuerySet[IncomeAssessment]:
    if is_parent(user):
        return IncomeAssessment.objects.filter(household__guardians__user=cast("User", user))
    if not is_family_staff(user):
        return IncomeAssessment.objects.none()
    return IncomeAssessment.objects.filter(household__in=households_for_user(user))


def income_assessment_for_staff(user: User | AnonymousUser, assessment_id: Any) -> IncomeAssessment:
    if not is_family_staff(user):
        raise Http404
    return get_or_404(income_assessments_for_user(user), assessment_id)


# --- activities --------------------------------------------------------------------------


def activities_for_user(user: User | AnonymousUser) -> QuerySet[Activity]:
    """Parents see the activities of their children's schools; staff those of their schools."""
    if is_parent(user):
        return Activity.objects.filter(
            school__children__household__guardians__user=cast("User", user)
        ).distinct()
    ids = staff_school_ids(user)
    if ids is None:
        return Activity.objects.all()
    return Activity.objects.filter(school_id__in=ids)


def activity_for_user(user: User | AnonymousUser, activity_id: Any) -> Activity:
    return get_or_404(activities_for_user(user), activity_id)


def activity_registrations_for_user(user: User | AnonymousUser) -> QuerySet[ActivityRegistration]:
    if is_parent(user):
        return ActivityRegistration.objects.filter(
            child__household__guardians__user=cast("User", user)
        )
    ids = staff_school_ids(user)
    if ids is None:
        return ActivityRegistration.objects.all()
    return ActivityRegistration.objects.filter(activity__school_id__in=ids)


def activity_registration_for_user(
    user: User | AnonymousUser, registration_id: Any
) -> ActivityRegistration:
    return get_or_404(activity_registrations_for_user(user), registration_id)


def invitation_for_user(user: User | AnonymousUser, invitation_id: Any) -> GuardianInvitation:
    """An invitation of a household the user reaches, or 404."""
    return get_or_404(
        GuardianInvitation.objects.filter(household__in=households_for_user(user)), invitation_id
    )


def contact_for_user(user: User | AnonymousUser, contact_id: Any) -> EmergencyContact:
    """An emergency contact of a household the user reaches, or 404."""
    return get_or_404(
        EmergencyContact.objects.filter(household__in=households_for_user(user)), contact_id
    )


# --- messages between families and schools ------------------------------------------------------


def threads_for_user(user: User | AnonymousUser) -> QuerySet[MessageThread]:
    """A parent: their household's threads. Staff: threads with their schools, of households
    they reach. City administrators: all. Anyone else (technicians): none."""
    reached = households_reached_by(user)
    threads = MessageThread.objects.filter(household__in=reached)
    if is_parent(user):
        return threads
    ids = staff_school_ids(user)
    if ids is None:
        return threads
    return threads.filter(school_id__in=ids) if ids else MessageThread.objects.none()


def thread_for_user(user: User | AnonymousUser, thread_id: Any) -> MessageThread:
    return get_or_404(threads_for_user(user).select_related("school", "household"), thread_id)


def thread_for_staff(user: User | AnonymousUser, thread_id: Any) -> MessageThread:
    if not is_family_staff(user):
        raise Http404
    return thread_for_user(user, thread_id)


def thread_for_parent(user: User | AnonymousUser, thread_id: Any) -> MessageThread:
    if not is_parent(user):
        raise Http404
    return thread_for_user(user, thread_id)


def message_for_user(user: User | AnonymousUser, message_id: Any) -> Message:
    return get_or_404(
        Message.objects.filter(thread__in=threads_for_user(user)).select_related("thread"),
        message_id,
    )


def office_slots_for_user(user: User | AnonymousUser) -> QuerySet[OfficeSlot]:
    """Staff: the slots of their schools. Parents: the slots of the schools they may write to."""
    if is_parent(user):
        return OfficeSlot.objects.filter(school__in=message_schools_for_parent(user))
    ids = staff_school_ids(user)
    if ids is None:
        return OfficeSlot.objects.all()
    return OfficeSlot.objects.filter(school_id__in=ids)


def message_schools_for_parent(user: User | AnonymousUser) -> QuerySet[School]:
    """The schools a parent may write to: those their children attend or apply to."""
    if not is_parent(user):
        return School.objects.none()
    household = households_reached_by(user)
    return School.objects.filter(
        Q(children__household__in=household) | Q(applications__household__in=household)
    ).distinct()


def appointments_for_user(user: User | AnonymousUser) -> QuerySet[AppointmentRequest]:
    return AppointmentRequest.objects.filter(thread__in=threads_for_user(user))


def appointment_for_user(user: User | AnonymousUser, appointment_id: Any) -> AppointmentRequest:
    return get_or_404(
        appointments_for_user(user).select_related("slot", "thread__school"), appointment_id
    )
