"""Pretrained audio embeddings: VGGish (AudioSet) and musicnn (MTT / MSD tagging).

Two entry points::

    E, kept_df, used = embed_tracks(df, "vggish", ctx=ctx, fallback="musicnn_msd")
    S, kept_df, used = embed_sequence(df, "vggish", ctx=ctx, fallback="musicnn_msd")

:func:`embed_tracks` returns one track-level vector per row of ``kept_df`` (the mean over
time of the model's frame-level embeddings); :func:`embed_sequence` the multi-label
paper's (1407, d) sequence of the first 29.1 s (below); both also return the name of the
model actually used.

The sequence (:func:`embed_sequence`)
    Javadi et al. feed their CNN "(16, 1, 128, 1407)" and write "the final
    representations of VGG-ish are of size 1407 × 128". Read exactly: VGGish examples (96
    frames of 10 ms) taken every **2 frames (20 ms)** over the first 29.1 s:
    2,908 frames -> 1 + floor((2,908 - 96) / 2) = 1,407 examples of 128
    (:func:`sequence_length`). With the official weights that is what is computed
    (batched, one 0.96-s example per 20 ms). Without them, the substitute is recorded and
    named: the pretrained **musicnn** (MSD) at the **same hop and centres** — its
    ``penultimate`` layer (200-d) of a 3-s window (musicnn's own patch length, so its back
    end sees the statistics it was trained on) centred on each VGGish example's centre
    (k x 20 ms + 0.4875 s). musicnn is fully convolutional up to its temporal pooling, so
    one pass over the 29.1 s gives the mid-end map and each window is pooled from it
    (:func:`mer_utils.models.musicnn.window_pool`); near the clip's edges the window is
    clipped. Clips shorter than 29.1 s are zero-padded (every sequence has 1,407 rows).
    Sequences are cached per track (VGGish: its 8-bit values; musicnn: float16).

Models (:data:`MODELS`):

``"vggish"``
    The official AudioSet VGGish (:mod:`mer_utils.models.vggish`): 0.96-s examples,
    128-d embeddings after the official PCA + clip to [-2, 2] + 8-bit quantisation (the
    released AudioSet format, values 0..255 stored as float32). Needs the official
    checkpoint and PCA parameters (downloaded when online; see
    :func:`mer_utils.models.vggish.ensure_vggish_files`). When they are absent and
    ``fallback`` is set, the fallback model is used and the substitution is recorded in
    ``ctx.manifest`` (``substitute("VGGish embedding", used, reason)``); with
    ``fallback=None`` a :class:`~mer_utils.models.vggish.VGGishUnavailable` error says
    where to put the files. An untrained network is never used in its place.
``"musicnn_msd"``, ``"musicnn_mtt"``
    musicnn trained on the Million Song Dataset / MagnaTagATune
    (:mod:`mer_utils.models.musicnn`, weights from the PyPI wheel ``musicnn==0.1.0``):
    3-s patches (187 frames, non-overlapping); frame-level embedding = the back end's
    ``max_pool`` layer (753-d: max over the patch of the 561 front-end + 3 x 64 mid-end
    channels), the layer that keeps the most general, least tag-specific features;
    ``layer="penultimate"`` (200-d) or ``"mean_pool"`` (753-d) select the others.
``"musicnn_msd_vgg"``, ``"musicnn_mtt_vgg"``
    The wheel's VGG-like baselines; frame-level embedding = ``pool5`` averaged over its
    two time steps (128-d).

Per-track frame-level embeddings are cached under ``<cache>/embeddings/<model>/<config
hash>/`` (:class:`mer_utils.cache.FeatureCache`; keyed by track id, path, size and mtime;
the config includes the layer and the port versions). Audio decoding and the numpy front
end run in ``n_jobs`` worker processes, overlapped with the network, which runs batched in
the calling process (:func:`mer_utils.cache.stream_map`: a bounded queue between them), or,
with ``inference="workers"``, in each worker too (:func:`inference_place`).
Unreadable, silent or too-short clips are skipped, listed in ``ctx.manifest.skip`` and
absent from ``kept_df`` (never a NaN row).
"""
from __future__ import annotations

import dataclasses
import functools
import os
import time
import warnings
from pathlib import Path
from typing import Any

import numpy as np

__all__ = ["MODELS", "EmbeddingModel", "embed_tracks", "embed_audio", "frame_embeddings",
           "get_model", "describe", "predict_tags", "setup_weights", "EmbeddingUnavailable",
           "embed_sequence", "sequence_length", "sequence_from_audio", "describe_sequence",
           "SEQUENCE_SECONDS", "SEQUENCE_HOP_SECONDS", "inference_place", "INFERENCE_ENV"]

#: the multi-label paper's sequence: the first 29.1 s, one VGGish example every 20 ms
SEQUENCE_SECONDS = 29.1
SEQUENCE_HOP_SECONDS = 0.02


@dataclasses.dataclass(frozen=True)
class EmbeddingModel:
    name: str
    family: str            # "vggish" | "musicnn"
    checkpoint: str        # musicnn checkpoint name, or "vggish"
    default_layer: str
    dim: int
    seconds_per_frame: float
    description: str


