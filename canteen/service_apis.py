"""REST endpoints of the daily-services engine under ``/api/v1/services/``.

The canteen keeps its own endpoints under ``/api/v1/canteen/``; these cover every service: the
catalogue, a child's month calendar with all services, booking patterns across services,
holiday-centre weeks, cancellations, rolls and forecasts with staff ratios.
"""

from __future__ import annotations

from django.http import Http404
from django.utils import timezone
from django.utils.translation import gettext as _
from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.response import Response
from rest_framework.views import APIView

from backend.core.access import IsFamilyMember, IsStaff
from backend.core.api import ModelSerializer
from backend.core.exceptions import ApplicationError

from . import calendar as services_calendar
from . import forecasts, selectors, services
from .api_fields import BoundedDateField, MonthFilter, _range, month_from_query
from .models import AttendanceRecord, Service, Unit
from .permissions import child_for_user, school_for_staff, staff_schools


def service_or_404(service_id) -> Service:
    try:
        return Service.objects.select_related("site").get(pk=int(service_id), is_active=True)
    except (Service.DoesNotExist, ValueError, TypeError):
        raise Http404


def units_or_404(unit_ids) -> list[Unit]:
    units = {
        u.id: u
        for u in Unit.objects.filter(id__in=set(unit_ids), service__is_active=True).select_related(
            "service", "service__site"
        )
    }
    if set(unit_ids) - set(units):
        raise Http404
    return [units[i] for i in dict.fromkeys(unit_ids)]


# --- output serializers -----------------------------------------------------------------------
class ServiceUnitOutput(ModelSerializer):
    class Meta:
        model = Unit
        fields = ["id", "code", "name", "kind", "includes_meal", "capacity"]


class ServiceOutput(ModelSerializer):
    units = ServiceUnitOutput(many=True, read_only=True)
    site = serializers.IntegerField(source="site_id", allow_null=True)

    class Meta:
        model = Service
        fields = ["id", "code", "name", "kind", "weekdays", "site", "min_age", "max_age", "units"]


class ServicePriceOutput(serializers.Serializer):
    amount_cents = serializers.IntegerField()
    currency = serializers.CharField()
    explanation = serializers.CharField()


class ServiceCellOutput(serializers.Serializer):
    service = serializers.CharField(source="service.code")
    service_name = serializers.CharField(source="service.name")
    state = serializers.CharField()
    label = serializers.CharField()  # type: ignore[assignment]  # an output field named "label"
    unit = serializers.IntegerField(source="unit.id", allow_null=True, default=None)
    reason = serializers.CharField()
    deadline = serializers.DateTimeField(allow_null=True)
    deadline_text = serializers.CharField()
    can_book = serializers.BooleanField()
    can_cancel = serializers.BooleanField()
    locked = serializers.BooleanField()
    price = ServicePriceOutput(allow_null=True)
    seats_left = serializers.DictField(child=serializers.IntegerField(allow_null=True))


class ServicesCanteenCellOutput(serializers.Serializer):
    state = serializers.CharField()
    label = serializers.CharField()  # type: ignore[assignment]  # an output field named "label"
    closed_reason = serializers.CharField(allow_null=True)
    deadline = serializers.DateTimeField(allow_null=True)
    deadline_text = serializers.CharField()
    can_book = serializers.BooleanField()
    can_cancel = serializers.BooleanField()
    price = ServicePriceOutput(allow_null=True)


class ServicesDayOutput(serializers.Serializer):
    day = serializers.DateField()
    canteen = ServicesCanteenCellOutput(allow_null=True)
    services = ServiceCellOutput(source="cells", many=True)


class ServicesCalendarOutput(serializers.Serializer):
    child = serializers.IntegerField()
    month = serializers.CharField()
    days = ServicesDayOutput(many=True)


class ServiceDayRefOutput(serializers.Serializer):
    child = serializers.IntegerField()
    day = serializers.DateField()


class ServiceSkippedOutput(ServiceDayRefOutput):
    reason = serializers.CharField()


class ServiceBookingResultOutput(serializers.Serializer):
    booked = ServiceDayRefOutput(many=True)
    waiting = ServiceDayRefOutput(many=True)
    cancelled = ServiceDayRefOutput(many=True)
    skipped = ServiceSkippedOutput(many=True)


class ServiceRollRowOutput(serializers.Serializer):
    child = serializers.IntegerField(source="child.id")
    name = serializers.CharField(source="child")
    class_name = serializers.CharField(source="child.class_name")
    booked = serializers.BooleanField()
    unit = serializers.CharField()
    status = serializers.CharField(allow_null=True)


