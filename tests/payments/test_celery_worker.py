"""The webhook's processing really runs in a separate Celery worker (PostgreSQL + Redis), published
by the outbox relay."""

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from django.conf import settings
from django.db import connection

from backend.core.models import OutboxMessage
from backend.core.outbox import outbox_relay_once
from payments.models import Invoice, LedgerEntry, Payment, PaymentAllocation, StripeEvent

from .conftest import event_payload, sign
from .factories import billed_family

pytestmark = [pytest.mark.postgres, pytest.mark.slow, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def worker(stripe_settings):
    broker = settings.CELERY_BROKER_URL
    if not broker.startswith("redis://"):
        pytest.skip("needs CELERY_BROKER_URL=redis://…")
    from backend.celery import app

    db = connection.settings_dict
    auth = db["USER"] + (f":{db['PASSWORD']}" if db.get("PASSWORD") else "")
    url = f"postgres://{auth}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"
    env = dict(
        os.environ,
        DJANGO_SETTINGS_MODULE="backend.settings.test",
        DATABASE_URL=url,
        CELERY_BROKER_URL=broker,
        CELERY_TASK_ALWAYS_EAGER="false",
        STRIPE_WEBHOOK_SECRET=stripe_settings.STRIPE_WEBHOOK_SECRET,
    )
    root = Path(__file__).resolve().parents[2]
    queue = f"payments-test-{os.getpid()}"
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "backend",
            "worker",
            "--pool=solo",
            "-Q",
            queue,
            "--loglevel=WARNING",
        ],
        cwd=root,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    previous = (app.conf.task_always_eager, app.conf.task_default_queue)
    app.conf.task_always_eager = False
    app.conf.task_default_queue = queue
    yield proc
    app.conf.task_always_eager, app.conf.task_default_queue = previous
    proc.terminate()
    proc.wait(timeout=20)


def test_event_is_processed_by_a_real_worker_after_commit(client, worker):
    _h, _user, _k, invoice = billed_family()
    payment = Payment.objects.create(
        account=invoice.account,
        household=invoice.household,
        provider="stripe",
        amount_cents=invoice.total_cents,
        idempotency_key="worker-test",
        provider_reference="pi_worker",
    )
    PaymentAllocation.objects.create(
        payment=payment, invoice=invoice, amount_cents=invoice.total_cents
    )
    obj = {
        "id": "pi_worker",
        "object": "payment_intent",
        "amount": payment.amount_cents,
        "currency": "eur",
        "status": "succeeded",
        "metadata": {"minot_payment_id": str(payment.pk)},
    }
    payload = event_payload("evt_worker", "payment_intent.succeeded", obj)
    response = client.post(
        "/payments/stripe/webhook/",
        data=payload,
        content_type="application/json",
        HTTP_STRIPE_SIGNATURE=sign(payload),
    )
    assert response.status_code == 200
    # the webhook stored the event and its processing task in the outbox, in one transaction;
    # the relay (here: its loop, in this process) publishes it to the worker's queue
    assert OutboxMessage.objects.filter(task="payments.tasks.stripe_event_process_task").exists()
    deadline = time.monotonic() + 120
    while (
        time.monotonic() < deadline
        and StripeEvent.objects.get().status != StripeEvent.Status.PROCESSED
    ):
        outbox_relay_once()
        time.sleep(0.3)
    assert StripeEvent.objects.get().status == StripeEvent.Status.PROCESSED
    invoice.refresh_from_db()
    assert invoice.status == Invoice.Status.PAID
    assert LedgerEntry.objects.filter(kind="payment").count() == 1
