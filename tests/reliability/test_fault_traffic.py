"""Faults during real traffic: the broker (Redis) and the Stripe stand-in are cut while families
act; no request answers 500, every accepted action is stored once, and every side effect (email,
payment) happens once after recovery.

Short here (CI); ``python -m bench.reliability`` runs the long version (a cut of a minute) and
prints the results table of docs/reliability.md. ``RELIABILITY_CUT_SECONDS`` and
``RELIABILITY_REQUESTS`` size it.
"""

import json
import os
import time
from collections import Counter

import pytest
from django.core import mail
from django.urls import reverse
from rest_framework.test import APIClient

from backend.core.models import OutboxMessage
from backend.core.outbox import outbox_relay_once
from family.models import GuardianInvitation
from tests.factories import household_with_parent
from tests.payments.conftest import localstripe, localstripe_url, stripe_settings  # noqa: F401
from tests.reliability.conftest import broker_at, run_queued_tasks
from tests.reliability.faultproxy import FaultProxy
from tests.reliability.workers import redis_or_skip

CUT_SECONDS = float(os.environ.get("RELIABILITY_CUT_SECONDS", "2"))
REQUESTS = int(os.environ.get("RELIABILITY_REQUESTS", "9"))


def record(fault: str, **numbers) -> None:
    """Append this run's numbers to $RELIABILITY_RESULTS (the bench prints them as a table)."""
    path = os.environ.get("RELIABILITY_RESULTS")
    if path:
        with open(path, "a") as out:
            out.write(json.dumps({"fault": fault, "cut_seconds": CUT_SECONDS, **numbers}) + "\n")


def inviter(households):
    def invite(i):
        household, parent, _ = households[i]
        client = APIClient(raise_request_exception=False)
        client.force_authenticate(user=parent)
        url = reverse("family-api:household-invite", args=[household.pk])
        return client.post(url, {"email": f"g{i}@example.test"}, format="json").status_code

    return invite


def traffic(act, proxy: FaultProxy, *, between=lambda: None) -> Counter:
    """``REQUESTS`` actions; the middle third runs while ``proxy`` is cut for CUT_SECONDS."""
    statuses: Counter = Counter()
    third = REQUESTS // 3
    for i in range(REQUESTS):
        if i == third:
            proxy.cut()
            cut_until = time.monotonic() + CUT_SECONDS
        statuses[act(i)] += 1
        between()
        if i == 2 * third - 1:
            time.sleep(max(0.0, cut_until - time.monotonic()))
            proxy.restore()
    return statuses


@pytest.mark.django_db(transaction=True)
def test_redis_cut_while_parents_invite_guardians():
    redis = redis_or_skip(offset=1)  # test_workers.py uses the base database
    host, port = redis.split("//")[1].split("/")[0].split(":")
    invite = inviter([household_with_parent(children=0) for _ in range(REQUESTS)])
    with FaultProxy(host, int(port)) as proxy:
        through_proxy = redis.replace(f"{host}:{port}", f"127.0.0.1:{proxy.port}")
        with broker_at(through_proxy):
            statuses = traffic(invite, proxy, between=outbox_relay_once)
            # recovery: the relay's back-off passes, everything waiting is published
            OutboxMessage.objects.filter(published_at__isnull=True).update(
                next_attempt_at="2000-01-01T00:00Z"
            )
            while outbox_relay_once():
                pass
    ran = run_queued_tasks(redis, times=2)  # every task delivered twice
    sent = Counter(to for m in mail.outbox for to in m.to)
    expected = {f"g{i}@example.test" for i in range(REQUESTS)}
    record(
        "Redis (broker)",
        statuses=statuses,
        stored=GuardianInvitation.objects.count(),
        side_effects=sum(sent.values()),
        expected=REQUESTS,
    )
    assert set(statuses) == {201}, statuses
    assert GuardianInvitation.objects.count() == REQUESTS
    # each invitation: its email to the invitee and a notice to the inviting guardian
    assert ran.count("family.tasks.invitation_email_task") == REQUESTS
    assert OutboxMessage.objects.filter(done_at__isnull=True).count() == 0
    inviters = set(GuardianInvitation.objects.values_list("invited_by__email", flat=True))
    assert set(sent) == expected | inviters, sent
    assert set(sent.values()) == {1}, sent  # each email once


