"""REST endpoints of the family module: one APIView per operation.

Access always goes through ``family.permissions`` (foreign objects answer 404); writes go
through ``family.services`` (business errors answer 400 with ``{"message", "extra"}``).
"""

from __future__ import annotations

from django.db.models import Prefetch
from django.http import Http404
from django.utils.translation import gettext as _
from drf_spectacular.utils import OpenApiParameter, extend_schema, inline_serializer
from rest_framework import serializers, status
from rest_framework.parsers import FormParser, MultiPartParser
from rest_framework.response import Response
from rest_framework.views import APIView

from backend.core.access import FAMILY_ROLES, PARENT_ROLES, STAFF_ROLES, is_parent, require_role
from backend.core.allergens import Allergen
from backend.core.api import ModelSerializer, Pagination, paginated
from backend.core.exceptions import ApplicationError

from . import permissions as perms
from . import selectors, services
from .downloads import document_file_response
from .models import (
    Activity,
    ActivityRegistration,
    ApplicationEvent,
    ChangeRequest,
    Child,
    ChildGuardian,
    Document,
    DocumentKind,
    EmergencyContact,
    Guardian,
    GuardianInvitation,
    Household,
    IncomeAssessment,
    School,
    SchoolApplication,
    SchoolYear,
)

# --- shared output shapes ------------------------------------------------------------------


class SchoolOut(ModelSerializer):
    class Meta:
        model = School
        fields = [
            "id",
            "code",
            "name",
            "kind",
            "address_line",
            "postal_code",
            "city",
            "phone",
            "email",
        ]


class GuardianshipOut(ModelSerializer):
    guardian_id = serializers.IntegerField()
    guardian_email = serializers.EmailField(source="guardian.user.email")

    class Meta:
        model = ChildGuardian
        fields = [
            "id",
            "guardian_id",
            "guardian_email",
            "legal_guardian",
            "billing_payer",
            "may_pick_up",
            "receives_notifications",
            "custody_weeks",
            "billing_share_percent",
        ]


class ChildOut(ModelSerializer):
    school = SchoolOut(allow_null=True)
    allergy_labels = serializers.ListField(source="allergen_labels", child=serializers.CharField())
    pending_change_requests = serializers.SerializerMethodField()

    class Meta:
        model = Child
        fields = [
            "id",
            "household_id",
            "first_name",
            "last_name",
            "birth_date",
            "school",
            "class_name",
            "allergies",
            "allergy_labels",
            "diet",
            "custody",
            "pending_change_requests",
        ]

    def get_pending_change_requests(self, child) -> list[int]:
        return [c.pk for c in child.change_requests.all() if c.state == ChangeRequest.State.PENDING]


class CarePlanOut(serializers.Serializer):
    id = serializers.IntegerField()
    valid_from = serializers.DateField()
    valid_until = serializers.DateField()
    packed_lunch = serializers.BooleanField()
    instructions = serializers.CharField()
    doctor_name = serializers.CharField()
    document_id = serializers.IntegerField(allow_null=True)


class ChildDetailOut(ChildOut):
    guardianships = GuardianshipOut(many=True)
    care_plans = CarePlanOut(many=True)

    class Meta(ChildOut.Meta):
        fields = [*ChildOut.Meta.fields, "guardianships", "care_plans"]


class GuardianOut(ModelSerializer):
    email = serializers.EmailField(source="user.email")
    first_name = serializers.CharField(source="user.first_name")
    last_name = serializers.CharField(source="user.last_name")

    class Meta:
        model = Guardian
        fields = ["id", "email", "first_name", "last_name", "relationship"]


class ContactOut(ModelSerializer):
    class Meta:
        model = EmergencyContact
        fields = ["id", "name", "relationship", "phone", "may_pick_up", "call_in_emergency"]


class InvitationOut(ModelSerializer):
    class Meta:
        model = GuardianInvitation
        fields = [
            "id",
            "email",
            "relationship",
            "state",
            "expires_at",
            "legal_guardian",
            "billing_payer",
            "may_pick_up",
            "receives_notifications",
            "created_at",
        ]


class IncomeOut(ModelSerializer):
    class Meta:
        model = IncomeAssessment
        fields = [
            "id",
            "household_id",
            "quotient",
            "source",
            "valid_from",
            "valid_until",
            "status",
            "bracket",
            "document_id",
            "rejection_reason",
            "created_at",
        ]


