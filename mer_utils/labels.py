"""Label conventions: Russell quadrants, V/A -> quadrant conversions, tag vocabularies.

Quadrants (Russell's circumplex, as in 4Q and the multi-source paper)::

    Q1 = A+V+  (happy, exciting)      Q2 = A+V-  (angry, tense)
    Q3 = A-V-  (sad, gloomy)          Q4 = A-V+  (calm, serene)

The conversions follow the multi-source paper's Table 2: a value *at* the threshold is
"low" (<=), strictly above is "high".
"""
from __future__ import annotations

from typing import Iterable

import numpy as np

QUADRANTS = ("Q1", "Q2", "Q3", "Q4")
QUADRANT_NAMES = {"Q1": "A+V+", "Q2": "A+V-", "Q3": "A-V-", "Q4": "A-V+"}
QUADRANT_MOODS = {"Q1": "happy/exciting", "Q2": "angry/tense", "Q3": "sad/gloomy", "Q4": "calm/serene"}

# Threshold per data set, on its native scale (Table 2 of the multi-source paper).
VA_THRESHOLDS = {
    "pmemo": 0.5,    # static V/A in [0, 1]
    "deam": 5.0,     # Emotion in Music / DEAM, static V/A on 1-9
    "eim": 5.0,
    "bimodal": 0.0,  # V/A in [-4, 4]
}
VA_RANGES = {"pmemo": (0.0, 1.0), "deam": (1.0, 9.0), "eim": (1.0, 9.0), "bimodal": (-4.0, 4.0),
             "norm": (-1.0, 1.0)}

# The 3-class task of the CRNN paper has classes devotional / sad / romantic (private data).
# On 4Q and the demo corpus we use a documented stand-in: happy = Q1, sad = Q3, calm = Q4.
LABEL3_FROM_QUADRANT = {"Q1": "happy", "Q3": "sad", "Q4": "calm"}
LABEL3_CLASSES = ("happy", "sad", "calm")


def quadrant_from_va(valence, arousal, threshold: float) -> np.ndarray:
    """Quadrant names from valence/arousal arrays, with ``<= threshold`` counted as low."""
    v = np.asarray(valence, dtype=float)
    a = np.asarray(arousal, dtype=float)
    if np.isnan(v).any() or np.isnan(a).any():
        raise ValueError("valence/arousal contain NaN; drop or impute those tracks first")
    hv, ha = v > threshold, a > threshold
    out = np.where(ha & hv, "Q1", np.where(ha & ~hv, "Q2", np.where(~ha & ~hv, "Q3", "Q4")))
    return out.astype(object)


def quadrant_for_dataset(dataset: str, valence, arousal) -> np.ndarray:
    """Convert a data set's native V/A annotations to quadrants (multi-source Table 2)."""
    key = dataset.lower()
    if key not in VA_THRESHOLDS:
        raise KeyError(f"No V/A -> quadrant rule for data set {dataset!r}; "
                       f"known: {', '.join(sorted(VA_THRESHOLDS))} (4Q is native)")
    return quadrant_from_va(valence, arousal, VA_THRESHOLDS[key])


def to_unit_scale(values, dataset: str) -> np.ndarray:
    """Map V or A from a data set's native range to [-1, 1] with its threshold at 0.

    Piecewise linear so that the conversion threshold maps exactly to 0 (for PMEmo, DEAM
    and Bi-Modal the threshold is the range midpoint anyway).
    """
    lo, hi = VA_RANGES[dataset.lower()]
    t = VA_THRESHOLDS.get(dataset.lower(), (lo + hi) / 2)
    x = np.asarray(values, dtype=float)
    return np.where(x <= t, (x - t) / (t - lo), (x - t) / (hi - t))


def from_unit_scale(values, dataset: str) -> np.ndarray:
    """Inverse of :func:`to_unit_scale`."""
    lo, hi = VA_RANGES[dataset.lower()]
    t = VA_THRESHOLDS.get(dataset.lower(), (lo + hi) / 2)
    x = np.asarray(values, dtype=float)
    return np.where(x <= 0, t + x * (t - lo), t + x * (hi - t))


def quadrant_to_va_signs(quadrant: str) -> tuple[int, int]:
    """(valence sign, arousal sign) of a quadrant."""
    return {"Q1": (1, 1), "Q2": (-1, 1), "Q3": (-1, -1), "Q4": (1, -1)}[quadrant]


# --------------------------------------------------------------------------- MTG-Jamendo tags
TAG_PREFIX = "mood/theme---"

# The 59 mood/theme tags of MTG-Jamendo's autotagging_moodtheme subset (public vocabulary,
# data/tags/moodtheme.txt of the MTG-Jamendo repository), without the prefix.
MOODTHEME_TAGS = (
    "action", "adventure", "advertising", "ambiental", "background", "ballad", "calm",
    "children", "christmas", "commercial", "cool", "corporate", "dark", "deep", "documentary",
    "drama", "dramatic", "dream", "emotional", "energetic", "epic", "fast", "film", "fun",
    "funny", "game", "groovy", "happy", "heavy", "holiday", "hopeful", "horror", "inspiring",
    "love", "meditative", "melancholic", "mellow", "melodic", "motivational", "movie", "nature",
    "party", "positive", "powerful", "relaxing", "retro", "romantic", "sad", "sexy", "slow",
    "soft", "soundscape", "space", "sport", "summer", "trailer", "travel", "upbeat", "uplifting",
)
# Tags dropped by split-0 (too few tracks in some split): 59 - 3 = 56 in moodtheme_split.txt.


def strip_tag_prefix(tag: str) -> str:
    return tag[len(TAG_PREFIX):] if tag.startswith(TAG_PREFIX) else tag


def tags_to_matrix(tag_lists: Iterable[Iterable[str]], vocabulary: Iterable[str]) -> np.ndarray:
    """Binary (n_tracks, n_tags) matrix in ``vocabulary`` order; unknown tags raise."""
    vocab = list(vocabulary)
    index = {t: i for i, t in enumerate(vocab)}
    rows = list(tag_lists)
    y = np.zeros((len(rows), len(vocab)), dtype=np.int8)
    for i, tags in enumerate(rows):
        for t in tags:
            t = strip_tag_prefix(t)
            if t not in index:
                raise KeyError(f"tag {t!r} (track row {i}) is not in the vocabulary of {len(vocab)} tags")
            y[i, index[t]] = 1
    return y
