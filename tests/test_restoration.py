"""Chapter 05: masks, inpainting, PSNR/SSIM, super-resolution and pix2pix."""

import keras
import numpy as np
import pytest
import tensorflow as tf

from course_lib import metrics
from course_lib.conventions import as_masks
from course_lib.models import diffusion
from course_lib.models import restoration as R


def images(n, size=28, seed=0):
    return np.random.default_rng(seed).uniform(-1, 1, (n, size, size, 1)).astype(np.float32)


# -- masks: 1 = missing ----------------------------------------------------------------------


def test_rectangle_masks_hold_one_rectangle_of_ones():
    masks = R.rectangle_masks(20, 28, min_side=10, max_side=14, seed=1)
    assert masks.shape == (20, 28, 28, 1) and set(np.unique(masks)) == {0.0, 1.0}
    for mask in masks[..., 0]:
        rows, cols = np.flatnonzero(mask.any(1)), np.flatnonzero(mask.any(0))
        assert 10 <= len(rows) <= 14 and 10 <= len(cols) <= 14
        assert mask.sum() == len(rows) * len(cols)  # a full rectangle, nothing else
        assert np.ptp(rows) == len(rows) - 1 and np.ptp(cols) == len(cols) - 1


def test_stroke_and_half_masks():
    strokes = R.stroke_masks(10, 32, seed=0)
    assert strokes.shape == (10, 32, 32, 1) and set(np.unique(strokes)) == {0.0, 1.0}
    assert 0.02 < strokes.mean() < 0.6
    assert not np.array_equal(strokes[0], strokes[1])
    right = R.half_masks(2, 28)
    assert right[:, :, 14:].min() == 1 and right[:, :, :14].max() == 0


def test_hide_blanks_the_hole_and_keeps_the_rest():
    x, masks = images(4), R.rectangle_masks(4, seed=2)
    hidden = R.hide(x, masks, fill=0.0)
    assert np.all(hidden[masks == 1] == 0)
    np.testing.assert_array_equal(hidden[masks == 0], x[masks == 0])


@pytest.mark.parametrize(
    "mask, message",
    [
        (np.zeros((4, 14, 14, 1)), "shape"),
        (np.full((4, 28, 28, 1), 0.5), "only 0"),
        (np.full((4, 28, 28, 1), 255.0), "only 0"),
        (np.zeros((3, 28, 28, 1)), "3 masks for 4"),
        (np.zeros((4, 28, 28, 3)), "shape"),
    ],
)
def test_a_wrong_mask_gets_a_clear_error(mask, message):
    with pytest.raises(ValueError, match=message):
        R.hide(images(4), mask)


def test_one_mask_serves_every_image():
    assert as_masks(np.ones((1, 28, 28)), images(3)).shape == (3, 28, 28, 1)


def test_masked_l1_counts_only_the_hole():
    target, mask = images(3, seed=1), R.rectangle_masks(3, seed=3)
    guess = images(3, seed=2)
    want = np.abs(target - guess)[mask == 1].mean()
    assert float(R.masked_l1(target, guess, mask)) == pytest.approx(want, rel=1e-5)
    changed = np.where(mask == 1, guess, 5.0)  # known pixels wildly wrong: no effect
    assert float(R.masked_l1(target, changed, mask)) == pytest.approx(want, rel=1e-5)


# -- inpainting keeps every known pixel exactly --------------------------------------------


def test_biharmonic_keeps_known_pixels_and_fills_a_smooth_hole():
    ramp = np.tile(np.linspace(-1, 1, 28, dtype=np.float32), (28, 1))[None, ..., None]
    mask = R.rectangle_masks(1, seed=0)
    filled = R.inpaint_biharmonic(ramp, mask)
    np.testing.assert_array_equal(filled[mask == 0], ramp[mask == 0])
    np.testing.assert_allclose(filled, ramp, atol=1e-3)  # a plane is biharmonic


