"""Demo data for families: ~20 schools, a school year with its holidays, households and children."""

import datetime as dt

from django.utils import timezone

from backend.accounts.models import Role, User

from .models import (
    CalendarClosure,
    CarePlan,
    Child,
    ChildGuardian,
    Guardian,
    Household,
    IncomeAssessment,
    IncomeBracket,
    School,
    SchoolYear,
)

SCHOOL_NAMES = [
    "Jules Ferry",
    "Jean Jaurès",
    "Louise Michel",
    "Victor Hugo",
    "Marie Curie",
    "Jean Moulin",
    "Pasteur",
    "Paul Bert",
    "Condorcet",
    "Jacques Prévert",
    "Anatole France",
    "George Sand",
    "Simone Veil",
    "Lucie Aubrac",
    "Émile Zola",
    "Jean de la Fontaine",
    "Pablo Picasso",
    "Saint-Exupéry",
    "Olympe de Gouges",
    "Aimé Césaire",
]
BRACKETS = [(1, 0, 450), (2, 451, 700), (3, 701, 1000), (4, 1001, 1400), (5, 1401, None)]


def school_year_dates(today: dt.date) -> tuple[str, dt.date, dt.date]:
    start_year = today.year if today.month >= 8 else today.year - 1
    return (
        f"{start_year}-{start_year + 1}",
        dt.date(start_year, 9, 1),
        dt.date(start_year + 1, 7, 4),
    )


def seed_school_year(today: dt.date) -> SchoolYear:
    label, start, end = school_year_dates(today)
    year, _ = SchoolYear.objects.get_or_create(
        label=label, defaults={"start_date": start, "end_date": end}
    )
    y = start.year
    closures = [
        ("holiday", "Vacances de la Toussaint", dt.date(y, 10, 17), dt.date(y, 11, 2)),
        ("public_holiday", "Armistice", dt.date(y, 11, 11), dt.date(y, 11, 11)),
        ("holiday", "Vacances de Noël", dt.date(y, 12, 19), dt.date(y + 1, 1, 4)),
        ("holiday", "Vacances d'hiver", dt.date(y + 1, 2, 13), dt.date(y + 1, 3, 1)),
        ("holiday", "Vacances de printemps", dt.date(y + 1, 4, 10), dt.date(y + 1, 4, 26)),
        ("public_holiday", "Lundi de Pâques", dt.date(y + 1, 4, 6), dt.date(y + 1, 4, 6)),
        ("public_holiday", "Fête du Travail", dt.date(y + 1, 5, 1), dt.date(y + 1, 5, 1)),
        ("public_holiday", "Victoire 1945", dt.date(y + 1, 5, 8), dt.date(y + 1, 5, 8)),
        ("day_off", "Pont de l'Ascension", dt.date(y + 1, 5, 14), dt.date(y + 1, 5, 15)),
        ("public_holiday", "Lundi de Pentecôte", dt.date(y + 1, 5, 25), dt.date(y + 1, 5, 25)),
    ]
    for kind, label_, start_, end_ in closures:
        CalendarClosure.objects.get_or_create(
            school_year=year,
            school=None,
            label=label_,
            defaults={"kind": kind, "start_date": start_, "end_date": end_},
        )
    return year


def seed(*, progress) -> None:
    today = timezone.localdate()
    seed_school_year(today)
    for number, low, high in BRACKETS:
        IncomeBracket.objects.get_or_create(
            number=number, defaults={"min_quotient": low, "max_quotient": high}
        )

    schools = []
    for i, name in enumerate(progress("schools", SCHOOL_NAMES)):
        school, _ = School.objects.get_or_create(
            code=f"0759{i:03d}X",
            defaults={
                "name": f"École élémentaire {name}",
                "address_line": f"{10 + i} rue {name}",
                "postal_code": "75000",
                "city": "Minot",
                "has_mobile_classroom": i < 12,
            },
        )
        schools.append(school)

    staff = User.objects.get(email="staff@example.org")
    staff.staff_schools.add(schools[0], schools[1])

    _household(
        email="parent@example.org",
        name="Famille Martin",
        address="12 rue Jules Ferry",
        quotient=820,
        children=[
            (
                "Léa",
                "Martin",
                dt.date(2017, 3, 14),
                schools[0],
                "CE2",
                ["peanuts", "nuts"],
                "standard",
                True,
            ),
            ("Hugo", "Martin", dt.date(2019, 9, 2), schools[0], "CP", [], "vegetarian", False),
        ],
        today=today,
    )
    _household(
        email="parent2@example.org",
        name="Famille Benali",
        address="3 avenue Jean Jaurès",
        quotient=560,
        children=[
            ("Inès", "Benali", dt.date(2018, 1, 22), schools[1], "CE1", ["milk"], "no_pork", False)
        ],
        today=today,
    )


def _household(*, email, name, address, quotient, children, today) -> Household:
    user = User.objects.get(email=email, role=Role.PARENT)
    guardian = Guardian.objects.filter(user=user).select_related("household").first()
    if guardian:
        return guardian.household
    household = Household.objects.create(
        name=name, address_line=address, postal_code="75000", city="Minot"
    )
    guardian = Guardian.objects.create(household=household, user=user, relationship="parent")
    bracket = (
        IncomeBracket.objects.filter(min_quotient__lte=quotient).order_by("-min_quotient").first()
    )
    _, start, end = school_year_dates(today)
    IncomeAssessment.objects.create(
        household=household,
        quotient=quotient,
        source=IncomeAssessment.Source.CAF,
        valid_from=start,
        valid_until=end,
        status=IncomeAssessment.Status.VALIDATED,
        bracket=bracket.number if bracket else None,
    )
    for first, last, birth, school, klass, allergies, diet, pai in children:
        child = Child.objects.create(
            household=household,
            first_name=first,
            last_name=last,
            birth_date=birth,
            school=school,
            class_name=klass,
            allergies=allergies,
            diet=diet,
        )
        ChildGuardian.objects.create(child=child, guardian=guardian)
        if pai:
            CarePlan.objects.create(
                child=child,
                valid_from=start,
                valid_until=end,
                packed_lunch=False,
                instructions="Allergie sévère à l'arachide : trousse d'urgence en classe.",
            )
    return household
