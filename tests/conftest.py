"""Shared test set-up.

Outputs of the code under test (tables, figures, manifests) go to a temporary folder, never
into the repository's results/ and figures/. The derived cache (demo corpus, features) is
the project's data/cache/, shared with the notebooks so it is built once.
"""
import os
import tempfile
from pathlib import Path

import pytest

_OUT = Path(tempfile.mkdtemp(prefix="mer-tests-"))
os.environ.setdefault("MER_RESULTS", str(_OUT / "results"))
os.environ.setdefault("MER_FIGURES", str(_OUT / "figures"))
os.environ.setdefault("MPLBACKEND", "Agg")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

REPO = Path(__file__).resolve().parents[1]
# beside the repository on development machines; MER_SHARED_DATA points elsewhere (e.g. from
# a git worktree)
SHARED_DATA = Path(os.environ.get("MER_SHARED_DATA", REPO / ".." / "shared" / "data")).resolve()
FOURQ_DEV = SHARED_DATA / "4q-dev"
JAMENDO = SHARED_DATA / "mtg-jamendo"


def require(path: Path) -> Path:
    """Skip the calling test, with the reason, when a real data folder is absent."""
    if not path.exists():
        pytest.skip(f"real data not present at {path} (it sits beside the repository on "
                    f"development machines only; a fresh clone has none)")
    return path


@pytest.fixture
def fourq_dev() -> Path:
    return require(FOURQ_DEV)


@pytest.fixture
def jamendo_root() -> Path:
    return require(JAMENDO)


@pytest.fixture(scope="session")
def out_dir() -> Path:
    return _OUT


def write_tone(path: Path, seconds: float = 1.0, sr: int = 8000, freq: float = 440.0) -> Path:
    """A short sine tone as a WAV file (fixtures of publisher layouts)."""
    import numpy as np
    import soundfile as sf

    path.parent.mkdir(parents=True, exist_ok=True)
    t = np.arange(int(seconds * sr)) / sr
    sf.write(path, 0.3 * np.sin(2 * np.pi * freq * t), sr)
    return path


@pytest.fixture
def pmemo_root(tmp_path) -> Path:
    """PMEmo 2019 layout; ids 1-4 (they collide with the DEAM fixture's on purpose)."""
    import pandas as pd

    root = tmp_path / "pmemo"
    pm = root / "PMEmo2019"
    (pm / "annotations").mkdir(parents=True)
    pd.DataFrame({"musicId": [1, 2, 3, 4], "Arousal(mean)": [0.8, 0.7, 0.2, 0.3],
                  "Valence(mean)": [0.9, 0.2, 0.1, 0.8]}).to_csv(
        pm / "annotations" / "static_annotations.csv", index=False)
    for i in (1, 2, 3, 4):
        write_tone(pm / "chorus" / f"{i}.wav", 1.0, freq=300 + 50 * i)
    return root


@pytest.fixture
def deam_root(tmp_path) -> Path:
    """Emotion in Music (DEAM 2013 layout); ids 2-5 (2-4 collide with PMEmo's)."""
    import pandas as pd

    root = tmp_path / "eim"
    (root / "annotations").mkdir(parents=True)
    pd.DataFrame({"song_id": [2, 3, 4, 5], "mean_arousal": [7.0, 6.5, 2.0, 3.0],
                  "std_arousal": [1, 1, 1, 1], "mean_valence": [7.0, 2.0, 2.5, 7.5],
                  "std_valence": [1, 1, 1, 1]}).to_csv(root / "annotations" / "static_annotations.csv",
                                                       index=False)
    for i in (2, 3, 4, 5):
        write_tone(root / "clips_45seconds" / f"{i}.wav", 1.0, freq=600 + 50 * i)
    return root


# --------------------------------------------------------------------------- second Keras backend
# The model and training tests run twice in one `pytest` run: here, under the default backend
# (TensorFlow), and again in a subprocess under a second backend (tests/test_backends.py runs
# every test marked `backend` with KERAS_BACKEND=torch). A new model test joins by
# `@pytest.mark.backend` (or `pytestmark = pytest.mark.backend` for a whole module); these
# modules join as a whole:
BACKEND_MODULES = ("test_models_crnn", "test_training_engine", "test_models_vggish_sequence")


def pytest_collection_modifyitems(config, items):
    for item in items:
        if getattr(item, "path", None) is not None and item.path.stem in BACKEND_MODULES:
            item.add_marker(pytest.mark.backend)


def pytest_sessionstart(session):
    """In the second-backend subprocess, make sure Keras really runs on the backend asked for
    (a keras.json or an earlier import could otherwise win silently)."""
    want = os.environ.get("MER_EXPECT_KERAS_BACKEND")
    if want:
        import keras

        got = keras.backend.backend()
        if got != want:
            raise pytest.UsageError(f"Keras runs on {got!r}, not {want!r} as KERAS_BACKEND asks")
