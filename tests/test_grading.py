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


def test_error_in_the_learners_code_names_their_line(capsys):
    registry = grading.Exercises("00_what_is_generative_ai")

    @registry(points=1, hint="count", see="Epoch, batch and batch size, live")
    def indexing(fn):
        fn([1, 2, 3])

    def learner_function(values):
        return values[10]

    verdict = indexing(learner_function)
    assert verdict.status == grading.ERROR == "error"
    assert not verdict
    assert verdict.message.startswith("Your code raised IndexError")
    assert "list index out of range" in verdict.message
    assert "return values[10]" in verdict.message  # the line that raised
    assert "Traceback" not in capsys.readouterr().out


def test_error_in_the_check_after_a_strange_return_is_not_blamed_on_a_line():
    def body():
        {}["missing"]  # the check itself stumbles (e.g. on what the learner returned)

    verdict = grading.run_check("odd", body)
    assert verdict.status == grading.ERROR
    assert verdict.message.startswith("The check stopped with KeyError")


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


def test_verdict_is_shown_once(capsys):
    verdict = grading.run_check("once", lambda: None)
    assert capsys.readouterr().out.count("once: passed") == 1
    verdict._ipython_display_()  # what Jupyter does with a cell's value
    verdict.show()
    assert capsys.readouterr().out == ""


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
    assert set(records[0]) == {
        "check",
        "exercise",
        "status",
        "message",
        "hint",
        "more",
        "points",
        "max_points",
        "notebook",
        "student",
        "timestamp",
    }

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


# -- the registry, points, hints in two levels, the student and the notebook ------------


@pytest.fixture
def registry():
    grading._FAILURES.clear()
    return grading.Exercises("02_vaes")


def _define_double(registry, points=2):
    @registry(points=points, hint="the result should be twice the input", see="The KL term")
    def double(fn):
        for x in (0.0, 1.5, -3.0):
            expect_close(fn(x), 2 * x, what=f"double({x})")

    return double


def test_points_go_to_a_passed_check_only(registry, grading_log, monkeypatch):
    monkeypatch.setenv("COURSE_STUDENT", "ada")
    double = _define_double(registry, points=2)
    assert double(lambda x: 2 * x).points == 2.0
    assert double(lambda x: x + x + 1).points == 0.0
    records = read_log(grading_log)
    assert [(r["points"], r["max_points"]) for r in records] == [(2.0, 2.0), (0.0, 2.0)]
    assert {r["student"] for r in records} == {"ada"}
    assert {r["notebook"] for r in records} == {"02_vaes"}
    assert {r["exercise"] for r in records} == {"double"}
    stamp = records[0]["timestamp"]
    assert stamp.endswith("+00:00") and stamp[:4].isdigit()
    assert registry.total_points == 2.0
    assert list(registry.specs) == ["double"]


def test_notebook_and_student_from_the_environment(registry, grading_log, monkeypatch):
    monkeypatch.setenv("COURSE_NOTEBOOK", "02_vaes-submitted")
    monkeypatch.delenv("COURSE_STUDENT", raising=False)
    import __main__

    monkeypatch.setattr(
        __main__, "__session__", "/home/bob/exercises/bob_02_vaes.ipynb", raising=False
    )
    _define_double(registry)(lambda x: 2 * x)
    record = read_log(grading_log)[0]
    assert record["notebook"] == "02_vaes-submitted"
    assert record["student"] == "bob_02_vaes"  # the file name when COURSE_STUDENT is unset


def test_second_failure_adds_the_pointer_to_the_chapter(registry, capsys):
    double = _define_double(registry)
    first = double(lambda x: 3 * x)
    first_text = capsys.readouterr().out
    assert "Hint: the result should be twice the input" in first_text
    assert "More help" not in first_text
    assert first.more.startswith("Read notebooks/02_vaes.ipynb, cell ")
    assert '("The KL term")' in first.more
    double(lambda x: 3 * x)
    second_text = capsys.readouterr().out
    assert "More help: Read notebooks/02_vaes.ipynb" in second_text
    assert grading.more_help("double") == first.more  # on request too


def test_pointer_names_the_cell_that_holds_the_heading(registry):
    cell = grading.find_cell("02_vaes", "The KL term")
    assert isinstance(cell, int) and cell > 1
    assert grading.find_cell("02_vaes", "no such heading anywhere") is None
    assert "cell" not in registry.pointer("no such heading anywhere").split("(")[0]


def test_points_must_be_positive(registry):
    with pytest.raises(ValueError, match="points"):
        registry(points=0, hint="", see="x")


def test_passing_something_else_than_a_function_fails_clearly(registry):
    verdict = _define_double(registry)(3)
    assert verdict.status == grading.FAILED
    assert "pass your function itself" in verdict.message


# -- no passing by calling the library's reference -----------------------------------------


def library_double(x):
    return 2 * x


def _forbidding(registry):
    @registry(points=1, hint="", see="The KL term", forbid=[library_double])
    def double(fn):
        for x in (1.0, 2.0):
            expect_close(fn(x), library_double(x))  # the check itself may use it

    return double


def test_an_answer_that_calls_the_reference_fails(registry):
    double = _forbidding(registry)
    verdict = double(lambda x: library_double(x))
    assert verdict.status == grading.FAILED
    assert "Write it yourself" in verdict.message and "library_double" in verdict.message
    assert library_double(4) == 8  # switched back on afterwards


def test_an_imported_name_is_switched_off_too(registry):
    alias = library_double  # like `from course_lib.models.vae import kl_divergence`
    verdict = _forbidding(registry)(lambda x: alias(x))
    assert verdict.status == grading.FAILED and "Write it yourself" in verdict.message


@pytest.mark.parametrize("catch", [Exception, BaseException])
def test_catching_the_refusal_does_not_help(registry, catch):
    def sneaky(x):
        try:
            return library_double(x)
        except catch:
            return x + x

    verdict = _forbidding(registry)(sneaky)
    assert verdict.status == grading.FAILED and "Write it yourself" in verdict.message


def test_an_own_answer_passes_and_recursion_restores_the_reference(registry):
    def recursive(x, depth=3):
        return 2 * x if depth == 0 else recursive(x, depth - 1)

    assert _forbidding(registry)(recursive).status == grading.PASSED
    assert library_double(5) == 10


def test_a_closure_cannot_be_switched_off(registry):
    def outer():
        k = 2

        def inner(x):
            return k * x

        return inner

    with pytest.raises(TypeError, match="closure"):

        @registry(points=1, hint="", see="x", forbid=[outer()])
        def check_it(fn):
            fn(1)


# -- strict mode (nbgrader) and demo cells -------------------------------------------------


@pytest.mark.parametrize(
    "variable, value", [("COURSE_STRICT", "1"), ("NBGRADER_EXECUTION", "autograde")]
)
def test_strict_mode_raises_after_a_failed_check(registry, monkeypatch, variable, value):
    monkeypatch.setenv(variable, value)
    double = _define_double(registry)
    assert double(lambda x: 2 * x).status == grading.PASSED
    with pytest.raises(AssertionError, match="double: failed"):
        double(lambda x: x)


def test_learner_code_turns_errors_into_one_line(capsys):
    with grading.learner_code("exercise 3"):
        raise NotImplementedError
    assert capsys.readouterr().out.strip() == "Finish exercise 3 first."
    with grading.learner_code("exercise 2"):
        [][1]
    out = capsys.readouterr().out
    assert "Your code for exercise 2 raised IndexError" in out and "check cell" in out
    with pytest.raises(KeyboardInterrupt):
        with grading.learner_code("exercise 1"):
            raise KeyboardInterrupt
