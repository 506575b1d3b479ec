"""Tests of course_lib.viz: mosaics, image grids, labelled rows and training curves."""

import math

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
import tensorflow as tf  # noqa: E402

from course_lib import viz  # noqa: E402


@pytest.fixture(autouse=True)
def close_figures():
    plt.close("all")
    yield
    plt.close("all")


def mosaic_shape(n, h, w, ncols, pad=1, channels=()):
    nrows = math.ceil(n / ncols)
    return (nrows * (h + pad) - pad, ncols * (w + pad) - pad, *channels)


def shown_image(fig):
    """The array the figure's single axes displays."""
    (ax,) = fig.axes
    (im,) = ax.images
    return np.asarray(im.get_array())


# -- tile_images -------------------------------------------------------------------------


@pytest.mark.parametrize(
    "shape, channels",
    [((5, 4, 6), ()), ((5, 4, 6, 1), ()), ((5, 4, 6, 3), (3,))],
    ids=["n-h-w", "n-h-w-1", "n-h-w-3"],
)
def test_tile_images_shapes(shape, channels):
    rng = np.random.default_rng(0)
    images = rng.uniform(0, 1, size=shape)
    mosaic = viz.tile_images(images)  # 5 images: 3 columns, 2 rows
    assert mosaic.shape == mosaic_shape(5, 4, 6, ncols=3, channels=channels)
    mosaic = viz.tile_images(images, ncols=5, pad=0)
    assert mosaic.shape == (4, 30, *channels)
    mosaic = viz.tile_images(images, ncols=2, pad=2)
    assert mosaic.shape == mosaic_shape(5, 4, 6, ncols=2, pad=2, channels=channels)


def test_tile_images_places_each_image():
    images = np.arange(6 * 2 * 3, dtype=np.float32).reshape(6, 2, 3) / 35.0  # in [0, 1]
    mosaic = viz.tile_images(images, ncols=4, pad=1, value_range=(0, 1))
    assert mosaic.shape == (2 * 3 - 1, 4 * 4 - 1)
    for i in range(6):
        r, c = divmod(i, 4)
        tile = mosaic[r * 3 : r * 3 + 2, c * 4 : c * 4 + 3]
        np.testing.assert_allclose(tile, images[i], atol=1e-6)
    # padding and the empty slots of the last row are white (1.0)
    assert np.all(mosaic[2, :] == 1.0)
    assert np.all(mosaic[:, 3] == 1.0)
    assert np.all(mosaic[3:, 8:] == 1.0)


@pytest.mark.parametrize("low, high", [(0, 1), (-1, 1), (0, 255)])
def test_tile_images_value_ranges_map_to_unit(low, high):
    ramp = np.linspace(low, high, 4 * 5).reshape(1, 4, 5)
    expected = (ramp[0] - low) / (high - low)
    for value_range in [(low, high), "auto"]:
        mosaic = viz.tile_images(ramp, value_range=value_range)
        assert mosaic.shape == (4, 5)
        assert mosaic.min() >= 0.0 and mosaic.max() <= 1.0
        np.testing.assert_allclose(mosaic, expected, atol=1e-6)


def test_tile_images_uint8_auto_range():
    images = np.full((2, 3, 3), 255, dtype=np.uint8)
    images[0] = 0
    mosaic = viz.tile_images(images, ncols=2, pad=0)
    np.testing.assert_allclose(mosaic[:, :3], 0.0)
    np.testing.assert_allclose(mosaic[:, 3:], 1.0)


def test_tile_images_refuses_pixels_outside_the_given_range():
    images = np.array([[[-0.5, 0.5, 1.5]]])
    with pytest.raises(ValueError, match=r"range from -0.5 to 1.5.*\[0, 1\]"):
        viz.tile_images(images, value_range=(0, 1))
    with pytest.raises(ValueError, match="0-255"):  # the classic: 0-255 pixels called (0, 1)
        viz.image_grid(np.full((2, 4, 4), 200.0), value_range=(0, 1))
    with pytest.raises(ValueError, match=r"\[0, 1\]"):  # -1..1 samples called (0, 1)
        viz.tile_images(np.linspace(-1, 1, 16).reshape(1, 4, 4), value_range=(0, 1))
    # a sample's small overshoot (a trained mixture's means reach -0.065) is clipped
    mosaic = viz.tile_images(np.array([[[-0.065, 0.5, 1.1]]]), value_range=(0, 1))
    np.testing.assert_allclose(mosaic, [[0.0, 0.5, 1.0]])