class HouseholdOut(ModelSerializer):
    guardians = GuardianOut(many=True)
    children = ChildOut(many=True)

    class Meta:
        model = Household
        fields = [
            "id",
            "name",
            "address_line",
            "postal_code",
            "city",
            "is_resident",
            "guardians",
            "children",
        ]


class HouseholdDetailOut(HouseholdOut):
    emergency_contacts = ContactOut(many=True)
    invitations = serializers.SerializerMethodField()
    income_assessments = IncomeOut(many=True)

    class Meta(HouseholdOut.Meta):
        fields = [
            *HouseholdOut.Meta.fields,
            "emergency_contacts",
            "invitations",
            "income_assessments",
        ]

    def get_invitations(self, household) -> list[dict]:
        qs = household.invitations.filter(state=GuardianInvitation.State.PENDING)
        return InvitationOut(qs, many=True).data  # type: ignore[return-value]  # many=True: a ReturnList


class DocumentOut(ModelSerializer):
    url = serializers.SerializerMethodField()

    class Meta:
        model = Document
        fields = [
            "id",
            "kind",
            "original_name",
            "content_type",
            "size",
            "issued_on",
            "status",
            "rejection_reason",
            "child_id",
            "application_id",
            "created_at",
            "url",
        ]

    def get_url(self, document) -> str:
        from django.urls import reverse

        return reverse("family-api:document-download", args=[document.pk])


class EventOut(ModelSerializer):
    to_state_label = serializers.CharField()

    class Meta:
        model = ApplicationEvent
        fields = [
            "id",
            "created_at",
            "kind",
            "from_state",
            "to_state",
            "to_state_label",
            "message",
            "actor_kind",
        ]


class ApplicationOut(ModelSerializer):
    child = serializers.SerializerMethodField()
    school = SchoolOut()
    catchment_school = SchoolOut(allow_null=True)
    school_year = serializers.CharField(source="school_year.label")
    tracking_code = serializers.CharField(source="tracking_code_display")

    class Meta:
        model = SchoolApplication
        fields = [
            "id",
            "tracking_code",
            "state",
            "child",
            "household_id",
            "school_year",
            "school",
            "catchment_school",
            "grade",
            "derogation_reason",
            "derogation_details",
            "sibling_group",
            "submitted_at",
            "decided_at",
            "decision_reason",
            "created_at",
        ]

    def get_child(self, application) -> dict:
        child = application.child
        return {"id": child.pk, "first_name": child.first_name, "last_name": child.last_name}


class ApplicationDetailOut(ApplicationOut):
    timeline = serializers.SerializerMethodField()
    documents = serializers.SerializerMethodField()
    required_documents = serializers.SerializerMethodField()
    siblings = serializers.SerializerMethodField()

    class Meta(ApplicationOut.Meta):
        fields = [
            *ApplicationOut.Meta.fields,
            "timeline",
            "documents",
            "required_documents",
            "siblings",
        ]

    def get_timeline(self, application) -> list[dict]:
        return EventOut(  # type: ignore[return-value]  # many=True: a ReturnList
            selectors.application_timeline(application=application), many=True
        ).data

    def get_documents(self, application) -> list[dict]:
        return DocumentOut(application.documents.all(), many=True).data  # type: ignore[return-value]  # many=True: a ReturnList

    def get_required_documents(self, application) -> list[dict]:
        return [
            {
                "key": row["key"],
                "label": str(row["label"]),
                "kinds": [str(k) for k in row["kinds"]],
                "status": row["status"],
                "required": row["required"],
            }
            for row in selectors.application_document_status(application=application)
        ]

    def get_siblings(self, application) -> list[dict]:
        return [
            {
                "id": a.pk,
                "tracking_code": a.tracking_code_display,
                "child": a.child.first_name,
                "state": a.state,
            }
            for a in selectors.sibling_applications(application=application)
        ]


class ActivityOut(ModelSerializer):
    school = SchoolOut()
    seats = serializers.SerializerMethodField()

    class Meta:
        model = Activity
        fields = [
            "id",
            "school",
            "name",
            "kind",
            "description",
            "capacity",
            "start_date",
            "end_date",
            "weekdays",
            "start_time",
            "end_time",
            "is_open",
            "seats",
        ]

    def get_seats(self, activity) -> dict:
        return selectors.activity_seats(activity=activity)


