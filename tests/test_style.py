"""Tests of chapter 08's library: features (ImageNet weights from the cache, or the
random fallback), the losses against closed forms, Gatys' optimisation, the fast
networks, blending in style space, and the style images."""

from __future__ import annotations

import numpy as np
import pytest
import tensorflow as tf

from course_lib.data import styles
from course_lib.models import style

SMALL = (4, 4, 8, 8, 8)  # filters per block: a VGG19 shape, small enough for a test


@pytest.fixture(scope="module")
def features():
    return style.style_features("random", widths=SMALL, verbose=False)


def _image(seed, size=16):
    return np.random.default_rng(seed).uniform(0, 1, (size, size, 3)).astype(np.float32)


def _write_stand_in(path, widths=SMALL, seed=0):
    """A weights file laid out as Keras' VGG19 notop file (HDF5 groups per layer with
    ``weight_names``), but small."""
    import h5py

    rng = np.random.default_rng(seed)
    path.parent.mkdir(parents=True, exist_ok=True)
    names, weights, channels = [], {}, 3
    for b, (_, convs) in enumerate(style.VGG19_BLOCKS, start=1):
        for k in range(1, convs + 1):
            name = f"block{b}_conv{k}"
            kernel = rng.normal(0, 0.1, (3, 3, channels, widths[b - 1])).astype(np.float32)
            weights[name] = [kernel, rng.normal(0, 0.1, widths[b - 1]).astype(np.float32)]
            names.append(name)
            channels = widths[b - 1]
    with h5py.File(path, "w") as f:
        f.attrs["layer_names"] = [n.encode() for n in names]
        for name in names:
            g = f.create_group(name)
            g.attrs["weight_names"] = [f"{name}/kernel:0".encode(), f"{name}/bias:0".encode()]
            g.create_dataset(f"{name}/kernel:0", data=weights[name][0])
            g.create_dataset(f"{name}/bias:0", data=weights[name][1])
    return weights


def test_imagenet_weights_in_the_keras_cache_are_used(monkeypatch, tmp_path, capsys):
    monkeypatch.setenv("KERAS_HOME", str(tmp_path))
    weights = _write_stand_in(tmp_path / "models" / style.VGG19_WEIGHTS_FILE)
    f = style.style_features()
    out = capsys.readouterr().out
    assert f.source == "imagenet" and out.count("\n") == 1 and "ImageNet weights" in out
    conv = f.model.get_layer("block3_conv2")
    np.testing.assert_array_equal(conv.get_weights()[0], weights["block3_conv2"][0])
    maps, content = f(_image(0)[None])
    assert [m.shape[-1] for m in maps] == list(SMALL) and content.shape[-1] == SMALL[3]


def test_without_weights_the_fallback_says_so_in_one_line(monkeypatch, tmp_path, capsys):
    monkeypatch.setenv("KERAS_HOME", str(tmp_path))
    f = style.style_features(widths=SMALL)
    out = capsys.readouterr().out
    assert f.source == "random" and out.count("\n") == 1 and "RANDOM weights" in out
    with pytest.raises(FileNotFoundError, match="kind='random'"):
        style.style_features("imagenet")


def test_vgg_preprocessing_matches_keras():
    from keras.applications import vgg19

    x = _image(1)[None]
    ours = style.VGGPreprocess()(x).numpy()
    np.testing.assert_allclose(ours, vgg19.preprocess_input(x * 255.0), atol=1e-3)


def test_gram_matrix_of_a_tiny_tensor_is_its_closed_form():
    f = np.arange(2 * 2 * 3 * 2, dtype=np.float32).reshape(2, 2, 3, 2) / 10
    flat = f.reshape(2, 6, 2)
    want = np.einsum("bpi,bpj->bij", flat, flat) / 6
    np.testing.assert_allclose(style.gram_matrix(f).numpy(), want, rtol=1e-6)
    one = np.array([[[[1.0, 2.0]]]], np.float32)  # one position: the outer product
    np.testing.assert_allclose(style.gram_matrix(one).numpy()[0], [[1, 2], [2, 4]])


