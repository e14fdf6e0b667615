"""Set-up pages of the daily services outside the Django admin (units, seats, deadlines, tariffs,
sites): administrators change them through audited services; school staff read the services of
their schools; anybody else, or staff beyond their schools, get 404 and nothing changes."""

import datetime as dt

import pytest
import time_machine
from django.urls import reverse

from backend.core.models import AuditEvent, Notification
from canteen import services
from canteen.models import Booking, DeadlineRule, Service, Tariff, TariffLine, Unit, UnitDay
from tests.canteen.factories import make_service, make_tariff, make_year
from tests.factories import (
    AdminFactory,
    SchoolFactory,
    StaffFactory,
    TechnicianFactory,
    household_with_parent,
)

pytestmark = pytest.mark.django_db
BOOKED_AT = dt.datetime(2026, 11, 20, 8, 0, tzinfo=dt.UTC)
HOLIDAYS = ("holiday", "Vacances de Noël", dt.date(2026, 12, 19), dt.date(2027, 1, 3), None)
DAY = dt.date(2026, 12, 22)


@pytest.fixture
def world():
    school, site, elsewhere = SchoolFactory(), SchoolFactory(), SchoolFactory()
    make_year(closures=[HOLIDAYS])
    make_tariff()
    centre, (day_meal,) = make_service(
        code="ALSH-VAC",
        kind=Service.Kind.HOLIDAY_CENTRE,
        site=site,
        units=[("JOUR-REPAS", Unit.Kind.FULL_DAY, 1, True)],
    )
    centre.schools.set([school, site])
    staff = StaffFactory()
    staff.staff_schools.add(site)
    other_staff = StaffFactory()
    other_staff.staff_schools.add(elsewhere)
    return {
        "school": school,
        "site": site,
        "elsewhere": elsewhere,
        "centre": centre,
        "unit": day_meal,
        "admin": AdminFactory(),
        "staff": staff,
        "other_staff": other_staff,
    }


def _snapshot(service):
    service.refresh_from_db()
    return (
        service.name,
        list(service.schools.values_list("id", flat=True).order_by("id")),
        list(service.units.values_list("name", "capacity", "includes_meal")),
        list(DeadlineRule.objects.filter(service=service).values_list("days_before")),
        list(TariffLine.objects.filter(tariff__service=service).values_list("amount_cents")),
        UnitDay.objects.count(),
        AuditEvent.objects.filter(action__startswith="canteen.").count(),
    )


def _url(world):
    return reverse("canteen:setup-service", args=[world["centre"].id])


def test_admin_lists_and_edits_the_service_at_another_site(client, world):
    client.force_login(world["admin"])
    page = client.get(reverse("canteen:setup-list"))
    assert page.status_code == 200
    assert "ALSH-VAC" in page.content.decode()
    assert client.get(_url(world)).status_code == 200
    response = client.post(
        _url(world),
        {
            "action": "service",
            "s-name": "Centre des vacances",
            "s-weekdays": ["0", "1", "2", "3", "4"],
            "s-site": world["elsewhere"].id,
            "s-schools": [world["school"].id],
            "s-min_age": "3",
            "s-max_age": "11",
            "s-classes": "CP, CE1",
            "s-position": "2",
            "s-is_active": "on",
        },
    )
    assert response.status_code == 302
    centre = world["centre"]
    centre.refresh_from_db()
    assert (centre.name, centre.site_id, centre.min_age, centre.max_age, centre.classes) == (
        "Centre des vacances",
        world["elsewhere"].id,
        3,
        11,
        ["CP", "CE1"],
    )
    assert list(centre.schools.all()) == [world["school"]]
    event = AuditEvent.objects.get(action="canteen.service.update")
    assert event.actor_id == world["admin"].id
    assert {"site", "schools"} <= set(event.data["fields"])


def test_admin_edits_unit_rule_and_tariff(client, world):
    client.force_login(world["admin"])
    unit = world["unit"]
    r = client.post(
        _url(world),
        {
            "action": "unit",
            "unit": unit.id,
            f"u{unit.id}-name": "Journée avec repas",
            f"u{unit.id}-kind": "full_day",
            f"u{unit.id}-includes_meal": "on",
            f"u{unit.id}-capacity": "24",
            f"u{unit.id}-position": "0",
        },
    )
    assert r.status_code == 302
    unit.refresh_from_db()
    assert (unit.name, unit.capacity, unit.includes_meal) == ("Journée avec repas", 24, True)
    r = client.post(
        _url(world),
        {
            "action": "unit_new",
            "nu-code": "matin",
            "nu-name": "Matin",
            "nu-kind": "morning",
            "nu-capacity": "",
            "nu-position": "1",
        },
    )
    assert r.status_code == 302
    assert Unit.objects.get(service=world["centre"], code="MATIN").capacity is None
    r = client.post(
        _url(world),
        {
            "action": "rule",
            "rule": "book",
            "r-book-days_before": "5",
            "r-book-cutoff_time": "12:00",
            "r-book-skip_weekends": "on",
        },
    )
    assert r.status_code == 302
    rule = DeadlineRule.objects.get(service=world["centre"], action="book")
    assert (rule.days_before, rule.cutoff_time, rule.skip_public_holidays) == (
        5,
        dt.time(12, 0),
        False,
    )
    tariff = Tariff.objects.get(service=world["centre"])
    r = client.post(
        _url(world),
        {
            "action": "line",
            "tariff": tariff.id,
            f"l{tariff.id}-unit": unit.id,
            f"l{tariff.id}-bracket": "2",
            f"l{tariff.id}-sibling_rank": "1",
            f"l{tariff.id}-resident": "on",
            f"l{tariff.id}-amount": "7,35",
        },
    )
    assert r.status_code == 302
    line = TariffLine.objects.get(tariff=tariff, unit=unit, bracket=2, sibling_rank=1)
    assert (line.amount_cents, line.resident) == (735, True)
    actions = set(AuditEvent.objects.values_list("action", flat=True))
    assert {
        "canteen.unit.update",
        "canteen.unit.create",
        "canteen.deadline_rule.set",
        "canteen.tariff_line.set",
    } <= actions


