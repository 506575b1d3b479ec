"""Checks for chapter 04's exercises: the causal mask, scaled dot-product attention,
top-k and top-p filtering, and bits per character. Each compares the learner's function
with the library's own (:mod:`course_lib.models.gpt`)."""

from __future__ import annotations

import math

import numpy as np

from course_lib import grading
from course_lib.models import gpt

exercise = grading.Exercises("04_gpt_text_generation")

_REMOVED = -1e8  # a filtered logit is -inf, or at least this negative


# -- exercise 1 ----------------------------------------------------------------------------


@exercise(
    points=1,
    forbid=[gpt.causal_mask],
    see="3.2 Attention, and the mask",
    hint="Row i is the position that looks, column j the position it looks at. A position "
    "may look at itself and at every earlier position, never at a later one (a later one "
    "holds the answer). Return True/False, one row and one column per position.",
)
def causal_mask(fn):
    """``fn(length)`` must return the (length, length) mask, True where i may see j."""
    for length in (5, 1, 2, 9):
        got = grading.expect_array(fn(length), what=f"causal_mask({length})")
        if got.shape != (length, length):
            raise grading.Mismatch(
                f"causal_mask({length}) has shape {got.shape}; expected ({length}, {length}): "
                "one row per position that looks, one column per position looked at."
            )
        if got.dtype != bool and not np.isin(got, (0, 1)).all():
            odd = got[~np.isin(got, (0, 1))].flat[0].item()
            raise grading.Mismatch(
                f"causal_mask({length}) contains {odd!r}; every entry should be True "
                "(may look) or False (may not)."
            )
        allowed = got.astype(bool)
        expected = gpt.causal_mask(length)
        if np.array_equal(allowed, expected):
            continue
        i, j = (int(v) for v in np.argwhere(allowed != expected)[0])
        if i == j:
            why = f"position {i} cannot see itself; every position may look at itself."
        elif j > i:
            why = (
                f"position {i} can see position {j}, a later position: the very token it "
                "has to guess is there."
            )
        else:
            why = f"position {i} cannot see position {j}, an earlier position; it should."
        raise grading.Mismatch(f"in causal_mask({length}) {why}")


# -- exercise 2 ----------------------------------------------------------------------------


def _softmax(scores):
    scores = scores - scores.max(axis=-1, keepdims=True)
    weights = np.exp(scores)
    return weights / weights.sum(axis=-1, keepdims=True)


def _attention_diagnosis(weights, q, k, mask) -> str:
    d = q.shape[-1]
    raw = q @ np.swapaxes(k, -1, -2)
    hide = (lambda s: s) if mask is None else (lambda s: np.where(mask, s, -np.inf))
    for scores, why in (
        (
            raw,
            "the scores are not divided by the square root of d, the size of a query: "
            "your weights are too sharp.",
        ),
        (
            raw / d,
            "the scores are divided by d instead of its square root: your weights are too flat.",
        ),
        (raw * math.sqrt(d), "the scores are multiplied by the square root of d, not divided."),
    ):
        if np.allclose(weights, _softmax(hide(scores)), atol=1e-4):
            return why
    return "compare each query with every key, scale, hide masked keys, then softmax each row."


def _attention(fn, q, k, v, mask, label, large=False):
    result = fn(q.copy(), k.copy(), v.copy(), None if mask is None else mask.copy())
    if not isinstance(result, (tuple, list)) or len(result) != 2:
        raise grading.Mismatch("return two things: (output, weights).")
    out = grading.expect_array(result[0], what=f"the output {label}")
    weights = grading.expect_array(result[1], what=f"the weights {label}")
    want_out = q.shape[:-2] + (q.shape[-2], v.shape[-1])
    want_weights = q.shape[:-2] + (q.shape[-2], k.shape[-2])
    if out.shape == want_weights and weights.shape == want_out and want_out != want_weights:
        raise grading.Mismatch("return (output, weights) in that order: output first.")
    if weights.shape != want_weights:
        raise grading.Mismatch(
            f"the weights {label} have shape {weights.shape}; expected {want_weights}: one row "
            "per query, one column per key."
        )
    if out.shape != want_out:
        raise grading.Mismatch(
            f"the output {label} has shape {out.shape}; expected {want_out}: one mix of the "
            "values per query."
        )
    if not (np.all(np.isfinite(weights)) and np.all(np.isfinite(out))):
        if large:
            why = (
                "with scores of several hundred, exp overflows. A softmax gives the same "
                "result when you subtract any number from a whole row, for instance the "
                "row's largest score."
            )
        elif mask is not None:
            why = (
                "here every query may see at least one key, so no row should be empty: "
                "check which keys you hide (False in the mask hides a key)."
            )
        else:
            why = "the weights should be ordinary probabilities."
        raise grading.Mismatch(f"the weights {label} contain nan or inf: {why}")
    return out.astype(np.float64), weights.astype(np.float64)


