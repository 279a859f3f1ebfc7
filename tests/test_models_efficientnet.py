"""EfficientNet + Cazzaniga et al.'s head (mer_utils.models.efficientnet): the head's layers
and parameter count (the total through evaluation.parameter_count), loading backbone weights
from a file through the same code path as the ImageNet weights, the offline fallback
(recorded, never called ImageNet)."""
from types import SimpleNamespace

import numpy as np
import pytest

keras = pytest.importorskip("keras")

from mer_utils.config import Manifest  # noqa: E402
from mer_utils.evaluation import parameter_count  # noqa: E402
from mer_utils.models import efficientnet as M  # noqa: E402


@pytest.mark.backend
def test_head_layers_and_parameter_count_on_a_small_input():
    model = M.build_classifier((32, 32, 3), 4, backbone="EfficientNetB3", weights=None)
    head = M.head_summary(model)
    assert [(r["type"], r["units"], r["rate"], r["activation"]) for r in head] == [
        ("Flatten", None, None, None),
        ("Dense", 512, None, "relu"), ("Dropout", None, 0.5, None),
        ("Dense", 128, None, "relu"), ("Dropout", None, 0.3, None),
        ("Dense", 64, None, "relu"), ("Dropout", None, 0.1, None),
        ("Dense", 4, None, "softmax"),
    ]
    # 32 x 32 input -> EfficientNetB3 feature map 1 x 1 x 1536 -> 1536 flattened values:
    # 1536*512+512 + 512*128+128 + 128*64+64 + 64*4+4 = 861,124
    assert M.head_parameter_count(1536) == 861_124
    head = sum(r["parameters"] for r in head)
    assert head == 861_124
    assert parameter_count(model)["parameters"] == 10_783_535 + head   # Keras's EfficientNetB3 without top
    out = model.predict(np.full((2, 32, 32, 3), 128.0, np.float32), verbose=0)
    assert out.shape == (2, 4) and np.allclose(out.sum(axis=1), 1.0, atol=1e-5)


@pytest.mark.backend
def test_flatten_of_the_unpooled_map_vs_pooled_head():
    flat = M.build_classifier((64, 64, 3), 4, backbone="EfficientNetB0", weights=None)
    pooled = M.build_classifier((64, 64, 3), 4, backbone="EfficientNetB0", weights=None, pooling="avg")
    # 64 px -> a 2 x 2 x 1280 map: 5120 values flattened, 1280 after average pooling
    head = {name: sum(r["parameters"] for r in M.head_summary(m)) for name, m in (("flat", flat), ("pooled", pooled))}
    assert head["flat"] == M.head_parameter_count(5120)
    assert head["pooled"] == M.head_parameter_count(1280)
    from mer_utils.papers import cazzaniga as C
    by_hand = C.tables.head_table(C.Config.for_profile("full", backbone="EfficientNetB0", image_size=64))
    assert by_hand["parameters"].fillna(0).sum() == head["flat"]
    with pytest.raises(ValueError, match="unknown backbone"):
        M.build_classifier((64, 64, 3), backbone="ResNet50")


@pytest.mark.backend
def test_bn_momentum_option_sets_every_batch_normalisation_and_default_is_keras():
    import keras

    def momenta(m):
        return {layer.momentum for layer in m._flatten_layers() if isinstance(layer, keras.layers.BatchNormalization)}

    assert momenta(M.build_classifier((32, 32, 3), 4, backbone="EfficientNetB0", pooling="avg")) == {0.99}
    fast = M.build_classifier((32, 32, 3), 4, backbone="EfficientNetB0", pooling="avg", bn_momentum=0.5)
    assert momenta(fast) == {0.5}
    with pytest.raises(ValueError, match="bn_momentum"):
        M.build_backbone((32, 32, 3), backbone="EfficientNetB0", bn_momentum=1.5)


