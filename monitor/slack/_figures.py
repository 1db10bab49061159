"""Figures as an alert tells them: a story's key figures, values in the article's scale, changes as "+443,
+4.2%". The private helper of ``slack._blocks``.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from ..records import Figure, FigureChanged, Observation
from ._text import safe

MAX_FIGURES = 6
QUOTE_CHARS = 200  # a figure's sentence, quoted under it

# --- numbers ------------------------------------------------------------------------------------------------

_QUALIFIER_WORDS = {
    "approx": "about",
    "more_than": "more than",
    "less_than": "less than",
    "at_least": "at least",
    "up_to": "up to",
}
# What the extractor reads as a qualifier, written before or after a number (figures._words' vocabulary, in
# simplified and traditional characters): a figure whose text says one is shown as written.
_WRITTEN_QUALIFIER = re.compile(
    r"(?<![A-Za-z])(?:about|around|approx\.?|approximately|nearly|almost|roughly|some|circa|close\s+to|"
    r"(?:an\s+)?estimated|over|above|beyond|past|more\s+than|in\s+excess\s+of|upwards\s+of|exceed(?:ing|ed|s)|"
    r"surpass(?:ing|ed)|topp(?:ing|ed)|passed|crossed|broke\s+through|less\s+than|fewer\s+than|under|below|"
    r"at\s+least|no\s+(?:less|fewer|more)\s+than|not\s+(?:less|fewer|more)\s+than|a\s+(?:minimum|maximum)\s+of|"
    r"up\s+to|as\s+(?:many|much)\s+as|plus|or\s+(?:more|above|so|less|fewer)|odd)(?![A-Za-z])|\+|"
    r"[超逾约約近余餘多以至许許过過]|不到|不足|不少于|不少於|不低于|不低於|起码|起碼|少于|少於|低于|低於|未满|未滿|未达|未達|"
    r"最多|最高|不超过|不超過|高于|高於|大于|大於|突破|大概|预计|預計|左右|上下",
    re.IGNORECASE,
)
_SCALE = re.compile(r"\b(trillion|billion|million|bn|mn)\b|(万亿|亿|万)", re.IGNORECASE)
_FACTORS = {"trillion": 1e12, "万亿": 1e12, "billion": 1e9, "bn": 1e9, "million": 1e6, "mn": 1e6}
_FACTORS |= {"亿": 1e8, "万": 1e4}


def with_qualifier(text: str, qualifier: str) -> str:
    """The value as written, with its qualifier ("more than 370") unless the text already says it."""
    words = _QUALIFIER_WORDS.get(qualifier)
    return f"{words} {text}" if words and not _WRITTEN_QUALIFIER.search(text) else text


def _number(value: float) -> str:
    """1234.5 → "1,234.5"; whole numbers without decimals."""
    return f"{value:,.2f}".rstrip("0").rstrip(".")


def amount_text(value: float, *, like: str) -> str:
    """``value`` in the scale ``like`` uses: 53860000000 like "846.14 billion yuan" → "53.86 billion"."""
    match = _SCALE.search(like)
    if not match:
        return _number(value)
    word = match.group(0)
    factor = _FACTORS[word.lower()]
    return f"{_number(value / factor)}{word}" if match.group(2) else f"{_number(value / factor)} {word}"


def delta_text(old: Observation, new: Observation) -> str:
    """The change as "+443, +4.2%" (percentage points for percentages, the bare difference for multiples:
    "+0.5"); "" when the units differ."""
    if old.unit != new.unit:
        return ""
    change = new.value - old.value
    sign = "+" if change >= 0 else "-"
    if new.unit in ("%", "pp"):
        return f"{sign}{_number(abs(change))} pp"
    if new.unit == "times":  # "2.5 → 3 times": a percent of a multiple would read as a third measure
        return f"{sign}{_number(abs(change))}"
    parts = [f"{sign}{amount_text(abs(change), like=new.text)}"]
    if old.value:
        parts.append(f"{change / abs(old.value) * 100:+.1f}%")
    return ", ".join(parts)


# --- figures of a story -------------------------------------------------------------------------------------


def _importance(figure: Figure) -> int:
    """Tracked metrics first, then money, then percentages and qualified counts, then the rest."""
    score = 3 if figure.label else 0
    if re.fullmatch(r"[A-Z]{3}", figure.unit):
        return score + 3
    if figure.unit in ("%", "pp") or figure.qualifier != "exact":
        return score + 2
    return score + 1


def shown_figures(figures: Sequence[Figure], *, limit: int = MAX_FIGURES) -> list[tuple[Figure, str]]:
    """The story's most telling figures, in article order, each with its display text.

    A conversion is never listed alone; it follows its original: "846.14 billion yuan ($120.14 billion)".
    """
    conversions: dict[int, Figure] = {}
    for figure in figures:
        if figure.conversion_of is not None:
            conversions.setdefault(figure.conversion_of, figure)
    seen: set[tuple[str, str]] = set()
    candidates: list[tuple[int, int, Figure]] = []
    for index, figure in enumerate(figures):
        identity = (figure.text.lower(), subject_text(figure).lower())
        if figure.conversion_of is None and identity not in seen:
            seen.add(identity)
            candidates.append((-_importance(figure), index, figure))
    chosen = sorted(sorted(candidates)[:limit], key=lambda c: c[1])
    shown = []
    for _, index, figure in chosen:
        text = with_qualifier(figure.text, figure.qualifier)
        if index in conversions:
            text = f"{text} ({conversions[index].text})"
        shown.append((figure, text))
    return shown


def subject_text(figure: Figure) -> str:
    """The subject as readers see it: a change or a goal says so ("employed residents (change)")."""
    return figure.subject if figure.aspect == "level" else f"{figure.subject} ({figure.aspect})".strip()


def figure_text(figure: Figure, text: str) -> str:
    """ "• 846.14 billion yuan — registered capital"; the subject is left out when the text already says it
    ("10,577 Hong Kong-funded enterprises")."""
    subject = subject_text(figure)
    said = not subject or subject.lower() in text.lower()
    return f"• {safe(text, 120)}" + ("" if said else f" — {safe(subject, 160)}")


def figure_line(figure: Figure, text: str, *, move: str = "") -> str:
    """ "*846.14 billion yuan* — registered capital, Qianhai, 2024" in mrkdwn, its sentence quoted below;
    ``move`` (see ``move_text``) goes right after the value, on the same line."""
    about = about_text(text, (subject_text(figure), figure.place, figure.period))
    line = f"*{safe(text, 120)}*" + (f" {move}" if move else "") + (f" — {safe(about, 160)}" if about else "")
    return line + (f"\n> {safe(figure.sentence, QUOTE_CHARS)}" if figure.sentence else "")


def about_text(text: str, parts: Sequence[str | None]) -> str:
    """What ``parts`` (subject, place, period) add to a value's ``text``, never repeating a subject: a part
    the text or an earlier part already says is left out ("11,020 Hong Kong-funded enterprises" needs no
    "— Hong Kong-funded enterprises")."""
    said = [text.casefold()]
    kept = []
    for part in parts:
        folded = (part or "").strip().casefold()
        if folded and not any(folded in s for s in said):
            said.append(folded)
            kept.append(part or "")
    return ", ".join(kept)


def previous_amount(old: Observation) -> str:
    """The old value as a number in its article's scale: "10,577", "53.86 billion", "4.5%"."""
    return amount_text(old.value, like=old.text) + ("%" if old.unit == "%" else "")


def move_text(old: Observation, new: Observation, source: str) -> str:
    """ "▲ +443 (+4.2%) from 10,577 (source)": the direction, the change and the value it moved from;
    ``source`` is mrkdwn already built (the previous article, linked)."""
    arrow = "▲" if new.value > old.value else "▼"
    delta = delta_text(old, new)
    amount, _, percent = delta.partition(", ")
    change = f"{amount} ({percent})" if percent else amount
    return f"{arrow} {change} from {previous_amount(old)} ({source})" if delta else f"{arrow} from {source}"


def biggest_move(moves: Sequence[FigureChanged]) -> FigureChanged | None:
    """The move that changed its metric most, relative to its old value (absolute when it was zero)."""

    def size(move: FigureChanged) -> float:
        change = abs(move.new.value - move.old.value)
        return change / abs(move.old.value) if move.old.value else float("inf") if change else 0.0

    return max(moves, key=size, default=None)
