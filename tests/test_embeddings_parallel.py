"""Parallel embedding extraction gives the values of the naive per-clip path under both
placements of the network (:func:`mer_utils.embeddings.inference_place`): "main" (front end in
workers, network in this process, a bounded queue between them: mer_utils.cache.stream_map)
and "workers" (each worker runs a clip's whole path); the streaming reductions give what the
full arrays would."""
from __future__ import annotations

import os
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from conftest import FOURQ_DEV, require
from mer_utils import cache as C


def _square(x):
    time.sleep(0.01 * (x % 3))      # uneven work: results must still come back in order
    return np.asarray([x * x])


def _fail_on_three(x):
    from mer_utils.audio import AudioError

    if x == 3:
        raise AudioError(f"item{x}", "broken on purpose")
    return np.asarray([x])


def test_stream_map_keeps_order_and_bounds_what_is_in_flight():
    from concurrent.futures import Future

    got = [(j, v[1][0]) for j, v in C.stream_map(_square, range(12), n_jobs=2, max_pending=3)]
    assert got == [(j, j * j) for j in range(12)]
    # bounded: consume slowly and check the executor never holds more than max_pending
    stream = C.stream_map(_square, range(10), n_jobs=2, max_pending=3)
    seen = []
    for j, (kind, v) in stream:
        frame = stream.gi_frame
        if frame is not None and "pending" in frame.f_locals:
            seen.append(len(frame.f_locals["pending"]))
    # the first item runs in this process before any worker starts (numba's cache, see
    # cache.stream_map); the other nine come through the bounded queue
    assert max(seen) <= 3 and len(seen) == 9
    assert isinstance(Future, type)


def _record_pid(x):
    time.sleep(0.1)                 # long enough that both workers take some
    return np.asarray([os.getpid()])


def test_stream_map_warm_runs_here_and_sends_every_item_to_the_workers(tmp_path):
    warmed = []
    out = list(C.stream_map(_record_pid, range(4), n_jobs=2, warm=warmed.append))
    assert warmed == [0]                                    # warm ran here, on the first item
    assert [j for j, _ in out] == [0, 1, 2, 3]
    assert all(v[1][0] != os.getpid() for _, v in out)     # every item computed by a worker
    # without warm the first item is computed here
    first = next(iter(C.stream_map(_record_pid, range(3), n_jobs=2)))
    assert first[1][1][0] == os.getpid()


def test_inference_place_rule(monkeypatch):
    from mer_utils import embeddings as emb

    monkeypatch.delenv(emb.INFERENCE_ENV, raising=False)
    assert emb.inference_place(2) == "main" and emb.inference_place(2, "workers") == "workers"
    assert emb.inference_place(1, "workers") == "main" and emb.inference_place(None) == "main"
    monkeypatch.setenv(emb.INFERENCE_ENV, "workers")
    assert emb.inference_place(2) == "workers" and emb.inference_place(1) == "main"
    assert emb.inference_place(2, "main") == "main"
    monkeypatch.setenv(emb.INFERENCE_ENV, "gpu")
    with pytest.raises(ValueError, match="MER_INFERENCE"):
        emb.inference_place(2)


def test_stream_map_reports_expected_failures_and_serial_path():
    out = dict(C.stream_map(_fail_on_three, range(5), n_jobs=2))
    assert out[3][0] == "err" and "broken on purpose" in str(out[3][1])
    assert [out[j][1][0] for j in (0, 1, 2, 4)] == [0, 1, 2, 4]
    serial = dict(C.stream_map(_fail_on_three, range(5), n_jobs=1))
    assert serial[3][0] == "err" and serial[4][1][0] == 4


@pytest.fixture(scope="module")
def dev_clips():
    root = require(FOURQ_DEV)
    paths = sorted(root.glob("Q*/*.mp3"))[::24][:5]
    if len(paths) < 4:
        pytest.skip("too few 4Q dev clips")
    return pd.DataFrame({"track_id": [p.stem for p in paths], "path": [str(p) for p in paths]})


@pytest.fixture(scope="module")
def weights():
    from mer_utils.models import musicnn

    try:
        return musicnn.ensure_musicnn_weights("MSD_musicnn", download=False).parent.parent
    except FileNotFoundError as exc:
        pytest.skip(f"musicnn weights unavailable: {str(exc).splitlines()[0]}")


