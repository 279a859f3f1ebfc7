"""VGG16 for one-channel spectrograms (mer_utils.models.vgg; Sun et al.'s segment
classifier): the layers of keras.applications.VGG16, the closed-form parameter count, the
narrowed variants and the input checks."""
import pytest

from mer_utils.evaluation import parameter_count


@pytest.mark.backend
def test_vgg16_matches_keras_applications_layer_by_layer():
    keras = pytest.importorskip("keras")
    from mer_utils.models.vgg import build_vgg16, vgg16_parameter_count, vgg_output_shape

    ours = build_vgg16((44, 128), 4)
    ref = keras.applications.VGG16(include_top=False, weights=None, input_shape=(44, 128, 1))
    conv = [l for l in ours.layers if l.name.startswith("block")]
    assert [l.name for l in conv] == [l.name for l in ref.layers if l.name.startswith("block")]
    for a in conv:
        b = ref.get_layer(a.name)
        assert a.output.shape[1:] == b.output.shape[1:], a.name
        assert [tuple(w.shape) for w in a.weights] == [tuple(w.shape) for w in b.weights], a.name
    assert vgg_output_shape((44, 128)) == (1, 4, 512)
    # conv part 14,712,384 (VGG16's 14,714,688 less 2 x 576 for one input channel instead of three)
    conv_params = 14_714_688 - 9 * 2 * 64
    fc = (2048 * 4096 + 4096) + (4096 * 4096 + 4096) + (4096 * 4 + 4)
    assert parameter_count(ours)["trainable"] == conv_params + fc == vgg16_parameter_count((44, 128), 4)
    assert [l.rate for l in ours.layers if "drop" in l.name] == [0.5, 0.5]


@pytest.mark.backend
def test_narrowed_vgg_and_input_checks():
    pytest.importorskip("keras")
    from mer_utils.models.vgg import build_vgg16, vgg16_parameter_count

    m = build_vgg16((87, 128), 2, width=1 / 16, fc_units=64)
    convs = [l.filters for l in m.layers if l.name.startswith("block") and "conv" in l.name]
    assert convs == [4, 4, 8, 8, 16, 16, 16, 32, 32, 32, 32, 32, 32]
    assert parameter_count(m)["trainable"] == vgg16_parameter_count((87, 128), 2, width=1 / 16, fc_units=64)
    assert m.output.shape[-1] == 2
    with pytest.raises(ValueError, match="32"):
        build_vgg16((31, 128), 2)
    with pytest.raises(ValueError):
        build_vgg16((44, 128, 3), 2)
    with pytest.raises(ValueError):
        build_vgg16((44, 128), 2, width=1.5)


