import pytest
from rest_framework.test import APIClient

from tests.factories import PASSWORD, AdminFactory, ParentFactory, StaffFactory, TechnicianFactory


@pytest.fixture(autouse=True)
def _media_root(settings, tmp_path):
    settings.MEDIA_ROOT = str(tmp_path / "media")


@pytest.fixture(autouse=True)
def _default_language():
    """Every test starts in the default language (French): a request through the test client
    with an English cookie leaves English active on the thread for the next test."""
    from django.conf import settings
    from django.utils import translation

    translation.activate(settings.LANGUAGE_CODE)
    yield
    translation.activate(settings.LANGUAGE_CODE)


@pytest.fixture(autouse=True)
def _fresh_cache():
    """Every test starts with an empty cache: rate-limit counters, and the shared canteen data
    (the test database rolls back without signals, so cached rows must not leak across tests)."""
    from django.core.cache import cache

    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def frozen_clock():
    """The clock stands at ``tests.world.FROZEN_NOW`` (a school day of 2026-2027) for the whole
    test, so that dates never depend on the day the suite runs. It ticks from there (timeouts and
    "created after" orderings still work); a test may travel further inside it."""
    import time_machine

    from tests.world import FROZEN_NOW

    with time_machine.travel(FROZEN_NOW, tick=True) as traveller:
        yield traveller


@pytest.fixture
def world(db, frozen_clock):
    """The shared world (tests/world.py) built at the frozen date."""
    from django.utils import timezone

    from tests.world import build_world

    return build_world(today=timezone.localdate())


@pytest.fixture
def live_world(db):
    """The same world for tests driving a real browser against ``live_server``: Chromium keeps
    the real time, so a server clock frozen weeks earlier would hand it session cookies that have
    already expired. Its dates come from the day the test runs; use it only there."""
    from django.utils import timezone

    from tests.world import build_world

    return build_world(today=timezone.localdate())


@pytest.fixture
def password():
    return PASSWORD


@pytest.fixture
def api_client():
    return APIClient()


def api_client_for(user) -> APIClient:
    client = APIClient()
    client.force_authenticate(user=user)
    return client


@pytest.fixture
def parent_user(db):
    return ParentFactory()


@pytest.fixture
def staff_user(db):
    return StaffFactory()


@pytest.fixture
def admin_user(db):
    return AdminFactory()


@pytest.fixture
def technician_user(db):
    return TechnicianFactory()


# Tests that failed in the first whole-suite run on PostgreSQL after the eight branches of the
# 2026-11-29 session were merged, with no time left in that session to fix them. They run and are
# reported (xfail, not strict: a pass shows as XPASS); each is an open defect listed in the
# session's closing note and must be fixed and removed from this list, never extended silently.
KNOWN_FAILURES: dict[str, str] = {}


def pytest_collection_modifyitems(config, items):
    """Tests marked ``postgres`` need PostgreSQL features (row locks, concurrency): skipped on
    SQLite. Known failures (above) are marked xfail with their reason."""
    from django.conf import settings

    for item in items:
        reason = KNOWN_FAILURES.get(item.nodeid.split("[")[0])
        if reason:
            item.add_marker(pytest.mark.xfail(reason=f"known failure: {reason}", strict=False))
    if settings.DATABASES["default"]["ENGINE"] != "django.db.backends.sqlite3":
        return
    skip = pytest.mark.skip(reason="needs PostgreSQL (set DATABASE_URL)")
    for item in items:
        if "postgres" in item.keywords:
            item.add_marker(skip)


CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@pytest.fixture(scope="module")
def browser():
    """Debian's headless Chromium driven by Playwright (``page = browser.new_page()``).

    Module-scoped: Playwright's sync API keeps an asyncio loop running on the main thread while it
    lives, which would break ``asyncio.run()`` in later tests of the same process."""
    import os
    import shutil

    executable = os.environ.get("CHROMIUM_PATH") or shutil.which("chromium")
    if not executable:
        message = "Chromium is not installed: apt-get install chromium (make test does it as root)"
        if os.environ.get("MINOT_REQUIRE_BROWSER"):
            pytest.fail(message)
        pytest.skip(message)
    from playwright.sync_api import sync_playwright

    # Playwright's sync API runs an event loop on this thread; the ORM calls of the test are
    # still synchronous. Only for the browser tests, removed afterwards.
    previous = os.environ.get("DJANGO_ALLOW_ASYNC_UNSAFE")
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    try:
        with sync_playwright() as p:
            instance = p.chromium.launch(
                executable_path=executable, headless=True, args=CHROMIUM_ARGS
            )
            yield instance
            instance.close()
    finally:
        if previous is None:
            os.environ.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
        else:
            os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = previous


def browser_login(page, live_server, email: str, password: str = PASSWORD) -> None:
    page.goto(f"{live_server.url}/connexion/")
    page.fill("input[name=username]", email)
    page.fill("input[name=password]", password)
    page.click("main button[type=submit]")
    page.wait_for_load_state()
