"""Louro et al.'s settings per profile (:class:`Config`) and the paper's constants.

``full`` is the paper (10 x 10 units for every row, Table 1 epochs, 942-frame input);
``demo`` keeps the SVM rows at 10 x 10 and runs the DL rows on the first units of the same
splits, with capped epochs and a shorter input (stated in every caption); ``smoke`` is a
plumbing check.
"""
from __future__ import annotations

import dataclasses
from typing import Any, ClassVar

from mer_utils.experiment import PaperConfig, setting
from mer_utils.results import SETTINGS, PaperData

PAPER = "louro"
LABELS = ("Q1", "Q2", "Q3", "Q4")
COLUMNS = ("Original-4QAED", "New-4QAED C", "New-4QAED B")
"""Table 3's three data-set columns (and Table 2's rows). A run stands beside the one whose
quadrant counts (Table 2) its clips match exactly; else beside none ("different data"):
:func:`.pipeline.paper_column`."""
DATASET = COLUMNS[0]                # the paper's first data set: the demo corpus stands in for it
COLUMN_SOURCE = "louro Table 3 column"
"""The manifest key under which notebook 50 records which column its clips are
(:attr:`.pipeline.PaperColumn.record`): the scorecard compares a cell only on its column's data."""
ORIGINAL_4QAED = PaperData("Original-4QAED (4Q: 900 clips, 225 per quadrant)", recorded_as=COLUMN_SOURCE,
                           marker="Original-4QAED (real)", items=(900,))
NEW_4QAED_C = PaperData("New-4QAED C (1629 clips: 434 / 440 / 397 / 358 per quadrant)", recorded_as=COLUMN_SOURCE,
                        marker="New-4QAED C (real)", items=(1629,))
NEW_4QAED_B = PaperData("New-4QAED B (1372 clips, 343 per quadrant)", recorded_as=COLUMN_SOURCE,
                        marker="New-4QAED B (real)", items=(1372,))
PAPER_DATA = {
    "1": SETTINGS,                                   # input sizes and hyperparameters
    ("2", "Original-4QAED"): ORIGINAL_4QAED,
    ("2", "New-4QAED C"): NEW_4QAED_C,
    ("2", "New-4QAED B"): NEW_4QAED_B,
    "3/Original-4QAED": ORIGINAL_4QAED,
    "3/New-4QAED C": NEW_4QAED_C,
    "3/New-4QAED B": NEW_4QAED_B,
}
"""The data each compared table was measured on (:class:`mer_utils.results.PaperData`)."""
SR = 16000
CHUNK_SAMPLES = 59049               # 3^10 samples: SampleCNN input and ShortChunk chunk


