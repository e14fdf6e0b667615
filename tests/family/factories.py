"""Factories and helpers for the family tests."""

import datetime as dt
import io

import factory
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone
from factory.django import DjangoModelFactory

from family import models as fm
from tests.factories import SchoolFactory

PDF_BYTES = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"
PNG_BYTES = b"\x89PNG\r\n\x1a\n" + b"\x00" * 32
JPEG_BYTES = b"\xff\xd8\xff\xe0" + b"\x00" * 32


def pdf(name="doc.pdf", content=PDF_BYTES, content_type="application/pdf"):
    return SimpleUploadedFile(name, content, content_type=content_type)


def pdf_io(name="doc.pdf", content=PDF_BYTES):
    f = io.BytesIO(content)
    f.name = name
    return f


class CatchmentAreaFactory(DjangoModelFactory):
    class Meta:
        model = fm.CatchmentArea

    school = factory.SubFactory(SchoolFactory)
    street_name = "rue de la Paix"


class ActivityFactory(DjangoModelFactory):
    class Meta:
        model = fm.Activity

    school = factory.SubFactory(SchoolFactory)
    name = factory.Sequence(lambda n: f"Étude {n}")
    kind = fm.Activity.Kind.EVENING_STUDY
    capacity = 2
    start_date = factory.LazyFunction(lambda: timezone.localdate() - dt.timedelta(days=10))
    end_date = factory.LazyFunction(lambda: timezone.localdate() + dt.timedelta(days=100))
    weekdays = [0, 1, 3, 4]
