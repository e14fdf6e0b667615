"""The shape of the codebase, checked: one-way dependencies between apps, no view importing an
API module, no silent fallback for code that exists, one definition of each role."""

import ast
import re
from pathlib import Path

from backend.core import depgraph

ROOT = Path(__file__).resolve().parents[2]
APP_DIRS = ["backend", "family", "canteen", "payments", "fleet"]


def _sources():
    for app in APP_DIRS:
        for path in (ROOT / app).rglob("*.py"):
            if "migrations" not in path.parts:
                yield path


def test_the_app_dependency_graph_has_no_cycle():
    graph = depgraph.edges()
    assert depgraph.cycles(graph) == []
    assert "canteen" in graph["payments"]  # payments bills what the canteen served
    assert "payments" not in graph["canteen"]  # ...and the canteen never imports payments


def test_a_cycle_would_be_found():
    assert depgraph.cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == [["a", "b", "c", "a"]]


def test_the_documented_graph_is_the_real_one():
    """docs/architecture.md shows the graph `make depgraph` prints (regenerate it when it moves)."""
    doc = (ROOT / "docs" / "architecture.md").read_text()
    assert depgraph.mermaid(depgraph.edges()) in doc


def test_no_view_imports_an_api_module():
    offenders = []
    for path in _sources():
        if path.name != "views.py" and "views" not in path.parts:
            continue
        tree = ast.parse(path.read_text())
        for node in ast.walk(tree):
            if (
                isinstance(node, ast.ImportFrom)
                and node.module
                and (node.module == "apis" or node.module.endswith(".apis"))
            ):
                offenders.append(str(path.relative_to(ROOT)))
    assert offenders == []


def test_no_silent_import_fallback():
    offenders = [
        f"{path.relative_to(ROOT)}:{n}"
        for path in _sources()
        for n, line in enumerate(path.read_text().splitlines(), 1)
        if re.search(r"except\s*\(?\s*ImportError", line)
        and "raise" not in "".join(path.read_text().splitlines()[n : n + 3])
    ]
    assert offenders == []


def test_roles_are_defined_once():
    """Only backend/core/access.py compares ``user.role`` to a role name."""
    offenders = [
        f"{path.relative_to(ROOT)}:{n}"
        for path in _sources()
        if path.name != "access.py"
        for n, line in enumerate(path.read_text().splitlines(), 1)
        if re.search(r"(user|actor)\.role\s*[=!]=", line)
    ]
    assert offenders == []


def test_the_renamed_family_migration_is_taken_as_applied_where_the_old_name_was():
    """family 0002 was named after canteen models it does not create; renamed, it replaces the
    old name so that a database migrated before the rename is not migrated twice."""
    from django.db.migrations.loader import MigrationLoader

    loader = MigrationLoader(None, ignore_no_migrations=True)
    new = ("family", "0002_documents_invitations_applications_activities")
    assert loader.replacements[new].replaces == [
        ("family", "0002_menus_bookings_attendance_tariffs")
    ]
