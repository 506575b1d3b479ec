"""Checks for chapter 04's exercises: the causal mask, scaled dot-product attention,
top-k and top-p filtering, and bits per character. Each compares the learner's function
with the library's own (:mod:`course_lib.models.gpt`)."""

from __future__ import annotations

import math

import numpy as np

from course_lib import grading
from course_lib.models import gpt

_REMOVED = -1e8  # a filtered logit is -inf, or at least this negative


def causal_mask(fn) -> grading.Verdict:
    """``fn(length)`` must return the (length, length) mask, True where i may see j."""

    def body():
        for length in (1, 2, 5, 9):
            got = grading.expect_array(
                fn(length), shape=(length, length), what=f"causal_mask({length})"
            )
            expected = gpt.causal_mask(length)
            if not np.array_equal(got.astype(bool), expected):
                i, j = (int(v) for v in np.argwhere(got.astype(bool) != expected)[0])
                raise grading.Mismatch(
                    f"causal_mask({length})[{i}, {j}] is {bool(got[i, j])}; expected "
                    f"{bool(expected[i, j])} (position {i} {'may' if j <= i else 'must not'} "
                    f"look at position {j})."
                )

    return grading.run_check(
        "causal_mask",
        body,
        hint="Row i is the position that looks, column j the one looked at. Allowed: j <= i, "
        "the lower triangle with its diagonal. np.tril(np.ones(...)) or a comparison of "
        "np.arange(length)[:, None] with np.arange(length)[None, :].",
    )


def scaled_dot_product_attention(fn) -> grading.Verdict:
    """``fn(q, k, v, mask)`` must return (output, weights) as the library does."""

    def body():
        rng = np.random.default_rng(4)
        cases = [
            (rng.normal(size=(5, 4)), rng.normal(size=(5, 4)), rng.normal(size=(5, 3)), None),
            (
                rng.normal(size=(2, 6, 8)),
                rng.normal(size=(2, 6, 8)),
                rng.normal(size=(2, 6, 2)),
                gpt.causal_mask(6),
            ),
        ]
        for q, k, v, mask in cases:
            result = fn(q, k, v, mask)
            if not isinstance(result, (tuple, list)) or len(result) != 2:
                raise grading.Mismatch("return two things: (output, weights).")
            out, weights = gpt.scaled_dot_product_attention(q, k, v, mask)
            label = "with the causal mask" if mask is not None else "without a mask"
            grading.expect_close(
                result[1], np.asarray(weights), atol=1e-4, what=f"the weights {label}"
            )
            grading.expect_close(result[0], np.asarray(out), atol=1e-4, what=f"the output {label}")

    return grading.run_check(
        "scaled_dot_product_attention",
        body,
        hint="scores = q @ k^T / sqrt(d) (d = q.shape[-1]; swap the last two axes of k); where "
        "the mask is False set the score to -inf (or -1e9); softmax over the last axis "
        "(subtract the row's max first); output = weights @ v.",
    )


def _removed(arr: np.ndarray) -> np.ndarray:
    return ~np.isfinite(arr) | (arr <= _REMOVED)


def _compare_filtered(got, expected, logits, what: str) -> None:
    got = grading.expect_array(got, shape=np.shape(logits), what=what)
    want_removed = ~np.isfinite(expected)
    got_removed = _removed(got)
    if not np.array_equal(got_removed, want_removed):
        row, col = (int(v) for v in np.argwhere(got_removed != want_removed)[0])
        verb = "removed" if got_removed[row, col] else "kept"
        raise grading.Mismatch(
            f"{what}: in row {row} you {verb} token {col} (logit {logits[row, col]:.3f}); it "
            f"should be {'kept' if verb == 'removed' else 'removed'}. Expected "
            f"{int((~want_removed[row]).sum())} tokens kept in that row, you kept "
            f"{int((~got_removed[row]).sum())}."
        )
    grading.expect_close(
        got[~got_removed], logits[~want_removed], atol=1e-5, what=f"{what}: the kept logits"
    )


def top_k_filter(fn) -> grading.Verdict:
    """``fn(logits, k)`` must keep each row's k largest logits and set the rest to -inf."""

    def body():
        logits = np.random.default_rng(5).normal(scale=2.0, size=(4, 12))
        for k in (1, 3, 12):
            expected = gpt.top_k_filter(logits, k)
            _compare_filtered(fn(logits.copy(), k), expected, logits, f"top_k_filter(logits, {k})")

    return grading.run_check(
        "top_k_filter",
        body,
        hint="Per row, find the k-th largest value (np.sort(logits, axis=-1)[..., -k], kept "
        "with [..., None]) and set every logit below it to -np.inf; leave the others as they are.",
    )


def top_p_filter(fn) -> grading.Verdict:
    """``fn(logits, p)`` must keep the smallest set of most likely tokens reaching p."""

    def body():
        logits = np.random.default_rng(6).normal(scale=2.0, size=(5, 10))
        for p in (0.3, 0.75, 0.95):
            expected = gpt.top_p_filter(logits, p)
            _compare_filtered(fn(logits.copy(), p), expected, logits, f"top_p_filter(logits, {p})")

    return grading.run_check(
        "top_p_filter",
        body,
        hint="Softmax to probabilities; sort each row from most to least likely (np.argsort "
        "of -probs); a token stays when the probability of the tokens *before* it in that "
        "order is still below p (cumsum minus itself). Then put the answer back in the "
        "original order, and set the others to -np.inf.",
    )


def bits_per_character(fn) -> grading.Verdict:
    """``fn(mean_nll_nats, chars_per_token)`` must turn nats per token into bits per char."""

    def body():
        for nats, chars in [(math.log(2), 1.0), (1.0, 1.0), (2.5, 3.2), (0.0, 2.0)]:
            grading.expect_close(
                fn(nats, chars),
                gpt.bits_per_character(nats, chars),
                what=f"bits_per_character({nats:.4f}, {chars})",
            )

    return grading.run_check(
        "bits_per_character",
        body,
        hint="One bit is ln(2) nats: divide by math.log(2). A token covering several "
        "characters shares its bits among them: divide by chars_per_token too.",
    )
