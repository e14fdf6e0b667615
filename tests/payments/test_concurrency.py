import threading

import pytest
from django.db import connection

from payments.models import Invoice, InvoiceLine
from payments.services.billing import billing_run_for_period
from payments.sources import use_meal_source
from tests.factories import household_with_parent

from .factories import PERIOD, MealSource, meals_for, school_days


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_two_concurrent_runs_of_the_same_period_bill_once():
    kids = []
    for _ in range(30):
        kids += household_with_parent(children=1)[2]
    source = MealSource(meals_for(kids, school_days(2026, 10, 5)))
    errors = []

    def worker():
        try:
            with use_meal_source(source):
                billing_run_for_period(period=PERIOD, batch_size=7)
        except Exception as exc:  # noqa: BLE001 - any error of a thread is reported below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=worker) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert Invoice.objects.count() == 30
    assert InvoiceLine.objects.count() == 150