class ServiceRollOutput(serializers.Serializer):
    service = serializers.CharField()
    school = serializers.IntegerField()
    day = serializers.DateField()
    taken = serializers.BooleanField()
    children = ServiceRollRowOutput(many=True)


class ServiceForecastRowOutput(serializers.Serializer):
    service = serializers.CharField()
    service_name = serializers.CharField()
    site_id = serializers.IntegerField()
    site = serializers.CharField()
    day = serializers.DateField()
    children = serializers.IntegerField()
    under_six = serializers.IntegerField()
    from_six = serializers.IntegerField()
    staff = serializers.IntegerField()
    waiting = serializers.IntegerField()


def _result(result, code=status.HTTP_200_OK) -> Response:
    return Response(ServiceBookingResultOutput(result.as_dict()).data, status=code)


# --- endpoints ----------------------------------------------------------------------------------
class ServiceListApi(APIView):
    """The active daily services with their units."""

    permission_classes = [IsFamilyMember]

    @extend_schema(responses=ServiceOutput(many=True))
    def get(self, request):
        qs = Service.objects.filter(is_active=True).prefetch_related("units")
        return Response(ServiceOutput(qs, many=True).data)


class ChildServicesCalendarApi(APIView):
    """Every service of a child on one month: per day each service's state, deadline, price."""

    permission_classes = [IsFamilyMember]

    @extend_schema(parameters=[MonthFilter], responses=ServicesCalendarOutput)
    def get(self, request, child_id: int):
        child = child_for_user(request.user, child_id)
        year, mon, month = month_from_query(request.query_params)
        days = services_calendar.child_services_month(child=child, year=year, month=mon)
        services.staff_read_record(
            user=request.user,
            action="services.calendar.view",
            target=child,
            household_id=child.household_id,
            data={"month": month},
        )
        return Response(
            ServicesCalendarOutput({"child": child.id, "month": month, "days": days}).data
        )


class ServiceBookingsApi(APIView):
    """Book units of any services: a list of days (strict), or a weekday pattern over a period
    across services ("every Monday and Thursday: canteen + evening care")."""

    permission_classes = [IsFamilyMember]

    class InputSerializer(serializers.Serializer):
        children = serializers.ListField(
            child=serializers.IntegerField(min_value=1), min_length=1, max_length=20
        )
        units = serializers.ListField(
            child=serializers.IntegerField(min_value=1), min_length=1, max_length=10
        )
        days = serializers.ListField(child=BoundedDateField(), required=False, max_length=400)
        start = BoundedDateField(required=False)
        end = BoundedDateField(required=False)
        weekdays = serializers.ListField(
            child=serializers.IntegerField(min_value=0, max_value=6),
            required=False,
            max_length=7,
            help_text="0 = Monday … 6 = Sunday",
        )
        waitlist = serializers.BooleanField(default=True)

        def validate(self, attrs):
            if attrs.get("days"):
                return attrs
            if not (attrs.get("start") and attrs.get("end") and attrs.get("weekdays")):
                raise serializers.ValidationError(
                    _("Donnez des jours (days) ou une période (start, end, weekdays).")
                )
            return attrs

    @extend_schema(
        request=InputSerializer,
        responses={201: ServiceBookingResultOutput, 200: ServiceBookingResultOutput},
    )
    def post(self, request):
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        v = data.validated_data
        children = [child_for_user(request.user, cid) for cid in dict.fromkeys(v["children"])]
        units = units_or_404(v["units"])
        if v.get("days"):
            if len({u.service_id for u in units}) != len(units):
                raise ApplicationError(_("Une seule unité par service et par jour."))
            result = services.requests_book(
                requests=[
                    services.Request(c, u, d) for c in children for u in units for d in v["days"]
                ],
                actor=request.user,
                strict=True,
                waitlist=v["waitlist"],
            )
        else:
            _range(v["start"], v["end"])
            result = services.bookings_create_plan(
                children=children,
                start=v["start"],
                end=v["end"],
                weekdays=v["weekdays"],
                units=units,
                actor=request.user,
            )
        done = result.booked or result.waiting
        return _result(result, status.HTTP_201_CREATED if done else status.HTTP_200_OK)


