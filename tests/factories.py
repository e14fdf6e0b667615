"""Factories for accounts and the core family models, shared by every app's tests."""

import datetime as dt

import factory
from factory.django import DjangoModelFactory

from backend.accounts.models import Role, User
from family import models as fm

PASSWORD = "correct horse battery staple"


class UserFactory(DjangoModelFactory):
    class Meta:
        model = User
        django_get_or_create = ("email",)

    email = factory.Sequence(lambda n: f"user{n}@example.test")
    first_name = factory.Faker("first_name", locale="fr_FR")
    last_name = factory.Faker("last_name", locale="fr_FR")
    role = Role.PARENT
    password = factory.PostGenerationMethodCall("set_password", PASSWORD)

    @classmethod
    def _after_postgeneration(cls, instance, create, results=None):
        if create and results:
            instance.save(update_fields=["password"])


class ParentFactory(UserFactory):
    role = Role.PARENT


class StaffFactory(UserFactory):
    role = Role.STAFF


class AdminFactory(UserFactory):
    role = Role.ADMIN
    is_staff = True
    is_superuser = True


class TechnicianFactory(UserFactory):
    role = Role.TECHNICIAN


class SchoolFactory(DjangoModelFactory):
    class Meta:
        model = fm.School
        django_get_or_create = ("code",)

    code = factory.Sequence(lambda n: f"0750{n:03d}T")
    name = factory.Sequence(lambda n: f"École test {n}")
    city = "Minot"
    postal_code = "75000"


class SchoolYearFactory(DjangoModelFactory):
    class Meta:
        model = fm.SchoolYear
        django_get_or_create = ("label",)

    label = "2026-2027"
    start_date = dt.date(2026, 9, 1)
    end_date = dt.date(2027, 7, 3)


class HouseholdFactory(DjangoModelFactory):
    class Meta:
        model = fm.Household

    name = factory.Sequence(lambda n: f"Foyer {n}")
    address_line = "1 rue de la Paix"
    postal_code = "75000"
    city = "Minot"


class GuardianFactory(DjangoModelFactory):
    class Meta:
        model = fm.Guardian

    household = factory.SubFactory(HouseholdFactory)
    user = factory.SubFactory(ParentFactory)
    relationship = "parent"


class ChildFactory(DjangoModelFactory):
    class Meta:
        model = fm.Child

    household = factory.SubFactory(HouseholdFactory)
    first_name = factory.Faker("first_name", locale="fr_FR")
    last_name = factory.Faker("last_name", locale="fr_FR")
    birth_date = dt.date(2018, 5, 1)
    school = factory.SubFactory(SchoolFactory)
    class_name = "CE1"


def household_with_parent(
    *, email: str | None = None, children: int = 1, school: fm.School | None = None
):
    """A household with one guardian (a parent login) and ``children`` children (payer rights)."""
    user = ParentFactory(**({"email": email} if email else {}))
    guardian = GuardianFactory(user=user)
    kids = []
    for _ in range(children):
        child = ChildFactory(household=guardian.household, **({"school": school} if school else {}))
        fm.ChildGuardian.objects.create(child=child, guardian=guardian)
        kids.append(child)
    return guardian.household, user, kids
