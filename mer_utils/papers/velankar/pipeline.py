"""Velankar, Thombre & Wadkar, *Evaluating deep learning models for music emotion
recognition*: a CRNN and a parallel CNN-RNN on 640 x 128 mel spectrograms, 3 classes,
one train / validation / test split (notebook ``40_velankar_crnn``).

The paper's configuration is :class:`Config` (its values under ``full``, scaled ones under
``smoke`` / ``demo``); the notebook calls the steps below in order::

    cfg = Config.for_profile(ctx.profile, epochs=epochs, ...)
    data = load_data(ctx, cfg)                 # corpus + cached spectrograms
    splits = make_splits(ctx, cfg, data)       # one stratified holdout per seed, saved as files
    run = train(ctx, cfg, data, splits)        # both models, every seed, into the results store
    report = classification_report_vs_paper(ctx, data, MODELS[0])    # Fig. 6 beside ours
    results_vs_paper(ctx)                      # accuracy and macro F1 beside the paper's

Training goes through :func:`mer_utils.training.train_over_seeds` (hence
:func:`mer_utils.experiment.run_protocol`): a rerun under the same configuration trains
nothing, an interrupted one resumes, and every table is built from the stored predictions.

The paper's songs are not public; the classes of a stand-in corpus are matched to the
paper's for the per-class comparison by :func:`paper_class_map` (``calm`` -> Devotional,
``sad`` -> Sad, ``happy`` -> Romantic; see :data:`FIDELITY`).
"""
from __future__ import annotations

import dataclasses
import time
from typing import Any, Mapping, Sequence

import numpy as np
import pandas as pd

from mer_utils import evaluation as ev
from mer_utils.datasets import select_corpus
from mer_utils.evaluation.protocols import Split, holdout, load_or_make_splits
from mer_utils.experiment import Fidelity, PaperConfig, fidelity_table, setting
from mer_utils.features import FRONT_ENDS, extract_spectrograms
from mer_utils.results import (compare_with_paper, load_predictions, paper_values,
                               score_experiment, summarise)

PAPER = "velankar"
NOTEBOOK = "40_velankar_crnn"
FRONT_END = "velankar_crnn"


# --------------------------------------------------------------------------- configuration
@dataclasses.dataclass(frozen=True)
class Config(PaperConfig):
    """Notebook 40's settings: the paper's values as defaults (``full``)."""

    epochs: int = setting(25, paper="'Both the models were trained for 25 epochs' (Sec. IV.A)")
    patience: int | None = setting(
        None, paper="not given; 'the best-trained model' is reported",
        note="None: all epochs run; the weights of the epoch with the lowest validation loss "
             "are kept (never chosen on the test songs). smoke/demo stop early to fit a CPU")
    batch_size: int = setting(32, paper="not given")
    learning_rate: float = setting(1e-3, paper="not given (nor the optimizer)",
                                   note="Adam at Keras's default rate")
    test_share: float = setting(
        round(1 / 3, 4), paper="46 of the 138 songs tested (support 15 / 16 / 15 in Figs 6 and 9)",
        note="one third of every class, stratified")
    validation_share: float = setting(
        0.2, paper="'divided fairly for training, validation, and testing'; no share given",
        note="of the songs left after the test third (Keras's usual validation_split): "
             "138 songs -> ~74 / 18 / 46")
    seeds: tuple[int, ...] = setting(
        (0, 1, 2, 3, 4), paper="one split, one training run",
        note="one stratified holdout and one training run per seed; the spread shows how far "
             "a single 46-song test set moves the numbers")
    l2: float = setting(1e-4, paper="'both L2 and dropout regularization was used between all "
                        "the layers'; no weight given", note="on every kernel of both models")
    dropout: float = setting(0.3, paper="dropout between all the layers; no rate given",
                             note="after each CRNN block, the LSTM and the dense layer; on "
                                  "the parallel model's concatenation")
    bn_momentum: float = setting(0.9, paper="batch normalisation after ReLU; no momentum given",
                                 note="Keras's 0.99 leaves test-time statistics near their "
                                      "initial values with ~7 batches per epoch")
    demo_sources: tuple[str, ...] | None = setting(
        None, paper="-", note="demo corpus only: keep these mimicked sources (e.g. ('4q',) for "
                              "30-s clips); None: all four (~180 clips, near the paper's 138)")

    PROFILES = {
        "smoke": dict(epochs=1, batch_size=8, patience=1, seeds=(0,)),
        "demo": dict(epochs=8, batch_size=16, patience=3, seeds=(0, 1, 2)),
        "full": {},
    }

    def protocol(self, seed: int):
        """The stratified holdout of one seed (test and validation as shares of the whole)."""
        return holdout(test_size=self.test_share,
                       val_size=round(self.validation_share * (1 - self.test_share), 4), seed=seed)

    def model_settings(self) -> dict[str, Any]:
        """The builder keyword arguments both models take from this configuration."""
        return {"dropout": self.dropout, "l2": self.l2}


