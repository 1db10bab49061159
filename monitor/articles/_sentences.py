"""Article text → its sentences and its language. The private helper of ``articles``.

English sentences end at . ! ? followed by a capital, a digit or a Chinese character (not after an
abbreviation or an initial, nor inside a number like 846.14); Chinese ones at 。！？；. A text is Chinese
("zh") when Chinese characters outnumber a third of its Latin letters, else English ("en").
"""

from __future__ import annotations

import re

_WORD_EN = re.compile(r"[A-Za-z]")
_CJK = re.compile(r"[\u3400-\u9fff\uf900-\ufaff]")
_SENTENCE_END = re.compile(r"[.!?]+[\"”’')\]]*(?=\s+[\"“‘(\[]?[A-Z0-9\u3400-\u9fff])|[。！？；]+[”’」』）)]*")
_ABBREVIATIONS = frozenset(
    [
        "mr",
        "mrs",
        "ms",
        "dr",
        "prof",
        "st",
        "no",
        "nos",
        "co",
        "corp",
        "inc",
        "ltd",
        "jan",
        "feb",
        "mar",
        "apr",
        "jun",
        "jul",
        "aug",
        "sep",
        "sept",
        "oct",
        "nov",
        "dec",
        "u.s",
        "u.k",
        "e.g",
        "i.e",
        "etc",
        "vs",
        "gov",
        "sen",
        "rep",
        "jr",
        "sr",
        "a.m",
        "p.m",
        "fig",
        "approx",
        "dept",
        "univ",
        "est",
        "mt",
        "ft",
        "hon",
        "gen",
        "col",
        "lt",
        "sgt",
        "messrs",
        "u.n",
        "h.k",
        "p.r.c",
    ]
)


def split_sentences(line: str) -> list[str]:
    """Sentences of one block: English . ! ? (not after abbreviations, initials, inside 846.14); 。！？；.
    A table row (cells joined by tabs) is one sentence whatever its cells hold ("n.a.", "Note: see p. 4")."""
    if "\t" in line:
        return [line.strip(" ")]  # its empty cells too: its numbers stay under their own columns
    sentences, start = [], 0
    for m in _SENTENCE_END.finditer(line):
        if m.group()[0] == "." and _is_abbreviation(line, m.start()):
            continue
        sentences.append(line[start : m.end()].strip())
        start = m.end()
    sentences.append(line[start:].strip())
    return [s for s in sentences if s]


_TRAILING_WORD = re.compile(r"[\w.]+$")


def _is_abbreviation(line: str, dot: int) -> bool:
    # The word before the dot, read from at most 16 characters back: every abbreviation is shorter, and
    # searching the whole line before each dot cost a tenth of read_article.
    word = _TRAILING_WORD.search(line, max(0, dot - 16), dot)
    if not word:
        return False
    token = word.group().lower()
    return token in _ABBREVIATIONS or (len(token) == 1 and token.isalpha())


def language_of(text: str) -> str:
    """ "zh" when Chinese characters dominate the text, else "en"."""
    cjk = len(_CJK.findall(text))
    return "zh" if cjk and cjk * 3 > len(_WORD_EN.findall(text)) else "en"
