"""Activities are never overbooked, even when many parents click at the same moment.

Real threads, each with its own database connection, against PostgreSQL (row locks)."""

import threading

import pytest
from django.db import close_old_connections, connection

from backend.core.exceptions import ApplicationError
from family import services
from family.models import Activity, ActivityRegistration, Child
from tests.factories import SchoolFactory, household_with_parent
from tests.family.factories import ActivityFactory

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def run_in_threads(functions):
    barrier = threading.Barrier(len(functions))
    errors = []

    def worker(fn):
        try:
            barrier.wait(timeout=10)
            fn()
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
    return errors


def make_children(school, n):
    children = []
    for _ in range(n):
        _, user, (child,) = household_with_parent(children=1, school=school)
        children.append((user, child))
    return children


def test_concurrent_registrations_never_overbook(transactional_db):
    school = SchoolFactory()
    activity = ActivityFactory(school=school, capacity=3)
    children = make_children(school, 12)
    errors = run_in_threads(
        [
            (
                lambda u=user, c=child: services.activity_register(
                    actor=u, activity=Activity(pk=activity.pk), child=c
                )
            )
            for user, child in children
        ]
    )
    assert errors == []
    states = list(
        ActivityRegistration.objects.filter(activity=activity).values_list("state", flat=True)
    )
    assert states.count("confirmed") == 3
    assert states.count("waiting") == 9


def test_same_child_twice_at_once_registers_once(transactional_db):
    school = SchoolFactory()
    activity = ActivityFactory(school=school, capacity=5)
    [(user, child)] = make_children(school, 1)
    errors = run_in_threads(
        [
            (lambda: services.activity_register(actor=user, activity=activity, child=child))
            for _ in range(6)
        ]
    )
    assert len(errors) == 5
    assert ActivityRegistration.objects.filter(activity=activity, child=child).count() == 1


def test_concurrent_cancellations_promote_in_order_without_overbooking(transactional_db):
    school = SchoolFactory()
    activity = ActivityFactory(school=school, capacity=4)
    children = make_children(school, 10)
    registrations = [
        services.activity_register(actor=u, activity=activity, child=c) for u, c in children
    ]
    confirmed = [r for r in registrations if r.state == "confirmed"]
    waiting = [r for r in registrations if r.state == "waiting"]
    assert len(confirmed) == 4
    assert len(waiting) == 6
    # all four confirmed children cancel at once, while two new children register
    newcomers = make_children(school, 2)
    calls = [
        (lambda r=r: services.activity_registration_cancel(actor=None, registration=r))
        for r in confirmed
    ] + [
        (lambda u=u, c=c: services.activity_register(actor=u, activity=activity, child=c))
        for u, c in newcomers
    ]
    assert run_in_threads(calls) == []
    confirmed_now = ActivityRegistration.objects.filter(activity=activity, state="confirmed")
    assert confirmed_now.count() == 4
    # the four oldest waiting children got the seats, first come first served
    assert set(confirmed_now.values_list("pk", flat=True)) == {r.pk for r in waiting[:4]}
    assert ActivityRegistration.objects.filter(activity=activity, state="waiting").count() == 4
    assert Child.objects.count() == 12
