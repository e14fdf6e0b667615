"""After-school activities: seats, waiting list, promotion. Never overbooked: every change to an
activity's registrations first locks the activity row (``select_for_update``), so concurrent
requests for the last seat are serialised by the database."""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING

from django.db import IntegrityError, transaction
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from backend.core.exceptions import ApplicationError

from ..models import Activity, ActivityAttendance, ActivityRegistration, Child
from .common import audit, notify_guardians

if TYPE_CHECKING:
    from backend.accounts.models import User

R = ActivityRegistration.State


def _lock(activity: Activity) -> Activity:
    return Activity.objects.select_for_update().get(pk=activity.pk)


def activity_register(*, actor: User, activity: Activity, child: Child) -> ActivityRegistration:
    """A seat if one is free, otherwise a place on the waiting list (first come, first served)."""
    with transaction.atomic():
        activity = _lock(activity)
        if not activity.is_open:
            raise ApplicationError(_("Les inscriptions à cette activité sont fermées."))
        if activity.end_date < timezone.localdate():
            raise ApplicationError(_("Cette activité est terminée."))
        if child.school_id != activity.school_id:
            raise ApplicationError(
                _("Cette activité est réservée aux élèves de %(school)s.")
                % {"school": activity.school}
            )
        if ActivityRegistration.objects.filter(
            activity=activity, child=child, state__in=[R.CONFIRMED, R.WAITING]
        ).exists():
            raise ApplicationError(
                _("%(child)s est déjà inscrit(e) à cette activité.") % {"child": child.first_name}
            )
        confirmed = ActivityRegistration.objects.filter(
            activity=activity, state=R.CONFIRMED
        ).count()
        state = R.CONFIRMED if confirmed < activity.capacity else R.WAITING
        try:
            with transaction.atomic():
                registration = ActivityRegistration.objects.create(
                    activity=activity,
                    child=child,
                    state=state,
                    requested_by=actor,
                    confirmed_at=timezone.now() if state == R.CONFIRMED else None,
                )
        except IntegrityError:
            raise ApplicationError(
                _("%(child)s est déjà inscrit(e) à cette activité.") % {"child": child.first_name}
            )
        audit(
            action="family.activity.register",
            actor=actor,
            target=registration,
            household_id=child.household_id,
            data={"activity": activity.pk, "state": state},
        )
    return registration


def activity_registration_cancel(
    *, actor: User, registration: ActivityRegistration
) -> list[ActivityRegistration]:
    """Cancel a registration; a freed seat goes to the first child on the waiting list. Answers
    the registrations promoted."""
    with transaction.atomic():
        activity = _lock(registration.activity)
        locked = (
            ActivityRegistration.objects.select_for_update(of=("self",))
            .select_related("child")
            .get(pk=registration.pk)
        )
        if locked.state == R.CANCELLED:
            raise ApplicationError(_("Cette inscription est déjà annulée."))
        was_confirmed = locked.state == R.CONFIRMED
        locked.state = R.CANCELLED
        locked.cancelled_at = timezone.now()
        locked.save(update_fields=["state", "cancelled_at", "updated_at"])
        audit(
            action="family.activity.cancel",
            actor=actor,
            target=locked,
            household_id=locked.child.household_id,
            data={"activity": activity.pk, "was_confirmed": was_confirmed},
        )
        return activity_waiting_list_promote(activity=activity) if was_confirmed else []


