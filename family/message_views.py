"""Pages of the messages between families and schools, and of the office appointments.

Access through family.permissions (a thread out of reach is 404), writes through
family.services.messages; a business error becomes a message on the page."""

from __future__ import annotations

from django.contrib import messages
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from backend.core.access import is_parent, role_required
from backend.core.exceptions import ApplicationError

from . import message_forms as forms
from . import message_selectors as selectors
from . import permissions as perms
from .downloads import message_attachment_response
from .message_models import THREAD_TRANSITIONS, MessageThread, allowed
from .services import messages as services
from .views import PARENT, STAFF, _form_errors, post_action


@role_required(PARENT, STAFF)
def inbox(request):
    """Parents: their household's conversations. Staff: the inbox of their schools."""
    parent = is_parent(request.user)
    status = request.GET.get("etat", "")
    assigned = request.GET.get("suivi", "")
    school = request.GET.get("ecole", "")
    threads = selectors.inbox(
        request.user,
        status="" if parent else status,
        assigned="" if parent else assigned,
        school_id=None if parent else school,
    )
    return render(
        request,
        "family/messages/inbox.html",
        {
            "title": _("Messages") if parent else _("Messages des familles"),
            "parent": parent,
            "threads": threads[:200],
            "statuses": MessageThread.Status.choices,
            "status": status,
            "assigned": assigned,
            "school": school,
            "schools": perms.schools_for_user(request.user) if not parent else [],
            "can_write": parent and perms.message_schools_for_parent(request.user).exists(),
        },
    )


@role_required(PARENT)
def thread_start(request):
    schools = perms.message_schools_for_parent(request.user)
    applications = (
        perms.applications_for_user(request.user)
        .filter(school__in=schools)
        .select_related("child", "school")
    )
    form = forms.ThreadStartForm(
        request.POST or None,
        request.FILES or None,
        schools=schools,
        applications=applications,
        initial={"application": request.GET.get("demande") or None},
    )
    if request.method == "POST":
        if form.is_valid():
            data = form.cleaned_data
            try:
                thread = services.thread_start(
                    actor=request.user,
                    school=data["school"],
                    application=data["application"],
                    subject=data["subject"],
                    body=data["body"],
                    attachment=data["attachment"],
                    client_token=data["client_token"],
                )
                messages.success(request, _("Votre message est envoyé à l'école."))
                return redirect("family:message-thread", thread.pk)
            except ApplicationError as exc:
                messages.error(request, exc.message)
        else:
            _form_errors(request, form)
    return render(
        request,
        "family/messages/start.html",
        {"title": _("Écrire à l'école"), "form": form, "has_schools": schools.exists()},
    )


@role_required(PARENT, STAFF)
def thread(request, thread_id: int):
    """A conversation: messages, reply, appointments; for staff, assignment and closing."""
    thread = perms.thread_for_user(request.user, thread_id)
    parent = is_parent(request.user)
    form = forms.MessageForm(request.POST or None, request.FILES or None)
    if request.method == "POST":
        if form.is_valid():
            try:
                services.message_post(
                    actor=request.user,
                    thread=thread,
                    body=form.cleaned_data["body"],
                    attachment=form.cleaned_data["attachment"],
                    client_token=form.cleaned_data["client_token"],
                )
                messages.success(request, _("Message envoyé."))
                return redirect("family:message-thread", thread.pk)
            except ApplicationError as exc:
                messages.error(request, exc.message)
        else:
            _form_errors(request, form)
    services.thread_mark_read(actor=request.user, thread=thread)
    appointments = [
        (a, selectors.appointment_actions(request.user, a))
        for a in selectors.thread_appointments(thread)
    ]
    has_active = any(a.is_active for a, _actions in appointments)
    slots = (
        selectors.open_slots(thread.school_id)
        if parent and not thread.is_closed and not has_active
        else []
    )
    return render(
        request,
        "family/messages/thread.html",
        {
            "title": thread.subject,
            "thread": thread,
            "parent": parent,
            "thread_messages": selectors.thread_messages(thread),
            "form": form,
            "appointments": appointments,
            "slot_form": forms.AppointmentRequestForm(slots=slots) if slots else None,
            "assign_form": None if parent else forms.AssignForm(thread=thread),
            "thread_actions": []
            if parent
            else allowed(THREAD_TRANSITIONS, thread.status, ("close", "reopen")),
        },
    )


