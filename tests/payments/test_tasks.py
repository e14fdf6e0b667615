import pytest

from payments import tasks
from payments.models import BillingRun
from payments.schedule import PERIODIC_TASKS

pytestmark = pytest.mark.django_db

# Celery's "never join inside a task" guard is a process-wide flag that an eager task running in a
# live-server thread (a late localstripe webhook) sets for a moment: not a real nested join here.
NO_JOIN_CHECK = {"disable_sync_subtasks": False}


def test_every_scheduled_task_exists():
    for entry in PERIODIC_TASKS:
        name = entry["task"].rsplit(".", 1)[-1]
        assert callable(getattr(tasks, name)), entry


def test_periodic_tasks_run(localstripe):
    assert tasks.dunning_task.delay().get(**NO_JOIN_CHECK) == 0
    assert tasks.sepa_debits_task.delay().get(**NO_JOIN_CHECK) == 0
    assert (
        tasks.prepaid_debit_task.delay().get(**NO_JOIN_CHECK) == 0
    )  # post-paid mode: nothing to debit
    assert (
        tasks.billing_run_previous_month_task.delay().get(**NO_JOIN_CHECK)
        == BillingRun.objects.get().pk
    )
    assert tasks.stripe_catch_up_task.delay().get(**NO_JOIN_CHECK)["repolled"] == 0
    assert tasks.stripe_event_process_task.delay(12345).get(**NO_JOIN_CHECK) == "missing"
