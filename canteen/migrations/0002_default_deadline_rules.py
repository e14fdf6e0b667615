import datetime as dt

from django.db import migrations


def create_rules(apps, schema_editor):
    DeadlineRule = apps.get_model("canteen", "DeadlineRule")
    for action in ("book", "cancel"):
        DeadlineRule.objects.get_or_create(
            action=action,
            defaults={
                "days_before": 2,
                "cutoff_time": dt.time(10, 0),
                "skip_weekends": True,
                "skip_public_holidays": True,
                "skip_school_holidays": False,
            },
        )


def remove_rules(apps, schema_editor):
    apps.get_model("canteen", "DeadlineRule").objects.all().delete()


class Migration(migrations.Migration):
    dependencies = [("canteen", "0001_menus_bookings_attendance_tariffs")]

    operations = [migrations.RunPython(create_rules, remove_rules)]
