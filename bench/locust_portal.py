"""Locust users for the portal load benchmark (run by bench/portal_load.py, never imported by
Django). Each simulated person signs in once through the public token API, then loops over a
mix of what that person really does. ``MINOT_BENCH_RATE`` is the tasks per second each user
offers, so offered load ≈ users × rate. Each person's tasks arrive as a Poisson process of that
rate (exponential gaps, planned whatever the answers take): with locust's
``constant_throughput`` every person spawned in the same second fired in the same instant, so
the server met bursts of tens of simultaneous requests that families never send, and the
latency measured was mostly the wait in those bursts.

Parent mix: home page data (children, invoices, household, registrations), the month calendar of
a child, the week's menus, and now and then booking a week of meals.
Staff mix: the registrations queue, today's roll, tomorrow's kitchen forecast.
Baseline: ``GET /healthz`` only (a trivial view), measured in the same run.
"""

from __future__ import annotations

import datetime as dt
import itertools
import json
import os
import random
import time

from locust import HttpUser, task

RATE = float(os.environ.get("MINOT_BENCH_RATE", "1"))
# Tokens obtained once through the public token API before the run (signing in costs a
# deliberate password hash: it is measured separately, not mixed into every stage).
PARENT_TOKENS = json.loads(os.environ.get("MINOT_BENCH_PARENT_TOKENS", "[]"))
STAFF_TOKENS = json.loads(os.environ.get("MINOT_BENCH_STAFF_TOKENS", "[]"))
_parent_cycle = itertools.cycle(PARENT_TOKENS or [""])
_staff_cycle = itertools.cycle(STAFF_TOKENS or [""])


def poisson_throughput(rate: float):
    """A locust ``wait_time``: open-loop arrivals at ``rate`` per second, exponential gaps,
    independent between users. The arrivals are planned whatever the answers take: a person
    behind their plan sends the next request at once (as ``constant_throughput`` does), so an
    overloaded server is offered the same load."""

    def wait_time(user: HttpUser) -> float:
        now = time.monotonic()
        planned = getattr(user, "_next_task_at", now) + random.expovariate(rate)
        user._next_task_at = planned  # type: ignore[attr-defined]
        return max(0.0, planned - now)

    return wait_time


def _login(user: HttpUser, token: str) -> None:
    user.client.headers["Authorization"] = f"Token {token}"


class Baseline(HttpUser):
    wait_time = poisson_throughput(RATE)

    @task
    def healthz(self) -> None:
        self.client.get("/healthz", name="healthz")


class Parent(HttpUser):
    wait_time = poisson_throughput(RATE)
    weight = int(os.environ.get("MINOT_BENCH_PARENT_WEIGHT", "4"))

    def on_start(self) -> None:
        _login(self, next(_parent_cycle))
        children = self.client.get("/api/v1/children/", name="children").json()
        self.children = [c["id"] for c in children.get("results", [])]
        self.school = next(
            (c["school"]["id"] for c in children.get("results", []) if c.get("school")), None
        )
        self.rng = random.Random()

    @task(3)
    def home(self) -> None:
        self.client.get("/api/v1/invoices/", name="invoices")
        self.client.get("/api/v1/household/", name="household")

    @task(2)
    def registrations(self) -> None:
        self.client.get("/api/v1/registrations/", name="registrations")

    @task(3)
    def calendar(self) -> None:
        if self.children:
            child = self.rng.choice(self.children)
            self.client.get(f"/api/v1/canteen/children/{child}/calendar/", name="calendar")

    @task(2)
    def menus(self) -> None:
        if self.school:
            self.client.get(f"/api/v1/canteen/menus/?school={self.school}", name="menus")

    @task(1)
    def book_week(self) -> None:
        if not self.children:
            return
        monday = dt.date.today() + dt.timedelta(days=14 - dt.date.today().weekday())
        days = [str(monday + dt.timedelta(days=d)) for d in (0, 1, 3, 4)]
        with self.client.post(
            "/api/v1/canteen/bookings/",
            json={"children": self.children[:1], "days": days},
            name="book-week",
            catch_response=True,
        ) as response:
            if response.status_code < 500:  # a day closed or past its deadline is a 400 answer
                response.success()


class Staff(HttpUser):
    wait_time = poisson_throughput(RATE)
    weight = int(os.environ.get("MINOT_BENCH_STAFF_WEIGHT", "1"))

    def on_start(self) -> None:
        _login(self, next(_staff_cycle))

    @task(2)
    def queue(self) -> None:
        self.client.get("/api/v1/registrations/?state=submitted", name="staff-queue")

    @task(1)
    def forecast(self) -> None:
        self.client.get("/api/v1/canteen/forecast/", name="forecast")
