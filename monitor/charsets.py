"""Bytes → text in the charset they are really written in: one order of attempts for feeds and pages.

A leaf (imports nothing of the package) and the only user of charset-normalizer. In order:

1. a byte-order mark (UTF-8/16/32), or UTF-16/32 told by the NULs around the first ``<``;
2. the feed's own ``encoding:`` setting, when the operator set one (it overrides everything below);
3. UTF-8, when the bytes decode as UTF-8 strictly (a Latin-1 label on UTF-8 is the commonest lie on the web);
4. the document's own declaration (``<meta charset>``, ``<?xml encoding>``), then the HTTP charset, each only
   if it decodes the bytes strictly; a GB or Big5 label on Chinese bytes yields to the family the bytes show,
   since servers mix up the two;
5. the Chinese family the bytes show (GB18030 or Big5-HKSCS, a stray bad byte allowed), so that Chinese
   bytes under a Latin-1 header (older Chinese CMSs answer ``charset=ISO-8859-1``) never become mojibake;
6. a declared label that decodes with only a few bad bytes (a stray byte in a long page);
7. a Latin-1 label, read as Windows-1252;
8. charset-normalizer's detection; else Windows-1252, else UTF-8 with replacement characters.

GB2312/GBK are read as GB18030 (their superset), Big5 as Big5-HKSCS, Latin-1/ASCII as Windows-1252.
"""

from __future__ import annotations

import codecs
import re

import charset_normalizer

# fmt: off
GB_LABELS = frozenset({"gb2312", "gbk", "gb18030", "cp936", "euc-cn", "x-gbk", "csgb2312", "hz-gb-2312"})
BIG5_LABELS = frozenset({"big5", "big5-hkscs", "big5hkscs", "cp950", "x-x-big5", "csbig5"})
LATIN_LABELS = frozenset({"iso-8859-1", "latin-1", "latin1", "us-ascii", "ascii", "windows-1252", "cp1252"})
_BOMS = (
    (codecs.BOM_UTF32_LE, "utf-32-le"), (codecs.BOM_UTF32_BE, "utf-32-be"), (codecs.BOM_UTF8, "utf-8"),
    (codecs.BOM_UTF16_LE, "utf-16-le"), (codecs.BOM_UTF16_BE, "utf-16-be"),
)
_CODEC_OF = {
    "gb2312": "gb18030", "gbk": "gb18030", "hz": "gb18030", "big5": "big5hkscs", "cp950": "big5hkscs",
    "latin_1": "cp1252", "iso8859-1": "cp1252", "ascii": "cp1252",
}
_HTTP_CHARSET = re.compile(r"charset\s*=\s*[\"']?([\w.:-]+)", re.I)
_DECLARED = re.compile(
    rb"<\?xml[^>]+encoding\s*=\s*[\"']([\w.:-]+)|<meta[^>]+charset\s*=\s*[\"']?\s*([\w.:-]+)", re.I
)
_CJK = (
    "\u2e80-\u2fff\u3000-\u303f\u3040-\u30ff\u3100-\u31ff\u3400-\u4dbf\u4e00-\u9fff\uac00-\ud7af\uf900-\ufaff"
)
_CHINESE_TEXT = re.compile(f"[{_CJK}\uff00-\uffef\u2010-\u203f]")
_WIDE = re.compile(r"[^\x00-\x7f]")
_DOUBLE_BYTE = re.compile(rb"[\x81-\xff][\x00-\xff]")
_LOW_TRAIL_BYTES = bytes(range(0xA1))
# fmt: on