class ActivityRegistrationOut(ModelSerializer):
    waiting_position = serializers.SerializerMethodField()
    child = serializers.SerializerMethodField()

    class Meta:
        model = ActivityRegistration
        fields = [
            "id",
            "activity_id",
            "child",
            "state",
            "waiting_position",
            "created_at",
            "confirmed_at",
            "cancelled_at",
        ]

    def get_waiting_position(self, registration) -> int | None:
        return selectors.waiting_position(registration=registration)

    def get_child(self, registration) -> dict:
        return {"id": registration.child_id, "first_name": registration.child.first_name}


class ChangeRequestOut(ModelSerializer):
    class Meta:
        model = ChangeRequest
        fields = [
            "id",
            "household_id",
            "child_id",
            "category",
            "changes",
            "previous",
            "state",
            "reason",
            "created_at",
            "handled_at",
        ]


# --- household -------------------------------------------------------------------------------


class HouseholdListApi(APIView):
    """Parents: their household. Staff: the households of their schools' families."""

    pagination_class = Pagination

    class InputSerializer(serializers.Serializer):
        name = serializers.CharField(max_length=200)
        address_line = serializers.CharField(max_length=255)
        postal_code = serializers.CharField(
            max_length=10, allow_blank=True, required=False, default=""
        )
        city = serializers.CharField(max_length=100, allow_blank=True, required=False, default="")
        relationship = serializers.CharField(
            max_length=60, allow_blank=True, required=False, default=""
        )

    @extend_schema(responses={200: HouseholdOut(many=True)})
    def get(self, request):
        qs = perms.households_for_user(request.user).prefetch_related(
            Prefetch("guardians", Guardian.objects.select_related("user")),
            Prefetch("children", Child.objects.select_related("school")),
            "children__change_requests",
        )
        require_role(request.user, *FAMILY_ROLES)
        return paginated(request, self, qs.order_by("name", "id"), HouseholdOut)

    @extend_schema(request=InputSerializer, responses={201: HouseholdDetailOut})
    def post(self, request):
        require_role(request.user, *PARENT_ROLES)
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        household = services.household_create(user=request.user, **data.validated_data)
        return Response(HouseholdDetailOut(household).data, status=status.HTTP_201_CREATED)


class HouseholdDetailApi(APIView):
    @extend_schema(responses={200: HouseholdDetailOut})
    def get(self, request, household_id: int):
        household = perms.household_any_for_user(request.user, household_id)
        services.household_record_read(actor=request.user, household=household, via="api")
        return Response(HouseholdDetailOut(household).data)


class HouseholdInviteApi(APIView):
    class InputSerializer(serializers.Serializer):
        email = serializers.EmailField()
        relationship = serializers.CharField(
            max_length=60, allow_blank=True, required=False, default=""
        )
        legal_guardian = serializers.BooleanField(required=False, default=True)
        billing_payer = serializers.BooleanField(required=False, default=False)
        may_pick_up = serializers.BooleanField(required=False, default=True)
        receives_notifications = serializers.BooleanField(required=False, default=True)
        acting_for_family = serializers.BooleanField(
            required=False,
            default=False,
            help_text="Staff only: the family asked the counter to invite this person (audited).",
        )

    @extend_schema(request=InputSerializer, responses={201: InvitationOut})
    def post(self, request, household_id: int):
        household = perms.household_any_for_user(request.user, household_id)
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        invitation = services.guardian_invite(
            actor=request.user, household=household, **data.validated_data
        )
        return Response(InvitationOut(invitation).data, status=status.HTTP_201_CREATED)


class InvitationRevokeApi(APIView):
    @extend_schema(request=None, responses={200: InvitationOut})
    def post(self, request, invitation_id: int):
        invitation = perms.invitation_for_user(request.user, invitation_id)
        return Response(
            InvitationOut(
                services.invitation_revoke(actor=request.user, invitation=invitation)
            ).data
        )