def test_style_loss_of_an_image_with_itself_is_zero(features):
    image = _image(2)[None]
    maps, _ = features(image)
    targets = style.style_targets(features, image)
    assert float(style.style_loss(maps, targets)) == pytest.approx(0.0, abs=1e-7)
    other = style.style_targets(features, _image(3)[None])
    assert float(style.style_loss(maps, other)) > 1e-3


def test_content_loss_and_total_variation():
    flat = np.full((1, 8, 8, 3), 0.4, np.float32)
    assert float(style.total_variation(flat)) == 0.0
    ramp = np.tile(np.arange(8, dtype=np.float32)[None, :, None, None] / 8, (1, 1, 8, 3))
    assert float(style.total_variation(ramp)) == pytest.approx((1 / 8) ** 2)
    a = np.ones((1, 4, 4, 2), np.float32)
    assert float(style.content_loss(a, a)) == 0.0
    assert float(style.content_loss(2 * a, a)) == pytest.approx(1.0)


def test_the_optimised_image_stays_a_variable_in_range(features):
    transfer = style.GatysTransfer(features, _image(4), _image(5, 24), learning_rate=0.5)
    variable = transfer.image
    history = transfer.run(3)
    assert transfer.image is variable and isinstance(transfer.image, tf.Variable)
    image = transfer.image.numpy()
    assert image.min() >= 0.0 and image.max() <= 1.0
    assert (image == 0.0).any() or (image == 1.0).any()  # big steps: the clip did its work
    assert len(history["total"]) == 3 and history["seconds"] > 0
    gentle = style.GatysTransfer(features, _image(4), _image(5, 24), tv_weight=0.0)
    history = gentle.run(8)
    assert history["style"][-1] < history["style"][0]


def test_the_weights_are_used(features):
    a = style.GatysTransfer(features, _image(6), _image(7), style_weight=0.0, tv_weight=0.0)
    b = style.GatysTransfer(features, _image(6), _image(7), style_weight=100.0, tv_weight=0.0)
    assert float(a.losses()["total"]) == pytest.approx(0.0, abs=1e-7)  # starts at the content
    assert float(b.losses()["total"]) > 1.0


@pytest.mark.parametrize(
    "call, message",
    [
        (lambda f: style.gram_matrix(np.ones((4, 4, 3))), "batch, height, width, channels"),
        (lambda f: style.GatysTransfer(f, 255 * _image(0), _image(1)), "pixels must be in"),
        (lambda f: style.GatysTransfer(f, _image(0)[..., :1], _image(1)), "one RGB image"),
        (lambda f: style.GatysTransfer(f, _image(0), _image(1), style_weight=-1), "style_weight"),
        (lambda f: style.GatysTransfer(f, _image(0), _image(1), init="zeros"), "init"),
        (lambda f: style.GatysTransfer(None, _image(0), _image(1)), "style_features"),
        (lambda f: style.style_features(style_layers=("block9_conv1",)), "not a VGG19"),
        (lambda f: style.style_features("pretrained"), "kind"),
        (lambda f: style.style_loss([np.ones((1, 2, 2, 3))], []), "one target Gram"),
        (lambda f: style.style_mix([0.5, 0.5], 3), "3 numbers"),
        (lambda f: style.style_mix(5, 3), "index"),
        (lambda f: styles.load_style_image("monet"), "style must be one of"),
    ],
)
def test_bad_input_gets_a_clear_error(features, call, message):
    with pytest.raises((ValueError, TypeError, FileNotFoundError), match=message):
        call(features)