@pytest.mark.parametrize("method", R.OPENCV_METHODS)
def test_opencv_keeps_known_pixels_and_fills_near_the_truth(method):
    ramp = np.tile(np.linspace(-1, 1, 28, dtype=np.float32), (28, 1))[None, ..., None]
    ramp = np.concatenate([ramp, np.full_like(ramp, 0.25)])  # a ramp and a flat grey
    mask = R.rectangle_masks(2, seed=0)
    filled = R.inpaint_opencv(ramp, mask, method=method)
    np.testing.assert_array_equal(filled[mask == 0], ramp[mask == 0])
    hole = mask == 1
    # a flat grey is filled with itself, up to 8-bit rounding (Telea dithers by one level)
    np.testing.assert_allclose(filled[1][hole[1]], 0.25, atol=2.01 / 127.5)
    blank = np.abs(R.hide(ramp, mask)[0][hole[0]] - ramp[0][hole[0]]).mean()
    assert np.abs(filled[0][hole[0]] - ramp[0][hole[0]]).mean() < 0.5 * blank


def test_opencv_rejects_an_unknown_method_and_a_bad_radius():
    x = np.zeros((1, 28, 28, 1), np.float32)
    mask = R.rectangle_masks(1, seed=0)
    with pytest.raises(ValueError, match=r"method must be one of \('telea', 'ns'\)"):
        R.inpaint_opencv(x, mask, method="fast")
    with pytest.raises(ValueError, match="radius"):
        R.inpaint_opencv(x, mask, radius=0)


def test_trained_inpainter_keeps_known_pixels_and_learns():
    x = np.tile(np.linspace(-1, 1, 28, dtype=np.float32), (28, 1))[None, ..., None]
    x = np.repeat(x, 64, axis=0)
    masks = R.rectangle_masks(64, seed=0)
    model = R.course_inpainter()
    before = float(R.masked_l1(x, model.inpaint(x, masks), masks))
    history = model.fit(x, masks, epochs=4, batch_size=16, verbose=0).history
    out = model.inpaint(x[:8], masks[:8])
    np.testing.assert_array_equal(out[masks[:8] == 0], x[:8][masks[:8] == 0])
    assert history["hole_l1"][-1] < before
    with pytest.raises(ValueError, match="fit\\(images, masks\\)"):
        model.fit(x, epochs=1, verbose=0)
    with pytest.raises(ValueError, match="range"):
        model.inpaint(x * 255, masks)


def test_paste_known_is_the_noised_known_image_outside_the_hole():
    x, known, noise = images(2, seed=1), images(2, seed=2), images(2, seed=3)
    mask = R.rectangle_masks(2, seed=4)
    out = diffusion.paste_known(x, known, mask, 0.64, noise)
    np.testing.assert_allclose(out[mask == 1], x[mask == 1])
    np.testing.assert_allclose(out[mask == 0], (0.8 * known + 0.6 * noise)[mask == 0], rtol=1e-6)


def test_diffusion_inpainting_keeps_known_pixels():
    model = diffusion.DiffusionModel(timesteps=20, channels=(8, 16, 16))
    known = np.clip(images(3), -1, 1)
    mask = R.half_masks(3)
    out = R.diffusion_inpaint(model, known, mask, steps=4)
    np.testing.assert_array_equal(out[mask == 0], known[mask == 0])
    assert not np.allclose(out[mask == 1], known[mask == 1])


# -- PSNR and SSIM -------------------------------------------------------------------------


@pytest.mark.parametrize("value_range, peak", [((0, 1), 1.0), ((-1, 1), 2.0)])
def test_psnr_of_a_known_pair_is_its_closed_form(value_range, peak):
    a = np.full((2, 16, 16, 1), 0.25, np.float32)
    b = a + np.array([0.1, 0.05], np.float32).reshape(2, 1, 1, 1)
    want = 10 * np.log10(peak**2 / np.array([0.1, 0.05]) ** 2)
    np.testing.assert_allclose(metrics.psnr(b, a, value_range), want, rtol=1e-5)
    assert np.all(np.isinf(metrics.psnr(a, a, value_range)))


