"""Javadi et al., *Beyond Happy or Sad: Music Emotion Recognition with Multi-Label
Classification*: the configuration of notebooks 02 and 10 (the paper's settings as
defaults, each with the paper's words; ``smoke`` / ``demo`` scale them down), the runs of
Tables 1-2 (:func:`plan`) and the cells compared with the paper."""
from __future__ import annotations

import dataclasses

from mer_utils.experiment import PaperConfig, setting
from mer_utils.results import PaperData

PAPER = "javadi"
NOTEBOOKS = ("02_label_clustering", "10_javadi_multilabel")


#: label sets in the order the paper's tables list them
LABEL_SET_ORDER = ("59", "10", "8", "5")


#: the four metrics of Tables 1-2 (F1 macro / micro, ROC-AUC, "Avg-precision" = macro AP)
METRICS = ("f1_macro", "f1_micro", "roc_auc_macro", "pr_auc_macro")


_FIVE_WHY = ("on the demo corpus the 5 tag clusters (k-means on the tags' word vectors) mix the "
             "quadrants its synthetic audio encodes: on the demo split even a logistic regression on "
             "the mean embedding reaches macro ROC-AUC 0.54; the {net} reached {auc} after {ep} epochs "
             "({sec} s measured on a loaded 2-core machine). It runs under full")
#: network rows the demo does not train ("full profile only"), with the reason and what was measured
DEMO_FULL_ONLY = (
    ("VGGish / CNN / 5", _FIVE_WHY.format(net="CNN", auc="0.50", ep=6, sec=16)),
    ("VGGish / Transformer / 5", _FIVE_WHY.format(net="Transformer", auc="0.55", ep=15, sec=32)),
    ("mel / Transformer / 59", "the mel ablation's Transformer stays below the demo's bar within 30 epochs "
                               "(macro ROC-AUC 0.598, early stopping at epoch 24, best 18; 42 s measured on "
                               "a loaded 2-core machine); its VGGish twin and the mel CNN learn. It runs under full"),
)


