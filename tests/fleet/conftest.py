import pytest


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
