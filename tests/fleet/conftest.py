import os

import pytest

# the log queue's Redis for tests; a database of the run's own (FLEET_TEST_QUEUE_URL) when
# several suites share one Redis
QUEUE_URL = os.environ.get("FLEET_TEST_QUEUE_URL", "redis://127.0.0.1:6379/4")


@pytest.fixture(scope="session")
def _live_server_media_url():
    """backend/settings/base.py sets MEDIA_URL = None, which breaks Django's live server handler
    (urlparse(None) → bytes). Give it a URL before the live server starts (reported upstream)."""
    from django.conf import settings

    if settings.MEDIA_URL is None:
        settings.MEDIA_URL = "/media/"


@pytest.fixture(scope="session")
def live_server(_live_server_media_url, live_server):
    return live_server


@pytest.fixture(autouse=True)
def _clear_fleet_cache():
    from django.core.cache import cache

    from fleet.cache import fleet_cache

    cache.clear()
    fleet_cache().clear()
    yield
    fleet_cache().clear()


@pytest.fixture
def queue(settings):
    """Log batches go through the Redis queue (FLEET_LOG_QUEUE_URL), emptied before and after."""
    import redis

    from fleet.services.log_queue import log_queue_clear

    try:
        redis.Redis.from_url(QUEUE_URL, socket_timeout=1).ping()
    except redis.exceptions.RedisError:
        pytest.skip("Redis not reachable at 127.0.0.1:6379")
    settings.FLEET_LOG_QUEUE_URL = QUEUE_URL
    settings.FLEET_LAST_SEEN_FLUSH_SECONDS = 0
    log_queue_clear()
    yield
    log_queue_clear()
