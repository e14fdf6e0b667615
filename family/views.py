"""Pages of the family module (parents and school staff). Access through family.permissions,
writes through family.services; a business error becomes a message on the page."""

from __future__ import annotations

import datetime as dt
from functools import wraps

from django.contrib import messages
from django.contrib.auth import login
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from backend.accounts.models import User
from backend.core.access import is_city_admin, is_parent, role_required
from backend.core.confirm import confirmation_page, needs_confirmation
from backend.core.exceptions import ApplicationError

from . import forms, message_selectors, selectors, services
from . import permissions as perms
from .downloads import document_file_response
from .models import (
    Activity,
    ActivityAttendance,
    ActivityRegistration,
    ChangeRequest,
    ChildGuardian,
    Guardian,
    GuardianInvitation,
    IncomeAssessment,
    SchoolApplication,
    SchoolYear,
)

PARENT = "parent"
STAFF = "staff_or_admin"


def post_action(fallback_url_name: str):
    """Run a page action; an ApplicationError becomes an error message and a redirect back."""

    def decorator(view):
        @wraps(view)
        def wrapped(request, *args, **kwargs):
            try:
                return view(request, *args, **kwargs)
            except ApplicationError as exc:
                messages.error(request, exc.message)
                return redirect(_page_of_action(request) or fallback_url_name)

        return wrapped

    return decorator


def _page_of_action(request) -> str:
    """Where an error is shown: the page the action was taken on (``next``, else the same-site
    referring page), so a refused action never throws the person back to a list."""
    for candidate in (request.POST.get("next") or "", request.META.get("HTTP_REFERER") or ""):
        if candidate and url_has_allowed_host_and_scheme(
            candidate, allowed_hosts={request.get_host()}, require_https=request.is_secure()
        ):
            return candidate
    return ""


def _form_errors(request, form) -> None:
    for field, errors in form.errors.items():
        label = form.fields[field].label if field in form.fields else ""
        for error in errors:
            messages.error(request, f"{label} : {error}" if label else error)


# --- household (parent) -----------------------------------------------------------------------


@role_required(PARENT)
def household(request):
    guardian = Guardian.objects.filter(user=request.user).select_related("household").first()
    if guardian is None:
        form = forms.HouseholdForm(request.POST or None)
        if request.method == "POST" and form.is_valid():
            try:
                services.household_create(user=request.user, **form.cleaned_data)
                messages.success(
                    request, _("Votre foyer est créé. Ajoutez maintenant vos enfants.")
                )
                return redirect("family:household")
            except ApplicationError as exc:
                messages.error(request, exc.message)
        return render(
            request, "family/household_create.html", {"form": form, "title": _("Créer mon foyer")}
        )
    household = guardian.household
    context = {
        "title": _("Mon foyer"),
        "household": household,
        "me": guardian,
        "guardians": household.guardians.select_related("user"),
        "children": household.children.select_related("school").prefetch_related("change_requests"),
        "contacts": household.emergency_contacts.all(),
        "invitations": household.invitations.filter(state=GuardianInvitation.State.PENDING),
        "assessments": household.income_assessments.all()[:5],
        "change_requests": household.change_requests.filter(
            state=ChangeRequest.State.PENDING
        ).select_related("child"),
        "catchment": selectors.catchment_school_for_address(address_line=household.address_line),
        "invite_form": forms.InviteForm(),
        "contact_form": forms.ContactForm(),
        "address_form": forms.AddressChangeForm(
            initial={
                "address_line": household.address_line,
                "postal_code": household.postal_code,
                "city": household.city,
            }
        ),
        "income_form": forms.IncomeForm(),
    }
    return render(request, "family/household.html", context)


@role_required(PARENT)
@require_POST
@post_action("family:household")
def household_invite(request):
    household = perms.household_for_user(request.user)
    form = forms.InviteForm(request.POST)
    if not form.is_valid():
        _form_errors(request, form)
        return redirect("family:household")
    invitation = services.guardian_invite(
        actor=request.user, household=household, **form.cleaned_data
    )
    messages.success(request, _("Invitation envoyée à %(email)s.") % {"email": invitation.email})
    return redirect("family:household")


@role_required(PARENT)
@require_POST
@post_action("family:household")
def invitation_revoke(request, invitation_id: int):
    invitation = perms.invitation_for_user(request.user, invitation_id)
    services.invitation_revoke(actor=request.user, invitation=invitation)
    messages.success(request, _("Invitation annulée."))
    return redirect("family:household")


@role_required(PARENT)
@require_POST
@post_action("family:household")
def household_leave(request):
    perms.household_for_user(request.user)
    services.guardian_leave(actor=request.user, guardian=request.user.guardian)
    messages.success(request, _("Vous avez quitté le foyer."))
    return redirect("home")


@role_required(PARENT)
@require_POST
@post_action("family:household")
def contact_add(request):
    household = perms.household_for_user(request.user)
    form = forms.ContactForm(request.POST)
    if not form.is_valid():
        _form_errors(request, form)
        return redirect("family:household")
    services.emergency_contact_create(actor=request.user, household=household, **form.cleaned_data)
    messages.success(request, _("Contact ajouté."))
    return redirect("family:household")