def test_instance_normalisation_normalises_each_image():
    x = np.random.default_rng(0).normal(3, 2, (2, 8, 8, 4)).astype(np.float32)
    y = style.InstanceNormalization()(x).numpy()
    np.testing.assert_allclose(y.mean(axis=(1, 2)), 0, atol=1e-5)
    np.testing.assert_allclose(y.std(axis=(1, 2)), 1, atol=1e-3)


@pytest.fixture(scope="module")
def two_styles(features):
    model = style.course_stylizer(features, np.stack([_image(8), _image(9)]), width=4, res_blocks=1)
    # give each style its own scale and shift, as training would
    for layer in model.network.layers:
        if isinstance(layer, style.ConditionalInstanceNormalization):
            rng = np.random.default_rng(0)
            layer.scale.assign(rng.normal(1, 0.5, layer.scale.shape))
            layer.shift.assign(rng.normal(0, 0.5, layer.shift.shape))
    return model


def test_a_blend_at_0_or_1_is_the_pure_style(two_styles):
    photos = np.stack([_image(10), _image(11)])
    for t, pure in ((0.0, 0), (1.0, 1)):
        np.testing.assert_allclose(
            style.style_blend(two_styles, photos, 0, 1, t),
            two_styles.stylize(photos, pure),
            atol=1e-6,
        )
    half = style.style_blend(two_styles, photos, 0, 1, 0.5)
    averaged = style.pixel_average(two_styles, photos, 0, 1, 0.5)
    assert np.abs(half - averaged).max() > 1e-3  # style space is not pixel space


def test_fast_style_trains_and_restyles(features):
    photos = np.random.default_rng(1).uniform(0, 1, (4, 16, 16, 3)).astype(np.float32)
    model = style.course_stylizer(features, _image(12), width=4, res_blocks=1)
    history = model.fit(photos, epochs=1, batch_size=4, verbose=0)
    assert set(history.history) == {"loss", "style", "content"}
    out = model.stylize(photos[0])
    assert out.shape == (16, 16, 3) and 0 <= out.min() and out.max() <= 1
    assert style.ms_per_image(model, photos, repeats=1) > 0
    with pytest.raises(ValueError, match="multiples of 4"):
        model.stylize(np.zeros((1, 10, 10, 3), np.float32))


def test_style_images_are_square_rgb_in_range(capsys):
    for name in ("brick", "stripes", "waves", "mosaic"):
        image = styles.load_style_image(name, 32)
        assert image.shape == (32, 32, 3) and 0 <= image.min() and image.max() <= 1
    assert capsys.readouterr().out.count("\n") == 4
    assert styles.load_content_image("chelsea", 24).shape == (24, 24, 3)


def test_the_painting_is_missing_clearly(monkeypatch):
    from course_lib.data import photos

    monkeypatch.setattr(photos, "_opencv_dirs", lambda: [])
    assert "starry_night" not in styles.style_names()
    with pytest.raises(styles.DataNotFoundError, match="fetch_opencv_photos"):
        styles.load_style_image("starry_night")


# -- arbitrary style: AdaIN ---------------------------------------------------------------


def _maps(seed, shape):
    rng = np.random.default_rng(seed)
    scale = rng.uniform(0.5, 3.0, shape[-1]).astype(np.float32)
    shift = rng.normal(0, 2, shape[-1]).astype(np.float32)
    return (rng.normal(0, 1, shape) * scale + shift).astype(np.float32)


def test_adain_gives_the_style_s_mean_and_std_per_image_and_channel():
    c, s = _maps(1, (3, 5, 6, 4)), _maps(2, (3, 7, 4, 4))
    out = style.adain(c, s).numpy()
    assert out.shape == c.shape
    np.testing.assert_allclose(out.mean(axis=(1, 2)), s.mean(axis=(1, 2)), atol=1e-4)
    np.testing.assert_allclose(out.std(axis=(1, 2)), s.std(axis=(1, 2)), rtol=1e-3)
    # one style image serves a whole batch
    one = style.adain(c, s[:1]).numpy()
    np.testing.assert_allclose(
        one.std(axis=(1, 2)), np.repeat(s[:1].std(axis=(1, 2)), 3, 0), rtol=1e-3
    )