class HolidayWeekApi(APIView):
    """Book the open days of one week of a holiday centre (a full day joins the waiting list)."""

    permission_classes = [IsFamilyMember]

    class InputSerializer(serializers.Serializer):
        child = serializers.IntegerField(min_value=1)
        unit = serializers.IntegerField(min_value=1)
        week = BoundedDateField(help_text="any day of the week")

    @extend_schema(
        request=InputSerializer,
        responses={201: ServiceBookingResultOutput, 200: ServiceBookingResultOutput},
    )
    def post(self, request):
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        v = data.validated_data
        child = child_for_user(request.user, v["child"])
        (unit,) = units_or_404([v["unit"]])
        result = services.holiday_week_book(
            child=child, unit=unit, monday=v["week"], actor=request.user
        )
        done = result.booked or result.waiting
        return _result(result, status.HTTP_201_CREATED if done else status.HTTP_200_OK)


class ServiceCancelApi(APIView):
    """Cancel booked or waiting days of one service (strict with ``days``, lenient with a range)."""

    permission_classes = [IsFamilyMember]

    class InputSerializer(serializers.Serializer):
        child = serializers.IntegerField(min_value=1)
        service = serializers.IntegerField(min_value=1)
        days = serializers.ListField(child=BoundedDateField(), min_length=1, max_length=400)

    @extend_schema(request=InputSerializer, responses=ServiceBookingResultOutput)
    def post(self, request):
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        v = data.validated_data
        child = child_for_user(request.user, v["child"])
        service = service_or_404(v["service"])
        result = services.bookings_cancel(
            child=child, days=v["days"], service=service, actor=request.user
        )
        return _result(result)


class ServiceRollApi(APIView):
    """GET: the roll sheet of a service at a site on a day. POST: take it (locks billing)."""

    permission_classes = [IsStaff]

    class FilterSerializer(serializers.Serializer):
        service = serializers.IntegerField(min_value=1)
        school = serializers.IntegerField(min_value=1)
        day = BoundedDateField(required=False)

    class RecordSerializer(serializers.Serializer):
        child = serializers.IntegerField(min_value=1)
        status = serializers.ChoiceField(choices=AttendanceRecord.Status.choices)

    class InputSerializer(serializers.Serializer):
        service = serializers.IntegerField(min_value=1)
        school = serializers.IntegerField(min_value=1)
        day = BoundedDateField()
        records = serializers.ListField(child=serializers.DictField(), max_length=2000)

    @extend_schema(parameters=[FilterSerializer], responses=ServiceRollOutput)
    def get(self, request):
        params = self.FilterSerializer(data=request.query_params)
        params.is_valid(raise_exception=True)
        v = params.validated_data
        school = school_for_staff(request.user, v["school"])
        service = service_or_404(v["service"])
        day = v.get("day") or timezone.localdate()
        roll, rows = selectors.service_roll_sheet(service=service, school=school, day=day)
        services.staff_read_record(
            user=request.user,
            action="services.roll.view",
            target=school,
            data={"day": day.isoformat(), "service": service.code},
        )
        return Response(
            ServiceRollOutput(
                {
                    "service": service.code,
                    "school": school.id,
                    "day": day,
                    "taken": roll is not None,
                    "children": rows,
                }
            ).data
        )

    @extend_schema(request=InputSerializer, responses={201: ServiceRollOutput})
    def post(self, request):
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        v = data.validated_data
        school = school_for_staff(request.user, v["school"])
        service = service_or_404(v["service"])
        statuses = {}
        for raw in v["records"]:
            rec = self.RecordSerializer(data=raw)
            rec.is_valid(raise_exception=True)
            statuses[rec.validated_data["child"]] = rec.validated_data["status"]
        services.roll_take(
            school=school, day=v["day"], statuses=statuses, service=service, actor=request.user
        )
        roll, rows = selectors.service_roll_sheet(service=service, school=school, day=v["day"])
        return Response(
            ServiceRollOutput(
                {
                    "service": service.code,
                    "school": school.id,
                    "day": v["day"],
                    "taken": roll is not None,
                    "children": rows,
                }
            ).data,
            status=status.HTTP_201_CREATED,
        )


class ServiceForecastApi(APIView):
    """Children per service, site and day with the adults the ratios require (your schools)."""

    permission_classes = [IsStaff]

    class FilterSerializer(serializers.Serializer):
        start = BoundedDateField(required=False)
        end = BoundedDateField(required=False)

    @extend_schema(parameters=[FilterSerializer], responses=ServiceForecastRowOutput(many=True))
    def get(self, request):
        params = self.FilterSerializer(data=request.query_params)
        params.is_valid(raise_exception=True)
        start, end = _range(
            params.validated_data.get("start") or timezone.localdate(),
            params.validated_data.get("end"),
        )
        ids = list(staff_schools(request.user).values_list("id", flat=True))
        frame = forecasts.service_forecast(start=start, end=end, school_ids=ids)
        return Response(ServiceForecastRowOutput(frame.to_dict(orient="records"), many=True).data)
