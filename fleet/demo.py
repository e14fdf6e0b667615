"""Fleet demo: carts and ~300 devices in the 12 schools with a mobile classroom, with four months
of history (battery wear, inventory, alerts, repairs) so the dashboard tells a story:
a missing device, a worn battery, an identity conflict, a full disk, outdated systems, a loan,
a swap. Idempotent: a second run only makes sure the demo enroll secret exists.
"""

from __future__ import annotations

import datetime as dt
import random
from dataclasses import dataclass

from django.utils import timezone

from backend.accounts.models import User
from family.models import School

from .models import (
    Alert,
    BatterySample,
    Cart,
    Device,
    DeviceAssignment,
    DeviceRole,
    EnrollSecret,
    InventoryReport,
    RepairNote,
    RepairTicket,
)
from .protocol import key_hash
from .services.enrollment import enroll_secret_rotate
from .services.health import Calendar, battery_forecast_compute, fleet_evaluate
from .simulation import MODELS

DEMO_SECRET = "demo-enroll-secret"
DEMO_SCHOOL_CODE = "0759000X"
HISTORY_DAYS = 120
DEVICES_PER_CART = 13


def _ensure_secrets(schools) -> None:
    demo_school = School.objects.filter(code=DEMO_SCHOOL_CODE).first()
    if (
        demo_school
        and not EnrollSecret.objects.filter(
            secret_hash=key_hash(DEMO_SECRET), revoked_at__isnull=True
        ).exists()
    ):
        EnrollSecret.objects.filter(secret_hash=key_hash(DEMO_SECRET)).delete()
        enroll_secret_rotate(school=demo_school, secret=DEMO_SECRET)
    for school in schools:
        if (
            school.code != DEMO_SCHOOL_CODE
            and not EnrollSecret.objects.filter(school=school, revoked_at__isnull=True).exists()
        ):
            enroll_secret_rotate(school=school)


def _last_school_moment(now: dt.datetime, calendar: Calendar, school_id: int) -> dt.datetime:
    local = timezone.localtime(now)
    day = local.date()
    if calendar.is_school_day(school_id, day) and local.hour >= 9:
        return min(now, timezone.make_aware(dt.datetime.combine(day, dt.time(16, 30))))
    day -= dt.timedelta(days=1)
    while not calendar.is_school_day(school_id, day):
        day -= dt.timedelta(days=1)
    return timezone.make_aware(dt.datetime.combine(day, dt.time(16, 30)))


def _school_days_back(now, calendar, school_id, n):
    day = timezone.localtime(now).date()
    while n:
        day -= dt.timedelta(days=1)
        n -= calendar.is_school_day(school_id, day)
    return timezone.make_aware(dt.datetime.combine(day, dt.time(15, 10)))


@dataclass
class _Demo:
    """What every step of the demo seed shares."""

    rng: random.Random
    now: dt.datetime
    calendar: Calendar
    technician: User | None
    start: dt.datetime


APPS = [
    {"name": "firefox", "version": "133.0"},
    {"name": "libreoffice-core", "version": "7.3.7"},
    {"name": "scratch-desktop", "version": "3.29.1"},
]