@role_required(STAFF)
@require_POST
@post_action("family:message-inbox")
def thread_assign(request, thread_id: int):
    thread = perms.thread_for_staff(request.user, thread_id)
    form = forms.AssignForm(request.POST, thread=thread)
    if not form.is_valid():
        raise ApplicationError(_("Choisissez un membre du personnel de cette école."))
    services.thread_assign(
        actor=request.user, thread=thread, assignee=form.cleaned_data["assignee"]
    )
    messages.success(request, _("Suivi de la conversation enregistré."))
    return redirect("family:message-thread", thread.pk)


@role_required(STAFF)
@require_POST
@post_action("family:message-inbox")
def thread_status(request, thread_id: int):
    thread = perms.thread_for_staff(request.user, thread_id)
    if request.POST.get("action") == "close":
        services.thread_close(actor=request.user, thread=thread)
        messages.success(request, _("Conversation close."))
    else:
        services.thread_reopen(actor=request.user, thread=thread)
        messages.success(request, _("Conversation rouverte."))
    return redirect("family:message-thread", thread.pk)


@role_required(PARENT, STAFF)
def attachment(request, message_id: int):
    message = perms.message_for_user(request.user, message_id)
    return message_attachment_response(message)


# --- appointments ----------------------------------------------------------------------------


@role_required(PARENT)
@require_POST
@post_action("family:message-inbox")
def appointment_request(request, thread_id: int):
    thread = perms.thread_for_parent(request.user, thread_id)
    form = forms.AppointmentRequestForm(request.POST, slots=selectors.open_slots(thread.school_id))
    if not form.is_valid():
        raise ApplicationError(_("Ce créneau n'est plus disponible : choisissez-en un autre."))
    services.appointment_request(actor=request.user, thread=thread, slot=form.cleaned_data["slot"])
    messages.success(request, _("Rendez-vous demandé : l'école va le confirmer."))
    return redirect("family:message-thread", thread.pk)


@role_required(PARENT, STAFF)
@require_POST
@post_action("family:message-inbox")
def appointment_action(request, appointment_id: int):
    appointment = perms.appointment_for_user(request.user, appointment_id)
    action = request.POST.get("action", "")
    if action not in selectors.appointment_actions(request.user, appointment):
        raise ApplicationError(_("Ce rendez-vous a déjà été traité."))
    if action == "confirm":
        services.appointment_confirm(actor=request.user, appointment=appointment)
        messages.success(request, _("Rendez-vous confirmé."))
    elif action == "decline":
        services.appointment_decline(
            actor=request.user, appointment=appointment, reason=request.POST.get("reason", "")
        )
        messages.success(request, _("Rendez-vous refusé."))
    else:
        services.appointment_cancel(actor=request.user, appointment=appointment)
        messages.success(request, _("Rendez-vous annulé."))
    return redirect("family:message-thread", appointment.thread_id)


@role_required(STAFF)
def office_slots(request):
    """Staff publish the times they receive families, and see who asked for them."""
    schools = perms.schools_for_user(request.user)
    form = forms.OfficeSlotForm(request.POST or None, schools=schools)
    if request.method == "POST":
        if form.is_valid():
            try:
                services.office_slot_create(actor=request.user, **form.cleaned_data)
                messages.success(request, _("Créneau publié."))
                return redirect("family:office-slots")
            except ApplicationError as exc:
                messages.error(request, exc.message)
        else:
            _form_errors(request, form)
    return render(
        request,
        "family/messages/slots.html",
        {
            "title": _("Créneaux de rendez-vous"),
            "form": form,
            "slots": selectors.staff_slots(request.user)[:200],
        },
    )