def activity_waiting_list_promote(*, activity: Activity) -> list[ActivityRegistration]:
    """Fill free seats from the waiting list, oldest first. Call with the activity locked (it
    locks it itself otherwise: nested atomic blocks are fine)."""
    promoted: list[ActivityRegistration] = []
    with transaction.atomic():
        activity = _lock(activity)
        confirmed = ActivityRegistration.objects.filter(
            activity=activity, state=R.CONFIRMED
        ).count()
        free = activity.capacity - confirmed
        if free <= 0:
            return []
        waiting = list(
            ActivityRegistration.objects.select_for_update(of=("self",))
            .filter(activity=activity, state=R.WAITING)
            .select_related("child__household")
            .order_by("created_at", "id")[:free]
        )
        now = timezone.now()
        for registration in waiting:
            registration.state = R.CONFIRMED
            registration.confirmed_at = now
            registration.save(update_fields=["state", "confirmed_at", "updated_at"])
            audit(
                action="family.activity.promote",
                actor=None,
                target=registration,
                household_id=registration.child.household_id,
                data={"activity": activity.pk},
            )
            notify_guardians(
                household=registration.child.household,
                child=registration.child,
                subject_key=gettext_noop("Place obtenue : %(child)s est inscrit(e) à %(activity)s"),
                params={"child": registration.child.first_name, "activity": activity.name},
                url=reverse("family:activities"),
            )
            promoted.append(registration)
    return promoted


def activity_set_capacity(
    *, actor: User, activity: Activity, capacity: int
) -> list[ActivityRegistration]:
    """Change the number of seats; more seats promote the waiting list. Fewer seats than
    children already registered is refused (no one loses a confirmed seat)."""
    if capacity is None or capacity < 0:
        raise ApplicationError(_("Le nombre de places doit être positif."))
    with transaction.atomic():
        locked = _lock(activity)
        confirmed = ActivityRegistration.objects.filter(activity=locked, state=R.CONFIRMED).count()
        if capacity < confirmed:
            raise ApplicationError(
                _(
                    "%(n)s enfants sont déjà inscrits : la capacité ne peut pas descendre en dessous."
                )
                % {"n": confirmed}
            )
        previous = locked.capacity
        locked.capacity = capacity
        locked.save(update_fields=["capacity", "updated_at"])
        audit(
            action="family.activity.capacity",
            actor=actor,
            target=locked,
            household_id=None,
            data={"from": previous, "to": capacity},
            family_side=False,
        )
        return activity_waiting_list_promote(activity=locked)


def activity_roll_take(
    *, actor: User, activity: Activity, day: dt.date, statuses: dict[int, str]
) -> int:
    """Record the activity roll of a day (present / absent justified / absent unjustified) for
    registered children; taking it again corrects it. All or nothing. Answers the rows written."""
    from ..selectors import activity_runs_on

    if not activity_runs_on(activity, day):
        raise ApplicationError(
            _("L'activité n'a pas lieu le %(day)s.") % {"day": day.strftime("%d/%m/%Y")}
        )
    if day > timezone.localdate():
        raise ApplicationError(_("L'appel ne peut pas être fait pour un jour à venir."))
    bad = [s for s in statuses.values() if s not in ActivityAttendance.Status.values]
    if bad:
        raise ApplicationError(_("Présence inconnue : %(s)s.") % {"s": ", ".join(map(str, bad))})
    registered = set(
        ActivityRegistration.objects.filter(
            activity=activity, state=R.CONFIRMED, child_id__in=list(statuses)
        ).values_list("child_id", flat=True)
    ) | set(
        ActivityAttendance.objects.filter(
            activity=activity, day=day, child_id__in=list(statuses)
        ).values_list("child_id", flat=True)
    )
    strangers = set(statuses) - registered
    if strangers:
        raise ApplicationError(_("Un enfant de l'appel n'est pas inscrit à cette activité."))
    with transaction.atomic():
        for child_id, status in statuses.items():
            ActivityAttendance.objects.update_or_create(
                activity=activity,
                child_id=child_id,
                day=day,
                defaults={"status": status, "taken_by": actor, "taken_at": timezone.now()},
            )
        audit(
            action="family.activity.roll",
            actor=actor,
            target=activity,
            household_id=None,
            data={"day": day.isoformat(), "statuses": {str(k): v for k, v in statuses.items()}},
            family_side=False,
        )
    return len(statuses)
