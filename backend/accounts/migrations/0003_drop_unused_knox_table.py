"""Minot's API tokens live in ``accounts.ApiToken`` (``KNOX_TOKEN_MODEL``); django-rest-knox's own
migrations still create ``knox_authtoken``, which nothing uses and whose foreign key to users
stops PostgreSQL from emptying the user table in one TRUNCATE (test flushes, data resets).
It is dropped; the reverse recreates nothing (knox's migrations own that table)."""

from django.db import migrations


def drop(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute("DROP TABLE IF EXISTS knox_authtoken CASCADE", params=None)
    else:
        schema_editor.execute("DROP TABLE IF EXISTS knox_authtoken", params=None)


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0002_api_token"),
        ("knox", "0009_extend_authtoken_field"),
    ]

    operations = [migrations.RunPython(drop, migrations.RunPython.noop)]