@pytest.mark.django_db(transaction=True)
def test_stripe_cut_while_parents_pay(localstripe, settings):
    from backend.core.exceptions import ApplicationError
    from payments.models import Invoice, LedgerEntry, Payment
    from payments.services.payments import payment_start_online
    from tests.payments.factories import billed_family

    host, port = localstripe.split("//")[1].split(":")
    families = [billed_family() for _ in range(REQUESTS)]
    with FaultProxy(host, int(port)) as proxy:
        settings.STRIPE_API_BASE = f"http://127.0.0.1:{proxy.port}"

        def pay(i):
            _h, user, _k, invoice = families[i]
            try:
                payment = payment_start_online(
                    actor=user, invoices=[invoice], payment_method="pm_card_visa"
                )
            except ApplicationError:
                return "refused, nothing charged"
            return payment.status

        statuses = traffic(pay, proxy)
        # recovery: the families whose payment was refused try again
        retried = Counter(
            pay(i)
            for i, (*_, invoice) in enumerate(families)
            if Invoice.objects.get(pk=invoice.pk).status != Invoice.Status.PAID
        )
    record(
        "localstripe (Stripe)",
        statuses=statuses,
        retried=retried,
        stored=Payment.objects.filter(status=Payment.Status.SUCCEEDED).count(),
        side_effects=LedgerEntry.objects.filter(kind="payment").count(),
        expected=REQUESTS,
    )
    assert set(statuses) <= {Payment.Status.SUCCEEDED, "refused, nothing charged"}
    assert statuses["refused, nothing charged"] >= 1
    assert set(retried) == {Payment.Status.SUCCEEDED}
    for *_, invoice in families:
        invoice.refresh_from_db()
        assert invoice.status == Invoice.Status.PAID
        assert invoice.paid_cents == invoice.total_cents
    assert Payment.objects.filter(status=Payment.Status.SUCCEEDED).count() == REQUESTS
    assert LedgerEntry.objects.filter(kind="payment").count() == REQUESTS


@pytest.mark.postgres
def test_postgresql_cut_while_parents_invite_guardians(db_through_proxy):
    invite = inviter([household_with_parent(children=0) for _ in range(REQUESTS)])
    statuses = traffic(invite, db_through_proxy)
    accepted = statuses[201]
    emails = Counter(to for m in mail.outbox for to in m.to)
    stored = list(GuardianInvitation.objects.values_list("email", flat=True))
    record(
        "PostgreSQL",
        statuses=statuses,
        stored=len(stored),
        side_effects=sum(emails.values()),
        expected=accepted,
    )
    # each stored invitation: its email to the invitee and a notice to the inviting guardian
    inviters = set(GuardianInvitation.objects.values_list("invited_by__email", flat=True))
    assert set(statuses) <= {201, 503}, statuses
    assert statuses[503] >= 1, statuses
    assert len(stored) == len(set(stored)) == accepted
    assert len(inviters) == accepted
    assert set(emails) == set(stored) | inviters  # nothing for the actions answered 503
    assert set(emails.values()) == {1}


@pytest.mark.django_db(transaction=True)
def test_smtp_cut_while_parents_invite_guardians(smtp_server, durable_mail_via):
    from backend.core.mail import email_retry_due
    from backend.core.models import OutgoingEmail

    invite = inviter([household_with_parent(children=0) for _ in range(REQUESTS)])
    with FaultProxy("127.0.0.1", smtp_server.port) as proxy:
        durable_mail_via(proxy.port)
        statuses = traffic(invite, proxy)
        waiting = OutgoingEmail.objects.filter(status="pending").count()
        # recovery: the relay retries what waits, when its back-off has passed
        OutgoingEmail.objects.update(next_attempt_at="2000-01-01T00:00Z")
        email_retry_due()
        email_retry_due()
    received = Counter(to for m in smtp_server.messages for to in m.rcpt_tos)
    record(
        "SMTP",
        statuses=statuses,
        stored=OutgoingEmail.objects.count(),
        side_effects=sum(received.values()),
        expected=REQUESTS,
        waited=waiting,
    )
    assert set(statuses) == {201}, statuses
    assert waiting >= 1
    assert {f"g{i}@example.test" for i in range(REQUESTS)} <= set(received)  # + guardians' notices
    assert set(received.values()) == {1}
