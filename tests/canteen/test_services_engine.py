"""The daily-services engine: any service booked like a meal (issue 15)."""

import datetime as dt

import pytest
import time_machine

from backend.core.exceptions import ApplicationError
from canteen import forecasts, services
from canteen.models import AttendanceRecord, Booking, DeadlineRule, Service, Unit, canteen_unit_id
from canteen.selectors import billable_units
from tests.canteen.factories import make_assessment, make_service, make_tariff, make_year
from tests.factories import SchoolFactory, household_with_parent

pytestmark = pytest.mark.django_db
BOOKED_AT = dt.datetime(2026, 11, 20, 8, 0, tzinfo=dt.UTC)
HOLIDAYS = ("holiday", "Vacances de Noël", dt.date(2026, 12, 19), dt.date(2027, 1, 3), None)
CHRISTMAS = ("public_holiday", "Noël", dt.date(2026, 12, 25), dt.date(2026, 12, 25), None)


@pytest.fixture
def world():
    school, centre_site = SchoolFactory(), SchoolFactory()
    make_year(closures=[HOLIDAYS, CHRISTMAS])
    make_tariff()
    household, user, kids = household_with_parent(children=2, school=school)
    kids[0].birth_date, kids[1].birth_date = dt.date(2016, 1, 1), dt.date(2019, 6, 1)
    for k in kids:
        k.save()
    make_assessment(household, bracket=3)
    evening, (soir,) = make_service(
        code="GARD-SOIR",
        kind=Service.Kind.EVENING_CARE,
        units=[("SOIR", Unit.Kind.EVENING, None, False)],
    )
    centre, (day_meal, morning) = make_service(
        code="ALSH-VAC",
        kind=Service.Kind.HOLIDAY_CENTRE,
        site=centre_site,
        units=[
            ("JOUR-REPAS", Unit.Kind.FULL_DAY, 2, True),
            ("MATIN", Unit.Kind.MORNING, None, False),
        ],
        prices=(800, 700, 600),
    )
    return {
        "school": school,
        "site": centre_site,
        "household": household,
        "user": user,
        "kids": kids,
        "evening": evening,
        "soir": soir,
        "centre": centre,
        "day_meal": day_meal,
        "morning": morning,
    }


def test_one_pattern_books_canteen_and_evening_care_for_december(world):
    lea = world["kids"][0]
    meal = Unit.objects.get(pk=canteen_unit_id())  # recreated if a transactional test flushed it
    with time_machine.travel(BOOKED_AT, tick=False):
        result = services.bookings_create_plan(
            children=[lea],
            start=dt.date(2026, 12, 1),
            end=dt.date(2026, 12, 31),
            weekdays=[0, 3],
            units=[meal, world["soir"]],
            actor=world["user"],
        )
    # Mondays and Thursdays of December before the holidays (from 19 Dec): 3, 7, 10, 14, 17.
    days = [dt.date(2026, 12, d) for d in (3, 7, 10, 14, 17)]
    assert len(result.booked) == 2 * len(days)
    assert {s for _c, _d, s in result.skipped}
    assert all(d >= dt.date(2026, 12, 19) for _c, d, _r in result.skipped)
    by_service = {}
    for b in Booking.objects.filter(child=lea):
        by_service.setdefault(b.service.code, []).append(b.day)
    assert sorted(by_service["CANTINE"]) == days
    assert sorted(by_service["GARD-SOIR"]) == days

    lines = billable_units(start=dt.date(2026, 12, 1), end=dt.date(2026, 12, 31))
    care = [m for m in lines if m.service_code == "GARD-SOIR"]
    meals = [m for m in lines if m.service_code == "CANTINE"]
    assert len(care) == len(meals) == len(days)
    assert care[0].kind == "activity"
    assert care[0].amount_cents == 120
    assert care[0].explanation == "Soir · tranche 3, 1er enfant, résident : 1,20\u00a0€"
    assert meals[0].amount_cents == 265
    assert meals[0].kind == "meal"