def _write_legacy_h5(model, path):
    """A weights file in the format of Keras's ImageNet files (legacy HDF5, by layer)."""
    import h5py
    from keras.src.legacy.saving import legacy_h5_format

    with h5py.File(path, "w") as f:
        legacy_h5_format.save_weights_to_hdf5_group(f, model)


@pytest.mark.backend
@pytest.mark.filterwarnings("ignore::DeprecationWarning")  # Keras's legacy HDF5 writer
def test_weights_file_loads_through_the_imagenet_code_path(tmp_path):
    """A small file named like Keras's ImageNet file is found and loaded the way an online
    user's downloaded file is: keras.applications.<Backbone>(weights=<path>)."""
    src = M.build_backbone((32, 32, 3), backbone="EfficientNetB0", weights=None)
    rng = np.random.default_rng(0)
    src.set_weights([w + rng.normal(0, 0.01, w.shape).astype(w.dtype) for w in src.get_weights()])
    fname = M.IMAGENET_FILES["EfficientNetB0"][0]
    _write_legacy_h5(src, tmp_path / fname)
    path, how = M.imagenet_weights("EfficientNetB0", search=[tmp_path], download=False)
    assert path == str(tmp_path / fname) and "ImageNet weights from" in how
    model = M.build_classifier((32, 32, 3), 4, backbone="EfficientNetB0", weights=path)
    backbone = model.get_layer("efficientnetb0")
    for a, b in zip(backbone.get_weights(), src.get_weights()):
        np.testing.assert_array_equal(a, b)
    fresh = M.build_backbone((32, 32, 3), backbone="EfficientNetB0", weights=None)
    assert not all(np.array_equal(a, b) for a, b in zip(fresh.get_weights(), src.get_weights()))
    with pytest.raises(FileNotFoundError):
        M.build_backbone((32, 32, 3), backbone="EfficientNetB0", weights=tmp_path / "absent.h5")


def test_weight_file_names_and_hashes_match_keras():
    try:
        from keras.src.applications import efficientnet as E
    except ImportError:  # pragma: no cover - private module moved
        pytest.skip("keras.src.applications.efficientnet not importable in this Keras version")
    assert M.WEIGHTS_URL == E.BASE_WEIGHTS_PATH
    for name, (fname, h) in M.IMAGENET_FILES.items():
        b = name[-2:].lower()
        assert fname == f"efficientnet{b}_notop.h5" and h == E.WEIGHTS_HASHES[b][1]


def test_offline_imagenet_falls_back_to_random_init_and_says_so(tmp_path, monkeypatch):
    from mer_utils.papers import cazzaniga as C

    calls = []

    def offline(fname, origin, **kw):
        calls.append(origin)
        raise Exception(f"URL fetch failure on {origin}: [Errno -2] Name or service not known")

    monkeypatch.setattr(M.keras.utils, "get_file", offline)
    path, how = M.imagenet_weights("EfficientNetB3", search=[tmp_path])
    assert path is None and "could not be fetched" in how
    assert calls == [M.WEIGHTS_URL + "efficientnetb3_notop.h5"]
    ctx = SimpleNamespace(manifest=Manifest(notebook="t", profile={}, seed=0, data_root=None),
                          cache_dir=tmp_path)
    cfg = C.Config.for_profile("demo")
    w = C.pipeline.resolve_weights(ctx, cfg)
    assert w.kind == "random" and w.path is None and "NOT ImageNet" in w.caption
    assert w.learning_rate == cfg.random_init_learning_rate
    sub = ctx.manifest.substitutions[0]
    assert sub["what"] == "EfficientNetB0 ImageNet weights" and "random initialisation" in sub["used"]
    # with Keras's file in the cache's weights folder, it is used and the paper's rate kept
    (tmp_path / "weights").mkdir()
    (tmp_path / "weights" / "efficientnetb0_notop.h5").write_bytes(b"placeholder")
    w2 = C.pipeline.resolve_weights(ctx, cfg)
    assert w2.kind == "imagenet" and w2.learning_rate == cfg.learning_rate
    assert "NOT ImageNet" not in w2.caption
