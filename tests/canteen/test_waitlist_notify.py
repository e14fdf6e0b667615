"""A waiting request that gets a seat tells the family (in the app and by email), after commit."""

import datetime as dt

import pytest
import time_machine
from django.core import mail

from backend.core.models import Notification
from backend.core.text import render_text
from canteen import services
from canteen.models import Booking, Service, Unit
from tests.canteen.factories import make_service, make_tariff, make_year
from tests.factories import SchoolFactory, household_with_parent

pytestmark = pytest.mark.django_db
BOOKED_AT = dt.datetime(2026, 11, 20, 8, 0, tzinfo=dt.UTC)
HOLIDAYS = ("holiday", "Vacances de Noël", dt.date(2026, 12, 19), dt.date(2027, 1, 3), None)
DAY = dt.date(2026, 12, 22)


@pytest.fixture
def full_centre():
    school, site = SchoolFactory(), SchoolFactory()
    make_year(closures=[HOLIDAYS])
    make_tariff()
    centre, (day_meal,) = make_service(
        code="ALSH-VAC",
        kind=Service.Kind.HOLIDAY_CENTRE,
        site=site,
        units=[("JOUR-REPAS", Unit.Kind.FULL_DAY, 1, True)],
    )
    first = household_with_parent(children=1, school=school)
    waiting = household_with_parent(children=1, school=school)
    with time_machine.travel(BOOKED_AT, tick=False):
        for _household, _user, (child,) in (first, waiting):
            services.bookings_create(children=[child], days=[DAY], unit=day_meal)
    return centre, first, waiting


def test_promotion_notifies_the_waiting_family_after_commit(
    full_centre, django_capture_on_commit_callbacks
):
    centre, (_h1, first_parent, (first,)), (_h2, parent, (child,)) = full_centre
    assert Booking.objects.get(child=child, day=DAY).status == "waiting"
    mail.outbox.clear()
    with (
        time_machine.travel(BOOKED_AT, tick=False),
        django_capture_on_commit_callbacks(execute=False) as callbacks,
    ):
        services.bookings_cancel(child=first, days=[DAY], service=centre, actor=first_parent)
        # nothing is sent before the transaction commits
        assert not Notification.objects.filter(user=parent).exists()
    assert callbacks
    with django_capture_on_commit_callbacks(execute=True):  # the email follows its own commit
        for callback in callbacks:
            callback()
    booking = Booking.objects.get(child=child, day=DAY)
    assert booking.status == "booked"
    assert booking.promotion_notified_at is not None
    (notice,) = Notification.objects.filter(user=parent)
    assert notice.category == "canteen"
    assert notice.subject_key == "Place libérée : %(service)s le %(day)s pour %(child)s"
    assert notice.params == {
        "child": child.first_name,
        "service": centre.name,
        "unit": "Jour-Repas",
        "day": "22/12/2026",
    }
    assert notice.url == f"/cantine/services/enfant/{child.id}/2026/12/"
    # rendered in the reader's language
    assert render_text(notice.subject_key, notice.params, "en") == (
        f"Seat available: {centre.name} on 22/12/2026 for {child.first_name}"
    )
    assert [m.to for m in mail.outbox] == [[parent.email]]
    # the family that cancelled is not told anything
    assert not Notification.objects.filter(user=first_parent).exists()


def test_a_second_delivery_does_not_notify_twice(full_centre, django_capture_on_commit_callbacks):
    centre, (_h1, first_parent, (first,)), (_h2, parent, (child,)) = full_centre
    with (
        time_machine.travel(BOOKED_AT, tick=False),
        django_capture_on_commit_callbacks(execute=True),
    ):
        services.bookings_cancel(child=first, days=[DAY], service=centre, actor=first_parent)
    booking = Booking.objects.get(child=child, day=DAY)
    assert services.booking_promotion_notify(booking_id=booking.id) is False
    assert Notification.objects.filter(user=parent).count() == 1


def test_no_notice_when_nobody_was_promoted(full_centre, django_capture_on_commit_callbacks):
    centre, _first, (_h2, parent, (child,)) = full_centre
    with (
        time_machine.travel(BOOKED_AT, tick=False),
        django_capture_on_commit_callbacks(execute=True),
    ):
        services.bookings_cancel(child=child, days=[DAY], service=centre, actor=parent)
    assert Booking.objects.get(child=child, day=DAY).status == "cancelled"
    assert not Notification.objects.filter(user=parent).exists()
