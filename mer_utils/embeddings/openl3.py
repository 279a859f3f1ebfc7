"""OpenL3 embeddings (Cramer et al. 2019) for the methods-comparison paper's "OpenL3 + RF" row,
with a recorded stand-in where OpenL3 is not installed.

Louro et al. (Sec. 3.5), after Koh et al., feed "a feature matrix of size 298 x 512" per clip
(OpenL3, music content, mel input, 512-d) to a scikit-learn Random Forest with "default
parameters". The ``openl3`` package pulls in its own TensorFlow/kapre pins and fetches its
weights from outside the package registry when it is installed, so it is **not** a dependency
of the compendium: :func:`openl3_available` imports it if present (install it in an
environment where its pins fit; its weights live inside the package), and
:func:`embed_openl3` computes the embedding sequence (``content_type="music"``,
``input_repr="mel256"``, ``embedding_size=512``, 0.1-s hop: 298-301 frames for a 30-s clip).

Offline the compendium's pretrained network stands in: the musicnn (MSD) embedding sequence
of :func:`mer_utils.embeddings.embed_sequence` (200-d every 20 ms over 29.1 s), recorded with
``ctx.manifest.substitute``. :func:`pool` turns either sequence into one vector per clip (mean
and standard deviation over time: the paper does not say how the matrix met the forest).
"""
from __future__ import annotations

import numpy as np

__all__ = ["openl3_available", "embed_openl3", "embedding_sequences", "pool", "SUBSTITUTE_MODEL"]

SUBSTITUTE_MODEL = "musicnn_msd"


def openl3_available() -> tuple[bool, str]:
    try:
        import openl3  # noqa: F401
    except Exception as exc:  # ImportError, or its TensorFlow pins failing
        return False, f"the openl3 package is not importable here ({type(exc).__name__})"
    return True, "openl3 " + getattr(openl3, "__version__", "?")


def embed_openl3(df, *, hop_size: float = 0.1, sr: int = 48000) -> np.ndarray:
    """(n, frames, 512) OpenL3 music/mel256 embeddings of the clips in ``df`` (``path``)."""
    import openl3

    from mer_utils import audio

    model = openl3.models.load_audio_embedding_model(input_repr="mel256", content_type="music",
                                                     embedding_size=512)
    out = []
    for p in df["path"].astype(str):
        y = audio.load_audio(p, sr=sr)
        emb, _ = openl3.get_audio_embedding(y, sr, model=model, hop_size=hop_size, verbose=False)
        out.append(np.asarray(emb, dtype=np.float32))
    n = min(len(e) for e in out)
    return np.stack([e[:n] for e in out])


def embedding_sequences(df, *, ctx=None) -> tuple[np.ndarray, str, bool]:
    """(S (n, frames, d), description, is_openl3): OpenL3 when importable, else the musicnn
    sequence (the substitution recorded in ``ctx.manifest``). Rows follow ``df``."""
    ok, why = openl3_available()
    if ok:
        S = embed_openl3(df)
        return S, f"OpenL3 music/mel256/512, {S.shape[1]} x {S.shape[2]} per clip", True
    from mer_utils.embeddings import embed_sequence

    S, kept, used = embed_sequence(df, SUBSTITUTE_MODEL, ctx=ctx, fallback=None, progress=False)
    if len(kept) != len(df):
        raise RuntimeError(f"{len(df) - len(kept)} clips could not be embedded")
    desc = (f"pretrained {used} (musicnn, MSD tags) penultimate-layer sequence, {S.shape[1]} x {S.shape[2]} "
            "per clip (3-s windows every 20 ms over 29.1 s)")
    if ctx is not None:
        ctx.manifest.substitute("OpenL3 embeddings (298 x 512 per clip)", desc, why)
    return S, desc, False


def pool(S: np.ndarray) -> np.ndarray:
    """Mean and standard deviation over time: (n, frames, d) -> (n, 2 d)."""
    S = np.asarray(S, dtype=np.float32)
    return np.concatenate([S.mean(axis=1), S.std(axis=1)], axis=1)
