"""Live queries: an allowlist of tables and columns, checked on the parsed SQL (issue 14, item 9)."""

from pathlib import Path

import pytest

from backend.core.exceptions import ApplicationError
from fleet.models import LiveQuery
from fleet.services.live_queries import live_query_create
from fleet.sql_policy import PolicyError, allowed_markdown, live_query_check

from .factories import DeviceFactory

# Each was accepted by the old word denylist, or refused although harmless.
REFUSED = {
    "SELECT * FROM file WHERE path LIKE '/home/%';": "file",
    "SELECT path FROM file WHERE path LIKE '/Users/%/Documents/%%';": "file",
    "SELECT user, tty FROM logon_sessions;": "logon_sessions",
    "SELECT pid, cmdline FROM processes;": "cmdline",
    "SELECT p.cmdline FROM processes AS p;": "cmdline",
    "SELECT data FROM registry WHERE path LIKE 'HKEY_USERS\\%\\RecentDocs\\%';": "registry",
    "SELECT hostname FROM system_info;": "hostname",
    "SELECT upper(computer_name) AS c FROM system_info;": "computer_name",
    "SELECT version AS hostname FROM os_version WHERE hostname LIKE 'lea%';": "hostname",
    "SELECT name FROM os_version UNION SELECT username FROM users;": "users",
    "SELECT name FROM processes WHERE pid IN (SELECT pid FROM process_open_sockets);": "process_open_sockets",
    "SELECT * FROM os_version;": "*",
    "WITH x AS (SELECT username FROM users) SELECT * FROM x;": "WITH",
    "PRAGMA table_info(users);": "SELECT",
    "SELECT name FROM os_version; DELETE FROM deb_packages;": "SELECT",
    "SELECT name FROM main.os_version;": "qualifi",
    "SELECT name FROM": "illisible",
}
ACCEPTED = [
    "SELECT name, version FROM deb_packages WHERE name = 'curl';",
    "SELECT 1;",
    "SELECT count(*) AS n FROM processes ORDER BY n DESC;",
    "SELECT o.name, i.version AS osquery_version FROM os_version o, osquery_info i;",
    "SELECT percent_remaining, cycle_count FROM battery;",
    "SELECT d.interface, d.mac, a.address FROM interface_details d "
    "LEFT JOIN interface_addresses a ON a.interface = d.interface WHERE d.interface NOT LIKE 'lo%';",
    "SELECT hardware_model, hardware_serial FROM system_info;",
    "SELECT x FROM (SELECT name AS x FROM apps);",
]


@pytest.mark.parametrize("sql, reason", REFUSED.items())
def test_personal_data_and_anything_off_the_list_is_refused_with_the_reason(sql, reason):
    with pytest.raises(PolicyError) as refused:
        live_query_check(sql)
    assert reason in str(refused.value)


@pytest.mark.parametrize("sql", ACCEPTED)
def test_inventory_queries_are_accepted(sql):
    live_query_check(sql)


@pytest.mark.django_db
def test_the_service_refuses_with_the_reason_and_stores_nothing():
    device = DeviceFactory()
    with pytest.raises(ApplicationError, match="cmdline"):
        live_query_create(sql="SELECT cmdline FROM processes;", devices=type(device).objects.all())
    assert LiveQuery.objects.count() == 0


def test_docs_list_the_allowed_tables_and_columns():
    docs = (Path(__file__).resolve().parents[2] / "docs" / "fleet.md").read_text()
    assert allowed_markdown() in docs