@dataclasses.dataclass(frozen=True)
class Model:
    """One of the paper's two networks and the figures it has there."""

    experiment: str       # results-store name
    name: str             # as the paper names it
    builder: str          # key of mer_utils.models.crnn.BUILDERS
    curves_fig: int       # accuracy / loss curves
    report_fig: int       # precision / recall / F1 report
    confusion_fig: int

    @property
    def report_table(self) -> str:
        return f"fig{self.report_fig}"

    def build_kwargs(self, cfg: Config) -> dict[str, Any]:
        kw = cfg.model_settings()
        if self.builder == "crnn":
            kw["bn_momentum"] = cfg.bn_momentum
        return kw


MODELS: tuple[Model, ...] = (
    Model("velankar_crnn", "CRNN", "crnn", 5, 6, 7),
    Model("velankar_parallel_cnn_rnn", "Parallel CNN-RNN", "parallel_cnn_rnn", 8, 9, 10),
)

# --------------------------------------------------------------------------- compared cells
PAPER_CLASSES = ("Devotional", "Sad", "Romantic")           # the row order of Figs 6 and 9
STAND_IN_CLASSES = {"calm": "Devotional", "sad": "Sad", "happy": "Romantic"}
REPORT_ROWS = PAPER_CLASSES + ("accuracy", "macro avg", "weighted avg")
REPORT_METRICS = ("precision", "recall", "f1-score", "support")
RESULT_METRICS = ("accuracy", "macro_f1")


def _report_cells(table: str) -> list[tuple[str, str, str]]:
    # the accuracy row prints only f1-score and support (scikit-learn's layout)
    return [(table, r, m) for r in REPORT_ROWS for m in REPORT_METRICS
            if not (r == "accuracy" and m in ("precision", "recall"))]


PAPER_CELLS: tuple[tuple[str, str, str], ...] = tuple(
    [("results", m.name, k) for m in MODELS for k in RESULT_METRICS]
    + [c for m in MODELS for c in _report_cells(m.report_table)])
"""Every (table, row, metric) notebook 40 sets beside the paper (results.py, "Paper values")."""


