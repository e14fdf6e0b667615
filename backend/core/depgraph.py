"""The dependency graph between Minot's apps, read from the imports (``make depgraph``).

An edge ``a → b`` means some module of app ``a`` imports app ``b`` (at any place in the file,
lazy imports included: a lazy import is still a dependency). Tests and migrations are left out.
The graph must have no cycle: dependencies go one way, and an app that needs something from a
later app asks for it through a registry in settings (booking guards, navigation, schedules).
"""

from __future__ import annotations

import ast
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
APPS = {
    "backend.accounts": "accounts",
    "backend.core": "core",
    "backend.citizen": "citizen",
    "family": "family",
    "canteen": "canteen",
    "payments": "payments",
    "fleet": "fleet",
}
# Packages that are the project's shell, not apps: settings list every app by design.
SHELL = ("backend/settings", "backend/urls.py", "backend/demo.py", "backend/celery.py")


def _app_of_module(module: str) -> str | None:
    for prefix, name in sorted(APPS.items(), key=lambda kv: -len(kv[0])):
        if module == prefix or module.startswith(prefix + "."):
            return name
    return None


def _app_of_path(path: Path) -> str | None:
    rel = path.relative_to(ROOT).as_posix()
    if any(rel.startswith(s) for s in SHELL) or "/migrations/" in rel:
        return None
    return _app_of_module(rel.removesuffix(".py").replace("/", "."))


def edges() -> dict[str, set[str]]:
    graph: dict[str, set[str]] = {name: set() for name in APPS.values()}
    for prefix in APPS:
        for path in (ROOT / prefix.replace(".", "/")).rglob("*.py"):
            source = _app_of_path(path)
            if source is None:
                continue
            tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
            type_only = {
                id(inner)
                for node in ast.walk(tree)
                if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test)
                for inner in ast.walk(node)
            }
            for node in ast.walk(tree):
                if id(node) in type_only:  # annotations only, not a dependency at run time
                    continue
                names: list[str] = []
                if isinstance(node, ast.Import):
                    names = [alias.name for alias in node.names]
                elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                    names = [node.module]
                for name in names:
                    target = _app_of_module(name)
                    if target and target != source:
                        graph[source].add(target)
    return graph


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Every elementary cycle found by depth-first search (small graph)."""
    found: list[list[str]] = []
    for start in sorted(graph):
        stack = [(start, [start])]
        while stack:
            node, path = stack.pop()
            for nxt in sorted(graph[node]):
                if nxt == start:
                    found.append([*path, start])
                elif nxt not in path and nxt > start:
                    stack.append((nxt, [*path, nxt]))
    return found


def mermaid(graph: dict[str, set[str]]) -> str:
    lines = ["```mermaid", "graph LR"]
    for source in sorted(graph):
        for target in sorted(graph[source]):
            lines.append(f"  {source} --> {target}")
    lines.append("```")
    return "\n".join(lines)


BEGIN, END = "<!-- depgraph:begin -->", "<!-- depgraph:end -->"


def write_into(doc: Path, text: str) -> None:
    """Replace what lies between the markers of ``doc`` with ``text``."""
    content = doc.read_text(encoding="utf-8")
    head, rest = content.split(BEGIN, 1)
    _old, tail = rest.split(END, 1)
    doc.write_text(f"{head}{BEGIN}\n{text}\n{END}{tail}", encoding="utf-8")


def main(argv: list[str]) -> int:
    graph = edges()
    text = mermaid(graph)
    if argv[:1] == ["--write"]:
        write_into(ROOT / argv[1], text)
    sys.stdout.write(text + "\n")
    loops = cycles(graph)
    for loop in loops:
        sys.stderr.write("cycle: " + " → ".join(loop) + "\n")
    return 1 if loops else 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