def _demo_device(
    demo: _Demo,
    *,
    number: int,
    s_index: int,
    school: School,
    cart: Cart,
    slot: int,
    seen: dt.datetime,
) -> tuple[Device, dict]:
    """One device of a cart (the slot after the last holds the cart's spare) and its battery
    plan (starting health, wear per month). The random draws keep their order: the demo is
    the same from one run to the next."""
    rng = demo.rng
    vendor, model, _version = MODELS[(s_index + (cart.name == "Chariot B")) % len(MODELS)]
    spare = slot == DEVICES_PER_CART + 1
    outdated = s_index in (4, 9) and slot <= 6
    start_health = rng.uniform(87, 100)
    wear = rng.uniform(0.3, 1.5) * (1.5 if model == "Latitude 3190 2-in-1" else 1.0)
    last_seen = seen - dt.timedelta(minutes=rng.randint(0, 200))
    mac = f"02:00:00:{number // 65536 % 256:02x}:{number // 256 % 256:02x}:{number % 256:02x}"
    device = Device(
        identity=f"DEMO{number:05d}",
        serial=f"DEMO{number:05d}",
        hardware_uuid=f"demo-uuid-{number:05d}",
        platform_type="9",
        enrolled_at=demo.start - dt.timedelta(days=200),
        school=school,
        cart=None if spare else cart,
        slot=None if spare else slot,
        role=DeviceRole.SPARE if spare else DeviceRole.REGULAR,
        last_seen_at=last_seen,
        hardware_vendor=vendor,
        hardware_model=model,
        cpu_brand="Intel(R) Celeron(R) N4120 CPU @ 1.10GHz",
        memory_bytes=8 * 1024**3,
        os_name="Ubuntu",
        os_version="20.4.6" if outdated else "22.4.4",
        os_platform="ubuntu",
        os_build="",
        osquery_version="5.12.1",
        storage_total_bytes=128_000_000_000,
        storage_free_bytes=rng.randint(20, 70) * 1_000_000_000,
        battery_design_capacity=42000,
        battery_cycle_count=rng.randint(150, 650),
        battery_percent=rng.randint(30, 100),
        apps=[dict(app) for app in APPS],
        network=[{"interface": "wlp1s0", "mac": mac, "address": ""}],
        inventory_at=last_seen,
    )
    return device, {"health": start_health, "wear": wear}


def _carts_and_devices(demo: _Demo, schools, progress) -> tuple[list[Device], list[dict]]:
    """Two carts per school, each with its devices and a spare (not saved yet)."""
    devices: list[Device] = []
    plan: list[dict] = []
    number = 0
    for s_index, school in enumerate(progress("fleet carts", schools)):
        carts = [
            Cart.objects.get_or_create(school=school, name=name, defaults={"slot_count": 16})[0]
            for name in ("Chariot A", "Chariot B")
        ]
        seen = _last_school_moment(demo.now, demo.calendar, school.pk)
        for cart in carts:
            for slot in range(1, DEVICES_PER_CART + 2):
                number += 1
                device, battery = _demo_device(
                    demo,
                    number=number,
                    s_index=s_index,
                    school=school,
                    cart=cart,
                    slot=slot,
                    seen=seen,
                )
                devices.append(device)
                plan.append(battery)
    return devices, plan


def _tell_the_story(demo: _Demo, devices: list[Device], plan: list[dict]) -> None:
    devices[2].battery_cycle_count = 1480
    plan[2] = {"health": 83.0, "wear": 4.5}  # worn battery (Chariot A, slot 3 of the first school)
    plan[5] = {"health": 86.0, "wear": 2.4}  # will be worn within weeks
    devices[7].last_seen_at = _school_days_back(
        demo.now, demo.calendar, devices[7].school_id, 12
    )  # missing device
    devices[7].inventory_at = devices[7].last_seen_at
    devices[20].conflict_serial = "PF3XK92Q"  # reports another serial than it enrolled with
    devices[20].conflict_at = demo.now - dt.timedelta(days=2)
    devices[33].storage_free_bytes = 4_000_000_000  # full disk


def _battery_and_disk_history(
    demo: _Demo, device: Device, p: dict
) -> tuple[list[BatterySample], list[InventoryReport]]:
    """Every third day until the device was last seen: a battery sample, and a disk report
    every three weeks."""
    samples: list[BatterySample] = []
    reports: list[InventoryReport] = []
    # every demo device carries these (set in _demo_device); the fallbacks only type them
    last_seen = device.last_seen_at or demo.now
    cycles, free_now = device.battery_cycle_count or 0, device.storage_free_bytes or 0
    for day in range(0, HISTORY_DAYS + 1, 3):
        at = demo.start + dt.timedelta(days=day, hours=10, minutes=demo.rng.randint(0, 300))
        if at > last_seen:
            break
        health_now = round(p["health"] - p["wear"] * day / 30 + demo.rng.uniform(-0.4, 0.4), 1)
        samples.append(
            BatterySample(
                device=device,
                measured_at=at,
                percent=demo.rng.randint(20, 100),
                cycle_count=cycles - (HISTORY_DAYS - day) // 2,
                health_percent=health_now,
            )
        )
        if day % 21 == 0:
            free = free_now + (HISTORY_DAYS - day) * 50_000_000
            reports.append(
                InventoryReport(
                    device=device,
                    kind="disk",
                    collected_at=at,
                    data={"total_bytes": str(device.storage_total_bytes), "free_bytes": str(free)},
                )
            )
    return samples, reports


