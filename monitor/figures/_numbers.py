"""How a number is written: its digits and grouping, its scale, its qualifier, Chinese numerals and tenths,
and shares in words. Private helpers of ``figures._extract``; pure functions over the masked sentence.
"""

from __future__ import annotations

import re

from . import _words as w
from ._keys import Quantity


def fractions(text: str, found: list[Quantity]) -> list[Quantity]:
    """Shares written in words ("about half of the firms", "three in four companies"), as percentages."""
    shares = []
    for m in w.FRACTION.finditer(text):
        if any(q.start <= m.start() < q.end for q in found):
            continue
        if m.group("frac"):
            value = w.FRACTION_OF.get(re.sub(r"[\s-]+", " ", m.group("frac").lower()))
        else:
            value = 100 * w.SMALL_NUMBERS[m.group("num").lower()] / w.SMALL_NUMBERS[m.group("den").lower()]
        if value is None or value >= 100:
            continue
        shares.append(_share(text, m.start(), m.start() + len(m.group("frac") or m.group(0)), value))
    for m in w.ZH_FRACTION.finditer(text):
        if any(q.start <= m.start() < q.end for q in found):
            continue
        num, den = zh_number(m.group("num") or m.group("num2")), zh_number(m.group("den") or m.group("den2"))
        if 0 < num < den:
            shares.append(_share(text, m.start(), m.end(), 100 * num / den))
    return shares + _shares_without_of(text, [*found, *shares])


def _shares_without_of(text: str, found: list[Quantity]) -> list[Quantity]:
    """ "a quarter (26%)", "grew by more than a fifth", "Fifty-five percent": shares in words, as %."""
    shares = []
    spans = [(m.start("frac" if m.group("frac") else "frac2"), m) for m in w.FRACTION_BARE.finditer(text)]
    spans += [(m.start(), m) for m in w.WORD_PERCENT.finditer(text)]
    for start, m in sorted(spans, key=lambda s: s[0]):
        if any(q.start <= start < q.end for q in found):
            continue
        if "frac" in m.re.groupindex:
            word = m.group("frac") or m.group("frac2")
            value, end = w.FRACTION_OF.get(re.sub(r"[\s-]+", " ", word.lower())), start + len(word)
        else:
            small, tens = m.group("small"), m.group("tens")
            value = w.WORD_VALUE[small.lower()] if small else w.WORD_VALUE[tens.lower()]
            value += w.WORD_VALUE[m.group("one").lower()] if m.group("one") else 0
            end = m.end()
        if value is None:
            continue
        shares.append(_share(text, start, end, value))
    return shares


def _share(text: str, start: int, end: int, value: float) -> Quantity:
    """A share in words at ``text[start:end]`` as a percentage (four significant digits: a third is 33.33),
    with the qualifier written before it."""
    q = Quantity(start, end, float(f"{value:.4g}"), "%", "pct")
    q.qualifier = qualifier_before(text, q) or "exact"
    return q


def yuan_locale(url: str, text: str) -> tuple[str | None, bool]:
    """Whose 元 a bare 元 ("1.73亿元", no 人民币/港元 beside it) is on this page, and whether the place a
    figure is about decides instead: Hong Kong government releases mean HK dollars; a Hong Kong (.hk) or
    Macao (.mo) site, or a page in traditional script, writes 元 for its own dollar about itself and for
    renminbi about a Mainland place: there, when the page names one currency for its amounts (人民幣 only,
    or 港元 only) a bare 元 is that one, else the figure's place decides (a .hk site's default is HK dollars,
    a .mo site's patacas, a page that says 本港 or 本澳, "our Hong Kong" or "our Macao", its writer's; a
    traditional page of unknown origin has none: its figure is left out); everywhere else 元 is renminbi."""
    host = re.sub(r"^[a-z]+://(?:[^@/]*@)?([^/:?#]*).*$", r"\1", url.lower(), flags=re.S)
    if host.endswith(".gov.hk"):
        return "HKD", False
    default = "HKD" if host.endswith(".hk") else "MOP" if host.endswith(".mo") else None
    if default is None and (home := {w.HOME_CURRENCY[m] for m in w.HOME.findall(text)}) and len(home) == 1:
        default = home.pop()
    if default is None and len(w.TRADITIONAL.findall(text)) <= len(w.SIMPLIFIED.findall(text)):
        return "CNY", False
    named = {w.NAMED_CURRENCY[m.group()] for m in w.NAMED_CURRENCIES.finditer(text.translate(w.FULLWIDTH))}
    return (named.pop(), False) if len(named) == 1 else (default, True)


