"""A fault-injecting transport for the real ``stripe`` library: lose responses, or be down.

``LossyClient`` is a ``stripe.RequestsClient`` (real HTTP to localstripe). ``lose(method, path)``
makes the next matching request reach the server and then raise ``APIConnectionError``, as if
the connection dropped before the answer came back: the server *did* act. ``down(method, path)``
refuses matching requests before they are sent: the server never sees them.
"""

from __future__ import annotations

import contextlib
from urllib.parse import urlsplit

import stripe


class LossyClient(stripe.RequestsClient):
    def __init__(self):
        super().__init__(timeout=10)
        self.to_lose: list[tuple[str, str]] = []
        self.outage: list[tuple[str, str]] = []
        self.lost = 0
        self.refused = 0

    @staticmethod
    def _matches(rules, method, url):
        path = urlsplit(url).path
        for rule in rules:
            if rule[0] == method.lower() and path.startswith(rule[1]):
                return rule
        return None

    def lose(self, method: str, path: str) -> None:
        self.to_lose.append((method.lower(), path))

    def down(self, method: str, path: str) -> None:
        self.outage.append((method.lower(), path))

    def up(self) -> None:
        self.outage.clear()

    def request(self, method, url, headers, post_data=None):
        if self._matches(self.outage, method, url):
            self.refused += 1
            raise stripe.APIConnectionError("injected: provider unreachable")
        answer = super().request(method, url, headers, post_data)
        rule = self._matches(self.to_lose, method, url)
        if rule is not None:
            self.to_lose.remove(rule)
            self.lost += 1
            raise stripe.APIConnectionError("injected: response lost after the server acted")
        return answer


@contextlib.contextmanager
def lossy_stripe():
    client = LossyClient()
    previous = stripe.default_http_client
    stripe.default_http_client = client
    try:
        yield client
    finally:
        stripe.default_http_client = previous