def test_holiday_centre_week_with_lunch_at_another_site(world):
    hugo = world["kids"][1]
    with time_machine.travel(BOOKED_AT, tick=False):
        result = services.holiday_week_book(
            child=hugo, unit=world["day_meal"], monday=dt.date(2026, 12, 21), actor=world["user"]
        )
    assert [d for _c, d in result.booked] == [
        dt.date(2026, 12, 21),
        dt.date(2026, 12, 22),
        dt.date(2026, 12, 23),
        dt.date(2026, 12, 24),
    ]
    assert [(d, "Noël" in r) for _c, d, r in result.skipped] == [(dt.date(2026, 12, 25), True)]
    # the kitchen of the centre's site cooks these lunches
    frame = forecasts.meal_forecast(start=dt.date(2026, 12, 21), end=dt.date(2026, 12, 24))
    assert set(frame["school_id"]) == {world["site"].id}
    assert frame["meals"].sum() == 4
    # school weeks are closed for a holiday centre
    with time_machine.travel(BOOKED_AT, tick=False):
        with pytest.raises(ApplicationError, match="vacances scolaires"):
            services.bookings_create(
                children=[hugo], days=[dt.date(2026, 12, 14)], unit=world["day_meal"]
            )


def test_full_unit_waiting_list_and_promotion_on_cancel(world):
    school = world["school"]
    others = [household_with_parent(children=1, school=school)[2][0] for _ in range(2)]
    first, second, third = world["kids"][1], *others
    day = dt.date(2026, 12, 22)
    with time_machine.travel(BOOKED_AT, tick=False):
        for child in (first, second, third):
            services.bookings_create(children=[child], days=[day], unit=world["day_meal"])
    states = dict(Booking.objects.filter(day=day).values_list("child_id", "status"))
    assert states == {first.id: "booked", second.id: "booked", third.id: "waiting"}
    with time_machine.travel(BOOKED_AT, tick=False):
        services.bookings_cancel(child=first, days=[day], service=world["centre"])
    states = dict(Booking.objects.filter(day=day).values_list("child_id", "status"))
    assert states == {first.id: "cancelled", second.id: "booked", third.id: "booked"}
    # a waiting request is not billed
    assert {m.child_id for m in billable_units(start=day, end=day)} == {second.id, third.id}


def test_no_waiting_list_when_refused(world):
    school = world["school"]
    kids = [household_with_parent(children=1, school=school)[2][0] for _ in range(3)]
    day = dt.date(2026, 12, 23)
    with time_machine.travel(BOOKED_AT, tick=False):
        for child in kids[:2]:
            services.bookings_create(children=[child], days=[day], unit=world["day_meal"])
        with pytest.raises(ApplicationError, match="Complet"):
            services.bookings_create(
                children=[kids[2]], days=[day], unit=world["day_meal"], waitlist=False
            )
    assert not Booking.objects.filter(child=kids[2]).exists()


def test_age_and_class_conditions(world):
    hugo = world["kids"][1]  # 7 in December 2026
    Service.objects.filter(pk=world["evening"].pk).update(min_age=8)
    world["soir"].refresh_from_db()
    with time_machine.travel(BOOKED_AT, tick=False):
        with pytest.raises(ApplicationError, match="à partir de 8 ans"):
            services.bookings_create(
                children=[hugo], days=[dt.date(2026, 12, 7)], unit=world["soir"]
            )
    assert not Booking.objects.filter(child=hugo).exists()


def test_each_service_has_its_own_deadline_rule(world):
    lea = world["kids"][0]
    DeadlineRule.objects.create(
        service=world["evening"], action="book", days_before=0, cutoff_time=dt.time(12, 0)
    )
    # Monday 7 Dec at 10:00 (Paris): the canteen (J-2) is closed, evening care (same day noon) open
    with time_machine.travel(dt.datetime(2026, 12, 7, 9, 0, tzinfo=dt.UTC), tick=False):
        services.bookings_create(children=[lea], days=[dt.date(2026, 12, 7)], unit=world["soir"])
        with pytest.raises(ApplicationError, match="Délai dépassé"):
            services.bookings_create(children=[lea], days=[dt.date(2026, 12, 7)])


def test_evening_care_roll_locks_billing(world):
    lea = world["kids"][0]
    day = dt.date(2026, 12, 7)
    with time_machine.travel(BOOKED_AT, tick=False):
        services.bookings_create(children=[lea], days=[day], unit=world["soir"])
    with time_machine.travel(dt.datetime(2026, 12, 7, 18, 0, tzinfo=dt.UTC), tick=False):
        services.roll_take(
            school=world["school"],
            day=day,
            statuses={lea.id: "absent_justified"},
            service=world["evening"],
            actor=world["user"],
        )
        with pytest.raises(ApplicationError, match="appel"):
            services.bookings_cancel(child=lea, days=[day], service=world["evening"])
    record = AttendanceRecord.objects.get(child=lea, service=world["evening"])
    assert record.unit == world["soir"]
    assert record.price_rank == 1
    assert billable_units(start=day, end=day) == []


