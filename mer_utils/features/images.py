"""The multi-source paper's images: per-source dB reference, 300x300x3 renders, PNGs.

:func:`source_reference` (one source's maximum) and :func:`source_references` (every
source's, from all rows or only the rows allowed to set it, e.g. a training split) give the
reference; :func:`spectrogram_image` renders one clip against it; :func:`render_source_images`
does both for a stack.
"""
from __future__ import annotations

from pathlib import Path
from typing import Sequence

import numpy as np


# --------------------------------------------------------------------------- images (cazzaniga)
def source_reference(spectrograms: np.ndarray | Sequence[np.ndarray]) -> float:
    """Step 1: the dB reference of one source = the maximum over its spectrograms.

    Pass only the spectrograms that may set it (e.g. a training split, to keep test
    clips out of the normalisation; the paper uses the whole source data set).
    """
    if isinstance(spectrograms, np.ndarray):
        return float(np.max(spectrograms))
    return float(max(np.max(s) for s in spectrograms))


def spectrogram_image(S_db: np.ndarray, ref_db: float, size: int = 300, *, top_db: float = 80.0,
                      cmap: str = "magma") -> np.ndarray:
    """Step 2: (frames, bands) unreferenced dB -> (size, size, 3) uint8 RGB image.

    dB relative to ``ref_db`` clipped to [-top_db, 0] and scaled to [0, 1]; time runs left
    to right and low frequencies sit at the bottom; resized bilinearly; coloured with a
    matplotlib colormap (3 channels, as the ImageNet-style image model expects).
    """
    from matplotlib import colormaps
    from PIL import Image

    D = np.clip(np.asarray(S_db, dtype=np.float32) - ref_db, -top_db, 0.0)
    D = (D + top_db) / top_db
    img = Image.fromarray(np.ascontiguousarray(D.T[::-1]), mode="F").resize(
        (int(size), int(size)), resample=Image.BILINEAR)
    G = np.clip(np.asarray(img), 0.0, 1.0)
    rgb = colormaps[cmap](G)[..., :3]
    return (rgb * 255.0 + 0.5).astype(np.uint8)


def save_png(image: np.ndarray, path: str | Path) -> Path:
    """Write an (h, w, 3) uint8 image as PNG (atomically)."""
    import os

    from PIL import Image

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.stem}.{os.getpid()}.tmp.png")
    Image.fromarray(image).save(tmp, format="PNG")
    os.replace(tmp, path)
    return path


def render_source_images(X: np.ndarray | Sequence[np.ndarray], sources: Sequence[str], *, size: int = 300,
                         refs: dict[str, float] | None = None, out_dir: str | Path | None = None,
                         ids: Sequence[str] | None = None, top_db: float = 80.0,
                         keep: Sequence[int] | None = None) -> tuple[np.ndarray, dict[str, float]]:
    """Both steps for a stack of ``cazzaniga_image`` spectrograms.

    ``X``: an array, or any sequence of (frames, bands) arrays (e.g. the
    :class:`~mer_utils.features.extract.CachedStack` of :func:`spectrogram_stack`, read one at
    a time). ``refs`` maps source -> reference dB (default: :func:`source_reference` over each
    source's rows of ``X``). Returns (images (n, size, size, 3) uint8, refs); with
    ``out_dir`` also writes ``<out_dir>/<source>/<id>.png``. ``keep``: return only the
    images of these rows, in this order (every image is still rendered and written), so
    memory does not grow with the number of clips.
    """
    sources = np.asarray([str(s) for s in sources])
    if len(sources) != len(X):
        raise ValueError("one source per spectrogram")
    refs = {str(k): float(v) for k, v in (refs or {}).items()}
    missing = sorted(set(map(str, np.unique(sources))) - set(refs))
    if missing:
        if isinstance(X, np.ndarray):
            for s in missing:
                refs[s] = source_reference(X[sources == s])
        else:                                  # one pass, one spectrogram at a time
            peak = {s: -np.inf for s in missing}
            for x, s in zip(X, sources):
                if s in peak:
                    peak[s] = max(peak[s], float(np.max(x)))
            refs.update(peak)
    want = None if keep is None else {int(r): k for k, r in enumerate(keep)}
    kept: dict[int, np.ndarray] = {}
    ids = [str(i) for i in (ids if ids is not None else range(len(X)))]
    for r, (x, s) in enumerate(zip(X, sources)):
        if want is not None and r not in want and out_dir is None:
            continue
        img = spectrogram_image(x, refs[s], size, top_db=top_db)
        if out_dir is not None:
            save_png(img, Path(out_dir) / s / f"{ids[r]}.png")
        if want is None or r in want:
            kept[r] = img
    order = sorted(kept) if want is None else [r for r in keep if int(r) in kept]
    images = np.stack([kept[int(r)] for r in order]) if order else np.zeros((0, size, size, 3), np.uint8)
    return images, refs


def source_references(X: np.ndarray | Sequence[np.ndarray], sources: Sequence[str],
                      rows: Sequence[int] | None = None) -> dict[str, float]:
    """Per-source dB references (:func:`source_reference`) from the rows allowed to set them.

    ``rows=None`` uses every row — the multi-source paper's variant, whose maximum spans the
    source's test songs too; pass a split's training rows for a reference that no test
    (or validation) song influences. Every source present in ``sources`` must have at
    least one row among ``rows``, else there is nothing to reference its images to.
    """
    src = np.asarray([str(s) for s in sources])
    if len(src) != len(X):
        raise ValueError(f"one source per spectrogram: {len(src)} sources, {len(X)} spectrograms")
    allowed = np.arange(len(src)) if rows is None else np.asarray(rows, dtype=int)
    refs: dict[str, float] = {}
    for s in map(str, np.unique(src)):
        pos = allowed[src[allowed] == s]
        if len(pos) == 0:
            raise ValueError(f"source {s!r} has no row among the {len(allowed)} rows allowed to set "
                             "its dB reference (e.g. no training song of that source)")
        refs[s] = source_reference([X[i] for i in pos])
    return refs