@role_required(PARENT)
@require_POST
@post_action("family:household")
def contact_delete(request, contact_id: int):
    contact = perms.contact_for_user(request.user, contact_id)
    services.emergency_contact_delete(actor=request.user, contact=contact)
    messages.success(request, _("Contact supprimé."))
    return redirect("family:household")


@role_required(PARENT)
@require_POST
@post_action("family:household")
def address_change(request):
    household = perms.household_for_user(request.user)
    form = forms.AddressChangeForm(request.POST)
    if not form.is_valid():
        _form_errors(request, form)
        return redirect("family:household")
    services.change_request_create(
        actor=request.user,
        household=household,
        category=ChangeRequest.Category.ADDRESS,
        changes=form.cleaned_data,
    )
    messages.success(request, _("Changement d'adresse envoyé : il sera appliqué après validation."))
    return redirect("family:household")


@role_required(PARENT)
@require_POST
@post_action("family:household")
def income_declare(request):
    household = perms.household_for_user(request.user)
    form = forms.IncomeForm(request.POST, request.FILES)
    if not form.is_valid():
        _form_errors(request, form)
        return redirect("family:household")
    data = dict(form.cleaned_data)
    services.income_assessment_declare(
        actor=request.user, household=household, uploaded_file=data.pop("file"), **data
    )
    messages.success(request, _("Quotient familial envoyé : il sera validé par la mairie."))
    return redirect("family:household")


@role_required(PARENT)
@require_POST
@post_action("family:household")
def change_request_cancel(request, change_request_id: int):
    change = perms.change_requests_for_user(request.user).filter(pk=change_request_id).first()
    if change is None:
        raise Http404
    services.change_request_cancel(actor=request.user, change_request=change)
    messages.success(request, _("Demande annulée."))
    return redirect("family:household")


# --- invitations (anyone holding the link) ---------------------------------------------------


def invitation(request, token: str):
    invitation = services.invitation_from_token(token)
    if invitation is None:
        raise Http404
    valid = (
        invitation.state == GuardianInvitation.State.PENDING
        and invitation.expires_at >= timezone.now()
    )
    account_exists = User.objects.filter(email__iexact=invitation.email).exists()
    signup = (
        forms.SignupForm(request.POST or None)
        if not request.user.is_authenticated and not account_exists
        else None
    )
    if request.method == "POST" and valid:
        decision = request.POST.get("decision")
        try:
            if decision == "decline":
                services.invitation_decline(invitation=invitation, user=request.user)
                messages.success(request, _("Invitation refusée."))
                return redirect("home")
            if not request.user.is_authenticated:
                if signup is None or not signup.is_valid():
                    raise ApplicationError(_("Complétez le formulaire pour créer votre compte."))
                user = services.invitation_accept_with_signup(
                    invitation=invitation,
                    password=signup.cleaned_data["password"],
                    first_name=signup.cleaned_data["first_name"],
                    last_name=signup.cleaned_data["last_name"],
                )
                login(request, user, backend="django.contrib.auth.backends.ModelBackend")
            else:
                services.invitation_accept(invitation=invitation, user=request.user)
            messages.success(
                request,
                _("Bienvenue dans le foyer %(name)s.") % {"name": invitation.household.name},
            )
            return redirect("family:household")
        except ApplicationError as exc:
            messages.error(request, exc.message)
    return render(
        request,
        "family/invitation.html",
        {
            "title": _("Invitation"),
            "invitation": invitation,
            "valid": valid,
            "signup": signup,
            "account_exists": account_exists,
        },
    )


# --- children ------------------------------------------------------------------------------


@role_required(PARENT, STAFF)
def child_add(request, household_id: int | None = None):
    if is_parent(request.user):
        if household_id is not None:  # the counter's URL is not a parent's (issue 12 matrix)
            raise Http404
        household = perms.household_for_user(request.user)
    else:
        household = perms.household_for_staff(request.user, household_id)
    form = forms.ChildForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            child = services.child_create(
                actor=request.user, household=household, **form.cleaned_data
            )
            messages.success(request, _("%(child)s a été ajouté(e).") % {"child": child.first_name})
            return redirect("family:child-detail", child.pk)
        except ApplicationError as exc:
            messages.error(request, exc.message)
    return render(
        request,
        "family/child_add.html",
        {"form": form, "household": household, "title": _("Ajouter un enfant")},
    )


@role_required(PARENT, STAFF)
def child_detail(request, child_id: int):
    child = perms.child_for_user(request.user, child_id)
    services.child_record_read(actor=request.user, child=child, via="page")
    guardianships = ChildGuardian.objects.filter(child=child).select_related("guardian__user")
    context = {
        "title": str(child),
        "child": child,
        "guardianships": guardianships,
        "care_plans": child.care_plans.all(),
        "pending": child.change_requests.filter(state=ChangeRequest.State.PENDING),
        "applications": child.applications.select_related("school", "school_year"),
        "registrations": child.activity_registrations.exclude(
            state=ActivityRegistration.State.CANCELLED
        ).select_related("activity"),
        "identity_form": forms.ChildIdentityForm(
            initial={
                "first_name": child.first_name,
                "last_name": child.last_name,
                "birth_date": child.birth_date,
            }
        ),
        "health_form": forms.HealthForm(initial={"allergies": child.allergies, "diet": child.diet}),
        "care_plan_form": forms.CarePlanForm(),
        "illness_form": forms.IllnessForm(),
        "illness_reports": child.illness_reports.all()[:5],
        "is_parent": is_parent(request.user),
    }
    return render(request, "family/child_detail.html", context)


