"""One protocol across papers: every 4-quadrant classifier of the compendium on the same
saved splits, scored the same way, with its cost beside its quality.

The papers cannot be compared with each other as published (own data, split, metric). Here
every entry is trained and tested on **the methods-comparison paper's saved 10 x 10 splits**
(the units ``notebooks/50`` trains on), through :func:`mer_utils.experiment.run_protocol`:
resumable, one stored prediction file per unit, tables built from the stored predictions.

**The contract.** A paper module returns its entries (``<paper>.quadrant_entries(...)``);
this module never imports a paper. An :class:`Entry` is either

* *trained here*: ``make(ctx, clips) -> Method``, where ``clips`` is the shared clip table
  **without its labels** (:class:`Clips`) and a :class:`Method` has
  ``fit(train, y_train, validation, y_validation)`` (row positions and their labels, the
  only labels it ever sees) and ``predict(rows) -> (n, 4)`` scores in :data:`LABELS` order;
  ``make`` is called only when a unit is still to run, so a rerun that finds every unit
  stored computes nothing; or
* *stored*: predictions a paper notebook already made on the same splits (the
  methods-comparison rows, :func:`stored_entries`).

Each trained unit stores ``train_seconds``, ``predict_seconds`` and ``parameters`` in its
``info``. :func:`leaderboard_table` gives macro P / R / F1 and accuracy, mean +- std over
units, seconds per split and parameters; :func:`paired_tests` the corrected resampled
t-test of each entry against a reference on their shared units (Nadeau & Bengio 2003);
:func:`critical_difference` Friedman + Nemenyi over the entries that share the most units
(Demšar 2006), drawn by :func:`mer_utils.plots.cd.cd_diagram`.
"""
from __future__ import annotations

import dataclasses
import time
from typing import Any, Callable, Mapping, Protocol, Sequence

import numpy as np
import pandas as pd

from mer_utils.evaluation.metrics import metric_fns, paired_comparisons
from mer_utils.evaluation.metrics import unit_scores as evaluation_unit_scores
from mer_utils.evaluation.protocols import Split
from mer_utils.experiment import UnitResult, run_protocol
from mer_utils.results import list_experiments, load_meta, load_predictions

LABELS = ("Q1", "Q2", "Q3", "Q4")
METRICS_SHOWN = ("precision", "recall", "f1", "accuracy")


# =========================================================================== the contract
@dataclasses.dataclass(frozen=True)
class Clips:
    """The shared clips as an entry sees them: one row per clip, in split-row order, with
    the audio path and the corpus columns (``track_id, path, dataset, source...``) but
    **no label column** — labels reach an entry only through ``Method.fit``."""

    df: pd.DataFrame
    corpus: str
    real: bool

    @property
    def ids(self) -> np.ndarray:
        return self.df["track_id"].astype(str).to_numpy()

    def __len__(self) -> int:
        return len(self.df)


LABEL_WORDS = ("quadrant", "label", "valence", "arousal", "tags", "latent", "emotion", "mood")


def make_clips(df: pd.DataFrame, corpus: str, real: bool) -> Clips:
    """:class:`Clips` from a clip table: every column that carries (or is derived from) a
    label — quadrant, valence / arousal, tags, latent emotion — dropped."""
    drop = [c for c in df.columns if any(w in c.lower() for w in LABEL_WORDS) or c == "y"]
    return Clips(df.drop(columns=drop).reset_index(drop=True), corpus, bool(real))


PAPER_CLIPS = 900
"""Clips of the methods-comparison paper's data (Original-4QAED: the whole 4Q set)."""
_SOURCE_TITLES = {"4q": "4Q", "pmemo": "PMEmo", "deam": "DEAM", "bimodal": "Bi-Modal"}
CAPTION_PREFIX = "ranked on: "


