"""Tests of course_lib.grading: verdicts of run_check and the expect_* helpers."""

import json

import numpy as np
import pytest
import tensorflow as tf

from course_lib import grading
from course_lib.grading import Mismatch, Verdict, expect_array, expect_close, expect_equal


@pytest.fixture
def grading_log(tmp_path, monkeypatch):
    path = tmp_path / "grading.jsonl"
    monkeypatch.setenv("COURSE_GRADING_LOG", str(path))
    return path


@pytest.fixture(autouse=True)
def no_log_by_default(monkeypatch):
    monkeypatch.delenv("COURSE_GRADING_LOG", raising=False)


def read_log(path):
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


# -- run_check verdicts ------------------------------------------------------------------


def test_passed(capsys):
    verdict = grading.run_check("adds", lambda: expect_equal(1 + 1, 2), hint="use +")
    assert isinstance(verdict, Verdict)
    assert verdict.status == grading.PASSED == "passed"
    assert verdict.check == "adds"
    assert verdict.message == "Well done."
    assert bool(verdict) is True
    out = capsys.readouterr().out
    assert "adds: passed" in out
    assert "Hint" not in out  # no hint once it passed


def test_passed_with_custom_success_message(capsys):
    verdict = grading.run_check("ok", lambda: None, success="Great, the shapes line up.")
    assert verdict and verdict.message == "Great, the shapes line up."
    assert "Great, the shapes line up." in capsys.readouterr().out


def test_failed_on_mismatch(capsys):
    def body():
        raise Mismatch("your mean is 3; expected 2.")

    verdict = grading.run_check("mean", body, hint="divide by n")
    assert verdict.status == grading.FAILED == "failed"
    assert verdict.message == "your mean is 3; expected 2."
    assert verdict.hint == "divide by n"
    assert not verdict
    out = capsys.readouterr().out
    assert "mean: failed" in out
    assert "your mean is 3; expected 2." in out
    assert "Hint: divide by n" in out


def test_not_attempted_on_not_implemented(capsys):
    def learner_function():
        raise NotImplementedError

    verdict = grading.run_check("stub", learner_function, hint="see section 2")
    assert verdict.status == grading.NOT_ATTEMPTED == "not attempted"
    assert not verdict
    assert "NotImplementedError" in verdict.message
    out = capsys.readouterr().out
    assert "stub: not attempted" in out
    assert "Hint: see section 2" in out


def test_error_on_other_exception(capsys):
    def learner_function():
        values = [1, 2, 3]
        return values[10]

    verdict = grading.run_check("index", learner_function)
    assert verdict.status == grading.ERROR == "error"
    assert not verdict
    assert "IndexError" in verdict.message
    assert "list index out of range" in verdict.message
    assert "return values[10]" in verdict.message  # the line that raised
    assert "Traceback" not in capsys.readouterr().out


@pytest.mark.parametrize(
    "exc",
    [ZeroDivisionError("division by zero"), TypeError("bad type"), AssertionError("plain")],
)
def test_run_check_never_raises(exc):
    def body():
        raise exc

    verdict = grading.run_check("boom", body)
    assert verdict.status == grading.ERROR
    assert type(exc).__name__ in verdict.message


def test_keyboard_interrupt_is_not_swallowed():
    def body():
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        grading.run_check("stop", body)


def test_only_passed_verdicts_are_truthy():
    for status in (grading.PASSED, grading.FAILED, grading.NOT_ATTEMPTED, grading.ERROR):
        assert bool(Verdict("c", status, "m")) is (status == grading.PASSED)


def test_verdict_text_and_html():
    failed = Verdict("shape", grading.FAILED, "wrong shape.", hint="reshape it")
    text = str(failed)
    assert text.startswith(grading._ICONS[grading.FAILED])
    assert "shape: failed. wrong shape." in text
    assert "Hint: reshape it" in text
    html = failed._repr_html_()
    assert "<b>shape</b>" in html and "reshape it" in html
    passed = Verdict("shape", grading.PASSED, "fine.", hint="reshape it")
    assert "reshape it" not in str(passed)
    assert "reshape it" not in passed._repr_html_()


# -- the grading log ---------------------------------------------------------------------


def test_log_gets_one_json_line_per_check(grading_log, capsys):
    def stub():
        raise NotImplementedError

    def wrong():
        raise Mismatch("off by one")

    def broken():
        raise KeyError("x")

    grading.run_check("a", lambda: None)
    grading.run_check("b", wrong, hint="count again")
    grading.run_check("c", stub)
    grading.run_check("d", broken)

    records = read_log(grading_log)
    assert [r["check"] for r in records] == ["a", "b", "c", "d"]
    assert [r["status"] for r in records] == ["passed", "failed", "not attempted", "error"]
    assert records[1]["message"] == "off by one"
    assert records[1]["hint"] == "count again"
    assert set(records[0]) == {"check", "status", "message", "hint"}

    grading.run_check("e", lambda: None)  # appended, not overwritten
    assert len(read_log(grading_log)) == 5