@role_required(PARENT, STAFF)
@require_POST
@post_action("family:household")
def child_illness(request, child_id: int):
    """Report a sick child (also after the cancellation deadline; certificate optional)."""
    child = perms.child_for_user(request.user, child_id)
    form = forms.IllnessForm(request.POST, request.FILES)
    if not form.is_valid():
        _form_errors(request, form)
    else:
        services.illness_report(actor=request.user, child=child, **form.cleaned_data)
        messages.success(
            request,
            _("Absence enregistrée : à partir du jour %(n)s, les repas ne sont pas facturés.")
            % {"n": services.illness.illness_billed_days() + 1},
        )
    return redirect("family:child-detail", child.pk)


@role_required(PARENT, STAFF)
@require_POST
@post_action("family:household")
def child_identity(request, child_id: int):
    child = perms.child_for_user(request.user, child_id)
    form = forms.ChildIdentityForm(request.POST)
    if not form.is_valid():
        _form_errors(request, form)
    else:
        services.child_update_identity(actor=request.user, child=child, **form.cleaned_data)
        messages.success(request, _("Identité mise à jour."))
    return redirect("family:child-detail", child.pk)


@role_required(PARENT, STAFF)
@require_POST
@post_action("family:household")
def child_health(request, child_id: int):
    child = perms.child_for_user(request.user, child_id)
    form = forms.HealthForm(request.POST)
    if not form.is_valid():
        _form_errors(request, form)
        return redirect("family:child-detail", child.pk)
    services.change_request_create(
        actor=request.user,
        household=child.household,
        child=child,
        category=ChangeRequest.Category.HEALTH,
        changes=form.cleaned_data,
    )
    messages.success(request, _("Modification de santé envoyée : en attente de validation."))
    return redirect("family:child-detail", child.pk)


@role_required(PARENT, STAFF)
@require_POST
@post_action("family:household")
def child_care_plan(request, child_id: int):
    child = perms.child_for_user(request.user, child_id)
    form = forms.CarePlanForm(request.POST, request.FILES)
    if not form.is_valid():
        _form_errors(request, form)
        return redirect("family:child-detail", child.pk)
    data = dict(form.cleaned_data)
    upload = data.pop("file")
    document = None
    if upload is not None:
        document = services.document_upload(
            actor=request.user,
            household=child.household,
            child=child,
            kind="care_plan",
            uploaded_file=upload,
        )
    services.change_request_create(
        actor=request.user,
        household=child.household,
        child=child,
        category=ChangeRequest.Category.HEALTH,
        changes={
            "care_plan": {
                **{k: str(v) if k.startswith("valid") else v for k, v in data.items()},
                "document_id": document.pk if document else None,
            }
        },
    )
    messages.success(request, _("PAI envoyé : en attente de validation."))
    return redirect("family:child-detail", child.pk)


@role_required(PARENT, STAFF)
@require_POST
@post_action("family:household")
def child_guardianship(request, child_id: int, guardianship_id: int):
    child = perms.child_for_user(request.user, child_id)
    form = forms.GuardianshipForm(request.POST)
    if not form.is_valid():
        _form_errors(request, form)
        return redirect("family:child-detail", child.pk)
    services.change_request_create(
        actor=request.user,
        household=child.household,
        child=child,
        category=ChangeRequest.Category.GUARDIANS,
        changes={"guardianships": [{"id": guardianship_id, **form.cleaned_data}]},
    )
    messages.success(request, _("Modification des droits envoyée : en attente de validation."))
    return redirect("family:child-detail", child.pk)


# --- applications ---------------------------------------------------------------------------


def _open_years():
    return SchoolYear.objects.filter(end_date__gte=timezone.localdate()).order_by("start_date")


@role_required(PARENT)
def applications(request):
    household = perms.household_for_user(request.user)
    catchment = selectors.catchment_school_for_address(address_line=household.address_line)
    form = forms.ApplicationForm(
        request.POST or None,
        children=household.children.all(),
        years=_open_years(),
        initial={"school": catchment, "school_year": _open_years().last()},
    )
    if request.method == "POST" and form.is_valid():
        try:
            application = services.application_create(actor=request.user, **form.cleaned_data)
            messages.success(
                request,
                _("Demande créée (code de suivi %(code)s). Ajoutez les documents puis envoyez-la.")
                % {"code": application.tracking_code_display},
            )
            return redirect("family:application-detail", application.pk)
        except ApplicationError as exc:
            messages.error(request, exc.message)
    lookup = None
    address = request.GET.get("adresse", "").strip()[:255]
    if address:
        lookup = selectors.address_lookup(address_line=address)
    return render(
        request,
        "family/applications.html",
        {
            "title": _("Inscriptions scolaires"),
            "household": household,
            "applications": perms.applications_for_user(request.user).select_related(
                "child", "school", "school_year"
            ),
            "form": form,
            "catchment": catchment,
            "lookup": lookup,
            "address": address,
        },
    )


