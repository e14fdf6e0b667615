"""The data migration that makes the canteen one service keeps every booking, roll, record and
tariff, and can be reversed."""

import datetime as dt

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

from tests.factories import SchoolFactory, household_with_parent

pytestmark = pytest.mark.django_db(transaction=True)

BEFORE = [("canteen", "0002_default_deadline_rules")]
AFTER = [("canteen", "0005_services_required")]


def _migrate(targets):
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(targets)
    return executor.loader.project_state(targets).apps


def test_canteen_rows_become_the_canteen_service_and_back():
    apps = _migrate(BEFORE)
    try:
        # family tables stay at their latest state: use the real models for them
        school = SchoolFactory()
        _household, _user, (child,) = household_with_parent(children=1, school=school)
        Booking = apps.get_model("canteen", "Booking")
        Roll = apps.get_model("canteen", "AttendanceRoll")
        Record = apps.get_model("canteen", "AttendanceRecord")
        Tariff = apps.get_model("canteen", "Tariff")
        day = dt.date(2026, 11, 2)
        booking = Booking.objects.create(child_id=child.id, day=day)
        Booking.objects.create(
            child_id=child.id, day=day + dt.timedelta(days=1), status="cancelled"
        )
        roll = Roll.objects.create(school_id=school.id, day=day, taken_at="2026-11-02T12:00:00Z")
        Record.objects.create(
            roll=roll, child_id=child.id, day=day, status="present", booking=booking
        )
        Tariff.objects.create(
            name="T",
            valid_from=dt.date(2026, 8, 1),
            valid_until=dt.date(2027, 8, 31),
            packed_lunch_cents=64,
            unbooked_surcharge_cents=150,
        )

        apps = _migrate(AFTER)
        Service = apps.get_model("canteen", "Service")
        canteen = Service.objects.get(code="CANTINE")
        assert canteen.kind == "canteen"
        for name, count in (("Booking", 2), ("AttendanceRoll", 1), ("AttendanceRecord", 1)):
            model = apps.get_model("canteen", name)
            assert (
                model.objects.filter(service_id=canteen.id).count()
                == count
                == model.objects.count()
            )
        assert apps.get_model("canteen", "Tariff").objects.get().service_id == canteen.id
        unit = apps.get_model("canteen", "Unit").objects.get(service_id=canteen.id)
        assert set(apps.get_model("canteen", "Booking").objects.values_list("unit", flat=True)) == {
            unit.id
        }

        apps = _migrate(BEFORE)
        assert apps.get_model("canteen", "Booking").objects.count() == 2
        assert apps.get_model("canteen", "AttendanceRecord").objects.count() == 1
        assert apps.get_model("canteen", "Tariff").objects.count() == 1
    finally:
        _migrate(_latest())


def _latest():
    executor = MigrationExecutor(connection)
    return [key for key in executor.loader.graph.leaf_nodes() if key[0] == "canteen"]
