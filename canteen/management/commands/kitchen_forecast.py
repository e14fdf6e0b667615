"""Print or export the kitchen forecast: meals per school, day and variant, and the PAI list."""

from __future__ import annotations

import datetime as dt
import time
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from canteen import forecasts, selectors
from family.models import School


class Command(BaseCommand):
    help = "Kitchen forecast from bookings (default: tomorrow, every school)."

    def add_arguments(self, parser):
        parser.add_argument("--start", help="first day (YYYY-MM-DD), default tomorrow")
        parser.add_argument("--days", type=int, default=1)
        parser.add_argument("--school", action="append", help="school code (UAI); repeatable")
        parser.add_argument("--format", choices=["table", "csv", "xlsx"], default="table")
        parser.add_argument("--output", help="file to write (csv / xlsx); default stdout for csv")
        parser.add_argument(
            "--pai", action="store_true", help="also list PAI and allergy children per school"
        )

    def handle(self, *args, **opts):
        try:
            start = (
                dt.date.fromisoformat(opts["start"])
                if opts["start"]
                else timezone.localdate() + dt.timedelta(days=1)
            )
        except ValueError:
            raise CommandError("--start must be YYYY-MM-DD")
        if not 1 <= opts["days"] <= 62:
            raise CommandError("--days must be between 1 and 62")
        school_ids = None
        schools = School.objects.filter(is_active=True)
        if opts["school"]:
            schools = schools.filter(code__in=opts["school"])
            school_ids = list(schools.values_list("id", flat=True))
            if len(school_ids) != len(set(opts["school"])):
                raise CommandError("unknown school code")
        began = time.perf_counter()
        frame = forecasts.meal_forecast(
            start=start, end=start + dt.timedelta(days=opts["days"] - 1), school_ids=school_ids
        )
        pivot = forecasts.forecast_pivot(frame)
        elapsed = time.perf_counter() - began
        kitchen_frame = None
        if opts["pai"] or opts["format"] == "xlsx":
            ids = list(schools.values_list("id", flat=True))
            lists = selectors.kitchen_lists(school_ids=ids, day=start)
            kitchen = [(s, lists[s.id]) for s in schools.filter(id__in=list(lists))]
            kitchen_frame = forecasts.kitchen_frame(kitchen, day=start)
        if opts["format"] == "xlsx":
            if not opts["output"]:
                raise CommandError("--output is required for xlsx")
            Path(opts["output"]).write_bytes(
                forecasts.to_xlsx({"Prévisions": pivot, "PAI et allergies": kitchen_frame})
            )
        elif opts["format"] == "csv":
            data = forecasts.to_csv(pivot)
            if opts["output"]:
                Path(opts["output"]).write_bytes(data)
            else:
                self.stdout.write(data.decode("utf-8-sig"))
        else:
            self.stdout.write(
                pivot.to_string(index=False) if not pivot.empty else "no meals booked"
            )
            if kitchen_frame is not None and not kitchen_frame.empty:
                self.stdout.write("\nPAI / allergies:\n" + kitchen_frame.to_string(index=False))
        self.stderr.write(
            f"{int(frame['meals'].sum()) if not frame.empty else 0} meals, "
            f"{frame['school_id'].nunique() if not frame.empty else 0} schools, "
            f"computed in {elapsed * 1000:.0f} ms"
        )