MODELS: dict[str, EmbeddingModel] = {
    "vggish": EmbeddingModel("vggish", "vggish", "vggish", "postprocessed", 128, 0.96,
                             "VGGish (AudioSet, official weights), PCA + 8-bit, 0.96-s frames"),
    "musicnn_msd": EmbeddingModel("musicnn_msd", "musicnn", "MSD_musicnn", "max_pool", 753, 187 * 256 / 16000,
                                  "musicnn trained on the Million Song Dataset (50 tags; musicnn==0.1.0 wheel), "
                                  "max_pool layer, 3-s patches"),
    "musicnn_mtt": EmbeddingModel("musicnn_mtt", "musicnn", "MTT_musicnn", "max_pool", 753, 187 * 256 / 16000,
                                  "musicnn trained on MagnaTagATune (50 tags; musicnn==0.1.0 wheel), "
                                  "max_pool layer, 3-s patches"),
    "musicnn_msd_vgg": EmbeddingModel("musicnn_msd_vgg", "musicnn", "MSD_vgg", "pool5", 128, 187 * 256 / 16000,
                                      "VGG-like tagger trained on the Million Song Dataset (musicnn==0.1.0 wheel), "
                                      "pool5 averaged over time, 3-s patches"),
    "musicnn_mtt_vgg": EmbeddingModel("musicnn_mtt_vgg", "musicnn", "MTT_vgg", "pool5", 128, 187 * 256 / 16000,
                                      "VGG-like tagger trained on MagnaTagATune (musicnn==0.1.0 wheel), "
                                      "pool5 averaged over time, 3-s patches"),
}

_MUSICNN_LAYER_DIMS = {"max_pool": 753, "mean_pool": 753, "penultimate": 200, "taggram": 50, "logits": 50}


class EmbeddingUnavailable(RuntimeError):
    """Neither the requested model nor its fallback has weights here; says what to do."""


def describe(model: str) -> str:
    return MODELS[model].description


def _spec(model: str) -> EmbeddingModel:
    if model not in MODELS:
        raise ValueError(f"Unknown embedding model {model!r}; choose one of {sorted(MODELS)}")
    return MODELS[model]


# --------------------------------------------------------------------------- front ends
def _frontend_array(y: np.ndarray, sr: int, family: str, path: Any = "<array>") -> np.ndarray:
    """Model input patches from a 16 kHz mono waveform."""
    if family == "vggish":
        from mer_utils.models import vggish

        ex = vggish.waveform_to_examples(y, sr)
        if ex.shape[0] == 0:
            from mer_utils.audio import AudioError

            raise AudioError(path, f"too short for VGGish: {len(y) / sr:.2f} s < 0.975 s",
                             "drop the clip (it is skipped and recorded in the run manifest)")
        return ex
    from mer_utils.models import musicnn

    return musicnn.patches(musicnn.log_mel(y, sr))


def _frontend_file(path: str, family: str) -> np.ndarray:
    """Worker body: decode + resample to 16 kHz + model front end (picklable, pure)."""
    from mer_utils.audio import load_audio

    y = load_audio(path, sr=16000, mono=True)
    return _frontend_array(y, 16000, family, path)


# --------------------------------------------------------------------------- where the network runs
#: environment variable overriding where the network runs: ``main`` or ``workers`` (default: auto)
INFERENCE_ENV = "MER_INFERENCE"


def inference_place(n_jobs: int | None, inference: str | None = None) -> str:
    """Where :func:`embed_tracks` / :func:`embed_sequence` run the network: ``"main"`` or ``"workers"``.

    ``"main"`` (the default): the ``n_jobs`` workers decode + compute the front end and this
    process runs the network, batched, overlapped with them through a bounded queue — the
    placement for an accelerator, which one process should own, and on a CPU the framework's
    own thread pools spread the network over the cores. ``"workers"``: each worker runs a
    clip's whole path, network included, on one core, with its own copy of the network.

    Measured on 2 idle cores, 120 real 4Q clips, musicnn (``benchmarks/bench_features.py
    --paired 30``, ``benchmarks/embedding_paired.json``): "main" 3.06 clips/s, 1.08x the naive
    loop at TensorFlow's default threads (which already runs the network's parallel branches
    on both cores) and 1.52x the naive loop on one thread, peak 2.38 GiB; "workers" 3.37
    clips/s, 1.19x and 1.68x, peak 4.18 GiB — each worker holds a framework runtime and the
    network (~1.2 GiB), which would break a 4-GB budget beside a notebook kernel, so it is
    not the default. It is there for CPUs whose cores one framework process does not fill.
    ``inference`` (or the ``MER_INFERENCE`` environment variable): ``"main"`` or ``"workers"``
    (None: ``"main"``). ``n_jobs`` <= 1 is always ``"main"`` (no workers).
    """
    choice = inference or os.environ.get(INFERENCE_ENV) or "main"
    if choice not in ("main", "workers"):
        raise ValueError(f"inference must be 'main' or 'workers', not {choice!r} "
                         f"(argument or ${INFERENCE_ENV})")
    return "main" if (n_jobs or 1) <= 1 else choice


