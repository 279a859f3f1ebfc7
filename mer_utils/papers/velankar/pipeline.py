"""Velankar et al.'s pipeline (notebook ``40_velankar_crnn``): data, splits, and what to fit.

The notebook calls the steps in order::

    cfg = V.Config.for_profile(ctx.profile, epochs=epochs, ...)
    data = V.pipeline.load_data(ctx, cfg)           # corpus + cached spectrograms
    splits = V.pipeline.make_splits(ctx, cfg, data) # one stratified holdout per seed, saved as files
    run = V.pipeline.train(ctx, cfg, data, splits)  # both models, every seed, into the results store

Each network is one :class:`mer_utils.training.Trainer` (built and compiled once, reset to a
fresh build under the unit's seed before every unit) under :func:`recipe`; the seeds run as
units ``r<i>-f00-s<seed>`` through :func:`mer_utils.experiment.run_protocol`: a rerun under
the same configuration trains nothing, an interrupted one resumes, and every table is built
from the stored predictions.
"""
from __future__ import annotations

import dataclasses
import time
from functools import partial
from typing import Any, Mapping

import numpy as np
import pandas as pd

from mer_utils.datasets import select_corpus
from mer_utils.evaluation import parameter_count
from mer_utils.evaluation.protocols import Split, load_or_make_splits
from mer_utils.experiment import UnitResult, row_fingerprints, run_protocol
from mer_utils.features import FRONT_ENDS, extract_spectrograms
from mer_utils.results import Unit, load_predictions

from .config import FRONT_END, MODELS, NOTEBOOK, PAPER, Config, Model, paper_class_map


# --------------------------------------------------------------------------- data
@dataclasses.dataclass
class Data:
    """Spectrograms and labels of the kept clips: ``X`` (n, 640, 128), ``y`` class indices
    into ``labels``, ``ids`` track ids, ``table`` the corpus rows, ``corpus`` its description."""

    X: np.ndarray
    y: np.ndarray
    ids: np.ndarray
    labels: list[str]
    table: pd.DataFrame
    corpus: str

    @property
    def class_names(self) -> np.ndarray:
        return np.asarray(self.labels, dtype=object)[self.y].astype(str)


def load_data(ctx, cfg: Config) -> Data:
    """The 3-class corpus (:func:`mer_utils.datasets.select_corpus`, task ``label3``) and its
    cached 640 x 128 spectrograms (front end ``velankar_crnn``)."""
    df, desc = select_corpus(ctx, "label3", sources=cfg.demo_sources)
    if cfg.demo_sources and (df["dataset"] == "demo").all():
        desc += f"; sources {list(cfg.demo_sources)} only"
    X, kept = extract_spectrograms(df, FRONT_END, ctx=ctx)
    if len(kept) < len(df):
        desc += f"; {len(df) - len(kept)} clip(s) skipped (see the manifest)"
    if cfg.time_pool > 1:
        X = pool_time(X, cfg.time_pool)
    labels = sorted(kept["label3"].astype(str).unique())
    y = kept["label3"].astype(str).map({c: i for i, c in enumerate(labels)}).to_numpy()
    return Data(X=X, y=y, ids=kept["track_id"].astype(str).to_numpy(), labels=labels,
                table=kept.reset_index(drop=True), corpus=desc)


def class_counts(data: Data) -> pd.DataFrame:
    """Clips per class (one row)."""
    return pd.Series(data.class_names).value_counts().reindex(data.labels).rename("clips").to_frame().T


def front_end() -> str:
    """How the front end reaches the paper's 640 frames."""
    return FRONT_ENDS[FRONT_END].derivation


def class_map_table(data: Data) -> pd.DataFrame:
    mapping = paper_class_map(data.labels)
    return pd.DataFrame({"our class": data.labels,
                         "paper's class": [mapping.get(c, "-") for c in data.labels]})


# --------------------------------------------------------------------------- models
#: the parallel model's CNN pools on a time-pooled input: the sizes that still flatten the
#: branch to the paper's 256 (4 x 1 x 64); the paper's own on the 640 frames
PARALLEL_POOLS = {1: ((2, 2), (2, 2), (2, 2), (4, 4), (4, 4)),
                  2: ((1, 2), (2, 2), (2, 2), (4, 4), (4, 4)),
                  4: ((1, 2), (2, 2), (2, 2), (2, 4), (4, 4))}