# --------------------------------------------------------------------------- fidelity
FIDELITY: tuple[Fidelity, ...] = (
    Fidelity("data", "138 Hindi songs of 30 s, 46 each devotional / sad / romantic",
             "a user's folder of classes, else 4Q's Q4 calm / Q3 sad / Q1 happy, else the demo "
             "corpus's 3-class label", "departure", "the paper's songs are not public"),
    Fidelity("classes in Figs 6/9", "Devotional, Sad, Romantic",
             "calm -> Devotional, sad -> Sad, happy -> Romantic (a folder named with the "
             "paper's classes maps by name)", "departure",
             "stand-in classes: sad is sad; devotional songs are calm (low arousal, positive "
             "valence); romantic the remaining positive class. The per-class cells compare "
             "positions, not the same emotions"),
    Fidelity("spectrogram", "window 2048, hop 512, log (dB) mel, shape 640 x 128",
             "2,048 / 512, 128 mel bands in dB, first 640 frames", "same"),
    Fidelity("sample rate and crop", "30-s songs; no sample rate given",
             "11,025 Hz, first 30 s (shorter clips repeated): 640 hops of 512 cover 29.7 s",
             "paper silent", "640 frames of hop 512 span ~30 s only at ~11 kHz"),
    Fidelity("test set", "46 of 138 songs (15 / 16 / 15 in Figs 6 and 9)",
             "one third of every class, stratified (test_share)", "same"),
    Fidelity("validation set", "'divided fairly for training, validation, and testing'",
             "20 % of the songs left after the test third (validation_share)", "paper silent",
             "no share given; 20 % is Keras's usual validation_split"),
    Fidelity("repetitions", "one split, one run per model",
             "one stratified holdout and one run per seed (5 under full), mean ± std",
             "departure", "on 46 test songs one run is noisy: the spread over seeds is the "
                          "scale against which the paper's 0.54 vs 0.50 can be read"),
    Fidelity("CRNN convolutions", "3 x [1D conv (56 filters, kernel 5), ReLU, batch norm, "
             "1D max pool], over time", "the same; bands are the input channels", "same"),
    Fidelity("CRNN pooling and padding", "not given", "pool 2, 'valid' convolutions "
             "(76 steps reach the LSTM)", "paper silent", "smallest pool; keeps most steps"),
    Fidelity("CRNN recurrent and dense", "LSTM with 96 hidden units -> 64-unit dense layer",
             "LSTM(96) -> Dense(64, ReLU)", "same"),
    Fidelity("output layer", "softmax dense layer with '8 hidden units in order to determine "
             "the probabilities of the three classes'", "softmax over 3 units", "departure",
             "self-contradictory: 8 softmax units give 8 probabilities, 5 for classes that do "
             "not exist; 3 units give one per class"),
    Fidelity("regularisation (CRNN)", "'both L2 and dropout regularization was used between "
             "all the layers'", "L2 on every kernel (convolutions, LSTM input and recurrent, "
             "dense, output) and dropout after every block, the LSTM and the dense layer",
             "same"),
    Fidelity("L2 weight and dropout rate", "not given", "L2 1e-4, dropout 0.3 (l2, dropout)",
             "paper silent", "common values; the notebook's parameters can change them"),
    Fidelity("batch-norm momentum", "not given", "0.9 (bn_momentum)", "paper silent",
             "with ~7 batches per epoch Keras's 0.99 keeps test-time statistics near their "
             "initial values"),
    Fidelity("parallel CNN branch", "5 blocks of 2D conv (kernel 3,1; 16, 32, 64, 64, 64 "
             "filters), ReLU, 2D max pool, flattened to 256", "the same", "same"),
    Fidelity("parallel CNN pools", "not given; output 256",
             "(2,2), (2,2), (2,2), (4,4), (4,4)", "paper silent",
             "the pools of this kind that give exactly 256 = 4 x 1 x 64 on 640 x 128"),
    Fidelity("parallel RNN branch", "(4, 2) max pool, 64-unit bidirectional GRU (128), "
             "concatenation 384, softmax dense", "the same", "same"),
    Fidelity("regularisation (parallel)", "not given for this model",
             "the CRNN's: L2 on every kernel, dropout 0.3 on the concatenation",
             "paper silent", "the paper regularises its other model so"),
    Fidelity("epochs", "'trained for 25 epochs'", "25 under full; the weights of the epoch "
             "with the lowest validation loss kept", "same"),
    Fidelity("optimizer, learning rate, batch size", "not given", "Adam 1e-3, batch 32",
             "paper silent", "Keras defaults"),
    Fidelity("hyperparameter tuning", "'the best-trained model ... after hyperparameter "
             "tuning'", "none: fixed values above", "departure",
             "neither the grid nor the data used to choose are given; tuning on the one test "
             "set would leak"),
    Fidelity("input scaling", "not given", "one mean and std from the training songs",
             "paper silent", "dB values are standardised; statistics never from test songs"),
    Fidelity("metrics", "accuracy, precision, recall, F1, confusion matrix; F1 called 'the "
             "weighted average value of precision and recall'",
             "scikit-learn's classification report (F1 = harmonic mean), whose layout Figs 6 "
             "and 9 print", "same"),
)


def fidelity() -> pd.DataFrame:
    """The paper-vs-code table the notebook shows."""
    return fidelity_table(FIDELITY)


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


def paper_class_map(labels: Sequence[str]) -> dict[str, str]:
    """Our class -> the paper's class (Devotional / Sad / Romantic), or ``{}`` when the
    classes are neither the paper's own names nor the stand-in ones."""
    by_name = {c: p for c in labels for p in PAPER_CLASSES if str(c).lower() == p.lower()}
    if len(by_name) == len(labels) == len(PAPER_CLASSES):
        return by_name
    if set(labels) == set(STAND_IN_CLASSES):
        return {c: STAND_IN_CLASSES[c] for c in labels}
    return {}


def class_map_table(data: Data) -> pd.DataFrame:
    mapping = paper_class_map(data.labels)
    return pd.DataFrame({"our class": data.labels,
                         "paper's class": [mapping.get(c, "-") for c in data.labels]})