def leaderboard_caption(clips: Clips, *, paper_clips: int = PAPER_CLIPS) -> str:
    """The one line that says which data the leaderboard ranks on: the demo corpus (never the
    paper's data), a subset of real 4Q (the dev copy's 120 clips: real, but not the paper's
    data for scores) or the whole 4Q set (the paper's). Saved above the table
    (``leaderboard.md``) and shown by the run's report (:func:`read_caption`)."""
    n = len(clips)
    if not clips.real:
        src = sorted(clips.df["source"].dropna().astype(str).unique()) if "source" in clips.df else []
        names = ", ".join(f"{_SOURCE_TITLES.get(x, x)}-like" for x in src)
        of = f" of its {names} source{'s' if len(src) > 1 else ''}" if src else ""
        return f"{CAPTION_PREFIX}demo corpus (synthetic, {n} clips{of}); not the paper's data"
    if "collection" in clips.df.columns:            # the expanded 4Q set (New-4QAED or MERGE Audio)
        name = str(clips.df["collection"].iloc[0]) if n else "expanded 4Q set"
        return (f"{CAPTION_PREFIX}real {name}, {n} clips: the expanded 4Q set, not Original-4QAED (the "
                "other papers' numbers are not on it)")
    if n >= paper_clips:
        return (f"{CAPTION_PREFIX}real 4Q, all {n} of {paper_clips} clips: the methods-comparison paper's "
                f"data (Original-4QAED)")
    return f"{CAPTION_PREFIX}real 4Q, {n} of {paper_clips} clips; a subset, not the paper's data"


def read_caption(results_dir, name: str = "leaderboard") -> str:
    """The caption saved above ``<name>.md`` (``ctx.save_table(..., caption=...)``), or ''."""
    from pathlib import Path

    md = Path(results_dir) / f"{name}.md"
    if not md.exists():
        return ""
    head = []
    for line in md.read_text(encoding="utf-8").splitlines():
        if line.startswith("|"):
            break
        head.append(line)
    text = " ".join(x.strip() for x in head if x.strip())
    return text if text.startswith(CAPTION_PREFIX) else ""


def align_rows(clips: Clips, kept: pd.DataFrame, X: np.ndarray) -> tuple[np.ndarray, int]:
    """``X`` (rows of ``kept``, as an extractor returned them) laid out on the clips' rows;
    a clip the extractor skipped gets zeros, and its id is recorded in
    ``clips.df.attrs["zero_filled"]`` (so that a caller predicting a user's file can say that
    its input could not be made rather than show a prediction of zeros). Returns (array,
    number of clips filled with zeros)."""
    pos = {t: i for i, t in enumerate(kept["track_id"].astype(str))}
    out = np.zeros((len(clips),) + tuple(X.shape[1:]), dtype=X.dtype)
    have = np.asarray([t in pos for t in clips.ids])
    out[have] = X[[pos[t] for t in clips.ids[have]]]
    clips.df.attrs.setdefault("zero_filled", set()).update(clips.ids[~have].tolist())
    return out, int((~have).sum())


class ForestMethod:
    """A random forest on a fixed feature matrix (``X`` rows = clips). ``n_params``: the
    number of tree nodes (the numbers a fitted forest stores)."""

    def __init__(self, X: np.ndarray, *, trees: int = 100, seed: int = 0, n_jobs: int = 1):
        self.X, self.trees, self.seed, self.n_jobs = np.asarray(X, dtype=np.float32), trees, seed, n_jobs
        self.n_params: int | None = None

    def fit(self, train, y_train, validation, y_validation) -> None:
        from sklearn.ensemble import RandomForestClassifier

        self.model = RandomForestClassifier(n_estimators=self.trees, random_state=self.seed,
                                            n_jobs=self.n_jobs).fit(self.X[train], y_train)
        self.n_params = int(sum(t.tree_.node_count for t in self.model.estimators_))

    def predict(self, rows) -> np.ndarray:
        P = np.zeros((len(rows), len(LABELS)), dtype=np.float32)
        P[:, self.model.classes_] = self.model.predict_proba(self.X[rows])
        return P


