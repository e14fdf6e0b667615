"""Calendar-aware status, alert evaluation (dedupe, auto-resolve) and battery forecast."""

import datetime as dt
import zoneinfo

import pytest
import time_machine

from family.models import CalendarClosure
from fleet.models import Alert, BatterySample, Device
from fleet.services.health import (
    Calendar,
    battery_forecast_compute,
    device_status,
    fleet_evaluate,
    os_outdated,
)
from tests.factories import SchoolFactory, SchoolYearFactory

from .factories import DeviceFactory

pytestmark = pytest.mark.django_db
PARIS = zoneinfo.ZoneInfo("Europe/Paris")


def at(*args):
    return dt.datetime(*args, tzinfo=PARIS)


@pytest.fixture
def school():
    return SchoolFactory()


def status(last_seen, now, school_id=None, missing_after=3):
    calendar = Calendar(now.date() - dt.timedelta(days=60), now.date())
    return device_status(
        last_seen_at=last_seen,
        enrolled_at=last_seen,
        school_id=school_id,
        now=now,
        calendar=calendar,
        missing_after=missing_after,
    )


def test_online_within_window():
    now = at(2026, 11, 24, 10, 0)  # Tuesday
    assert status(now - dt.timedelta(minutes=5), now) == ("online", False)


def test_offline_at_night_is_expected():
    now = at(2026, 11, 24, 22, 0)
    assert status(at(2026, 11, 24, 16, 30), now) == ("offline", True)


def test_weekend_does_not_count_towards_missing():
    # last seen Friday afternoon, now Monday 10:00: zero full school days missed
    assert status(at(2026, 11, 20, 16, 0), at(2026, 11, 23, 10, 0)) == ("offline", False)


def test_missing_after_three_school_days():
    # last seen Monday; Tue, Wed, Thu missed; now Friday morning
    assert status(at(2026, 11, 16, 16, 0), at(2026, 11, 20, 10, 0))[0] == "missing"
    assert status(at(2026, 11, 17, 16, 0), at(2026, 11, 20, 10, 0))[0] == "offline"


def test_holidays_do_not_count_towards_missing(school):
    year = SchoolYearFactory()
    CalendarClosure.objects.create(
        school_year=year,
        school=None,
        kind="holiday",
        label="Vacances",
        start_date=dt.date(2026, 10, 17),
        end_date=dt.date(2026, 11, 2),
    )
    # last seen Friday before the holidays, now the Tuesday after at 10:00 → only Monday missed
    assert (
        status(at(2026, 10, 16, 16, 0), at(2026, 11, 3, 10, 0), school_id=school.pk)[0] == "offline"
    )
    # a school-only closure counts for that school only
    other = SchoolFactory()
    CalendarClosure.objects.create(
        school_year=year,
        school=other,
        kind="day_off",
        label="Pont",
        start_date=dt.date(2026, 11, 17),
        end_date=dt.date(2026, 11, 19),
    )
    assert (
        status(at(2026, 11, 16, 16, 0), at(2026, 11, 20, 10, 0), school_id=other.pk)[0] == "offline"
    )
    assert (
        status(at(2026, 11, 16, 16, 0), at(2026, 11, 20, 10, 0), school_id=school.pk)[0]
        == "missing"
    )


def test_os_outdated():
    assert os_outdated(platform="ubuntu", version="20.4.6")
    assert not os_outdated(platform="ubuntu", version="22.4.0")
    assert os_outdated(platform="ubuntu", version="22.4.0", school_minimum="24.04")
    assert not os_outdated(platform="unknown", version="1.0")


@time_machine.travel(at(2026, 11, 20, 10, 0), tick=False)
def test_alerts_open_once_and_resolve_automatically(school):
    now = dt.datetime.now(tz=dt.UTC)
    worn = DeviceFactory(
        school=school, battery_health_percent=71.0, last_seen_at=now, enrolled_at=now
    )
    full = DeviceFactory(
        school=school,
        storage_total_bytes=100,
        storage_free_bytes=5,
        last_seen_at=now,
        enrolled_at=now,
    )
    gone = DeviceFactory(
        school=school,
        last_seen_at=now - dt.timedelta(days=6),
        enrolled_at=now - dt.timedelta(days=60),
    )
    old_os = DeviceFactory(
        school=school, os_platform="ubuntu", os_version="20.4.6", last_seen_at=now, enrolled_at=now
    )
    fine = DeviceFactory(
        school=school, battery_health_percent=95.0, last_seen_at=now, enrolled_at=now
    )
    # when
    first = fleet_evaluate()
    second = fleet_evaluate()
    # then
    assert first["opened"] == 4
    assert second["opened"] == 0
    assert set(Alert.objects.values_list("device_id", "kind")) == {
        (worn.pk, "battery_worn"),
        (full.pk, "low_storage"),
        (gone.pk, "missing"),
        (old_os.pk, "outdated_os"),
    }
    assert Device.objects.get(pk=gone.pk).status == "missing"
    assert not Alert.objects.filter(device=fine).exists()
    # condition clears → resolved automatically
    Device.objects.filter(pk=full.pk).update(storage_free_bytes=50)
    Device.objects.filter(pk=gone.pk).update(last_seen_at=now)
    result = fleet_evaluate()
    assert result["resolved"] == 2
    assert set(
        Alert.objects.filter(state="resolved", auto_resolved=True).values_list(
            "device_id", flat=True
        )
    ) == {full.pk, gone.pk}
    # it comes back → a new alert (the old one stays resolved in history)
    Device.objects.filter(pk=full.pk).update(storage_free_bytes=1)
    fleet_evaluate()
    assert Alert.objects.filter(device=full, kind="low_storage").count() == 2
    assert (
        Alert.objects.filter(device=full, kind="low_storage").exclude(state="resolved").count() == 1
    )


@time_machine.travel(at(2026, 11, 20, 10, 0), tick=False)
def test_battery_forecast_trend_and_alert(school, settings):
    settings.FLEET_BATTERY_FORECAST_WEEKS = 12
    now = dt.datetime.now(tz=dt.UTC)
    device = DeviceFactory(
        school=school, battery_health_percent=84.0, last_seen_at=now, enrolled_at=now
    )
    stable = DeviceFactory(
        school=school, battery_health_percent=97.0, last_seen_at=now, enrolled_at=now
    )
    # 90 days, -2 points/month: 90 → 84 ; crosses 80 % in ~2 months
    BatterySample.objects.bulk_create(
        [
            BatterySample(
                device=device,
                measured_at=now - dt.timedelta(days=90 - d),
                health_percent=90 - d * (2 / 30),
            )
            for d in range(0, 91, 5)
        ]
        + [
            BatterySample(
                device=stable, measured_at=now - dt.timedelta(days=90 - d), health_percent=97.0
            )
            for d in range(0, 91, 5)
        ]
    )
    assert battery_forecast_compute() == 2
    device.refresh_from_db()
    stable.refresh_from_db()
    assert device.battery_wear_per_month == pytest.approx(2.0, abs=0.05)
    assert dt.date(2027, 1, 15) <= device.battery_forecast_date <= dt.date(2027, 1, 25)
    assert stable.battery_forecast_date is None
    fleet_evaluate()
    assert Alert.objects.get(device=device).kind == "battery_forecast"
