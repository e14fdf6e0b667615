"""Serving a family's documents: the one download response, used by pages and the API."""

from __future__ import annotations

from django.db.models.fields.files import FieldFile
from django.http import FileResponse, Http404

from .models import Document, Message
from .services.documents import EXTENSIONS, document_file_name


def document_file_response(document: Document) -> FileResponse:
    """Always an attachment, with the type we sniffed, never rendered inline."""
    return safe_file_response(
        document.file,
        # Named from the kind and the detected type, never the sender's file name.
        filename=document_file_name(
            kind=document.kind, content_type=document.content_type, pk=document.pk
        ),
        content_type=document.content_type,
    )


def message_attachment_response(message: Message) -> FileResponse:
    """A message's attachment, served exactly like a family document."""
    if not message.attachment:
        raise Http404
    return safe_file_response(
        message.attachment,
        filename=f"piece-jointe-{message.pk}.{EXTENSIONS.get(message.attachment_content_type, 'bin')}",
        content_type=message.attachment_content_type,
    )


def safe_file_response(field_file: FieldFile, *, filename: str, content_type: str) -> FileResponse:
    """A stored upload as a download: attachment, sniffed type, no sniffing, no caching."""
    try:
        handle = field_file.open("rb")
    except FileNotFoundError:
        raise Http404
    response = FileResponse(
        handle, as_attachment=True, filename=filename, content_type=content_type
    )
    response["X-Content-Type-Options"] = "nosniff"
    response["Content-Security-Policy"] = "default-src 'none'; sandbox"
    response["Cache-Control"] = "private, no-store"
    return response