# --------------------------------------------------------------------------- networks
@functools.lru_cache(maxsize=4)
def _load_network(model: str, weights_path: str | None, download: bool):
    """(keras model, postprocessor or None) with trained weights; raises when unavailable."""
    spec = _spec(model)
    if spec.family == "vggish":
        from mer_utils.models import vggish

        return vggish.load_model(weights_path, download=download)
    from mer_utils.models import musicnn

    return musicnn.load_model(spec.checkpoint, weights_dir=weights_path, download=download), None


def get_model(model: str, *, weights_path: str | os.PathLike | None = None, download: bool = True):
    """The Keras network behind ``model`` with its trained weights (cached per process)."""
    return _load_network(model, None if weights_path is None else str(weights_path), download)[0]


def _predict(net, x: np.ndarray, batch_size: int):
    """``net.predict(x, batch_size=batch_size)`` as a loop of ``predict_on_batch`` calls: the
    same batches through the same compiled function (identical outputs), without predict's
    per-call set-up (data adapter, iterator, callbacks), ~0.15 s a call on a CPU."""
    parts = [net.predict_on_batch(x[s:s + batch_size]) for s in range(0, len(x), batch_size)]
    if isinstance(parts[0], dict):
        return {k: np.concatenate([np.asarray(p[k]) for p in parts]) for k in parts[0]}
    if isinstance(parts[0], (list, tuple)):
        return [np.concatenate([np.asarray(p[j]) for p in parts]) for j in range(len(parts[0]))]
    return np.concatenate([np.asarray(p) for p in parts])


def frame_embeddings(x: np.ndarray, model: str, *, layer: str | None = None,
                     weights_path=None, download: bool = True, batch_size: int = 16) -> np.ndarray:
    """Frame-level embeddings (n_patches, d) float32 for front-end patches ``x``.

    ``batch_size`` 16: as fast as 64 on a CPU, and musicnn's wide first-layer activations
    then peak about 0.9 GiB lower (measured with 200 patches: 1.72 vs 2.60 GiB RSS).
    """
    spec = _spec(model)
    layer = layer or spec.default_layer
    net, post = _load_network(model, None if weights_path is None else str(weights_path), download)
    if x.shape[0] == 0:
        return np.zeros((0, spec.dim), np.float32)
    out = _predict(net, x, batch_size)
    if spec.family == "vggish":
        emb = np.asarray(out)
        if layer == "postprocessed":
            return post.postprocess(emb).astype(np.float32)
        if layer == "raw":
            return emb.astype(np.float32)
        if layer == "pca":
            return post.pca(emb).astype(np.float32)
        raise ValueError(f"VGGish layer must be 'postprocessed', 'pca' or 'raw', not {layer!r}")
    if layer not in out:
        raise ValueError(f"{model}: unknown layer {layer!r}; choose from {sorted(out)}")
    a = np.asarray(out[layer], dtype=np.float32)
    if a.ndim == 4:           # vgg pool maps (n, time, freq, ch): mean over time, flatten rest
        a = a.mean(axis=1).reshape(a.shape[0], -1)
    elif a.ndim == 3:         # per-frame maps (n, time, ch): mean over time
        a = a.mean(axis=1)
    return a


#: batch of the network in a worker: per-patch speed on one core is flat from 4 to 64 patches,
#: and the activations of 4 patches keep each worker's memory small
WORKER_BATCH = 4


def _keep_this_worker() -> None:
    """In a joblib/loky worker, turn off loky's "memory leak" restart for this process.

    loky measures a worker's memory after its first task and restarts the worker once it has
    grown by 300 MB; a worker that builds a network (the framework's runtime + weights, held
    on purpose for the next clips) after a front-end task would be restarted, and build the
    network again, every few clips. The threshold is a module global of loky's worker loop,
    read after every task; raising it keeps the cheap once-a-second check (turning the check
    off instead makes loky run ``gc.collect()`` every second, which over the framework's
    objects cost ~25 % of the CPU time). Elsewhere (this process, a dask worker) it changes
    nothing.
    """
    try:
        from joblib.externals.loky import process_executor
    except ImportError:  # pragma: no cover - joblib always vendors loky
        return
    process_executor._MAX_MEMORY_LEAK_SIZE = 1 << 62


def _embed_file(path: str, model: str, layer: str, weights_path, download: bool) -> np.ndarray:
    """Worker body of the ``"workers"`` placement: decode + front end + network of one clip."""
    _keep_this_worker()
    x = _frontend_file(path, _spec(model).family)
    return frame_embeddings(x, model, layer=layer, weights_path=weights_path, download=download,
                            batch_size=WORKER_BATCH)


