"""Booking services: deadlines, closed days, duplicates, bulk patterns, copy week, cancel range."""

import datetime as dt
import threading
from unittest import mock

import pytest
import time_machine
from django.db import connection, transaction
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from backend.core.exceptions import ApplicationError
from backend.core.models import AuditEvent
from canteen import services
from canteen.models import AttendanceRoll, Booking, DeadlineRule, Variant
from family.models import CarePlan
from tests.canteen.factories import make_year
from tests.factories import SchoolFactory, household_with_parent

pytestmark = pytest.mark.django_db

NOW = dt.datetime(2026, 11, 2, 9, 0, tzinfo=dt.UTC)  # Monday 2 Nov 2026, 10:00 in Paris


@pytest.fixture
def family():
    school = SchoolFactory()
    make_year(
        closures=[
            ("public_holiday", "Armistice", dt.date(2026, 11, 11), dt.date(2026, 11, 11), None),
            ("holiday", "Vacances de Noël", dt.date(2026, 12, 19), dt.date(2027, 1, 3), None),
            ("no_service", "Grève cuisine", dt.date(2026, 11, 20), dt.date(2026, 11, 20), school),
        ]
    )
    household, user, kids = household_with_parent(children=2, school=school)
    return household, user, kids


def test_book_one_day_writes_one_booking_and_an_audit_row(family):
    _h, user, (lea, _hugo) = family
    with time_machine.travel(NOW, tick=False):
        booking = services.booking_create(child=lea, day=dt.date(2026, 11, 5), actor=user)
    assert booking.status == Booking.Status.BOOKED
    assert booking.variant == Variant.STANDARD
    assert (
        AuditEvent.objects.filter(
            action="canteen.booking.create", household_id=lea.household_id
        ).count()
        == 1
    )


def test_booking_twice_is_refused_and_nothing_changes(family):
    _h, user, (lea, _hugo) = family
    with time_machine.travel(NOW, tick=False):
        services.booking_create(child=lea, day=dt.date(2026, 11, 5), actor=user)
        with pytest.raises(ApplicationError, match="déjà réservé"):
            services.booking_create(child=lea, day=dt.date(2026, 11, 5), actor=user)
    assert Booking.objects.count() == 1


def test_booking_past_deadline_is_refused_with_the_deadline(family):
    _h, user, (lea, _hugo) = family
    # Wednesday 4 Nov at J-2 10:00 -> deadline Monday 2 Nov 10:00 Paris; now is 10:00:00 exactly
    with time_machine.travel(NOW, tick=False), pytest.raises(ApplicationError) as err:
        services.booking_create(child=lea, day=dt.date(2026, 11, 4), actor=user)
    assert "lundi 02/11/2026 à 10:00" in err.value.message
    assert Booking.objects.count() == 0
    # one minute earlier it was open
    with time_machine.travel(NOW - dt.timedelta(minutes=1), tick=False):
        services.booking_create(child=lea, day=dt.date(2026, 11, 4), actor=user)


def test_deadline_rule_from_db_skips_public_holiday(family):
    _h, user, (lea, _hugo) = family
    # Thursday 12 Nov: J-2 skipping Wednesday 11 (Armistice) -> Monday 9 Nov 10:00
    with time_machine.travel(dt.datetime(2026, 11, 9, 8, 59, tzinfo=dt.UTC), tick=False):
        services.booking_create(child=lea, day=dt.date(2026, 11, 12), actor=user)
    DeadlineRule.objects.update_or_create(
        action="book", defaults={"days_before": 0, "cutoff_time": dt.time(8, 0)}
    )
    with time_machine.travel(dt.datetime(2026, 11, 13, 6, 59, tzinfo=dt.UTC), tick=False):
        services.booking_create(child=lea, day=dt.date(2026, 11, 13), actor=user)
    with time_machine.travel(dt.datetime(2026, 11, 16, 7, 0, tzinfo=dt.UTC), tick=False):
        with pytest.raises(ApplicationError, match="Délai dépassé"):
            services.booking_create(child=lea, day=dt.date(2026, 11, 16), actor=user)


@pytest.mark.parametrize(
    ("day", "reason"),
    [
        (dt.date(2026, 11, 7), "Week-end"),
        (dt.date(2026, 11, 11), "Armistice"),
        (dt.date(2026, 11, 20), "Grève cuisine"),
        (dt.date(2026, 12, 22), "Vacances de Noël"),
        (dt.date(2027, 8, 2), "Hors année scolaire"),
    ],
)
def test_closed_days_are_refused(family, day, reason):
    _h, user, (lea, _hugo) = family
    with time_machine.travel(NOW, tick=False), pytest.raises(ApplicationError, match=reason):
        services.booking_create(child=lea, day=day, actor=user)
    assert Booking.objects.count() == 0