def decode(body: bytes, content_type: str | None = None, *, override: str | None = None) -> str:
    """``body`` as text, trying the module docstring's order; ``override`` is a feed's ``encoding:``."""
    for bom, bom_codec in _BOMS:
        if body.startswith(bom):
            return body[len(bom) :].decode(bom_codec, "replace")
    if body[:4] in (b"<\x00\x00\x00", b"\x00\x00\x00<"):  # UTF-32 without a BOM
        return body.decode("utf-32-le" if body[0] else "utf-32-be", "replace")
    if body[:2] in (b"<\x00", b"\x00<"):  # UTF-16 without a BOM: the first "<" gives the byte order
        return body.decode("utf-16-le" if body[0] else "utf-16-be", "replace")
    if override and (codec := codec_of(override)):
        return body.decode(codec, "replace")
    if (utf8 := _strict(body, "utf-8")) is not None:
        return utf8
    labels = declared_labels(body, content_type)
    family = _chinese_family(body)
    latin = [label for label in labels if label.lower() in LATIN_LABELS]
    for label in labels:
        if label in latin or (family and label.lower() in GB_LABELS | BIG5_LABELS):
            continue
        if (codec := codec_of(label)) and (decoded := _strict(body, codec)) is not None:
            return decoded
    if family:
        return body.decode(family, "replace")
    for codec in filter(None, (codec_of(label) for label in labels if label not in latin)):
        if _nearly(loose := body.decode(codec, "replace")):
            return loose
    if latin:
        return _strict(body, "cp1252") or body.decode("latin-1")
    best = charset_normalizer.from_bytes(body[:200_000]).best()
    if codec := codec_of(best.encoding) if best else None:
        return body.decode(codec, "replace")
    return _strict(body, "cp1252") or body.decode("utf-8", "replace")


def declared_labels(body: bytes, content_type: str | None) -> list[str]:
    """The charset labels the document declares (its ``<meta>``/``<?xml>`` first), then the HTTP header's."""
    found = []
    if declared := _DECLARED.search(body[:4096]):
        found.append((declared.group(1) or declared.group(2)).decode("ascii", "replace"))
    if content_type and (http := _HTTP_CHARSET.search(content_type)):
        found.append(http.group(1))
    # UTF-8 already failed, and a page read far enough to find its <meta> is not UTF-16 (WHATWG)
    return [label for label in found if not label.lower().startswith(("utf-16", "utf-32", "utf-8", "utf8"))]


def codec_of(label: str | None) -> str | None:
    """A Python codec name for a charset label (GB widened to GB18030, Big5 to HKSCS), or None if unknown."""
    if not label:
        return None
    try:
        codec = codecs.lookup(label.strip().lower().removeprefix("x-")).name
    except (LookupError, ValueError):
        return None
    return _CODEC_OF.get(codec, codec)


def _strict(body: bytes, codec: str) -> str | None:
    try:
        return body.decode(codec)
    except (UnicodeDecodeError, LookupError):
        return None


def _chinese_family(body: bytes) -> str | None:
    """The Chinese codec ("gb18030" or "big5hkscs") whose text these bytes are, or None.

    Both decode much of each other's bytes, so the trail bytes decide: GB2312/GBK text keeps them at 0xA1 and
    above, while about four Big5 characters in ten end in a byte below 0xA1 (0x40-0x7E).
    """
    trails = b"".join(_DOUBLE_BYTE.findall(body[:200_000]))[1::2]
    if not trails:
        return None
    low_trails = len(trails) - len(trails.translate(None, _LOW_TRAIL_BYTES))
    order = ("big5hkscs", "gb18030") if low_trails / len(trails) > 0.1 else ("gb18030", "big5hkscs")
    for codec in order:
        text = body.decode(codec, "replace")
        if _nearly(text) and _mostly_chinese(text):
            return codec
    return None


def _nearly(text: str) -> bool:
    """Decoded with at most a few bad bytes (a stray byte in a long page), not in the wrong charset."""
    return text.count("\ufffd") <= max(2, len(text) // 1000)


def _mostly_chinese(text: str) -> bool:
    wide = len(_WIDE.findall(text))
    chinese = len(_CHINESE_TEXT.findall(text))
    return wide > 0 and chinese >= 0.9 * wide