@exercise(
    points=2,
    forbid=[gpt.scaled_dot_product_attention],
    see="3.2 Attention, and the mask",
    hint="Each query's weights (one row, one column per key) are a probability "
    "distribution: they add up to 1, and a key the mask hides gets weight 0. The scores are "
    "divided by the square root of the query size before the softmax, and the softmax must "
    "not overflow for large scores. The output mixes the values with those weights.",
)
def scaled_dot_product_attention(fn):
    """``fn(q, k, v, mask)`` must return (output, weights) as the library does."""
    rng = np.random.default_rng(4)
    cross = rng.uniform(size=(3, 5)) < 0.6
    cross[:, 0] = True  # every query sees at least one key
    cases = [
        (
            "without a mask",
            rng.normal(size=(5, 4)),
            rng.normal(size=(5, 4)),
            rng.normal(size=(5, 3)),
            None,
            1e-4,
        ),
        (
            "with the causal mask",
            rng.normal(size=(2, 6, 8)),
            rng.normal(size=(2, 6, 8)),
            rng.normal(size=(2, 6, 2)),
            gpt.causal_mask(6),
            1e-4,
        ),
        (
            "with 3 queries, 5 keys and a mask",
            rng.normal(size=(3, 4)),
            rng.normal(size=(5, 4)),
            rng.normal(size=(5, 2)),
            cross,
            1e-4,
        ),
        (
            "for large scores (several hundred)",
            20 * rng.normal(size=(4, 8)),
            20 * rng.normal(size=(4, 8)),
            rng.normal(size=(4, 3)),
            gpt.causal_mask(4),
            2e-3,
        ),
    ]
    for label, q, k, v, mask, atol in cases:
        out, weights = _attention(fn, q, k, v, mask, label, large=atol > 1e-4)
        sums = weights.sum(axis=-1)
        if not np.allclose(sums, 1.0, atol=1e-4):
            if mask is None and np.allclose(weights.sum(axis=-2), 1.0, atol=1e-4):
                why = (
                    "the softmax runs over the wrong axis: each query's weights (a row) "
                    "must add up to 1, not each key's (a column)."
                )
            elif mask is not None:
                why = (
                    "with the mask each row must still add up to 1: hide the keys before "
                    "the softmax, not after."
                )
            else:
                why = "each query's weights (a row) must add up to 1."
            row = tuple(int(i) for i in np.argwhere(~np.isclose(sums, 1.0, atol=1e-4))[0])
            where = ", ".join(str(i) for i in row)
            raise grading.Mismatch(
                f"{label}, row {where} of your weights adds up to {sums[row]:.4f}: {why}"
            )
        if mask is not None:
            hidden = np.broadcast_to(~mask, weights.shape) & (weights > 1e-6)
            if hidden.any():
                where = tuple(int(i) for i in np.argwhere(hidden)[0])
                i, j = where[-2], where[-1]
                raise grading.Mismatch(
                    f"{label}, query {i} gives weight {weights[where]:.4f} to key {j}, which "
                    "the mask hides: a hidden key must get weight 0."
                )
        want_out, want_weights = (
            np.asarray(t, np.float64) for t in gpt.scaled_dot_product_attention(q, k, v, mask)
        )
        if not np.allclose(weights, want_weights, atol=atol):
            raise grading.Mismatch(
                f"{label}, your weights differ from the expected ones: "
                + _attention_diagnosis(weights, q, k, mask)
            )
        if not np.allclose(out, want_out, atol=atol):
            why = ""
            if np.allclose(out, weights @ v, atol=atol):
                why = " (strange: it is weights times v)"
            raise grading.Mismatch(
                f"{label}, your weights are right but the output differs{why}: each query's "
                "output mixes the values, each weighted by that query's weight for its key."
            )


# -- top-k and top-p -------------------------------------------------------------------------