def test_invalid_forms_answer_french_messages_and_change_nothing(client, world):
    client.force_login(world["admin"])
    before = _snapshot(world["centre"])
    r = client.post(
        _url(world),
        {
            "action": "service",
            "s-name": "X",
            "s-min_age": "10",
            "s-max_age": "4",
            "s-position": "0",
        },
    )
    assert r.status_code == 200
    assert "L&#x27;âge maximum doit être supérieur ou égal à l&#x27;âge minimum." in (
        r.content.decode()
    )
    tariff = Tariff.objects.get(service=world["centre"])
    r = client.post(
        _url(world),
        {
            "action": "line",
            "tariff": tariff.id,
            f"l{tariff.id}-sibling_rank": "1",
            f"l{tariff.id}-amount": "-3",
        },
    )
    assert r.status_code == 200
    assert "Le montant doit être positif." in r.content.decode()
    r = client.post(
        _url(world),
        {
            "action": "tariff",
            "nt-name": "Chevauche",
            "nt-mode": "per_unit",
            "nt-valid_from": "2026-12-01",
            "nt-valid_until": "2026-12-31",
        },
    )
    assert r.status_code == 302  # a business refusal comes back as a message
    follow = client.get(_url(world))
    assert "couvre déjà une partie de cette période" in follow.content.decode()
    assert _snapshot(world["centre"]) == before


def test_raising_a_day_capacity_promotes_the_waiting_list(
    client, world, django_capture_on_commit_callbacks
):
    families = [household_with_parent(children=1, school=world["school"]) for _ in range(2)]
    kids = [kid for _h, _u, (kid,) in families]
    with time_machine.travel(BOOKED_AT, tick=False):
        for child in kids:
            services.bookings_create(children=[child], days=[DAY], unit=world["unit"])
    assert Booking.objects.get(child=kids[1]).status == "waiting"
    client.force_login(world["admin"])
    with django_capture_on_commit_callbacks(execute=True):
        r = client.post(
            _url(world),
            {
                "action": "day",
                "d-unit": world["unit"].id,
                "d-site": world["site"].id,
                "d-day": DAY.isoformat(),
                "d-capacity": "2",
            },
        )
    assert r.status_code == 302
    assert UnitDay.objects.get(unit=world["unit"], day=DAY).capacity == 2
    assert Booking.objects.get(child=kids[1]).status == "booked"
    # the family is told, like any promotion
    assert Notification.objects.filter(user=families[1][1], category="canteen").count() == 1


def test_staff_of_the_site_reads_but_cannot_change(client, world):
    client.force_login(world["staff"])
    assert "ALSH-VAC" in client.get(reverse("canteen:setup-list")).content.decode()
    page = client.get(_url(world))
    assert page.status_code == 200
    assert 'name="action"' not in page.content.decode()
    before = _snapshot(world["centre"])
    r = client.post(
        _url(world),
        {"action": "service", "s-name": "Piraté", "s-position": "0", "s-is_active": "on"},
    )
    assert r.status_code == 404
    assert _snapshot(world["centre"]) == before


@pytest.mark.parametrize("who", ["parent", "technician", "other_staff", "anonymous"])
def test_other_roles_and_other_schools_are_denied_and_nothing_changes(client, world, who):
    if who == "parent":
        client.force_login(household_with_parent(children=1, school=world["school"])[1])
    elif who == "technician":
        client.force_login(TechnicianFactory())
    elif who == "other_staff":
        client.force_login(world["other_staff"])
    before = _snapshot(world["centre"])
    unit = world["unit"]
    r = client.post(
        _url(world),
        {
            "action": "unit",
            "unit": unit.id,
            f"u{unit.id}-name": "Piraté",
            f"u{unit.id}-kind": "full_day",
            f"u{unit.id}-capacity": "999",
            f"u{unit.id}-position": "0",
        },
    )
    get = client.get(_url(world))
    if who == "anonymous":
        assert (r.status_code, get.status_code) == (302, 302)  # to the sign-in page
    else:
        assert (r.status_code, get.status_code) == (404, 404)
    if who in ("parent", "technician"):
        assert client.get(reverse("canteen:setup-list")).status_code == 404
    if who == "other_staff":
        assert "ALSH-VAC" not in client.get(reverse("canteen:setup-list")).content.decode()
    assert _snapshot(world["centre"]) == before


def test_foreign_ids_in_a_post_answer_404(client, world):
    other, (foreign_unit,) = make_service(
        code="GARD-SOIR", kind=Service.Kind.EVENING_CARE, units=[("SOIR", "evening", None, False)]
    )
    client.force_login(world["admin"])
    before = _snapshot(world["centre"])
    r = client.post(
        _url(world),
        {
            "action": "unit",
            "unit": foreign_unit.id,
            f"u{foreign_unit.id}-name": "X",
            f"u{foreign_unit.id}-kind": "evening",
            f"u{foreign_unit.id}-position": "0",
        },
    )
    assert r.status_code == 404
    assert client.post(_url(world), {"action": "nope"}).status_code == 404
    assert _snapshot(world["centre"]) == before
    assert Unit.objects.get(pk=foreign_unit.pk).name == "Soir"
    assert other.units.count() == 1
