"""Which live queries a technician may send to children's devices: an allowlist of osquery tables
and columns, checked on the parsed SQL (sqlglot), never on words.

The list is copied in docs/fleet.md ("Live queries: what may be asked"); keep both in step
(tests/fleet/test_sql_policy.py checks it). Anything outside it is refused with the reason.
Pure functions, no database.
"""

from __future__ import annotations

import sqlglot
from django.utils.translation import gettext as _
from sqlglot import expressions as exp

# Hardware, operating system and software inventory. No table or column that holds a user name,
# a host name, a path under a home directory, a command line, browsing, location or Wi-Fi data.
ALLOWED: dict[str, frozenset[str]] = {
    name: frozenset(columns.split())
    for name, columns in {
        "os_version": "name version major minor patch build platform platform_like codename arch",
        "osquery_info": "version build_platform build_distro start_time extensions",
        "system_info": (
            "hardware_vendor hardware_model hardware_version hardware_serial uuid cpu_brand "
            "cpu_type cpu_physical_cores cpu_logical_cores physical_memory"
        ),
        "platform_info": "vendor version date revision",
        "kernel_info": "version",
        "uptime": "days hours minutes seconds total_seconds",
        "time": "unix_time timezone",
        "cpu_info": "model manufacturer number_of_cores logical_processors max_clock_speed",
        "memory_info": "memory_total memory_free memory_available swap_total swap_free",
        "battery": (
            "percent_remaining cycle_count designed_capacity max_capacity current_capacity "
            "charging charged health condition state chemistry amperage voltage "
            "minutes_until_empty minutes_to_full_charge"
        ),
        "logical_drives": "device_id type size free_space file_system boot_partition",
        "disk_encryption": "encrypted type encryption_status",
        "deb_packages": "name version arch source revision status size",
        "rpm_packages": "name version release arch size",
        "apps": "name bundle_identifier bundle_short_version bundle_version",
        "programs": "name version publisher",
        "patches": "hotfix_id description installed_on",
        "interface_details": "interface mac type mtu link_speed",
        "interface_addresses": "interface address mask type",
        "processes": "pid name state threads resident_size total_size user_time system_time",
        "osquery_registry": "registry name active internal",
        "osquery_schedule": "name interval executions last_executed wall_time average_memory",
        "chassis_info": "chassis_types manufacturer model",
    }.items()
}


class PolicyError(ValueError):
    """The query is outside the allowlist; ``str(exc)`` says why, in French."""


def _parse(sql: str) -> exp.Expression:
    try:
        statements = [s for s in sqlglot.parse(sql, read="sqlite") if s is not None]
    except sqlglot.errors.SqlglotError as exc:
        raise PolicyError(_("Requête SQL illisible : %(e)s.") % {"e": str(exc)[:160]}) from exc
    if len(statements) != 1:
        raise PolicyError(_("Une seule requête SELECT à la fois."))
    statement = statements[0]
    if not isinstance(statement, (exp.Select, exp.Union)):
        raise PolicyError(_("Seules les requêtes SELECT sont autorisées."))
    return statement


def live_query_check(sql: str) -> None:
    """Raise PolicyError unless every table and column of ``sql`` is in ALLOWED."""
    statement = _parse(sql)
    if statement.find(exp.With):
        raise PolicyError(_("Les requêtes WITH ne sont pas autorisées."))
    aliases: dict[str, str] = {}
    tables: set[str] = set()
    for table in statement.find_all(exp.Table):
        name = table.name.lower()
        if table.args.get("db") or table.args.get("catalog"):
            raise PolicyError(_("Table qualifiée non autorisée : %(t)s.") % {"t": table.sql()})
        if name not in ALLOWED:
            raise PolicyError(
                _("La table %(t)s n'est pas dans la liste autorisée (docs/fleet.md).") % {"t": name}
            )
        tables.add(name)
        aliases[(table.alias_or_name or name).lower()] = name
    for star in statement.find_all(exp.Star):
        if not isinstance(star.parent, exp.Count):
            raise PolicyError(
                _("SELECT * n'est pas autorisé : nommez les colonnes de la liste autorisée.")
            )
    output_aliases = {a.alias.lower() for a in statement.find_all(exp.Alias)}
    # Output columns of a subquery in FROM (their own columns are checked where they are read);
    # a table column of the same name would make SQLite refuse the query as ambiguous.
    derived = {
        a.alias.lower()
        for sub in statement.find_all(exp.Subquery)
        for a in sub.find_all(exp.Alias)
        if not isinstance(a.parent, exp.Subquery)
    }
    for column in statement.find_all(exp.Column):
        if isinstance(column.this, exp.Star):
            raise PolicyError(
                _("SELECT * n'est pas autorisé : nommez les colonnes de la liste autorisée.")
            )
        name = column.name.lower()
        qualifier = column.table.lower()
        if qualifier and qualifier in aliases:
            allowed = name in ALLOWED[aliases[qualifier]]
        else:
            # An output alias counts only in ORDER BY, where SQLite looks aliases up first
            # (in WHERE a table column of that name would win).
            allowed = (
                any(name in ALLOWED[t] for t in tables)
                or name in derived
                or (
                    not qualifier
                    and name in output_aliases
                    and column.find_ancestor(exp.Order) is not None
                )
            )
        if not allowed:
            where = aliases.get(qualifier) or ", ".join(sorted(tables)) or "-"
            raise PolicyError(
                _("La colonne %(c)s (%(t)s) n'est pas dans la liste autorisée (docs/fleet.md).")
                % {"c": name, "t": where}
            )


def allowed_markdown() -> str:
    """The allowlist as the Markdown table kept in docs/fleet.md."""
    lines = ["| Table | Allowed columns |", "|---|---|"]
    for table in sorted(ALLOWED):
        lines.append(f"| `{table}` | {', '.join(sorted(ALLOWED[table]))} |")
    return "\n".join(lines)
