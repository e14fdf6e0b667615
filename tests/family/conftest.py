import pytest

from tests.factories import SchoolFactory, StaffFactory, household_with_parent
from tests.family.factories import CatchmentAreaFactory, current_year, next_year


@pytest.fixture
def world(db):
    """Two schools, a staff member of the first, a catchment street, two households:
    ``parent`` (Martin, one child, school A) and ``parent2`` (Benali, school B), a staff
    member of school B only, and a technician."""
    from tests.factories import TechnicianFactory

    school_a = SchoolFactory(name="École A")
    school_b = SchoolFactory(name="École B")
    CatchmentAreaFactory(school=school_a, street_name="rue de la Paix")
    household, parent, (child,) = household_with_parent(children=1, school=school_a)
    household2, parent2, (child2,) = household_with_parent(children=1, school=school_b)
    staff = StaffFactory()
    staff.staff_schools.add(school_a)
    staff_b = StaffFactory()
    staff_b.staff_schools.add(school_b)

    class W:
        pass

    w = W()
    w.school_a, w.school_b = school_a, school_b
    w.household, w.parent, w.child = household, parent, child
    w.household2, w.parent2, w.child2 = household2, parent2, child2
    w.staff, w.staff_b = staff, staff_b
    w.technician = TechnicianFactory()
    w.year = current_year()
    w.next_year = next_year()
    return w