def fragment(norm: str, start: int, end: int) -> bool:
    """The number at ``norm[start:end]`` is part of a larger one ("000" of "20 000", "5" of "1,5", "4" of
    "11万4千" when that is no number across two scales)."""
    if w.FRAGMENT_RIGHT.match(norm, end) or w.AFTER_ZH_SCALE.search(norm, max(0, start - 2), start):
        return True
    left = w.FRAGMENT_LEFT.search(norm, max(0, start - 8), start)
    return left is not None and (
        left.group("glue") is not None or bool(re.match(r"\d{3}(?!\d)", norm[start:end]))
    )


def masked(norm: str) -> str:
    """``norm`` with every non-figure span (dates, phones, names ...) blanked to NULs, same length.

    Every mask holds a digit, so only windows around digits are searched: a whole-sentence search of ~30
    alternatives at every character would cost more than the rest of the extraction.
    """
    chars: list[str] | None = None
    for start, end in digit_windows(norm):
        for m in w.MASK.finditer(norm, start, end):
            if m.end() > m.start():
                chars = chars or list(norm)
                chars[m.start() : m.end()] = "\x00" * (m.end() - m.start())
    return "".join(chars) if chars else norm


def digit_windows(norm: str) -> list[tuple[int, int]]:
    """The spans around each run of digits (40 characters either side, to whole words), merged."""
    windows: list[tuple[int, int]] = []
    for m in w.DIGITS.finditer(norm):
        start = norm.rfind(" ", 0, max(0, m.start() - 40)) + 1
        end = norm.find(" ", min(len(norm), m.end() + 40))
        end = len(norm) if end < 0 else end
        if windows and start <= windows[-1][1]:
            windows[-1] = (windows[-1][0], end)
        else:
            windows.append((start, end))
    return windows


def zh_percent(text: str, m: re.Match[str]) -> Quantity:
    """百分之十二 → 12%; 两成 (two tenths) → 20%, 7成2 → 72%, 两成半 → 25%; 逾半 (over half) → 50%."""
    if m.group("zhpct"):
        q = Quantity(m.start(), m.end(), zh_number(m.group("zhpct")), "%", "pct")
    else:
        tenths = zh_number(m.group("tenths") or "5") * 10
        second = m.group("tenths2") or ""  # 7成2: 72%; 两成半: 25%
        tenths += 5 if second == "半" else zh_number(second) if second else 0
        q = Quantity(m.start(), m.end(), tenths, "%", "pct")
        if m.group("half"):  # 逾半, 过半, 超半: more than half; 近半: nearly half
            q.qualifier = "approx" if text[m.start() - 1] == "近" else "more_than"
            q.start -= 1
            return q
    q.qualifier = qualifier_before(text, q) or qualifier_after(text, m.end()) or "exact"
    q.end = after_qualifier(text, m.end())
    return q


def scaled(value: float, scale: float | None) -> float:
    """``value`` times its scale, without binary noise: 4.1 million is 4100000.0, not 4099999.9999999995."""
    return float(f"{value * (scale or 1.0):.12g}")


