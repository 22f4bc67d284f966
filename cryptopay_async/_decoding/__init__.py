"""Decoding answers: the ``{data, meta}`` envelope, and JSON into models by one of two
engines (msgspec with ``[speedups]``, cattrs otherwise), the same contract for both.
"""