def test_tile_images_accepts_tensors_and_lists():
    images = np.random.default_rng(1).uniform(size=(4, 3, 3, 1)).astype(np.float32)
    from_tensor = viz.tile_images(tf.constant(images))
    from_list = viz.tile_images(images.tolist())
    np.testing.assert_allclose(from_tensor, viz.tile_images(images))
    np.testing.assert_allclose(from_list, viz.tile_images(images))


@pytest.mark.parametrize(
    "images",
    [
        np.zeros((4, 4)),  # one image, no batch axis
        np.zeros((2, 4, 4, 2)),  # two channels
        np.zeros((2, 4, 4, 4)),  # RGBA
        np.zeros((2, 2, 4, 4, 1)),  # 5-D
        np.zeros(5),
    ],
)
def test_wrong_shapes_raise_value_error(images):
    with pytest.raises(ValueError, match="shape"):
        viz.tile_images(images)
    with pytest.raises(ValueError, match="shape"):
        viz.image_grid(images)
    assert plt.get_fignums() == []


@pytest.mark.parametrize("images", [np.zeros((0, 4, 4)), np.zeros((0, 4, 4, 1)), []])
def test_empty_input_raises(images):
    with pytest.raises(ValueError):
        viz.tile_images(images)
    with pytest.raises(ValueError):
        viz.image_grid(images)


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_non_finite_values_raise(bad):
    images = np.zeros((3, 4, 4))
    images[1, 2, 2] = bad
    with pytest.raises(ValueError, match="NaN or infinity"):
        viz.tile_images(images)
    with pytest.raises(ValueError, match="NaN or infinity"):
        viz.image_grid(images)
    assert plt.get_fignums() == []


@pytest.mark.parametrize(
    "images", [np.array([[["a", "b"]]]), np.empty((2, 3, 3), dtype=object), [[["x"]]]]
)
def test_non_numeric_raises_type_error(images):
    with pytest.raises(TypeError, match="numeric"):
        viz.tile_images(images)


@pytest.mark.parametrize("ncols", [-1, 2.5, "3"])
def test_bad_ncols(ncols):
    with pytest.raises(ValueError, match="ncols"):
        viz.tile_images(np.zeros((4, 3, 3)), ncols=ncols)


def test_ncols_zero_is_rejected_not_replaced_by_the_default():
    # ncols=0 is no "positive int" (the error the functions give for -1); it must not
    # silently fall back to the square default like ncols=None does.
    images = np.zeros((4, 3, 3))
    with pytest.raises(ValueError, match="ncols"):
        viz.tile_images(images, ncols=0)
    with pytest.raises(ValueError, match="ncols"):
        viz.image_grid(images, ncols=0)


@pytest.mark.parametrize("value_range", [(1, 0), (0.5, 0.5), (0,), "bright", 3])
def test_bad_value_range(value_range):
    with pytest.raises(ValueError, match="value_range"):
        viz.tile_images(np.zeros((2, 3, 3)), value_range=value_range)


# -- image_grid --------------------------------------------------------------------------


@pytest.mark.parametrize(
    "shape, channels",
    [((7, 5, 4), ()), ((7, 5, 4, 1), ()), ((7, 5, 4, 3), (3,))],
    ids=["n-h-w", "n-h-w-1", "n-h-w-3"],
)
@pytest.mark.parametrize("low, high", [(0, 1), (-1, 1), (0, 255)])
def test_image_grid_returns_figure_with_mosaic(shape, channels, low, high):
    rng = np.random.default_rng(0)
    images = rng.uniform(low, high, size=shape)
    fig = viz.image_grid(images, value_range=(low, high))
    assert isinstance(fig, matplotlib.figure.Figure)
    shown = shown_image(fig)
    assert shown.shape == mosaic_shape(7, 5, 4, ncols=3, channels=channels)
    assert shown.min() >= 0.0 and shown.max() <= 1.0
    np.testing.assert_allclose(shown, viz.tile_images(images, 3, value_range=(low, high)))

    fig = viz.image_grid(images, ncols=7)
    assert shown_image(fig).shape == mosaic_shape(7, 5, 4, ncols=7, channels=channels)


