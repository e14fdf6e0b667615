"""Canteen test data: a school year, a tariff grid, menus."""

import datetime as dt

from canteen.models import AllergenPresence, Dish, Menu, Tariff, TariffLine
from family.models import CalendarClosure, IncomeAssessment, SchoolYear

YEAR_START = dt.date(2026, 9, 1)
YEAR_END = dt.date(2027, 7, 3)

# bracket -> (rank1, rank2, rank3+) for residents; non-residents pay +100 cents
GRID = {
    None: (367, 367, 367),
    1: (183, 160, 140),
    2: (210, 190, 170),
    3: (265, 245, 225),
    4: (310, 290, 270),
    5: (367, 347, 327),
}


def make_year(*, closures=()):
    year, _ = SchoolYear.objects.get_or_create(
        label="2026-2027", defaults={"start_date": YEAR_START, "end_date": YEAR_END}
    )
    for kind, label, start, end, school in closures:
        CalendarClosure.objects.create(
            school_year=year, school=school, kind=kind, label=label, start_date=start, end_date=end
        )
    return year


def make_tariff(
    *, valid_from=dt.date(2026, 8, 1), valid_until=dt.date(2027, 8, 31), name="Tarifs 2026-2027"
):
    tariff = Tariff.objects.create(
        name=name,
        valid_from=valid_from,
        valid_until=valid_until,
        packed_lunch_cents=64,
        unbooked_surcharge_cents=150,
    )
    lines = []
    for bracket, prices in GRID.items():
        for rank, cents in enumerate(prices, start=1):
            lines.append(
                TariffLine(
                    tariff=tariff,
                    bracket=bracket,
                    sibling_rank=rank,
                    resident=True,
                    amount_cents=cents,
                )
            )
            lines.append(
                TariffLine(
                    tariff=tariff,
                    bracket=bracket,
                    sibling_rank=rank,
                    resident=False,
                    amount_cents=cents + 100,
                )
            )
    TariffLine.objects.bulk_create(lines)
    return tariff


def make_assessment(
    household,
    *,
    bracket=3,
    quotient=800,
    status=IncomeAssessment.Status.VALIDATED,
    valid_from=YEAR_START,
    valid_until=YEAR_END,
):
    return IncomeAssessment.objects.create(
        household=household,
        quotient=quotient,
        source=IncomeAssessment.Source.CAF,
        valid_from=valid_from,
        valid_until=valid_until,
        status=status,
        bracket=bracket,
    )


def make_menu(day, *, school=None, published=True, dishes=None):
    """Dishes: list of (course, variant, name, {allergen: presence}); default: a full safe menu."""
    if dishes is None:
        all_free = {code: AllergenPresence.FREE for code in _codes()}
        dishes = [
            ("starter", "standard", "Carottes râpées", dict(all_free)),
            ("main", "standard", "Poulet rôti", dict(all_free)),
            ("main", "vegetarian", "Omelette", {**all_free, "eggs": AllergenPresence.CONTAINS}),
            ("dessert", "standard", "Pomme", dict(all_free)),
        ]
    menu = Menu.objects.create(school=school, day=day, published=published)
    Dish.objects.bulk_create(
        [Dish(menu=menu, course=c, variant=v, name=n, allergens=a) for c, v, n, a in dishes]
    )
    return menu


def _codes():
    from backend.core.allergens import ALLERGEN_CODES

    return ALLERGEN_CODES


def make_service(
    *,
    code,
    kind,
    units,
    site=None,
    weekdays=(),
    prices=(120, 100, 90),
    flat=False,
    **fields,
):
    """A daily service with its units ``[(code, kind, capacity, includes_meal)]`` and a tariff:
    bracket 3 → ``prices`` by sibling rank (residents), full price +100, non-residents +50."""
    from canteen.models import Service, Unit

    service = Service.objects.create(
        code=code, name=code.title(), kind=kind, site=site, weekdays=list(weekdays), **fields
    )
    made = [
        Unit.objects.create(
            service=service,
            code=u_code,
            name=u_code.title(),
            kind=u_kind,
            capacity=capacity,
            includes_meal=meal,
            position=i,
        )
        for i, (u_code, u_kind, capacity, meal) in enumerate(units)
    ]
    tariff = Tariff.objects.create(
        service=service,
        name=f"Tarifs {code}",
        valid_from=dt.date(2026, 8, 1),
        valid_until=dt.date(2027, 8, 31),
        mode=Tariff.Mode.FLAT_MONTH if flat else Tariff.Mode.PER_UNIT,
    )
    lines = []
    for bracket, extra in ((3, 0), (None, 100)):
        for rank, cents in enumerate(prices, start=1):
            for resident, more in ((True, 0), (False, 50)):
                lines.append(
                    TariffLine(
                        tariff=tariff,
                        bracket=bracket,
                        sibling_rank=rank,
                        resident=resident,
                        amount_cents=cents + extra + more,
                    )
                )
    TariffLine.objects.bulk_create(lines)
    return service, made
