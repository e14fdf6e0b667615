"""The school year lifecycle: the year switch and the re-enrolment campaign.

The year switch, run by a city administrator (page or ``manage.py school_year_switch``), first as
a dry run: it closes the year, archives each child's school, class and meal count of the year
(``Enrolment``), promotes every child to the next class (CM2 leaves elementary school: its
school-only data end), applies the registrations accepted for the new year (school and class),
and carries household data over unchanged (households, guardians, contacts, income assessments
are not tied to a year). All or nothing.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from django.db import transaction
from django.db.models import Q
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from backend.core.exceptions import ApplicationError

from ..models import (
    ActivityRegistration,
    CarePlan,
    Child,
    Enrolment,
    Household,
    ReenrolmentAnswer,
    ReenrolmentCampaign,
    ReenrolmentReminder,
    SchoolApplication,
    SchoolYear,
)
from .common import audit, notify_guardians

if TYPE_CHECKING:
    from backend.accounts.models import User

# French classes in order; the class after CM2 is secondary school (the child leaves us).
LADDER = ["TPS", "PS", "MS", "GS", "CP", "CE1", "CE2", "CM1", "CM2"]
LEAVES_AFTER = "CM2"
_LEVEL = re.compile(r"^\s*(TPS|PS|MS|GS|CP|CE1|CE2|CM1|CM2)\b(.*)$", re.IGNORECASE)


def next_class(class_name: str) -> tuple[str | None, bool]:
    """(the class next year, whether the child leaves elementary school). Unknown names stay
    as they are (staff set them by hand); the section suffix ("CE2 B") is dropped."""
    match = _LEVEL.match(class_name or "")
    if not match:
        return None, False
    level = match.group(1).upper()
    if level == LEAVES_AFTER:
        return "", True
    return LADDER[LADDER.index(level) + 1], False


@dataclass
class ChildMove:
    child_id: int
    name: str
    from_school: str
    from_class: str
    to_school: str
    to_class: str
    outcome: str


@dataclass
class YearSwitchReport:
    from_year: str
    to_year: str
    dry_run: bool
    moves: list[ChildMove] = field(default_factory=list)
    promoted: int = 0
    left: int = 0
    applied: int = 0
    unchanged: int = 0
    meals_archived: int = 0
    activity_registrations_closed: int = 0

    def as_dict(self) -> dict:
        data = {k: v for k, v in self.__dict__.items() if k != "moves"}
        data["moves"] = [m.__dict__ for m in self.moves]
        return data


def school_year_following(year: SchoolYear) -> SchoolYear | None:
    return SchoolYear.objects.filter(start_date__gt=year.start_date).order_by("start_date").first()


def _meal_counts(year: SchoolYear) -> dict[int, int]:
    """Meals booked per child in the year, archived with the enrolment. The canteen answers it
    through the selector named in settings (family never imports canteen: canteen depends on
    family)."""
    from django.conf import settings
    from django.utils.module_loading import import_string

    path = getattr(settings, "MINOT_YEAR_MEAL_COUNTER", "")
    if not path:
        return {}
    return import_string(path)(start=year.start_date, end=year.end_date)


def school_year_switch(
    *, actor: User | None, from_year: SchoolYear, to_year: SchoolYear, dry_run: bool = True
) -> YearSwitchReport:
    """Close ``from_year`` and move every child into ``to_year``; with ``dry_run`` only report."""
    if from_year.closed_at is not None:
        raise ApplicationError(_("L'année %(y)s est déjà clôturée.") % {"y": from_year.label})
    if to_year.start_date <= from_year.start_date:
        raise ApplicationError(_("La nouvelle année doit suivre l'année clôturée."))
    report = YearSwitchReport(from_year.label, to_year.label, dry_run)
    with transaction.atomic():
        locked = SchoolYear.objects.select_for_update().get(pk=from_year.pk)
        if locked.closed_at is not None:
            raise ApplicationError(_("L'année %(y)s est déjà clôturée.") % {"y": locked.label})
        accepted = {
            a.child_id: a
            for a in SchoolApplication.objects.filter(
                school_year=to_year, state=SchoolApplication.State.ACCEPTED
            ).select_related("school")
        }
        meals = _meal_counts(from_year)
        report.meals_archived = sum(meals.values())
        children = list(
            Child.objects.filter(Q(school__isnull=False) | Q(pk__in=list(accepted)))
            .select_related("school")
            .order_by("last_name", "first_name", "id")
        )
        enrolments, leavers = [], []
        for child in children:
            application = accepted.get(child.pk)
            promoted, leaves = next_class(child.class_name)
            from_school = child.school.name if child.school else ""
            if application is not None:
                to_school, to_class = application.school, application.grade or promoted or ""
                outcome = _("Inscription acceptée pour %(y)s") % {"y": to_year.label}
                report.applied += 1
            elif leaves:
                to_school, to_class = None, ""
                outcome = _("Quitte l'école élémentaire (collège)")
                report.left += 1
                leavers.append(child.pk)
            elif promoted is not None:
                to_school, to_class = child.school, promoted
                outcome = _("Passe en %(c)s") % {"c": promoted}
                report.promoted += 1
            else:
                to_school, to_class = child.school, child.class_name
                outcome = _("Classe inconnue : à renseigner par l'école")
                report.unchanged += 1
            report.moves.append(
                ChildMove(
                    child.pk,
                    str(child),
                    from_school,
                    child.class_name,
                    to_school.name if to_school else "",
                    to_class,
                    str(outcome),
                )
            )
            enrolments.append(
                Enrolment(
                    child=child,
                    school_year=from_year,
                    school=child.school,
                    class_name=child.class_name,
                    meals_booked=meals.get(child.pk, 0),
                    outcome=str(outcome)[:200],
                )
            )
            child.school, child.class_name = to_school, to_class
        if dry_run:
            return report
        Enrolment.objects.bulk_create(enrolments, ignore_conflicts=True)
        now = timezone.now()
        for child in children:
            child.updated_at = now
        Child.objects.bulk_update(children, ["school", "class_name", "updated_at"], batch_size=1000)
        # Activities are per school year: the year's registrations end with it.
        report.activity_registrations_closed = ActivityRegistration.objects.filter(
            activity__end_date__lte=from_year.end_date,
            state__in=[ActivityRegistration.State.CONFIRMED, ActivityRegistration.State.WAITING],
        ).update(state=ActivityRegistration.State.CANCELLED, cancelled_at=now)
        # Leavers: school-only data end (a PAI is agreed with the school).
        CarePlan.objects.filter(child_id__in=leavers, valid_until__gt=from_year.end_date).update(
            valid_until=from_year.end_date
        )
        locked.closed_at = now
        locked.save(update_fields=["closed_at"])
        audit(
            action="family.school_year.switch",
            actor=actor,
            target=locked,
            household_id=None,
            data={k: v for k, v in report.as_dict().items() if k != "moves"},
            family_side=False,
        )
    return report


# --- re-enrolment campaign ---------------------------------------------------------------------


def reenrolment_campaign_create(
    *, actor: User, school_year: SchoolYear, opens_on: dt.date, closes_on: dt.date
) -> ReenrolmentCampaign:
    if opens_on > closes_on:
        raise ApplicationError(_("La clôture doit suivre l'ouverture."))
    if closes_on >= school_year.start_date:
        raise ApplicationError(_("La campagne doit se terminer avant la rentrée."))
    with transaction.atomic():
        campaign, _created = ReenrolmentCampaign.objects.update_or_create(
            school_year=school_year,
            defaults={"opens_on": opens_on, "closes_on": closes_on, "created_by": actor},
        )
        audit(
            action="family.reenrolment.campaign",
            actor=actor,
            target=campaign,
            household_id=None,
            data={"opens_on": opens_on.isoformat(), "closes_on": closes_on.isoformat()},
            family_side=False,
        )
    return campaign


def reenrolment_answer(
    *,
    actor: User,
    campaign: ReenrolmentCampaign,
    household: Household,
    canteen: bool,
    activities: bool,
    income_confirmed: bool,
    comment: str = "",
) -> ReenrolmentAnswer:
    """A family's answer (or staff's at the counter, recorded as such). Answering again while
    the campaign is open replaces the answer."""
    from backend.core.access import is_parent

    today = timezone.localdate()
    at_counter = not is_parent(actor)
    if not campaign.is_open(today) and not at_counter:
        raise ApplicationError(
            _("La réinscription est ouverte du %(a)s au %(b)s.")
            % {
                "a": campaign.opens_on.strftime("%d/%m/%Y"),
                "b": campaign.closes_on.strftime("%d/%m/%Y"),
            }
        )
    with transaction.atomic():
        answer, _created = ReenrolmentAnswer.objects.update_or_create(
            campaign=campaign,
            household=household,
            defaults={
                "canteen": bool(canteen),
                "activities": bool(activities),
                "income_confirmed": bool(income_confirmed),
                "comment": (comment or "").strip()[:500],
                "answered_by": actor,
                "at_counter": at_counter,
            },
        )
        audit(
            action="family.reenrolment.answer",
            actor=actor,
            target=answer,
            household_id=household.pk,
            data={
                "canteen": answer.canteen,
                "activities": answer.activities,
                "income_confirmed": answer.income_confirmed,
            },
        )
    return answer


def reenrolment_remind(*, campaign: ReenrolmentCampaign, day: dt.date | None = None) -> int:
    """Remind every household with a child at school that has not answered; at most once a day
    (a database constraint), so running it twice does no harm. Answers the number reminded."""
    from ..selectors import reenrolment_missing

    day = day or timezone.localdate()
    if not campaign.is_open(day):
        return 0
    sent = 0
    for household in reenrolment_missing(campaign=campaign):
        _reminder, created = ReenrolmentReminder.objects.get_or_create(
            campaign=campaign, household=household, day=day
        )
        if not created:
            continue
        notify_guardians(
            household=household,
            subject_key=gettext_noop("Réinscription %(y)s : merci de confirmer avant le %(d)s"),
            params={"y": campaign.school_year.label, "d": campaign.closes_on.strftime("%d/%m/%Y")},
            url=reverse("family:reenrolment"),
        )
        sent += 1
    return sent