def _enrolled_state(device: Device) -> tuple[list[InventoryReport], DeviceAssignment]:
    """The os and apps reports and the enroll assignment of a demo device."""
    inventory_at = device.inventory_at or timezone.now()  # set on every demo device
    enrolled_at = device.enrolled_at or inventory_at  # set on every demo device
    reports = [
        InventoryReport(
            device=device,
            kind="os",
            collected_at=inventory_at,
            data={"name": "Ubuntu", "version": device.os_version, "platform": "ubuntu"},
        ),
        InventoryReport(device=device, kind="apps", collected_at=enrolled_at, data=device.apps),
    ]
    assignment = DeviceAssignment(
        device=device,
        kind=DeviceAssignment.Kind.ENROLL,
        school_id=device.school_id,
        cart_id=device.cart_id,
        slot=device.slot,
        role=device.role,
        started_at=enrolled_at,
    )
    return reports, assignment


def _history(demo: _Demo, devices: list[Device], plan: list[dict], progress) -> None:
    samples: list[BatterySample] = []
    reports: list[InventoryReport] = []
    assignments: list[DeviceAssignment] = []
    for device, p in progress("fleet history", list(zip(devices, plan, strict=True))):
        own_samples, own_reports = _battery_and_disk_history(demo, device, p)
        samples.extend(own_samples)
        reports.extend(own_reports)
        final = own_samples[-1].health_percent if own_samples else p["health"]
        device.battery_health_percent = final
        device.battery_full_capacity = int(42000 * final / 100)  # type: ignore[operator]  # demo samples always carry a health
        enrolled_reports, assignment = _enrolled_state(device)
        reports.extend(enrolled_reports)
        assignments.append(assignment)
    Device.objects.bulk_update(
        devices, ["battery_health_percent", "battery_full_capacity"], batch_size=500
    )
    BatterySample.objects.bulk_create(samples, batch_size=2000, ignore_conflicts=True)
    InventoryReport.objects.bulk_create(reports, batch_size=2000, ignore_conflicts=True)
    DeviceAssignment.objects.bulk_create(assignments, batch_size=1000)


def _swap(demo: _Demo, broken: Device, spare: Device, swap_day: dt.datetime) -> None:
    """A spare replaced a broken tablet."""
    DeviceAssignment.objects.filter(device__in=[broken, spare]).update(ended_at=swap_day)
    DeviceAssignment.objects.bulk_create(
        [
            DeviceAssignment(
                device=spare,
                kind="swap",
                school_id=broken.school_id,
                cart_id=broken.cart_id,
                slot=broken.slot,
                started_at=swap_day,
                actor=demo.technician,
                note="Remplace la tablette à l'écran cassé",
            ),
            DeviceAssignment(
                device=broken,
                kind="swap",
                school_id=broken.school_id,
                role=DeviceRole.SPARE,
                started_at=swap_day,
                actor=demo.technician,
                note="Écran cassé, en réparation",
            ),
        ]
    )
    Device.objects.filter(pk=broken.pk).update(cart=None, slot=None, role=DeviceRole.SPARE)
    Device.objects.filter(pk=spare.pk).update(
        cart_id=broken.cart_id, slot=broken.slot, role=DeviceRole.REGULAR
    )


def _loan(demo: _Demo, loaned: Device) -> None:
    """A loan to a school without a cart."""
    other_school = School.objects.filter(has_mobile_classroom=False).order_by("code").first()
    if not other_school:
        return
    loan_day = demo.now - dt.timedelta(days=12)
    DeviceAssignment.objects.filter(device=loaned).update(ended_at=loan_day)
    DeviceAssignment.objects.create(
        device=loaned,
        kind="loan",
        school=other_school,
        role=DeviceRole.LOAN,
        started_at=loan_day,
        actor=demo.technician,
        note="Prêt pour une classe de découverte",
    )
    Device.objects.filter(pk=loaned.pk).update(
        school=other_school,
        loaned_from_id=loaned.school_id,
        role=DeviceRole.LOAN,
        cart=None,
        slot=None,
    )