@role_required(PARENT, STAFF)
def application_detail(request, application_id: int):
    application = perms.application_for_reader(request.user, application_id)
    staff = perms.is_family_staff(request.user)
    if staff:
        services.child_record_read(actor=request.user, child=application.child, via="application")
    actions = application.allowed_actions(staff=staff)
    return render(
        request,
        "family/application_detail.html",
        {
            "title": _("Demande %(code)s") % {"code": application.tracking_code_display},
            "application": application,
            "timeline": selectors.application_timeline(application=application),
            "documents": selectors.application_document_status(application=application),
            "all_documents": application.documents.all(),
            "siblings": selectors.sibling_applications(application=application),
            "staff": staff,
            "upload_form": forms.DocumentForm(),
            "request_form": forms.RequestDocumentsForm(),
            "decision_form": forms.DecisionForm(actions=actions),
            "actions": actions,
            "can_submit": "submit" in actions,
            "can_withdraw": "withdraw" in actions,
            **_derogation_context(request.user, application, staff),
        },
    )


def _derogation_context(user, application, staff: bool) -> dict:
    from .models import DerogationReview

    if not application.derogation_reason:
        return {}
    review = DerogationReview.objects.filter(application=application).first()
    pending = review is None or review.decision == DerogationReview.Decision.PENDING
    can_opine = (
        staff
        and pending
        and perms.derogations_for_catchment_staff(user).filter(pk=application.pk).exists()
    )
    # Own ids: the registration's decision form on the same page also has a "reason" field.
    auto_id = "id_derogation_%s"
    return {
        "derogation": review,
        "derogation_opinion_form": (
            forms.DerogationOpinionForm(auto_id=auto_id) if can_opine else None
        ),
        "derogation_decision_form": (
            forms.DerogationDecisionForm(auto_id=auto_id)
            if is_city_admin(user) and pending
            else None
        ),
    }


@role_required(STAFF)
@require_POST
@post_action("family:queue")
def derogation_opinion(request, application_id: int):
    application = perms.application_for_catchment_staff(request.user, application_id)
    form = forms.DerogationOpinionForm(request.POST)
    if not form.is_valid():
        _form_errors(request, form)
    else:
        services.derogation_opinion(
            actor=request.user, application=application, **form.cleaned_data
        )
        messages.success(request, _("Avis enregistré."))
    return redirect("family:application-detail", application.pk)


@role_required("admin")
@require_POST
@post_action("family:queue")
def derogation_decide(request, application_id: int):
    application = perms.application_for_user(request.user, application_id)
    form = forms.DerogationDecisionForm(request.POST)
    if not form.is_valid():
        _form_errors(request, form)
    else:
        services.derogation_decide(actor=request.user, application=application, **form.cleaned_data)
        messages.success(request, _("Décision enregistrée ; la famille est prévenue."))
    return redirect("family:application-detail", application.pk)


@role_required(PARENT, STAFF)
def derogation_letter(request, application_id: int):
    from django.http import HttpResponse

    from .letters import derogation_letter_pdf
    from .models import DerogationReview

    application = perms.application_for_reader(request.user, application_id)
    review = (
        DerogationReview.objects.filter(application=application)
        .exclude(decision=DerogationReview.Decision.PENDING)
        .first()
    )
    if review is None:
        raise Http404
    response = HttpResponse(derogation_letter_pdf(review=review), content_type="application/pdf")
    response["Content-Disposition"] = (
        f'attachment; filename="derogation-{application.tracking_code}.pdf"'
    )
    response["X-Content-Type-Options"] = "nosniff"
    return response


def _application_action(request, application_id: int, staff_only: bool):
    getter = perms.application_for_staff if staff_only else perms.application_for_user
    return getter(request.user, application_id)


@role_required(PARENT, STAFF)
@require_POST
@post_action("family:applications")
def application_upload(request, application_id: int):
    application = _application_action(request, application_id, staff_only=False)
    form = forms.DocumentForm(request.POST, request.FILES)
    if not form.is_valid():
        _form_errors(request, form)
        return redirect("family:application-detail", application.pk)
    services.document_upload(
        actor=request.user,
        household=application.household,
        application=application,
        kind=form.cleaned_data["kind"],
        uploaded_file=form.cleaned_data["file"],
        issued_on=form.cleaned_data["issued_on"],
    )
    messages.success(request, _("Document envoyé."))
    return redirect("family:application-detail", application.pk)


@role_required(PARENT, STAFF)
@require_POST
@post_action("family:applications")
def application_submit(request, application_id: int):
    application = _application_action(request, application_id, staff_only=False)
    services.application_submit(actor=request.user, application=application)
    missing = selectors.application_missing_documents(application=application, for_acceptance=False)
    if missing:
        messages.warning(
            request,
            _(
                "Demande envoyée. Il manque encore : %(documents)s. Ajoutez-les ci-dessous : "
                "l'école ne peut pas instruire la demande sans eux."
            )
            % {"documents": ", ".join(str(row["label"]) for row in missing)},
        )
    else:
        messages.success(request, _("Demande envoyée avec toutes les pièces demandées."))
    return redirect("family:application-detail", application.pk)


