"""Developer tasks: ``nox -s tests``, ``lint``, ``typecheck``."""

from __future__ import annotations

import shutil
from pathlib import Path

import nox

nox.options.sessions = ["tests", "lint", "typecheck"]  # `nox` alone; bench and demo by name
nox.options.reuse_existing_virtualenvs = True

# The package with every extra, plus the `dev` dependency group of pyproject.toml (read
# here, so the session's pip need not support `--group`).
PYPROJECT = nox.project.load_toml("pyproject.toml")
DEVELOP = ("-e", ".[all]", *nox.project.dependency_groups(PYPROJECT, "dev"))


@nox.session
def tests(session: nox.Session) -> None:
    """The whole test suite, every async test under asyncio and trio."""
    session.install(*DEVELOP)
    session.run("pytest", *session.posargs)


@nox.session
def lint(session: nox.Session) -> None:
    """ruff check and ruff format --check."""
    session.install("ruff==0.17.6")
    session.run("ruff", "check", ".")
    session.run("ruff", "format", "--check", ".")


@nox.session
def typecheck(session: nox.Session) -> None:
    """mypy --strict over the package, the tests and the benchmarks."""
    session.install(*DEVELOP)
    session.run("mypy")


@nox.session
def codegen(session: nox.Session) -> None:
    """Regenerate models, operations and callback events from codegen/api/*.json."""
    session.install("-e", ".")
    session.run("python", "-m", "codegen", *session.posargs)


@nox.session
def bench(session: nox.Session) -> None:
    """Benchmarks: each script prints a table; then benchmarks/RESULTS.md and the plot."""
    session.install(*DEVELOP)
    if shutil.which("npm"):  # the Node reference client of bench_http.py (axios)
        session.run("npm", "ci", "--prefix", "benchmarks/node", external=True)
    scripts = ("bench_http.py", "bench_decode.py", "bench_limiter.py", "bench_client.py")
    for script in (*scripts, "bench_redis.py", "profile_call.py", "bench_batch.py"):  # redis-server
        session.run("python", str(Path("benchmarks") / script))
    session.run("python", "benchmarks/report.py")


@nox.session
def demo(session: nox.Session) -> None:
    """The main job: `cryptopay demo` against the built-in emulator (no credentials)."""
    session.install("-e", ".[cli]")
    session.run("cryptopay", "demo", *session.posargs)
