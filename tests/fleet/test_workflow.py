"""Hierarchy history (moves, swaps, loans, spares), repair tickets, secrets, live queries, report."""

import pytest

from backend.core.exceptions import ApplicationError
from fleet.models import Alert, DeviceAssignment, EnrollSecret, LiveQuery, RepairTicket
from fleet.reports import weekly_report_frame
from fleet.services import hierarchy, repairs
from fleet.services.enrollment import enroll_secret_rotate
from fleet.services.live_queries import live_query_create, live_query_devices
from fleet.services.reporting import weekly_report_send
from tests.factories import SchoolFactory, TechnicianFactory

from .factories import CartFactory, DeviceFactory

pytestmark = pytest.mark.django_db


def test_move_swap_spare_loan_return_are_recorded():
    tech = TechnicianFactory()
    cart = CartFactory()
    a = DeviceFactory(school=cart.school)
    b = DeviceFactory(school=cart.school)
    hierarchy.device_move(device=a, actor=tech, cart=cart, slot=1)
    hierarchy.device_move(device=b, actor=tech, cart=cart, slot=2)
    with pytest.raises(ApplicationError):
        hierarchy.device_move(device=b, actor=tech, cart=cart, slot=1)
    with pytest.raises(ApplicationError):
        hierarchy.device_move(device=b, actor=tech, cart=cart, slot=99)
    hierarchy.device_swap(device=a, other=b, actor=tech, note="écran cassé")
    a.refresh_from_db()
    b.refresh_from_db()
    assert (a.slot, b.slot) == (2, 1)
    hierarchy.device_set_spare(device=a, actor=tech)
    other_school = SchoolFactory()
    hierarchy.device_loan(device=a, to_school=other_school, actor=tech)
    a.refresh_from_db()
    assert a.school == other_school and a.role == "loan" and a.loaned_from == cart.school
    hierarchy.device_return(device=a, actor=tech)
    a.refresh_from_db()
    assert a.school == cart.school and a.role == "spare"
    kinds = list(
        DeviceAssignment.objects.filter(device=a)
        .order_by("started_at", "id")
        .values_list("kind", flat=True)
    )
    assert kinds == ["move", "swap", "spare", "loan", "return"]
    assert DeviceAssignment.objects.filter(device=a, ended_at__isnull=True).count() == 1
    assert DeviceAssignment.objects.filter(
        device=a, kind="swap", actor=tech, note="écran cassé"
    ).exists()


def test_ticket_from_alert_and_transitions():
    tech = TechnicianFactory()
    device = DeviceFactory()
    alert = Alert.objects.create(device=device, kind="battery_worn", message="71 %")
    ticket = repairs.ticket_create(device=device, actor=tech, title="Batterie", alert=alert)
    assert Alert.objects.get(pk=alert.pk).state == "acknowledged"
    repairs.ticket_update(ticket=ticket, actor=tech, state="in_progress")
    repairs.ticket_update(
        ticket=ticket, actor=tech, state="waiting_part", note="Batterie commandée"
    )
    with pytest.raises(ApplicationError):
        repairs.ticket_update(ticket=ticket, actor=tech, state="open")
    repairs.ticket_update(ticket=ticket, actor=tech, state="fixed")
    ticket.refresh_from_db()
    assert ticket.state == "fixed" and ticket.closed_at is not None
    assert [n.state_to for n in ticket.notes.all()] == [
        "open",
        "in_progress",
        "waiting_part",
        "fixed",
    ]
    with pytest.raises(ApplicationError):
        repairs.ticket_update(ticket=ticket, actor=tech)


def test_secret_rotation_keeps_one_active_hashed_secret():
    school = SchoolFactory()
    first = enroll_secret_rotate(school=school)
    second = enroll_secret_rotate(school=school)
    assert first != second
    assert EnrollSecret.objects.filter(school=school, revoked_at__isnull=True).count() == 1
    assert not EnrollSecret.objects.filter(secret_hash__in=[first, second]).exists()


