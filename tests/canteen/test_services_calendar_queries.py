"""The all-services month page runs a constant number of queries whatever the number of services
and days (bench/services_calendar_bench.py builds the household: 3 children, 8 services, 3
months of bookings on every service)."""

import pytest
import time_machine

pytestmark = pytest.mark.django_db
MAX_QUERIES = 25  # measured: session, user, 2FA, then the page (docs/performance-notes.md)


def test_services_month_page_queries_do_not_grow_with_services_or_days(
    client, django_assert_max_num_queries
):
    from bench import services_calendar_bench as bench
    from canteen.models import Service

    world = bench.build(log=lambda _line: None)
    kid, services = world["kids"][0], world["services"]
    client.force_login(world["user"])
    with time_machine.travel(bench.NOW, tick=False):
        for active in (1, len(services)):
            Service.objects.filter(pk__in=[s.pk for s in services[active:]]).update(is_active=False)
            Service.objects.filter(pk__in=[s.pk for s in services[:active]]).update(is_active=True)
            for year, month in bench.MONTHS:
                # warm the shared cache (rules, tariffs, calendars of the month), then count
                client.get(f"/cantine/services/enfant/{kid.id}/{year}/{month}/")
                with django_assert_max_num_queries(MAX_QUERIES):
                    response = client.get(f"/cantine/services/enfant/{kid.id}/{year}/{month}/")
                assert response.status_code == 200
    # every service shows on the page, with its booked days
    assert all(f"Bench {s.code}" in response.content.decode() for s in services)


def test_bench_reports_constant_queries():
    from bench import services_calendar_bench as bench

    results = bench.measure(world=bench.build(log=lambda _l: None), repeat=1, log=lambda _l: None)
    assert results["constant_queries"]
    assert set(results["queries_by_services"].values()) == set(results["queries_by_month"].values())
