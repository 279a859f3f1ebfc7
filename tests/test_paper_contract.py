"""Every paper sub-package against one contract (as mirdata's tests/test_loaders.py checks
every loader): the same files, the same members, a configuration per profile, a fidelity
table whose every point says what kind it is, compared paper cells that are transcribed,
leaderboard entries, and no training or scoring of its own."""
from __future__ import annotations

import ast
import re
import dataclasses
import importlib
from pathlib import Path

import pytest

from mer_utils.experiment import FIDELITY_STATUSES, Fidelity, PaperConfig
from mer_utils.papers import MODULES, PAPERS
from mer_utils.results import PaperData, measured_on, missing_paper_values, paper_values

ROOT = Path(__file__).resolve().parents[1]
PKG = ROOT / "mer_utils" / "papers"


@pytest.fixture(params=PAPERS)
def paper(request):
    return request.param


def test_same_files(paper):
    files = {p.stem for p in (PKG / paper).glob("*.py")}
    assert (PKG / paper).is_dir(), f"mer_utils/papers/{paper}/ must be a sub-package"
    missing = set(MODULES) - files
    assert not missing, f"{paper}: missing {sorted(missing)}"


def test_contract_members(paper):
    mod = importlib.import_module(f"mer_utils.papers.{paper}")
    assert mod.PAPER == paper
    assert mod.NOTEBOOKS and all((ROOT / "notebooks" / f"{nb}.ipynb").exists() for nb in mod.NOTEBOOKS)
    assert issubclass(mod.Config, PaperConfig) and dataclasses.is_dataclass(mod.Config)
    assert set(mod.PROFILES) == {"smoke", "demo", "full"} and mod.PROFILES is mod.Config.PROFILES
    for profile in mod.PROFILES:
        cfg = mod.Config.for_profile(profile)
        assert cfg.profile == profile
        assert len(cfg.table()) > 0
    with pytest.raises(TypeError, match="no setting"):
        mod.Config.for_profile("smoke", no_such_setting=1)
    assert set(mod.BOARD) == {"smoke", "demo", "full"}
    assert callable(mod.quadrant_entries)


def test_fidelity_points_say_their_kind(paper):
    mod = importlib.import_module(f"mer_utils.papers.{paper}")
    assert len(mod.FIDELITY) >= 3
    for p in mod.FIDELITY:
        assert isinstance(p, Fidelity)
        assert p.status in FIDELITY_STATUSES
        assert p.paper and p.ours, p
        if p.status != "same":
            assert p.reason, p


#: Words by which a point admits the paper does not say it (or that the choice is ours).
SILENCE = re.compile(r"\bnot (given|said|stated|named|specified)\b|\b(is|are) ours\b|\bour choice\b|"
                     r"\bdoes not say\b|\bnot in the paper\b", re.IGNORECASE)


def test_no_point_says_same_where_the_paper_is_silent(paper):
    """A point is 'same' only where the paper says what we do: not when the paper's column is
    empty ('—', 'not given', 'not said') nor when its own reason admits a silence ('not
    given', 'our choice', 'kernel size ... are ours'); such a point is 'paper silent' (or
    split into the part the paper says and the part it does not)."""
    mod = importlib.import_module(f"mer_utils.papers.{paper}")
    wrong = []
    for p in mod.FIDELITY:
        if p.status != "same":
            continue
        if p.paper.strip().lower() in ("—", "-", "not given", "not said", "not stated") or SILENCE.search(p.paper):
            wrong.append((p.point, "paper column is a silence"))
        if SILENCE.search(p.reason or ""):
            wrong.append((p.point, f"reason admits a silence: {p.reason!r}"))
    assert not wrong, f"{paper}: 'same' where the paper is silent: {wrong}"


def test_compared_cells_are_transcribed(paper):
    mod = importlib.import_module(f"mer_utils.papers.{paper}")
    cells = tuple(mod.PAPER_CELLS)
    assert cells and all(len(c) == 3 for c in cells)
    assert not missing_paper_values(paper, cells)


def test_every_compared_table_declares_its_data(paper):
    """Every compared cell (and every reported number) has the data the paper measured it on
    declared (``PAPER_DATA``): the scorecard never calls a cell on other data "within
    tolerance"; the index hands the declarations to the scorecard."""
    from mer_utils.papers import paper_data

    mod = importlib.import_module(f"mer_utils.papers.{paper}")
    assert paper_data()[paper] is mod.PAPER_DATA
    cells = set(mod.PAPER_CELLS) | {tuple(map(str, c)) for c in
                                    paper_values(paper)[["table", "row", "metric"]].itertuples(index=False)}
    undeclared = sorted({(t, r) for t, r, _ in cells if measured_on(mod.PAPER_DATA, t, r) is None})
    assert not undeclared, f"{paper}: no data declared for {undeclared[:5]}"
    for value in mod.PAPER_DATA.values():
        assert isinstance(value, PaperData) and value.name
        assert value.settings or not value.recorded_as or value.marker, value   # a set is recognised by name


def _calls_and_imports(path: Path):
    tree = ast.parse(path.read_text())
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
            yield "call", node.func.attr, node
        elif isinstance(node, ast.ImportFrom) and node.module:
            yield "import", node.module, node


def test_papers_say_what_not_how(paper):
    """No paper trains or scores by itself: no Keras ``fit``/``compile``/``train_on_batch``
    (networks go through mer_utils.training.Trainer), no sklearn.metrics (scores come from
    mer_utils.evaluation), no other paper imported."""
    others = [p for p in PAPERS if p != paper]
    problems = []
    for f in sorted((PKG / paper).glob("*.py")):
        for kind, name, node in _calls_and_imports(f):
            where = f"{f.relative_to(ROOT)}:{node.lineno}"
            if kind == "call" and name in ("compile", "train_on_batch") :
                problems.append(f"{where}: .{name}() (use mer_utils.training.Trainer)")
            if kind == "import" and name.startswith("sklearn.metrics"):
                problems.append(f"{where}: imports {name} (use mer_utils.evaluation.metrics)")
            if kind == "import" and any(name == f"mer_utils.papers.{o}" or name.startswith(f"mer_utils.papers.{o}.")
                                        for o in others):
                problems.append(f"{where}: imports another paper ({name})")
            if kind == "import" and name in ("mer_utils.training.core", "mer_utils.training.callbacks",
                                             "mer_utils.training.schedules"):
                problems.append(f"{where}: imports a retired fit path ({name})")
    assert not problems, "\n".join(problems)


def test_keras_fit_only_in_training():
    """``model.fit`` / ``.compile`` on a Keras model is called in mer_utils/training/ only.
    (scikit-learn estimators' ``.fit`` is not a Keras fit: only calls on names that hold a
    model are flagged, i.e. ``model.fit``, ``ae.fit``, ``self.model.fit``, ``*.compile``.)"""
    problems = []
    for f in sorted((ROOT / "mer_utils").rglob("*.py")):
        rel = f.relative_to(ROOT / "mer_utils")
        if rel.parts[0] == "training":
            continue
        for kind, name, node in _calls_and_imports(f):
            if kind != "call":
                continue
            target = ast.unparse(node.func.value)
            if name == "compile" and target not in ("re",):
                problems.append(f"{rel}:{node.lineno}: {target}.compile()")
            if name in ("fit", "train_on_batch") and (target.endswith("model") or target in ("ae", "cnn", "dnn")):
                problems.append(f"{rel}:{node.lineno}: {target}.{name}()")
    assert not problems, "\n".join(problems)