@role_required(PARENT, STAFF)
@require_POST
@post_action("family:applications")
def application_withdraw(request, application_id: int):
    application = _application_action(request, application_id, staff_only=False)
    if needs_confirmation(request):
        return confirmation_page(
            request,
            title=_("Retirer la demande %(code)s") % {"code": application.tracking_code_display},
            summary=[
                _("Enfant : %(name)s") % {"name": application.child},
                _("École : %(school)s") % {"school": application.school},
                _("Année scolaire : %(year)s") % {"year": application.school_year},
                _("État actuel : %(state)s") % {"state": application.get_state_display()},
            ],
            warning=_(
                "Une demande retirée ne peut pas être reprise : il faudrait en déposer une nouvelle."
            ),
            confirm_label=_("Retirer la demande"),
            cancel_url=reverse("family:application-detail", args=[application.pk]),
        )
    services.application_withdraw(
        actor=request.user, application=application, reason=request.POST.get("reason", "")
    )
    messages.success(request, _("Demande retirée."))
    return redirect("family:application-detail", application.pk)


@role_required(STAFF)
@require_POST
@post_action("family:queue")
def application_review(request, application_id: int):
    application = _application_action(request, application_id, staff_only=True)
    services.application_start_review(actor=request.user, application=application)
    messages.success(request, _("Instruction commencée."))
    return redirect("family:application-detail", application.pk)


@role_required(STAFF)
@require_POST
@post_action("family:queue")
def application_request_documents(request, application_id: int):
    application = _application_action(request, application_id, staff_only=True)
    form = forms.RequestDocumentsForm(request.POST)
    if not form.is_valid():
        _form_errors(request, form)
        return redirect("family:application-detail", application.pk)
    services.application_request_documents(
        actor=request.user, application=application, **form.cleaned_data
    )
    messages.success(request, _("Documents demandés à la famille."))
    return redirect("family:application-detail", application.pk)


@role_required(STAFF)
@require_POST
@post_action("family:queue")
def application_decide(request, application_id: int):
    application = _application_action(request, application_id, staff_only=True)
    form = forms.DecisionForm(request.POST)
    if not form.is_valid():
        _form_errors(request, form)
        return redirect("family:application-detail", application.pk)
    application = services.application_decide(
        actor=request.user, application=application, **form.cleaned_data
    )
    messages.success(
        request, _("Décision enregistrée : %(state)s.") % {"state": application.get_state_display()}
    )
    return redirect("family:application-detail", application.pk)


@role_required(STAFF)
@require_POST
@post_action("family:queue")
def document_check(request, document_id: int):
    document = perms.document_for_user(request.user, document_id)
    accepted = request.POST.get("decision") == "accept"
    services.document_check(
        actor=request.user,
        document=document,
        accepted=accepted,
        reason=request.POST.get("reason", ""),
    )
    messages.success(request, _("Document accepté.") if accepted else _("Document refusé."))
    if document.application_id:
        return redirect("family:application-detail", document.application_id)
    return redirect("family:queue")


@role_required(PARENT, STAFF)
def document_download(request, document_id: int):
    document = perms.document_for_user(request.user, document_id)
    services.document_read_audit(actor=request.user, document=document)
    return document_file_response(document)


# --- staff work queue -----------------------------------------------------------------------


@role_required(STAFF)
def queue(request):
    schools = perms.schools_for_user(request.user)
    form = forms.QueueFilterForm(request.GET or None, schools=schools)
    filters = form.cleaned_data if form.is_valid() else {}
    default_states: list[str] = [
        SchoolApplication.State.SUBMITTED,
        SchoolApplication.State.INCOMPLETE,
        SchoolApplication.State.UNDER_REVIEW,
        SchoolApplication.State.WAITLISTED,
    ]
    qs = selectors.work_queue(
        applications=perms.applications_for_user(request.user),
        states=filters.get("state") or (default_states if not request.GET else None),
        school_id=filters["school"].pk if filters.get("school") else None,
        missing_documents=filters.get("missing_documents"),
        older_than_days=filters.get("older_than_days"),
        search=filters.get("search") or "",
        derogation=filters.get("derogation") or "",
    )
    missing_ids = set(
        selectors.applications_with_missing_documents(qs).values_list("id", flat=True)
    )
    rows = list(qs[:200])
    return render(
        request,
        "family/queue.html",
        {
            "title": _("Dossiers d'inscription"),
            "form": form,
            "rows": rows,
            "missing_ids": missing_ids,
            "total": qs.count(),
            "bulk_form": forms.BulkForm(),
            "now": timezone.now(),
        },
    )


@role_required(STAFF)
@require_POST
@post_action("family:queue")
def queue_bulk(request):
    form = forms.BulkForm(request.POST)
    ids = [int(i) for i in request.POST.getlist("ids") if i.isdigit()]
    if not form.is_valid() or not ids:
        messages.error(request, _("Choisissez une action et au moins un dossier."))
        return redirect("family:queue")
    applications = list(perms.applications_for_user(request.user).filter(pk__in=ids))
    if len(applications) != len(set(ids)):
        raise Http404
    result = services.application_bulk_action(
        actor=request.user, applications=applications, **form.cleaned_data
    )
    if result["done"]:
        messages.success(request, _("%(n)s dossier(s) traité(s).") % {"n": len(result["done"])})
    for failure in result["failed"]:
        messages.error(
            request,
            _("%(code)s : %(message)s") % {"code": failure["code"], "message": failure["message"]},
        )
    return redirect("family:queue")