def test_adain_of_a_map_with_itself_changes_nothing():
    c = _maps(3, (2, 6, 6, 5))
    np.testing.assert_allclose(style.adain(c, c).numpy(), c, atol=1e-4)


def test_moment_loss_is_zero_for_the_same_statistics_and_positive_otherwise():
    a, b = _maps(4, (2, 5, 5, 3)), _maps(5, (2, 5, 5, 3))
    assert float(style.moment_loss([a], [a])) == pytest.approx(0.0, abs=1e-7)
    assert float(style.moment_loss([style.adain(a, b)], [b])) == pytest.approx(0.0, abs=1e-6)
    assert float(style.moment_loss([a], [b])) > 0.01


@pytest.fixture(scope="module")
def adain_model():
    feats = style.adain_features("random", widths=SMALL, verbose=False)
    rng = np.random.default_rng(0)
    return style.course_adain(
        rng.uniform(0, 1, (2, 24, 24, 3)).astype(np.float32), features=feats, width=4
    )


def test_adain_trains_the_decoder_only_and_lowers_a_fixed_batch_s_loss(adain_model):
    m = adain_model
    x = np.random.default_rng(1).uniform(0, 1, (4, 16, 16, 3)).astype(np.float32)
    s = np.random.default_rng(2).uniform(0, 1, (4, 16, 16, 3)).astype(np.float32)
    encoder, decoder = m.encoder.get_weights(), m.decoder.get_weights()
    before = float(m.losses_of(x, s)[0])
    m.fit(x, epochs=1, batch_size=4, verbose=0)
    assert all(np.array_equal(a, b) for a, b in zip(encoder, m.encoder.get_weights()))
    assert not all(np.array_equal(a, b) for a, b in zip(decoder, m.decoder.get_weights()))
    m.fit(x, epochs=5, batch_size=4, verbose=0)  # style crops differ; the fixed pair is measured
    assert float(m.losses_of(x, s)[0]) < before


def test_adain_takes_any_style_image_at_run_time(adain_model):
    content = _image(3, 16)
    for shape in ((9, 13, 3), (40, 28, 3)):
        out = adain_model.stylize(content, np.random.default_rng(4).uniform(0, 1, shape), alpha=0.5)
        assert out.shape == (16, 16, 3) and 0 <= out.min() and out.max() <= 1
    batch = adain_model.stylize(np.stack([content, content]), _image(5, 12))
    assert batch.shape == (2, 16, 16, 3)


@pytest.mark.parametrize(
    "call, message",
    [
        (lambda m: style.adain(np.zeros((2, 4, 4, 3)), np.zeros((2, 4, 4, 5))), "same channels"),
        (lambda m: style.adain(np.zeros((4, 4, 3)), np.zeros((1, 4, 4, 3))), "feature maps"),
        (
            lambda m: style.adain(np.zeros((3, 4, 4, 3)), np.zeros((2, 4, 4, 3))),
            "1 image or as many",
        ),
        (lambda m: m.stylize(_image(0, 18), _image(1, 8)), "multiples of 4"),
        (lambda m: m.stylize(_image(0, 16), _image(1, 8) * 255), "range"),
        (lambda m: m.stylize(_image(0, 16), _image(1, 8), alpha=2.0), "alpha"),
        (lambda m: m.stylize(_image(0, 16), np.stack([_image(1, 8)] * 2)), "one RGB image"),
        (lambda m: m.fit(np.zeros((2, 32, 32, 3), np.float32), epochs=1, verbose=0), "larger"),
    ],
)
def test_adain_bad_input_gets_a_clear_error(adain_model, call, message):
    with pytest.raises(ValueError, match=message):
        call(adain_model)