@dataclasses.dataclass(frozen=True)
class Config(PaperConfig):
    """Javadi et al.'s settings (defaults = the paper's where it gives them)."""

    # ---- data
    clip_seconds: float = setting(29.1, paper='"trimmed as 29.1s clips (the shortest signal in the dataset)"',
                                  note="every representation uses the first 29.1 s")
    max_tracks_per_split: int | None = setting(
        None, paper='"we use the split-0"', note="cap per split-0 part on real audio (None: all)")
    demo_val_size: float = setting(0.15, paper="— (split-0 is given)",
                                   note="demo corpus: artist-disjoint validation share")
    demo_test_size: float = setting(0.20, paper="— (split-0 is given)",
                                    note="demo corpus: artist-disjoint test share")
    # ---- label sets
    label_sets: tuple[str, ...] = setting(
        LABEL_SET_ORDER, paper='"we reduced the number of labels from 59 to 10, 8, and 5 label sets"')
    cluster_ks: tuple[int, ...] = setting(
        (5, 8, 10), paper='"glove transformer and KMeans algorithm to cluster the label into 5, 8, and 10"')
    kmeans_n_init: int = setting(20, paper="not given", note="seeded k-means++ restarts, best inertia wins")
    # ---- features
    handcrafted: str = setting("javadi477", paper='"the same approach as Brown C. et al." (4 + 4x11 + 3x13x11 = 477)',
                               note="Brown et al.'s published extraction script, step by step")
    embedding: str = setting("vggish", paper='"we employ VGGish to extract audio features"')
    embedding_fallback: str = setting(
        "musicnn_msd", paper="—", note="VGGish weights cannot be fetched offline: pretrained musicnn (MSD) at "
                                       "the same hop, recorded as a substitution")
    sequence_hop_seconds: float = setting(
        0.02, paper='"the final representations of VGG-ish are of size 1407 x 128"',
        note="VGGish examples every 2 frames (20 ms) over 29.1 s give exactly 1407")
    # ---- feature-vector classifiers
    lp_base: str = setting("rf", paper="LPS: a classifier per label combination (base not named)",
                           note="the RF, RAkEL's first-named base")
    rakel_bases: tuple[str, ...] = setting(("rf", "knn"), paper='"training separate RF or kNN classifiers"',
                                           note="both reported")
    rakel_labelset_size: int = setting(3, paper='"random label sets" (size not given)',
                                       note="scikit-multilearn's default")
    rf_trees: int = setting(100, paper="not given", note="scikit-learn's default")
    knn_neighbors: int = setting(5, paper="not given", note="scikit-learn's default")
    mlknn_k: int = setting(10, paper='"sensitive to the choice of k" (k not given)',
                           note="scikit-multilearn's default")
    # ---- networks
    deep_inputs: tuple[str, ...] = setting(("VGGish", "mel"), paper="CNN and Transformer rows under VGGish",
                                           note="mel spectrogram (128 x 1407): our ablation")
    deep_label_sets: tuple[str, ...] = setting(LABEL_SET_ORDER, paper="Table 2: 59, 10, 8, 5 labels")
    ablation_label_sets: tuple[str, ...] = setting(LABEL_SET_ORDER, paper="—",
                                                   note="label sets of the mel ablation")
    epochs: int = setting(100, paper='"the proposed CNN architecture with 100 epochs"',
                          note="demo: 30 with patience 6 (at 8 the CNNs were still improving at their last "
                               "epoch and sat at macro ROC-AUC 0.48-0.59)")
    batch_size: int = setting(16, paper='"a batch of features ... with shape (16, 1, 128, 1407)"')
    learning_rate: float = setting(1e-3, paper='"learning rate = 0.001 and adam optimizer"')
    patience: int | None = setting(10, paper="not given",
                                   note="early stopping on the validation loss, best weights restored")
    max_frames: int | None = setting(None, paper="1407 (the whole sequence)",
                                     note="smoke/demo: a central excerpt, to fit a 2-core CPU")
    frame_pool: int = setting(1, paper="1407 frames (20-ms hop)",
                              note="average every N consecutive frames before the networks (1: none). "
                                   "demo: 8 -> 175 frames covering all 29.1 s (VGGish's examples are "
                                   "0.96 s long: neighbours 20 ms apart are near copies), instead of a "
                                   "5-s central excerpt")
    full_only: tuple = setting((), paper="— (every row runs in the paper)",
                               note="(row, reason) pairs: network rows (Table 2 names) not trained under "
                                    "this profile, shown as 'full profile only' with the reason")
    cnn_filters: tuple[int, ...] = setting((16, 32, 64, 128), paper='"four convolutional blocks", pooled to "(16, 128)"',
                                           note="the first three are ours (doubling to 128)")
    cnn_kernel: int = setting(3, paper='"strides and kernels" (sizes not given)', note="ours")
    cnn_strides: int = setting(2, paper='"by applying strides and kernels we reduce the width and height"',
                               note="stride 2 in every block, no pooling layers")
    tf_patch: tuple[int, int] = setting((16, 16), paper='"the 2D array is divided to patches" (size not given)')
    tf_d_model: int = setting(64, paper="not given")
    tf_heads: int = setting(4, paper="not given")
    tf_layers: int = setting(2, paper="not given")
    tf_mlp: int = setting(128, paper="not given")
    # ---- evaluation
    threshold_rule: str = setting(
        "max F1 per label on validation",
        paper='"predict a threshold for each label specifically based on their maximized F1 score"',
        note="chosen on the validation split (the paper does not say on which data)")

    PROFILES = {
        "smoke": dict(epochs=1, batch_size=8, patience=1, max_frames=128, deep_label_sets=("59",),
                      deep_inputs=("VGGish",), ablation_label_sets=(), rf_trees=25),
        "demo": dict(epochs=30, patience=6, max_frames=None, frame_pool=8, deep_label_sets=("59", "5"),
                     ablation_label_sets=("59",), full_only=DEMO_FULL_ONLY),
        "full": {},
    }


#: settings that change the numbers of each kind of run (they go into its config hash)
_VECTOR_SETTINGS = ("lp_base", "rakel_labelset_size", "rf_trees", "knn_neighbors", "mlknn_k",
                    "threshold_rule")


_NETWORK_SETTINGS = ("epochs", "batch_size", "learning_rate", "patience", "max_frames", "frame_pool", "cnn_filters",
                     "cnn_kernel", "cnn_strides", "tf_patch", "tf_d_model", "tf_heads", "tf_layers",
                     "tf_mlp", "threshold_rule")