# --------------------------------------------------------------------------- models
def builder(model: Model, cfg: Config, data: Data):
    """A zero-argument callable that builds ``model`` for ``data`` under ``cfg``."""
    from functools import partial

    from mer_utils.models.crnn import BUILDERS

    return partial(BUILDERS[model.builder], data.X.shape[1:], len(data.labels), **model.build_kwargs(cfg))


def parameter_table(cfg: Config, data: Data) -> pd.DataFrame:
    """Parameter counts of both models as built for this data (checked by hand in tests)."""
    from mer_utils.models.crnn import parameter_counts

    return pd.DataFrame([{"model": m.name, **parameter_counts(builder(m, cfg, data)())} for m in MODELS])


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


# --------------------------------------------------------------------------- training
@dataclasses.dataclass
class Training:
    histories: dict[str, dict[int, dict[str, Any]]]     # experiment -> seed -> history
    seconds: dict[str, float]                           # experiment -> wall time of this call


def train(ctx, cfg: Config, data: Data, splits: Mapping[int, Split]) -> Training:
    """Both models, once per seed on that seed's split, into the results store.

    Early stopping and the kept epoch use the validation songs only; the test songs are
    scored once, after training. Units stored earlier under the same configuration are
    not trained again (:func:`mer_utils.training.train_over_seeds`).
    """
    from mer_utils.models.crnn import parameter_counts
    from mer_utils.training import train_over_seeds

    histories, seconds = {}, {}
    split_dicts = {s: sp.as_dict() for s, sp in splits.items()}
    for m in MODELS:
        build = builder(m, cfg, data)
        t0 = time.perf_counter()
        histories[m.experiment] = train_over_seeds(
            build, data.X, data.y, data.ids, data.labels, split_dicts,
            results_dir=ctx.results_dir, experiment=m.experiment, epochs=cfg.epochs,
            batch_size=cfg.batch_size, patience=cfg.patience,
            compile_kwargs={"learning_rate": cfg.learning_rate},
            config={"paper": PAPER, "model": m.builder, "front_end": FRONT_END,
                    "corpus": data.corpus, **m.build_kwargs(cfg)},
            meta={"model": m.name, "paper": PAPER, "front_end": FRONT_END, "corpus": data.corpus,
                  "profile": cfg.profile, **parameter_counts(build())})
        seconds[m.experiment] = round(time.perf_counter() - t0, 1)
    return Training(histories, seconds)


def plot_curves(ctx, model: Model, training: Training):
    """Training and validation accuracy / loss per seed (the paper's Figs 5 and 8)."""
    from mer_utils.plots import classification as PC

    h = training.histories[model.experiment]
    fig = PC.plot_training_curves(list(h.values()), labels=[f"seed {s}" for s in h],
                                  title=f"Fig. {model.curves_fig}: {model.name}")
    ctx.savefig(fig, f"velankar_fig{model.curves_fig}_curves_{model.experiment}")
    return fig