def test_strict_bulk_with_one_bad_day_writes_nothing(family):
    _h, user, (lea, hugo) = family
    with time_machine.travel(NOW, tick=False), pytest.raises(ApplicationError):
        services.bookings_create(
            children=[lea, hugo],
            days=[dt.date(2026, 11, 5), dt.date(2026, 11, 11)],
            actor=user,
            strict=True,
        )
    assert Booking.objects.count() == 0


def test_pattern_booking_over_a_period_skips_closed_and_reports(family):
    _h, user, (lea, hugo) = family
    with time_machine.travel(NOW, tick=False):
        result = services.bookings_create_pattern(
            children=[lea, hugo],
            start=dt.date(2026, 11, 2),
            end=dt.date(2026, 11, 30),
            weekdays=[0, 1, 3, 4],
            actor=user,
        )
    booked_days = sorted({d for _c, d in result.booked})
    # Mon 2, Tue 3 are past the J-2 deadline; Fri 20 no service; Wed not in the pattern
    assert dt.date(2026, 11, 2) not in booked_days
    assert dt.date(2026, 11, 20) not in booked_days
    assert booked_days[0] == dt.date(2026, 11, 5)
    assert len(booked_days) == 14
    assert Booking.objects.filter(status="booked").count() == 28
    reasons = {d: r for _c, d, r in result.skipped}
    assert "Délai dépassé" in reasons[dt.date(2026, 11, 2)]
    assert "Grève cuisine" in reasons[dt.date(2026, 11, 20)]
    # rerunning books nothing new
    with time_machine.travel(NOW, tick=False):
        again = services.bookings_create_pattern(
            children=[lea, hugo],
            start=dt.date(2026, 11, 2),
            end=dt.date(2026, 11, 30),
            weekdays=[0, 1, 3, 4],
            actor=user,
        )
    assert again.booked == []
    assert Booking.objects.count() == 28


def test_cancel_then_rebook_revives_the_same_row(family):
    _h, user, (lea, _hugo) = family
    with time_machine.travel(NOW, tick=False):
        booking = services.booking_create(child=lea, day=dt.date(2026, 11, 6), actor=user)
        services.booking_cancel(child=lea, day=dt.date(2026, 11, 6), actor=user)
        booking.refresh_from_db()
        assert booking.status == Booking.Status.CANCELLED
        again = services.booking_create(child=lea, day=dt.date(2026, 11, 6), actor=user)
    assert again.pk == booking.pk
    assert again.status == Booking.Status.BOOKED


def test_cancel_past_deadline_is_refused_and_booking_stays(family):
    _h, user, (lea, _hugo) = family
    with time_machine.travel(NOW - dt.timedelta(days=7), tick=False):
        services.booking_create(child=lea, day=dt.date(2026, 11, 4), actor=user)
    with (
        time_machine.travel(NOW, tick=False),
        pytest.raises(ApplicationError, match="annulé jusqu'au"),
    ):
        services.booking_cancel(child=lea, day=dt.date(2026, 11, 4), actor=user)
    assert Booking.objects.get().status == Booking.Status.BOOKED


def test_cancel_range_cancels_what_it_can(family):
    _h, user, (lea, _hugo) = family
    with time_machine.travel(NOW - dt.timedelta(days=7), tick=False):
        services.bookings_create_pattern(
            children=[lea],
            start=dt.date(2026, 11, 2),
            end=dt.date(2026, 11, 6),
            weekdays=range(5),
            actor=user,
        )
    with time_machine.travel(NOW, tick=False):
        result = services.bookings_cancel_range(
            child=lea, start=dt.date(2026, 11, 2), end=dt.date(2026, 11, 6), actor=user
        )
    assert [d for _c, d in result.cancelled] == [dt.date(2026, 11, 5), dt.date(2026, 11, 6)]
    assert len(result.skipped) == 3
    assert Booking.objects.filter(status="booked").count() == 3


def test_copy_week(family):
    _h, user, (lea, _hugo) = family
    with time_machine.travel(NOW, tick=False):
        services.bookings_create(
            children=[lea], days=[dt.date(2026, 11, 5), dt.date(2026, 11, 6)], actor=user
        )
        result = services.bookings_copy_week(
            child=lea,
            source_monday=dt.date(2026, 11, 2),
            target_monday=dt.date(2026, 11, 9),
            actor=user,
        )
    assert sorted(d for _c, d in result.booked) == [dt.date(2026, 11, 12), dt.date(2026, 11, 13)]


def test_pai_packed_lunch_child_is_booked_on_packed_lunch(family):
    _h, user, (lea, hugo) = family
    CarePlan.objects.create(
        child=lea,
        valid_from=dt.date(2026, 9, 1),
        valid_until=dt.date(2027, 7, 3),
        packed_lunch=True,
    )
    hugo.diet = "vegetarian"
    hugo.save()
    with time_machine.travel(NOW, tick=False):
        services.bookings_create(children=[lea, hugo], days=[dt.date(2026, 11, 5)], actor=user)
    assert Booking.objects.get(child=lea).variant == Variant.PACKED_LUNCH
    assert Booking.objects.get(child=hugo).variant == Variant.VEGETARIAN


