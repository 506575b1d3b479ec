"""Tests of course_lib.config: quick mode, budgets, seeding and the device line."""

import random

import numpy as np
import pytest
import tensorflow as tf

from course_lib import config


@pytest.mark.parametrize("raw", ["1", "true", "TRUE", "Yes", "on", " 1 ", "True\n"])
def test_is_quick_true_values(monkeypatch, raw):
    monkeypatch.setenv("COURSE_QUICK", raw)
    assert config.is_quick() is True


@pytest.mark.parametrize("raw", ["", "0", "false", "False", "NO", "off", "  "])
def test_is_quick_false_values(monkeypatch, raw):
    monkeypatch.setenv("COURSE_QUICK", raw)
    assert config.is_quick() is False


def test_is_quick_unset_is_false(monkeypatch):
    monkeypatch.delenv("COURSE_QUICK", raising=False)
    assert config.is_quick() is False


@pytest.mark.parametrize("raw", ["2", "maybe", "quick", "y", "-1"])
def test_is_quick_bad_value_raises(monkeypatch, raw):
    monkeypatch.setenv("COURSE_QUICK", raw)
    with pytest.raises(ValueError, match="COURSE_QUICK"):
        config.is_quick()


def test_is_quick_is_read_afresh(monkeypatch):
    monkeypatch.setenv("COURSE_QUICK", "1")
    assert config.is_quick()
    monkeypatch.setenv("COURSE_QUICK", "0")
    assert not config.is_quick()


def test_budget_picks_full_or_quick(monkeypatch):
    monkeypatch.setenv("COURSE_QUICK", "0")
    assert config.budget(full=15, quick=1) == 15
    assert config.budget(full=0.5, quick=0.01) == 0.5
    assert config.budget(full=None, quick=None) is None
    monkeypatch.setenv("COURSE_QUICK", "1")
    assert config.budget(full=15, quick=1) == 1
    assert config.budget(full=0.5, quick=0.01) == 0.01
    assert config.budget(full=None, quick=None) is None


def test_budget_none_means_no_limit_in_either_mode(monkeypatch):
    # limit=budget(full=None, quick=2000): all the data normally, 2,000 in quick mode
    monkeypatch.setenv("COURSE_QUICK", "0")
    assert config.budget(full=None, quick=2000) is None
    assert config.budget(full=500, quick=None) == 500
    monkeypatch.setenv("COURSE_QUICK", "1")
    assert config.budget(full=None, quick=2000) == 2000
    assert config.budget(full=500, quick=None) is None


def test_budget_needs_keyword_arguments():
    with pytest.raises(TypeError):
        config.budget(15, 1)
    with pytest.raises(TypeError):
        config.budget(full=15)


@pytest.mark.parametrize(
    "full, quick",
    [
        (True, 1),
        (10, False),
        ("10", 1),
        (10, "1"),
        ("all", None),
        ([10], 1),
    ],
)
def test_budget_rejects_bad_input(monkeypatch, full, quick):
    for mode in ("0", "1"):
        monkeypatch.setenv("COURSE_QUICK", mode)
        with pytest.raises(TypeError, match="budget"):
            config.budget(full=full, quick=quick)


def _draws():
    return (
        random.random(),
        np.random.rand(3),
        tf.random.uniform((3,)).numpy(),
    )


def test_seed_everything_makes_draws_repeatable(monkeypatch):
    assert config.seed_everything(123) == 123
    first = _draws()
    config.seed_everything(123)
    second = _draws()
    assert first[0] == second[0]
    np.testing.assert_array_equal(first[1], second[1])
    np.testing.assert_array_equal(first[2], second[2])


def test_seed_everything_different_seeds_differ(monkeypatch):
    monkeypatch.setenv("PYTHONHASHSEED", "0")
    config.seed_everything(1)
    first = _draws()
    config.seed_everything(2)
    second = _draws()
    assert not np.array_equal(first[1], second[1])
    assert not np.array_equal(first[2], second[2])


def test_seed_everything_default_seed(monkeypatch):
    monkeypatch.setenv("PYTHONHASHSEED", "0")
    assert config.seed_everything() == 42


@pytest.mark.parametrize("seed", [-1, 1.5, "42", None, True, np.float64(3.0)])
def test_seed_everything_rejects_bad_seeds(seed):
    with pytest.raises(ValueError, match="non-negative int"):
        config.seed_everything(seed)


@pytest.mark.parametrize("mode, word", [("1", "quick"), ("0", "full")])
def test_device_summary_is_one_line(monkeypatch, mode, word):
    monkeypatch.setenv("COURSE_QUICK", mode)
    line = config.device_summary()
    assert isinstance(line, str)
    assert "\n" not in line
    assert f"TensorFlow {tf.__version__}" in line
    assert f"{word} mode" in line
    other = "full" if word == "quick" else "quick"
    assert f"{other} mode" not in line


def test_package_exports_config_functions():
    import course_lib

    assert course_lib.budget is config.budget
    assert course_lib.is_quick is config.is_quick
    assert course_lib.seed_everything is config.seed_everything
    assert course_lib.device_summary is config.device_summary