def pooled_kwargs(model: Model, time_pool: int) -> dict:
    """Builder keyword arguments that keep the paper's layer sizes on a time-pooled input:
    the parallel model's CNN pools from :data:`PARALLEL_POOLS` (its branch still flattens to
    256); the CRNN needs none (its LSTM sees fewer steps)."""
    if time_pool not in PARALLEL_POOLS:
        raise ValueError(f"time_pool must be one of {sorted(PARALLEL_POOLS)}, not {time_pool}")
    if time_pool == 1 or model.builder != "parallel_cnn_rnn":
        return {}
    return {"cnn_pools": PARALLEL_POOLS[time_pool]}


def pool_time(X, time_pool: int):
    """Average every ``time_pool`` consecutive frames of ``X`` (n, frames, bands); trailing
    frames that do not fill a group are dropped."""
    import numpy as np

    if time_pool <= 1:
        return X
    n, t, b = X.shape
    t2 = t // time_pool
    return np.asarray(X[:, : t2 * time_pool], dtype=np.float32).reshape(n, t2, time_pool, b).mean(axis=2)


def builder(model: Model, cfg: Config, data: Data):
    """A zero-argument callable that builds ``model`` for ``data`` under ``cfg``."""
    from mer_utils.models.crnn import BUILDERS

    return partial(BUILDERS[model.builder], data.X.shape[1:], len(data.labels), **model.build_kwargs(cfg),
                   **pooled_kwargs(model, cfg.time_pool))


def recipe(cfg: Config):
    """How both networks train: Adam at ``learning_rate``, ``epochs`` at most, batch
    ``batch_size``, the weights of the epoch with the lowest validation loss kept (early
    stopping after ``patience`` epochs without improvement; ``None``: every epoch runs)."""
    from mer_utils.training import Recipe, ValidationStop

    return Recipe(epochs=int(cfg.epochs), batch_size=int(cfg.batch_size), learning_rate=float(cfg.learning_rate),
                  stop=ValidationStop(patience=cfg.patience))


def parameter_table(cfg: Config, data: Data) -> pd.DataFrame:
    """Parameter counts of both models as built for this data (checked by hand in tests)."""
    rows = []
    for m in MODELS:
        c = parameter_count(builder(m, cfg, data)())
        rows.append({"model": m.name, **c, "non_trainable": c["parameters"] - c["trainable"]})
    return pd.DataFrame(rows)


# --------------------------------------------------------------------------- splits
def make_splits(ctx, cfg: Config, data: Data) -> dict[int, Split]:
    """One stratified train / validation / test holdout per seed, each saved as a file under
    ``results/<label>/splits/40_velankar_crnn/`` and reused on rerun."""
    directory = ctx.results_dir / "splits" / NOTEBOOK
    out = {}
    for s in cfg.seeds:
        (sp,) = load_or_make_splits(directory, cfg.protocol(int(s)), data.ids, data.class_names,
                                    name="velankar")
        out[int(s)] = sp
    return out


def split_table(splits: Mapping[int, Split], data: Data) -> pd.DataFrame:
    """Clips per seed, part and class (with totals)."""
    rows = []
    for s, sp in splits.items():
        for part in ("train", "validation", "test"):
            idx = getattr(sp, part)
            counts = pd.Series(data.class_names[idx]).value_counts().reindex(data.labels, fill_value=0)
            rows.append({"seed": s, "part": part, **counts.to_dict(), "total": len(idx)})
    return pd.DataFrame(rows)


def seed_units(splits: Mapping[int, Split]) -> list[Split]:
    """Seed ``s`` (the ``i``-th) as unit ``r<i>-f00-s<s>`` on its own holdout."""
    return [Split(Unit(i, 0, int(s)), sp.train, sp.test, sp.validation) for i, (s, sp) in enumerate(splits.items())]


# --------------------------------------------------------------------------- training
@dataclasses.dataclass
class Training:
    histories: dict[str, dict[int, dict[str, Any]]]     # experiment -> seed -> history
    seconds: dict[str, float]                           # experiment -> wall time of this call


