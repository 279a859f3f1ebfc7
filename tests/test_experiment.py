"""experiment.PaperConfig: every setting a profile or a notebook parameter sets is checked
(type, range, choices) with an error that names it; nothing nonsensical reaches a run."""
from __future__ import annotations

import dataclasses

import pytest

from mer_utils.experiment import PaperConfig, setting


@dataclasses.dataclass(frozen=True)
class Cfg(PaperConfig):
    epochs: int = setting(25, paper="25 epochs")
    batch_size: int = setting(16)
    learning_rate: float = setting(1e-3)
    patience: int | None = setting(None)
    dropout: float = setting(0.5, maximum=1.0)
    head: str = setting("flatten", choices=("flatten", "avg"))
    seeds: tuple[int, ...] = setting((0, 1))
    offset_db: float = setting(-10.0)
    PROFILES = {"smoke": dict(epochs=1), "demo": dict(epochs=5), "full": {}}


@pytest.mark.parametrize("kw, match", [
    (dict(epochs=-1), "epochs.*below its minimum 1"),
    (dict(epochs=0), "epochs.*below its minimum 1"),
    (dict(epochs="abc"), "epochs.*expected int, got 'abc'"),
    (dict(epochs=2.5), "epochs.*expected int"),
    (dict(epochs=True), "epochs.*expected int"),
    (dict(learning_rate=-0.1), "learning_rate.*below its minimum 0"),
    (dict(learning_rate=float("nan")), "learning_rate.*NaN"),
    (dict(dropout=1.5), "dropout.*above its maximum"),
    (dict(head="max"), "head.*not one of"),
    (dict(seeds=(0, -1)), "seeds.*below its minimum 0"),
])
def test_nonsense_is_refused_naming_the_setting(kw, match):
    with pytest.raises((TypeError, ValueError), match=match):
        Cfg.for_profile("smoke", **kw)


def test_sensible_values_pass_and_are_normalised():
    cfg = Cfg.for_profile("demo", learning_rate=1, seeds=[3, 4], patience=None, offset_db=-3)
    assert cfg.epochs == 5 and cfg.learning_rate == 1.0 and isinstance(cfg.learning_rate, float)
    assert cfg.seeds == (3, 4) and cfg.offset_db == -3.0
    assert cfg.overrides == ("learning_rate", "offset_db", "seeds")
    with pytest.raises(TypeError, match="no setting"):
        Cfg.for_profile("smoke", epochz=3)
    with pytest.raises(ValueError, match="unknown profile"):
        Cfg.for_profile("quick")
