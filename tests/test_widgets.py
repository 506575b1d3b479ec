"""Tests of course_lib.widgets: sliders redraw the image; the static fallback is drawn
where no front end runs; bad arguments fail clearly."""

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402

from course_lib import widgets  # noqa: E402


def decode(codes):
    """A fake decoder: the image's brightness is the code's first entry, mapped to [0, 1]."""
    codes = np.asarray(codes)
    level = (np.tanh(codes[:, 0]) + 1) / 2 + 0.0 * codes[:, 1]
    return np.broadcast_to(level[:, None, None, None], (len(codes), 28, 28, 1)).copy()


def decode_with_label(codes, labels):
    return decode(codes) * 0 + np.asarray(labels, float)[:, None, None, None] / 10


def test_moving_a_slider_redraws_the_image():
    explorer = widgets.LatentExplorer(decode, latent_dim=2)
    box = explorer.widget()
    controls, picture = box.children
    first_png = bytes(picture.value)
    assert first_png.startswith(b"\x89PNG")
    slider = controls.children[0]
    slider.value = 2.0  # what dragging the slider does
    assert explorer.code[0] == pytest.approx(2.0)
    assert explorer.image().mean() == pytest.approx((np.tanh(2.0) + 1) / 2, rel=1e-6)
    assert bytes(picture.value) != first_png
    controls.children[1].value = -1.0
    assert explorer.code[1] == pytest.approx(-1.0)


def test_class_menu_changes_the_class_drawn():
    explorer = widgets.LatentExplorer(decode_with_label, 2, classes=["a", "b", "c"])
    controls, picture = explorer.widget().children
    menu = controls.children[0]
    before = bytes(picture.value)
    menu.value = 2
    assert explorer.label == 2
    assert explorer.image().mean() == pytest.approx(0.2)
    assert bytes(picture.value) != before


def test_static_fallback_sweeps_each_slider():
    seen = []

    def recording_decode(codes):
        seen.append(np.array(codes))
        return decode(codes)

    explorer = widgets.LatentExplorer(recording_decode, 3, dims=[0, 2], span=2.0)
    fig = explorer.static_figure(steps=5)
    codes = seen[-1]
    assert codes.shape == (10, 3)
    np.testing.assert_allclose(codes[:5, 0], np.linspace(-2, 2, 5))
    np.testing.assert_allclose(codes[5:, 2], np.linspace(-2, 2, 5))
    assert np.all(codes[5:, 0] == 0) and np.all(codes[:, 1] == 0)
    labels = [t.get_text() for t in fig.axes[0].get_yticklabels()]
    assert labels == ["z[0]", "z[2]"]
    plt.close(fig)


def test_show_falls_back_to_a_figure_without_a_front_end(monkeypatch, capsys):
    monkeypatch.delenv("COURSE_WIDGETS", raising=False)
    assert widgets.display_mode() == "static"  # pytest sets PYTEST_CURRENT_TEST
    shown = widgets.LatentExplorer(decode, 2).show()
    assert isinstance(shown, matplotlib.figure.Figure)
    assert "static" in capsys.readouterr().out
    plt.close(shown)


def test_display_mode_can_be_forced(monkeypatch):
    monkeypatch.setenv("COURSE_WIDGETS", "live")
    assert widgets.display_mode() == "live"
    monkeypatch.setenv("COURSE_WIDGETS", "static")
    assert widgets.display_mode() == "static"
    monkeypatch.setenv("COURSE_WIDGETS", "sometimes")
    with pytest.raises(ValueError, match="COURSE_WIDGETS"):
        widgets.display_mode()
    # outside pytest and outside a Jupyter kernel there is no front end either
    monkeypatch.delenv("COURSE_WIDGETS")
    monkeypatch.delenv("PYTEST_CURRENT_TEST")
    assert widgets.display_mode() == "static"


@pytest.mark.parametrize(
    "kwargs, words",
    [
        (dict(decode=None, latent_dim=2), "decode must be a function"),
        (dict(decode=decode, latent_dim=0), "latent_dim"),
        (dict(decode=decode, latent_dim=2, dims=[2]), "dims"),
        (dict(decode=decode, latent_dim=2, dims=[0, 0]), "distinct"),
        (dict(decode=decode, latent_dim=2, span=0), "span"),
        (dict(decode=decode, latent_dim=2, start=[0, 0, 0]), "start"),
    ],
)
def test_bad_arguments_fail_clearly(kwargs, words):
    with pytest.raises((TypeError, ValueError), match=words):
        widgets.LatentExplorer(**kwargs)


def test_bad_calls_fail_clearly():
    explorer = widgets.LatentExplorer(decode, 3, dims=[0])
    with pytest.raises(ValueError, match="no slider"):
        explorer.set(1, 0.5)
    with pytest.raises(ValueError, match="no classes"):
        explorer.set_class(1)
    with pytest.raises(ValueError, match="mode"):
        explorer.show(mode="fancy")
    broken = widgets.LatentExplorer(lambda codes: np.zeros((len(codes), 5)), 2)
    with pytest.raises(ValueError, match="one image per code"):
        broken.image()


# -- WipeCompare (chapter 05) -----------------------------------------------------------------


def test_wipe_shows_the_first_image_left_of_the_slider():
    first, second = -np.ones((6, 8)), np.ones((6, 8))
    wipe = widgets.WipeCompare(first, second, ("a", "b"), value_range=(-1, 1))
    np.testing.assert_array_equal(wipe.image(3)[:, :3], 0.0)
    np.testing.assert_array_equal(wipe.image(3)[:, 3:], 1.0)
    assert wipe.image(0).min() == 1.0 and wipe.image(8).max() == 0.0
    with pytest.raises(ValueError, match="between 0 and 8"):
        wipe.image(9)


def test_wipe_widget_moves_and_static_fallback(monkeypatch, capsys):
    wipe = widgets.WipeCompare(np.zeros((6, 8, 1)), np.ones((6, 8, 1)), value_range=(0, 1))
    box = wipe.widget()
    slider, picture = box.children
    before = picture.value
    slider.value = 2
    assert wipe.position == 2 and picture.value != before
    monkeypatch.setenv("COURSE_WIDGETS", "static")
    fig = wipe.show()
    assert isinstance(fig, plt.Figure)
    assert "a wipe at half way" in capsys.readouterr().out
    plt.close(fig)
    with pytest.raises(ValueError, match="same shape"):
        widgets.WipeCompare(np.zeros((6, 8)), np.zeros((6, 7)))