def _filtered(fn, logits, arg, what):
    given = logits.copy()
    got = grading.expect_array(fn(given, arg), what=what)
    if not np.array_equal(given, logits):
        raise grading.Mismatch(
            f"{what} changed the logits array it was given: return a new array and leave the "
            "input as it was (the caller may still need it)."
        )
    if got.shape != logits.shape:
        raise grading.Mismatch(
            f"{what} has shape {got.shape}; expected {logits.shape}, the shape of the logits."
        )
    removed = ~np.isfinite(got) | (got <= _REMOVED)
    if np.any(np.isnan(got)):
        raise grading.Mismatch(f"{what} contains nan; a removed logit is -inf.")
    if np.any(got[removed] > 0):
        raise grading.Mismatch(f"{what} contains +inf; a removed logit is -inf.")
    kept = ~removed
    if not np.allclose(got[kept], logits[kept], atol=1e-5):
        raise grading.Mismatch(
            f"{what}: the logits you keep must stay as they were, each in its place (only "
            "the removed ones change, to -inf)."
        )
    return kept


def _first_difference(kept, want):
    row, col = (int(v) for v in np.argwhere(kept != want)[0])
    return row, col


@exercise(
    points=1,
    forbid=[gpt.top_k_filter, gpt._filter_k],
    see="3.3 Picking the next token",
    hint="In each row, a token stays when its logit is at least as high as the row's k-th "
    "highest logit; every other logit becomes -inf and the kept ones stay unchanged. Tokens "
    "tied with the k-th highest all stay (the score cannot tell them apart), so a row may "
    "keep more than k.",
)
def top_k_filter(fn):
    """``fn(logits, k)`` must keep each row's k largest logits and set the rest to -inf."""
    logits = np.random.default_rng(5).normal(scale=2.0, size=(4, 12))
    ties = np.array(
        [
            [3.0, 2.0, 2.0, 1.0, 0.0, -1.0],
            [1.0, 5.0, -1.0, 5.0, 0.0, 2.0],
            [1.0, 1.0, 1.0, 1.0, 1.0, 1.0],
            [0.5, 4.0, 0.5, 0.5, -2.0, 3.0],
        ]
    )
    cases = [(logits, 1), (logits, 3), (logits, 12), (ties, 2), (ties, 3)]
    for values, k in cases:
        what = f"top_k_filter(logits, {k})"
        kept = _filtered(fn, values, k, what)
        kth = np.sort(values, axis=-1)[:, -k][:, None]
        want = np.isfinite(gpt.top_k_filter(values, k))  # the library keeps ties too
        if np.array_equal(kept, want):
            continue
        row, col = _first_difference(kept, want)
        n_kept, n_want = int(kept[row].sum()), int(want[row].sum())
        tied = np.flatnonzero(values[row] == kth[row, 0])
        if len(tied) > 1 and col in tied:
            why = (
                f"tokens {tied.tolist()} all have logit {kth[row, 0]:g}, the {k}-th highest; "
                "the score cannot tell them apart, so keep them all (the row then keeps "
                f"{n_want} tokens); you keep {n_kept}."
            )
        elif abs(n_kept - n_want) == 1 and len(tied) == 1:
            why = f"you keep {n_kept} tokens; expected {n_want}: off by one."
        elif kept[row, col]:
            why = f"you keep token {col} (logit {values[row, col]:.3f}), which is not among the best {k}."
        else:
            why = f"you remove token {col} (logit {values[row, col]:.3f}), one of the best {k}."
        raise grading.Mismatch(f"{what}, row {row}: {why}")


def _probs(logits):
    p = np.exp(logits - logits.max(axis=-1, keepdims=True))
    return p / p.sum(axis=-1, keepdims=True)


@exercise(
    points=2,
    forbid=[gpt.top_p_filter, gpt._filter_p],
    see="3.3 Picking the next token",
    hint="Per row, think in probabilities (a softmax of the logits) and go from the most "
    "likely token down: keep tokens until the kept ones add up to at least p, including "
    "the token that makes the total reach p, and no more. The most likely token always "
    "stays; the others become -inf, in their original places.",
)
def top_p_filter(fn):
    """``fn(logits, p)`` must keep the smallest set of most likely tokens reaching p."""
    example = np.log(np.array([[0.15, 0.5, 0.05, 0.3]]))
    logits = np.random.default_rng(6).normal(scale=2.0, size=(5, 10))
    cases = [
        (example, 0.7),
        (logits, 0.3),
        (logits, 0.75),
        (logits, 0.95),
        (logits, 0.01),
        (logits, 1.0),
    ]
    for values, p in cases:
        what = f"top_p_filter(logits, {p})"
        if values is example:
            what = "top_p_filter for probabilities [0.15, 0.5, 0.05, 0.3] and p = 0.7"
        kept = _filtered(fn, values, p, what)
        want = np.isfinite(gpt.top_p_filter(values, p))
        if np.array_equal(kept, want):
            continue
        probs = _probs(values)
        row, _ = _first_difference(kept, want)
        mass = float(probs[row][kept[row]].sum())
        if not kept[row].any():
            why = "you keep no token at all: the most likely token always stays."
        else:
            dropped = probs[row][~kept[row]]
            kept_min = probs[row][kept[row]].min()
            if dropped.size and dropped.max() > kept_min:
                why = (
                    f"you keep a token of probability {kept_min:.3f} but remove one of "
                    f"{dropped.max():.3f}: the kept tokens are always the most likely ones "
                    "(and the result keeps the original order of the tokens)."
                )
            elif mass < p:
                why = (
                    f"the tokens you keep add up to {mass:.3f}, less than p = {p}: keep the "
                    "token that makes the total reach p."
                )
            else:
                why = (
                    f"you keep {int(kept[row].sum())} tokens, adding up to {mass:.3f}; the "
                    f"smallest set reaching p = {p} has {int(want[row].sum())}."
                )
        raise grading.Mismatch(f"{what}, row {row}: {why}")


