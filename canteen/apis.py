"""REST endpoints for menus, bookings, the month calendar, prices, attendance and forecasts."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.utils import timezone
from django.utils.translation import gettext as _
from drf_spectacular.utils import extend_schema, extend_schema_field, inline_serializer
from rest_framework import serializers, status
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.views import APIView

from backend.core.access import IsFamilyMember, IsStaff
from backend.core.allergens import Allergen
from backend.core.api import ModelSerializer, Pagination, paginated
from backend.core.exceptions import ApplicationError

from . import forecasts, selectors, services, shared
from .api_fields import MAX_RANGE_DAYS, BoundedDateField, MonthFilter, _range, month_from_query  # noqa: F401
from .models import AllergenPresence, AttendanceRecord, Booking, Dish, Variant
from .permissions import child_for_user, school_for_staff, staff_schools, visible_children


class DishSerializer(serializers.Serializer):
    course = serializers.ChoiceField(choices=Dish.Course.choices)
    variant = serializers.ChoiceField(
        choices=[c for c in Variant.choices if c[0] != Variant.PACKED_LUNCH],
        default=Variant.STANDARD,
    )
    name = serializers.CharField(max_length=200)
    allergens = serializers.DictField(
        child=serializers.ChoiceField(choices=AllergenPresence.choices),
        required=False,
        help_text="Each of the 14 EU allergens: contains / may_contain / free / unknown (missing = unknown)",
    )

    def validate_allergens(self, value):
        unknown = set(value) - set(Allergen.values)
        if unknown:
            raise serializers.ValidationError(
                _("Allergène inconnu : %(c)s") % {"c": ", ".join(sorted(unknown))}
            )
        return value


class DishOutput(serializers.Serializer):
    course = serializers.CharField()
    variant = serializers.CharField()
    name = serializers.CharField()
    allergens = serializers.SerializerMethodField(
        help_text="For each of the 14 EU allergens: contains, may_contain, free or unknown."
    )

    @extend_schema_field(
        {"type": "object", "additionalProperties": {"type": "string"}, "example": {"milk": "free"}}
    )
    def get_allergens(self, dish) -> dict[str, str]:
        return {code: dish.presence(code) for code in Allergen.values}


class MenuOutput(serializers.Serializer):
    id = serializers.IntegerField()
    day = serializers.DateField()
    school = serializers.IntegerField(source="school_id", allow_null=True)
    published = serializers.BooleanField()
    note = serializers.CharField()
    dishes = DishOutput(many=True, source="dishes.all")


class MenuListApi(APIView):
    """Published menus of a school (its own, else the city-wide one), day by day. No login needed."""

    pagination_class = Pagination

    permission_classes = [AllowAny]
    authentication_classes: list = []

    class FilterSerializer(serializers.Serializer):
        school = serializers.IntegerField(required=False, min_value=1)
        start = BoundedDateField(required=False)
        end = BoundedDateField(required=False)

    @extend_schema(
        parameters=[FilterSerializer],
        responses=inline_serializer(
            "CanteenMenu",
            {
                "id": serializers.IntegerField(),
                "day": BoundedDateField(),
                "school": serializers.IntegerField(allow_null=True),
                "published": serializers.BooleanField(),
                "note": serializers.CharField(),
                "dishes": DishSerializer(many=True),
            },
            many=True,
        ),
    )
    def get(self, request):
        from family.models import School

        params = self.FilterSerializer(data=request.query_params)
        params.is_valid(raise_exception=True)
        start, end = _range(params.validated_data.get("start"), params.validated_data.get("end"))
        school = None
        if params.validated_data.get("school"):
            school = School.objects.filter(
                pk=params.validated_data["school"], is_active=True
            ).first()
            if school is None:
                raise ApplicationError(_("École inconnue."), status_code=404)
        return paginated(request, self, _menus_output(school, start, end), None)


def _menus_output(school, start: dt.date, end: dt.date) -> list[dict]:
    """The rows of the menus API for a school and period, serialized once for every family
    (menus, dish names and allergen codes do not depend on the reader's language) and kept in
    the shared cache beside the menus themselves (same topic: a menu write drops both)."""

    def load() -> list[dict]:
        menus = selectors.menus_for_school(school=school, start=start, end=end)
        return list(MenuOutput([menus[d] for d in sorted(menus)], many=True).data)

    return shared.cached("menus", ("api", school.pk if school else "city", start, end), load)


class MenuSaveApi(APIView):
    """Create or replace a day's menu (staff: their schools; administrators: also city-wide)."""

    permission_classes = [IsStaff]

    class InputSerializer(serializers.Serializer):
        school = serializers.IntegerField(required=False, allow_null=True, min_value=1)
        day = BoundedDateField()
        dishes = DishSerializer(many=True)
        publish = serializers.BooleanField(default=False)
        note = serializers.CharField(required=False, allow_blank=True, max_length=255, default="")

    @extend_schema(
        request=InputSerializer,
        responses={201: inline_serializer("MenuSaved", {"id": serializers.IntegerField()})},
    )
    def post(self, request):
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        v = data.validated_data
        school = _menu_school(request.user, v.get("school"))
        menu = services.menu_save(
            school=school,
            day=v["day"],
            dishes=v["dishes"],
            publish=v["publish"],
            note=v["note"],
            actor=request.user,
        )
        return Response({"id": menu.id}, status=status.HTTP_201_CREATED)


def _menu_school(user, school_id):
    from .permissions import can_edit_citywide_menus

    if school_id:
        return school_for_staff(user, school_id)
    if not can_edit_citywide_menus(user):
        raise ApplicationError(
            _("Seule la ville modifie les menus de toutes les écoles."), status_code=403
        )
    return None


class MenuCopyWeekApi(APIView):
    permission_classes = [IsStaff]

    class InputSerializer(serializers.Serializer):
        school = serializers.IntegerField(required=False, allow_null=True, min_value=1)
        source_week = BoundedDateField(help_text="any day of the week to copy")
        target_week = BoundedDateField(help_text="any day of the week to fill")

    @extend_schema(
        request=InputSerializer,
        responses={
            201: inline_serializer(
                "MenusCopied", {"days": serializers.ListField(child=BoundedDateField())}
            )
        },
    )
    def post(self, request):
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        v = data.validated_data
        school = _menu_school(request.user, v.get("school"))
        menus = services.menus_copy_week(
            school=school,
            source_monday=v["source_week"],
            target_monday=v["target_week"],
            actor=request.user,
        )
        return Response(
            {"days": [m.day.isoformat() for m in menus]}, status=status.HTTP_201_CREATED
        )


# --- bookings ------------------------------------------------------------------------------------
class BookingOutput(ModelSerializer):
    price = serializers.SerializerMethodField()

    class Meta:
        model = Booking
        fields = ["id", "child", "day", "status", "variant", "created_at", "cancelled_at", "price"]

    @extend_schema_field(
        inline_serializer(
            "BookingPrice",
            {
                "amount_cents": serializers.IntegerField(),
                "currency": serializers.CharField(),
                "explanation": serializers.CharField(),
            },
            allow_null=True,
        )
    )
    def get_price(self, booking):
        quote = self.context.get("prices", {}).get(booking.id)
        if quote is None:
            return None
        return {
            "amount_cents": quote.amount_cents,
            "currency": quote.currency,
            "explanation": quote.explanation,
        }


RESULT_SCHEMA = inline_serializer(
    "BookingResult",
    {
        "booked": serializers.ListField(child=serializers.DictField()),
        "cancelled": serializers.ListField(child=serializers.DictField()),
        "skipped": serializers.ListField(child=serializers.DictField()),
    },
)


class BookingsApi(APIView):
    """GET: bookings of the children you reach. POST: book days (a list, strict) or a weekday
    pattern over a period (closed and past-deadline days skipped and reported)."""

    pagination_class = Pagination

    permission_classes = [IsFamilyMember]

    class FilterSerializer(serializers.Serializer):
        child = serializers.IntegerField(required=False, min_value=1)
        start = BoundedDateField(required=False)
        end = BoundedDateField(required=False)
        status = serializers.ChoiceField(choices=Booking.Status.choices, required=False)

    class InputSerializer(serializers.Serializer):
        children = serializers.ListField(
            child=serializers.IntegerField(min_value=1), min_length=1, max_length=20
        )
        days = serializers.ListField(child=BoundedDateField(), required=False, max_length=400)
        start = BoundedDateField(required=False)
        end = BoundedDateField(required=False)
        weekdays = serializers.ListField(
            child=serializers.IntegerField(min_value=0, max_value=4),
            required=False,
            max_length=5,
            help_text="0 = Monday … 4 = Friday",
        )

        def validate(self, attrs):
            if attrs.get("days"):
                return attrs
            if not (attrs.get("start") and attrs.get("end") and attrs.get("weekdays")):
                raise serializers.ValidationError(
                    _("Donnez des jours (days) ou une période (start, end, weekdays).")
                )
            return attrs

    @extend_schema(parameters=[FilterSerializer], responses=BookingOutput(many=True))
    def get(self, request):
        params = self.FilterSerializer(data=request.query_params)
        params.is_valid(raise_exception=True)
        v = params.validated_data
        qs = Booking.objects.filter(
            child__in=visible_children(request.user), service__kind="canteen"
        ).order_by("day", "child_id")
        if v.get("child"):
            qs = qs.filter(child=child_for_user(request.user, v["child"]))
        if v.get("start"):
            qs = qs.filter(day__gte=v["start"])
        if v.get("end"):
            qs = qs.filter(day__lte=v["end"])
        if v.get("status"):
            qs = qs.filter(status=v["status"])
        return paginated(
            request,
            self,
            qs,
            BookingOutput,
            context=lambda page: {"prices": selectors.booking_prices(list(page))},
        )

    @extend_schema(request=InputSerializer, responses={201: RESULT_SCHEMA, 200: RESULT_SCHEMA})
    def post(self, request):
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        v = data.validated_data
        children = [child_for_user(request.user, cid) for cid in dict.fromkeys(v["children"])]
        if v.get("days"):
            result = services.bookings_create(
                children=children, days=v["days"], actor=request.user, strict=True
            )
        else:
            result = services.bookings_create_pattern(
                children=children,
                start=v["start"],
                end=v["end"],
                weekdays=v["weekdays"],
                actor=request.user,
            )
        return Response(
            result.as_dict(),
            status=status.HTTP_201_CREATED if result.booked else status.HTTP_200_OK,
        )


class BookingsCancelApi(APIView):
    """Cancel days (a list, strict) or a range (days past their deadline kept and reported)."""

    permission_classes = [IsFamilyMember]

    class InputSerializer(serializers.Serializer):
        child = serializers.IntegerField(min_value=1)
        days = serializers.ListField(child=BoundedDateField(), required=False, max_length=400)
        start = BoundedDateField(required=False)
        end = BoundedDateField(required=False)

        def validate(self, attrs):
            if not attrs.get("days") and not (attrs.get("start") and attrs.get("end")):
                raise serializers.ValidationError(
                    _("Donnez des jours (days) ou une période (start, end).")
                )
            return attrs

    @extend_schema(request=InputSerializer, responses=RESULT_SCHEMA)
    def post(self, request):
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        v = data.validated_data
        child = child_for_user(request.user, v["child"])
        if v.get("days"):
            result = services.bookings_cancel(
                child=child, days=v["days"], actor=request.user, strict=True
            )
        else:
            result = services.bookings_cancel_range(
                child=child, start=v["start"], end=v["end"], actor=request.user
            )
        return Response(result.as_dict())


class BookingsCopyWeekApi(APIView):
    permission_classes = [IsFamilyMember]

    class InputSerializer(serializers.Serializer):
        child = serializers.IntegerField(min_value=1)
        source_week = BoundedDateField()
        target_week = BoundedDateField()

    @extend_schema(request=InputSerializer, responses=RESULT_SCHEMA)
    def post(self, request):
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        v = data.validated_data
        child = child_for_user(request.user, v["child"])
        result = services.bookings_copy_week(
            child=child,
            source_monday=v["source_week"],
            target_monday=v["target_week"],
            actor=request.user,
        )
        return Response(
            result.as_dict(),
            status=status.HTTP_201_CREATED if result.booked else status.HTTP_200_OK,
        )


class CalendarPriceOutput(serializers.Serializer):
    amount_cents = serializers.IntegerField()
    currency = serializers.CharField()
    explanation = serializers.CharField()


class AllergenCheckOutput(serializers.Serializer):
    level = serializers.CharField()
    warning = serializers.BooleanField(source="warn")
    message = serializers.CharField()


class CalendarDayOutput(serializers.Serializer):
    day = serializers.DateField()
    state = serializers.ChoiceField(choices=list(selectors.STATE_LABELS))
    label = serializers.CharField()  # type: ignore[assignment]  # an output field named "label"
    closed_reason = serializers.CharField(allow_null=True)
    deadline = serializers.DateTimeField(allow_null=True)
    deadline_text = serializers.CharField()
    can_book = serializers.BooleanField()
    can_cancel = serializers.BooleanField()
    locked = serializers.BooleanField()
    attendance = serializers.CharField(allow_null=True)
    variant = serializers.SerializerMethodField()
    price = CalendarPriceOutput(allow_null=True)
    notes = serializers.ListField(
        child=serializers.CharField(),
        help_text="Remarks on the day, e.g. a health declaration awaiting validation",
    )
    allergen_check = AllergenCheckOutput(source="safety", allow_null=True)

    def get_variant(self, day) -> str | None:
        return day.variant if day.state != "closed" else None


class ChildCalendarOutput(serializers.Serializer):
    child = serializers.IntegerField()
    month = serializers.CharField(help_text="YYYY-MM")
    days = CalendarDayOutput(many=True)


def calendar_day_data(day: selectors.CalendarDay) -> dict[str, Any]:
    """What :class:`CalendarDayOutput` answers for one day, written out by hand.

    The month calendar is the families' most read page; DRF's field machinery cost ≈ 2 ms of
    its ≈ 13 for 30 days. The serializer stays the contract (OpenAPI schema) and a property
    test (tests/canteen/test_calendar_output.py) checks both give the same answer."""
    price, safety = day.price, day.safety
    return {
        "day": day.day.isoformat(),
        "state": day.state,
        "label": str(day.label),
        "closed_reason": None if day.closed_reason is None else str(day.closed_reason),
        "deadline": None
        if day.deadline is None
        else _DATETIME_OUTPUT.to_representation(day.deadline),
        "deadline_text": str(day.deadline_text),
        "can_book": bool(day.can_book),
        "can_cancel": bool(day.can_cancel),
        "locked": bool(day.locked),
        "attendance": None if day.attendance is None else str(day.attendance),
        "variant": day.variant if day.state != "closed" else None,
        "price": None
        if price is None
        else {
            "amount_cents": int(price.amount_cents),
            "currency": str(price.currency),
            "explanation": str(price.explanation),
        },
        "notes": [str(note) for note in day.notes],
        "allergen_check": None
        if safety is None
        else {
            "level": str(safety.level),
            "warning": bool(safety.warn),
            "message": str(safety.message),
        },
    }


# DRF's own datetime output (current time zone, ISO 8601, "Z" for UTC), without a serializer.
_DATETIME_OUTPUT = serializers.DateTimeField()


class ChildCalendarApi(APIView):
    """The month calendar of one child: state, deadline, price explanation and allergen check."""

    permission_classes = [IsFamilyMember]

    @extend_schema(parameters=[MonthFilter], responses=ChildCalendarOutput)
    def get(self, request, child_id: int):
        child = child_for_user(request.user, child_id)
        year, mon, month = month_from_query(request.query_params)
        days = selectors.child_month_calendar(child=child, year=year, month=mon)
        services.staff_read_record(
            user=request.user,
            action="canteen.calendar.view",
            target=child,
            household_id=child.household_id,
            data={"month": month},
        )
        return Response(
            {"child": child.id, "month": month, "days": [calendar_day_data(d) for d in days]}
        )


class PriceApi(APIView):
    permission_classes = [IsFamilyMember]

    class FilterSerializer(serializers.Serializer):
        child = serializers.IntegerField(min_value=1)
        day = BoundedDateField()
        unbooked = serializers.BooleanField(default=False)

    @extend_schema(
        parameters=[FilterSerializer],
        responses=inline_serializer(
            "MealPrice",
            {
                "amount_cents": serializers.IntegerField(),
                "currency": serializers.CharField(),
                "explanation": serializers.CharField(),
                "kind": serializers.CharField(),
            },
        ),
    )
    def get(self, request):
        params = self.FilterSerializer(data=request.query_params)
        params.is_valid(raise_exception=True)
        v = params.validated_data
        child = child_for_user(request.user, v["child"])
        quote = selectors.meal_price(child=child, day=v["day"], unbooked=v["unbooked"])
        return Response(
            {
                "amount_cents": quote.amount_cents,
                "currency": quote.currency,
                "explanation": quote.explanation,
                "kind": quote.kind,
                "bracket": quote.bracket,
                "sibling_rank": quote.sibling_rank,
                "resident": quote.resident,
            }
        )


# --- staff ---------------------------------------------------------------------------------------
class AttendanceApi(APIView):
    """GET: the roll sheet of a school day. POST: take the roll (locks the day)."""

    permission_classes = [IsStaff]

    class FilterSerializer(serializers.Serializer):
        school = serializers.IntegerField(min_value=1)
        day = BoundedDateField(required=False)

    class RecordSerializer(serializers.Serializer):
        child = serializers.IntegerField(min_value=1)
        status = serializers.ChoiceField(choices=AttendanceRecord.Status.choices)

    class InputSerializer(serializers.Serializer):
        school = serializers.IntegerField(min_value=1)
        day = BoundedDateField()
        records = serializers.ListField(child=serializers.DictField(), max_length=2000)

    @extend_schema(
        parameters=[FilterSerializer],
        responses=inline_serializer(
            "RollSheet",
            {
                "school": serializers.IntegerField(),
                "day": BoundedDateField(),
                "taken": serializers.BooleanField(),
                "children": serializers.ListField(child=serializers.DictField()),
            },
        ),
    )
    def get(self, request):
        params = self.FilterSerializer(data=request.query_params)
        params.is_valid(raise_exception=True)
        school = school_for_staff(request.user, params.validated_data["school"])
        day = params.validated_data.get("day") or timezone.localdate()
        roll, rows = selectors.roll_sheet(school=school, day=day)
        services.staff_read_record(
            user=request.user,
            action="canteen.roll.view",
            target=school,
            data={"day": day.isoformat()},
        )
        return Response(
            {
                "school": school.id,
                "day": day.isoformat(),
                "taken": roll is not None,
                "children": [
                    {
                        "child": r["child"].id,
                        "name": str(r["child"]),
                        "class_name": r["child"].class_name,
                        "booked": r["booked"],
                        "variant": r["variant"],
                        "status": r["status"],
                    }
                    for r in rows
                ],
            }
        )

    @extend_schema(
        request=InputSerializer,
        responses={201: inline_serializer("RollTaken", {"roll": serializers.IntegerField()})},
    )
    def post(self, request):
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        v = data.validated_data
        school = school_for_staff(request.user, v["school"])
        statuses = {}
        for raw in v["records"]:
            rec = self.RecordSerializer(data=raw)
            rec.is_valid(raise_exception=True)
            statuses[rec.validated_data["child"]] = rec.validated_data["status"]
        roll = services.roll_take(
            school=school, day=v["day"], statuses=statuses, actor=request.user
        )
        return Response({"roll": roll.id}, status=status.HTTP_201_CREATED)


class ForecastRowOutput(serializers.Serializer):
    school_id = serializers.IntegerField()
    school_code = serializers.CharField()
    school = serializers.CharField()
    day = serializers.DateField()
    variant = serializers.CharField()
    meals = serializers.IntegerField()


class KitchenForecastOutput(serializers.Serializer):
    start = serializers.DateField()
    rows = ForecastRowOutput(many=True)


class KitchenEntryOutput(serializers.Serializer):
    child_id = serializers.IntegerField()
    name = serializers.CharField()
    class_name = serializers.CharField()
    allergies = serializers.ListField(child=serializers.CharField())
    has_pai = serializers.BooleanField()
    variant = serializers.CharField()
    level = serializers.CharField()
    action = serializers.CharField()
    pending = serializers.CharField(
        help_text="Declared by the family, awaiting validation (empty when all is validated)"
    )


class KitchenListOutput(serializers.Serializer):
    school = serializers.IntegerField()
    day = serializers.DateField()
    children = KitchenEntryOutput(many=True)


class ForecastApi(APIView):
    """Meals per school, day and variant for the coming days, from bookings (staff: their schools)."""

    permission_classes = [IsStaff]

    class FilterSerializer(serializers.Serializer):
        start = BoundedDateField(required=False)
        days = serializers.IntegerField(required=False, min_value=1, max_value=31, default=1)
        school = serializers.IntegerField(required=False, min_value=1)

    @extend_schema(parameters=[FilterSerializer], responses=KitchenForecastOutput)
    def get(self, request):
        params = self.FilterSerializer(data=request.query_params)
        params.is_valid(raise_exception=True)
        v = params.validated_data
        start = v.get("start") or timezone.localdate() + dt.timedelta(days=1)
        if v.get("school"):
            school_ids = [school_for_staff(request.user, v["school"]).id]
        else:
            school_ids = list(staff_schools(request.user).values_list("id", flat=True))
        rows = forecasts.forecast_rows(
            start=start, end=start + dt.timedelta(days=v["days"] - 1), school_ids=school_ids
        )
        return Response(KitchenForecastOutput({"start": start, "rows": rows}).data)


class KitchenListApi(APIView):
    permission_classes = [IsStaff]

    class FilterSerializer(serializers.Serializer):
        school = serializers.IntegerField(min_value=1)
        day = BoundedDateField(required=False)

    @extend_schema(parameters=[FilterSerializer], responses=KitchenListOutput)
    def get(self, request):
        params = self.FilterSerializer(data=request.query_params)
        params.is_valid(raise_exception=True)
        school = school_for_staff(request.user, params.validated_data["school"])
        day = params.validated_data.get("day") or timezone.localdate() + dt.timedelta(days=1)
        entries = selectors.kitchen_daily_list(school=school, day=day)
        services.staff_read_record(
            user=request.user,
            action="canteen.kitchen_list.view",
            target=school,
            data={"day": day.isoformat()},
        )
        return Response(
            KitchenListOutput({"school": school.id, "day": day, "children": entries}).data
        )
