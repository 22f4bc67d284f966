"""Errors: the exception tree, the JSON error payload, one-line messages, and whether a
failed request may have been processed (``maybe_processed``).
"""
