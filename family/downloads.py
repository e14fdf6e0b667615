"""Serving a family's documents: the one download response, used by pages and the API."""

from __future__ import annotations

from django.http import FileResponse, Http404

from .models import Document


def document_file_response(document: Document) -> FileResponse:
    """Always an attachment, with the type we sniffed, never rendered inline."""
    try:
        handle = document.file.open("rb")
    except FileNotFoundError:
        raise Http404
    response = FileResponse(
        handle,
        as_attachment=True,
        filename=document.original_name,
        content_type=document.content_type,
    )
    response["X-Content-Type-Options"] = "nosniff"
    response["Content-Security-Policy"] = "default-src 'none'; sandbox"
    response["Cache-Control"] = "private, no-store"
    return response