# -- exercise 5 ----------------------------------------------------------------------------


@exercise(
    points=1,
    forbid=[gpt.bits_per_character],
    see="A baseline first.",
    hint="A loss of ln 2 ≈ 0.693 nats is exactly 1 bit: the change from nats to bits is a "
    "division, by the same number for every loss. A token covering several characters "
    "shares its bits among them, so bits per character are fewer than bits per token.",
)
def bits_per_character(fn):
    """``fn(mean_nll_nats, chars_per_token)`` must turn nats per token into bits per char."""
    ln2 = math.log(2)
    got = grading.expect_scalar(fn(ln2), what=f"bits_per_character({ln2:.4f})")
    if not np.isclose(got, 1.0, rtol=1e-6):
        if np.isclose(got, ln2 * ln2, rtol=1e-6):
            why = "you multiplied by ln 2; one bit is ln 2 nats, so there are fewer bits than nats."
        elif np.isclose(got, math.log2(ln2), rtol=1e-6) or np.isclose(
            got, math.log(ln2), rtol=1e-6
        ):
            why = "a change of units is a division by a fixed number, not a logarithm of the loss."
        elif np.isclose(got, ln2 / math.log(10), rtol=1e-6):
            why = "that is a change to base 10, not to bits (base 2)."
        else:
            why = "one bit is ln 2 nats: count how many times ln 2 fits into the loss."
        raise grading.Mismatch(
            f"a loss of ln 2 = {ln2:.4f} nats per token (one character each) is exactly 1 bit "
            f"per character; yours gives {got:.4g}: {why}"
        )
    for nats, chars in [(1.0, 1.0), (2.5, 3.2), (4 * ln2, 4.0), (0.0, 2.0), (3.0, 0.5)]:
        what = f"bits_per_character({nats:.4f}, {chars})"
        got = grading.expect_scalar(fn(nats, chars), what=what)
        expected = gpt.bits_per_character(nats, chars)
        if np.isclose(got, expected, rtol=1e-6, atol=1e-9):
            continue
        if np.isclose(got, nats / ln2, rtol=1e-6):
            why = "chars_per_token is ignored: a token's bits are shared among its characters."
        elif np.isclose(got, nats / ln2 * chars, rtol=1e-6):
            why = (
                "multiplied by chars_per_token: a token's bits are shared among its "
                "characters, so each character gets fewer."
            )
        else:
            why = "convert nats to bits, then share them among the characters of a token."
        raise grading.Mismatch(f"{what} is {got:.6g}; expected {expected:.6g}: {why}")


# -- a running-code exercise: the generation loop ----------------------------------------


class _ToyLanguageModel:
    """A tiny stand-in for a trained GPT: logits depend on each token, its position and the
    window's first token, so cropping, the position read and the temperature all matter.
    Like a GPT it refuses windows longer than its context."""

    def __init__(self, vocab_size: int, context_length: int, seed: int):
        import tensorflow as tf

        rng = np.random.default_rng(seed)
        self.vocab_size, self.context_length = vocab_size, context_length
        self.table = tf.constant(rng.normal(0, 2.0, (vocab_size, vocab_size)), tf.float32)
        self.first = tf.constant(rng.normal(0, 1.0, (vocab_size, vocab_size)), tf.float32)
        self.where = tf.constant(rng.normal(0, 1.0, (context_length, vocab_size)), tf.float32)

    def __call__(self, ids, training=None):
        import tensorflow as tf

        ids = tf.convert_to_tensor(ids, tf.int32)
        length = tf.shape(ids)[1]
        tf.debugging.assert_less_equal(
            length, self.context_length, message="a window longer than the model's context"
        )
        return (
            tf.gather(self.table, ids)
            + tf.gather(self.first, ids[:, :1])
            + self.where[None, :length]
        )


