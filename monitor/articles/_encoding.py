"""Page bytes → the page as text, in the charset it is really written in. The private helper of ``articles``.

The only user of charset-normalizer. A byte-order mark wins; then the HTTP charset, then the XML/HTML
declaration (``<?xml encoding>``, ``<meta charset>``), each kept only if it reads the bytes cleanly; then
UTF-8; then detection. GB2312/GBK are read as GB18030, Big5 as Big5-HKSCS, Latin-1/ASCII as Windows-1252.
"""

from __future__ import annotations

import codecs
import re

import charset_normalizer

# fmt: off
_BOMS = ((codecs.BOM_UTF8, "utf-8"), (codecs.BOM_UTF16_LE, "utf-16-le"), (codecs.BOM_UTF16_BE, "utf-16-be"))
_CODEC_OF = {
    "gb2312": "gb18030", "gbk": "gb18030", "hz": "gb18030", "big5": "big5hkscs", "cp950": "big5hkscs",
    "latin_1": "cp1252", "iso8859-1": "cp1252", "ascii": "cp1252",
}
_HTTP_CHARSET = re.compile(r"charset\s*=\s*[\"']?([\w.:-]+)", re.I)
_DECLARED = re.compile(
    rb"<\?xml[^>]+encoding\s*=\s*[\"']([\w.:-]+)|<meta[^>]+charset\s*=\s*[\"']?\s*([\w.:-]+)", re.I
)
# fmt: on


def decode_page(body: bytes, content_type: str | None = None) -> str:
    """The page as text: BOM, then the HTTP charset, then the XML/HTML declaration, then detection."""
    for bom, codec in _BOMS:
        if body.startswith(bom):
            return body[len(bom) :].decode(codec, errors="replace")
    http = _HTTP_CHARSET.search(content_type or "")
    declared = _DECLARED.search(body[:4096])
    meta = (declared.group(1) or declared.group(2)).decode() if declared else None
    if meta and meta.lower().startswith("utf-16"):
        meta = "utf-8"  # a page that could be read far enough to find its <meta> is not UTF-16 (WHATWG)
    names = [http.group(1) if http else None, meta]
    for codec in filter(None, map(_codec, names)):
        if codec == "cp1252" and _is_utf8(body):
            return body.decode("utf-8")  # a Latin-1 label on UTF-8 bytes is the commonest lie on the web
        text = body.decode(codec, errors="replace")
        if text.count("\ufffd") <= max(2, len(text) // 1000):
            return text
    if _is_utf8(body):
        return body.decode("utf-8")
    best = charset_normalizer.from_bytes(body[:200_000]).best()
    codec = _codec(best.encoding) if best else None
    return body.decode(codec or "utf-8", errors="replace")


def _codec(name: str | None) -> str | None:
    if not name:
        return None
    try:
        codec = codecs.lookup(name.strip().lower().removeprefix("x-")).name
    except LookupError:
        return None
    return _CODEC_OF.get(codec, codec)


def _is_utf8(body: bytes) -> bool:
    try:
        body.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True
