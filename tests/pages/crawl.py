"""Walk every page a demo account reaches, at a phone width and a desktop width.

Shared by the page tests and ``make screenshots``: one place knows which pages exist for whom."""

from __future__ import annotations

import re
from urllib.parse import urlsplit

from axe_playwright_python.sync_playwright import Axe

from backend.core.demo_accounts import DEMO_PASSWORD

WCAG = {"runOnly": {"type": "tag", "values": ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]}}
HOMES = {"parent": "/parent/", "staff": "/ecole/", "admin": "/ville/", "technician": "/technicien/"}
PHONE = {"width": 360, "height": 740}
DESKTOP = {"width": 1366, "height": 768}
SKIP = re.compile(
    r"^/(admin|api|i18n|deconnexion|payments)/|\.(pdf|csv|xlsx)$|/export|/recu|/attestation"
)
PUBLIC_PAGES = ["/", "/connexion/", "/mot-de-passe/oubli/", "/cantine/menus/"]


def login(page, base_url: str, email: str) -> None:
    page.goto(f"{base_url}/connexion/")
    page.fill("input[name=username]", email)
    page.fill("input[name=password]", DEMO_PASSWORD)
    page.click("main button[type=submit]")
    page.wait_for_load_state()


def shape(path: str) -> str:
    """Pages that differ only by ids are one page for these checks (every device, every month)."""
    return re.sub(r"/\d+", "/N", path)


def same_site_links(page) -> list[str]:
    hrefs = page.eval_on_selector_all("a[href]", "els => els.map(e => e.getAttribute('href'))")
    found = []
    for href in hrefs:
        parts = urlsplit(href)
        if parts.netloc or not parts.path.startswith("/") or SKIP.search(parts.path):
            continue
        found.append(parts.path + (f"?{parts.query}" if parts.query else ""))
    return found


def pages_of(page, base_url: str, home: str, limit: int = 60) -> list[str]:
    """Home, then every same-site page linked from home or the header, then one level further."""
    seen_shapes: set[str] = set()
    order: list[str] = []
    queue = [home]
    depth = {home: 0}
    while queue and len(order) < limit:
        path = queue.pop(0)
        key = shape(path.split("?")[0])
        if key in seen_shapes:
            continue
        response = page.goto(f"{base_url}{path}")
        if (
            response is None
            or response.status >= 400
            or "text/html" not in (response.headers.get("content-type", ""))
        ):
            continue
        seen_shapes.add(key)
        order.append(path)
        if depth[path] < 2:
            for link in same_site_links(page):
                if link not in depth:
                    depth[link] = depth[path] + 1
                    queue.append(link)
    return order


def axe_violations(page) -> list[str]:
    results = Axe().run(page, options=WCAG)
    return [
        f"{v['id']} ({v['impact']}): {v['help']} — {[n['target'] for n in v['nodes']][:3]}"
        for v in results.response["violations"]
    ]


def overflow(page) -> int:
    """How many CSS pixels the page is wider than its viewport (0 when it reflows)."""
    return page.evaluate(
        "() => Math.max(document.documentElement.scrollWidth, document.body.scrollWidth)"
        " - window.innerWidth"
    )
