"""The emulator's own signature check agrees with the API's published vectors."""

from __future__ import annotations

import json
from typing import Any

import pytest

from cryptopay_async.testing._protocol import signature
from tests.support import API_SPEC

VECTORS = json.loads((API_SPEC / "test-vectors.json").read_text())["request_signing"]
REPRODUCIBLE = [v for v in VECTORS if v.get("reproducible", True)]


@pytest.mark.parametrize("vector", REPRODUCIBLE, ids=[v["name"] for v in REPRODUCIBLE])
def test_the_emulator_expects_the_published_signature(vector: dict[str, Any]) -> None:
    expected = signature(
        vector["api_secret"],
        vector["method"],
        vector["body"].encode(),
        vector["content_type"],
        vector["date"],
        vector["path"],
    )
    assert expected.decode() == vector["expected_signature"]
