"""Page bytes → the article's readable body: title, text, sentences, language, content hash, publication time.

The only user of lxml and BeautifulSoup. ``_reader`` finds the body and its lines (bytes decoded by the
``charsets`` leaf); ``_sentences`` splits sentences and tells the language; ``_meta`` reads the title and
publication time.
"""

from ._reader import read_article
from ._sentences import split_sentences

__all__ = ["read_article", "split_sentences"]
