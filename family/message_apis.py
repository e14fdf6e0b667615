"""REST endpoints of the messages between families and schools (``/api/v1/messages/...``).

Access through ``family.permissions`` (a thread out of reach answers 404), writes through
``family.services.messages`` (business errors answer 400 with ``{"message", "extra"}``).
"""

from __future__ import annotations

from django.http import Http404
from django.utils.translation import gettext as _
from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.parsers import FormParser, MultiPartParser
from rest_framework.response import Response
from rest_framework.views import APIView

from backend.accounts.models import User
from backend.core.access import (
    IsFamilyMember,
    IsParent,
    IsStaff,
    get_or_404,
    is_parent,
)
from backend.core.api import ModelSerializer, Pagination, paginated
from backend.core.exceptions import ApplicationError
from backend.core.parsers import LimitedJSONParser

from . import message_selectors as selectors
from . import permissions as perms
from .downloads import message_attachment_response
from .message_models import (
    APPOINTMENT_ACTIONS,
    THREAD_ACTIONS,
    AppointmentRequest,
    Message,
    MessageThread,
    OfficeSlot,
)
from .services import messages as services

# --- output shapes -------------------------------------------------------------------------------


class MessageOut(ModelSerializer):
    author_name = serializers.SerializerMethodField()
    has_attachment = serializers.SerializerMethodField()

    class Meta:
        model = Message
        fields = [
            "id",
            "created_at",
            "from_school",
            "author_name",
            "body",
            "has_attachment",
            "attachment_content_type",
            "attachment_size",
        ]

    def get_author_name(self, obj: Message) -> str:
        return obj.author.get_full_name() if obj.author else ""

    def get_has_attachment(self, obj: Message) -> bool:
        return bool(obj.attachment)


class OfficeSlotOut(ModelSerializer):
    end_time = serializers.TimeField(read_only=True)

    class Meta:
        model = OfficeSlot
        fields = ["id", "school", "date", "start_time", "end_time", "duration_minutes", "capacity"]


class AppointmentOut(ModelSerializer):
    slot = OfficeSlotOut()

    class Meta:
        model = AppointmentRequest
        fields = ["id", "thread", "slot", "state", "reason", "created_at", "decided_at"]


class ThreadOut(ModelSerializer):
    school_name = serializers.CharField(source="school.name")
    household_name = serializers.CharField(source="household.name")
    unread = serializers.SerializerMethodField()

    class Meta:
        model = MessageThread
        fields = [
            "id",
            "subject",
            "status",
            "school",
            "school_name",
            "household",
            "household_name",
            "application",
            "assigned_to",
            "last_message_at",
            "closed_at",
            "unread",
        ]

    def get_unread(self, obj: MessageThread) -> bool:
        user = self.context.get("user")
        return obj.unread_for_family if is_parent(user) else obj.unread_for_school


class ThreadDetailOut(ThreadOut):
    messages = MessageOut(many=True, read_only=True)
    appointments = AppointmentOut(many=True, read_only=True)

    class Meta(ThreadOut.Meta):
        fields = [*ThreadOut.Meta.fields, "messages", "appointments"]


def _thread_detail(request, thread: MessageThread) -> Response:
    thread = (
        MessageThread.objects.select_related("school", "household")
        .prefetch_related("messages__author", "appointments__slot")
        .get(pk=thread.pk)
    )
    return Response(ThreadDetailOut(thread, context={"user": request.user}).data)


# --- threads ---------------------------------------------------------------------------------


