"""``minot-agent extension``: an osquery extension adding the Linux ``battery`` table.

osquery's own ``battery`` table exists on macOS and Windows only. Run by osqueryd
(``--extensions_autoload`` listing ``packaging/minot-battery.ext``) or by hand:

    minot-agent extension --socket /var/osquery/osquery.em

It registers with osqueryd's extension manager through osquery-python and serves the table
from /sys/class/power_supply with osquery's column names, so stock osqueryd (and the Minot
agent's ExtensionClient) can ``SELECT ... FROM battery`` on Linux.
"""

from __future__ import annotations

import sys

from . import __version__, native

INTEGER_COLUMNS = {
    "cycle_count",
    "designed_capacity",
    "max_capacity",
    "current_capacity",
    "percent_remaining",
    "amperage",
    "voltage",
    "minutes_until_empty",
    "minutes_to_full_charge",
    "charging",
    "charged",
}


def battery_plugin_class():
    import osquery

    class BatteryTable(osquery.TablePlugin):
        def name(self):
            return "battery"

        def columns(self):
            return [
                osquery.TableColumn(
                    name=column,
                    type=osquery.INTEGER if column in INTEGER_COLUMNS else osquery.STRING,
                )
                for column in native.TABLE_COLUMNS["battery"]
            ]

        def generate(self, context):
            try:
                return native.battery()
            except Exception:  # noqa: BLE001 - an unreadable sysfs must not kill the extension
                return []

    return BatteryTable


def main(argv: list[str]) -> int:
    """Register the table and serve until osqueryd goes away (osquery-python's watchdog)."""
    import osquery

    osquery.register_plugin(battery_plugin_class())
    # osquery-python reads --socket/--timeout/--interval/--verbose from sys.argv.
    sys.argv = ["minot-agent-extension", *argv]
    osquery.start_extension(name="minot_battery", version=__version__)
    return 1  # start_extension returns only when osqueryd could not be reached