@role_required(STAFF)
def change_requests(request):
    return render(
        request,
        "family/change_requests.html",
        {
            "title": _("Demandes de modification"),
            "changes": perms.change_requests_for_user(request.user)
            .filter(state=ChangeRequest.State.PENDING)
            .select_related("household", "child", "requested_by")
            .order_by("created_at"),
            "assessments": perms.income_assessments_for_user(request.user)
            .filter(status=IncomeAssessment.Status.PENDING)
            .select_related("household", "document")
            .order_by("created_at"),
            "reason_form": forms.ReasonForm(),
        },
    )


@role_required(STAFF)
@require_POST
@post_action("family:change-requests")
def change_request_decide(request, change_request_id: int):
    change = perms.change_request_for_staff(request.user, change_request_id)
    if request.POST.get("decision") == "approve":
        services.change_request_approve(actor=request.user, change_request=change)
        messages.success(request, _("Modification validée et appliquée."))
    else:
        services.change_request_reject(
            actor=request.user, change_request=change, reason=request.POST.get("reason", "")
        )
        messages.success(request, _("Modification refusée."))
    return redirect("family:change-requests")


@role_required(STAFF)
@require_POST
@post_action("family:change-requests")
def income_decide(request, assessment_id: int):
    assessment = perms.income_assessment_for_staff(request.user, assessment_id)
    if request.POST.get("decision") == "validate":
        services.income_assessment_validate(actor=request.user, assessment=assessment)
        messages.success(request, _("Quotient validé."))
    else:
        services.income_assessment_reject(
            actor=request.user, assessment=assessment, reason=request.POST.get("reason", "")
        )
        messages.success(request, _("Quotient refusé."))
    return redirect("family:change-requests")


# --- counter: staff acting for a family -------------------------------------------------------


@role_required(STAFF)
def counter(request):
    search = request.GET.get("q", "").strip()[:100]
    households = perms.households_for_user(request.user)
    if search:
        households = households.filter(children__last_name__icontains=search) | households.filter(
            name__icontains=search
        )
    return render(
        request,
        "family/counter.html",
        {
            "title": _("Guichet : agir pour une famille"),
            "search": search,
            "households": households.distinct().order_by("name")[:50] if search else [],
        },
    )


@role_required(STAFF)
def counter_household(request, household_id: int):
    household = perms.household_for_staff(request.user, household_id)
    services.household_record_read(actor=request.user, household=household, via="counter")
    # "Acting for this family" stays visible on every page until the agent ends it (base.html).
    request.session["acting_for"] = {"id": household.pk, "name": household.name}
    children = household.children.select_related("school")
    form = forms.ApplicationForm(
        request.POST or None,
        children=children,
        years=_open_years(),
        initial={
            "school": selectors.catchment_school_for_address(address_line=household.address_line)
        },
    )
    if request.method == "POST" and form.is_valid():
        try:
            application = services.application_create(actor=request.user, **form.cleaned_data)
            messages.success(
                request,
                _("Demande créée pour la famille (%(code)s).")
                % {"code": application.tracking_code_display},
            )
            return redirect("family:application-detail", application.pk)
        except ApplicationError as exc:
            messages.error(request, exc.message)
    return render(
        request,
        "family/counter_household.html",
        {
            "title": _("Guichet : %(name)s") % {"name": household.name},
            "household": household,
            "children": children,
            "guardians": household.guardians.select_related("user"),
            "applications": perms.applications_for_user(request.user)
            .filter(household=household)
            .select_related("child", "school", "school_year"),
            "documents": perms.documents_for_user(request.user)
            .filter(household=household)
            .select_related("child")
            .order_by("-created_at")[:20],
            "threads": message_selectors.inbox(request.user, household_id=household.pk)[:20],
            "form": form,
        },
    )


@role_required(STAFF)
@require_POST
def counter_end(request):
    """The agent has finished acting for the family: the banner goes away."""
    request.session.pop("acting_for", None)
    return redirect("family:counter")


# --- activities -------------------------------------------------------------------------------


@role_required(PARENT, STAFF)
def activities(request):
    staff = perms.is_family_staff(request.user)
    activities = selectors.activities_with_seats(perms.activities_for_user(request.user)).order_by(
        "school__name", "name"
    )
    context = {"title": _("Activités périscolaires"), "activities": activities, "staff": staff}
    if staff:
        context["registrations"] = (
            perms.activity_registrations_for_user(request.user)
            .exclude(state=ActivityRegistration.State.CANCELLED)
            .select_related("child", "activity")
            .order_by("activity_id", "state", "created_at", "id")
        )
        context["capacity_form"] = forms.CapacityForm()
    else:
        household = perms.household_for_user(request.user)
        context["children"] = household.children.select_related("school")
        activity_list = list(activities)
        offers = selectors.activity_offers(user=request.user, activities=activity_list)
        for activity in activity_list:
            activity.offered_children = offers[activity.pk]  # type: ignore[attr-defined]  # for the template
        context["activities"] = activity_list
        registrations = list(
            perms.activity_registrations_for_user(request.user)
            .exclude(state=ActivityRegistration.State.CANCELLED)
            .select_related("child", "activity__school")
        )
        for registration in registrations:
            registration.position = selectors.waiting_position(  # type: ignore[attr-defined]  # for the template
                registration=registration
            )
        context["registrations"] = registrations
    return render(request, "family/activities.html", context)


