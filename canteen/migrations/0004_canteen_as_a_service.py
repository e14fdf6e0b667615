"""Data: the canteen becomes one service of the engine. Every booking, roll, attendance record and
tariff is kept and attached to the canteen service and its meal unit. Reverse: the rows of other
services are removed (the old schema has no place for them) and the canteen rows are detached."""

from django.db import migrations

CANTEEN_CODE = "CANTINE"
MEAL_CODE = "REPAS"


def forwards(apps, schema_editor):
    Service = apps.get_model("canteen", "Service")
    Unit = apps.get_model("canteen", "Unit")
    service, _ = Service.objects.get_or_create(
        code=CANTEEN_CODE, defaults={"name": "Restauration scolaire", "kind": "canteen"}
    )
    unit, _ = Unit.objects.get_or_create(
        service=service,
        code=MEAL_CODE,
        defaults={"name": "Repas", "kind": "meal", "includes_meal": True},
    )
    apps.get_model("canteen", "Booking").objects.filter(service__isnull=True).update(
        service=service, unit=unit
    )
    apps.get_model("canteen", "AttendanceRoll").objects.filter(service__isnull=True).update(
        service=service
    )
    apps.get_model("canteen", "AttendanceRecord").objects.filter(service__isnull=True).update(
        service=service, unit=unit
    )
    apps.get_model("canteen", "Tariff").objects.filter(service__isnull=True).update(
        service=service
    )


def backwards(apps, schema_editor):
    Service = apps.get_model("canteen", "Service")
    canteen = Service.objects.filter(code=CANTEEN_CODE).first()
    for name in ("AttendanceRecord", "AttendanceRoll", "Booking"):
        model = apps.get_model("canteen", name)
        if canteen is not None:
            model.objects.exclude(service_id=canteen.pk).delete()
        model.objects.update(service=None)
    apps.get_model("canteen", "Booking").objects.update(unit=None)
    apps.get_model("canteen", "AttendanceRecord").objects.update(unit=None)
    Tariff = apps.get_model("canteen", "Tariff")
    if canteen is not None:
        Tariff.objects.exclude(service_id=canteen.pk).delete()
    Tariff.objects.update(service=None)
    apps.get_model("canteen", "TariffLine").objects.exclude(unit=None).delete()
    apps.get_model("canteen", "DeadlineRule").objects.exclude(service=None).delete()


class Migration(migrations.Migration):
    dependencies = [("canteen", "0003_services_units")]

    operations = [migrations.RunPython(forwards, backwards)]