class _Recorder:
    """Wraps the toy model for the learner's loop: remembers each window it was given."""

    def __init__(self, model):
        self.model, self.windows = model, []
        self.vocab_size, self.context_length = model.vocab_size, model.context_length

    def __call__(self, ids, training=None):
        ids = np.asarray(ids)
        if ids.ndim != 2 or ids.shape[0] != 1:
            raise grading.Mismatch(
                f"give the model a batch of one window, shape (1, length); got shape {ids.shape}."
            )
        if ids.shape[1] > self.context_length:
            raise grading.Mismatch(
                f"you gave the model a window of {ids.shape[1]} tokens; it can only read "
                f"{self.context_length} (its context). Keep only the last ones."
            )
        self.windows.append(ids[0].copy())
        return self.model(ids)


@exercise(
    points=3,
    kind="generation loop",
    forbid=[gpt.generate],
    see="Writing: temperature, top-k and top-p",
    hint="Repeat `steps` times: crop the text so far to the model's last context_length "
    "tokens, ask the model for logits, keep only those of the LAST position (the guess for "
    "the next token), divide them by the temperature, pick a token with draw(logits, step), "
    "and append it. Return the prompt followed by the new tokens.",
)
def generate_tokens(fn):
    """``fn(model, prompt_ids, steps, temperature, draw)`` must write ``steps`` tokens
    after the prompt: the same tokens as :func:`course_lib.models.gpt.generate` from the
    same seed, never giving the model more than its context."""
    import tensorflow as tf

    cases = [  # (context, prompt length, steps, temperature, seed)
        (6, 3, 10, 1.0, 0),
        (6, 9, 5, 0.5, 1),  # a prompt longer than the context
        (8, 1, 12, 2.0, 2),
    ]
    for context, prompt_length, steps, temperature, seed in cases:
        model = _ToyLanguageModel(11, context, seed)
        prompt = np.random.default_rng(seed + 10).integers(0, 11, prompt_length).astype(np.int32)
        want = gpt.generate(model, prompt, steps, temperature=temperature, seed=seed)
        draws = []

        def draw(logits, step, seed=seed):
            logits = tf.reshape(tf.cast(logits, tf.float32), (1, -1))
            if logits.shape[1] != 11:
                raise grading.Mismatch(
                    f"draw got {logits.shape[1]} logits; it needs one per token of the "
                    "vocabulary (11), those of the last position only."
                )
            draws.append(int(step))  # noqa: B023 (called in this iteration)
            pair = tf.constant([seed, int(step)], tf.int32)
            return int(tf.random.stateless_categorical(logits, 1, seed=pair)[0, 0])

        recorder = _Recorder(model)
        got = (
            grading.expect_array(
                fn(recorder, prompt.copy(), steps, temperature, draw),
                what=f"your text (context {context}, prompt of {prompt_length}, {steps} steps)",
            )
            .astype(np.int64)
            .ravel()
        )
        label = (
            f"with a context of {context}, a prompt of {prompt_length} tokens, {steps} steps and "
            f"temperature {temperature:g}"
        )
        if len(got) != len(want):
            raise grading.Mismatch(
                f"{label}, your result has {len(got)} tokens; expected {len(want)}: the prompt "
                "followed by the new tokens."
            )
        if not np.array_equal(got[:prompt_length], prompt):
            raise grading.Mismatch(f"{label}, your result does not start with the prompt.")
        if draws != list(range(steps)):
            raise grading.Mismatch(
                f"{label}, you called draw with the steps {draws[:6]}...; call it once per new "
                "token with step = 0, 1, 2, ..."
            )
        wrong = np.flatnonzero(got != want)
        last_good = int(wrong[0]) - prompt_length if len(wrong) else steps - 1
        for i, window in enumerate(recorder.windows[: last_good + 1]):
            text_so_far = want[: prompt_length + i]
            if not np.array_equal(window, text_so_far[-context:]):
                raise grading.Mismatch(
                    f"{label}, at step {i} you gave the model {window.tolist()}; it should "
                    f"read the last {context} tokens of the text so far, "
                    f"{text_so_far[-context:].tolist()}."
                )
        if len(wrong):
            first = int(wrong[0])
            raise grading.Mismatch(
                f"{label}, token {first} is {got[first]}; the library's loop writes "
                f"{want[first]} from the same seed and the same text before it. Do you use the "
                "logits of the last position only, divided (not multiplied) by the temperature?"
            )
