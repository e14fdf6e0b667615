"""Dashboard and weekly-report counts against direct counts on a generated fleet (issue 14, item 12)."""

import random
from collections import Counter

import pytest
from django.test import Client
from django.urls import reverse

from fleet import selectors
from fleet.models import Alert, AlertKind, Device
from fleet.reports import weekly_report_frame
from tests.factories import SchoolFactory, TechnicianFactory

from .factories import CartFactory, DeviceFactory

pytestmark = pytest.mark.django_db

STATUSES = ["online", "offline", "missing", "never_seen"]


@pytest.fixture
def fleet():
    rng = random.Random(14)
    schools = [SchoolFactory(name=f"École {n:02d}") for n in range(6)]
    kinds = [k for k, _label in AlertKind.choices]
    for school in schools:
        carts = [CartFactory(school=school) for _ in range(rng.randint(0, 3))]
        for _ in range(rng.randint(3, 14)):
            cart = rng.choice(carts) if carts and rng.random() < 0.7 else None
            device = DeviceFactory(
                school=school,
                cart=cart,
                status=rng.choice(STATUSES),
                status_expected=rng.random() < 0.3,
            )
            # several alerts per device, some resolved: the join that inflated counts
            for kind in rng.sample(kinds, rng.randint(0, 4)):
                state = rng.choice(["open", "acknowledged", "resolved"])
                Alert.objects.create(device=device, kind=kind, state=state)
    DeviceFactory(school=None, status="online")  # not enrolled in a school yet
    return schools


def direct(school):
    devices = list(Device.objects.filter(school=school))
    status = Counter(d.status for d in devices)
    return {
        "total": len(devices),
        "online": status["online"],
        "offline": status["offline"] + status["never_seen"],
        "missing": status["missing"],
        "expected": sum(
            d.status in ("offline", "never_seen") and d.status_expected for d in devices
        ),
        "alerts": sum(
            a.state != "resolved" for d in devices for a in Alert.objects.filter(device=d)
        ),
    }


def test_school_counts_match_direct_counts(fleet):
    rows = {row["school_id"]: row for row in selectors.school_counts()}
    assert set(rows) == {s.pk for s in fleet}
    for school in fleet:
        expected = direct(school)
        assert {k: rows[school.pk][k] for k in expected} == expected, school.name


def test_totals_weekly_report_and_dashboard_agree(fleet):
    totals = selectors.fleet_totals()
    devices = list(Device.objects.all())
    assert totals["total"] == len(devices)
    assert totals["online"] == sum(d.status == "online" for d in devices)
    assert totals["open_alerts"] == Alert.objects.exclude(state="resolved").count()
    frame = weekly_report_frame()
    for school in fleet:
        expected = direct(school)
        row = frame.loc[school.name]
        assert (row["devices"], row["online"], row["offline"], row["missing"]) == (
            expected["total"],
            expected["online"],
            expected["offline"],
            expected["missing"],
        )
    client = Client()
    client.force_login(TechnicianFactory())
    page = client.get(reverse("fleet:dashboard")).content.decode()
    school = fleet[0]
    expected = direct(school)
    cells = "".join(
        f'<td class="num">{expected[k]}</td>'
        for k in ("total", "online", "offline", "missing", "alerts")
    )
    assert cells in page