class InvitationRespondApi(APIView):
    """Accept or decline an invitation with the token of the emailed link."""

    class InputSerializer(serializers.Serializer):
        token = serializers.CharField(max_length=500)
        accept = serializers.BooleanField()

    @extend_schema(request=InputSerializer, responses={200: HouseholdDetailOut})
    def post(self, request):
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        invitation = services.invitation_from_token(data.validated_data["token"])
        if invitation is None:
            raise Http404
        if data.validated_data["accept"]:
            guardian = services.invitation_accept(invitation=invitation, user=request.user)
            return Response(HouseholdDetailOut(guardian.household).data)
        services.invitation_decline(invitation=invitation, user=request.user)
        return Response({"message": _("Invitation refusée.")})


class HouseholdLeaveApi(APIView):
    @extend_schema(request=None, responses={204: None})
    def post(self, request, household_id: int):
        household = perms.household_for_user(request.user)
        if household.pk != int(household_id):
            raise Http404
        services.guardian_leave(actor=request.user, guardian=request.user.guardian)
        return Response(status=status.HTTP_204_NO_CONTENT)


class ContactCreateApi(APIView):
    class InputSerializer(serializers.Serializer):
        name = serializers.CharField(max_length=200)
        phone = serializers.CharField(max_length=32)
        relationship = serializers.CharField(
            max_length=60, allow_blank=True, required=False, default=""
        )
        may_pick_up = serializers.BooleanField(required=False, default=False)
        call_in_emergency = serializers.BooleanField(required=False, default=True)

    @extend_schema(request=InputSerializer, responses={201: ContactOut})
    def post(self, request, household_id: int):
        household = perms.household_any_for_user(request.user, household_id)
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        contact = services.emergency_contact_create(
            actor=request.user, household=household, **data.validated_data
        )
        return Response(ContactOut(contact).data, status=status.HTTP_201_CREATED)


class ContactDeleteApi(APIView):
    @extend_schema(responses={204: None})
    def delete(self, request, contact_id: int):
        contact = perms.contact_for_user(request.user, contact_id)
        services.emergency_contact_delete(actor=request.user, contact=contact)
        return Response(status=status.HTTP_204_NO_CONTENT)


class IncomeDeclareApi(APIView):
    parser_classes = [MultiPartParser, FormParser]

    class InputSerializer(serializers.Serializer):
        quotient = serializers.IntegerField(min_value=0, max_value=100_000)
        source = serializers.ChoiceField(  # type: ignore[assignment]  # API field named "source"
            choices=IncomeAssessment.Source.choices
        )
        valid_from = serializers.DateField()
        valid_until = serializers.DateField()
        file = serializers.FileField(required=False)

    @extend_schema(request=InputSerializer, responses={201: IncomeOut})
    def post(self, request, household_id: int):
        household = perms.household_any_for_user(request.user, household_id)
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        values = dict(data.validated_data)
        assessment = services.income_assessment_declare(
            actor=request.user,
            household=household,
            uploaded_file=values.pop("file", None),
            **values,
        )
        return Response(IncomeOut(assessment).data, status=status.HTTP_201_CREATED)


class IncomeDecideApi(APIView):
    class InputSerializer(serializers.Serializer):
        validate = serializers.BooleanField()  # type: ignore[assignment]  # API field named "validate"
        reason = serializers.CharField(max_length=300, allow_blank=True, required=False, default="")

    @extend_schema(request=InputSerializer, responses={200: IncomeOut})
    def post(self, request, assessment_id: int):
        assessment = perms.income_assessment_for_staff(request.user, assessment_id)
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        if data.validated_data["validate"]:
            assessment = services.income_assessment_validate(
                actor=request.user, assessment=assessment
            )
        else:
            assessment = services.income_assessment_reject(
                actor=request.user, assessment=assessment, reason=data.validated_data["reason"]
            )
        return Response(IncomeOut(assessment).data)


# --- children -------------------------------------------------------------------------------