def embed_audio(y: np.ndarray, sr: int, model: str = "musicnn_msd", *, layer: str | None = None,
                weights_path=None, download: bool = True) -> np.ndarray:
    """Frame-level embeddings of one waveform (resampled to 16 kHz when needed)."""
    spec = _spec(model)
    if sr != 16000:
        from mer_utils.audio import resample

        y = resample(np.asarray(y, np.float32), sr, 16000)
    x = _frontend_array(np.asarray(y, np.float32), 16000, spec.family)
    return frame_embeddings(x, model, layer=layer, weights_path=weights_path, download=download)


def predict_tags(y: np.ndarray, sr: int, model: str = "musicnn_msd", *, top: int | None = 5,
                 weights_path=None, download: bool = True):
    """Tag probabilities of a musicnn model, averaged over patches: list of (tag, p), best first."""
    spec = _spec(model)
    if spec.family != "musicnn":
        raise ValueError("predict_tags needs a musicnn model (VGGish has no tag output here)")
    from mer_utils.models import musicnn

    p = embed_audio(y, sr, model, layer="taggram", weights_path=weights_path, download=download).mean(axis=0)
    labels = musicnn.labels_for(spec.checkpoint)
    order = np.argsort(-p)
    pairs = [(labels[i], float(p[i])) for i in order]
    return pairs[:top] if top else pairs


# --------------------------------------------------------------------------- tracks
def _cache_config(model: str, layer: str) -> dict:
    from mer_utils.models import musicnn, vggish

    spec = _spec(model)
    return {"model": model, "checkpoint": spec.checkpoint, "layer": layer, "sr": 16000,
            "frame_seconds": spec.seconds_per_frame,
            "port_version": vggish.PORT_VERSION if spec.family == "vggish" else musicnn.PORT_VERSION,
            "version": 1}


def _weights_file(model: str, weights_path, download: bool):
    """The trained weights of ``model`` on disk (fetched/converted once); raises
    ``FileNotFoundError`` (VGGishUnavailable / MusicnnUnavailable) when they cannot be had."""
    spec = _spec(model)
    if spec.family == "vggish":
        from mer_utils.models import vggish

        return vggish.ensure_vggish_files(weights_path, download=download)[0]
    from mer_utils.models import musicnn

    return musicnn.ensure_musicnn_weights(spec.checkpoint, weights_dir=weights_path, download=download)


def _resolve(model: str, *, ctx, fallback: str | None, weights_path, download: bool,
             load: bool = True, what: str | None = None, used_text=None) -> str:
    """Name of the model to use: ``model`` if its weights load, else ``fallback`` (recorded).

    ``load=False`` only checks that the weight files are there (the network is built when
    a track needs computing, so a fully cached run never builds it). ``what`` / ``used_text``
    (a function of the fallback's name) word the manifest's substitution record."""
    _spec(model)
    check = _load_network if load else _weights_file
    try:
        check(model, None if weights_path is None else str(weights_path), download)
        return model
    except FileNotFoundError as exc:   # VGGishUnavailable / MusicnnUnavailable
        if fallback is None or fallback == model:
            raise
        reason = str(exc).strip().splitlines()[0]
        _spec(fallback)
        try:
            check(fallback, None, download)
        except FileNotFoundError as exc2:
            raise EmbeddingUnavailable(
                f"Neither {model!r} nor its fallback {fallback!r} has weights here.\n"
                f"{model}: {exc}\n{fallback}: {exc2}") from exc2
        what = what or ("VGGish embedding" if model == "vggish" else f"{model} embedding")
        used = used_text(fallback) if used_text is not None else f"{fallback}: {describe(fallback)}"
        msg = f"{model} weights absent ({reason}); using {fallback} instead"
        warnings.warn(msg, stacklevel=3)
        if ctx is not None:
            ctx.manifest.substitute(what, used, f"{model} weights absent: {reason}")
        return fallback


def _consume(stream, todo: list[int], keys: list[str], cache, errors: dict[int, str],
             batch: list, flush, per_call: int, bar) -> None:
    """Drain a front-end stream (:func:`mer_utils.cache.stream_map` over ``todo``): a failed
    clip is recorded (and cached as a failure), the others gather in ``batch`` and the network
    runs (``flush``) every ``per_call`` clips and once at the end; the stream is closed however
    this ends, which cancels what the workers still have pending."""
    try:
        for j, (kind, value) in stream:
            i = todo[j]
            if kind == "err":
                errors[i] = str(value)
                cache.put_error(keys[i], str(value))
            else:
                batch.append((i, value))
                if len(batch) >= per_call:
                    flush()
            bar.update(1)
        flush()
    finally:
        stream.close()


