"""Measurements of the pipeline's components on the labelled corpora in ``tests/data`` (not run by CI)."""