@role_required(PARENT, STAFF)
@require_POST
@post_action("family:activities")
def activity_register(request, activity_id: int):
    activity = perms.activity_for_user(request.user, activity_id)
    child = perms.child_for_user(request.user, request.POST.get("child"))
    registration = services.activity_register(actor=request.user, activity=activity, child=child)
    if registration.state == ActivityRegistration.State.CONFIRMED:
        messages.success(request, _("%(child)s est inscrit(e).") % {"child": child.first_name})
    else:
        messages.warning(
            request, _("Complet : %(child)s est sur liste d'attente.") % {"child": child.first_name}
        )
    return redirect("family:activities")


@role_required(PARENT, STAFF)
@require_POST
@post_action("family:activities")
def activity_cancel(request, registration_id: int):
    registration = perms.activity_registration_for_user(request.user, registration_id)
    if needs_confirmation(request):
        return confirmation_page(
            request,
            title=_("Annuler une inscription à une activité"),
            summary=[
                _("Enfant : %(name)s") % {"name": registration.child},
                _("Activité : %(activity)s (%(school)s)")
                % {"activity": registration.activity.name, "school": registration.activity.school},
                _("État : %(state)s") % {"state": registration.get_state_display()},
            ],
            warning=_(
                "La place est libérée et proposée aussitôt à la liste d'attente : "
                "elle ne pourra pas être reprise."
            ),
            confirm_label=_("Annuler l'inscription"),
            cancel_url=reverse("family:activities"),
        )
    services.activity_registration_cancel(actor=request.user, registration=registration)
    messages.success(request, _("Inscription annulée."))
    return redirect("family:activities")


@role_required(STAFF)
@require_POST
@post_action("family:activities")
def activity_capacity(request, activity_id: int):
    activity: Activity = perms.activity_for_user(request.user, activity_id)
    form = forms.CapacityForm(request.POST)
    if not form.is_valid():
        _form_errors(request, form)
        return redirect("family:activities")
    promoted = services.activity_set_capacity(
        actor=request.user, activity=activity, **form.cleaned_data
    )
    messages.success(
        request,
        _("Capacité mise à jour ; %(n)s enfant(s) promu(s) depuis la liste d'attente.")
        % {"n": len(promoted)},
    )
    return redirect("family:activities")


@role_required(STAFF)
def activity_roll(request, activity_id: int):
    """Staff take an activity's roll for a day (today by default); it drives billing."""
    activity: Activity = perms.activity_for_user(request.user, activity_id)
    source = request.POST if request.method == "POST" else request.GET
    try:
        day = dt.date.fromisoformat(source.get("day") or "")
    except ValueError:
        day = timezone.localdate()
    if request.method == "POST":
        statuses = {}
        for key, value in request.POST.items():
            if key.startswith("c") and key[1:].isdigit() and value:
                statuses[int(key[1:])] = value
        try:
            services.activity_roll_take(
                actor=request.user, activity=activity, day=day, statuses=statuses
            )
            messages.success(request, _("Appel enregistré."))
        except ApplicationError as exc:
            messages.error(request, exc.message)
        return redirect(f"{reverse('family:activity-roll', args=[activity.pk])}?day={day}")
    taken, rows = selectors.activity_roll_sheet(activity=activity, day=day)
    return render(
        request,
        "family/activity_roll.html",
        {
            "title": _("Appel : %(activity)s") % {"activity": activity.name},
            "activity": activity,
            "day": day,
            "taken": taken,
            "rows": rows,
            "runs": selectors.activity_runs_on(activity, day),
            "statuses": ActivityAttendance.Status.choices,
        },
    )


def school_calendar(request):
    """The school calendar (terms, holidays, days off), public like the menus."""
    from .models import CalendarClosure

    today = timezone.localdate()
    years = (
        SchoolYear.objects.filter(end_date__gte=today)
        .order_by("start_date")
        .prefetch_related("terms")[:2]
    )
    closures = CalendarClosure.objects.filter(
        school__isnull=True, end_date__gte=today
    ).select_related("school_year")
    return render(
        request,
        "family/calendar.html",
        {
            "title": _("Calendrier scolaire"),
            "years": years,
            "closures": closures,
            "today": today,
        },
    )


# --- school year lifecycle ----------------------------------------------------------------------


@role_required("admin")
def school_year_switch_page(request):
    """The administrator's year switch: a dry-run report first, then the real run."""
    source = SchoolYear.objects.filter(closed_at__isnull=True).order_by("start_date").first()
    target = services.school_year_following(source) if source else None
    report = None
    if request.method == "POST" and source and target:
        real = request.POST.get("confirm") == "1"
        try:
            report = services.school_year_switch(
                actor=request.user, from_year=source, to_year=target, dry_run=not real
            )
            if real:
                messages.success(
                    request,
                    _("Année %(a)s clôturée : les enfants sont passés en %(b)s.")
                    % {"a": source.label, "b": target.label},
                )
                return redirect("family:school-year-switch")
        except ApplicationError as exc:
            messages.error(request, exc.message)
    elif source and target:
        report = services.school_year_switch(
            actor=request.user, from_year=source, to_year=target, dry_run=True
        )
    return render(
        request,
        "family/school_year_switch.html",
        {
            "title": _("Passage d'année scolaire"),
            "source": source,
            "target": target,
            "report": report,
            "closed": SchoolYear.objects.filter(closed_at__isnull=False).order_by("-start_date"),
        },
    )