def test_image_grid_titles_and_captions():
    images = np.zeros((4, 6, 6))
    fig = viz.image_grid(
        images, ncols=2, titles=["a", "b", "c", 3], row_labels=["top", "bottom"], title="Grid"
    )
    (ax,) = fig.axes
    assert ax.get_title() == "Grid"
    assert sorted(t.get_text() for t in ax.texts) == ["3", "a", "b", "c"]
    assert [t.get_text() for t in ax.get_yticklabels()] == ["top", "bottom"]


@pytest.mark.parametrize("titles", [["a", "b"], ["a"] * 5, []])
def test_image_grid_titles_must_match_images(titles):
    with pytest.raises(ValueError, match="titles"):
        viz.image_grid(np.zeros((4, 3, 3)), titles=titles)
    assert plt.get_fignums() == []


@pytest.mark.parametrize("row_labels", [["one"], ["a", "b", "c"]])
def test_image_grid_row_labels_must_match_rows(row_labels):
    with pytest.raises(ValueError, match="row_labels"):
        viz.image_grid(np.zeros((4, 3, 3)), ncols=2, row_labels=row_labels)
    assert plt.get_fignums() == []


# -- compare_rows ------------------------------------------------------------------------


def test_compare_rows_one_row_per_batch():
    rng = np.random.default_rng(2)
    real = rng.uniform(0, 1, size=(6, 5, 5, 1))
    fake = rng.uniform(0, 1, size=(4, 5, 5))  # fewer images, no channel axis
    fig = viz.compare_rows({"real": real, "generated": fake}, title="Compare")
    shown = shown_image(fig)
    assert shown.shape == mosaic_shape(8, 5, 5, ncols=4)
    np.testing.assert_allclose(shown[:5, :5], real[0, ..., 0], atol=1e-6)
    np.testing.assert_allclose(shown[6:11, :5], fake[0], atol=1e-6)
    (ax,) = fig.axes
    assert [t.get_text() for t in ax.get_yticklabels()] == ["real", "generated"]
    assert ax.get_title() == "Compare"


def test_compare_rows_with_ncols_and_colour():
    rng = np.random.default_rng(3)
    rows = {f"row {i}": rng.uniform(-1, 1, size=(5, 4, 4, 3)) for i in range(3)}
    fig = viz.compare_rows(rows, ncols=2, value_range=(-1, 1))
    assert shown_image(fig).shape == mosaic_shape(6, 4, 4, ncols=2, channels=(3,))


@pytest.mark.parametrize("rows", [{}, [np.zeros((2, 3, 3))], None])
def test_compare_rows_needs_a_non_empty_dict(rows):
    with pytest.raises(ValueError, match="dict"):
        viz.compare_rows(rows)


def test_compare_rows_shape_mismatch():
    with pytest.raises(ValueError, match="one shape"):
        viz.compare_rows({"a": np.zeros((2, 3, 3)), "b": np.zeros((2, 4, 4))})


def test_compare_rows_too_few_images_for_ncols():
    with pytest.raises(ValueError, match="ncols=3"):
        viz.compare_rows({"a": np.zeros((5, 3, 3)), "b": np.zeros((2, 3, 3))}, ncols=3)


def test_compare_rows_rejects_nan():
    bad = np.zeros((2, 3, 3))
    bad[0, 0, 0] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        viz.compare_rows({"a": np.zeros((2, 3, 3)), "b": bad})


# -- plot_history ------------------------------------------------------------------------


