"""simulate_fleet drives devices through the real HTTP API of a live server."""

import io

import pytest
from django.core.management import call_command

from fleet.models import Device, LiveQuery, LiveQueryTarget
from fleet.services.live_queries import live_query_create

from .factories import school_with_secret


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_simulated_devices_enroll_report_and_answer_live_queries(live_server, settings):
    settings.FLEET_LAST_SEEN_FLUSH_SECONDS = 0
    settings.FLEET_LIVE_QUERY_CACHE_SECONDS = 0
    settings.FLEET_ENROLL_COOLDOWN_SECONDS = 0  # the simulator re-enrolls at every start
    school_with_secret("simulation-secret-1")
    out = io.StringIO()
    call_command(
        "simulate_fleet",
        url=live_server.url,
        devices=2,
        secret="simulation-secret-1",
        duration=1.5,
        interval=0.3,
        stdout=out,
    )
    assert Device.objects.count() == 2
    device = Device.objects.order_by("identity").first()
    assert device.battery_health_percent is not None and device.storage_total_bytes == 128000000000
    assert device.apps and device.status == "online"
    live_query_create(sql="SELECT version FROM os_version;", devices=Device.objects.all())
    call_command(
        "simulate_fleet",
        url=live_server.url,
        devices=2,
        secret="simulation-secret-1",
        duration=1.5,
        interval=0.3,
        stdout=out,
    )
    assert Device.objects.count() == 2  # re-enrollment is idempotent
    assert LiveQueryTarget.objects.filter(state="done").count() == 2
    assert LiveQuery.objects.count() == 1
    assert " 0 not 200." in out.getvalue()
