"""Cazzaniga et al.'s settings: :class:`Config` (the paper's values as defaults, each with
the paper's words) and :data:`PROFILES` (what ``smoke`` / ``demo`` scale), the constants of
the paper (sources, classes and their names) and :func:`scalings` (what a caption says)."""
from __future__ import annotations

import dataclasses

import pandas as pd

from mer_utils import labels as L
from mer_utils.experiment import PaperConfig, setting

PAPER = "cazzaniga"
NOTEBOOK = "20_cazzaniga_multisource"
NOTEBOOKS = (NOTEBOOK,)
SOURCES = ("4q", "pmemo", "deam", "bimodal")
SOURCE_TITLES = {"4q": "4Q", "pmemo": "PMEmo", "deam": "Emotion in Music", "bimodal": "Bi-Modal"}
CLASSES = tuple(L.QUADRANTS)                       # Q1..Q4, class index order
CLASS_NAMES = dict(L.QUADRANT_NAMES)               # Q1 -> "A+V+" (the paper's names)
#: rows a profile may leave to ``full`` (:attr:`Config.full_only`): the head-reading ablation
FULL_ONLY_ROWS = ("head_ablation",)
#: why ``demo`` leaves the head ablation to ``full`` (measured: notebook 20 under demo, a fresh
#: results folder, 2 CPU cores shared with other work, TensorFlow)
DEMO_ABLATION = ("measured under demo: the Flatten reading learns (mean macro-F1 0.44 over 3 folds, no "
                 "single-class fold) but costs 198 s more (3 folds of the same EfficientNetB0, its first epoch "
                 "tracing a second network, ~31 s), over the demo's ~90 s budget; it runs under smoke and full")