def _reenrolment_form(request, *, campaign, household, back: str):
    form = forms.ReenrolmentForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            services.reenrolment_answer(
                actor=request.user, campaign=campaign, household=household, **form.cleaned_data
            )
            messages.success(request, _("Réponse enregistrée. Merci !"))
            return redirect(back)
        except ApplicationError as exc:
            messages.error(request, exc.message)
    elif request.method == "POST":
        _form_errors(request, form)
    return form


@role_required(PARENT)
def reenrolment(request):
    household = perms.household_for_user(request.user)
    campaign = selectors.open_reenrolment_campaign()
    form = None
    if campaign:
        form = _reenrolment_form(
            request, campaign=campaign, household=household, back=reverse("family:reenrolment")
        )
        if not isinstance(form, forms.ReenrolmentForm):
            return form
    answer = campaign.answers.filter(household=household).first() if campaign else None
    return render(
        request,
        "family/reenrolment.html",
        {
            "title": _("Réinscription pour l'année prochaine"),
            "campaign": campaign,
            "answer": answer,
            "form": form,
            "household": household,
        },
    )


@role_required(STAFF)
def reenrolment_staff(request):
    """Staff: the campaign, who has not answered (their schools), reminders, the counter path."""
    from .models import ReenrolmentCampaign

    campaign = (
        ReenrolmentCampaign.objects.select_related("school_year").order_by("-opens_on").first()
    )
    if request.method == "POST":
        if request.POST.get("action") == "create" and is_city_admin(request.user):
            form = forms.ReenrolmentCampaignForm(request.POST)
            if form.is_valid():
                try:
                    services.reenrolment_campaign_create(actor=request.user, **form.cleaned_data)
                    messages.success(request, _("Campagne enregistrée."))
                except ApplicationError as exc:
                    messages.error(request, exc.message)
            else:
                _form_errors(request, form)
        elif request.POST.get("action") == "remind" and campaign:
            sent = services.reenrolment_remind(campaign=campaign)
            messages.success(request, _("%(n)s famille(s) relancée(s).") % {"n": sent})
        return redirect("family:reenrolment-staff")
    missing = (
        selectors.reenrolment_missing(
            campaign=campaign, school_ids=perms.staff_school_ids(request.user)
        )
        if campaign
        else []
    )
    return render(
        request,
        "family/reenrolment_staff.html",
        {
            "title": _("Réinscriptions"),
            "campaign": campaign,
            "missing": missing,
            "answers": campaign.answers.select_related("household").order_by("household__name")
            if campaign
            else [],
            "campaign_form": forms.ReenrolmentCampaignForm(),
            "is_admin": is_city_admin(request.user),
        },
    )


@role_required(STAFF)
def reenrolment_counter(request, household_id: int):
    """Counter path: staff record the answer of a family without internet (audited as such)."""
    from .models import ReenrolmentCampaign

    household = perms.household_for_staff(request.user, household_id)
    campaign = ReenrolmentCampaign.objects.order_by("-opens_on").first()
    if campaign is None:
        raise Http404
    form = _reenrolment_form(
        request, campaign=campaign, household=household, back=reverse("family:reenrolment-staff")
    )
    if not isinstance(form, forms.ReenrolmentForm):
        return form
    return render(
        request,
        "family/reenrolment.html",
        {
            "title": _("Réinscription au guichet : %(name)s") % {"name": household.name},
            "campaign": campaign,
            "answer": campaign.answers.filter(household=household).first(),
            "form": form,
            "household": household,
            "counter": True,
        },
    )


# --- staff import from the pages ------------------------------------------------------------------


@role_required("admin")
def import_page(request):
    """Upload the previous system's CSV files, read the all-or-nothing report, then confirm."""
    from .services import imports

    context: dict = {"title": _("Import depuis l'ancien système"), "kinds": imports.IMPORT_FILES}
    if request.method == "POST":
        kind = request.POST.get("kind", "")
        if request.POST.get("action") == "confirm":
            token = request.session.get("family_import_token", "")
            if not token or request.POST.get("token") != token:
                messages.error(request, _("Import expiré : déposez les fichiers à nouveau."))
                return redirect("family:import")
            report = imports.import_staged_run(
                token=token, kind=kind, dry_run=False, actor=request.user
            )
            request.session.pop("family_import_token", None)
            if report.ok:
                messages.success(
                    request,
                    _("Import terminé : %(counts)s.")
                    % {"counts": ", ".join(f"{k} {v}" for k, v in report.counts.items())},
                )
                return redirect("family:import")
            context.update(report=report, kind=kind)
        else:
            try:
                token = imports.import_stage(
                    kind=kind,
                    files={
                        name: request.FILES.get(name) for name in imports.IMPORT_FILES.get(kind, ())
                    },
                )
            except ApplicationError as exc:
                messages.error(request, exc.message)
                return redirect("family:import")
            report = imports.import_staged_run(token=token, kind=kind, dry_run=True)
            if report.ok:
                request.session["family_import_token"] = token
            context.update(report=report, kind=kind, token=token if report.ok else "")
    return render(request, "family/import.html", context)