def number_value(m: re.Match[str], text: str) -> float | None:
    """The value a NUMBER match writes (digits, English number words, a Chinese numeral), unscaled."""
    if m.group("num"):
        return float(re.sub(r"[^\d.]", "", m.group("num")))
    if m.group("word"):
        words = m.group("word").lower().split()
        hundred = 100.0 if words[-1] == "hundred" else 1.0
        return w.EN_WORD_NUMBERS[" ".join(x for x in words if x != "hundred")] * hundred
    numeral = m.group("zh")
    if not re.search("[百千万]", numeral) and not re.match("[多余]?[万亿倍]", text[m.end() :]):
        return None  # 三大, 五个: small numbers in words are not figures, but multiples are ("增长十二倍多")
    return zh_number(numeral)


def compound_rest(text: str, pos: int, below: float) -> tuple[float, int] | None:
    """The rest of a number written across two Chinese scales, after its 万 or 亿 at ``pos``: "4千" of
    11萬4千, "7000" of 56萬7000, "八千萬" of 一百一十五億八千萬; and the position after it. None when what
    follows is no such rest (a date, an amount not ``below`` the scale's 万 or 亿, nothing)."""
    m = w.COMPOUND_REST.match(text, pos)
    if not m:
        return None
    value = float(m.group("d")) if m.group("d") else zh_number(m.group("zh"))
    rest = value * w.ZH_SCALES[m.group("s")] if m.group("s") else value
    return (rest, m.end()) if rest < below else None


def zh_number(numeral: str) -> float:
    """A Chinese numeral below 10,000 (万 and 亿 are scales): 三千 → 3000, 一百二十 → 120, 十二点五 → 12.5."""
    if re.fullmatch(r"\d+(?:\.\d+)?", numeral):
        return float(numeral)
    whole, _, fraction = numeral.partition("点")
    total, digit = 0, 0
    for ch in whole:
        if ch in w.ZH_DIGITS:
            digit = w.ZH_DIGITS[ch]
        elif ch in w.ZH_PLACES_VALUE:
            total += (digit or 1) * w.ZH_PLACES_VALUE[ch]
            digit = 0
    total += digit
    decimals = "".join(str(w.ZH_DIGITS.get(ch, 0)) for ch in fraction)
    return float(f"{total}.{decimals}") if decimals else float(total)


def scale_at(text: str, pos: int, prefix: str | None) -> tuple[float | None, int]:
    """The scale written at ``pos`` (万, 亿, thousand, bn, "-billion") and the position after it."""
    if (
        text.startswith("-", pos)
        and (s := w.EN_SCALE.match(text, pos + 1))
        and (s.group("w") or s.group("a"))
    ):
        pos += 1  # "a HK$2.5-billion fund", "a 20-million-TEU port": the scale hyphenated into a modifier
    if s := w.ZH_SCALE.match(text, pos):
        return w.ZH_SCALES[s.group("s")], s.end()
    if s := w.EN_SCALE.match(text, pos):
        word = s.group("w") or s.group("a")
        if word:
            return w.EN_SCALES[word.lower()], s.end()
        glued = s.group("g")
        if glued == "k" or (prefix and glued in "mK"):
            return w.EN_SCALES[glued.lower()], s.end()
    return None, pos


def qualifier_before(text: str, q: Quantity) -> str | None:
    """The qualifier just before ``q`` (more than, about, 超过 ...), moving ``q.start`` to include it."""
    m = w.QUALIFIER_BEFORE.search(text, max(0, q.start - 30), q.start)
    if not m:
        return None
    q.start = m.start()
    return m.lastgroup


def qualifier_after(text: str, pos: int) -> str | None:
    """The qualifier written right after a number (-plus, or more, 以上, 左右 ...), or None."""
    for name, pattern in w.QUALIFIER_AFTER:
        if pattern.match(text, pos):
            return name
    return None


def after_qualifier(text: str, pos: int) -> int:
    """The position after a qualifier written at ``pos``, else ``pos``."""
    for _, pattern in w.QUALIFIER_AFTER:
        if m := pattern.match(text, pos):
            return m.end()
    return pos
