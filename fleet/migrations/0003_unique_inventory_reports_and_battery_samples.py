# A replayed log batch must be stored once: one inventory report per (device, kind, time) and one
# battery sample per (device, time). Existing duplicates (the same report received twice before
# this constraint) are removed first, keeping the oldest row.

from django.db import migrations, models
from django.db.models import Count, Min


def remove_duplicates(apps, schema_editor):
    for model_name, fields in (
        ("InventoryReport", ("device_id", "kind", "collected_at")),
        ("BatterySample", ("device_id", "measured_at")),
    ):
        model = apps.get_model("fleet", model_name)
        groups = (
            model.objects.values(*fields)
            .annotate(n=Count("id"), keep=Min("id"))
            .filter(n__gt=1)
            .iterator()
        )
        for group in groups:
            model.objects.filter(**{f: group[f] for f in fields}).exclude(id=group["keep"]).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("fleet", "0002_device_ordering_by_identity"),
    ]

    operations = [
        migrations.RunPython(remove_duplicates, migrations.RunPython.noop),
        migrations.AddConstraint(
            model_name="batterysample",
            constraint=models.UniqueConstraint(
                fields=("device", "measured_at"), name="fleet_battery_unique_sample"
            ),
        ),
        migrations.AddConstraint(
            model_name="inventoryreport",
            constraint=models.UniqueConstraint(
                fields=("device", "kind", "collected_at"), name="fleet_inv_unique_report"
            ),
        ),
    ]