def test_flat_monthly_tariff_bills_once_per_child_and_month(world):
    lea = world["kids"][0]
    _study, (unit,) = make_service(
        code="ETUDE",
        kind=Service.Kind.STUDY,
        units=[("ETUDE", Unit.Kind.EVENING, None, False)],
        prices=(2500, 2000, 1500),
        flat=True,
    )
    with time_machine.travel(BOOKED_AT, tick=False):
        services.bookings_create(
            children=[lea], days=[dt.date(2026, 12, d) for d in (1, 3, 8)], unit=unit
        )
    lines = [
        m
        for m in billable_units(start=dt.date(2026, 12, 1), end=dt.date(2026, 12, 31))
        if m.service_code == "ETUDE"
    ]
    assert [(m.amount_cents, m.source) for m in lines] == [(2500, "flat_booking")]


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_concurrent_bookings_never_oversell_a_unit():
    """Twelve parents click for the last seats at once (real threads, PostgreSQL row locks)."""
    import threading

    from django.db import close_old_connections, connection

    if connection.vendor != "postgresql":
        pytest.skip("row locks need PostgreSQL")
    school, site = SchoolFactory(), SchoolFactory()
    make_year(closures=[HOLIDAYS])
    _centre, (unit, _m) = make_service(
        code="ALSH-VAC",
        kind=Service.Kind.HOLIDAY_CENTRE,
        site=site,
        units=[
            ("JOUR-REPAS", Unit.Kind.FULL_DAY, 3, True),
            ("MATIN", Unit.Kind.MORNING, None, False),
        ],
    )
    children = [household_with_parent(children=1, school=school)[2][0] for _ in range(12)]
    day = dt.date(2026, 12, 22)
    barrier = threading.Barrier(len(children))
    errors = []

    def click(child):
        try:
            barrier.wait(timeout=10)
            with time_machine.travel(BOOKED_AT, tick=False):
                services.bookings_create(
                    children=[child],
                    days=[day],
                    unit=Unit.objects.select_related("service").get(pk=unit.pk),
                )
        except Exception as exc:  # noqa: BLE001 - reported below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=click, args=(c,)) for c in children]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    close_old_connections()
    assert errors == []
    states = list(Booking.objects.filter(unit=unit, day=day).values_list("status", flat=True))
    assert states.count("booked") == 3
    assert states.count("waiting") == 9


def test_the_monthly_billing_run_shows_every_service_with_its_code(world):
    from payments.models import Invoice, InvoiceLine
    from payments.services.billing import billing_run_for_period

    lea, hugo = world["kids"]
    meal = Unit.objects.get(pk=canteen_unit_id())  # recreated if a transactional test flushed it
    with time_machine.travel(BOOKED_AT, tick=False):
        services.bookings_create_plan(
            children=[lea],
            start=dt.date(2026, 12, 1),
            end=dt.date(2026, 12, 18),
            weekdays=[0, 3],
            units=[meal, world["soir"]],
        )
        services.holiday_week_book(child=hugo, unit=world["day_meal"], monday=dt.date(2026, 12, 21))
    with time_machine.travel(dt.datetime(2027, 1, 5, 8, 0, tzinfo=dt.UTC), tick=False):
        run = billing_run_for_period(period=dt.date(2026, 12, 1))
    assert run.invoices_created == 1
    lines = list(InvoiceLine.objects.values_list("kind", "description", "amount_cents"))
    assert sum(1 for k, d, _a in lines if k == "meal") == 5
    evening = [d for k, d, _a in lines if d.startswith("[GARD-SOIR]")]
    centre = [(d, a) for k, d, a in lines if d.startswith("[ALSH-VAC]")]
    assert len(evening) == 5
    assert len(centre) == 4
    assert centre[0] == (
        "[ALSH-VAC] Jour-Repas · tranche 3, 2e enfant, résident : 7,00\u00a0€",
        700,
    )
    assert Invoice.objects.get().total_cents == sum(a for _k, _d, a in lines)