class ChildListApi(APIView):
    pagination_class = Pagination

    class InputSerializer(serializers.Serializer):
        first_name = serializers.CharField(max_length=100)
        last_name = serializers.CharField(max_length=100)
        birth_date = serializers.DateField()
        allergies = serializers.ListField(
            child=serializers.ChoiceField(choices=Allergen.choices), required=False, default=list
        )
        diet = serializers.ChoiceField(
            choices=Child.Diet.choices, required=False, default=Child.Diet.STANDARD
        )
        custody = serializers.ChoiceField(
            choices=Child.Custody.choices, required=False, default=Child.Custody.JOINT
        )
        household = serializers.IntegerField(
            required=False, help_text="Staff acting for a family only."
        )

    @extend_schema(
        parameters=[OpenApiParameter("school", int), OpenApiParameter("search", str)],
        responses={200: ChildOut(many=True)},
    )
    def get(self, request):
        require_role(request.user, *FAMILY_ROLES)
        qs = (
            perms.children_for_user(request.user)
            .select_related("school")
            .prefetch_related("change_requests")
        )
        school = request.query_params.get("school")
        if school:
            if not school.isdigit():
                raise ApplicationError(_("Le filtre école doit être un identifiant."))
            qs = qs.filter(school_id=int(school))
        search = request.query_params.get("search", "").strip()
        if search:
            qs = qs.filter(last_name__icontains=search) | qs.filter(first_name__icontains=search)
        return paginated(
            request, self, qs.distinct().order_by("last_name", "first_name", "id"), ChildOut
        )

    @extend_schema(request=InputSerializer, responses={201: ChildDetailOut})
    def post(self, request):
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        values = dict(data.validated_data)
        household_id = values.pop("household", None)
        if is_parent(request.user):
            household = perms.household_for_user(request.user)
        else:
            household = perms.household_for_staff(request.user, household_id)
        child = services.child_create(actor=request.user, household=household, **values)
        return Response(ChildDetailOut(child).data, status=status.HTTP_201_CREATED)


class ChildDetailApi(APIView):
    class InputSerializer(serializers.Serializer):
        first_name = serializers.CharField(max_length=100, required=False)
        last_name = serializers.CharField(max_length=100, required=False)
        birth_date = serializers.DateField(required=False)
        class_name = serializers.CharField(max_length=40, required=False, allow_blank=True)

    @extend_schema(responses={200: ChildDetailOut})
    def get(self, request, child_id: int):
        child = perms.child_for_user(request.user, child_id)
        services.child_record_read(actor=request.user, child=child, via="api")
        return Response(ChildDetailOut(child).data)

    @extend_schema(request=InputSerializer, responses={200: ChildDetailOut})
    def patch(self, request, child_id: int):
        child = perms.child_for_user(request.user, child_id)
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        child = services.child_update_identity(
            actor=request.user, child=child, **data.validated_data
        )
        return Response(ChildDetailOut(child).data)


# --- change requests --------------------------------------------------------------------------


class ChangeRequestListApi(APIView):
    pagination_class = Pagination

    class InputSerializer(serializers.Serializer):
        category = serializers.ChoiceField(choices=ChangeRequest.Category.choices)
        child = serializers.IntegerField(required=False, allow_null=True)
        changes = serializers.DictField()
        household = serializers.IntegerField(
            required=False, help_text="Staff acting for a family only."
        )

    @extend_schema(
        parameters=[OpenApiParameter("state", str)], responses={200: ChangeRequestOut(many=True)}
    )
    def get(self, request):
        qs = perms.change_requests_for_user(request.user)
        require_role(request.user, *FAMILY_ROLES)
        state = request.query_params.get("state")
        if state:
            qs = qs.filter(state=state)
        return paginated(request, self, qs.order_by("created_at", "id"), ChangeRequestOut)

    @extend_schema(request=InputSerializer, responses={201: ChangeRequestOut})
    def post(self, request):
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        v = data.validated_data
        child = perms.child_for_user(request.user, v["child"]) if v.get("child") else None
        if is_parent(request.user):
            household = perms.household_for_user(request.user)
        elif child is not None:
            household = perms.household_for_staff(request.user, child.household_id)
        else:
            household = perms.household_for_staff(request.user, v.get("household"))
        change = services.change_request_create(
            actor=request.user,
            household=household,
            child=child,
            category=v["category"],
            changes=v["changes"],
        )
        return Response(ChangeRequestOut(change).data, status=status.HTTP_201_CREATED)


class ChangeRequestDecideApi(APIView):
    class InputSerializer(serializers.Serializer):
        approve = serializers.BooleanField()
        reason = serializers.CharField(max_length=300, allow_blank=True, required=False, default="")

    @extend_schema(request=InputSerializer, responses={200: ChangeRequestOut})
    def post(self, request, change_request_id: int):
        change = perms.change_request_for_staff(request.user, change_request_id)
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        if data.validated_data["approve"]:
            change = services.change_request_approve(actor=request.user, change_request=change)
        else:
            change = services.change_request_reject(
                actor=request.user, change_request=change, reason=data.validated_data["reason"]
            )
        return Response(ChangeRequestOut(change).data)