@dataclasses.dataclass(frozen=True)
class Run:
    """One experiment of the paper's tables: features (or network input) x classifier x labels."""

    features: str            # "477", "VGGish", "477+VGGish" (vectors) or "VGGish", "mel" (network inputs)
    classifier: str          # "lp", "rakeld-rf", "rakeld-knn", "mlknn", "cnn", "transformer"
    label_set: str
    kind: str                # "vector" | "network"

    @property
    def experiment(self) -> str:
        return f"javadi_{self.features.lower().replace('+', '-')}_{self.classifier}_{self.label_set}"

    @property
    def classifier_label(self) -> str:
        return _CLASSIFIER_LABELS[self.classifier]

    @property
    def row1(self) -> str:
        """Row name in Table 1 (the 59 tags)."""
        return f"{self.features} / {self.classifier_label}"

    @property
    def row2(self) -> str:
        """Row name in Table 2."""
        return f"{self.features} / {self.classifier_label} / {self.label_set}"


_CLASSIFIER_LABELS = {"lp": "Label Powerset", "rakeld-rf": "RAkEL-d (RF)", "rakeld-knn": "RAkEL-d (kNN)",
                      "rakeld-logreg": "RAkEL-d (LogReg)", "mlknn": "ML-kNN", "cnn": "CNN",
                      "transformer": "Transformer"}


def _vector_classifiers(cfg: Config) -> list[str]:
    return ["lp"] + [f"rakeld-{b}" for b in cfg.rakel_bases] + ["mlknn"]


def plan(cfg: Config) -> list[Run]:
    """Every run Tables 1-2 need: feature vectors x classifiers on 59 tags, VGGish x
    classifiers on the clusters, the networks on the VGGish sequence (and the mel ablation)."""
    runs = [Run(f, c, "59", "vector") for f in ("477", "VGGish", "477+VGGish") for c in _vector_classifiers(cfg)]
    runs += [Run("VGGish", c, s, "vector") for c in _vector_classifiers(cfg) for s in cfg.label_sets if s != "59"]
    for inp in cfg.deep_inputs:
        sets = cfg.deep_label_sets if inp == "VGGish" else cfg.ablation_label_sets
        runs += [Run(inp, net, s, "network") for net in ("cnn", "transformer") for s in LABEL_SET_ORDER
                 if s in sets and s in cfg.label_sets]
    skipped = full_only_rows(cfg)
    return [r for r in runs if r.kind != "network" or r.row2 not in skipped]


def full_only_rows(cfg: Config) -> dict[str, str]:
    """``{Table 2 row: reason}`` of the network rows ``cfg`` does not train (``full_only``)."""
    return {str(row): str(why) for row, why in cfg.full_only}


def _paper_cells() -> tuple[tuple[str, str, str], ...]:
    runs = plan(Config.for_profile("full"))
    cells = [("1", r.row1, m) for r in runs if r.label_set == "59" for m in METRICS]
    cells += [("2", r.row2, m) for r in runs if r.features in ("VGGish", "mel") for m in METRICS]
    cells += [("mediaeval", f"MediaEval baseline ({b})", m) for b in ("VGGish", "popular")
              for m in ("roc_auc_macro", "pr_auc_macro", "f1_macro", "f1_micro")]
    return tuple(dict.fromkeys(cells))


PAPER_CELLS: tuple[tuple[str, str, str], ...] = _paper_cells()
"""Every (table, row, metric) the notebooks compare (the ``full`` plan is the superset of
the others); ``tests/test_paper_values.py`` checks each has a transcribed value."""

MTG_SPLIT0 = PaperData(
    "MTG-Jamendo autotagging-moodtheme, split-0 (59 tags; train 9,949 / validation 3,802 / test 4,231 tracks)",
    recorded_as="models", marker="MTG-Jamendo audio, split-0", items=(17982,))
PAPER_DATA = {
    "1": MTG_SPLIT0, "2": MTG_SPLIT0,
    "mediaeval": PaperData("MTG-Jamendo split-0 test set (4,231 tracks, 56 tags): the published MediaEval "
                           "baseline predictions", recorded_as="MediaEval baselines", marker="mediaeval"),
}
"""The data each compared table was measured on (:class:`mer_utils.results.PaperData`): the
paper's 'autotagging-moodtheme subset ... we use the split-0 and 59 most frequent tags'."""