def embed_tracks(df, model: str = "vggish", *, ctx=None, fallback: str | None = "musicnn_msd",
                 n_jobs: int | None = None, layer: str | None = None,
                 weights_path: str | os.PathLike | None = None, download: bool = True,
                 cache_dir: str | os.PathLike | None = None, chunk_size: int = 8,
                 progress: bool = True, return_frames: bool = False, inference: str | None = None):
    """Track-level embeddings of every row of ``df`` (columns ``track_id``, ``path``).

    Returns ``(E, kept_df, used_model)``: ``E`` (n_kept, d) float32 = mean over time of the
    frame-level embeddings (with ``return_frames=True`` a 4th item, the list of per-track
    (frames, d) arrays); ``kept_df`` = the rows of ``df`` that could be embedded, in order,
    with a fresh 0..n-1 index (``E[i]`` belongs to ``kept_df.iloc[i]``); ``used_model`` =
    ``model`` or, when its weights are absent, ``fallback`` (recorded in ``ctx.manifest``).

    ``n_jobs`` workers (default ``ctx.p.n_jobs``, else 1) decode audio and compute the front
    end, overlapped with the network, which runs in this process on the patches of
    ``chunk_size`` clips at a time (a bounded queue: :func:`mer_utils.cache.stream_map`); with
    ``inference="workers"`` each worker runs the network too (:func:`inference_place`). Both
    give the same values (to float rounding of other batch sizes). Results are cached per track and model under
    ``<cache_dir or ctx.cache_dir>/embeddings``.
    """

    from mer_utils.cache import FeatureCache, _progress, default_cache_root, stream_map, track_key

    for col in ("track_id", "path"):
        if col not in df.columns:
            raise ValueError(f"embed_tracks needs a {col!r} column (got {list(df.columns)})")
    if n_jobs is None:
        n_jobs = ctx.p.n_jobs if ctx is not None else 1
    place = inference_place(n_jobs, inference)
    # "workers": this process only checks the weight files (each worker builds the network)
    used = _resolve(model, ctx=ctx, fallback=fallback, weights_path=weights_path, download=download,
                    load=place == "main")
    spec = _spec(used)
    lay = layer or spec.default_layer
    if used != model and layer is not None and not _layer_valid(used, layer):
        lay = spec.default_layer   # the layer named the requested model's; the fallback uses its own
    wpath = None if used != model or weights_path is None else str(weights_path)
    root = Path(cache_dir) if cache_dir is not None else default_cache_root(ctx)
    cache = FeatureCache(root / "embeddings", used, _cache_config(used, lay))
    manifest = ctx.manifest if ctx is not None else None

    ids = [str(t) for t in df["track_id"]]
    paths = [str(p) for p in df["path"]]
    keys = [track_key(i, p) for i, p in zip(ids, paths)]
    frames: list[np.ndarray | None] = [None] * len(df)
    errors: dict[int, str] = {}
    todo = []
    for i, k in enumerate(keys):
        v = cache.get(k)
        if v is not None:
            frames[i] = np.asarray(v, np.float32)
            continue
        r = cache.get_error(k)
        if r is not None:
            errors[i] = r
            continue
        todo.append(i)

    t0 = time.perf_counter()
    batch: list[tuple[int, np.ndarray]] = []
    front = functools.partial(_frontend_file, family=spec.family)
    if place == "workers":
        # each worker: decode + front end + network of one clip; this process stores the results
        def flush():
            for i, emb in batch:
                frames[i] = emb
                cache.put(keys[i], emb)
            batch.clear()

        fn = functools.partial(_embed_file, model=used, layer=lay, weights_path=wpath, download=download)
        stream = stream_map(fn, [paths[i] for i in todo], n_jobs=n_jobs, warm=front)
        per_call = 1
    else:
        # Overlapped: workers decode + compute the front end of the next clips (a bounded queue,
        # stream_map) while this process runs the network on a batch of >= chunk_size clips'
        # patches; each track is cached as soon as its batch is done.
        def flush():
            if not batch:
                return
            x = np.concatenate([v for _, v in batch], axis=0)
            emb = frame_embeddings(x, used, layer=lay, weights_path=wpath, download=download)
            bounds = np.cumsum([0] + [v.shape[0] for _, v in batch])
            for (i, _), a, b in zip(batch, bounds[:-1], bounds[1:]):
                frames[i] = emb[a:b]
                cache.put(keys[i], emb[a:b])
            batch.clear()

        stream = stream_map(front, [paths[i] for i in todo], n_jobs=n_jobs or 1,
                            max_pending=chunk_size + 2 * (n_jobs or 1))
        per_call = chunk_size
    with _progress(len(todo), f"{used} embedding", progress) as bar:
        _consume(stream, todo, keys, cache, errors, batch, flush, per_call, bar)
    elapsed = time.perf_counter() - t0

    for i in sorted(errors):
        if manifest is not None:
            manifest.skip(f"{ids[i]} ({paths[i]})", f"{used} embedding: {errors[i]}")
    kept = [i for i in range(len(df)) if frames[i] is not None]
    E = (np.stack([frames[i].mean(axis=0) for i in kept]).astype(np.float32)
         if kept else np.zeros((0, frames_dim(used, lay)), np.float32))
    kept_df = df.iloc[kept].reset_index(drop=True)
    if manifest is not None:
        manifest.add_source(f"embedding:{used}",
                            f"{describe(used)}; layer {lay}; {len(kept)} tracks "
                            f"({len(todo)} computed in {elapsed:.1f} s, network in the {place}, "
                            f"rest cached); "
                            f"{len(errors)} skipped")
    if return_frames:
        return E, kept_df, used, [frames[i] for i in kept]
    return E, kept_df, used