def test_roll_taken_locks_the_day(family):
    _household, user, (lea, _hugo) = family
    with time_machine.travel(NOW - dt.timedelta(days=7), tick=False):
        services.booking_create(child=lea, day=dt.date(2026, 11, 5), actor=user)
    AttendanceRoll.objects.create(school=lea.school, day=dt.date(2026, 11, 5), taken_at=NOW)
    with time_machine.travel(NOW - dt.timedelta(days=7), tick=False):
        with pytest.raises(ApplicationError, match="appel"):
            services.booking_cancel(child=lea, day=dt.date(2026, 11, 5), actor=user)


def test_payments_block_refuses_new_bookings(family):
    household, user, (lea, _hugo) = family
    fake = mock.Mock(return_value="Factures impayées : réglez-les pour réserver.")
    with (
        mock.patch.object(services, "booking_block_reason", fake),
        time_machine.travel(NOW, tick=False),
    ):
        with pytest.raises(ApplicationError, match="impayées"):
            services.booking_create(child=lea, day=dt.date(2026, 11, 5), actor=user)
    fake.assert_called_once_with(household=household)
    assert Booking.objects.count() == 0


def test_booking_guards_come_from_settings(family, settings):
    """The canteen asks the guards named in settings; none configured means no block, and a
    wrong path fails loudly instead of silently allowing every booking."""
    household, user, (lea, _hugo) = family
    settings.MINOT_BOOKING_GUARDS = []
    assert services.booking_block_reason(household=household) is None
    settings.MINOT_BOOKING_GUARDS = ["payments.selectors.no_such_guard"]
    with pytest.raises(ImportError):
        services.booking_block_reason(household=household)
    with pytest.raises(ImportError), time_machine.travel(NOW, tick=False):
        services.booking_create(child=lea, day=dt.date(2026, 11, 5), actor=user)
    assert Booking.objects.count() == 0


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_concurrent_double_click_creates_one_booking():
    school = SchoolFactory()
    make_year()
    _h, user, (lea,) = household_with_parent(children=1, school=school)
    barrier = threading.Barrier(4)
    errors = []

    def click():
        try:
            barrier.wait()
            with time_machine.travel(NOW, tick=False):
                services.booking_create(child=lea, day=dt.date(2026, 11, 5), actor=user)
        except ApplicationError as exc:
            errors.append(exc.message)
        finally:
            connection.close()

    threads = [threading.Thread(target=click) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert Booking.objects.filter(child=lea).count() == 1
    assert len(errors) == 3
    assert all("déjà réservé" in e for e in errors)


class _Rollback(Exception):
    pass


@pytest.mark.django_db
@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    closures=st.lists(
        st.tuples(
            st.integers(0, 60),
            st.integers(0, 6),
            st.sampled_from(["holiday", "public_holiday", "day_off"]),
        ),
        max_size=4,
    ),
    days_before=st.integers(0, 5),
    cutoff_hour=st.integers(6, 20),
    skip_school_holidays=st.booleans(),
    day_offset=st.integers(0, 60),
    minutes_before=st.integers(-3000, 6000),
)
def test_property_service_accepts_exactly_before_the_deadline(
    closures, days_before, cutoff_hour, skip_school_holidays, day_offset, minutes_before
):
    """Across random calendars and rules, booking succeeds iff the day is open and now < deadline."""
    from canteen.deadlines import SchoolCalendar, deadline_for, deadline_rules

    base = dt.date(2026, 11, 2)
    try:
        with transaction.atomic():
            school = SchoolFactory()
            make_year(
                closures=[
                    (kind, kind, base + dt.timedelta(days=o), base + dt.timedelta(days=o + n), None)
                    for o, n, kind in closures
                ]
            )
            DeadlineRule.objects.update_or_create(
                action="book",
                defaults={
                    "days_before": days_before,
                    "cutoff_time": dt.time(cutoff_hour, 0),
                    "skip_weekends": True,
                    "skip_public_holidays": True,
                    "skip_school_holidays": skip_school_holidays,
                },
            )
            _h, user, (child,) = household_with_parent(children=1, school=school)
            day = base + dt.timedelta(days=day_offset)
            calendar = SchoolCalendar.load(school=school, start=day, end=day)
            deadline = deadline_for(day, deadline_rules().book, calendar)
            now = deadline - dt.timedelta(minutes=minutes_before)
            expected = calendar.closed_reason(day) is None and now < deadline
            with time_machine.travel(now, tick=False):
                try:
                    services.booking_create(child=child, day=day, actor=user)
                    booked = True
                except ApplicationError:
                    booked = False
            assert booked == expected
            assert Booking.objects.filter(child=child).count() == int(expected)
            raise _Rollback
    except _Rollback:
        pass
