"""School year lifecycle: the year switch (dry run, then real) and the re-enrolment campaign."""

import datetime as dt

import pytest
import time_machine
from django.core.management import call_command
from django.test import Client
from django.urls import reverse

from backend.core.models import AuditEvent, Notification
from family import services
from family.models import (
    ActivityRegistration,
    Child,
    Enrolment,
    ReenrolmentAnswer,
    ReenrolmentCampaign,
    SchoolApplication,
    SchoolYear,
)
from family.services.school_years import next_class
from tests.factories import AdminFactory, ChildFactory
from tests.family.factories import ActivityFactory


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("CP", ("CE1", False)),
        ("ce2 B", ("CM1", False)),
        ("GS", ("CP", False)),
        ("CM2", ("", True)),
        ("ULIS", (None, False)),
    ],
)
def test_next_class(name, expected):
    assert next_class(name) == expected


@pytest.fixture
def years(world):
    return world.year, world.next_year


def make_children(world):
    world.child.class_name = "CE2"
    world.child.save()
    hugo = ChildFactory(
        household=world.household, school=world.school_a, class_name="CP", first_name="Hugo"
    )
    big = ChildFactory(household=world.household2, school=world.school_b, class_name="CM2")
    SchoolApplication.objects.create(
        child=hugo,
        household=world.household,
        school_year=world.next_year,
        school=world.school_b,
        grade="CE1",
        state="accepted",
        tracking_code="HUGO0001",
    )
    return hugo, big


def test_dry_run_changes_nothing_then_the_real_run_moves_everyone(world, years):
    current, nxt = years
    hugo, big = make_children(world)
    admin = AdminFactory()
    report = services.school_year_switch(actor=admin, from_year=current, to_year=nxt, dry_run=True)
    moves = {m.child_id: m for m in report.moves}
    assert (moves[world.child.pk].to_class, moves[hugo.pk].to_school) == ("CM1", "École B")
    assert moves[big.pk].to_school == ""
    assert report.left == 1
    assert Child.objects.get(pk=hugo.pk).school == world.school_a  # nothing written
    assert not Enrolment.objects.exists()
    assert SchoolYear.objects.get(pk=current.pk).closed_at is None

    activity = ActivityFactory(school=world.school_a, end_date=current.end_date)
    services.activity_register(actor=world.parent, activity=activity, child=world.child)
    services.school_year_switch(actor=admin, from_year=current, to_year=nxt, dry_run=False)
    hugo.refresh_from_db()
    world.child.refresh_from_db()
    big.refresh_from_db()
    assert (hugo.school, hugo.class_name) == (world.school_b, "CE1")
    assert (world.child.school, world.child.class_name) == (world.school_a, "CM1")
    assert (big.school, big.class_name) == (None, "")
    assert Enrolment.objects.get(child=hugo, school_year=current).class_name == "CP"
    assert ActivityRegistration.objects.get(child=world.child).state == "cancelled"
    assert AuditEvent.objects.filter(action="family.school_year.switch").count() == 1
    # a closed year cannot be switched twice
    with pytest.raises(Exception, match="déjà clôturée"):
        services.school_year_switch(actor=admin, from_year=current, to_year=nxt, dry_run=True)


def test_command_dry_run_then_real(world, years, capsys):
    hugo, _big = make_children(world)
    call_command("school_year_switch", "--dry-run")
    out = capsys.readouterr().out
    assert "SIMULATION" in out
    assert "Hugo" in out
    assert Child.objects.get(pk=hugo.pk).class_name == "CP"
    call_command("school_year_switch")
    assert Child.objects.get(pk=hugo.pk).class_name == "CE1"


def test_admin_page_runs_the_switch_and_staff_cannot(world, years):
    hugo, _big = make_children(world)
    client = Client()
    client.force_login(world.staff)
    assert client.get(reverse("family:school-year-switch")).status_code == 404
    assert client.post(reverse("family:school-year-switch"), {"confirm": "1"}).status_code == 404
    assert Child.objects.get(pk=hugo.pk).class_name == "CP"
    client.force_login(AdminFactory())
    page = client.get(reverse("family:school-year-switch")).content.decode()
    assert "Simulation" in page
    assert "Hugo" in page
    r = client.post(reverse("family:school-year-switch"), {"confirm": "1"})
    assert r.status_code == 302
    assert Child.objects.get(pk=hugo.pk).school == world.school_b


def test_reenrolment_campaign_answers_reminders_and_counter(world, years):
    _current, nxt = years
    admin = AdminFactory()
    today = dt.date(2027, 5, 10)
    with time_machine.travel(dt.datetime(2027, 5, 10, 9, tzinfo=dt.UTC), tick=False):
        campaign = (
            services.reenrolment_campaign_create(
                actor=admin,
                school_year=nxt,
                opens_on=today,
                closes_on=today + dt.timedelta(days=20),
            )
            if nxt.start_date > today
            else None
        )
        if campaign is None:  # the fixture's next year is computed from the real date
            nxt = SchoolYear.objects.create(
                label="2027-2028", start_date=dt.date(2027, 9, 1), end_date=dt.date(2028, 7, 4)
            )
            campaign = services.reenrolment_campaign_create(
                actor=admin,
                school_year=nxt,
                opens_on=today,
                closes_on=today + dt.timedelta(days=20),
            )
        parent = Client()
        parent.force_login(world.parent)
        r = parent.post(reverse("family:reenrolment"), {"canteen": "on", "income_confirmed": "on"})
        assert r.status_code == 302
        answer = ReenrolmentAnswer.objects.get(campaign=campaign, household=world.household)
        assert (answer.canteen, answer.activities, answer.at_counter) == (True, False, False)
        # the staff of school B see the Benali family has not answered; reminders once a day
        assert services.reenrolment_remind(campaign=campaign) == 1
        assert services.reenrolment_remind(campaign=campaign) == 0
        assert (
            Notification.objects.filter(
                user=world.parent2, subject__contains="Réinscription"
            ).count()
            == 1
        )
        staff_b = Client()
        staff_b.force_login(world.staff_b)
        page = staff_b.get(reverse("family:reenrolment-staff")).content.decode()
        assert world.household2.name in page
        assert "1 famille sans réponse" in page
        # counter path
        r = staff_b.post(
            reverse("family:reenrolment-counter", args=[world.household2.pk]),
            {"activities": "on"},
        )
        assert r.status_code == 302
        counter = ReenrolmentAnswer.objects.get(campaign=campaign, household=world.household2)
        assert counter.at_counter
        assert counter.activities
        # staff of school B cannot answer for a family of school A
        assert (
            staff_b.post(
                reverse("family:reenrolment-counter", args=[world.household.pk]), {"canteen": ""}
            ).status_code
            == 404
        )
        assert ReenrolmentAnswer.objects.get(household=world.household).canteen is True
    # after closing, a parent can no longer answer
    with time_machine.travel(dt.datetime(2027, 6, 30, 9, tzinfo=dt.UTC), tick=False):
        with pytest.raises(Exception, match="ouverte du"):
            services.reenrolment_answer(
                actor=world.parent,
                campaign=ReenrolmentCampaign.objects.get(),
                household=world.household,
                canteen=False,
                activities=False,
                income_confirmed=False,
            )
