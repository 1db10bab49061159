"""Terms users write in YAML (words, phrases, ``/regular expressions/i``) → where they match in a text.

One definition of a match, used by the feed filters (``keywords``, ``exclude``), by ``routes`` and by
``config`` to check a term when the file is read. The only user of opencc: Chinese is folded to simplified
characters on both sides, so "大湾区" finds "大灣區" and "前海" finds "前海". Latin words match whole words,
case-insensitively ("GBA" is not in "GBAX"; "Hong Kong" is in "Hong Kong's"); Chinese matches as a substring
(it has no spaces between words). A leaf: nothing of the package is imported here.
"""

from __future__ import annotations

import fnmatch
import functools
import re
import unicodedata
from collections.abc import Iterable, Mapping

import opencc

# Word characters that are not CJK: a Latin keyword must not touch one of these on either side.
_CJK = (
    "\u2e80-\u2fff\u3000-\u303f\u3040-\u30ff\u3100-\u31ff\u3400-\u4dbf\u4e00-\u9fff\uac00-\ud7af\uf900-\ufaff"
)
_LATIN_WORD = f"[^\\W{_CJK}]"
_CJK_CHAR = re.compile(f"[{_CJK}\uff00-\uffef]")
_REGEX_TERM = re.compile(r"^/(?P<body>.+)/(?P<flags>i?)$", re.DOTALL)


@functools.cache
def _to_simplified() -> opencc.OpenCC:
    return opencc.OpenCC("t2s")


def fold(text: str) -> str:
    """``text`` as terms are matched against it: NFKC-normalised, traditional Chinese as simplified."""
    text = unicodedata.normalize("NFKC", text)
    return _to_simplified().convert(text) if _CJK_CHAR.search(text) else text


@functools.lru_cache(maxsize=2048)
def term_pattern(term: str) -> re.Pattern[str]:
    """The compiled form of one term; raises ValueError (a sentence for users) when it cannot be one.

    ``/Qianhai\\s+(zone|hub)/i`` is a regular expression (``i``: ignore case); anything else a word or phrase.
    """
    regex = _REGEX_TERM.match(term.strip())
    if regex:
        flags = re.IGNORECASE if regex["flags"] else 0
        try:
            return re.compile(fold(regex["body"]), flags)
        except re.error as exc:
            raise ValueError(f'"{term}" is not a valid regular expression ({exc})') from None
    needle = fold(term).strip()
    if not needle:
        raise ValueError("an empty term matches everything (remove it)")
    if _CJK_CHAR.search(needle):
        return re.compile(re.escape(needle), re.IGNORECASE)
    words = r"\s+".join(re.escape(word) for word in needle.split())
    return re.compile(f"(?<!{_LATIN_WORD}){words}(?!{_LATIN_WORD})", re.IGNORECASE)


def matched_terms(text: str, terms: Iterable[str]) -> tuple[str, ...]:
    """The terms found in ``text``, in the order given, each once."""
    haystack = fold(text)
    found: list[str] = []
    for term in terms:
        if term not in found and term.strip() and term_pattern(term).search(haystack):
            found.append(term)
    return tuple(found)


def screen(
    fields: Mapping[str, str],
    *,
    keywords: Iterable[str],
    exclude: Iterable[str],
    match_in: Iterable[str],
    body_pending: bool = False,
) -> tuple[str, ...] | None:
    """The keywords ``fields`` (title, summary, body → text) match, or None when the filters drop them.

    No keywords: every text is kept. An ``exclude`` term found drops it. With ``body_pending`` (the body is to
    be read and ``match_in`` names it) a text matching no keyword yet is kept, to be screened again once read.
    """
    keywords = tuple(keywords)
    text = "\n".join(fields.get(name, "") for name in match_in)
    if matched_terms(text, exclude):
        return None
    found = matched_terms(text, keywords)
    if found or not keywords or body_pending:
        return found
    return None


def metric_matches(pattern: str, metric: str) -> bool:
    """True when the metric key matches the glob ``pattern`` (``qianhai.*``; a plain key matches itself)."""
    return fnmatch.fnmatchcase(metric, pattern)
