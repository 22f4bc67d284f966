"""Untrusted text becomes one bounded, printable line."""

from __future__ import annotations

import httpx
import pytest
from hypothesis import given
from hypothesis import strategies as st

from cryptopay_async._text import MAX_LINE, one_line, sent_path


@pytest.mark.parametrize(
    ("text", "shown"),
    [
        ("not found", "not found"),
        ("X\nINFO forged", "X\\nINFO forged"),
        ("a\r\nb\tc", "a\\r\\nb\\tc"),
        ("\x1b[31mred", "\\x1b[31mred"),
        ("line\u2028separator", "line\\u2028separator"),
        ("lone \udcff", "lone \\udcff"),
        ("Zahlung für Bestellung", "Zahlung für Bestellung"),
        ("x" * (MAX_LINE + 1), "x" * MAX_LINE + "..."),
    ],
)
def test_one_line(text: str, shown: str) -> None:
    assert one_line(text) == shown


@given(st.text(alphabet=st.characters(exclude_categories=())))
def test_any_text_becomes_one_printable_bounded_line(text: str) -> None:
    line = one_line(text, 50)
    assert line.isprintable()
    assert len(line) <= 53


def test_sent_path_is_the_percent_encoded_path_without_query() -> None:
    request = httpx.Request("GET", "https://h/api/invoices/custom_id/X%0AINFO%20forged?a=1")
    assert sent_path(request) == "/api/invoices/custom_id/X%0AINFO%20forged"
