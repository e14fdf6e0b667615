"""Serving a family's documents: the one download response, used by pages and the API."""

from __future__ import annotations

from django.http import FileResponse, Http404

from .models import Document
from .services.documents import document_file_name


def document_file_response(document: Document) -> FileResponse:
    """Always an attachment, with the type we sniffed, never rendered inline."""
    try:
        handle = document.file.open("rb")
    except FileNotFoundError:
        raise Http404
    response = FileResponse(
        handle,
        as_attachment=True,
        # Named from the kind and the detected type, never the sender's file name.
        filename=document_file_name(
            kind=document.kind, content_type=document.content_type, pk=document.pk
        ),
        content_type=document.content_type,
    )
    response["X-Content-Type-Options"] = "nosniff"
    response["Content-Security-Policy"] = "default-src 'none'; sandbox"
    response["Cache-Control"] = "private, no-store"
    return response