class ThreadListApi(APIView):
    """Parents: their household's threads; staff: their schools' inbox (filters); admins: all."""

    permission_classes = [IsFamilyMember]
    pagination_class = Pagination
    parser_classes = [MultiPartParser, FormParser, LimitedJSONParser]

    class FilterSerializer(serializers.Serializer):
        status = serializers.ChoiceField(  # type: ignore[assignment]
            choices=MessageThread.Status.choices, required=False
        )
        assigned = serializers.ChoiceField(choices=["me", "nobody"], required=False)
        school = serializers.IntegerField(required=False, min_value=1)

    class InputSerializer(serializers.Serializer):
        school = serializers.IntegerField(min_value=1)
        application = serializers.IntegerField(min_value=1, required=False, allow_null=True)
        subject = serializers.CharField(max_length=200)
        body = serializers.CharField(max_length=services.MAX_BODY)
        attachment = serializers.FileField(required=False)
        client_token = serializers.UUIDField(required=False, allow_null=True)

    @extend_schema(
        parameters=[FilterSerializer],
        responses={200: ThreadOut(many=True)},
    )
    def get(self, request):
        filters = self.FilterSerializer(data=request.query_params)
        filters.is_valid(raise_exception=True)
        data = filters.validated_data
        threads = selectors.inbox(
            request.user,
            status=data.get("status", ""),
            assigned=data.get("assigned", ""),
            school_id=data.get("school"),
        )
        return paginated(request, self, threads, ThreadOut, context={"user": request.user})

    @extend_schema(request=InputSerializer, responses={201: ThreadDetailOut})
    def post(self, request):
        if not is_parent(request.user):
            raise Http404
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        values = data.validated_data
        school = get_or_404(perms.message_schools_for_parent(request.user), values["school"])
        application = None
        if values.get("application"):
            application = get_or_404(
                perms.applications_for_user(request.user), values["application"]
            )
        thread = services.thread_start(
            actor=request.user,
            school=school,
            application=application,
            subject=values["subject"],
            body=values["body"],
            attachment=values.get("attachment"),
            client_token=values.get("client_token"),
        )
        response = _thread_detail(request, thread)
        response.status_code = status.HTTP_201_CREATED
        return response


class ThreadDetailApi(APIView):
    permission_classes = [IsFamilyMember]

    @extend_schema(responses={200: ThreadDetailOut})
    def get(self, request, thread_id: int):
        thread = perms.thread_for_user(request.user, thread_id)
        services.thread_mark_read(actor=request.user, thread=thread)
        return _thread_detail(request, thread)


class MessagePostApi(APIView):
    """A reply. Send a ``client_token`` (a UUID per message): the same token twice stores one
    message and answers it both times."""

    permission_classes = [IsFamilyMember]
    parser_classes = [MultiPartParser, FormParser, LimitedJSONParser]

    class InputSerializer(serializers.Serializer):
        body = serializers.CharField(max_length=services.MAX_BODY)
        attachment = serializers.FileField(required=False)
        client_token = serializers.UUIDField(required=False, allow_null=True)

    @extend_schema(request=InputSerializer, responses={201: MessageOut})
    def post(self, request, thread_id: int):
        thread = perms.thread_for_user(request.user, thread_id)
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        message = services.message_post(
            actor=request.user,
            thread=thread,
            body=data.validated_data["body"],
            attachment=data.validated_data.get("attachment"),
            client_token=data.validated_data.get("client_token"),
        )
        return Response(MessageOut(message).data, status=status.HTTP_201_CREATED)


class ThreadAssignApi(APIView):
    permission_classes = [IsStaff]

    class InputSerializer(serializers.Serializer):
        assigned_to = serializers.IntegerField(min_value=1, allow_null=True)

    @extend_schema(request=InputSerializer, responses={200: ThreadOut})
    def post(self, request, thread_id: int):
        thread = perms.thread_for_staff(request.user, thread_id)
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        assignee = None
        if data.validated_data["assigned_to"] is not None:
            assignee = User.objects.filter(
                pk=data.validated_data["assigned_to"], staff_schools=thread.school_id
            ).first()
            if assignee is None:
                raise ApplicationError(
                    _("Choisissez un membre du personnel de cette école."),
                    {"field": "assigned_to"},
                )
        thread = services.thread_assign(actor=request.user, thread=thread, assignee=assignee)
        return Response(ThreadOut(thread, context={"user": request.user}).data)


class ThreadStatusApi(APIView):
    permission_classes = [IsStaff]

    class InputSerializer(serializers.Serializer):
        action = serializers.ChoiceField(choices=THREAD_ACTIONS)

    @extend_schema(request=InputSerializer, responses={200: ThreadOut})
    def post(self, request, thread_id: int):
        thread = perms.thread_for_staff(request.user, thread_id)
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        if data.validated_data["action"] == "close":
            thread = services.thread_close(actor=request.user, thread=thread)
        else:
            thread = services.thread_reopen(actor=request.user, thread=thread)
        return Response(ThreadOut(thread, context={"user": request.user}).data)


