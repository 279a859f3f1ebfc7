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
SHARED_DATA = (REPO / ".." / "shared" / "data").resolve()
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
