"""One money formatting for the whole project (backend.core.money)."""

import pytest
from django.template import Context, Template
from django.utils import translation
from hypothesis import given
from hypothesis import strategies as st

from backend.core.money import format_money, parse_amount, plain_amount


@given(st.integers(1, 10**7))
def test_french_text_parses_back_to_the_same_cents(cents):
    assert parse_amount(format_money(cents, language="fr")) == cents


@given(st.integers(-(10**9), 10**9))
def test_plain_amount_round_trips(cents):
    text = plain_amount(cents)
    sign = -1 if text.startswith("-") else 1
    units, rest = text.lstrip("-").split(",")
    assert sign * (int(units) * 100 + int(rest)) == cents


@pytest.mark.parametrize(
    ("cents", "currency", "language", "expected"),
    [
        (245, "EUR", "fr", "2,45\u00a0€"),
        (123456, "EUR", "fr", "1\u202f234,56\u00a0€"),
        (-1000, "EUR", "fr", "-10,00\u00a0€"),
        (123456, "EUR", "en", "€1,234.56"),
        (1200, "CHF", "fr", "12,00\u00a0CHF"),
        (1200, "CHF", "en", "12.00 CHF"),
    ],
)
def test_format_money(cents, currency, language, expected):
    assert format_money(cents, currency, language=language) == expected


def test_the_template_filter_follows_the_page_language():
    template = Template("{{ amount|money }} {{ amount|money:'CHF' }} {{ junk|money }}|")
    with translation.override("fr"):
        assert (
            template.render(Context({"amount": 980, "junk": "x"})) == "9,80\u00a0€ 9,80\u00a0CHF |"
        )
    with translation.override("en"):
        assert template.render(Context({"amount": 980})) == "€9.80 9.80 CHF |"


@pytest.mark.parametrize("text", ["", "abc", "-3", "0", "1,234", "1e9", "NaN", "200000"])
def test_parse_amount_refuses_nonsense(text):
    with pytest.raises(ValueError, match=r"."):  # each refusal has a readable message
        parse_amount(text)


def test_no_float_formats_money_anywhere():
    """Money becomes text only through format_money/plain_amount: no ``cents / 100``."""
    import pathlib
    import re

    root = pathlib.Path(__file__).resolve().parents[2]
    offenders = [
        f"{path.relative_to(root)}:{n}"
        for app in ("backend", "family", "canteen", "payments", "fleet")
        for path in (root / app).rglob("*.py")
        if "migrations" not in path.parts
        for n, line in enumerate(path.read_text().splitlines(), 1)
        if re.search(r"cents\w*\s*/\s*100\b", line)
    ]
    assert offenders == []
