"""The ledger is append-only in the database itself, not only in Python.

PostgreSQL: a trigger refuses every UPDATE and DELETE of a ledger row (TRUNCATE, used by test
teardown and never by the application, is not a row operation). SQLite: a trigger refuses
UPDATE (DELETE stays possible there because Django's test flush empties tables with DELETE);
Python's ``LedgerEntry.objects.update()/delete()`` raise on both.
"""

from django.db import migrations

PG_UP = """
CREATE OR REPLACE FUNCTION payments_ledger_append_only() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION 'payments_ledgerentry is append-only (% refused)', TG_OP;
END;
$$ LANGUAGE plpgsql;
CREATE TRIGGER payments_ledgerentry_append_only
    BEFORE UPDATE OR DELETE ON payments_ledgerentry
    FOR EACH ROW EXECUTE FUNCTION payments_ledger_append_only();
"""
PG_DOWN = """
DROP TRIGGER IF EXISTS payments_ledgerentry_append_only ON payments_ledgerentry;
DROP FUNCTION IF EXISTS payments_ledger_append_only();
"""
SQLITE_UP = """
CREATE TRIGGER IF NOT EXISTS payments_ledgerentry_append_only
BEFORE UPDATE ON payments_ledgerentry
BEGIN
    SELECT RAISE(ABORT, 'payments_ledgerentry is append-only (UPDATE refused)');
END;
"""
SQLITE_DOWN = "DROP TRIGGER IF EXISTS payments_ledgerentry_append_only;"


def forwards(apps, schema_editor):
    vendor = schema_editor.connection.vendor
    if vendor == "postgresql":
        schema_editor.execute(PG_UP, params=None)  # no placeholders: the body has a literal %
    elif vendor == "sqlite":
        schema_editor.execute(SQLITE_UP)


def backwards(apps, schema_editor):
    vendor = schema_editor.connection.vendor
    if vendor == "postgresql":
        schema_editor.execute(PG_DOWN, params=None)
    elif vendor == "sqlite":
        schema_editor.execute(SQLITE_DOWN)


class Migration(migrations.Migration):
    dependencies = [("payments", "0003_money_state_machine")]

    operations = [migrations.RunPython(forwards, backwards)]