def test_psnr_in_a_mask_and_with_a_border():
    a = np.zeros((1, 16, 16, 1), np.float32)
    b = a.copy()
    b[:, :4] = 0.5  # error only in the top rows
    hole = np.zeros_like(a)
    hole[:, 8:] = 1
    assert np.isinf(metrics.psnr(b, a, mask=hole)[0])
    assert metrics.psnr(b, a, mask=1 - hole)[0] == pytest.approx(10 * np.log10(1 / 0.125), rel=1e-5)
    assert np.isinf(metrics.psnr(b, a, border=4)[0])


def test_ssim_matches_scikit_image_and_is_one_for_identical_images():
    from skimage.metrics import structural_similarity

    rng = np.random.default_rng(0)
    a = rng.random((2, 32, 32, 1)).astype(np.float32)
    b = np.clip(a + 0.1 * rng.normal(size=a.shape), 0, 1).astype(np.float32)
    want = [
        structural_similarity(
            a[i, ..., 0],
            b[i, ..., 0],
            data_range=1,
            gaussian_weights=True,
            sigma=1.5,
            use_sample_covariance=False,
        )
        for i in range(2)
    ]
    np.testing.assert_allclose(metrics.ssim(b, a), want, atol=1e-4)
    np.testing.assert_allclose(metrics.ssim(2 * b - 1, 2 * a - 1, (-1, 1)), want, atol=1e-4)
    np.testing.assert_allclose(metrics.ssim(a, a), 1.0, atol=1e-6)


@pytest.mark.parametrize(
    "a, b, message",
    [
        (np.zeros((2, 16, 16, 1)), np.zeros((2, 8, 8, 1)), "same shape"),
        (np.full((2, 16, 16, 1), 200.0), np.zeros((2, 16, 16, 1)), "0-255"),
        (np.zeros((16, 16)), np.zeros((16, 16)), "shape"),
    ],
)
def test_metrics_refuse_bad_input(a, b, message):
    with pytest.raises(ValueError, match=message):
        metrics.psnr(a, b)


# -- super-resolution ----------------------------------------------------------------------


@pytest.mark.parametrize("scale", [2, 3, 4])
def test_depth_to_space_shapes_and_layout(scale):
    x = np.arange(2 * 3 * 5 * scale * scale * 2, dtype=np.float32).reshape(2, 3, 5, -1)
    out = np.asarray(R.depth_to_space(x, scale))
    assert out.shape == (2, 3 * scale, 5 * scale, 2)
    # pixel (i, j)'s channels fill the s x s block at (i*s, j*s), row by row, channels last
    block = x[1, 2, 4].reshape(scale, scale, 2)
    np.testing.assert_array_equal(out[1, 2 * scale : 3 * scale, 4 * scale : 5 * scale], block)
    np.testing.assert_array_equal(out, tf.nn.depth_to_space(x, scale).numpy())


def test_depth_to_space_refuses_channels_it_cannot_split():
    with pytest.raises(ValueError, match="divisible by 9"):
        R.depth_to_space(np.zeros((1, 4, 4, 8), np.float32), 3)


@pytest.mark.parametrize("kind", ["espcn", "edsr"])
@pytest.mark.parametrize("scale", [2, 3, 4])
def test_super_resolution_output_shape_at_each_scale(kind, scale):
    model = R.course_super_resolution(kind, scale)
    small = images(2, 12)
    assert model.upscale(small).shape == (2, 12 * scale, 12 * scale, 1)
    assert model.upscale(images(1, 7)).shape == (1, 7 * scale, 7 * scale, 1)  # any size
    assert model.run_name == f"ch05_{kind}_x{scale}"