def _layer_valid(model: str, layer: str) -> bool:
    spec = _spec(model)
    if spec.family == "vggish":
        return layer in ("postprocessed", "pca", "raw")
    if spec.default_layer == "pool5":
        return layer in ("pool1", "pool2", "pool3", "pool4", "pool5", "taggram", "logits")
    return layer in _MUSICNN_LAYER_DIMS or layer in ("timbral", "temporal", "cnn1", "cnn2", "cnn3")


def frames_dim(model: str, layer: str | None = None) -> int:
    spec = _spec(model)
    if spec.family == "musicnn" and layer in _MUSICNN_LAYER_DIMS and spec.default_layer != "pool5":
        return _MUSICNN_LAYER_DIMS[layer]
    return spec.dim


# --------------------------------------------------------------------------- sequences
def sequence_length(seconds: float = SEQUENCE_SECONDS, hop_seconds: float = SEQUENCE_HOP_SECONDS) -> int:
    """Examples in the VGGish sequence of ``seconds`` with one example every ``hop_seconds``
    (1,407 for the paper's 29.1 s and 20 ms): 10-ms frames of 25 ms, 96 per example."""
    from mer_utils.models import vggish

    n = int(round(seconds * vggish.SAMPLE_RATE))
    win = int(round(vggish.SAMPLE_RATE * vggish.STFT_WINDOW_LENGTH_SECONDS))
    hop = int(round(vggish.SAMPLE_RATE * vggish.STFT_HOP_LENGTH_SECONDS))
    frames = 1 + (n - win) // hop
    step = _hop_frames(hop_seconds)
    return max(0, 1 + (frames - vggish.NUM_FRAMES) // step) if frames >= vggish.NUM_FRAMES else 0


def _hop_frames(hop_seconds: float) -> int:
    from mer_utils.models import vggish

    step = hop_seconds / vggish.STFT_HOP_LENGTH_SECONDS
    if step < 1 or abs(step - round(step)) > 1e-9:
        raise ValueError(f"hop_seconds must be a whole number of 10-ms VGGish frames, not {hop_seconds}")
    return int(round(step))


def describe_sequence(model: str, seconds: float = SEQUENCE_SECONDS,
                      hop_seconds: float = SEQUENCE_HOP_SECONDS) -> str:
    n = sequence_length(seconds, hop_seconds)
    if _spec(model).family == "vggish":
        return (f"VGGish (official weights): 0.96-s examples every {hop_seconds * 1000:g} ms over the "
                f"first {seconds:g} s -> {n} x 128 (PCA + 8-bit)")
    return (f"{model} penultimate layer (200-d) of 3-s windows centred on the VGGish example centres, "
            f"every {hop_seconds * 1000:g} ms over the first {seconds:g} s -> {n} x 200 "
            f"(substitute for VGGish, whose weights are absent)")


def _fixed_length(y: np.ndarray, seconds: float, sr: int = 16000) -> np.ndarray:
    n = int(round(seconds * sr))
    y = np.asarray(y, dtype=np.float32)[:n]
    return np.pad(y, (0, n - len(y))) if len(y) < n else y


def _sequence_frontend_array(y: np.ndarray, family: str, seconds: float, hop_seconds: float) -> np.ndarray:
    y = _fixed_length(y, seconds)
    if family == "vggish":
        from mer_utils.models import vggish

        return vggish.waveform_to_examples(y, 16000, hop_frames=_hop_frames(hop_seconds))
    from mer_utils.models import musicnn

    return musicnn.log_mel(y, 16000)


def _sequence_frontend_file(path: str, family: str, seconds: float, hop_seconds: float) -> np.ndarray:
    """Worker body: decode the first ``seconds`` at 16 kHz (zero-padded) + the model's front end."""
    from mer_utils.audio import check_signal, load_audio

    y = load_audio(path, sr=16000, mono=True, duration=seconds + 0.05)
    check_signal(y, 16000, path, min_duration=1.0)
    return _sequence_frontend_array(y, family, seconds, hop_seconds)


def _musicnn_centres(n_examples: int, hop_seconds: float) -> np.ndarray:
    """musicnn frames (hop 256 at 16 kHz, centred) nearest to the VGGish example centres."""
    from mer_utils.models import musicnn, vggish

    hop = vggish.SAMPLE_RATE * vggish.STFT_HOP_LENGTH_SECONDS          # 160 samples
    win = vggish.SAMPLE_RATE * vggish.STFT_WINDOW_LENGTH_SECONDS       # 400 samples
    centre = np.arange(n_examples) * hop_seconds * vggish.SAMPLE_RATE \
        + ((vggish.NUM_FRAMES - 1) * hop + win) / 2                    # 7,800 samples in
    return np.round(centre / musicnn.FFT_HOP).astype(int)


def _sequence_network(x: np.ndarray, used: str, n_tracks: int, hop_seconds: float, *,
                      weights_path, download: bool, n_examples: int) -> list[np.ndarray]:
    """Front-end output of ``n_tracks`` clips -> one (n_examples, d) sequence each."""
    spec = _spec(used)
    net, post = _load_network(used, None if weights_path is None else str(weights_path), download)
    if spec.family == "vggish":
        emb = post.postprocess(np.asarray(net.predict(x, batch_size=128, verbose=0)))
        return [emb[i * n_examples:(i + 1) * n_examples] for i in range(n_tracks)]
    from mer_utils.models import musicnn

    centres = _musicnn_centres(n_examples, hop_seconds)
    out = []
    for i in range(n_tracks):              # one clip per call: the front-end maps are large
        res = _predict(net, x[i:i + 1], 1)
        mx, mn = musicnn.window_pool(musicnn.midend_map(res)[0], centres)
        out.append(musicnn.backend_penultimate(net, mx, mn).astype(np.float16))
    return out


def _sequence_file(path: str, model: str, seconds: float, hop_seconds: float, weights_path, download: bool,
                   n_examples: int) -> np.ndarray:
    """Worker body of the ``"workers"`` placement: one clip's whole sequence path."""
    _keep_this_worker()
    family = _spec(model).family
    x = _sequence_frontend_file(path, family, seconds, hop_seconds)
    return _sequence_network(x if family == "vggish" else x[None], model, 1, hop_seconds,
                             weights_path=weights_path, download=download, n_examples=n_examples)[0]


def sequence_from_audio(y: np.ndarray, sr: int, model: str = "vggish", *,
                        seconds: float = SEQUENCE_SECONDS, hop_seconds: float = SEQUENCE_HOP_SECONDS,
                        weights_path=None, download: bool = True) -> np.ndarray:
    """The (n_examples, d) sequence of one waveform (no fallback, no cache)."""
    spec = _spec(model)
    if model not in ("vggish", "musicnn_msd", "musicnn_mtt"):
        raise ValueError(f"sequences are defined for vggish, musicnn_msd and musicnn_mtt, not {model!r}")
    if sr != 16000:
        from mer_utils.audio import resample

        y = resample(np.asarray(y, np.float32), sr, 16000)
    x = _sequence_frontend_array(y, spec.family, seconds, hop_seconds)
    n = sequence_length(seconds, hop_seconds)
    return np.asarray(_sequence_network(x[None] if spec.family != "vggish" else x, model, 1, hop_seconds,
                                        weights_path=weights_path, download=download,
                                        n_examples=n)[0], dtype=np.float32)


def embed_sequence(df, model: str = "vggish", *, ctx=None, fallback: str | None = "musicnn_msd",
                   seconds: float = SEQUENCE_SECONDS, hop_seconds: float = SEQUENCE_HOP_SECONDS,
                   n_jobs: int | None = None, weights_path: str | os.PathLike | None = None,
                   download: bool = True, cache_dir: str | os.PathLike | None = None,
                   chunk_size: int = 8, progress: bool = True, reduce: str | None = None,
                   inference: str | None = None):
    """The paper's embedding sequence of every row of ``df`` (see the module docstring).

    Returns ``(S, kept_df, used_model)``: ``S`` (n_kept, n_examples, d) float32 (1,407 x 128
    for VGGish, 1,407 x 200 for the musicnn substitute), ``kept_df`` the rows embedded
    (unreadable, silent or < 1 s clips are skipped and recorded), ``used_model`` ``model``
    or the recorded ``fallback``. Cached per track; decoding and front end run in
    ``n_jobs`` workers, overlapped with the network in this process (a bounded queue,
    :func:`mer_utils.cache.stream_map`), on up to ``chunk_size`` tracks at a time; with
    ``inference="workers"`` in the workers too (:func:`inference_place`).

    ``reduce="mean"``: ``S`` is (n_kept, d), each track's mean over the sequence, computed as
    the sequences stream into (or out of) the cache, so memory does not grow with the number
    of tracks by n_examples x d per track (what a summary table or figure needs).
    """
    from mer_utils.cache import FeatureCache, _progress, default_cache_root, stream_map, track_key
    from mer_utils.models import musicnn, vggish

    if reduce not in (None, "mean"):
        raise ValueError(f"reduce must be None or 'mean', not {reduce!r}")
    for col in ("track_id", "path"):
        if col not in df.columns:
            raise ValueError(f"embed_sequence needs a {col!r} column (got {list(df.columns)})")
    n = sequence_length(seconds, hop_seconds)
    used = _resolve(model, ctx=ctx, fallback=fallback, weights_path=weights_path, download=download,
                    load=False, what=f"VGGish embedding sequence ({n} x 128)" if model == "vggish" else None,
                    used_text=lambda fb: describe_sequence(fb, seconds, hop_seconds))
    spec = _spec(used)
    if used not in ("vggish", "musicnn_msd", "musicnn_mtt"):
        raise ValueError(f"sequences are defined for vggish, musicnn_msd and musicnn_mtt, not {used!r}")
    wpath = None if used != model or weights_path is None else str(weights_path)
    if n < 1:
        raise ValueError(f"{seconds} s is too short for one VGGish example")
    if n_jobs is None:
        n_jobs = ctx.p.n_jobs if ctx is not None else 1
    place = inference_place(n_jobs, inference)
    root = Path(cache_dir) if cache_dir is not None else default_cache_root(ctx)
    config = {"model": used, "checkpoint": spec.checkpoint, "seconds": seconds, "hop_seconds": hop_seconds,
              "n_examples": n, "layer": "postprocessed" if spec.family == "vggish" else "penultimate-3s-window",
              "port_version": vggish.PORT_VERSION if spec.family == "vggish" else musicnn.PORT_VERSION,
              "version": 1}
    cache = FeatureCache(root / "embeddings", f"{used}-sequence", config)
    ids = [str(t) for t in df["track_id"]]
    paths = [str(p) for p in df["path"]]
    keys = [track_key(i, p) for i, p in zip(ids, paths)]
    seqs: list[np.ndarray | None] = [None] * len(df)
    errors: dict[int, str] = {}

    def keep(i, a):
        seqs[i] = np.asarray(a, np.float32).mean(axis=0) if reduce == "mean" else np.asarray(a)

    todo = []
    for i, k in enumerate(keys):
        v = cache.get(k)
        if v is not None:
            keep(i, v)
        elif (r := cache.get_error(k)) is not None:
            errors[i] = r
        else:
            todo.append(i)
    t0 = time.perf_counter()
    batch: list[tuple[int, np.ndarray]] = []

    def flush():
        if not batch:
            return
        vals = [v for _, v in batch]
        x = np.concatenate(vals) if spec.family == "vggish" else np.stack(vals)
        out = _sequence_network(x, used, len(vals), hop_seconds, weights_path=wpath, download=download,
                                n_examples=n)
        for (i, _), a in zip(batch, out):
            cache.put(keys[i], a)
            keep(i, a)
        batch.clear()

    front = functools.partial(_sequence_frontend_file, family=spec.family, seconds=seconds,
                              hop_seconds=hop_seconds)
    if place == "workers":
        # each worker: one clip's decode + front end + network; this process stores the results
        def flush():
            for i, a in batch:
                cache.put(keys[i], a)
                keep(i, a)
            batch.clear()

        fn = functools.partial(_sequence_file, model=used, seconds=seconds, hop_seconds=hop_seconds,
                               weights_path=wpath, download=download, n_examples=n)
        stream = stream_map(fn, [paths[i] for i in todo], n_jobs=n_jobs, warm=front)
        per_call = 1
    else:
        # musicnn runs one clip per call (its front-end maps are large): flush every clip, so the
        # workers' next clips overlap it; VGGish batches chunk_size clips' examples
        per_call = 1 if spec.family == "musicnn" else chunk_size
        stream = stream_map(front, [paths[i] for i in todo], n_jobs=n_jobs or 1,
                            max_pending=max(per_call + 2 * (n_jobs or 1), 4))
    with _progress(len(todo), f"{used} sequence", progress) as bar:
        _consume(stream, todo, keys, cache, errors, batch, flush, per_call, bar)
    elapsed = time.perf_counter() - t0
    for i in sorted(errors):
        if ctx is not None:
            ctx.manifest.skip(f"{ids[i]} ({paths[i]})", f"{used} sequence: {errors[i]}")
    kept = [i for i in range(len(df)) if seqs[i] is not None]
    d = 128 if spec.family == "vggish" else 200
    empty = (0, d) if reduce == "mean" else (0, n, d)
    S = (np.stack([seqs[i] for i in kept]).astype(np.float32) if kept else np.zeros(empty, np.float32))
    kept_df = df.iloc[kept].reset_index(drop=True)
    if ctx is not None:
        ctx.manifest.add_source(f"sequence:{used}", f"{describe_sequence(used, seconds, hop_seconds)}; "
                                f"{len(kept)} tracks ({len(todo)} computed in {elapsed:.1f} s, network "
                                f"in the {place}, rest cached); {len(errors)} skipped")
    return S, kept_df, used


def setup_weights(weights_dir: str | os.PathLike | None = None, *, download: bool = True) -> dict[str, str]:
    """Set-up step: fetch the musicnn wheel and convert its four checkpoints to npz; report
    whether the official VGGish files are present (they are never required).

    ``python -m mer_utils.embeddings`` runs it (default folder: data/cache/weights/).
    Returns model name -> path or the reason it is unavailable.
    """
    from mer_utils.models import musicnn, vggish

    status: dict[str, str] = {}
    for name, spec in MODELS.items():
        try:
            if spec.family == "musicnn":
                status[name] = str(musicnn.ensure_musicnn_weights(spec.checkpoint, weights_dir=weights_dir,
                                                                  download=download))
            else:
                status[name] = str(vggish.ensure_vggish_files(weights_dir=weights_dir, download=download)[0])
        except FileNotFoundError as exc:
            status[name] = "unavailable: " + str(exc).strip().splitlines()[0]
    return status
