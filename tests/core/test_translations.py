"""The English catalogue is complete: every French source string has a reviewed English translation.

Observed: dozens of new strings had no English (the interface mixed both languages) and msgmerge's
"fuzzy" guesses (usually wrong, and ignored at run time) were left in the catalogue. These tests
fail when ``makemessages`` brings in a string nobody translated, when a fuzzy guess is left,
when a translation loses a placeholder, or when the compiled ``.mo`` is older than the ``.po``.
They parse the files in Python (polib, a dev dependency): no gettext tools are needed.
"""

import gettext
import re
from pathlib import Path

import polib
import pytest
from django.conf import settings
from django.test import Client
from django.utils.translation import override

from tests.factories import ParentFactory

LOCALE = Path(settings.BASE_DIR) / "locale" / "en" / "LC_MESSAGES"
PLACEHOLDER = re.compile(r"%\([A-Za-z_][A-Za-z0-9_]*\)[sdif]|%[sdif]|\{[A-Za-z0-9_]*\}")
TAG = re.compile(r"</?[a-zA-Z][^>]*>")


@pytest.fixture(scope="module")
def catalogue():
    return polib.pofile(str(LOCALE / "django.po"))


def _live(catalogue):
    return [e for e in catalogue if not e.obsolete]


def _translations(entry) -> list[str]:
    if entry.msgid_plural:
        return [entry.msgstr_plural[k] for k in sorted(entry.msgstr_plural)]
    return [entry.msgstr]


def _label(entry) -> str:
    where = entry.occurrences[0][0] if entry.occurrences else "?"
    return f"{where}: {entry.msgid[:70]!r}"


def test_the_catalogue_is_english_with_two_plural_forms(catalogue):
    assert catalogue.metadata["Language"] == "en"
    assert catalogue.metadata["Plural-Forms"].startswith("nplurals=2;")


def test_no_untranslated_entry(catalogue):
    missing = [_label(e) for e in _live(catalogue) if not all(_translations(e))]
    assert not missing, f"{len(missing)} untranslated entries:\n" + "\n".join(missing)


def test_no_fuzzy_entry(catalogue):
    fuzzy = [_label(e) for e in _live(catalogue) if "fuzzy" in e.flags]
    assert not fuzzy, f"{len(fuzzy)} fuzzy entries to review:\n" + "\n".join(fuzzy)


def test_translations_keep_placeholders_tags_and_newlines(catalogue):
    wrong = []
    for e in _live(catalogue):
        sources = [e.msgid, e.msgid_plural] if e.msgid_plural else [e.msgid]
        allowed = set().union(*(PLACEHOLDER.findall(s) for s in sources))
        for i, text in enumerate(_translations(e)):
            if not text:
                continue
            source = sources[min(i, len(sources) - 1)]
            used = set(PLACEHOLDER.findall(text))
            # A singular may spell the number out ("one invoice"); every other form keeps them all.
            needed = set(PLACEHOLDER.findall(source))
            if e.msgid_plural and i == 0:
                needed -= {"%(n)s", "%(count)s", "%d", "%s"}
            if not used <= allowed or not needed <= used:
                wrong.append(f"{_label(e)} placeholders {sorted(used)} vs {sorted(needed)}")
            if sorted(t.split()[0] for t in TAG.findall(source)) != sorted(
                t.split()[0] for t in TAG.findall(text)
            ):
                wrong.append(f"{_label(e)} HTML tags differ")
            for edge in (str.startswith, str.endswith):
                if edge(source, "\n") != edge(text, "\n"):
                    wrong.append(f"{_label(e)} leading/trailing newline differs")
    assert not wrong, "\n".join(wrong)


def test_the_compiled_catalogue_matches_the_po_file(catalogue):
    """`make messages` was run after the last edit of the .po file."""
    with open(LOCALE / "django.mo", "rb") as fp:
        compiled = gettext.GNUTranslations(fp)
    stale = []
    for e in _live(catalogue):
        if not all(_translations(e)) or "fuzzy" in e.flags:
            continue
        if e.msgid_plural:
            got = [compiled.ngettext(e.msgid, e.msgid_plural, n) for n in (1, 2)]
            expected = [e.msgstr_plural[0], e.msgstr_plural[1]]
        elif e.msgctxt:
            got, expected = [compiled.pgettext(e.msgctxt, e.msgid)], [e.msgstr]
        else:
            got, expected = [compiled.gettext(e.msgid)], [e.msgstr]
        if got != expected:
            stale.append(_label(e))
    assert not stale, "run `make messages`; stale in django.mo:\n" + "\n".join(stale[:20])


