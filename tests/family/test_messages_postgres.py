"""Appointment slots and messages under concurrency: real threads, each with its own database
connection, against PostgreSQL (row locks)."""

from __future__ import annotations

import datetime as dt
import threading
import time
import uuid

import pytest
from django.db import close_old_connections, connection, transaction
from django.utils import timezone

from backend.core.exceptions import ApplicationError
from family.message_models import AppointmentRequest, Message, MessageThread, OfficeSlot
from family.services import messages as services
from tests.factories import SchoolFactory, StaffFactory, household_with_parent

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def run_in_threads(functions):
    barrier = threading.Barrier(len(functions))
    errors: list[Exception] = []
    results: list[object] = []

    def worker(fn):
        try:
            # Connect first, so that the calls really start together at the barrier.
            connection.ensure_connection()
            barrier.wait(timeout=10)
            results.append(fn())
        except ApplicationError as exc:
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=worker, args=(fn,)) for fn in functions]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    close_old_connections()
    return results, errors


def families_writing_to(school, n):
    out = []
    for _ in range(n):
        _, parent, _children = household_with_parent(children=1, school=school)
        thread = services.thread_start(actor=parent, school=school, subject="Rdv", body="Bonjour")
        out.append((parent, thread))
    return out


def future_slot(school, capacity):
    tomorrow = timezone.localdate() + dt.timedelta(days=1)
    return OfficeSlot.objects.create(
        school=school, date=tomorrow, start_time=dt.time(16, 30), capacity=capacity
    )


def test_two_parents_at_once_on_a_one_place_slot_one_wins(transactional_db):
    """Made deterministic: a third connection holds the slot while both parents ask for it, so
    both requests are in flight together; released, exactly one of them gets the place."""
    school = SchoolFactory()
    slot = future_slot(school, capacity=1)
    (p1, t1), (p2, t2) = families_writing_to(school, 2)
    held, release = threading.Event(), threading.Event()

    def hold_the_slot():
        try:
            with transaction.atomic():
                OfficeSlot.objects.select_for_update().get(pk=slot.pk)
                held.set()
                release.wait(timeout=20)
        finally:
            connection.close()

    holder = threading.Thread(target=hold_the_slot)
    holder.start()
    assert held.wait(timeout=10)
    outcome: dict[str, list] = {}

    def requests():
        outcome["results"], outcome["errors"] = run_in_threads(
            [
                lambda: services.appointment_request(
                    actor=p1, thread=MessageThread(pk=t1.pk), slot=OfficeSlot(pk=slot.pk)
                ),
                lambda: services.appointment_request(
                    actor=p2, thread=MessageThread(pk=t2.pk), slot=OfficeSlot(pk=slot.pk)
                ),
            ]
        )

    parents = threading.Thread(target=requests)
    parents.start()
    time.sleep(1)  # both requests reach the slot while it is held
    release.set()
    parents.join(timeout=60)
    holder.join(timeout=60)
    close_old_connections()
    assert len(outcome["results"]) == 1
    assert [str(e.message) for e in outcome["errors"]] == [
        "Ce créneau vient d'être pris : choisissez-en un autre."
    ]
    assert AppointmentRequest.objects.filter(slot=slot, state="requested").count() == 1


def test_many_parents_at_once_never_overbook_a_slot(transactional_db):
    school = SchoolFactory()
    slot = future_slot(school, capacity=3)
    families = families_writing_to(school, 10)
    results, errors = run_in_threads(
        [
            (
                lambda p=parent, t=thread: services.appointment_request(
                    actor=p, thread=MessageThread(pk=t.pk), slot=OfficeSlot(pk=slot.pk)
                )
            )
            for parent, thread in families
        ]
    )
    assert len(results) == 3
    assert len(errors) == 7
    assert AppointmentRequest.objects.filter(slot=slot).count() == 3


def test_double_click_on_send_stores_one_message(transactional_db):
    school = SchoolFactory()
    staff = StaffFactory()
    staff.staff_schools.add(school)
    [(_parent, thread)] = families_writing_to(school, 1)
    token = uuid.uuid4()
    results, errors = run_in_threads(
        [
            (
                lambda: services.message_post(
                    actor=staff, thread=MessageThread(pk=thread.pk), body="Oui", client_token=token
                )
            )
            for _ in range(4)
        ]
    )
    assert errors == []
    assert len({m.pk for m in results}) == 1
    assert Message.objects.filter(thread=thread, from_school=True).count() == 1
