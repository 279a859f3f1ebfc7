"""Hear and see what an augmentation feeds a network: waveform + mel per version of one clip,
playable audio, and decoded (synthetic) spectrograms beside real ones."""
from __future__ import annotations

from typing import Callable, Mapping, Sequence

import numpy as np

__all__ = ["waveform_mel_grid", "AudioGallery", "decoded_vs_real"]


def waveform_mel_grid(versions: Mapping[str, np.ndarray], sr: int, mel: Callable[[np.ndarray], np.ndarray],
                      *, title: str = ""):
    """One row per version: waveform (left) and its mel spectrogram ``mel(y)`` (frames, bands)."""
    import matplotlib.pyplot as plt

    n = len(versions)
    fig, axes = plt.subplots(n, 2, figsize=(11, 1.6 * n + 0.6), squeeze=False,
                             gridspec_kw={"width_ratios": [1, 1.3]})
    for (name, y), (aw, am) in zip(versions.items(), axes):
        t = np.arange(len(y)) / sr
        aw.plot(t, y, lw=0.3, color="C0")
        aw.set_xlim(0, t[-1] if len(t) else 1)
        aw.set_ylim(-1, 1)
        aw.set_ylabel(name, fontsize=8, rotation=0, ha="right", va="center")
        aw.tick_params(labelsize=7)
        am.imshow(np.asarray(mel(y)).T, origin="lower", aspect="auto", cmap="magma")
        am.tick_params(labelsize=7)
    axes[-1, 0].set_xlabel("seconds", fontsize=8)
    axes[-1, 1].set_xlabel("mel frames", fontsize=8)
    if title:
        fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    return fig


class AudioGallery:
    """Playable versions of a clip in a notebook (one ``<audio>`` player per version)."""

    def __init__(self, versions: Mapping[str, np.ndarray], sr: int):
        self.versions, self.sr = dict(versions), int(sr)

    def _repr_html_(self) -> str:
        from IPython.display import Audio

        rows = []
        for name, y in self.versions.items():
            player = Audio(np.asarray(y, dtype=np.float32), rate=self.sr, normalize=False)._repr_html_()
            rows.append(f"<tr><td style='text-align:left'>{name}</td><td>{player}</td></tr>")
        return "<table>" + "".join(rows) + "</table>"

    def __repr__(self) -> str:
        return f"AudioGallery({', '.join(self.versions)}; {self.sr} Hz)"


def decoded_vs_real(real: np.ndarray, real_labels: Sequence, synthetic: np.ndarray, synthetic_labels: Sequence,
                    *, classes: Sequence[str], per_class: int = 1, title: str = ""):
    """Per class: ``per_class`` real mel spectrograms (top row) and decoded synthetic ones
    (bottom row), on one colour scale per column pair."""
    import matplotlib.pyplot as plt

    cols = [(c, i) for c in range(len(classes)) for i in range(per_class)]
    fig, axes = plt.subplots(2, len(cols), figsize=(2.6 * len(cols), 4.6), squeeze=False)
    real_labels, synthetic_labels = np.asarray(real_labels), np.asarray(synthetic_labels)
    for j, (c, i) in enumerate(cols):
        for r, (X, lab, kind) in enumerate(((real, real_labels, "real"), (synthetic, synthetic_labels, "DeepSMOTE"))):
            ax = axes[r, j]
            idx = np.flatnonzero(lab == c)
            if len(idx) > i:
                ax.imshow(np.asarray(X[idx[i]]).T, origin="lower", aspect="auto", cmap="magma")
                ax.set_title(f"{classes[c]} {kind}", fontsize=8)
            else:
                ax.text(0.5, 0.5, f"no {kind} {classes[c]}", ha="center", va="center", fontsize=8)
            ax.set_xticks([])
            ax.set_yticks([])
    if title:
        fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    return fig