ENGLISH_PAGES = [
    # (path, English text expected, French source that must not remain)
    ("/vie-privee/", "Privacy and personal data", "Vie privée et données personnelles"),
    ("/vie-privee/", "Retention periods", "Durées de conservation"),
    ("/accessibilite/", "Accessibility statement", "Déclaration d\u2019accessibilité"),
    ("/accessibilite/", "Known non-compliance", "Non-conformités connues"),
    ("/compte/", "API tokens", "Jetons d\u2019API"),
    ("/compte/", "Download household data", "Télécharger les données du foyer"),
]


@pytest.mark.django_db
@pytest.mark.parametrize(("path", "english", "french"), ENGLISH_PAGES)
def test_pages_render_in_english_when_chosen(path, english, french):
    client = Client()
    client.force_login(ParentFactory())
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    response = client.get(path)
    assert response.status_code == 200
    html = response.content.decode()
    assert '<html lang="en"' in html
    assert english in html
    assert french not in html.replace("&#x27;", "\u2019").replace("'", "\u2019")


@pytest.mark.django_db
def test_the_weekly_fleet_report_reaches_each_technician_in_their_language(
    mailoutbox, django_capture_on_commit_callbacks
):
    """Observed: the report body was built with French f-strings, so English readers got French."""
    from fleet.services.reporting import weekly_report_send
    from tests.factories import TechnicianFactory
    from tests.fleet.factories import DeviceFactory

    TechnicianFactory(email="tech-fr@example.org", language="fr")
    TechnicianFactory(email="tech-en@example.org", language="en")
    DeviceFactory(status="online")
    DeviceFactory(status="missing")
    with django_capture_on_commit_callbacks(execute=True):
        assert weekly_report_send() == 2
    mail = {m.to[0]: m for m in mailoutbox}
    assert "Appareils : 2 — en ligne : 1 — disparus : 1" in mail["tech-fr@example.org"].body
    english = mail["tech-en@example.org"]
    assert "Devices: 2 — online: 1 — missing: 1" in english.body
    assert "Appareils" not in english.body
    assert english.subject.startswith("Weekly fleet report")


def _eager_gettext_at_import_time(path: Path) -> list[str]:
    import ast

    tree = ast.parse(path.read_text())
    eager = {
        alias.asname or alias.name
        for node in ast.walk(tree)
        if isinstance(node, ast.ImportFrom) and node.module == "django.utils.translation"
        for alias in node.names
        if alias.name in {"gettext", "ngettext", "pgettext", "npgettext"}
    }
    found: list[str] = []

    def visit(node, in_function: bool) -> None:
        for child in ast.iter_child_nodes(node):
            inside = in_function or isinstance(
                child, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)
            )
            if (
                not inside
                and isinstance(child, ast.Call)
                and isinstance(child.func, ast.Name)
                and child.func.id in eager
            ):
                found.append(f"{path}:{child.lineno}: {ast.unparse(child)[:80]}")
            visit(child, inside)

    if eager:
        visit(tree, False)
    return found


def test_no_eager_gettext_at_import_time():
    """Observed: the access log showed "Dossier du foyer" in the English interface (a module-level gettext runs
    once, in French, when the module is imported). Module and class level labels use gettext_lazy."""
    base = Path(settings.BASE_DIR)
    skip = {".venv", "node_modules", "var", "tests", "migrations", "bench", "agents"}
    found = [
        line
        for path in sorted(base.rglob("*.py"))
        if not skip & set(path.relative_to(base).parts)
        for line in _eager_gettext_at_import_time(path)
    ]
    assert not found, "\n".join(found)


@pytest.mark.django_db
def test_a_household_invitation_notice_reaches_each_guardian_in_their_language():
    """Observed: the notice was stored already translated in the inviter's language."""
    from backend.core.models import Notification
    from family.services.households import guardian_invite
    from tests.factories import GuardianFactory

    inviter = GuardianFactory(user__language="fr", user__first_name="Camille")
    other = GuardianFactory(household=inviter.household, user__language="en")
    guardian_invite(actor=inviter.user, household=inviter.household, email="new@example.test")
    notice = Notification.objects.get(user=other.user)
    with override("en"):  # pages and emails render in the reader's language
        assert notice.subject_text == "New invitation to your household: new@example.test"
        assert "Camille" in notice.body_text
        assert "invited new@example.test to join your household" in notice.body_text
    with override("fr"):
        assert notice.subject_text == "Nouvelle invitation dans votre foyer : new@example.test"