def test_live_query_refuses_personal_data_tables_and_empty_targets():
    device = DeviceFactory()
    with pytest.raises(ApplicationError, match="users"):
        live_query_create(
            sql="SELECT username FROM users;", devices=live_query_devices(device_ids=[device.pk])
        )
    with pytest.raises(ApplicationError):
        live_query_create(sql="SELECT 1;", devices=live_query_devices())
    assert LiveQuery.objects.count() == 0


def test_weekly_report(mailoutbox, django_capture_on_commit_callbacks):
    TechnicianFactory(email="tech@example.org")
    DeviceFactory(status="online", battery_health_percent=90.0)
    DeviceFactory(status="missing", battery_health_percent=70.0)
    frame = weekly_report_frame()
    assert int(frame["devices"].sum()) == 2 and int(frame["missing"].sum()) == 1
    with django_capture_on_commit_callbacks(execute=True):
        assert weekly_report_send() == 1
    assert len(mailoutbox) == 1 and "Appareils : 2" in mailoutbox[0].body
    assert RepairTicket.objects.count() == 0


def test_history_purge_keeps_recent_rows(settings):
    import datetime as dt

    from django.utils import timezone

    from fleet.models import BatterySample, InventoryReport, StatusLog
    from fleet.services.inventory import history_purge

    device = DeviceFactory()
    now = timezone.now()
    old, recent = now - dt.timedelta(days=500), now - dt.timedelta(days=1)
    for at in (old, recent):
        InventoryReport.objects.create(device=device, kind="os", collected_at=at, data={})
        BatterySample.objects.create(device=device, measured_at=at, health_percent=90.0)
        StatusLog.objects.create(device=device, logged_at=at, message="m")
    StatusLog.objects.create(device=device, logged_at=now - dt.timedelta(days=20), message="m")
    assert history_purge(now=now) == {"inventory": 1, "battery": 1, "status": 2}
    assert (
        InventoryReport.objects.count()
        == BatterySample.objects.count()
        == StatusLog.objects.count()
        == 1
    )


def test_periodic_tasks_are_declared():
    from django.core.management import call_command
    from django_celery_beat.models import PeriodicTask

    call_command("setup_periodic_tasks")
    names = set(
        PeriodicTask.objects.filter(task__startswith="fleet.").values_list("task", flat=True)
    )
    assert names == {
        "fleet.tasks.fleet_evaluate_task",
        "fleet.tasks.fleet_battery_forecast_task",
        "fleet.tasks.fleet_purge_task",
        "fleet.tasks.fleet_weekly_report_task",
        "fleet.tasks.fleet_drain_logs_task",
    }


def test_tasks_run_eagerly():
    from fleet import tasks

    DeviceFactory(battery_health_percent=60.0)
    assert tasks.fleet_evaluate_task.delay() is not None
    assert Alert.objects.filter(kind="battery_worn").count() == 1
    tasks.fleet_battery_forecast_task.delay()
    tasks.fleet_purge_task.delay()
    tasks.fleet_drain_logs_task.delay()


def test_demo_seed_is_idempotent_and_tells_the_story():
    from backend.core.management.commands.seed_demo import ensure_demo_accounts
    from family.demo import seed as family_seed
    from fleet.demo import seed
    from fleet.models import Device
    from fleet.protocol import key_hash

    ensure_demo_accounts()
    family_seed(progress=lambda label, it, total=None: it)
    seed(progress=lambda label, it, total=None: it)
    count = Device.objects.count()
    seed(progress=lambda label, it, total=None: it)
    assert Device.objects.count() == count >= 300
    assert (
        EnrollSecret.objects.get(secret_hash=key_hash("demo-enroll-secret")).school.code
        == "0759000X"
    )
    assert Device.objects.filter(status="missing").count() >= 1
    assert Device.objects.exclude(conflict_serial="").count() == 1
    assert Alert.objects.filter(kind="battery_worn").exists()
    assert RepairTicket.objects.filter(state="waiting_part").exists()
