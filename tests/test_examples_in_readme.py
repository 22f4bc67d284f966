"""The README shows the examples exactly as they are in examples/, and they run as written."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from cryptopay_async.testing import CryptopayEmulator
from tests.support import ROOT


@pytest.mark.parametrize("name", ["quickstart.py", "fastapi_app.py", "aiohttp_app.py"])
def test_readme_carries_the_tested_example(name: str) -> None:
    source = (ROOT / "examples" / name).read_text()
    code = source[source.index('"""', 3) + 3 :].strip()
    assert code in (ROOT / "README.md").read_text()


def test_the_quickstart_runs_twice_the_second_time_through_conflict_error(
    cryptopay_server: tuple[CryptopayEmulator, str],
) -> None:
    emulator, url = cryptopay_server
    env = {
        **os.environ,
        "CRYPTOPAY_API_KEY": emulator.api_key,
        "CRYPTOPAY_API_SECRET": emulator.api_secret,
        "CRYPTOPAY_BASE_URL": url,
    }
    runs = [
        subprocess.run(
            [sys.executable, str(ROOT / "examples" / "quickstart.py")],
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
        )
        for _ in range(2)
    ]
    for run in runs:
        assert run.returncode == 0, run.stderr
    first, second = (run.stdout.splitlines()[0].split()[0] for run in runs)
    assert first == second  # the same invoice: created once, then read back
    assert [i["custom_id"] for i in emulator.api.objects["invoices"].values()] == ["ORDER-42"]
