import os

import pytest
from django.conf import settings

# Engineers share one machine: let a canteen-only run use its own SQLite test file.
if os.environ.get("MINOT_CANTEEN_SQLITE_TEST_NAME") and settings.DATABASES["default"][
    "ENGINE"
].endswith("sqlite3"):
    settings.DATABASES["default"].setdefault("TEST", {})["NAME"] = os.environ[
        "MINOT_CANTEEN_SQLITE_TEST_NAME"
    ]


@pytest.fixture
def tariff(db):
    from tests.canteen.factories import make_tariff

    return make_tariff()