@dataclasses.dataclass(frozen=True)
class Config(PaperConfig):
    # protocol
    folds: int = setting(10, paper="'10-fold and 10-repetition stratified cross-validation' (Sec. 5)")
    repeats: int = setting(10, paper="10 repetitions: 100 train-test splits (Sec. 5)")
    split_seed: int = setting(0, paper="not given", note="seed of the saved splits")
    dl_units: int | None = setting(None, paper="all 100 splits for every method",
                                   note="DL rows run on the first N units of the shared splits (None: all)")
    part2_units: int | None = setting(None, paper="all 100 splits for every method",
                                      note="part-2 rows (augmentation, DeepSMOTE, embeddings, transfer) run on "
                                           "the first N units (None: as the DL rows)")
    # DL training
    max_epochs: int | None = setting(None, paper="Table 1 epochs per row (200 / 100 / 150)",
                                     note="cap on every DL row's Table 1 epochs (None: the paper's)")
    optimizer: str | None = setting(None, paper="Table 1: SGD for every row but Artists CNN (Adam)",
                                    note="replaces every DL row's Table 1 optimizer (None: the paper's)",
                                    choices=("sgd", "adam"))
    learning_rate: float | None = setting(None, paper="Table 1 per row (1e-2 / 1e-3)",
                                          note="replaces every DL row's Table 1 learning rate (None: the paper's)")
    batch_size: int | None = setting(None, paper="Table 1 per row (150 / 50 / 300 / 100)",
                                     note="replaces every DL row's Table 1 batch (None: the paper's)", minimum=1)
    epochs_by_row: tuple = setting((), paper="Table 1 epochs per row",
                                   note="(row, epochs) pairs: a row's epochs under this profile, in place of "
                                        "max_epochs ('hybrid_cnn': the Hybrid's CNN branch); e.g. rows that see "
                                        "k copies of each clip get 1/k of the epochs (the same number of updates), "
                                        "the cheap transfer head trained long enough under smoke to show it learns")
    full_only: tuple = setting((), paper="— (every row runs in the paper)",
                               note="(row, reason) pairs: rows not trained under this profile, shown as "
                                    "'full profile only' with the reason (they still run under smoke)")
    stop_train_accuracy: float = setting(0.9, paper="'halting training when the training set accuracy "
                                                    "reached [...] 90%' (Sec. 3.1)")
    input_frames: int = setting(942, paper="mel 942 x 128 (~30 s), 16 kHz, librosa defaults (Table 1)",
                                note="first N frames of the 942 kept under demo/smoke")
    train_chunks_per_clip: int | None = setting(None, paper="all ~3.5-s segments of each clip (Sec. 3.4)",
                                                note="chunks per training clip for ShortChunk/SampleCNN (None: all, 8 per 30 s)")
    test_chunks_per_clip: int | None = setting(None, paper="all segments of a test clip combined",
                                               note="chunks per test clip (None: all)")
    chunk_decision: str = setting("mean", paper="predictions of a sample's segments 'combined' (many-to-one)",
                                  note="mean probability (Won et al. average chunk outputs); 'vote' = majority")
    micro_batch: int | None = setting(None, paper="— (Table 1 batch sizes on a 16-GB GPU)",
                                      note="at most this many samples per forward pass; the Table 1 batch is kept "
                                           "by accumulating gradients (memory cap for 2-core runs)")
    execution: str = setting("xla", paper="— (TensorFlow)",
                             note="'xla' (Keras jit_compile='auto'), 'graph' (no XLA) or 'eager': for a few "
                                  "epochs on a CPU, compiling costs more than it saves (not under JAX: "
                                  "always 'xla' there, training.execution_kwargs)")
    gru_units: int = setting(32, paper="'two Gated Recurrent Units' (size not given)",
                             note="Choi et al. 2017's CRNN size; the GRUs run over the conv map's time axis")
    # classical rows
    svm_C: tuple = setting((0.1, 1.0, 10.0, 100.0), paper="SVM 'fine-tuned' per data set (grid not given)",
                           note="RBF SVM grid, chosen by inner 5-fold CV on each training fold")
    svm_gamma: tuple = setting((0.001, 0.01, 0.1), paper="not given", note="RBF gamma grid")
    inner_folds: int = setting(5, paper="not given (tuned on the full data in the released code)",
                               note="inner stratified folds of the nested grid search")
    select_k: int = setting(100, paper="top 100 features 'ranked using a feature selection algorithm' "
                                       "(Panda et al.: ReliefF, on all 900 songs)",
                            note="in-fold variant: ANOVA-F top k inside each training fold (no ReliefF in scikit-learn)")
    full_features_file: str = setting("", paper="the 1714-feature release of 4QAED",
                                      note="path of that CSV (SongID, features, Quadrant); '' = search beside the 4Q data")
    new_4qaed_subset: str = setting("auto", paper="New-4QAED C (complete) and B (balanced subset), Table 2",
                                    note="which subset of an expanded 4Q set under the data root is read: 'auto' "
                                         "(the only one, or C when both label tables are there)",
                                    choices=("auto", "complete", "balanced"))
    demo_sources: tuple = setting(("4q", "pmemo", "deam", "bimodal"), paper="4QAED: 30-s clips",
                                  note="demo corpus only: its four mimicked sources pooled as one 4-quadrant set "
                                       "(240 clips under demo); the 4Q-like source alone (60 clips) leaves 6 test "
                                       "clips per 10-fold unit, too few to tell a network that learned from one "
                                       "that did not")
    # part 2: augmentation, DeepSMOTE, embeddings, transfer
    aug_seed: int = setting(0, paper="not given",
                            note="seed of the audiomentations copies (one copy per training clip, cached)")
    ae_epochs: int = setting(100, paper="not given (released code: 100 epochs, batch 150, Adam 2e-4)",
                             note="autoencoder epochs per unit (fitted on the unit's training clips)")
    ae_batch: int = setting(150, paper="not given (released code: 150)", note="autoencoder batch size")
    ae_lr: float = setting(2e-4, paper="not given (released code: Adam 2e-4)", note="autoencoder learning rate")
    smote_per_class: float = setting(1.0, paper="Borderline_SMOTE2, number generated not given",
                                     note="synthetic samples per class = this x the class's training count")
    rf_trees: int = setting(100, paper="scikit-learn RF 'default parameters'",
                            note="RandomForestClassifier n_estimators (scikit-learn's default: 100)")
    transfer_patches_per_clip: int | None = setting(None, paper="— (CRNN MTAT reads the whole 30-s clip)",
                                                    note="3-s patches per training clip for the musicnn MTT "
                                                         "stand-in (None: all ten)")
    transfer_train: str = setting("all", paper="pre-trained CRNN 'fine-tuned' with a new output layer (Sec. 3.7)",
                                  note="'all': every layer fine-tuned; 'head': the pre-trained body frozen, only the "
                                       "new 4-quadrant head trained (the body's vectors computed once per patch)")
    crnn_mtat_weights: str = setting("", paper="Won et al.'s CRNN trained on MTAT (best_model.pth)",
                                     note="path of that file; '' = <MER_CACHE>/weights/won_crnn_mtat/best_model.pth")
    artists_weights: str = setting("", paper="Park et al.'s released Keras weights",
                                   note="path of the .h5; '' = <MER_CACHE>/weights/artists_cnn/weights.h5")

    PROFILES: ClassVar[dict[str, dict[str, Any]]] = {
        "smoke": dict(folds=2, repeats=2, dl_units=1, max_epochs=1, input_frames=96,
                      train_chunks_per_clip=1, test_chunks_per_clip=1, svm_C=(1.0, 10.0),
                      svm_gamma=(0.01,), inner_folds=2, micro_batch=5, execution="eager",
                      ae_epochs=1, ae_batch=16, rf_trees=20, transfer_patches_per_clip=3, transfer_train="head",
                      epochs_by_row=(("crnn_mtat", 30),)),
        "demo": dict(dl_units=2, max_epochs=20, optimizer="adam", learning_rate=1e-3, batch_size=16,
                     epochs_by_row=(("baseline_tfm", 10), ("baseline_sb", 10), ("baseline_rg", 10),
                                    ("baseline_deepsmote", 14), ("hybrid_cnn", 4)),
                     input_frames=128, train_chunks_per_clip=1,
                     test_chunks_per_clip=2, svm_C=(1.0, 10.0, 100.0), svm_gamma=(0.001, 0.01),
                     inner_folds=3, execution="graph",
                     ae_epochs=12, ae_batch=16, smote_per_class=0.5, part2_units=2, transfer_patches_per_clip=2,
                     transfer_train="head",
                     full_only=(
                         ("crnn", "Won's CRNN convolves the full-resolution mel with 64-128 channels: about 15 s "
                                  "per epoch on 216 4-s clips on 2 cores (225 s for 15 epochs of one unit), and at "
                                  "that budget it answered one quadrant for every test clip; it runs under smoke "
                                  "(plumbing) and full"),
                         ("shortchunk", "3.7 M parameters (128-512 channels on every 2 x 2 level): several times "
                                        "the CRNN's cost per epoch on 2 cores; it runs under smoke (plumbing) and full"),
                         ("samplecnn", "1.9 M parameters on 59,049 raw samples per chunk: the paper's 150 epochs "
                                       "are out of a laptop's reach and a few epochs learn nothing; it runs under "
                                       "smoke (plumbing) and full"))),
        "full": {},
    }

    def row_optimizer(self, row) -> str:
        """A DL row's optimizer under this profile: Table 1's unless ``optimizer`` replaces it."""
        return self.optimizer or row.optimizer

    def row_learning_rate(self, row) -> float | None:
        """Table 1's rate unless ``learning_rate`` replaces it; None for a row trained under an
        optimizer schedule (CRNN MTAT: the schedule's rates are the paper's)."""
        if row.learning_rate is None:
            return None
        return self.learning_rate if self.learning_rate is not None else row.learning_rate

    def row_batch_size(self, row) -> int:
        return int(self.batch_size or row.batch_size)

    def epochs(self, row) -> int:
        """A DL row's epochs under this profile: Table 1's, capped by ``max_epochs``."""
        own = dict(self.epochs_by_row).get(row.key)
        if own is not None:
            return int(own)
        return int(row.epochs if self.max_epochs is None else min(row.epochs, self.max_epochs))