# --- schools, address lookup ----------------------------------------------------------------


class SchoolListApi(APIView):
    pagination_class = Pagination

    @extend_schema(responses={200: SchoolOut(many=True)})
    def get(self, request):
        return paginated(
            request, self, School.objects.filter(is_active=True).order_by("name"), SchoolOut
        )


class AddressLookupApi(APIView):
    @extend_schema(
        parameters=[OpenApiParameter("address", str, required=True)],
        responses={
            200: inline_serializer(
                "AddressLookup",
                {
                    "number": serializers.IntegerField(allow_null=True),
                    "street": serializers.CharField(),
                    "school": SchoolOut(allow_null=True),
                },
            )
        },
    )
    def get(self, request):
        address = request.query_params.get("address", "").strip()[:255]
        if not address:
            raise ApplicationError(_("Indiquez une adresse."))
        found = selectors.address_lookup(address_line=address)
        school = found["school"]
        return Response(
            {
                "number": found["number"],
                "street": found["street"],
                "school": SchoolOut(school).data if school else None,
            }
        )


# --- registrations ----------------------------------------------------------------------------


class RegistrationListApi(APIView):
    pagination_class = Pagination

    class InputSerializer(serializers.Serializer):
        child = serializers.IntegerField()
        school_year = serializers.IntegerField()
        school = serializers.IntegerField()
        grade = serializers.CharField(max_length=40, allow_blank=True, required=False, default="")
        derogation_reason = serializers.ChoiceField(
            choices=SchoolApplication.DerogationReason.choices,
            allow_blank=True,
            required=False,
            default="",
        )
        derogation_details = serializers.CharField(
            max_length=2000, allow_blank=True, required=False, default=""
        )

    @extend_schema(
        parameters=[
            OpenApiParameter("state", str, description="comma-separated states"),
            OpenApiParameter("school", int),
            OpenApiParameter("missing_documents", bool),
            OpenApiParameter("older_than_days", int),
            OpenApiParameter("search", str),
        ],
        responses={200: ApplicationOut(many=True)},
    )
    def get(self, request):
        require_role(request.user, *FAMILY_ROLES)
        qs = perms.applications_for_user(request.user)
        params = request.query_params
        states = [s for s in params.get("state", "").split(",") if s]
        if any(s not in SchoolApplication.State.values for s in states):
            raise ApplicationError(
                _("État inconnu."), {"allowed": list(SchoolApplication.State.values)}
            )
        try:
            school_id = int(params["school"]) if params.get("school") else None
            older = int(params["older_than_days"]) if params.get("older_than_days") else None
        except ValueError:
            raise ApplicationError(_("Les filtres école et ancienneté doivent être des nombres."))
        if is_parent(request.user):
            qs = qs.select_related("child", "school", "school_year", "catchment_school")
            if states:
                qs = qs.filter(state__in=states)
            return paginated(request, self, qs.order_by("-created_at", "-id"), ApplicationOut)
        qs = selectors.work_queue(
            applications=qs,
            states=states,
            school_id=school_id,
            missing_documents=params.get("missing_documents") in ("1", "true", "True"),
            older_than_days=older,
            search=params.get("search", "")[:100],
            derogation=params.get("derogation", "")
            if params.get("derogation") in ("any", "opinion", "decision", "decided")
            else "",
        )
        return paginated(request, self, qs, ApplicationOut)

    @extend_schema(request=InputSerializer, responses={201: ApplicationDetailOut})
    def post(self, request):
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        v = data.validated_data
        child = perms.child_for_user(request.user, v["child"])
        if not is_parent(request.user):
            perms.household_for_staff(request.user, child.household_id)
        try:
            school_year = SchoolYear.objects.get(pk=v["school_year"])
            school = School.objects.get(pk=v["school"])
        except (SchoolYear.DoesNotExist, School.DoesNotExist):
            raise ApplicationError(_("École ou année scolaire inconnue."))
        application = services.application_create(
            actor=request.user,
            child=child,
            school_year=school_year,
            school=school,
            grade=v["grade"],
            derogation_reason=v["derogation_reason"],
            derogation_details=v["derogation_details"],
        )
        return Response(ApplicationDetailOut(application).data, status=status.HTTP_201_CREATED)