def fit_predict(trainer, data: Data, split: Split, *, experiment: str = "", progress: bool = True) -> UnitResult:
    """One unit: inputs standardised with the training songs' mean and std (one value each),
    the trainer fitted on the training songs under the unit's seed (weights kept from the
    epoch with the lowest validation loss), the test songs scored once."""
    from mer_utils.training import Standardizer

    t0 = time.perf_counter()
    tr, va, te = (np.asarray(getattr(split, p), dtype=int) for p in ("train", "validation", "test"))
    if set(tr) & set(te) or set(va) & set(te) or set(tr) & set(va):
        raise ValueError("train, validation and test rows overlap")
    scale = Standardizer(axis=None).fit(data.X[tr])
    y = np.asarray(data.y)
    hist = trainer.fit(scale(data.X[tr]), y[tr], validation=(scale(data.X[va]), y[va]), seed=int(split.unit.seed))
    t1 = time.perf_counter()
    score = trainer.predict(scale(data.X[te]), batch_size=trainer.recipe.batch_size)
    seconds = round(time.perf_counter() - t0, 2)
    if progress:
        acc = float(np.mean(np.argmax(score, axis=1) == y[te]))
        print(f"{experiment} seed {split.unit.seed}: {len(hist['epoch'])} epochs "
              f"(kept {hist['best_epoch']}), test accuracy {acc:.2f}, {seconds:.0f} s")
    info = {"history": dict(hist, run_seconds=seconds), "train_seconds": round(t1 - t0, 3),
            "predict_seconds": round(time.perf_counter() - t1, 3)}
    if trainer.model is not None:
        info["parameters"] = trainer.n_params
    return UnitResult(ids=np.asarray(data.ids).astype(str)[te], y_true=y[te], y_score=score,
                      labels=list(data.labels), info=info)


def train(ctx, cfg: Config, data: Data, splits: Mapping[int, Split], *, progress: bool = True) -> Training:
    """Both models, once per seed on that seed's split, into the results store.

    Early stopping and the kept epoch use the validation songs only; the test songs are
    scored once, after training. Units stored earlier under the same configuration are
    not trained again (:func:`mer_utils.experiment.run_protocol`).
    """
    from mer_utils.training import Trainer

    histories, seconds = {}, {}
    units = seed_units(splits)
    rec = recipe(cfg)
    rows = row_fingerprints(data.X)     # a unit whose clips' spectrograms changed is trained again
    for m in MODELS:
        build = builder(m, cfg, data)
        trainer = Trainer(build, rec, name=m.name)
        t0 = time.perf_counter()
        settings = {"paper": PAPER, "model": m.builder, "front_end": FRONT_END, "corpus": data.corpus,
                    **m.build_kwargs(cfg), "epochs": cfg.epochs, "batch_size": cfg.batch_size,
                    "patience": cfg.patience, "standardize": None,
                    **({"time_pool": cfg.time_pool} if cfg.time_pool > 1 else {}), "recipe": rec.describe(),
                    "compile_kwargs": {"learning_rate": cfg.learning_rate},
                    "n_rows": len(data.ids), "labels": list(data.labels)}
        meta = {"model": m.name, "paper": PAPER, "front_end": FRONT_END, "corpus": data.corpus,
                "profile": cfg.profile, **parameter_count(build()), "labels": list(data.labels)}
        run_protocol(ctx.results_dir, m.experiment, units, config=settings, meta=meta, progress=progress,
                     rows=rows, fit_predict=partial(fit_predict, trainer, data, experiment=m.experiment, progress=progress))
        histories[m.experiment] = {int(fp.seed): fp.info.get("history", {})
                                   for fp in load_predictions(ctx.results_dir, m.experiment) if fp.seed is not None}
        seconds[m.experiment] = round(time.perf_counter() - t0, 1)
    return Training(histories, seconds)


def finish(ctx, cfg: Config, data: Data, t_start: float) -> str:
    """Record the run in the manifest; a one-line summary."""
    total = time.perf_counter() - t_start
    ctx.manifest.notes.append(
        f"{NOTEBOOK}: corpus {data.corpus}; {cfg.epochs} epochs max, patience {cfg.patience}, "
        f"batch {cfg.batch_size}, seeds {list(cfg.seeds)}, L2 {cfg.l2}, dropout {cfg.dropout}; "
        f"total {total:.0f} s")
    ctx.write_manifest()
    return f"done in {total:.0f} s; tables in {ctx.results_dir}, figures in {ctx.figures_dir}"