class MessageAttachmentApi(APIView):
    permission_classes = [IsFamilyMember]

    @extend_schema(responses={(200, "application/octet-stream"): bytes})
    def get(self, request, message_id: int):
        return message_attachment_response(perms.message_for_user(request.user, message_id))


# --- appointments ----------------------------------------------------------------------------


class OfficeSlotListApi(APIView):
    """Staff: the slots of their schools from today on; they publish new ones.
    Parents: the open slots of one of their schools (``?school=``)."""

    permission_classes = [IsFamilyMember]
    pagination_class = Pagination

    class FilterSerializer(serializers.Serializer):
        school = serializers.IntegerField(required=False, min_value=1)

    class InputSerializer(serializers.Serializer):
        school = serializers.IntegerField(min_value=1)
        date = serializers.DateField()
        start_time = serializers.TimeField()
        duration_minutes = serializers.IntegerField(min_value=5, max_value=240, default=20)
        capacity = serializers.IntegerField(min_value=1, max_value=50, default=1)

    @extend_schema(parameters=[FilterSerializer], responses={200: OfficeSlotOut(many=True)})
    def get(self, request):
        filters = self.FilterSerializer(data=request.query_params)
        filters.is_valid(raise_exception=True)
        school_id = filters.validated_data.get("school")
        if is_parent(request.user):
            if school_id is None:
                raise ApplicationError(_("Indiquez l'école."), {"field": "school"})
            school = get_or_404(perms.message_schools_for_parent(request.user), school_id)
            return paginated(request, self, selectors.open_slots(school.pk), OfficeSlotOut)
        slots = selectors.staff_slots(request.user)
        if school_id is not None:
            slots = slots.filter(school_id=school_id)
        return paginated(request, self, slots, OfficeSlotOut)

    @extend_schema(request=InputSerializer, responses={201: OfficeSlotOut})
    def post(self, request):
        if is_parent(request.user):
            raise Http404
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        values = dict(data.validated_data)
        values["school"] = get_or_404(perms.schools_for_user(request.user), values["school"])
        slot = services.office_slot_create(actor=request.user, **values)
        return Response(OfficeSlotOut(slot).data, status=status.HTTP_201_CREATED)


class AppointmentRequestApi(APIView):
    permission_classes = [IsParent]

    class InputSerializer(serializers.Serializer):
        slot = serializers.IntegerField(min_value=1)

    @extend_schema(request=InputSerializer, responses={201: AppointmentOut})
    def post(self, request, thread_id: int):
        thread = perms.thread_for_parent(request.user, thread_id)
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        slot = get_or_404(perms.office_slots_for_user(request.user), data.validated_data["slot"])
        appointment = services.appointment_request(actor=request.user, thread=thread, slot=slot)
        return Response(AppointmentOut(appointment).data, status=status.HTTP_201_CREATED)


class AppointmentActionApi(APIView):
    """Staff ``confirm`` or ``decline`` (with a reason); the family ``cancel``."""

    permission_classes = [IsFamilyMember]

    class InputSerializer(serializers.Serializer):
        action = serializers.ChoiceField(choices=APPOINTMENT_ACTIONS)
        reason = serializers.CharField(max_length=300, required=False, allow_blank=True, default="")

    @extend_schema(request=InputSerializer, responses={200: AppointmentOut})
    def post(self, request, appointment_id: int):
        appointment = perms.appointment_for_user(request.user, appointment_id)
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        action = data.validated_data["action"]
        if action == "confirm":
            appointment = services.appointment_confirm(actor=request.user, appointment=appointment)
        elif action == "decline":
            appointment = services.appointment_decline(
                actor=request.user, appointment=appointment, reason=data.validated_data["reason"]
            )
        else:
            appointment = services.appointment_cancel(actor=request.user, appointment=appointment)
        return Response(AppointmentOut(appointment).data)
