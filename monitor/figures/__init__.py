"""Article → the figures it states, each with its unit, qualifier, subject, place, period and metric key.

Pure. ``_extract`` reads the quantities (value, scale, range, unit, qualifier); ``_counts`` reads what a bare
number counts; ``_keys`` names what each figure measures (subject, place, period, direction, metric key);
``_words`` holds the word tables.
"""

from ._extract import EXTRACTOR_VERSION, extract_figures

__all__ = ["EXTRACTOR_VERSION", "extract_figures"]
