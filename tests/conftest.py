import pytest
from rest_framework.test import APIClient

from tests.factories import PASSWORD, AdminFactory, ParentFactory, StaffFactory, TechnicianFactory


@pytest.fixture(autouse=True)
def _media_root(settings, tmp_path):
    settings.MEDIA_ROOT = str(tmp_path / "media")


@pytest.fixture(autouse=True)
def _fresh_cache():
    """Every test starts with an empty cache: rate-limit counters, and the shared canteen data
    (the test database rolls back without signals, so cached rows must not leak across tests)."""
    from django.core.cache import cache

    cache.clear()
    yield
    cache.clear()


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


def pytest_collection_modifyitems(config, items):
    """Tests marked ``postgres`` need PostgreSQL features (row locks, concurrency): skipped on SQLite."""
    from django.conf import settings

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
