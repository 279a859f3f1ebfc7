"""One sub-package per paper, every one in the same shape (the contract that
``tests/test_paper_contract.py`` checks for each paper, as mirdata checks every loader):

    papers/<paper>/
      __init__.py   the contract: PAPER, NOTEBOOKS, Config, PROFILES, FIDELITY, PAPER_CELLS,
                    PAPER_DATA (the data each compared table was measured on), BOARD and
                    quadrant_entries (its leaderboard entries); nothing else
      config.py     Config (a PaperConfig: the paper's values as defaults, each setting with
                    the paper's words) and PROFILES (what smoke / demo change); constants
      pipeline.py   data, splits (through mer_utils.evaluation's protocols), what to fit:
                    builders and Recipes handed to mer_utils.training's Trainer, units run
                    through mer_utils.experiment.run_protocol into the results store
      tables.py     the paper's tables, built from stored predictions with
                    mer_utils.evaluation's metrics, the paper's values beside ours
      figures.py    the paper's figures (and learning curves from the engine's history)
      fidelity.py   FIDELITY: every point where the code follows the paper, where the paper
                    is silent (our choice and why) or where we depart (why)
      board.py      BOARD (leaderboard settings per profile) and quadrant_entries(profile)

    javadi      Javadi et al.     (notebooks 02, 10)
    cazzaniga   Cazzaniga et al.  (notebook 20)
    sun         Sun et al.        (notebook 30)
    velankar    Velankar et al.   (notebook 40)
    louro       Louro et al.      (notebook 50)

A sixth paper copies the shape: the seven files, its notebook, its
``mer_utils/data/paper_values_<paper>.csv``, its name in :data:`PAPERS`; the contract test
then runs for it too. Rules (``tests/test_layers.py``): a paper imports shared modules only,
never another paper; no shared module imports a paper; only ``training/`` calls ``fit``.
"""
PAPERS = ("javadi", "cazzaniga", "sun", "velankar", "louro")
"""The papers of the compendium, in the order of their notebooks."""

MODULES = ("config", "pipeline", "tables", "figures", "fidelity", "board")
"""The files every paper sub-package has (besides ``__init__``)."""


def paper_data() -> dict:
    """paper -> its ``PAPER_DATA`` (table / (table, row) -> :class:`mer_utils.results.PaperData`):
    what :mod:`mer_utils.scorecard` needs to tell a comparison on the paper's data from one on
    other data. Read here, the index, so that no shared module imports a paper."""
    import importlib

    return {p: importlib.import_module(f"mer_utils.papers.{p}").PAPER_DATA for p in PAPERS}