class KerasMethod:
    """A Keras classifier (``build()`` -> uncompiled model with 4 softmax outputs), inputs
    standardised with the training rows' statistics, trained through the one engine
    (:class:`mer_utils.training.Trainer`): Adam at ``learning_rate``, early stopping on the
    validation rows only (best weights kept). Built and compiled once; every unit starts from
    the same initial weights (drawn under ``seed``) with a zeroed optimizer state, so the
    training step is traced once, not once per unit. ``run_eagerly`` skips tracing the
    training step: cheaper for the one-epoch smoke runs (not under JAX:
    :func:`~mer_utils.training.execution_kwargs`)."""

    def __init__(self, X: np.ndarray, build: Callable[[], Any], *, epochs: int, batch_size: int,
                 patience: int | None, learning_rate: float, seed: int = 0, run_eagerly: bool = False):
        from mer_utils.training import Recipe, Trainer, ValidationStop

        self.X, self.seed = X, seed
        self.recipe = Recipe(epochs=int(epochs), batch_size=int(batch_size), learning_rate=float(learning_rate),
                             stop=ValidationStop(patience=patience), execution="eager" if run_eagerly else "xla",
                             predict_batch_size=int(batch_size))
        self.trainer = Trainer(build, self.recipe)
        self.n_params: int | None = None

    def fit(self, train, y_train, validation, y_validation) -> None:
        from mer_utils.training import Standardizer

        self.scaler = Standardizer().fit(self.X[train])
        self.history = self.trainer.fit(self.scaler(self.X[train]), y_train,
                                        validation=(self.scaler(self.X[validation]), y_validation),
                                        seed=self.seed, init_seed=self.seed)
        self.n_params = self.trainer.n_params

    def predict(self, rows) -> np.ndarray:
        return self.trainer.predict(self.scaler(self.X[rows]))


class Method(Protocol):
    """What an entry's ``make`` returns."""

    n_params: int | None

    def fit(self, train: np.ndarray, y_train: np.ndarray, validation: np.ndarray,
            y_validation: np.ndarray) -> None: ...

    def predict(self, rows: np.ndarray) -> np.ndarray: ...


@dataclasses.dataclass(frozen=True)
class Entry:
    """One method of the leaderboard.

    ``config``: everything that changes its numbers (goes into the results' hash with the
    splits' signature). ``units``: train on the first N units of the shared splits only
    (deep entries under ``demo``); None: all. ``validation``: share of each unit's training
    rows set aside (stratified, seeded by the unit) for early stopping; 0: none.
    """

    name: str
    paper: str
    family: str
    make: Callable[[Any, Clips], Method] | None = None
    config: Mapping[str, Any] = dataclasses.field(default_factory=dict)
    units: int | None = None
    validation: float = 0.0
    n_params: int | None = None
    note: str = ""
    experiment_name: str | None = None
    not_trained: str = ""       # why this entry is not trained under this profile ("full profile only")

    @property
    def experiment(self) -> str:
        if self.experiment_name:
            return self.experiment_name
        slug = "".join(ch if ch.isalnum() else "_" for ch in self.name.lower()).strip("_")
        return f"board_{self.paper}_{slug}"

    @property
    def stored(self) -> bool:
        return self.make is None and not self.not_trained


def stored_entries(ctx, *, paper: str, names: Sequence[str], family: str,
                   n_params: Mapping[str, Any] | None = None, note: str = "") -> list[Entry]:
    """Entries for predictions a paper notebook stored on the shared splits: the committed
    experiments whose ``meta.json`` says ``paper`` and whose ``row`` (or ``entry``, ``model``)
    is one of ``names``; an absent one is an error naming it."""
    found = {}
    for exp in list_experiments(ctx.results_dir):
        try:
            meta = load_meta(ctx.results_dir, exp)
        except Exception:  # noqa: BLE001 - a foreign folder is simply not one of ours
            continue
        if meta.get("paper") == paper:
            for key in ("row", "entry", "model"):
                if key in meta:
                    found.setdefault(str(meta[key]), exp)
    missing = [n for n in names if n not in found]
    if missing:
        raise FileNotFoundError(f"no stored predictions of {paper!r} for {missing}: run its notebook "
                                f"(or its run_rows step) first")
    counts = dict(n_params or {})
    return [Entry(name=n, paper=paper, family=family, experiment_name=found[n],
                  n_params=_int_or_none(counts.get(n)), note=note) for n in names]


def _int_or_none(v) -> int | None:
    try:
        return None if v is None or pd.isna(v) else int(v)
    except (TypeError, ValueError):
        return None