@dataclasses.dataclass(frozen=True)
class Config(PaperConfig):
    """The paper's settings (defaults) and their scaling per profile."""

    sources: tuple = setting(SOURCES, paper="4Q, PMEmo, Emotion in Music, Bi-Modal (Sec. 3)",
                             note="the real sets found under the data root; none: the demo corpus's "
                                  "four mimicked sources")
    require_all_sources: bool = setting(False, paper="all four sets",
                                        note="False: run on the real sets present (e.g. 4Q alone) and "
                                             "say so; True: a missing set is an error")
    crop_seconds: float = setting(24.0, paper='"Audio clips lasting 24 s"; "the central part"; '
                                              '"Songs lasting less than 24 s are removed"')
    sample_rate: int = setting(22050, paper='"downsampled to 22050 Hz"; "An anti-aliasing filter"',
                               note="soxr HQ, a band-limited resampler; no volume normalisation")
    balanced_sources: tuple = setting(("pmemo", "deam"),
                                      paper='"all the 4Q and Bi-Modal ... and 232 PMEmo and 346 '
                                            'Emotion in Music"',
                                      note="these sources keep their extreme-corner songs; the others "
                                           "are kept whole")
    balance_totals: tuple = setting((("pmemo", 232), ("deam", 346)),
                                    paper="232 PMEmo, 346 Emotion in Music (Sec. 4.1)",
                                    note="songs kept per balanced source, spread evenly over quadrants; "
                                         "() or a source not listed: as many per quadrant as its "
                                         "smallest quadrant has")
    corner_rule: str = setting("min_axis", paper='"as far as possible from the origin and axes"',
                               note="min(|v|, |a|) on the source's scale mapped to [-1, 1]; ties: "
                                    "distance to the origin, then id (datasets.balance)")
    db_reference: str = setting("source_all",
                                paper='"the maximum value among the spectrograms of each dataset"',
                                note="source_all: max over all of a source's songs, test songs "
                                     "included (the paper's); train_only: over each fold's training songs")
    top_db: float = setting(80.0, paper="not given",
                            note="image range: dB re the source maximum clipped to [-80, 0] "
                                 "(librosa's default dynamic range)")
    colormap: str = setting("magma", paper="300x300x3 images; colouring not given",
                            note="a perceptual matplotlib colormap gives the 3 channels")
    image_size: int = setting(300, paper='"an image size of 300x300x3 pixels"')
    test_size: float = setting(0.10, paper='"train (90%) and test (10%)", "balancing the data in '
                                           'terms of class and dataset"')
    genre_balance: bool = setting(True, paper='"a balancing in terms of genre ... for Emotion in Music"',
                                  note="where Emotion in Music rows carry a genre")
    folds: int = setting(5, paper='"stratified k-fold cross-validation approach (with k = 5)"')
    backbone: str = setting("EfficientNetB3", paper="EfficientNetB3 (Sec. 4.2)")
    weights: str = setting("imagenet", paper='"pre-trained using ImageNet"',
                           note="unavailable offline: random initialisation, recorded in the manifest "
                                "and every caption; 'none' asks for random initialisation")
    pooling: str = setting("none", paper='"Flatten Layer: flattens the output from ... the last layer '
                                         'of EfficientNetB3"',
                           note="'none': the un-pooled feature map is flattened; 'avg'/'max' pool first")
    head_ablation: bool = setting(True, paper="— (our ablation; the paper runs one head)",
                                  note="also train the other reading of 'Flatten ... the last layer of "
                                       "EfficientNetB3' on the same folds: global average pooling before "
                                       "the dense head when pooling is 'none', the un-pooled Flatten when a "
                                       "profile pools (demo)")
    full_only: tuple = setting((), paper="— (the paper trains its one network)",
                               note="(row, reason) pairs: rows not trained under this profile (the tables "
                                    "and the learning table list them as 'full profile only' with the "
                                    "reason); they run under smoke and full")
    bn_momentum: float = setting(0.99, paper="not given (Keras's BatchNormalization default, 0.99)",
                                 note="momentum of the backbone's batch-normalisation moving averages, "
                                      "which inference uses; from random initialisation a few dozen "
                                      "steps at 0.99 leave them near their initial (0, 1): every test "
                                      "image then gets one class (measured under demo: F1 0.10)")
    head_units: tuple = setting((512, 128, 64), paper="Dense 512, 128, 64 (ReLU), then 4 softmax")
    head_dropouts: tuple = setting((0.5, 0.3, 0.1), paper="Dropout 0.5, 0.3, 0.1")
    learning_rate: float = setting(1e-5, paper='"Adam ... learning rate equal to 10^-5"')
    random_init_learning_rate: float = setting(0.0, paper="-",
                                               note="learning rate when the backbone starts from random "
                                                    "initialisation; 0: learning_rate")
    epochs: int = setting(50, paper='"Epochs: 50"')
    patience: int = setting(5, paper='EarlyStopping "if the validation loss fails to decrease, '
                                     'restoring the model to its best weights"; patience not given',
                            note="5 epochs (Keras's default, 0, would stop at the first epoch without "
                                 "improvement)")
    stop_monitor: str = setting("val_loss", paper='EarlyStopping "if the validation loss fails to decrease"',
                                note="val_accuracy: the epoch with the best validation accuracy is kept (under "
                                     "demo the validation loss of a network from random initialisation "
                                     "bottoms out in the first epochs, while its accuracy still rises)")
    batch_size: int = setting(32, paper="not given", note="Keras's fit() default")
    run_eagerly: bool = setting(False, paper="-",
                                note="True skips tracing the training step (~30 s CPU for EfficientNetB0), "
                                     "cheaper than a graph for the few steps of a smoke run; ignored under "
                                     "JAX, whose eager mode is slower still (training.execution_kwargs)")

    PROFILES = {
        # CI: the smallest EfficientNet on 32-px images, one epoch, two folds, no download.
        "smoke": dict(backbone="EfficientNetB0", weights="none", image_size=32, epochs=1, folds=2,
                      patience=1, batch_size=16, balance_totals=(), random_init_learning_rate=1e-3,
                      run_eagerly=True),
        # A 2-core laptop within ~3 minutes: small images, a narrower backbone, three folds with
        # enough epochs, a pooled head and batch-normalisation statistics that follow the
        # batches (a network from random initialisation; see bn_momentum).
        "demo": dict(backbone="EfficientNetB0", image_size=64, folds=3, epochs=15, patience=5, batch_size=16,
                     balance_totals=(), random_init_learning_rate=1e-3, pooling="avg", head_units=(64,),
                     head_dropouts=(0.3,), bn_momentum=0.5, stop_monitor="val_accuracy",
                     full_only=(("head_ablation", DEMO_ABLATION),)),
        "full": {},
    }

    def totals(self) -> dict[str, int]:
        return {str(k): int(v) for k, v in self.balance_totals}

    def __post_init__(self):
        if self.db_reference not in ("source_all", "train_only"):
            raise ValueError(f"db_reference must be 'source_all' or 'train_only', not {self.db_reference!r}")
        if self.pooling not in ("none", "avg", "max"):
            raise ValueError(f"pooling must be 'none', 'avg' or 'max', not {self.pooling!r}")
        if not 0 < self.test_size < 1:
            raise ValueError("test_size must be a fraction in (0, 1)")
        if not 0.0 <= self.bn_momentum < 1.0:
            raise ValueError(f"bn_momentum must be in [0, 1), not {self.bn_momentum!r}")
        if self.stop_monitor not in ("val_loss", "val_accuracy"):
            raise ValueError(f"stop_monitor must be 'val_loss' or 'val_accuracy', not {self.stop_monitor!r}")
        if self.folds < 2:
            raise ValueError("folds must be >= 2")
        unknown = sorted(set(dict(self.full_only)) - set(FULL_ONLY_ROWS))
        if unknown:
            raise ValueError(f"full_only names unknown row(s) {unknown}; known: {FULL_ONLY_ROWS}")

    def trains(self, row: str) -> bool:
        """Whether ``row`` (one of :data:`FULL_ONLY_ROWS`) is trained under this profile."""
        return row not in dict(self.full_only)


def scalings(cfg: Config) -> pd.DataFrame:
    """Settings whose value differs from the paper's (the defaults): what a caption must say."""
    paper = Config()
    rows = []
    for f in dataclasses.fields(cfg):
        if f.name == "profile":
            continue
        ours, theirs = getattr(cfg, f.name), getattr(paper, f.name)
        if ours != theirs:
            rows.append({"setting": f.name, "value": ours, "paper": theirs})
    return pd.DataFrame(rows, columns=["setting", "value", "paper"])


PROFILES = Config.PROFILES