@pytest.mark.realdata
@pytest.mark.parametrize("place", ["main", "workers"])
def test_parallel_embed_tracks_equals_the_naive_loop(dev_clips, weights, tmp_path, place):
    from mer_utils import audio
    from mer_utils.embeddings import embed_audio, embed_tracks

    E, kept, used, frames = embed_tracks(dev_clips, "musicnn_msd", fallback=None, n_jobs=2, chunk_size=3,
                                         weights_path=weights, cache_dir=tmp_path, progress=False,
                                         return_frames=True, inference=place)
    assert used == "musicnn_msd" and len(kept) == len(dev_clips)
    for p, f in zip(dev_clips["path"], frames):
        naive = embed_audio(audio.load_audio(p, sr=16000), 16000, "musicnn_msd", weights_path=weights)
        assert f.shape == naive.shape
        np.testing.assert_allclose(f, naive, rtol=1e-5, atol=1e-5)
    # serial path (n_jobs=1, other batches) and the cache give the same values
    E1, _, _ = embed_tracks(dev_clips, "musicnn_msd", fallback=None, n_jobs=1, chunk_size=8,
                            weights_path=weights, cache_dir=tmp_path / "serial", progress=False)
    np.testing.assert_allclose(E1, E, rtol=1e-5, atol=1e-5)
    E2, _, _ = embed_tracks(dev_clips, "musicnn_msd", fallback=None, n_jobs=2, weights_path=weights,
                            cache_dir=tmp_path, progress=False)
    np.testing.assert_array_equal(E2, E)


@pytest.mark.realdata
def test_workers_that_build_the_network_are_not_restarted(dev_clips, weights, tmp_path):
    """loky restarts a worker that grew by 300 MB since its first task; a worker that ran a
    small task first and then builds the network must not be (else it rebuilds it every few
    clips). Seen as loky's "A worker stopped while some jobs were given to the executor"."""
    import warnings

    from mer_utils.embeddings import embed_tracks

    from joblib.executor import get_memmapping_executor

    get_memmapping_executor(2, env=C._WORKER_ENV).shutdown(wait=True)   # fresh workers
    # small first tasks: loky's reference size is taken after them
    before = {int(v[1][0]) for _, v in C.stream_map(_record_pid, range(8), n_jobs=2)} - {os.getpid()}
    assert len(before) == 2
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        embed_tracks(dev_clips, "musicnn_msd", fallback=None, n_jobs=2, weights_path=weights,
                     cache_dir=tmp_path, progress=False, inference="workers")
        time.sleep(1.5)                                      # loky checks memory once a second
        after = {int(v[1][0]) for _, v in C.stream_map(_record_pid, range(8), n_jobs=2)} - {os.getpid()}
    stopped = [str(w.message) for w in caught if "worker stopped" in str(w.message)]
    assert not stopped, stopped
    assert after <= before, f"workers were replaced: {before} -> {after}"


@pytest.mark.realdata
@pytest.mark.parametrize("place", ["main", "workers"])
def test_parallel_sequence_equals_the_per_clip_path_and_mean_streams(dev_clips, weights, tmp_path, place):
    from mer_utils import audio
    from mer_utils.embeddings import embed_sequence, sequence_from_audio

    df = dev_clips.iloc[:3]
    S, kept, _ = embed_sequence(df, "musicnn_msd", fallback=None, n_jobs=2, weights_path=weights,
                                cache_dir=tmp_path, progress=False, inference=place)
    for p, s in zip(df["path"], S):
        y = audio.load_audio(p, sr=16000, duration=29.15)
        ref = sequence_from_audio(y, 16000, "musicnn_msd", weights_path=weights).astype(np.float16)
        np.testing.assert_array_equal(s, ref.astype(np.float32))
    M, kept_m, _ = embed_sequence(df, "musicnn_msd", fallback=None, n_jobs=2, weights_path=weights,
                                  cache_dir=tmp_path, progress=False, reduce="mean")
    np.testing.assert_allclose(M, S.mean(axis=1), rtol=1e-6, atol=1e-6)
    assert M.shape == (len(df), 200) and list(kept_m["track_id"]) == list(kept["track_id"])
    # cold with reduce="mean" gives the same
    M2, _, _ = embed_sequence(df, "musicnn_msd", fallback=None, n_jobs=2, weights_path=weights,
                              cache_dir=tmp_path / "cold", progress=False, reduce="mean")
    np.testing.assert_allclose(M2, M, rtol=1e-6, atol=1e-6)


def test_joblib_parallel_still_works_after_stream_map_used_the_pool():
    """stream_map shares loky's reusable pool with joblib.Parallel; taking it the bare loky way
    left it without joblib's temp-folder manager and the next Parallel(n_jobs=2) failed."""
    from joblib import Parallel, delayed

    assert [v[1][0] for _, v in C.stream_map(_square, range(4), n_jobs=2)] == [0, 1, 4, 9]
    assert Parallel(n_jobs=2)(delayed(abs)(-i) for i in range(4)) == [0, 1, 2, 3]
