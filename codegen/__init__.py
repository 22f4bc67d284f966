"""The code generator: models, operations and callback events from the API description.

``python -m codegen`` (or ``nox -s codegen``) rewrites the generated modules from
``codegen/api/*.json``, a verbatim copy of the shared API reference; ``--check`` only
lists the stale ones. What the JSON cannot say (one-line summaries, enum-typed query
parameters, "exactly one of" rules, exactly-once recovery rules) is declared in
``codegen/_spec.py``.

The output is laid out here, deterministically (``_source.py``), not by running a
formatter: the files are the same whichever ruff is installed, and ``ruff format``
leaves them unchanged.
"""

from __future__ import annotations

from pathlib import Path

from codegen._callbacks import generate_callbacks
from codegen._models import generate_models
from codegen._resources import generate_resources
from codegen._source import check_lines
from codegen._spec import CALLBACKS_OUT, MODELS_OUT, RESOURCES_OUT, WIRE_OUT, load
from codegen._wire import generate_wire

__all__ = ["CALLBACKS_OUT", "MODELS_OUT", "RESOURCES_OUT", "WIRE_OUT", "render"]


def render() -> dict[Path, str]:
    """Every generated module's path and text."""
    endpoints, models = load()
    return {
        MODELS_OUT: check_lines(generate_models(models, endpoints)),
        RESOURCES_OUT: check_lines(generate_resources(endpoints, models["models"])),
        CALLBACKS_OUT: check_lines(generate_callbacks(models)),
        WIRE_OUT: check_lines(generate_wire(models)),
    }
