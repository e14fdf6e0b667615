"""Native collectors: osquery table and column names, the server's SQL unchanged."""

from __future__ import annotations

import pytest
from minot_agent import native
from minot_agent.native import TABLE_COLUMNS, NativeBackend, QueryError

SERVER_SQL = [
    "SELECT hardware_serial, uuid, hardware_vendor, hardware_model, cpu_brand, physical_memory "
    "FROM system_info;",
    "SELECT o.name, o.version, o.major, o.minor, o.patch, o.build, o.platform, "
    "i.version AS osquery_version FROM os_version o, osquery_info i;",
    "SELECT path, blocks * blocks_size AS total_bytes, blocks_available * blocks_size AS free_bytes "
    "FROM mounts WHERE path = '/';",
    "SELECT percent_remaining, cycle_count, designed_capacity, max_capacity, charging FROM battery;",
    "SELECT name, version FROM deb_packages;",
    "SELECT d.interface, d.mac, a.address FROM interface_details d LEFT JOIN interface_addresses a"
    " ON a.interface = d.interface AND a.address NOT LIKE '%:%' WHERE d.interface NOT LIKE 'lo%';",
]


def write_battery(root, name, **files):
    directory = root / name
    directory.mkdir(parents=True)
    for key, value in files.items():
        (directory / key).write_text(f"{value}\n")


def test_linux_battery_from_power_supply(tmp_path, monkeypatch):
    # given a laptop battery reporting charge in µAh, a mains adapter and a wireless mouse
    write_battery(
        tmp_path,
        "BAT0",
        type="Battery",
        status="Discharging",
        capacity="76",
        cycle_count="412",
        charge_full_design="3948000",
        charge_full="3300000",
        charge_now="2500000",
        voltage_now="11550000",
        current_now="850000",
        manufacturer="SMP",
        model_name="L19M3PF1",
        serial_number="1234",
        technology="Li-poly",
    )
    write_battery(tmp_path, "AC", type="Mains", online="0")
    write_battery(tmp_path, "hidpp_battery_0", type="Battery", scope="Device", capacity="40")
    monkeypatch.setattr(native, "POWER_SUPPLY_DIR", str(tmp_path))

    rows = native.battery()

    assert rows == [
        {
            "manufacturer": "SMP",
            "model": "L19M3PF1",
            "serial_number": "1234",
            "cycle_count": "412",
            "health": "Good",
            "condition": "",
            "state": "Discharging",
            "charging": "0",
            "charged": "0",
            "designed_capacity": "3948",
            "max_capacity": "3300",
            "current_capacity": "2500",
            "percent_remaining": "76",
            "amperage": "-850",
            "voltage": "11550",
            "minutes_until_empty": "",
            "minutes_to_full_charge": "",
            "chemistry": "Li-poly",
        }
    ]


def test_battery_in_energy_units_is_converted_to_mah(tmp_path, monkeypatch):
    write_battery(
        tmp_path,
        "BAT1",
        type="Battery",
        status="Charging",
        capacity="50",
        energy_full_design="45600000",
        energy_full="34200000",
        energy_now="17100000",
        voltage_min_design="11400000",
        voltage_now="12000000",
        power_now="12000000",
    )
    monkeypatch.setattr(native, "POWER_SUPPLY_DIR", str(tmp_path))

    (row,) = native.battery()

    assert (row["designed_capacity"], row["max_capacity"], row["current_capacity"]) == (
        "4000",
        "3000",
        "1500",
    )
    assert row["health"] == "Fair"
    assert row["charging"] == "1"
    assert row["amperage"] == "1000"
    assert row["cycle_count"] == ""  # not exposed by this battery


def test_no_battery_gives_no_rows(tmp_path, monkeypatch):
    monkeypatch.setattr(native, "POWER_SUPPLY_DIR", str(tmp_path / "absent"))
    assert native.battery() == []


def test_deb_packages_lists_installed_packages_only(tmp_path, monkeypatch):
    status = tmp_path / "status"
    status.write_text(
        "Package: firefox\nStatus: install ok installed\nVersion: 133.0-1\nArchitecture: amd64\n"
        "Description: web\n browser\n\n"
        "Package: removed-thing\nStatus: deinstall ok config-files\nVersion: 1.0\n\n"
        "Package: gcompris\nStatus: install ok installed\nVersion: 2.3\n"
    )
    monkeypatch.setattr(native, "DPKG_STATUS", str(status))

    rows = native.deb_packages()

    assert [(r["name"], r["version"], r["revision"]) for r in rows] == [
        ("firefox", "133.0-1", "1"),
        ("gcompris", "2.3", ""),
    ]
    assert set(rows[0]) == set(TABLE_COLUMNS["deb_packages"])


@pytest.mark.parametrize("sql", SERVER_SQL)
def test_the_servers_scheduled_sql_runs_on_this_machine(sql):
    rows = NativeBackend().query(sql)
    assert isinstance(rows, list)
    for row in rows:
        assert all(isinstance(v, str) for v in row.values())


def test_real_collectors_give_the_basics():
    backend = NativeBackend()
    (system,) = backend.query("SELECT * FROM system_info")
    assert (
        system["hostname"] == system["computer_name"] == "" and system["physical_memory"].isdigit()
    )
    (os_row,) = backend.query("SELECT * FROM os_version")
    assert os_row["name"] and os_row["platform"]
    (disk,) = backend.query(SERVER_SQL[2])
    assert int(disk["total_bytes"]) > int(disk["free_bytes"]) > 0
    assert backend.collector_errors == []


def test_a_failing_collector_gives_an_empty_table_and_an_error_not_a_crash():
    def broken():
        raise PermissionError("/sys/class/power_supply: denied")

    backend = NativeBackend({"battery": broken})

    assert backend.query("SELECT * FROM battery") == []
    assert backend.collector_errors == [
        "collector battery failed: PermissionError: /sys/class/power_supply: denied"
    ]


@pytest.mark.parametrize(
    "sql",
    [
        "ATTACH DATABASE '/tmp/minot-agent-pwned.db' AS x",
        "CREATE TABLE x (a)",
        "DELETE FROM system_info",
        "PRAGMA writable_schema = 1",
        "SELECT * FROM no_such_table",
        "this is not sql",
        "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c) SELECT count(*) FROM c",
    ],
)
def test_server_sql_can_only_read(sql, tmp_path, monkeypatch):
    backend = NativeBackend()
    monkeypatch.setattr(NativeBackend, "time_limit", 0.5)

    with pytest.raises(QueryError):
        backend.query(sql)


def test_platform_mask_and_uuid_are_strings():
    assert native.platform_mask() in {"1", "2", "9", "21"}
    assert isinstance(native.machine_uuid(), str)