# --------------------------------------------------------------------------- reports
def report_over_seeds(results_dir, model: Model) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(mean, std) classification reports over the stored seeds of ``model``.

    Rows: classes (renamed to the paper's where :func:`paper_class_map` matches them, in
    the paper's order), ``accuracy``, ``macro avg``, ``weighted avg``; columns precision,
    recall, f1-score, support. Support is the test songs per seed (mean over seeds); the
    accuracy row holds the accuracy in f1-score only, as the paper prints it.
    """
    folds = load_predictions(results_dir, model.experiment)
    labels = list(folds[0].labels)
    frames = [ev.classification_report_df(*ev.fold_labels(fp), labels) for fp in folds]
    stacked = pd.concat(frames, keys=range(len(frames)), names=["unit", "class"])
    g = stacked.groupby(level="class", sort=False)
    mean, std = g.mean(), g.std(ddof=1).fillna(0.0)
    mapping = paper_class_map(labels)
    order = ([c for p in PAPER_CLASSES for c in labels if mapping.get(c) == p] if mapping else labels)
    order += ["accuracy", "macro avg", "weighted avg"]
    mean, std = (t.loc[order].rename(index=mapping) for t in (mean, std))
    for t in (mean, std):
        t.loc["accuracy", ["precision", "recall"]] = np.nan
        t.index.name = "row"
    return mean, std


def _paper_report(table: str) -> pd.DataFrame:
    pv = paper_values(PAPER, table)
    wide = pv.pivot(index="row", columns="metric", values="value")
    return wide.reindex(index=list(REPORT_ROWS), columns=list(REPORT_METRICS))


@dataclasses.dataclass
class Report:
    """One model's classification report beside the paper's figure."""

    model: Model
    mean: pd.DataFrame            # ours, mean over seeds (rows as the paper's)
    std: pd.DataFrame
    paper: pd.DataFrame           # the paper's figure (NaN where it prints nothing)
    comparison: pd.DataFrame      # long: row, metric, paper, reproduced, reproduced_std, delta

    def side_by_side(self) -> pd.DataFrame:
        """Ours and the paper's in one wide table (columns metric x [ours, ± std, paper])."""
        c = self.comparison.set_index(["row", "metric"])
        out = pd.concat({"ours": c["reproduced"], "± std": c["reproduced_std"],
                         "paper": c["paper"]}, axis=1).unstack("metric")
        out = out.swaplevel(axis=1)
        cols = [(m, k) for m in REPORT_METRICS for k in ("ours", "± std", "paper") if (m, k) in out.columns]
        rows = [r for r in self.mean.index if r in out.index]
        return out.loc[rows, cols]


def classification_report_vs_paper(ctx, data: Data, model: Model) -> Report:
    """The paper's Fig. 6 (CRNN) or 9 (parallel CNN-RNN) beside ours, every cell.

    Saves the long comparison table (``velankar_<fig>_vs_paper``) and the figure. When our
    classes match the paper's (by name or as stand-ins) every printed cell is compared
    and a missing paper value is an error; otherwise only the accuracy and average rows.
    """
    from mer_utils.plots import classification as PC

    mean, std = report_over_seeds(ctx.results_dir, model)
    mapped = bool(paper_class_map(data.labels))
    ours = mean.copy()
    for m in REPORT_METRICS:
        ours[f"{m}_std"] = std[m]
    ours = ours.reset_index()
    if not mapped:
        ours = ours[ours["row"].isin(["accuracy", "macro avg", "weighted avg"])]
    cmp = compare_with_paper(ours, PAPER, model.report_table, row_col="row",
                             metric_cols=list(REPORT_METRICS), require_paper=True)
    if not mapped:
        cmp = cmp[cmp["row"].isin(["accuracy", "macro avg", "weighted avg"])].reset_index(drop=True)
    ctx.save_table(cmp, f"velankar_{model.report_table}_vs_paper")
    paper = _paper_report(model.report_table)
    n = len(load_predictions(ctx.results_dir, model.experiment))
    mapping = paper_class_map(data.labels)
    title = f"Fig. {model.report_fig}: {model.name} (test; mean over {n} seed(s))"
    if mapping and any(c != p for c, p in mapping.items()):
        title += "\nours as the paper's: " + ", ".join(f"{c} as {p}" for c, p in mapping.items())
    fig = PC.plot_classification_report(
        mean, std=std, paper=paper if mapped else paper.loc[["accuracy", "macro avg", "weighted avg"]],
        title=title)
    ctx.savefig(fig, f"velankar_fig{model.report_fig}_report_{model.experiment}")
    return Report(model, mean, std, paper, cmp)


def plot_confusion(ctx, model: Model):
    """Test predictions of every seed pooled (the paper's Figs 7 and 10)."""
    from mer_utils.plots import classification as PC

    folds = load_predictions(ctx.results_dir, model.experiment)
    cm = ev.confusion_over_folds(folds)
    mapping = paper_class_map(list(folds[0].labels))
    if mapping:                                   # the paper's class order, both names shown
        order = sorted(cm.index, key=lambda c: PAPER_CLASSES.index(mapping[c]))
        names = {c: f"{c} ({mapping[c]})" for c in cm.index}
        cm = cm.loc[order, order].rename(index=names, columns=names)
    fig = PC.plot_confusion_matrix(cm, title=f"Fig. {model.confusion_fig}: {model.name} "
                                             f"({len(folds)} seed(s) pooled)")
    ctx.savefig(fig, f"velankar_fig{model.confusion_fig}_confusion_{model.experiment}")
    return fig


# --------------------------------------------------------------------------- results
def unit_scores(ctx) -> pd.DataFrame:
    """Accuracy, macro F1 and balanced accuracy of every stored seed of both models."""
    scores = pd.concat([score_experiment(ctx.results_dir, m.experiment, ev.SINGLE_LABEL_METRICS)
                        for m in MODELS], ignore_index=True)
    scores.insert(0, "model", scores["experiment"].map({m.experiment: m.name for m in MODELS}))
    ctx.save_table(scores, "velankar_fold_scores")
    return scores


def results_vs_paper(ctx, scores: pd.DataFrame | None = None) -> pd.DataFrame:
    """Accuracy and macro F1 per model (mean ± std over seeds) beside the paper's."""
    scores = unit_scores(ctx) if scores is None else scores
    summary = summarise(scores.drop(columns="experiment"), by="model")
    cmp = compare_with_paper(summary, PAPER, "results", row_col="model",
                             metric_cols=list(RESULT_METRICS), require_paper=True)
    ctx.save_table(cmp, "velankar_paper_vs_reproduced")
    return cmp


def overview(scores: pd.DataFrame, training: Training) -> pd.DataFrame:
    """One line per model: accuracy and macro F1 as mean ± std, seeds, training time."""
    s = summarise(scores.drop(columns="experiment"), by="model").set_index("model")
    names = {m.name: m.experiment for m in MODELS}
    return pd.DataFrame({
        "accuracy": [ev.format_mean_std(r.accuracy, r.accuracy_std) for r in s.itertuples()],
        "macro F1": [ev.format_mean_std(r.macro_f1, r.macro_f1_std) for r in s.itertuples()],
        "seeds": s["n_folds"].to_list(),
        "training time this run (s)": [training.seconds.get(names[m], np.nan) for m in s.index],
    }, index=s.index)


def finish(ctx, cfg: Config, data: Data, t_start: float) -> str:
    """Record the run in the manifest; a one-line summary."""
    total = time.perf_counter() - t_start
    ctx.manifest.notes.append(
        f"{NOTEBOOK}: corpus {data.corpus}; {cfg.epochs} epochs max, patience {cfg.patience}, "
        f"batch {cfg.batch_size}, seeds {list(cfg.seeds)}, L2 {cfg.l2}, dropout {cfg.dropout}; "
        f"total {total:.0f} s")
    ctx.write_manifest()
    return f"done in {total:.0f} s; tables in {ctx.results_dir}, figures in {ctx.figures_dir}"


# --------------------------------------------------------------------------- leaderboard (notebook 80)
#: Settings of the two networks on the shared 4Q splits, per profile (the paper's own
#: ``Config`` of that profile, then these); ``units``: how many of the shared splits
#: they train on (None: all 100, the paper-scale run).
BOARD = {"smoke": dict(epochs=1, batch_size=8, patience=1, units=1, run_eagerly=True),
         "demo": dict(epochs=2, batch_size=16, patience=1, units=2),
         "full": dict(units=None)}


def quadrant_entries(profile: str, **overrides) -> list:
    """The CRNN and the parallel CNN-RNN with **4** softmax outputs (the paper has 3 classes)
    for the leaderboard: same front end (640 x 128), regularisation and optimiser as notebook
    40; early stopping on 15 % of each unit's training clips (the paper's "validation")."""
    from functools import partial

    from mer_utils.leaderboard import Entry

    values = {**BOARD[profile], **overrides}
    units = values.pop("units", None)
    eager = bool(values.pop("run_eagerly", False))
    cfg = Config.for_profile(profile, **values)
    out = []
    for m in MODELS:
        out.append(Entry(f"{m.name} (4 outputs)", PAPER, "convolutional-recurrent network",
                         make=partial(_board_network, cfg=cfg, model=m, eager=eager), units=units,
                         validation=0.15,
                         config={"paper": PAPER, "model": m.builder, "front_end": FRONT_END, "epochs": cfg.epochs,
                                 "batch_size": cfg.batch_size, "patience": cfg.patience,
                                 "learning_rate": cfg.learning_rate, **m.build_kwargs(cfg)},
                         note=f"{cfg.epochs} epoch(s) at most" + (f", first {units} split(s)" if units else "")))
    return out


def _board_network(ctx, clips, *, cfg: Config, model: Model, eager: bool = False):
    from functools import partial

    from mer_utils.leaderboard import LABELS, KerasMethod, align_rows
    from mer_utils.models.crnn import BUILDERS

    X, kept = extract_spectrograms(clips.df, FRONT_END, ctx=ctx, progress=False)
    X, missing = align_rows(clips, kept, X)
    if missing:
        ctx.manifest.notes.append(f"leaderboard {PAPER}: {missing} clip(s) unreadable, zeros used")
    build = partial(BUILDERS[model.builder], X.shape[1:], len(LABELS), **model.build_kwargs(cfg))
    return KerasMethod(X, build, epochs=cfg.epochs, batch_size=cfg.batch_size, patience=cfg.patience,
                       learning_rate=cfg.learning_rate, seed=ctx.seed, run_eagerly=eager)