def _past_alerts(demo: _Demo, devices: list[Device]) -> None:
    """Past alerts (resolved) so "alerts over time" has a history."""
    past = []
    for week in range(1, 12):
        for _ in range(demo.rng.randint(1, 6)):
            device = demo.rng.choice(devices)
            opened = demo.now - dt.timedelta(weeks=week, days=demo.rng.randint(0, 6))
            past.append(
                Alert(
                    device=device,
                    kind=demo.rng.choice(["low_storage", "missing", "outdated_os"]),
                    state=Alert.State.RESOLVED,
                    opened_at=opened,
                    resolved_at=opened + dt.timedelta(days=2),
                    auto_resolved=True,
                    message="—",
                )
            )
    Alert.objects.bulk_create(past)


def _broken_screen_ticket(demo: _Demo, broken: Device, swap_day: dt.datetime) -> None:
    ticket = RepairTicket.objects.create(
        device=broken,
        school_id=broken.school_id,
        title="Écran fissuré",
        state=RepairTicket.State.WAITING_PART,
        created_by=demo.technician,
    )
    RepairNote.objects.bulk_create(
        [
            RepairNote(
                ticket=ticket,
                author=demo.technician,
                body="Écran fissuré, signalé par l'enseignante.",
                state_to="open",
                created_at=swap_day,
            ),
            RepairNote(
                ticket=ticket,
                author=demo.technician,
                body="Dalle commandée chez le fournisseur.",
                state_from="open",
                state_to="waiting_part",
                created_at=swap_day + dt.timedelta(days=1),
            ),
        ]
    )


def _worn_battery_ticket(demo: _Demo, worn: Device) -> None:
    worn_alert = Alert.objects.filter(device=worn, kind="battery_worn").first()
    ticket = RepairTicket.objects.create(
        device=worn,
        school_id=worn.school_id,
        alert=worn_alert,
        title="Remplacer la batterie",
        state=RepairTicket.State.OPEN,
        created_by=demo.technician,
    )
    RepairNote.objects.create(
        ticket=ticket,
        author=demo.technician,
        body="Autonomie de 40 minutes en classe.",
        state_to="open",
    )
    if worn_alert:
        Alert.objects.filter(pk=worn_alert.pk).update(
            state=Alert.State.ACKNOWLEDGED,
            acknowledged_at=demo.now,
            acknowledged_by=demo.technician,
        )


def seed(*, progress) -> None:
    schools = list(School.objects.filter(has_mobile_classroom=True).order_by("code"))
    _ensure_secrets(schools)
    if Device.objects.filter(identity__startswith="DEMO").exists() or not schools:
        return
    now = timezone.now()
    demo = _Demo(
        rng=random.Random(2026),
        now=now,
        calendar=Calendar(
            timezone.localtime(now).date() - dt.timedelta(days=HISTORY_DAYS + 30),
            timezone.localtime(now).date(),
        ),
        technician=User.objects.filter(email="technician@example.org").first(),
        start=now - dt.timedelta(days=HISTORY_DAYS),
    )
    devices, plan = _carts_and_devices(demo, schools, progress)
    _tell_the_story(demo, devices, plan)
    Device.objects.bulk_create(devices, batch_size=500)
    devices = list(Device.objects.filter(identity__startswith="DEMO").order_by("identity"))
    _history(demo, devices, plan, progress)

    broken, spare = devices[9], devices[DEVICES_PER_CART]
    swap_day = now - dt.timedelta(days=35)
    _swap(demo, broken, spare, swap_day)
    _loan(demo, devices[2 * (DEVICES_PER_CART + 1) + DEVICES_PER_CART])  # spare of Chariot B
    _past_alerts(demo, devices)

    battery_forecast_compute(now=now)
    fleet_evaluate(now=now)

    _broken_screen_ticket(demo, broken, swap_day)
    _worn_battery_ticket(demo, devices[2])
