"""One small city for the tests: two schools, two families, their staff, a technician and an
administrator, with school years computed from the clock the tests freeze (``FROZEN_NOW``).

Use the ``world`` fixture (tests/conftest.py); build more on top of it in an app's own fixture
(the fleet adds a cart and devices to ``world.school_a``, the canteen its services and tariffs).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from functools import cached_property
from zoneinfo import ZoneInfo

from backend.accounts.models import User
from family import models as fm
from tests.factories import (
    AdminFactory,
    SchoolFactory,
    StaffFactory,
    TechnicianFactory,
    household_with_parent,
)

PARIS = ZoneInfo("Europe/Paris")
# Monday 2 November 2026, 9:00 in Paris: a school day of the 2026-2027 school year, after the
# autumn holidays, with bookings for the rest of November still open.
FROZEN_NOW = dt.datetime(2026, 11, 2, 9, 0, tzinfo=PARIS)


def school_year_of(day: dt.date, *, offset: int = 0) -> fm.SchoolYear:
    """The school year (1 September – 4 July) that ``day`` falls in, or the one ``offset`` years
    later; created if missing."""
    start = (day.year if day.month >= 8 else day.year - 1) + offset
    year, _ = fm.SchoolYear.objects.get_or_create(
        label=f"{start}-{start + 1}",
        defaults={"start_date": dt.date(start, 9, 1), "end_date": dt.date(start + 1, 7, 4)},
    )
    return year


@dataclass
class World:
    today: dt.date
    city: str
    school_a: fm.School
    school_b: fm.School
    year: fm.SchoolYear
    next_year: fm.SchoolYear
    household: fm.Household  # Martin, school A
    parent: User
    child: fm.Child
    household2: fm.Household  # Benali, school B
    parent2: User
    child2: fm.Child
    staff: User  # staff of school A only
    staff_b: User  # staff of school B only
    technician: User
    catchment_street: str
    children_a: list[fm.Child] = field(default_factory=list)

    @cached_property
    def admin(self) -> User:
        """The city administrator, created when a test first asks for it (a world without one
        keeps "notify every administrator" counts as the older fixtures had them)."""
        return AdminFactory()

    @property
    def schools(self) -> list[fm.School]:
        return [self.school_a, self.school_b]

    @property
    def households(self) -> list[fm.Household]:
        return [self.household, self.household2]

    @property
    def parents(self) -> list[User]:
        return [self.parent, self.parent2]

    @property
    def children(self) -> list[fm.Child]:
        return [*self.children_a, self.child2]


def build_world(*, today: dt.date, children_a: int = 1) -> World:
    """The shared world at ``today``: school A (catchment street "rue de la Paix") with the Martin
    household (``children_a`` children, the first is ``child``), school B with the Benali household
    (one child), a staff member of each school, a technician and a city administrator."""
    from tests.family.factories import CatchmentAreaFactory

    school_a = SchoolFactory(name="École A")
    school_b = SchoolFactory(name="École B")
    street = "rue de la Paix"
    CatchmentAreaFactory(school=school_a, street_name=street)
    household, parent, kids = household_with_parent(children=children_a, school=school_a)
    household2, parent2, (child2,) = household_with_parent(children=1, school=school_b)
    staff = StaffFactory()
    staff.staff_schools.add(school_a)
    staff_b = StaffFactory()
    staff_b.staff_schools.add(school_b)
    return World(
        today=today,
        city=school_a.city,
        school_a=school_a,
        school_b=school_b,
        year=school_year_of(today),
        next_year=school_year_of(today, offset=1),
        household=household,
        parent=parent,
        child=kids[0],
        household2=household2,
        parent2=parent2,
        child2=child2,
        staff=staff,
        staff_b=staff_b,
        technician=TechnicianFactory(),
        catchment_street=street,
        children_a=kids,
    )
