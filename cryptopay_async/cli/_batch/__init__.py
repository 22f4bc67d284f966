"""``cryptopay batch``: the command (``_run``) and its results file (``_results``)."""

from cryptopay_async.cli._batch._results import Outcome, ResultsFile, ResultsMismatch, Store
from cryptopay_async.cli._batch._run import (
    Kind,
    Rate,
    Row,
    RowError,
    batch_app,
    check_columns,
    read_rows,
    run_batch,
)

__all__ = [
    "Kind",
    "Outcome",
    "Rate",
    "ResultsFile",
    "ResultsMismatch",
    "Row",
    "RowError",
    "Store",
    "batch_app",
    "check_columns",
    "read_rows",
    "run_batch",
]
