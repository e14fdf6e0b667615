"""Legacy import (pandas): schools, families (one row per guardian) and children from CSV files.

Everything is validated first; if any row is wrong nothing is imported and the report lists
every problem as (file, row, column, reason). ``row`` is the line number in the file, the header
being line 1.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from backend.accounts.models import Role, User
from backend.core.allergens import Allergen
from backend.core.services import audit_record

from ..models import CatchmentArea, Child, ChildGuardian, Guardian, Household, School

SCHOOL_COLUMNS = ["code", "name", "kind", "address_line", "postal_code", "city", "phone", "email"]
SCHOOL_REQUIRED = ["code", "name"]
FAMILY_COLUMNS = [
    "family_ref",
    "household_name",
    "address_line",
    "postal_code",
    "city",
    "guardian_email",
    "guardian_first_name",
    "guardian_last_name",
    "guardian_phone",
]
FAMILY_REQUIRED = [
    "family_ref",
    "household_name",
    "address_line",
    "guardian_email",
    "guardian_last_name",
]
CHILD_COLUMNS = [
    "family_ref",
    "first_name",
    "last_name",
    "birth_date",
    "school_code",
    "class_name",
    "allergies",
    "diet",
    "custody",
]
CHILD_REQUIRED = ["family_ref", "first_name", "last_name", "birth_date"]
CATCHMENT_COLUMNS = ["school_code", "street", "number_from", "number_to", "parity"]
CATCHMENT_REQUIRED = ["school_code", "street"]
UAI_RE = re.compile(r"^\d{7}[A-Z]$")


@dataclass
class Problem:
    file: str
    row: int
    column: str
    reason: str


@dataclass
class ImportReport:
    problems: list[Problem] = field(default_factory=list)
    counts: dict[str, int] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return not self.problems

    def add(self, file: str, row: int, column: str, reason: str) -> None:
        self.problems.append(Problem(file, row, column, reason))

    def as_rows(self) -> list[dict]:
        return [asdict(p) for p in self.problems]


def _read(
    path: str | None,
    label: str,
    columns: list[str],
    required: list[str],
    report: ImportReport,
) -> pd.DataFrame | None:
    try:
        frame = pd.read_csv(
            path, dtype=str, keep_default_na=False, encoding="utf-8-sig", skipinitialspace=True
        )
    except (OSError, UnicodeDecodeError, pd.errors.ParserError, pd.errors.EmptyDataError) as exc:
        report.add(label, 1, "", _("fichier illisible : %(error)s") % {"error": exc})
        return None
    frame.columns = [str(c).strip().lower() for c in frame.columns]
    missing = [c for c in required if c not in frame.columns]
    for column in missing:
        report.add(label, 1, column, _("colonne obligatoire absente"))
    if missing:
        return None
    for column in columns:
        if column not in frame.columns:
            frame[column] = ""
    return frame.map(lambda v: v.strip() if isinstance(v, str) else v)


def _line(index: Any) -> int:
    return int(index) + 2


def _parse_date(value: str) -> dt.date | None:
    for fmt in ("%Y-%m-%d", "%d/%m/%Y"):
        try:
            return dt.datetime.strptime(value, fmt).date()  # noqa: DTZ007 - a calendar date
        except ValueError:
            continue
    return None


def _check_required(
    frame: pd.DataFrame, label: str, required: list[str], report: ImportReport
) -> None:
    for index, row in frame.iterrows():
        for column in required:
            if not row[column]:
                report.add(label, _line(index), column, _("valeur obligatoire manquante"))


def _validate_schools(frame: pd.DataFrame, report: ImportReport) -> dict[str, dict]:
    label = "schools"
    _check_required(frame, label, SCHOOL_REQUIRED, report)
    schools: dict[str, dict] = {}
    for index, row in frame.iterrows():
        line, code = _line(index), row["code"].upper()
        if code and not UAI_RE.match(code):
            report.add(
                label,
                line,
                "code",
                _("code UAI invalide « %(value)s » (7 chiffres et une lettre)")
                % {"value": row["code"]},
            )
        elif code in schools:
            report.add(
                label,
                line,
                "code",
                _("code en double (déjà ligne %(line)s)") % {"line": schools[code]["_line"]},
            )
        if row["kind"] and row["kind"] not in School.Kind.values:
            report.add(
                label,
                line,
                "kind",
                _("type inconnu « %(value)s » (%(choices)s)")
                % {"value": row["kind"], "choices": ", ".join(School.Kind.values)},
            )
        if row["email"]:
            try:
                validate_email(row["email"])
            except ValidationError:
                report.add(label, line, "email", _("adresse e-mail invalide"))
        if code:
            schools.setdefault(
                code, {**{c: row[c] for c in SCHOOL_COLUMNS}, "code": code, "_line": line}
            )
    return schools


def _validate_families(frame: pd.DataFrame, report: ImportReport) -> dict[str, dict]:
    label = "families"
    _check_required(frame, label, FAMILY_REQUIRED, report)
    families: dict[str, dict] = {}
    emails: dict[str, int] = {}
    existing_refs = set(
        Household.objects.exclude(legacy_ref="").values_list("legacy_ref", flat=True)
    )
    for index, row in frame.iterrows():
        line, ref, email = _line(index), row["family_ref"], row["guardian_email"].lower()
        if ref and ref in existing_refs:
            report.add(
                label, line, "family_ref", _("famille « %(ref)s » déjà importée") % {"ref": ref}
            )
        if email:
            try:
                validate_email(email)
            except ValidationError:
                report.add(
                    label,
                    line,
                    "guardian_email",
                    _("adresse e-mail invalide « %(value)s »") % {"value": row["guardian_email"]},
                )
            else:
                if email in emails:
                    report.add(
                        label,
                        line,
                        "guardian_email",
                        _("adresse en double (déjà ligne %(line)s)") % {"line": emails[email]},
                    )
                elif User.objects.filter(email__iexact=email).exists():
                    report.add(
                        label, line, "guardian_email", _("un compte existe déjà avec cette adresse")
                    )
                emails.setdefault(email, line)
        if not ref:
            continue
        family = families.get(ref)
        if family is None:
            family = families[ref] = {
                "household_name": row["household_name"],
                "address_line": row["address_line"],
                "postal_code": row["postal_code"],
                "city": row["city"],
                "guardians": [],
                "_line": line,
            }
        else:
            for column in ("household_name", "address_line", "postal_code", "city"):
                if row[column] and row[column] != family[column]:
                    report.add(
                        label,
                        line,
                        column,
                        _("différent de la ligne %(line)s pour la même famille")
                        % {"line": family["_line"]},
                    )
        family["guardians"].append(
            {
                "email": email,
                "first_name": row["guardian_first_name"],
                "last_name": row["guardian_last_name"],
                "phone": row["guardian_phone"],
            }
        )
    return families


def _validate_children(
    frame: pd.DataFrame,
    report: ImportReport,
    families: dict[str, dict],
    school_codes: set[str],
) -> list[dict]:
    label = "children"
    _check_required(frame, label, CHILD_REQUIRED, report)
    children: list[dict] = []
    seen: dict[tuple, int] = {}
    today = timezone.localdate()
    for index, row in frame.iterrows():
        line = _line(index)
        if row["family_ref"] and row["family_ref"] not in families:
            report.add(
                label,
                line,
                "family_ref",
                _("famille « %(ref)s » absente du fichier des familles")
                % {"ref": row["family_ref"]},
            )
        birth = None
        if row["birth_date"]:
            birth = _parse_date(row["birth_date"])
            if birth is None:
                report.add(
                    label,
                    line,
                    "birth_date",
                    _("date invalide « %(value)s » (AAAA-MM-JJ ou JJ/MM/AAAA)")
                    % {"value": row["birth_date"]},
                )
            elif birth > today or birth.year < today.year - 18:
                report.add(
                    label, line, "birth_date", _("date de naissance hors de la plage 0–18 ans")
                )
        code = row["school_code"].upper()
        if code and code not in school_codes:
            report.add(
                label,
                line,
                "school_code",
                _("école « %(code)s » inconnue") % {"code": row["school_code"]},
            )
        allergies = [a.strip() for a in re.split(r"[;|,]", row["allergies"]) if a.strip()]
        for allergen in allergies:
            if allergen not in Allergen.values:
                report.add(
                    label,
                    line,
                    "allergies",
                    _("allergène inconnu « %(value)s »") % {"value": allergen},
                )
        if row["diet"] and row["diet"] not in Child.Diet.values:
            report.add(
                label,
                line,
                "diet",
                _("régime inconnu « %(value)s » (%(choices)s)")
                % {"value": row["diet"], "choices": ", ".join(Child.Diet.values)},
            )
        if row["custody"] and row["custody"] not in Child.Custody.values:
            report.add(
                label,
                line,
                "custody",
                _("garde inconnue « %(value)s »") % {"value": row["custody"]},
            )
        key = (
            row["family_ref"],
            row["first_name"].lower(),
            row["last_name"].lower(),
            row["birth_date"],
        )
        if all(key) and key in seen:
            report.add(
                label,
                line,
                "first_name",
                _("enfant en double (déjà ligne %(line)s)") % {"line": seen[key]},
            )
        seen.setdefault(key, line)
        children.append(
            {
                "family_ref": row["family_ref"],
                "first_name": row["first_name"],
                "last_name": row["last_name"],
                "birth_date": birth,
                "school_code": code,
                "class_name": row["class_name"][:40],
                "allergies": allergies,
                "diet": row["diet"] or Child.Diet.STANDARD,
                "custody": row["custody"] or Child.Custody.JOINT,
            }
        )
    return children


def families_import(
    *,
    families_csv: str | None,
    children_csv: str | None,
    schools_csv: str | None = None,
    dry_run: bool = False,
) -> ImportReport:
    """Validate the three files, then import all of it in one transaction, or nothing."""
    report = ImportReport()
    schools_frame = (
        _read(schools_csv, "schools", SCHOOL_COLUMNS, SCHOOL_REQUIRED, report)
        if schools_csv
        else None
    )
    families_frame = _read(families_csv, "families", FAMILY_COLUMNS, FAMILY_REQUIRED, report)
    children_frame = _read(children_csv, "children", CHILD_COLUMNS, CHILD_REQUIRED, report)
    schools = _validate_schools(schools_frame, report) if schools_frame is not None else {}
    families = _validate_families(families_frame, report) if families_frame is not None else {}
    school_codes = set(schools) | set(School.objects.values_list("code", flat=True))
    children = (
        _validate_children(children_frame, report, families, school_codes)
        if children_frame is not None
        else []
    )
    report.counts = {
        "schools": len(schools),
        "households": len(families),
        "guardians": sum(len(f["guardians"]) for f in families.values()),
        "children": len(children),
    }
    if not report.ok or dry_run:
        return report
    with transaction.atomic():
        _upsert_schools(schools)
        by_code = {
            s.code: s
            for s in School.objects.filter(
                code__in={c["school_code"] for c in children if c["school_code"]}
            )
        }
        households: dict[str, tuple[Household, list[Guardian]]] = {}
        for ref, family in families.items():
            household = Household.objects.create(
                name=family["household_name"][:200],
                address_line=family["address_line"][:255],
                postal_code=family["postal_code"][:10],
                city=family["city"][:100],
                legacy_ref=ref[:64],
            )
            guardians = []
            for g in family["guardians"]:
                user = User.objects.create_user(
                    email=g["email"],
                    password=None,
                    role=Role.PARENT,
                    first_name=g["first_name"][:150],
                    last_name=g["last_name"][:150],
                    phone=g["phone"][:32],
                )
                guardians.append(
                    Guardian.objects.create(household=household, user=user, relationship="parent")
                )
            households[ref] = (household, guardians)
        for c in children:
            household, guardians = households[c["family_ref"]]
            child = Child.objects.create(
                household=household,
                first_name=c["first_name"][:100],
                last_name=c["last_name"][:100],
                birth_date=c["birth_date"],
                school=by_code.get(c["school_code"]),
                class_name=c["class_name"],
                allergies=c["allergies"],
                diet=c["diet"],
                custody=c["custody"],
            )
            ChildGuardian.objects.bulk_create(
                [
                    ChildGuardian(
                        child=child,
                        guardian=g,
                        billing_payer=i == 0,
                        billing_share_percent=100 if i == 0 else 0,
                    )
                    for i, g in enumerate(guardians)
                ]
            )
        audit_record(
            action="family.import",
            actor_kind="system",
            actor_label="import_families",
            data=report.counts,
        )
    return report


def _upsert_schools(schools: dict[str, dict]) -> int:
    for code, row in schools.items():
        School.objects.update_or_create(
            code=code,
            defaults={
                "name": row["name"][:200],
                "kind": row["kind"] or School.Kind.ELEMENTARY,
                "address_line": row["address_line"][:255],
                "postal_code": row["postal_code"][:10],
                "city": row["city"][:100],
                "phone": row["phone"][:32],
                "email": row["email"][:254],
            },
        )
    return len(schools)


def schools_import(
    *, schools_csv: str | None, catchment_csv: str | None = None, dry_run: bool = False
) -> ImportReport:
    """The school directory (created or updated by UAI code) and, optionally, catchment streets
    (replacing the areas of the schools named in the file)."""
    report = ImportReport()
    frame = _read(schools_csv, "schools", SCHOOL_COLUMNS, SCHOOL_REQUIRED, report)
    schools = _validate_schools(frame, report) if frame is not None else {}
    areas = []
    if catchment_csv:
        cframe = _read(catchment_csv, "catchment", CATCHMENT_COLUMNS, CATCHMENT_REQUIRED, report)
        if cframe is not None:
            known = set(schools) | set(School.objects.values_list("code", flat=True))
            _check_required(cframe, "catchment", CATCHMENT_REQUIRED, report)
            for index, row in cframe.iterrows():
                line = _line(index)
                code = row["school_code"].upper()
                if code and code not in known:
                    report.add(
                        "catchment",
                        line,
                        "school_code",
                        _("école « %(code)s » inconnue") % {"code": row["school_code"]},
                    )
                numbers: dict[str, Any] = {}
                for column, default in (("number_from", 1), ("number_to", None)):
                    value = row[column]
                    if not value:
                        numbers[column] = default
                    elif value.isdigit() and int(value) > 0:
                        numbers[column] = int(value)
                    else:
                        report.add(
                            "catchment",
                            line,
                            column,
                            _("numéro invalide « %(value)s »") % {"value": value},
                        )
                if (
                    numbers.get("number_to")
                    and numbers.get("number_from")
                    and numbers["number_to"] < numbers["number_from"]
                ):
                    report.add("catchment", line, "number_to", _("inférieur au numéro de début"))
                parity = row["parity"] or "all"
                if parity not in CatchmentArea.Parity.values:
                    report.add(
                        "catchment",
                        line,
                        "parity",
                        _("côté inconnu « %(value)s » (all, odd, even)") % {"value": row["parity"]},
                    )
                areas.append({"code": code, "street": row["street"], "parity": parity, **numbers})
    report.counts = {"schools": len(schools), "catchment_areas": len(areas)}
    if not report.ok or dry_run:
        return report
    with transaction.atomic():
        _upsert_schools(schools)
        by_code = {s.code: s for s in School.objects.filter(code__in={a["code"] for a in areas})}
        CatchmentArea.objects.filter(school__in=by_code.values()).delete()
        for a in areas:
            CatchmentArea.objects.create(
                school=by_code[a["code"]],
                street_name=a["street"][:200],
                number_from=a["number_from"],
                number_to=a["number_to"],
                parity=a["parity"],
            )
        audit_record(
            action="family.import_schools",
            actor_kind="system",
            actor_label="import_schools",
            data=report.counts,
        )
    return report


# --- the same imports from the staff pages: upload, see the report, confirm ----------------------
IMPORT_FILES = {
    "families": ("families", "children", "schools"),
    "schools": ("schools", "catchment"),
}
IMPORT_REQUIRED = {"families": ("families", "children"), "schools": ("schools",)}
IMPORT_MAX_BYTES = 20 * 1024 * 1024


def _staging_dir(token: str) -> Path:
    from django.conf import settings

    if not re.fullmatch(r"[0-9a-f]{32}", token or ""):
        raise ValidationError(_("jeton d'import invalide"))
    return Path(settings.MEDIA_ROOT) / "family-imports" / token


def import_stage(*, kind: str, files: dict[str, Any]) -> str:
    """Keep the uploaded CSV files (outside the web root) until staff confirm; answer a token."""
    import secrets

    from backend.core.exceptions import ApplicationError

    if kind not in IMPORT_FILES:
        raise ApplicationError(_("Type d'import inconnu."))
    missing = [name for name in IMPORT_REQUIRED[kind] if not files.get(name)]
    if missing:
        raise ApplicationError(
            _("Fichier obligatoire manquant : %(f)s.") % {"f": ", ".join(missing)}
        )
    for name, upload in files.items():
        if upload and upload.size > IMPORT_MAX_BYTES:
            raise ApplicationError(
                _("Fichier trop volumineux : %(f)s (20 Mo au plus).") % {"f": name}
            )
    token = secrets.token_hex(16)
    directory = _staging_dir(token)
    directory.mkdir(parents=True, exist_ok=True)
    for name in IMPORT_FILES[kind]:
        upload = files.get(name)
        if upload:
            with open(directory / f"{name}.csv", "wb") as handle:
                for chunk in upload.chunks():
                    handle.write(chunk)
    return token


def import_staged_run(
    *, token: str, kind: str, dry_run: bool, actor: User | None = None
) -> ImportReport:
    """Validate (dry run) or import the staged files, all or nothing; the files are removed
    after a real run, whatever its outcome."""
    import shutil

    directory = _staging_dir(token)
    if not directory.is_dir() or kind not in IMPORT_FILES:
        report = ImportReport()
        report.add("", 0, "", _("fichiers expirés : déposez-les à nouveau"))
        return report

    def path(name: str) -> str | None:
        candidate = directory / f"{name}.csv"
        return str(candidate) if candidate.exists() else None

    try:
        if kind == "families":
            report = families_import(
                families_csv=path("families"),
                children_csv=path("children"),
                schools_csv=path("schools"),
                dry_run=dry_run,
            )
        else:
            report = schools_import(
                schools_csv=path("schools"), catchment_csv=path("catchment"), dry_run=dry_run
            )
    finally:
        if not dry_run:
            shutil.rmtree(directory, ignore_errors=True)
    return report
