"""Chapter 05's photo patches: split by photo, shapes and ranges, sources, setup's fetch."""

import numpy as np
import pytest

from course_lib import data
from course_lib.data import photos


def test_no_photo_is_on_both_sides_of_the_split():
    train, test = set(data.photo_names("train")), set(data.photo_names("test"))
    assert train and test
    assert not train & test
    assert test <= data.HELD_OUT_PHOTOS
    assert {"astronaut", "coffee", "grace_hopper"} <= test  # scikit-image, matplotlib


def test_patches_come_only_from_their_split(monkeypatch):
    # every photo is one flat grey value: a patch says which photo it was cut from
    names = ["astronaut", "coffee", "camera", "chelsea", "rocket"]
    values = {name: (k + 1) / 10 for k, name in enumerate(names)}
    fake = {name: np.full((60, 70, 3), v, np.float32) for name, v in values.items()}
    monkeypatch.setattr(photos, "_all_photos", lambda: (fake, ("synthetic",)))
    for split in ("train", "test"):
        patches, index = data.load_photo_patches(split, n=40, size=16, channels="rgb", verbose=0)
        allowed = {values[n] for n in names if photos.photo_split(n) == split}
        seen = np.unique(patches)
        assert all(np.isclose(v, sorted(allowed)).any() for v in seen), (seen, allowed)
        chosen = data.photo_names(split)
        assert all(
            patches[i, 0, 0, 0] == pytest.approx(values[chosen[k]]) for i, k in enumerate(index)
        )
        assert len(set(index)) == len(allowed)  # every photo of the split gives patches


def test_patch_shapes_ranges_and_seed(capsys):
    a, _ = data.load_photo_patches("test", n=12, size=24, value_range=(-1, 1), seed=3)
    assert "sources: scikit-image" in capsys.readouterr().out
    assert a.shape == (12, 24, 24, 1) and a.dtype == np.float32
    assert -1.0 <= a.min() and a.max() <= 1.0 and a.max() - a.min() > 0.5
    b, _ = data.load_photo_patches("test", n=12, size=24, value_range=(-1, 1), seed=3, verbose=0)
    c, _ = data.load_photo_patches("test", n=12, size=24, value_range=(-1, 1), seed=4, verbose=0)
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, c)
    rgb, _ = data.load_photo_patches("train", n=4, size=24, channels="rgb", verbose=0)
    assert rgb.shape == (4, 24, 24, 3)
    np.testing.assert_allclose(data.to_luma(rgb)[..., 0], rgb @ [0.299, 0.587, 0.114], atol=1e-6)


@pytest.mark.parametrize(
    "kwargs, message",
    [
        (dict(split="valid"), "split must be"),
        (dict(channels="bgr"), "channels must be"),
        (dict(size=2), "size"),
        (dict(size=4000), "at least 4000 pixels"),
        (dict(value_range=(1, 0)), "value_range"),
    ],
)
def test_bad_arguments_say_what_was_expected(kwargs, message):
    with pytest.raises((ValueError, data.DataNotFoundError), match=message):
        data.load_photo_patches(**{"n": 2, "verbose": False, **kwargs})


def test_fetch_without_apt_says_so_and_returns_none(monkeypatch, tmp_path):
    monkeypatch.setenv("COURSE_DATA_DIR", str(tmp_path))
    monkeypatch.setattr(photos, "OPENCV_DEBIAN_DIR", tmp_path / "absent")
    monkeypatch.setattr(photos.shutil, "which", lambda name: None)
    lines = []
    assert data.fetch_opencv_photos(say=lines.append) is None
    assert len(lines) == 1 and "opencv-doc" in lines[0]


def test_fetch_is_silent_when_the_photos_are_there(monkeypatch, tmp_path):
    monkeypatch.setenv("COURSE_DATA_DIR", str(tmp_path))
    folder = tmp_path / "opencv-photos"
    folder.mkdir()
    for name in photos.OPENCV_PHOTOS + photos.OPENCV_PAINTINGS:
        (folder / name).write_bytes(b"x")
    lines = []
    assert data.fetch_opencv_photos(say=lines.append) == folder
    assert lines == []


def test_a_failed_apt_get_falls_back_cleanly(monkeypatch, tmp_path):
    monkeypatch.setenv("COURSE_DATA_DIR", str(tmp_path))
    monkeypatch.setattr(photos, "OPENCV_DEBIAN_DIR", tmp_path / "absent")
    monkeypatch.setattr(photos.shutil, "which", lambda name: "/bin/false")

    def offline(*args, **kwargs):
        raise photos.subprocess.CalledProcessError(100, args[0])

    monkeypatch.setattr(photos.subprocess, "run", offline)
    lines = []
    assert data.fetch_opencv_photos(say=lines.append) is None
    assert "could not fetch" in lines[-1] and not (tmp_path / "opencv-photos").exists()


def test_flat_patches_are_cut_again(monkeypatch):
    flat_then_busy = np.zeros((40, 80, 3), np.float32)
    flat_then_busy[:, 40:] = np.random.default_rng(0).random((40, 40, 3))
    monkeypatch.setattr(photos, "_all_photos", lambda: ({"camera": flat_then_busy}, ("x",)))
    patches, _ = data.load_photo_patches("train", n=30, size=16, channels="rgb", verbose=False)
    assert patches.std(axis=(1, 2, 3)).min() >= 0.02
    kept, _ = data.load_photo_patches("train", n=30, size=16, min_std=0, verbose=False)
    assert kept.std(axis=(1, 2, 3)).min() < 0.02  # without the check, flat ones come through