class RegistrationDetailApi(APIView):
    @extend_schema(responses={200: ApplicationDetailOut})
    def get(self, request, application_id: int):
        application = perms.application_for_user(request.user, application_id)
        return Response(ApplicationDetailOut(application).data)


class RegistrationFamilyActionApi(APIView):
    """``submit`` or ``withdraw``: the family's actions (staff may do them for a family)."""

    action: str = ""

    class InputSerializer(serializers.Serializer):
        reason = serializers.CharField(max_length=500, allow_blank=True, required=False, default="")

    @extend_schema(request=InputSerializer, responses={200: ApplicationDetailOut})
    def post(self, request, application_id: int):
        application = perms.application_for_user(request.user, application_id)
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        if self.action == "submit":
            application = services.application_submit(actor=request.user, application=application)
        else:
            application = services.application_withdraw(
                actor=request.user, application=application, reason=data.validated_data["reason"]
            )
        return Response(ApplicationDetailOut(application).data)


class RegistrationReviewApi(APIView):
    @extend_schema(request=None, responses={200: ApplicationDetailOut})
    def post(self, request, application_id: int):
        application = perms.application_for_staff(request.user, application_id)
        application = services.application_start_review(actor=request.user, application=application)
        return Response(ApplicationDetailOut(application).data)


class RegistrationDecideApi(APIView):
    class InputSerializer(serializers.Serializer):
        decision = serializers.ChoiceField(choices=["accept", "waitlist", "refuse"])
        reason = serializers.CharField(max_length=500, allow_blank=True, required=False, default="")

    @extend_schema(request=InputSerializer, responses={200: ApplicationDetailOut})
    def post(self, request, application_id: int):
        application = perms.application_for_staff(request.user, application_id)
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        application = services.application_decide(
            actor=request.user, application=application, **data.validated_data
        )
        return Response(ApplicationDetailOut(application).data)


class RegistrationRequestDocumentsApi(APIView):
    class InputSerializer(serializers.Serializer):
        kinds = serializers.ListField(
            child=serializers.ChoiceField(choices=DocumentKind.choices), min_length=1
        )
        note = serializers.CharField(max_length=300, allow_blank=True, required=False, default="")

    @extend_schema(request=InputSerializer, responses={200: ApplicationDetailOut})
    def post(self, request, application_id: int):
        application = perms.application_for_staff(request.user, application_id)
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        application = services.application_request_documents(
            actor=request.user, application=application, **data.validated_data
        )
        return Response(ApplicationDetailOut(application).data)


class RegistrationBulkApi(APIView):
    class InputSerializer(serializers.Serializer):
        ids = serializers.ListField(child=serializers.IntegerField(), min_length=1, max_length=200)
        action = serializers.ChoiceField(choices=["review", "accept", "waitlist", "refuse"])
        reason = serializers.CharField(max_length=500, allow_blank=True, required=False, default="")

    @extend_schema(
        request=InputSerializer,
        responses={
            200: inline_serializer(
                "BulkResult",
                {
                    "done": serializers.ListField(child=serializers.IntegerField()),
                    "failed": serializers.ListField(child=serializers.DictField()),
                },
            )
        },
    )
    def post(self, request):
        require_role(request.user, *STAFF_ROLES)
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        v = data.validated_data
        applications = list(perms.applications_for_user(request.user).filter(pk__in=v["ids"]))
        if len(applications) != len(set(v["ids"])):
            raise Http404
        return Response(
            services.application_bulk_action(
                actor=request.user,
                applications=applications,
                action=v["action"],
                reason=v["reason"],
            )
        )


class RegistrationDocumentUploadApi(APIView):
    parser_classes = [MultiPartParser, FormParser]

    class InputSerializer(serializers.Serializer):
        kind = serializers.ChoiceField(choices=DocumentKind.choices)
        issued_on = serializers.DateField(required=False, allow_null=True)
        file = serializers.FileField()

    @extend_schema(request=InputSerializer, responses={201: DocumentOut})
    def post(self, request, application_id: int):
        application = perms.application_for_user(request.user, application_id)
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        v = data.validated_data
        document = services.document_upload(
            actor=request.user,
            household=application.household,
            kind=v["kind"],
            uploaded_file=v["file"],
            application=application,
            issued_on=v.get("issued_on"),
        )
        return Response(DocumentOut(document).data, status=status.HTTP_201_CREATED)


