"""Louro et al.'s rows on the leaderboard (notebook 80): the shared 10 x 10 splits *are*
this paper's, so its entries are the predictions notebook 50 stored on them (the methods-
comparison rows), read back, never retrained by the leaderboard.

``BOARD[profile]`` names the Table 3 rows that enter the leaderboard under each profile;
the rows run under notebook 50's own profile (its :class:`~.config.Config`), so nothing
else changes with the profile.
"""
from __future__ import annotations

from typing import Any, Mapping, Sequence

from .config import PAPER
from .rows import ALL_ROWS, ROWS

BOARD: dict[str, dict[str, Any]] = {"smoke": dict(rows=ALL_ROWS), "demo": dict(rows=ALL_ROWS),
                                    "full": dict(rows=ALL_ROWS)}

FAMILY = "methods-comparison row (notebook 50)"


def quadrant_entries(profile: str, *, rows: Sequence[str] | None = None,
                     n_params: Mapping[str, Any] | None = None, **overrides) -> list:
    """One stored leaderboard entry per Table 3 row of ``BOARD[profile]`` (or ``rows``): its
    predictions are notebook 50's experiment ``louro_<row>`` on the shared splits.
    ``n_params`` maps a row's method name to its parameter count (notebook 50's
    ``louro_parameters`` table). Rows that did not run are for the caller to leave out
    (``leaderboard.stored_entries`` checks that each one is stored)."""
    from mer_utils.leaderboard import Entry

    if overrides:
        raise TypeError(f"no leaderboard setting {sorted(overrides)} for {PAPER}: its rows run in notebook 50")
    keys = tuple(rows if rows is not None else BOARD[profile]["rows"])
    counts = dict(n_params or {})
    return [Entry(name=ROWS[k].name, paper=PAPER, family=FAMILY, experiment_name=ROWS[k].experiment,
                  n_params=counts.get(ROWS[k].name)) for k in keys]


def not_trained_entries(status) -> list:
    """One score-less leaderboard entry per Table 3 row this profile does not train ("full
    profile only", :attr:`~.config.Config.full_only`), from :func:`~.pipeline.run_rows`'s
    status table, with the reason."""
    from mer_utils.leaderboard import not_trained_entry

    return [not_trained_entry(r.method, PAPER, FAMILY, r.reason)
            for r in status.itertuples() if r.status == "full profile only"]