def test_plot_history_from_dict_pairs_val_curves():
    history = {"loss": [3.0, 2.0, 1.5], "val_loss": [3.5, 2.5, 2.0], "acc": [0.1, 0.5, 0.7]}
    fig = viz.plot_history(history, title="Training")
    (ax,) = fig.axes
    lines = {line.get_label(): line for line in ax.get_lines()}
    assert set(lines) == {"loss", "val_loss", "acc"}
    np.testing.assert_array_equal(lines["loss"].get_xdata(), [1, 2, 3])
    np.testing.assert_array_equal(lines["loss"].get_ydata(), history["loss"])
    np.testing.assert_array_equal(lines["val_loss"].get_ydata(), history["val_loss"])
    assert lines["val_loss"].get_linestyle() == "--"
    assert lines["loss"].get_linestyle() == "-"
    assert lines["val_loss"].get_color() == lines["loss"].get_color()
    assert lines["acc"].get_color() != lines["loss"].get_color()
    assert ax.get_title() == "Training"
    assert ax.get_xlabel() == "epoch"
    assert ax.get_legend() is not None


def test_plot_history_keys_and_existing_axes():
    history = {"loss": [1.0, 0.5], "kl": [0.2, 0.1]}
    fig, ax = plt.subplots()
    out = viz.plot_history(history, keys=["kl"], ax=ax, xlabel="batch")
    assert out is fig
    assert [line.get_label() for line in ax.get_lines()] == ["kl"]
    assert ax.get_xlabel() == "batch"


def test_plot_history_from_keras_history_object():
    class FakeHistory:  # the one attribute plot_history reads from keras.callbacks.History
        history = {"loss": [2.0, 1.0]}

    fig = viz.plot_history(FakeHistory())
    assert [line.get_label() for line in fig.axes[0].get_lines()] == ["loss"]


@pytest.mark.parametrize("history", [{}, [], None, [1.0, 2.0]])
def test_plot_history_rejects_empty_or_wrong_kind(history):
    with pytest.raises(ValueError, match="history"):
        viz.plot_history(history)


def test_plot_history_unknown_key():
    with pytest.raises(KeyError, match="accuracy"):
        viz.plot_history({"loss": [1.0]}, keys=["accuracy"])
    assert plt.get_fignums() == []


def test_epoch_strip_has_one_row_per_frame():
    frames = [(1, np.zeros((8, 28, 28))), (5, np.ones((8, 28, 28)))]
    fig = viz.epoch_strip(frames, n_per_row=4, value_range=(0, 1))
    labels = [t.get_text() for t in fig.axes[0].get_yticklabels()]
    assert labels == ["epoch 1", "epoch 5"]
    mosaic = fig.axes[0].images[0].get_array()
    assert mosaic.shape == (2 * 28 + 1, 4 * 28 + 3)
    plt.close(fig)
    with pytest.raises(ValueError, match="frames is empty"):
        viz.epoch_strip([])


def test_show_source_returns_the_code():
    shown = viz.show_source(viz.tile_images)
    text = getattr(shown, "data", shown)
    assert "def tile_images" in text
    with pytest.raises(TypeError, match="function, class or module"):
        viz.show_source(42)


def test_show_source_shows_several_objects_in_one_value():
    """Jupyter displays a cell's last value only: one call must carry every block."""
    shown = viz.show_source(viz.tile_images, viz.image_grid)
    text = getattr(shown, "data", shown)
    assert text.count("```python") == 2
    assert "def tile_images(" in text and "def image_grid(" in text
    with pytest.raises(TypeError, match="at least one"):
        viz.show_source()


def test_zoom_compare_draws_each_image_and_its_crop():
    from course_lib import viz

    images = {"a": np.zeros((16, 16, 1)), "b": np.ones((16, 16, 1))}
    fig = viz.zoom_compare(images, box=(2, 3, 8), value_range=(0, 1))
    assert len(fig.axes) == 4
    crop = fig.axes[2].images[0].get_array()  # bottom row, first column: the zoomed crop
    assert crop.shape == (8, 8)
    with pytest.raises(ValueError, match="does not fit"):
        viz.zoom_compare(images, box=(10, 10, 8))