def stored_counts(ctx, table: str, *, key: str, value: str) -> dict[str, int]:
    """``{key: value}`` from a table a notebook saved under ``results/<label>/`` (e.g. notebook
    50's parameter counts); empty when the table is absent."""
    path = ctx.results_dir / f"{table}.csv"
    if not path.exists():
        return {}
    df = pd.read_csv(path)
    return {str(k): int(v) for k, v in zip(df[key], df[value]) if pd.notna(v)}


# =========================================================================== running
def with_validation(split: Split, y: np.ndarray, share: float, seed: int = 0) -> Split:
    """``split`` with ``share`` of its training rows moved to validation, stratified by
    ``y`` and seeded by the unit: the test rows are untouched and never seen."""
    if share <= 0:
        return split
    from sklearn.model_selection import train_test_split

    tr = np.asarray(split.train)
    rs = seed * 1000 + split.unit.repeat * 100 + split.unit.fold
    n_val = max(len(np.unique(y[tr])), int(round(share * len(tr))))
    try:
        keep, val = train_test_split(tr, test_size=n_val, stratify=y[tr], random_state=rs)
    except ValueError:                       # a class too small to stratify
        keep, val = train_test_split(tr, test_size=n_val, random_state=rs)
    return Split(split.unit, np.sort(keep), split.test, np.sort(val))


def _fit_predict(ctx, entry: Entry, clips: Clips, y: np.ndarray, holder: dict):
    ids = clips.ids

    def fit_predict(split: Split) -> UnitResult:
        if "method" not in holder:
            t0 = time.perf_counter()
            holder["method"] = entry.make(ctx, clips)
            holder["prepare_seconds"] = round(time.perf_counter() - t0, 3)
        method = holder["method"]
        sp = with_validation(split, y, entry.validation, seed=ctx.seed)
        t0 = time.perf_counter()
        method.fit(sp.train, y[sp.train], sp.validation, y[sp.validation])
        t1 = time.perf_counter()
        score = np.asarray(method.predict(sp.test), dtype=np.float32)
        t2 = time.perf_counter()
        if score.shape != (len(sp.test), len(LABELS)):
            raise ValueError(f"{entry.name}: predict returned {score.shape}, expected ({len(sp.test)}, {len(LABELS)})")
        n = getattr(method, "n_params", None)
        return UnitResult(ids=ids[sp.test], y_true=y[sp.test], y_score=score, labels=list(LABELS),
                          info={"train_seconds": round(t1 - t0, 3), "predict_seconds": round(t2 - t1, 3),
                                "prepare_seconds": holder.get("prepare_seconds", 0.0),
                                "parameters": None if n is None else int(n),
                                "n_train": int(len(sp.train)), "n_validation": int(len(sp.validation)),
                                "n_test": int(len(sp.test))})
    return fit_predict


def clip_fingerprints(clips: Clips) -> np.ndarray:
    """One fingerprint per clip of the audio file an entry reads (id, path, size, modification
    time: the feature cache's key), so a replaced file retrains the units that saw it."""
    from mer_utils.cache import track_key
    from mer_utils.experiment import row_fingerprints

    paths = clips.df["path"].astype(str) if "path" in clips.df else [""] * len(clips)
    return row_fingerprints(np.asarray([track_key(i, p) for i, p in zip(clips.ids, paths)]))


