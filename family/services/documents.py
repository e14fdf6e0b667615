"""Uploaded supporting documents: checked by content, size-limited, stored under MEDIA_ROOT."""

from __future__ import annotations

import datetime as dt
import hashlib

from dateutil.relativedelta import relativedelta
from django.conf import settings
from django.core.files.base import ContentFile
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from backend.core.exceptions import ApplicationError

from ..models import ApplicationEvent, Child, Document, DocumentKind, Household, SchoolApplication
from .common import audit, family_actor_kind

MAGIC_TYPES = [
    (b"%PDF-", "application/pdf"),
    (b"\x89PNG\r\n\x1a\n", "image/png"),
    (b"\xff\xd8\xff", "image/jpeg"),
]


def sniff_content_type(head: bytes) -> str | None:
    """The file's type from its first bytes; the name and the browser's claim are ignored."""
    for magic, content_type in MAGIC_TYPES:
        if head.startswith(magic):
            return content_type
    return None


EXTENSIONS = {"application/pdf": "pdf", "image/jpeg": "jpg", "image/png": "png"}


def document_file_name(*, kind: str, content_type: str, pk: int | None = None) -> str:
    """A safe file name from the document's kind and detected type: ``justificatif-12.pdf``."""
    from django.utils.text import slugify

    label = slugify(str(DocumentKind(kind).label)) or "document"
    suffix = f"-{pk}" if pk else ""
    return f"{label}{suffix}.{EXTENSIONS.get(content_type, 'bin')}"


def read_upload(uploaded_file) -> tuple[bytes, str]:
    """Read an upload, enforcing the size limit and the allowed types. Raises ApplicationError."""
    limit = settings.UPLOAD_MAX_BYTES
    if uploaded_file is None:
        raise ApplicationError(_("Choisissez un fichier à envoyer."))
    size = getattr(uploaded_file, "size", None)
    if size is not None and size > limit:
        raise ApplicationError(
            _("Le fichier dépasse la taille maximale de %(mb)s Mo.")
            % {"mb": round(limit / 1024 / 1024, 1)},
            {"max_bytes": limit},
        )
    uploaded_file.seek(0)
    data = uploaded_file.read(limit + 1)
    if len(data) > limit:
        raise ApplicationError(
            _("Le fichier dépasse la taille maximale de %(mb)s Mo.")
            % {"mb": round(limit / 1024 / 1024, 1)},
            {"max_bytes": limit},
        )
    if not data:
        raise ApplicationError(_("Le fichier est vide."))
    content_type = sniff_content_type(data[:16])
    if content_type is None:
        raise ApplicationError(
            _("Type de fichier refusé : seuls les PDF, JPEG et PNG sont acceptés."),
            {"allowed": ["application/pdf", "image/jpeg", "image/png"]},
        )
    return data, content_type


def validate_issued_on(
    *, kind: str, issued_on: dt.date | None, today: dt.date | None = None
) -> None:
    today = today or timezone.localdate()
    if issued_on and issued_on > today:
        raise ApplicationError(_("La date du document ne peut pas être dans le futur."))
    if kind == DocumentKind.PROOF_OF_ADDRESS:
        if issued_on is None:
            raise ApplicationError(_("Indiquez la date du justificatif de domicile."))
        if issued_on < today - relativedelta(months=3):
            raise ApplicationError(_("Le justificatif de domicile doit dater de moins de 3 mois."))


def document_upload(
    *,
    actor,
    household: Household,
    kind: str,
    uploaded_file,
    child: Child | None = None,
    application: SchoolApplication | None = None,
    issued_on: dt.date | None = None,
) -> Document:
    if kind not in DocumentKind.values:
        raise ApplicationError(_("Type de document inconnu."))
    if child is not None and child.household_id != household.pk:
        raise ApplicationError(_("Cet enfant n'appartient pas à ce foyer."))
    if application is not None:
        if application.household_id != household.pk:
            raise ApplicationError(_("Cette demande n'appartient pas à ce foyer."))
        if application.is_final:
            raise ApplicationError(_("Cette demande est close : elle ne reçoit plus de documents."))
        child = application.child
    validate_issued_on(kind=kind, issued_on=issued_on)
    data, content_type = read_upload(uploaded_file)
    # Never the sender's file name (a PDF/HTML polyglot named evil.html): the name comes from
    # the kind and the type detected from the content.
    name = document_file_name(kind=kind, content_type=content_type)

    from .registrations import application_documents_received

    with transaction.atomic():
        document = Document(
            household=household,
            child=child,
            application=application,
            kind=kind,
            original_name=name,
            content_type=content_type,
            size=len(data),
            sha256=hashlib.sha256(data).hexdigest(),
            issued_on=issued_on,
            uploaded_by=actor,
        )
        document.file.save("upload", ContentFile(data), save=False)
        stored_name = document.file.name
        try:
            document.save()
            audit(
                action="family.document.upload",
                actor=actor,
                target=document,
                household_id=household.pk,
                data={"kind": kind, "size": len(data), "content_type": content_type},
            )
            if application is not None:
                ApplicationEvent.objects.create(
                    application=application,
                    kind=ApplicationEvent.Kind.DOCUMENT_UPLOADED,
                    message=str(DocumentKind(kind).label),
                    actor=actor,
                    actor_kind=family_actor_kind(actor),
                )
                application_documents_received(actor=actor, application=application, kind=kind)
        except Exception:
            document.file.storage.delete(stored_name or "")
            raise
    return document


def document_check(*, actor, document: Document, accepted: bool, reason: str = "") -> Document:
    """Staff accept or reject a document (with a reason)."""
    reason = (reason or "").strip()
    if not accepted and not reason:
        raise ApplicationError(_("Indiquez le motif du refus du document."))
    with transaction.atomic():
        document = Document.objects.select_for_update().get(pk=document.pk)
        if document.application is not None and document.application.is_final:
            raise ApplicationError(
                _("Cette demande est close : ses documents ne peuvent plus être vérifiés.")
            )
        document.status = Document.Status.ACCEPTED if accepted else Document.Status.REJECTED
        document.rejection_reason = "" if accepted else reason[:300]
        document.checked_by = actor
        document.checked_at = timezone.now()
        document.save(
            update_fields=["status", "rejection_reason", "checked_by", "checked_at", "updated_at"]
        )
        audit(
            action="family.document.check",
            actor=actor,
            target=document,
            household_id=document.household_id,
            data={"status": document.status, "reason": document.rejection_reason},
            family_side=False,
        )
        if document.application_id:
            label = str(DocumentKind(document.kind).label)
            message = (
                _("%(doc)s : accepté") % {"doc": label}
                if accepted
                else _("%(doc)s : refusé (%(reason)s)")
                % {"doc": label, "reason": document.rejection_reason}
            )
            ApplicationEvent.objects.create(
                application_id=document.application_id,
                kind=ApplicationEvent.Kind.DOCUMENT_CHECKED,
                message=message,
                actor=actor,
                actor_kind="person",
            )
    return document


def document_read_audit(*, actor, document: Document) -> None:
    """Staff downloading a family's document leaves an audit row."""
    from backend.core.access import is_parent

    if is_parent(actor):
        return
    audit(
        action="family.document.read",
        actor=actor,
        target=document,
        household_id=document.household_id,
        family_side=False,
    )
