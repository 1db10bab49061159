"""Article → the figures it states, each with its unit, qualifier, subject, place, period and metric key.

Pure. ``_extract`` reads the quantities (value, scale, range, unit, qualifier) with ``_numbers`` (how a
number is written: grouping, scale, qualifier, Chinese numerals and tenths, shares in words) and ``_tables``
(tables whose unit lives in a caption, header or row label); ``_counts`` reads what a bare number counts;
``_keys`` names what each figure measures (subject, place, period, direction, metric key) with ``_names``
(synonyms, Chinese subjects in English); ``_words`` holds the word tables.
"""

from ._extract import EXTRACTOR_VERSION, extract_figures

__all__ = ["EXTRACTOR_VERSION", "extract_figures"]