class DocumentDownloadApi(APIView):
    @extend_schema(responses={(200, "application/octet-stream"): bytes})
    def get(self, request, document_id: int):
        document = perms.document_for_user(request.user, document_id)
        services.document_read_audit(actor=request.user, document=document)
        return document_file_response(document)


class DocumentCheckApi(APIView):
    class InputSerializer(serializers.Serializer):
        accepted = serializers.BooleanField()
        reason = serializers.CharField(max_length=300, allow_blank=True, required=False, default="")

    @extend_schema(request=InputSerializer, responses={200: DocumentOut})
    def post(self, request, document_id: int):
        require_role(request.user, *STAFF_ROLES)
        document = perms.document_for_user(request.user, document_id)
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        document = services.document_check(
            actor=request.user, document=document, **data.validated_data
        )
        return Response(DocumentOut(document).data)


# --- activities -----------------------------------------------------------------------------


class ActivityListApi(APIView):
    pagination_class = Pagination

    @extend_schema(
        parameters=[OpenApiParameter("school", int)], responses={200: ActivityOut(many=True)}
    )
    def get(self, request):
        require_role(request.user, *FAMILY_ROLES)
        qs = perms.activities_for_user(request.user).select_related("school")
        school = request.query_params.get("school")
        if school:
            if not school.isdigit():
                raise ApplicationError(_("Le filtre école doit être un identifiant."))
            qs = qs.filter(school_id=int(school))
        return paginated(request, self, qs.order_by("school__name", "name", "id"), ActivityOut)


class ActivityDetailApi(APIView):
    @extend_schema(responses={200: ActivityOut})
    def get(self, request, activity_id: int):
        return Response(ActivityOut(perms.activity_for_user(request.user, activity_id)).data)


class ActivityRegisterApi(APIView):
    class InputSerializer(serializers.Serializer):
        child = serializers.IntegerField()

    @extend_schema(request=InputSerializer, responses={201: ActivityRegistrationOut})
    def post(self, request, activity_id: int):
        activity = perms.activity_for_user(request.user, activity_id)
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        child = perms.child_for_user(request.user, data.validated_data["child"])
        registration = services.activity_register(
            actor=request.user, activity=activity, child=child
        )
        return Response(ActivityRegistrationOut(registration).data, status=status.HTTP_201_CREATED)


class ActivityRegistrationListApi(APIView):
    pagination_class = Pagination

    @extend_schema(
        parameters=[OpenApiParameter("activity", int)],
        responses={200: ActivityRegistrationOut(many=True)},
    )
    def get(self, request):
        require_role(request.user, *FAMILY_ROLES)
        qs = perms.activity_registrations_for_user(request.user).select_related("child")
        activity = request.query_params.get("activity")
        if activity:
            if not activity.isdigit():
                raise ApplicationError(_("Le filtre activité doit être un identifiant."))
            qs = qs.filter(activity_id=int(activity))
        return paginated(request, self, qs.order_by("created_at", "id"), ActivityRegistrationOut)


class ActivityRegistrationCancelApi(APIView):
    @extend_schema(request=None, responses={200: ActivityRegistrationOut})
    def post(self, request, registration_id: int):
        registration = perms.activity_registration_for_user(request.user, registration_id)
        services.activity_registration_cancel(actor=request.user, registration=registration)
        registration.refresh_from_db()
        return Response(ActivityRegistrationOut(registration).data)


class ActivityCapacityApi(APIView):
    class InputSerializer(serializers.Serializer):
        capacity = serializers.IntegerField(min_value=0, max_value=10_000)

    @extend_schema(request=InputSerializer, responses={200: ActivityOut})
    def post(self, request, activity_id: int):
        require_role(request.user, *STAFF_ROLES)
        activity = perms.activity_for_user(request.user, activity_id)
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        services.activity_set_capacity(
            actor=request.user, activity=activity, capacity=data.validated_data["capacity"]
        )
        activity.refresh_from_db()
        return Response(ActivityOut(activity).data)