def test_super_resolution_starts_near_bicubic_and_trains():
    hi = np.clip(np.repeat(images(1, 24), 32, 0) * 0.5, -1, 1)
    lo, hi = R.super_resolution_pairs(hi, 2)
    assert lo.shape == (32, 12, 12, 1)
    model = R.course_super_resolution("espcn", 2)
    history = model.fit(lo, hi, epochs=3, batch_size=8, verbose=0).history
    assert history["l1"][-1] < history["l1"][0]
    bicubic = R.bicubic_upscale(lo, 2)
    assert bicubic.shape == hi.shape


@pytest.mark.parametrize(
    "call, message",
    [
        (lambda: R.course_super_resolution("espcn", 5), "scale must be one of"),
        (lambda: R.course_super_resolution("srgan", 2), "kind must be"),
        (lambda: R.downscale(images(1, 28), 3), "divide by the scale 3"),
        (lambda: R.bicubic_upscale(images(1, 12) * 255, 2), "range"),
        (
            lambda: R.course_super_resolution("espcn", 2).fit(images(2, 8), images(2, 12)),
            "2x the size",
        ),
    ],
)
def test_super_resolution_bad_input(call, message):
    with pytest.raises(ValueError, match=message):
        call()


# -- pix2pix -------------------------------------------------------------------------------


def test_edge_maps_are_binary_line_drawings():
    square = -np.ones((1, 28, 28, 1), np.float32)
    square[:, 8:20, 8:20] = 1.0
    edges = R.edge_maps(square)
    assert set(np.unique(edges)) == {-1.0, 1.0}
    assert edges[0, 14, 14, 0] == -1 and edges[0, 2, 2, 0] == -1  # flat inside and outside
    assert edges[0, 8, 14, 0] == 1  # the border is an edge


def test_pix2pix_judges_pairs_and_trains_one_epoch():
    model = R.course_pix2pix()
    assert model.discriminator.input_shape == (None, 28, 28, 2)
    assert model.discriminator.output_shape == (None, 7, 7, 1)  # one score per patch
    targets = np.clip(images(32), -1, 1)
    history = model.fit(R.edge_maps(targets), targets, epochs=1, batch_size=16, verbose=0).history
    assert all(np.isfinite(v[-1]) for v in history.values())
    assert model.translate(targets[:3]).shape == (3, 28, 28, 1)
    with pytest.raises(ValueError, match="pairs"):
        model.fit(targets, epochs=1, verbose=0)


# -- super-resolution by diffusion (SR3) ----------------------------------------------------


@pytest.fixture(scope="module")
def sr3_model():
    keras.utils.set_random_seed(0)
    return R.course_sr_diffusion(4, timesteps=20)


def test_sr3_is_told_the_bicubic_image_and_draws_by_seed(sr3_model):
    x = np.tile(np.linspace(-1, 1, 28, dtype=np.float32), (28, 1))[None, ..., None]
    x = np.concatenate([x, -x])
    small = R.downscale(x, 4)
    np.testing.assert_allclose(R.sr_diffusion_condition(small, 4), R.bicubic_upscale(small, 4))
    a = R.diffusion_super_resolve(sr3_model, small, steps=3, seed=0)
    assert a.shape == (2, 28, 28, 1) and a.min() >= -1 and a.max() <= 1
    np.testing.assert_array_equal(a, R.diffusion_super_resolve(sr3_model, small, steps=3, seed=0))
    assert not np.array_equal(a, R.diffusion_super_resolve(sr3_model, small, steps=3, seed=1))
    assert sr3_model.cond_channels == 1 and sr3_model.run_name == "ch05_sr3_x4"


def test_sr3_rejects_the_wrong_size_and_a_model_without_a_condition(sr3_model):
    with pytest.raises(ValueError, match=r"low must be 7x7 images for this x4 model; got 14x14"):
        R.diffusion_super_resolve(sr3_model, np.zeros((1, 14, 14, 1), np.float32))
    with pytest.raises(TypeError, match="SR3 model from course_sr_diffusion"):
        R.diffusion_super_resolve(R.course_inpainter(), np.zeros((1, 7, 7, 1), np.float32))
    with pytest.raises(ValueError, match="scale must divide the 28-pixel"):
        R.course_sr_diffusion(3)