def test_no_log_file_without_the_variable(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    grading.run_check("a", lambda: None)
    assert list(tmp_path.iterdir()) == []


# -- expect_array ------------------------------------------------------------------------


def test_expect_array_converts_lists_and_tensors():
    arr = expect_array([[1, 2], [3, 4]], shape=(2, 2))
    assert isinstance(arr, np.ndarray)
    np.testing.assert_array_equal(arr, [[1, 2], [3, 4]])
    arr = expect_array(tf.constant([1.5, 2.5]), shape=[2])
    assert isinstance(arr, np.ndarray)
    np.testing.assert_array_equal(arr, [1.5, 2.5])
    assert expect_array(np.array([True, False])).dtype == bool


def test_expect_array_none_result():
    with pytest.raises(Mismatch, match="is None.*return"):
        expect_array(None)


def test_expect_array_wrong_shape_names_both_shapes():
    with pytest.raises(Mismatch) as info:
        expect_array(np.zeros((3, 2)), shape=(2, 3), what="the logits")
    message = str(info.value)
    assert "the logits" in message and "(3, 2)" in message and "(2, 3)" in message


@pytest.mark.parametrize("value", ["abc", ["a", "b"], {"a": 1}])
def test_expect_array_non_numeric(value):
    with pytest.raises(Mismatch, match="numbers"):
        expect_array(value)


def test_expect_array_ragged_list_is_a_wrong_answer_not_a_crash():
    # A learner returning a ragged list has a wrong answer: the check must say so
    # (Mismatch, verdict "failed"), not blame the learner's code for a NumPy error
    # raised inside the grading library.
    with pytest.raises(Mismatch):
        expect_array([[1, 2], [3]])
    verdict = grading.run_check("ragged", lambda: expect_close([[1, 2], [3]], [[1, 2], [3, 4]]))
    assert verdict.status == grading.FAILED


# -- expect_close ------------------------------------------------------------------------


def test_expect_close_accepts_rounding():
    expect_close([1.0, 2.0 + 1e-7], [1.0, 2.0])
    expect_close(tf.constant([[0.5]]), np.array([[0.5]]))
    expect_close(3, 3.0)


def test_expect_close_reports_first_differing_index_and_count():
    got = np.array([[0.0, 1.0], [2.0, 5.0]])
    expected = np.array([[0.0, 1.0], [2.5, 3.0]])
    with pytest.raises(Mismatch) as info:
        expect_close(got, expected, what="the image")
    message = str(info.value)
    assert "the image" in message
    assert "(1, 0)" in message
    assert "2 entries differ" in message


def test_expect_close_none_and_wrong_shape():
    with pytest.raises(Mismatch, match="None"):
        expect_close(None, [1.0])
    with pytest.raises(Mismatch, match="shape"):
        expect_close([1.0, 2.0, 3.0], [[1.0, 2.0, 3.0]])


def test_expect_close_nan_is_never_close():
    with pytest.raises(Mismatch, match="index \\(1,\\)"):
        expect_close([1.0, np.nan], [1.0, 2.0])
    with pytest.raises(Mismatch):
        expect_close([np.nan], [np.nan])


def test_expect_close_tolerances():
    expect_close([100.0], [100.5], rtol=0.01)
    with pytest.raises(Mismatch):
        expect_close([100.0], [100.5], rtol=1e-4)
    expect_close([0.0], [1e-3], atol=1e-2)
    with pytest.raises(Mismatch):
        expect_close([0.0], [1e-3])


def test_expect_close_scalar():
    expect_close(np.float32(2.0), 2.0)
    with pytest.raises(Mismatch, match="1 entries differ"):
        expect_close(2.5, 2.0)


# -- expect_equal ------------------------------------------------------------------------


def test_expect_equal():
    expect_equal((2, 3), (2, 3))
    expect_equal("cat", "cat")
    with pytest.raises(Mismatch) as info:
        expect_equal(4, 5, what="the number of classes")
    assert str(info.value) == "the number of classes is 4; expected 5."
    with pytest.raises(Mismatch, match="None"):
        expect_equal(None, 5)


def test_checks_built_from_expect_helpers_give_verdicts():
    def solution(x):
        return np.asarray(x) * 2

    def wrong(x):
        return np.asarray(x) + 2

    def forgot_return(x):
        np.asarray(x) * 2

    def check(fn):
        return lambda: expect_close(fn([1.0, 3.0]), [2.0, 6.0])

    assert grading.run_check("double", check(solution)).status == grading.PASSED
    assert grading.run_check("double", check(wrong)).status == grading.FAILED
    verdict = grading.run_check("double", check(forgot_return))
    assert verdict.status == grading.FAILED
    assert "return" in verdict.message