def run_entries(ctx, entries: Sequence[Entry], clips: Clips, y: Sequence, splits: Sequence[Split]
                ) -> pd.DataFrame:
    """Train every entry that is trained here on its units of ``splits`` (resumable: units
    stored under the same configuration are not trained again) and return one status line
    per entry: units, how many trained in this call, seconds. Stored entries are checked
    to exist."""
    y = np.asarray(y)
    if len(y) != len(clips):
        raise ValueError(f"{len(y)} labels for {len(clips)} clips")
    rows = []
    for e in entries:
        if e.not_trained:
            rows.append({"entry": e.name, "paper": e.paper, "units": 0, "trained now": 0, "seconds": 0.0,
                         "source": f"{FULL_ONLY}: {e.not_trained}"})
            continue
        if e.stored:
            n = len(load_predictions(ctx.results_dir, e.experiment))
            rows.append({"entry": e.name, "paper": e.paper, "units": n, "trained now": 0,
                         "seconds": 0.0, "source": f"stored by the {e.paper} notebook ({e.experiment})"})
            continue
        units = list(splits)[: e.units] if e.units else list(splits)
        holder: dict = {}
        inner = _fit_predict(ctx, e, clips, y, holder)
        t0 = time.perf_counter()
        run = run_protocol(ctx.results_dir, e.experiment, units, fit_predict=inner, rows=clip_fingerprints(clips),
                     config=dict(e.config, entry=e.name, corpus=clips.corpus, n_clips=len(clips),
                                 validation=e.validation, seed=ctx.seed),
                     meta={"paper": e.paper, "entry": e.name, "family": e.family, "corpus": clips.corpus,
                           "note": e.note}, progress=False)
        rows.append({"entry": e.name, "paper": e.paper, "units": len(units), "trained now": len(run.trained_now),
                     "seconds": round(time.perf_counter() - t0, 1), "source": "trained here"})
    return pd.DataFrame(rows)


# =========================================================================== scoring
METRICS = metric_fns(METRICS_SHOWN)
"""Macro precision / recall / F1 and accuracy of one unit (:data:`mer_utils.evaluation.METRICS`)."""


def unit_scores(ctx, entries: Sequence[Entry]) -> pd.DataFrame:
    """One row per (entry, unit): macro P / R / F1, accuracy, seconds and parameters, from the
    stored predictions only (:func:`mer_utils.evaluation.unit_scores`); an entry whose units
    recorded no parameter count gets its ``n_params``."""
    frames = []
    for e in entries:
        if e.not_trained:
            continue
        s = evaluation_unit_scores(ctx.results_dir, {e.name: e.experiment}, metrics=METRICS_SHOWN, key="entry")
        if not len(s):
            continue
        s.insert(1, "paper", e.paper)
        s["parameters"] = [e.n_params if pd.isna(p) else p for p in s["parameters"]]
        frames.append(s)
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()


def learning(ctx, entries: Sequence[Entry]) -> pd.DataFrame:
    """Did each entry learn? :func:`mer_utils.evaluation.learning_table` on its stored units
    (the 4-quadrant bar: mean macro-F1 >= 0.40, no unit answering one quadrant for every
    clip; the pooled test against the majority class), one row per entry that ran."""
    from mer_utils.evaluation import learning_table

    return learning_table(ctx.results_dir, {e.name: e.experiment for e in entries if not e.not_trained},
                          "quadrant")


def leaderboard_table(scores: pd.DataFrame, entries: Sequence[Entry],
                      learned: pd.DataFrame | None = None) -> pd.DataFrame:
    """One row per entry, best macro F1 first: P / R / F1 / accuracy mean and std over its
    units, units, seconds per split (total, and training / prediction where recorded),
    parameters (median over units; None where the method has no such count); with
    ``learned`` (:func:`learning`), whether each entry learned and, if not, why. Entries not
    trained under this profile follow, with no score: "full profile only" and the reason."""
    by = {e.name: e for e in entries}
    verdict = {} if learned is None else dict(zip(learned["network"], zip(learned["learned"], learned["verdict"])))
    recs = []
    for name, g in scores.groupby("entry", sort=False):
        e = by[name]
        rec = {"entry": name, "paper": e.paper, "family": e.family, "units": len(g)}
        for m in METRICS_SHOWN:
            rec[m] = float(g[m].mean())
            rec[f"{m}_std"] = float(g[m].std(ddof=1)) if len(g) > 1 else 0.0
        rec["F1 (mean ± std)"] = f"{rec['f1']:.3f} ± {rec['f1_std']:.3f}"
        rec["seconds per split"] = float(g["seconds"].mean())
        rec["train s per split"] = float(g["train_seconds"].mean()) if g["train_seconds"].notna().any() else np.nan
        rec["predict s per split"] = float(g["predict_seconds"].mean()) if g["predict_seconds"].notna().any() else np.nan
        p = pd.to_numeric(g["parameters"], errors="coerce")
        rec["parameters"] = float(p.median()) if p.notna().any() else np.nan
        rec["note"] = e.note or "—"          # never empty: an all-empty text column reads back as NaN
        if learned is not None:
            ok, why = verdict.get(name, (False, "no learning check"))
            rec["learned"], rec["learning check"] = bool(ok), why
        recs.append(rec)
    board = pd.DataFrame(recs)
    if len(board):
        board = board.sort_values("f1", ascending=False, kind="stable")
    rest = [{"entry": e.name, "paper": e.paper, "family": e.family, "units": 0, "F1 (mean ± std)": FULL_ONLY,
             "note": f"{FULL_ONLY}: {e.not_trained}",
             **({"learned": False, "learning check": FULL_ONLY} if learned is not None else {})}
            for e in entries if e.not_trained]
    if rest:
        board = pd.concat([board, pd.DataFrame(rest)], ignore_index=True)
    return board.reset_index(drop=True)


