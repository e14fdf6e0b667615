"""RGPD: everything Minot holds about a household, as one zip (JSON + the documents).

The export walks the models of the family-facing apps and takes every row that hangs from the
household (directly, through a child or through an application), so a model added later is
exported without anyone remembering to list it. Secrets (payment client secrets, tokens,
password hashes) are left out.
"""

from __future__ import annotations

import io
import json
import zipfile
from typing import TYPE_CHECKING, Any

from django.apps import apps
from django.core import serializers
from django.core.serializers.json import DjangoJSONEncoder
from django.db import models
from django.utils import timezone

from backend.core.models import AuditEvent

from ..models import Child, Document, Household, SchoolApplication
from .common import audit

if TYPE_CHECKING:
    from backend.accounts.models import User

EXPORTED_APPS = ("family", "canteen", "payments")
SECRET_MARKERS = ("secret", "token", "digest", "password", "key")
USER_FIELDS = ("id", "email", "first_name", "last_name", "phone", "language", "date_joined")


def _path_to_household(model: type[models.Model]) -> str | None:
    """The lookup from ``model`` to its household, or None when it has none."""
    if model is Household:
        return "pk"
    direct = {
        Household: "household",
        Child: "child__household",
        SchoolApplication: "application__household",
    }
    for field in model._meta.get_fields():
        if isinstance(field, models.ForeignKey) and field.related_model in direct:
            target = direct[field.related_model]
            return target.replace(target.split("__")[0], field.name, 1)
    return None


def _is_secret(name: str) -> bool:
    return any(marker in name.lower() for marker in SECRET_MARKERS)


def _rows(queryset: models.QuerySet) -> list[dict[str, Any]]:
    rows = serializers.serialize("python", queryset)
    return [
        {
            "id": row["pk"],
            **{k: v for k, v in row["fields"].items() if not _is_secret(k)},
        }
        for row in rows
    ]


def household_export_data(*, household: Household) -> dict[str, Any]:
    data: dict[str, Any] = {
        "exported_at": timezone.now().isoformat(),
        "household_id": household.pk,
    }
    for app_label in EXPORTED_APPS:
        try:
            app = apps.get_app_config(app_label)
        except LookupError:
            continue
        for model in app.get_models():
            path = _path_to_household(model)
            if path is None:
                continue
            qs = model._default_manager.filter(**{path: household.pk}).order_by("pk")
            rows = _rows(qs)
            if rows:
                data[model._meta.label_lower] = rows
    data["accounts.user"] = [
        {field: getattr(g.user, field) for field in USER_FIELDS}
        for g in household.guardians.select_related("user").order_by("pk")
    ]
    data["core.auditevent"] = [
        {
            "created_at": e.created_at,
            "action": e.action,
            # named as on the access-log page (audit rows keep only "user:<id>")
            "actor": (e.actor.get_full_name() or e.actor.email) if e.actor else e.actor_label,
            "actor_kind": e.actor_kind,
            "target": f"{e.target_type}:{e.target_id}",
        }
        for e in AuditEvent.objects.filter(household_id=household.pk).select_related("actor")
    ]
    return data


def household_export_zip(*, actor: User, household: Household) -> bytes:
    """The zip a guardian downloads from the account page (or staff hand over at the counter):
    ``donnees.json`` and ``documents/<id>-<safe name>``. Audited."""
    from .documents import document_file_name

    buffer = io.BytesIO()
    data = household_export_data(household=household)
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr(
            "donnees.json", json.dumps(data, cls=DjangoJSONEncoder, ensure_ascii=False, indent=2)
        )
        for document in Document.objects.filter(household=household).order_by("pk"):
            name = document_file_name(
                kind=document.kind, content_type=document.content_type, pk=document.pk
            )
            try:
                with document.file.open("rb") as handle:
                    archive.writestr(f"documents/{name}", handle.read())
            except FileNotFoundError:
                continue
    audit(
        action="family.household.export",
        actor=actor,
        target=household,
        household_id=household.pk,
        data={"bytes": buffer.tell()},
    )
    return buffer.getvalue()
