"""Street-address parsing and normalisation for the catchment lookup (no network, no geocoder).

A catchment area is a street plus a range of numbers on one side (odd / even / all). Addresses
typed by people vary ("12 bis, Av. Jean-Jaurès"), so both sides are normalised the same way:
lower case, no accents, punctuation removed, common abbreviations expanded.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

ABBREVIATIONS = {
    "av": "avenue",
    "ave": "avenue",
    "bd": "boulevard",
    "bld": "boulevard",
    "boul": "boulevard",
    "ch": "chemin",
    "imp": "impasse",
    "pl": "place",
    "r": "rue",
    "rte": "route",
    "sq": "square",
    "all": "allee",
    "crs": "cours",
    "pass": "passage",
    "fg": "faubourg",
    "st": "saint",
    "ste": "sainte",
}
NUMBER_SUFFIXES = {"bis", "ter", "quater", "b", "t", "a", "c", "d"}
_NUMBER_RE = re.compile(r"^\s*(\d{1,5})\s*([a-zA-Z]{0,6})\b[\s,]*(.*)$")


def _strip_accents(text: str) -> str:
    return "".join(c for c in unicodedata.normalize("NFKD", text) if not unicodedata.combining(c))


def normalize_street(name: str) -> str:
    text = _strip_accents(name or "").lower()
    text = re.sub(r"[^a-z0-9]+", " ", text)
    words = [ABBREVIATIONS.get(w, w) for w in text.split()]
    return " ".join(words)


@dataclass(frozen=True)
class ParsedAddress:
    number: int | None
    street_key: str


def parse_address(address_line: str) -> ParsedAddress:
    """``"12 bis, av. Jean-Jaurès"`` → ``ParsedAddress(12, "avenue jean jaures")``."""
    match = _NUMBER_RE.match(address_line or "")
    if match:
        number, suffix, rest = match.groups()
        if suffix and suffix.lower() not in NUMBER_SUFFIXES:
            rest = f"{suffix} {rest}"
        return ParsedAddress(int(number), normalize_street(rest))
    return ParsedAddress(None, normalize_street(address_line))