FULL_ONLY = "full profile only"
"""What the leaderboard shows, instead of a score, for an entry this profile does not train."""


def not_trained_entry(name: str, paper: str, family: str, reason: str) -> Entry:
    """An entry listed without a score ("full profile only"), with the reason."""
    return Entry(name=name, paper=paper, family=family, not_trained=reason)


def paired_tests(scores: pd.DataFrame, splits: Sequence[Split], reference: str, *,
                 metric: str = "f1") -> pd.DataFrame:
    """Every entry against ``reference`` on the units both have: mean difference of the
    per-unit ``metric`` and the corrected resampled t-test (Nadeau & Bengio 2003; training
    sets of the units overlap, so the variance is inflated by n_test / n_train):
    :func:`mer_utils.evaluation.paired_comparisons`."""
    if scores[scores["entry"] == reference].empty:
        raise KeyError(f"reference {reference!r} has no scores")
    return paired_comparisons(scores, splits, reference, key="entry", metric=metric)


def critical_difference(scores: pd.DataFrame, *, metric: str = "f1", alpha: float = 0.05
                        ) -> tuple[dict | None, pd.DataFrame]:
    """Friedman + Nemenyi (Demšar 2006) over the units shared by the entries with the most
    units (blocks = splits). Returns (result of
    :func:`~mer_utils.evaluation.stats.friedman_nemenyi` or None when fewer than two entries
    or two units qualify, a table saying which entries are in and why others are not)."""
    from mer_utils.evaluation.stats import friedman_nemenyi

    wide = scores.pivot_table(index=["repeat", "fold"], columns="entry", values=metric)
    counts = wide.notna().sum()
    full = counts.max() if len(counts) else 0
    keep = [c for c in wide.columns if counts[c] == full]
    blocks = wide[keep].dropna()
    status = pd.DataFrame({"entry": list(wide.columns), "units": [int(counts[c]) for c in wide.columns],
                           "in CD diagram": [c in keep for c in wide.columns],
                           "why not": ["—" if c in keep else f"{int(counts[c])} of {int(full)} units "
                                       "(deep entries scaled down under this profile)" for c in wide.columns]})
    if len(keep) < 2 or len(blocks) < 2:
        return None, status
    order = [e for e in dict.fromkeys(scores["entry"]) if e in keep]
    return friedman_nemenyi(blocks[order], alpha=alpha), status


def friedman_table(result: dict | None) -> pd.DataFrame:
    """The Friedman / Nemenyi numbers as a table (average rank per entry, CD, statistics)."""
    if result is None:
        return pd.DataFrame()
    ranks = pd.DataFrame({"entry": list(result["avg_ranks"]), "average rank": list(result["avg_ranks"].values())})
    ranks = ranks.sort_values("average rank").reset_index(drop=True)
    best = ranks["average rank"].iloc[0]
    ranks["within CD of the best"] = ranks["average rank"] - best < result["cd"]
    for k in ("N", "k", "chi2", "p_chi2", "F", "p_F", "q", "cd"):
        ranks[k] = result[k]
    return ranks


def cost_table(board: pd.DataFrame) -> pd.DataFrame:
    """What a point of F1 costs: seconds per split and parameters beside macro F1."""
    cols = ["entry", "paper", "f1", "units", "seconds per split", "train s per split",
            "predict s per split", "parameters"]
    return board.loc[board["units"] > 0, cols].reset_index(drop=True)
