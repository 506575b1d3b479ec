"""Tests of the graded exercises' checks (course_lib/checks/ch00.py ... ch04.py).

For every exercise: the reference solution passes (the copy below and the function in
solutions/*.ipynb), answers that lean on the library's own function fail with "Write it
yourself", and the wrong answers learners are likely to write all fail. No hint, and no
message of a failed verdict, shows a line of the solution, and every check's pointer to the
chapter names a cell that exists.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
import tensorflow as tf

from course_lib import grading
from course_lib import train as course_train
from course_lib.checks import ch00, ch01, ch02, ch03, ch04
from course_lib.models import diffusion, gan, gpt, mixture, vae

from .test_exercise_contract import solution_lines

ROOT = Path(__file__).resolve().parents[1]
MODULES = (ch00, ch01, ch02, ch03, ch04)
CHECKS = {name: module for module in MODULES for name in module.exercise.specs}
POINTS = {
    "batches_per_epoch": 1, "gaussian_log_prob": 1, "sample_from_mixture": 2,
    "discriminator_loss": 1, "generator_loss": 1, "gradient_penalty": 2,
    "adaptive_instance_norm": 1,
    "reparameterize": 1, "kl_divergence": 1, "vae_loss": 2, "roc_auc": 2,
    "q_sample": 1, "posterior_mean_variance": 2, "ddim_update": 1, "guided_noise": 1,
    "causal_mask": 1, "scaled_dot_product_attention": 2, "top_k_filter": 1, "top_p_filter": 2,
    "bits_per_character": 1,
}  # fmt: skip


@pytest.fixture(autouse=True)
def lenient(monkeypatch):
    """Checks report rather than raise, and write no grading log."""
    for name in ("NBGRADER_EXECUTION", "COURSE_STRICT", "COURSE_GRADING_LOG"):
        monkeypatch.delenv(name, raising=False)


def run(name, fn) -> grading.Verdict:
    return getattr(CHECKS[name], name)(fn)


# -- the reference solutions, copied from solutions/*.ipynb ----------------------------------


def batches_per_epoch(n_examples, batch_size):
    return math.ceil(n_examples / batch_size)


def gaussian_log_prob(x, mean, std):
    z = (np.asarray(x) - mean) / std
    return np.sum(-0.5 * z**2 - np.log(std) - 0.5 * np.log(2 * np.pi), axis=-1)


def sample_from_mixture(weights, means, stds, n, rng):
    picks = rng.choice(len(weights), size=n, p=weights)
    return means[picks] + stds[picks] * rng.standard_normal((n, means.shape[1]))


def discriminator_loss(real_logits, fake_logits):
    real_part = tf.reduce_mean(tf.nn.softplus(-real_logits))
    fake_part = tf.reduce_mean(tf.nn.softplus(fake_logits))
    return real_part + fake_part


def generator_loss(fake_logits):
    return tf.reduce_mean(tf.nn.softplus(-fake_logits))


def gradient_penalty(critic, real, fake, alpha):
    x_hat = real + alpha * (fake - real)
    with tf.GradientTape() as tape:
        tape.watch(x_hat)
        scores = critic(x_hat, training=True)
    grads = tape.gradient(scores, x_hat)
    norms = tf.sqrt(tf.reduce_sum(tf.square(grads), axis=[1, 2, 3]) + 1e-12)
    return tf.reduce_mean(tf.square(norms - 1.0))


def adaptive_instance_norm(x, scale, bias):
    mean, var = tf.nn.moments(x, axes=[1, 2], keepdims=True)
    normalised = (x - mean) / tf.sqrt(var + 1e-5)
    return normalised * scale[:, None, None, :] + bias[:, None, None, :]


def reparameterize(mean, log_var, eps):
    return mean + np.exp(0.5 * log_var) * eps


def kl_divergence(mean, log_var):
    return 0.5 * np.sum(np.exp(log_var) + mean**2 - 1.0 - log_var, axis=-1)


def vae_loss(x, x_hat, mean, log_var, beta):
    per_pixel = -(x * np.log(x_hat) + (1 - x) * np.log(1 - x_hat))
    reconstruction = per_pixel.sum(axis=(1, 2, 3))
    return np.mean(reconstruction + beta * kl_divergence(mean, log_var))


def roc_auc(normal_scores, anomaly_scores):
    normal = np.asarray(normal_scores, float)
    anomaly = np.asarray(anomaly_scores, float)
    higher = anomaly[:, None] > normal[None, :]
    tied = anomaly[:, None] == normal[None, :]
    return float(np.mean(higher + 0.5 * tied))


def q_sample(x0, t, noise, alpha_bars):
    abar = alpha_bars[t].reshape(-1, 1, 1, 1)
    return np.sqrt(abar) * x0 + np.sqrt(1.0 - abar) * noise


def posterior_mean_variance(x0, xt, t, betas, alpha_bars):
    beta, abar = betas[t], alpha_bars[t]
    abar_prev = alpha_bars[t - 1] if t > 0 else 1.0
    mean = (beta * np.sqrt(abar_prev) * x0 + (1.0 - abar_prev) * np.sqrt(1.0 - beta) * xt) / (
        1.0 - abar
    )
    variance = beta * (1.0 - abar_prev) / (1.0 - abar)
    return mean, variance


def ddim_update(xt, eps, abar_t, abar_prev):
    x0 = (xt - np.sqrt(1.0 - abar_t) * eps) / np.sqrt(abar_t)
    return np.sqrt(abar_prev) * x0 + np.sqrt(1.0 - abar_prev) * eps


def guided_noise(eps_cond, eps_uncond, scale):
    return eps_uncond + scale * (eps_cond - eps_uncond)


def causal_mask(length):
    steps = np.arange(length)
    return steps[:, None] >= steps[None, :]


def scaled_dot_product_attention(q, k, v, mask=None):
    d = q.shape[-1]
    scores = q @ np.swapaxes(k, -1, -2) / math.sqrt(d)
    if mask is not None:
        scores = np.where(mask, scores, -np.inf)
    scores = scores - scores.max(axis=-1, keepdims=True)
    weights = np.exp(scores)
    weights = weights / weights.sum(axis=-1, keepdims=True)
    return weights @ v, weights


def top_k_filter(logits, k):
    kth_best = np.sort(logits, axis=-1)[..., -k][..., None]
    return np.where(logits < kth_best, -np.inf, logits)


def top_p_filter(logits, p):
    probs = np.exp(logits - logits.max(axis=-1, keepdims=True))
    probs = probs / probs.sum(axis=-1, keepdims=True)
    order = np.argsort(-probs, axis=-1, kind="stable")
    sorted_probs = np.take_along_axis(probs, order, axis=-1)
    before = np.cumsum(sorted_probs, axis=-1) - sorted_probs  # mass of the tokens ahead
    keep = np.zeros_like(logits, dtype=bool)
    np.put_along_axis(keep, order, before < p, axis=-1)
    return np.where(keep, logits, -np.inf)


def bits_per_character(mean_nll_nats, chars_per_token=1.0):
    return mean_nll_nats / math.log(2) / chars_per_token


REFERENCE = {name: globals()[name] for name in POINTS}


# -- the registry ------------------------------------------------------------------------------


def test_every_exercise_is_registered_with_its_points():
    # (other exercises may follow in the same registries)
    assert {name: _specs()[name].points for name in POINTS} == POINTS
    for module in MODULES:
        stem = module.exercise.notebook
        assert (ROOT / "notebooks" / f"{stem}.ipynb").exists()
        assert (ROOT / "solutions" / f"{stem}.ipynb").exists()
        assert module.__name__.endswith(f"ch{stem[:2]}")


def _specs():
    return {name: module.exercise.specs[name] for name, module in CHECKS.items()}


# -- the reference answers pass ----------------------------------------------------------------


@pytest.mark.parametrize("name", sorted(POINTS))
def test_reference_solution_passes(name):
    verdict = run(name, REFERENCE[name])
    assert verdict.status == grading.PASSED, verdict.message
    assert verdict.points == POINTS[name]


def _solution_lines(name: str) -> set[str]:
    """The lines of exercise ``name``'s answer in its solution notebook (12 characters or more)."""
    lines = solution_lines(CHECKS[name].exercise.notebook, name)
    assert lines, f"no solution of {name} in solutions/"
    return lines


# -- answers that call the library's own function -------------------------------------------

SCHEDULE = diffusion.make_schedule("cosine", 100)

LIBRARY = {
    "batches_per_epoch": lambda n, b: course_train.batches_per_epoch(n, b),
    "gaussian_log_prob": lambda x, m, s: mixture.diag_gaussian_log_prob(x, m, s).numpy(),
    "sample_from_mixture": lambda w, m, s, n, rng: mixture.GaussianMixture.sample(
        mixture.GaussianMixture(3), n, seed=int(rng.integers(1000))
    ),
    "discriminator_loss": lambda r, f: gan.discriminator_loss(r, f),
    "generator_loss": lambda f: gan.generator_loss(f),
    "gradient_penalty": lambda c, r, f, a: gan.gradient_penalty(c, r, f, a),
    "adaptive_instance_norm": lambda x, s, b: gan.adaptive_instance_norm(x, s, b),
    "reparameterize": lambda m, lv, e: vae.reparameterize(m, lv, noise=e).numpy(),
    "kl_divergence": lambda m, lv: vae.kl_divergence(m, lv).numpy(),
    "vae_loss": lambda x, xh, m, lv, b: float(vae.vae_loss(x, xh, m, lv, b).total),
    "roc_auc": lambda n, a: vae.roc_auc(n, a),
    "q_sample": lambda x0, t, e, ab: diffusion.q_sample(x0, t, e, SCHEDULE),
    "posterior_mean_variance": lambda x0, xt, t, b, ab: diffusion.posterior_mean_variance(
        x0, xt, t, SCHEDULE
    ),
    "ddim_update": lambda xt, e, a, ap: diffusion.ddim_step(xt, e, a, ap),
    "guided_noise": lambda c, u, s: diffusion.guided_noise(c, u, s),
    "causal_mask": lambda n: gpt.causal_mask(n),
    "scaled_dot_product_attention": lambda q, k, v, m=None: tuple(
        np.asarray(t) for t in gpt.scaled_dot_product_attention(q, k, v, m)
    ),
    "top_k_filter": lambda logits, k: gpt.top_k_filter(logits, k),
    "top_p_filter": lambda logits, p: gpt.top_p_filter(logits, p),
    "bits_per_character": lambda nats, chars=1.0: gpt.bits_per_character(nats, chars),
}

# library pieces that compute part of the answer: also switched off
PARTS = [
    ("vae_loss", lambda x, xh, m, lv, b: float(
        np.mean(vae.reconstruction_loss(x, xh).numpy() + b * kl_divergence(m, lv)))),
    ("vae_loss", lambda x, xh, m, lv, b: float(
        np.mean(-(x * np.log(xh) + (1 - x) * np.log(1 - xh)).sum(axis=(1, 2, 3))
                + b * vae.kl_divergence(m, lv).numpy()))),
    ("ddim_update", lambda xt, e, a, ap: np.sqrt(ap) * diffusion.predict_x0(xt, e, a)
        + np.sqrt(1 - ap) * e),
    ("top_k_filter", lambda logits, k: gpt._filter_k(tf.constant(logits), k).numpy()),
    ("top_p_filter", lambda logits, p: gpt._filter_p(tf.constant(logits), p).numpy()),
    ("gaussian_log_prob", lambda x, m, s: np.sum(
        vae.gaussian_log_density(x, m, 2 * np.log(s)), axis=-1)),
]  # fmt: skip


def _assert_write_it_yourself(verdict):
    assert verdict.status == grading.FAILED, (verdict.status, verdict.message)
    assert "Write it yourself" in verdict.message
    assert verdict.points == 0


@pytest.mark.parametrize("name", sorted(POINTS))
def test_calling_the_library_fails(name):
    _assert_write_it_yourself(run(name, LIBRARY[name]))


@pytest.mark.parametrize("name", sorted(POINTS))
def test_calling_the_library_inside_try_except_fails(name):
    library, fallback = LIBRARY[name], REFERENCE[name]

    def sneaky(*args, **kwargs):
        try:
            return library(*args, **kwargs)
        except Exception:
            return fallback(*args, **kwargs)

    def sneakier(*args, **kwargs):
        try:
            return library(*args, **kwargs)
        except BaseException:  # noqa: B036 - what a learner might write
            return fallback(*args, **kwargs)

    _assert_write_it_yourself(run(name, sneaky))
    _assert_write_it_yourself(run(name, sneakier))


@pytest.mark.parametrize(
    "name, answer", PARTS, ids=[f"{name}-{i}" for i, (name, _) in enumerate(PARTS)]
)
def test_calling_a_library_piece_fails(name, answer):
    _assert_write_it_yourself(run(name, answer))


def test_library_is_switched_back_on_after_a_check():
    run("kl_divergence", LIBRARY["kl_divergence"])
    assert vae.kl_divergence(np.zeros((1, 2)), np.zeros((1, 2))).numpy().tolist() == [0.0]


# -- other correct answers pass too ---------------------------------------------------------


def _mixture_loop(weights, means, stds, n, rng):
    picks = rng.choice(len(weights), size=n, p=weights)
    out = np.empty((n, means.shape[1]))
    for j in range(len(weights)):
        rows = picks == j
        out[rows] = rng.normal(means[j], stds[j], size=(rows.sum(), means.shape[1]))
    return out


def _gp_flat(critic, real, fake, alpha):
    x_hat = alpha * fake + (1 - alpha) * real
    with tf.GradientTape() as tape:
        tape.watch(x_hat)
        score = tf.reduce_sum(critic(x_hat))
    grads = tf.reshape(tape.gradient(score, x_hat), [tf.shape(real)[0], -1])
    return tf.reduce_mean((tf.norm(grads, axis=1) - 1.0) ** 2)


def _adain_numpy(x, scale, bias):
    x = np.asarray(x)
    mean = x.mean(axis=(1, 2), keepdims=True)
    std = np.sqrt(x.var(axis=(1, 2), keepdims=True) + 1e-5)
    return (x - mean) / std * np.asarray(scale)[:, None, None, :] + np.asarray(bias)[
        :, None, None, :
    ]


def _auc_loops(normal_scores, anomaly_scores):
    total = 0.0
    for a in anomaly_scores:
        for n in normal_scores:
            total += 1.0 if a > n else 0.5 if a == n else 0.0
    return total / (len(anomaly_scores) * len(normal_scores))


def _attention_big_negative(q, k, v, mask=None):
    scores = np.einsum("...qd,...kd->...qk", q, k) / np.sqrt(q.shape[-1])
    if mask is not None:
        scores = np.where(mask, scores, -1e9)
    weights = np.exp(scores - scores.max(-1, keepdims=True))
    weights /= weights.sum(-1, keepdims=True)
    return np.einsum("...qk,...kd->...qd", weights, v), weights


def _top_p_rows(logits, p):
    out = np.full(logits.shape, -np.inf)
    for r, row in enumerate(logits):
        probs = np.exp(row - row.max())
        probs /= probs.sum()
        total = 0.0
        for i in np.argsort(probs)[::-1]:
            out[r, i] = row[i]
            total += probs[i]
            if total >= p:
                break
    return out


ALTERNATIVES = [
    ("batches_per_epoch", "negative floor division", lambda n, b: -(-n // b)),
    ("batches_per_epoch", "np.ceil (a float)", lambda n, b: np.ceil(n / b)),
    ("batches_per_epoch", "(n + b - 1) // b", lambda n, b: (n + b - 1) // b),
    ("gaussian_log_prob", "log of the density",
     lambda x, m, s: np.log(np.prod(np.exp(-0.5 * ((x - m) / s) ** 2) / (s * np.sqrt(2 * np.pi)),
                                    axis=1))),
    ("gaussian_log_prob", "TensorFlow",
     lambda x, m, s: tf.reduce_sum(-0.5 * tf.square((x - m) / s) - tf.math.log(s * np.sqrt(2 * np.pi)),
                                   axis=-1)),
    ("sample_from_mixture", "rng.normal per component", _mixture_loop),
    ("sample_from_mixture", "rng.normal with arrays",
     lambda w, m, s, n, rng: (lambda p: rng.normal(m[p], s[p]))(rng.choice(len(w), n, p=w))),
    ("discriminator_loss", "sigmoid_cross_entropy_with_logits",
     lambda r, f: tf.reduce_mean(tf.nn.sigmoid_cross_entropy_with_logits(tf.ones_like(r), r))
     + tf.reduce_mean(tf.nn.sigmoid_cross_entropy_with_logits(tf.zeros_like(f), f))),
    ("generator_loss", "sigmoid_cross_entropy_with_logits",
     lambda f: tf.reduce_mean(tf.nn.sigmoid_cross_entropy_with_logits(tf.ones_like(f), f))),
    ("gradient_penalty", "flattened gradients, mixed the other way round", _gp_flat),
    ("adaptive_instance_norm", "NumPy", _adain_numpy),
    ("adaptive_instance_norm", "reduce_std",
     lambda x, s, b: (x - tf.reduce_mean(x, [1, 2], keepdims=True))
     / tf.sqrt(tf.math.reduce_variance(x, [1, 2], keepdims=True) + 1e-5)
     * s[:, tf.newaxis, tf.newaxis] + b[:, tf.newaxis, tf.newaxis]),
    ("reparameterize", "sqrt of the variance", lambda m, lv, e: m + np.sqrt(np.exp(lv)) * e),
    ("kl_divergence", "axis=1 and float32",
     lambda m, lv: (0.5 * (np.exp(lv) + m**2 - 1 - lv)).astype(np.float32).sum(axis=1)),
    ("vae_loss", "clipped, reshaped per image",
     lambda x, xh, m, lv, b: float(np.mean(
         -(x * np.log(np.clip(xh, 1e-7, 1)) + (1 - x) * np.log(np.clip(1 - xh, 1e-7, 1)))
         .reshape(len(x), -1).sum(1) + b * kl_divergence(m, lv)))),
    ("roc_auc", "loops", _auc_loops),
    ("q_sample", "indexing with None axes",
     lambda x0, t, e, ab: np.sqrt(ab[t])[:, None, None, None] * x0
     + np.sqrt(1 - ab[t])[:, None, None, None] * e),
    ("posterior_mean_variance", "alpha_bars with a 1 in front",
     lambda x0, xt, t, b, ab: (lambda prev: (
         (b[t] * np.sqrt(prev) * x0 + (1 - prev) * np.sqrt(1 - b[t]) * xt) / (1 - ab[t]),
         np.float32(b[t] * (1 - prev) / (1 - ab[t]))))(np.concatenate([[1.0], ab])[t])),
    ("ddim_update", "predicted x0 in one line",
     lambda xt, e, a, ap: np.sqrt(ap / a) * (xt - np.sqrt(1 - a) * e) + np.sqrt(1 - ap) * e),
    ("guided_noise", "weighted sum", lambda c, u, s: (1 - s) * u + s * c),
    ("causal_mask", "np.tri of ints", lambda n: np.tri(n, dtype=int)),
    ("causal_mask", "tril of floats", lambda n: np.tril(np.ones((n, n)))),
    ("scaled_dot_product_attention", "einsum and -1e9", _attention_big_negative),
    ("top_k_filter", "np.partition",
     lambda lg, k: np.where(lg >= np.partition(lg, -k, axis=-1)[:, -k:].min(-1, keepdims=True),
                            lg, -np.inf)),
    ("top_k_filter", "-1e9 for removed",
     lambda lg, k: np.where(lg < np.sort(lg, axis=-1)[:, [-k]], -1e9, lg)),
    ("top_p_filter", "row by row", _top_p_rows),
    ("bits_per_character", "times log2(e)", lambda n, c=1.0: n * math.log2(math.e) / c),
]  # fmt: skip


@pytest.mark.parametrize(
    "name, why, answer",
    ALTERNATIVES,
    ids=[f"{n}-{w}".replace(" ", "_") for n, w, _ in ALTERNATIVES],
)
def test_other_correct_answer_passes(name, why, answer):
    verdict = run(name, answer)
    assert verdict.status == grading.PASSED, f"{why}: {verdict.message}"


# -- wrong answers --------------------------------------------------------------------------

WRONG: list[tuple[str, str, object]] = []


def _w(name, why, fn):
    WRONG.append((name, why, fn))


# ch00 · batches_per_epoch
_w("batches_per_epoch", "floor division", lambda n, b: n // b)
_w("batches_per_epoch", "int() of the division", lambda n, b: int(n / b))
_w("batches_per_epoch", "always one extra batch", lambda n, b: n // b + 1)
_w("batches_per_epoch", "round()", lambda n, b: round(n / b))
_w("batches_per_epoch", "a fraction of batches", lambda n, b: n / b)
_w("batches_per_epoch", "arguments swapped", lambda n, b: math.ceil(b / n))
_w("batches_per_epoch", "(n + b) // b", lambda n, b: (n + b) // b)

# ch00 · gaussian_log_prob
_HALF_LOG_2PI = 0.5 * np.log(2 * np.pi)


def _z(x, m, s):
    return (np.asarray(x) - m) / s


_w(
    "gaussian_log_prob",
    "no log(std)",
    lambda x, m, s: np.sum(-0.5 * _z(x, m, s) ** 2 - _HALF_LOG_2PI, axis=-1),
)
_w(
    "gaussian_log_prob",
    "no 2π constant",
    lambda x, m, s: np.sum(-0.5 * _z(x, m, s) ** 2 - np.log(s), axis=-1),
)
_w("gaussian_log_prob", "sign flipped (the loss)", lambda x, m, s: -gaussian_log_prob(x, m, s))
_w(
    "gaussian_log_prob",
    "not summed over dimensions",
    lambda x, m, s: -0.5 * _z(x, m, s) ** 2 - np.log(s) - _HALF_LOG_2PI,
)
_w(
    "gaussian_log_prob",
    "summed over the points (axis 0)",
    lambda x, m, s: np.sum(-0.5 * _z(x, m, s) ** 2 - np.log(s) - _HALF_LOG_2PI, axis=0),
)
_w(
    "gaussian_log_prob",
    "divided by the variance",
    lambda x, m, s: np.sum(
        -0.5 * ((np.asarray(x) - m) / s**2) ** 2 - np.log(s) - _HALF_LOG_2PI, axis=-1
    ),
)
_w(
    "gaussian_log_prob",
    "log of the variance",
    lambda x, m, s: np.sum(-0.5 * _z(x, m, s) ** 2 - np.log(s**2) - _HALF_LOG_2PI, axis=-1),
)
_w(
    "gaussian_log_prob",
    "mean over dimensions",
    lambda x, m, s: np.mean(-0.5 * _z(x, m, s) ** 2 - np.log(s) - _HALF_LOG_2PI, axis=-1),
)
_w(
    "gaussian_log_prob",
    "no 1/2 on the square",
    lambda x, m, s: np.sum(-(_z(x, m, s) ** 2) - np.log(s) - _HALF_LOG_2PI, axis=-1),
)
_w(
    "gaussian_log_prob",
    "log(2π) without the 1/2",
    lambda x, m, s: np.sum(-0.5 * _z(x, m, s) ** 2 - np.log(s) - np.log(2 * np.pi), axis=-1),
)


# ch00 · sample_from_mixture
def _mixture(noise, pick=None, spread=lambda s: s):
    def sample(weights, means, stds, n, rng):
        picks = (
            rng.choice(len(weights), size=n, p=weights) if pick is None else pick(weights, n, rng)
        )
        return means[picks] + spread(stds[picks]) * noise(rng, n, means.shape[1])

    return sample


_w(
    "sample_from_mixture",
    "shared noise across dimensions",
    _mixture(lambda rng, n, d: rng.standard_normal((n, 1))),
)
_w(
    "sample_from_mixture",
    "one noise draw for all points",
    _mixture(lambda rng, n, d: rng.standard_normal(d)),
)
_w(
    "sample_from_mixture",
    "np.random instead of rng",
    lambda w, m, s, n, rng: (lambda p: m[p] + s[p] * np.random.standard_normal((n, m.shape[1])))(
        np.random.choice(len(w), size=n, p=w)
    ),
)
_w(
    "sample_from_mixture",
    "a fixed generator of its own",
    lambda w, m, s, n, rng: sample_from_mixture(w, m, s, n, np.random.default_rng(0)),
)
_w(
    "sample_from_mixture",
    "weights ignored",
    _mixture(
        lambda rng, n, d: rng.standard_normal((n, d)),
        pick=lambda w, n, rng: rng.choice(len(w), size=n),
    ),
)
_w(
    "sample_from_mixture",
    "one component for every point",
    _mixture(
        lambda rng, n, d: rng.standard_normal((n, d)),
        pick=lambda w, n, rng: rng.choice(len(w), p=w),
    ),
)
_w(
    "sample_from_mixture",
    "variances as spread",
    _mixture(lambda rng, n, d: rng.standard_normal((n, d)), spread=lambda s: s**2),
)
_w(
    "sample_from_mixture",
    "square root of the stds",
    _mixture(lambda rng, n, d: rng.standard_normal((n, d)), spread=np.sqrt),
)
_w(
    "sample_from_mixture",
    "centre and spread from two different picks",
    lambda w, m, s, n, rng: (
        m[rng.choice(len(w), size=n, p=w)]
        + s[rng.choice(len(w), size=n, p=w)] * rng.standard_normal((n, m.shape[1]))
    ),
)
_w(
    "sample_from_mixture",
    "weights used as component index",
    lambda w, m, s, n, rng: (
        m[np.argsort(w)[rng.choice(len(w), size=n, p=w)]]
        + s[rng.choice(len(w), size=n, p=w)] * rng.standard_normal((n, m.shape[1]))
    ),
)


# ch01 · discriminator_loss
def _sp(x):
    return tf.nn.softplus(x)


_w(
    "discriminator_loss",
    "labels swapped",
    lambda r, f: tf.reduce_mean(_sp(r)) + tf.reduce_mean(_sp(-f)),
)
_w(
    "discriminator_loss",
    "naive log(sigmoid)",
    lambda r, f: (
        -tf.reduce_mean(tf.math.log(tf.sigmoid(r))) - tf.reduce_mean(tf.math.log(1 - tf.sigmoid(f)))
    ),
)
_w(
    "discriminator_loss",
    "naive log(sigmoid) with an epsilon",
    lambda r, f: (
        -tf.reduce_mean(tf.math.log(tf.sigmoid(r) + 1e-7))
        - tf.reduce_mean(tf.math.log(1 - tf.sigmoid(f) + 1e-7))
    ),
)
_w(
    "discriminator_loss",
    "summed over the batch",
    lambda r, f: tf.reduce_sum(_sp(-r)) + tf.reduce_sum(_sp(f)),
)
_w(
    "discriminator_loss",
    "one mean over both batches",
    lambda r, f: tf.reduce_mean(tf.concat([_sp(-r), _sp(f)], axis=0)),
)
_w(
    "discriminator_loss",
    "the two means averaged",
    lambda r, f: (tf.reduce_mean(_sp(-r)) + tf.reduce_mean(_sp(f))) / 2,
)
_w("discriminator_loss", "only the real part", lambda r, f: tf.reduce_mean(_sp(-r)))
_w("discriminator_loss", "sign flipped", lambda r, f: -discriminator_loss(r, f))
_w("discriminator_loss", "per-image losses, not averaged", lambda r, f: _sp(-r) + _sp(f))

# ch01 · generator_loss
_w(
    "generator_loss",
    "saturating (minimax) form",
    lambda f: tf.reduce_mean(tf.math.log(1 - tf.sigmoid(f))),
)
_w("generator_loss", "minus the detective's fake part", lambda f: -tf.reduce_mean(_sp(f)))
_w("generator_loss", "label 0 for the fakes", lambda f: tf.reduce_mean(_sp(f)))
_w("generator_loss", "naive log(sigmoid)", lambda f: -tf.reduce_mean(tf.math.log(tf.sigmoid(f))))
_w("generator_loss", "summed over the batch", lambda f: tf.reduce_sum(_sp(-f)))
_w("generator_loss", "sign flipped", lambda f: -tf.reduce_mean(_sp(-f)))
_w("generator_loss", "per-image losses, not averaged", lambda f: _sp(-f))


# ch01 · gradient_penalty
def _gp(
    norm,
    mix=lambda r, f, a: r + a * (f - r),
    at=None,
    reduce=tf.reduce_mean,
    penalty=lambda n: tf.square(n - 1.0),
):
    def answer(critic, real, fake, alpha):
        x_hat = mix(real, fake, alpha)
        point = x_hat if at is None else at(real, fake, alpha)
        with tf.GradientTape() as tape:
            tape.watch(point)
            scores = critic(point, training=True)
        grads = tape.gradient(scores, point)
        return reduce(penalty(norm(grads)))

    return answer


def _norm(grads):
    return tf.sqrt(tf.reduce_sum(tf.square(grads), axis=[1, 2, 3]) + 1e-12)


_w("gradient_penalty", "no square root", _gp(lambda g: tf.reduce_sum(tf.square(g), [1, 2, 3])))
_w("gradient_penalty", "one norm over the whole batch", _gp(lambda g: tf.norm(g)))
_w(
    "gradient_penalty",
    "norm over the pixels only, not the channels",
    _gp(lambda g: tf.sqrt(tf.reduce_sum(tf.square(g), axis=[1, 2]))),
)
_w("gradient_penalty", "distance from 1 not squared", _gp(_norm, penalty=lambda n: n - 1.0))
_w("gradient_penalty", "absolute distance from 1", _gp(_norm, penalty=lambda n: tf.abs(n - 1.0)))
_w("gradient_penalty", "summed over the batch", _gp(_norm, reduce=tf.reduce_sum))
_w("gradient_penalty", "alpha on the real side", _gp(_norm, mix=lambda r, f, a: f + a * (r - f)))
_w("gradient_penalty", "gradient at the real images", _gp(_norm, at=lambda r, f, a: r))
_w(
    "gradient_penalty",
    "penalty on the norm, not its distance from 1",
    _gp(_norm, penalty=tf.square),
)


def _gp_shape0(critic, real, fake, alpha):
    x_hat = real + alpha * (fake - real)
    with tf.GradientTape() as tape:
        tape.watch(x_hat)
        scores = critic(x_hat, training=True)
    grads = tf.reshape(tape.gradient(scores, x_hat), [real.shape[0], -1])
    return tf.reduce_mean(tf.square(tf.norm(grads, axis=1) - 1.0))


def _gp_numpy(critic, real, fake, alpha):
    x_hat = real + alpha * (fake - real)
    with tf.GradientTape() as tape:
        tape.watch(x_hat)
        scores = critic(x_hat, training=True)
    grads = tape.gradient(scores, x_hat).numpy()
    return np.mean((np.sqrt((grads**2).sum(axis=(1, 2, 3))) - 1) ** 2)


def _gp_unwatched(critic, real, fake, alpha):
    x_hat = real + alpha * (fake - real)
    with tf.GradientTape() as tape:
        scores = critic(x_hat, training=True)
    grads = tape.gradient(scores, x_hat)
    return tf.reduce_mean(tf.square(_norm(grads) - 1.0))


_w("gradient_penalty", "batch size from real.shape[0] (None when compiled)", _gp_shape0)
_w("gradient_penalty", "NumPy in the middle (no graph)", _gp_numpy)
_w("gradient_penalty", "x_hat not watched", _gp_unwatched)


# ch01 · adaptive_instance_norm
def _adain(axes=(1, 2), eps_inside=True, eps=1e-5, swap=False, ddof=0, use_scale=True):
    def answer(x, scale, bias):
        x = np.asarray(x, np.float64)
        scale, bias = np.asarray(scale), np.asarray(bias)
        if swap:
            scale, bias = bias, scale
        mean = x.mean(axis=axes, keepdims=True)
        var = x.var(axis=axes, keepdims=True, ddof=ddof)
        std = np.sqrt(var + eps) if eps_inside else np.sqrt(var) + eps
        out = (x - mean) / std
        if use_scale:
            out = out * scale[:, None, None, :]
        return out + bias[:, None, None, :]

    return answer


_w("adaptive_instance_norm", "moments over the batch too", _adain(axes=(0, 1, 2)))
_w("adaptive_instance_norm", "moments over the channels too", _adain(axes=(1, 2, 3)))
_w(
    "adaptive_instance_norm",
    "moments over the whole tensor",
    lambda x, s, b: _adain(axes=(0, 1, 2, 3))(x, s, b),
)
_w("adaptive_instance_norm", "no epsilon", _adain(eps=0.0))
_w("adaptive_instance_norm", "epsilon outside the square root", _adain(eps_inside=False))
_w("adaptive_instance_norm", "scale and bias swapped", _adain(swap=True))
_w("adaptive_instance_norm", "unbiased variance (ddof=1)", _adain(ddof=1))
_w("adaptive_instance_norm", "scale not applied", _adain(use_scale=False))
_w(
    "adaptive_instance_norm",
    "divided by the variance",
    lambda x, s, b: (lambda m, v: (x - m) / (v + 1e-5) * s[:, None, None, :] + b[:, None, None, :])(
        *tf.nn.moments(x, axes=[1, 2], keepdims=True)
    ),
)
_w(
    "adaptive_instance_norm",
    "scale and bias not reshaped (broadcast over width)",
    lambda x, s, b: (lambda m, v: (x - m) / tf.sqrt(v + 1e-5) * s[:, None, :] + b[:, None, :])(
        *tf.nn.moments(x, axes=[1, 2], keepdims=True)
    ),
)

# ch02 · reparameterize
_w("reparameterize", "exp(log_var), the variance", lambda m, lv, e: m + np.exp(lv) * e)
_w("reparameterize", "log_var as the std", lambda m, lv, e: m + lv * e)
_w("reparameterize", "minus instead of plus", lambda m, lv, e: m - np.exp(0.5 * lv) * e)
_w(
    "reparameterize",
    "own noise instead of eps",
    lambda m, lv, e: m + np.exp(0.5 * lv) * np.random.standard_normal(np.shape(m)),
)
_w("reparameterize", "mean forgotten", lambda m, lv, e: np.exp(0.5 * lv) * e)
_w("reparameterize", "exp(-log_var / 2)", lambda m, lv, e: m + np.exp(-0.5 * lv) * e)
_w("reparameterize", "sqrt of log_var", lambda m, lv, e: m + np.sqrt(np.abs(lv)) * e)
_w(
    "reparameterize",
    "variance of mean and eps mixed up",
    lambda m, lv, e: (m + e) * np.exp(0.5 * lv),
)


# ch02 · kl_divergence
def _kl_terms(m, lv):
    return np.exp(lv) + m**2 - 1.0 - lv


_w(
    "kl_divergence",
    "summed over the batch axis",
    lambda m, lv: 0.5 * np.sum(_kl_terms(m, lv), axis=0),
)
_w("kl_divergence", "summed over everything", lambda m, lv: 0.5 * np.sum(_kl_terms(m, lv)))
_w("kl_divergence", "no 1/2", lambda m, lv: np.sum(_kl_terms(m, lv), axis=-1))
_w(
    "kl_divergence",
    "sign of the log_var term flipped",
    lambda m, lv: 0.5 * np.sum(np.exp(lv) + m**2 - 1.0 + lv, axis=-1),
)
_w(
    "kl_divergence",
    "std instead of the variance",
    lambda m, lv: 0.5 * np.sum(np.exp(0.5 * lv) + m**2 - 1.0 - lv, axis=-1),
)
_w(
    "kl_divergence",
    "mean over the latent dimensions",
    lambda m, lv: 0.5 * np.mean(_kl_terms(m, lv), axis=-1),
)
_w("kl_divergence", "overall sign flipped", lambda m, lv: -0.5 * np.sum(_kl_terms(m, lv), axis=-1))
_w(
    "kl_divergence",
    "log_var taken for the variance",
    lambda m, lv: 0.5 * np.sum(lv + m**2 - 1.0 - np.log(np.abs(lv)), axis=-1),
)
_w("kl_divergence", "mean² forgotten", lambda m, lv: 0.5 * np.sum(np.exp(lv) - 1.0 - lv, axis=-1))


# ch02 · vae_loss
def _vae(rec=None, kl=None, combine=None):
    def answer(x, x_hat, mean, log_var, beta):
        per_pixel = -(x * np.log(x_hat) + (1 - x) * np.log(1 - x_hat))
        r = per_pixel.sum(axis=(1, 2, 3)) if rec is None else rec(x, x_hat, per_pixel)
        k = kl_divergence(mean, log_var) if kl is None else kl(mean, log_var)
        return np.mean(r + beta * k) if combine is None else combine(r, k, beta)

    return answer


_w("vae_loss", "pixels averaged, not summed", _vae(rec=lambda x, xh, pp: pp.mean(axis=(1, 2, 3))))
_w("vae_loss", "summed over the batch", _vae(combine=lambda r, k, b: np.sum(r + b * k)))
_w("vae_loss", "beta on the reconstruction", _vae(combine=lambda r, k, b: np.mean(b * r + k)))
_w("vae_loss", "beta forgotten", _vae(combine=lambda r, k, b: np.mean(r + k)))
_w(
    "vae_loss",
    "squared error instead of cross-entropy",
    _vae(rec=lambda x, xh, pp: ((x - xh) ** 2).sum(axis=(1, 2, 3))),
)
_w(
    "vae_loss",
    "cross-entropy for 0/1 pixels only",
    _vae(rec=lambda x, xh, pp: -np.where(x > 0.5, np.log(xh), np.log(1 - xh)).sum(axis=(1, 2, 3))),
)
_w(
    "vae_loss",
    "cross-entropy without its minus",
    _vae(rec=lambda x, xh, pp: -pp.sum(axis=(1, 2, 3))),
)
_w("vae_loss", "KL summed over the batch", _vae(combine=lambda r, k, b: np.mean(r) + b * np.sum(k)))
_w(
    "vae_loss",
    "only the x·log(x_hat) term",
    _vae(rec=lambda x, xh, pp: -(x * np.log(xh)).sum(axis=(1, 2, 3))),
)
_w("vae_loss", "one number per image (no mean)", _vae(combine=lambda r, k, b: r + b * k))
_w("vae_loss", "cross-entropy over the last axis only", _vae(rec=lambda x, xh, pp: pp.sum(axis=-1)))


# ch02 · roc_auc
def _auc(tie=0.5, swap=False):
    def answer(normal_scores, anomaly_scores):
        normal = np.asarray(normal_scores, float)
        anomaly = np.asarray(anomaly_scores, float)
        if swap:
            normal, anomaly = anomaly, normal
        higher = anomaly[:, None] > normal[None, :]
        tied = anomaly[:, None] == normal[None, :]
        return float(np.mean(higher + tie * tied))

    return answer


def _auc_ranks(normal_scores, anomaly_scores):
    scores = np.concatenate([normal_scores, anomaly_scores])
    ranks = np.argsort(np.argsort(scores, kind="stable"), kind="stable") + 1
    n_n, n_a = len(normal_scores), len(anomaly_scores)
    return float((ranks[n_n:].sum() - n_a * (n_a + 1) / 2) / (n_a * n_n))


_w("roc_auc", "ties count 0", _auc(tie=0.0))
_w("roc_auc", "ties count 1", _auc(tie=1.0))
_w("roc_auc", "normal and anomaly swapped", _auc(swap=True))
_w(
    "roc_auc",
    "pairs by position (zip)",
    lambda n, a: float(np.mean([(y > x) + 0.5 * (y == x) for x, y in zip(n, a, strict=False)])),
)
_w(
    "roc_auc",
    "compared with the mean normal score",
    lambda n, a: float(np.mean(np.asarray(a) > np.mean(n))),
)
_w("roc_auc", "ranks without averaging ties", _auc_ranks)
_w(
    "roc_auc",
    "divided by all examples, not all pairs",
    lambda n, a: float(
        np.sum(
            (np.asarray(a)[:, None] > np.asarray(n)[None, :])
            + 0.5 * (np.asarray(a)[:, None] == np.asarray(n)[None, :])
        )
        / (len(n) * len(a) + 1)
    ),
)


# ch03 · q_sample
def _q(pick=lambda ab, t: ab[t].reshape(-1, 1, 1, 1), root=np.sqrt, swap=False):
    def answer(x0, t, noise, alpha_bars):
        abar = pick(alpha_bars, t)
        a, b = root(abar), root(1.0 - abar)
        if swap:
            a, b = b, a
        return a * x0 + b * noise

    return answer


_w("q_sample", "alpha_bar instead of its square root", _q(root=lambda v: v))
_w("q_sample", "image and noise weights swapped", _q(swap=True))
_w("q_sample", "not reshaped per image", _q(pick=lambda ab, t: ab[t]))
_w("q_sample", "the first image's step for all", _q(pick=lambda ab, t: ab[t[0]]))
_w("q_sample", "the mean alpha_bar of the batch", _q(pick=lambda ab, t: ab[t].mean()))
_w("q_sample", "off by one step (t - 1)", _q(pick=lambda ab, t: ab[t - 1].reshape(-1, 1, 1, 1)))
_w(
    "q_sample",
    "off by one step (t + 1, clipped)",
    _q(pick=lambda ab, t: ab[np.minimum(t + 1, len(ab) - 1)].reshape(-1, 1, 1, 1)),
)
_w(
    "q_sample",
    "no square root on the noise weight",
    lambda x0, t, e, ab: (
        np.sqrt(ab[t]).reshape(-1, 1, 1, 1) * x0 + (1 - ab[t]).reshape(-1, 1, 1, 1) * e
    ),
)
_w("q_sample", "betas-like: 1 - alpha_bar on the image", _q(root=lambda v: v, swap=True))


# ch03 · posterior_mean_variance
def _posterior(
    prev=lambda ab, t: ab[t - 1] if t > 0 else 1.0,
    var=None,
    swap=False,
    root=np.sqrt,
    prev_in_xt=True,
):
    def answer(x0, xt, t, betas, alpha_bars):
        beta, abar = betas[t], alpha_bars[t]
        abar_prev = prev(alpha_bars, t)
        c0 = beta * root(abar_prev) / (1.0 - abar)
        ct = (1.0 - (abar_prev if prev_in_xt else abar)) * np.sqrt(1.0 - beta) / (1.0 - abar)
        if swap:
            c0, ct = ct, c0
        variance = beta * (1.0 - abar_prev) / (1.0 - abar)
        if var is not None:
            variance = var(beta, abar, abar_prev, variance)
        return c0 * x0 + ct * xt, variance

    return answer


_w(
    "posterior_mean_variance",
    "alpha_bars[t - 1] at t = 0 (index -1)",
    _posterior(prev=lambda ab, t: ab[t - 1]),
)
_w(
    "posterior_mean_variance",
    "alpha_bars[0] at t = 0",
    _posterior(prev=lambda ab, t: ab[max(t - 1, 0)]),
)
_w("posterior_mean_variance", "variance beta_t", _posterior(var=lambda b, a, ap, v: b))
_w(
    "posterior_mean_variance",
    "standard deviation, not variance",
    _posterior(var=lambda b, a, ap, v: np.sqrt(v)),
)
_w(
    "posterior_mean_variance",
    "the guide's variance",
    _posterior(var=lambda b, a, ap, v: b * (1 - a) / (1 - a - b)),
)
_w("posterior_mean_variance", "x0 and xt weights swapped", _posterior(swap=True))
_w("posterior_mean_variance", "no square root on abar_prev", _posterior(root=lambda v: v))
_w("posterior_mean_variance", "abar_t in the xt weight", _posterior(prev_in_xt=False))
_w(
    "posterior_mean_variance",
    "variance as an image-sized array of the wrong value",
    _posterior(var=lambda b, a, ap, v: np.full((3, 28, 28, 1), b)),
)


# ch03 · ddim_update
def _ddim(guess_abar="t", renoise_abar="prev", noise=None, root=np.sqrt):
    def answer(xt, eps, abar_t, abar_prev):
        pick = {"t": abar_t, "prev": abar_prev}
        a_g, a_r = pick[guess_abar], pick[renoise_abar]
        x0 = (xt - root(1.0 - a_g) * eps) / root(a_g)
        e = eps if noise is None else noise(eps)
        return np.sqrt(a_r) * x0 + np.sqrt(1.0 - a_r) * e

    return answer


_w(
    "ddim_update",
    "adds fresh noise",
    lambda xt, e, a, ap: ddim_update(xt, e, a, ap) + 0.1 * np.random.standard_normal(xt.shape),
)
_w("ddim_update", "abar_t used twice (returns x_t)", _ddim(renoise_abar="t"))
_w("ddim_update", "abar_t and abar_prev swapped", _ddim(guess_abar="prev", renoise_abar="t"))
_w(
    "ddim_update",
    "fresh noise instead of eps when re-noising",
    _ddim(noise=lambda e: np.random.standard_normal(e.shape)),
)
_w(
    "ddim_update",
    "fresh noise from a fixed generator",
    _ddim(noise=lambda e: np.random.default_rng(0).standard_normal(e.shape)),
)
_w("ddim_update", "no square roots in the clean-image guess", _ddim(root=lambda v: v))
_w(
    "ddim_update",
    "no re-noising (returns the clean guess)",
    lambda xt, e, a, ap: (xt - np.sqrt(1.0 - a) * e) / np.sqrt(a),
)
_w("ddim_update", "abar_prev used twice", _ddim(guess_abar="prev"))

# ch03 · guided_noise
_w("guided_noise", "sign flipped", lambda c, u, s: u - s * (c - u))
_w("guided_noise", "the (1 + w) convention", lambda c, u, s: c + s * (c - u))
_w("guided_noise", "cond and uncond swapped", lambda c, u, s: c + s * (u - c))
_w("guided_noise", "scale times cond plus uncond", lambda c, u, s: s * c + u)
_w("guided_noise", "scaled average", lambda c, u, s: s * (c + u) / 2)
_w("guided_noise", "scale ignored", lambda c, u, s: c)

# ch04 · causal_mask
_w("causal_mask", "strict lower triangle", lambda n: np.tril(np.ones((n, n), bool), k=-1))
_w("causal_mask", "upper triangle", lambda n: np.triu(np.ones((n, n), bool)))
_w(
    "causal_mask",
    "strict upper triangle (the hidden part)",
    lambda n: np.triu(np.ones((n, n), bool), k=1),
)
_w("causal_mask", "everything allowed", lambda n: np.ones((n, n), bool))
_w(
    "causal_mask",
    "additive mask of 0 and -inf",
    lambda n: np.where(np.tril(np.ones((n, n), bool)), 0.0, -np.inf),
)
_w("causal_mask", "fixed size", lambda n: np.tril(np.ones((5, 5), bool)))
_w(
    "causal_mask",
    "comparison the wrong way",
    lambda n: np.arange(n)[:, None] <= np.arange(n)[None, :],
)
_w("causal_mask", "one row only", lambda n: np.ones(n, bool))


# ch04 · scaled_dot_product_attention
def _attention(
    axis=-1, scale=math.sqrt, mask_mode="before", stable=True, transpose=None, swap_out=False
):
    def answer(q, k, v, mask=None):
        kt = np.swapaxes(k, -1, -2) if transpose is None else transpose(k)
        scores = q @ kt / scale(q.shape[-1])
        if mask is not None and mask_mode == "before":
            scores = np.where(mask, scores, -np.inf)
        if mask is not None and mask_mode == "inverted":
            scores = np.where(mask, -np.inf, scores)
        if stable:
            scores = scores - scores.max(axis=axis, keepdims=True)
        weights = np.exp(scores)
        weights = weights / weights.sum(axis=axis, keepdims=True)
        if mask is not None and mask_mode == "after":
            weights = weights * mask
        out = weights @ v
        return (weights, out) if swap_out else (out, weights)

    return answer


_w("scaled_dot_product_attention", "softmax over the wrong axis", _attention(axis=-2))
_w("scaled_dot_product_attention", "no 1/sqrt(d)", _attention(scale=lambda d: 1.0))
_w("scaled_dot_product_attention", "divided by d", _attention(scale=lambda d: d))
_w("scaled_dot_product_attention", "mask applied after the softmax", _attention(mask_mode="after"))
_w("scaled_dot_product_attention", "mask inverted", _attention(mask_mode="inverted"))
_w("scaled_dot_product_attention", "mask ignored", _attention(mask_mode="ignored"))
_w("scaled_dot_product_attention", "softmax that overflows", _attention(stable=False))
_w("scaled_dot_product_attention", "k.T transposes every axis", _attention(transpose=lambda k: k.T))
_w("scaled_dot_product_attention", "returns (weights, output)", _attention(swap_out=True))
_w(
    "scaled_dot_product_attention",
    "multiplied by sqrt(d)",
    _attention(scale=lambda d: 1 / math.sqrt(d)),
)


# ch04 · top_k_filter
def _top_k_argsort(logits, k):
    keep = np.zeros(logits.shape, bool)
    np.put_along_axis(keep, np.argsort(logits, axis=-1)[..., -k:], True, axis=-1)
    return np.where(keep, logits, -np.inf)


def _top_k_in_place(logits, k):
    kth = np.sort(logits, axis=-1)[..., -k][..., None]
    logits[logits < kth] = -np.inf
    return logits


_w("top_k_filter", "exactly k by argsort (ties)", _top_k_argsort)
_w(
    "top_k_filter",
    "keeps k + 1",
    lambda lg, k: np.where(lg < np.sort(lg, axis=-1)[..., -k - 1][..., None], -np.inf, lg),
)
_w(
    "top_k_filter",
    "<= removes the k-th best",
    lambda lg, k: np.where(lg <= np.sort(lg, axis=-1)[..., -k][..., None], -np.inf, lg),
)
_w(
    "top_k_filter",
    "sorted along the wrong axis",
    lambda lg, k: np.where(lg < np.sort(lg, axis=0)[-k][None, :], -np.inf, lg),
)
_w(
    "top_k_filter",
    "the k-th smallest",
    lambda lg, k: np.where(lg < np.sort(lg, axis=-1)[..., k - 1][..., None], -np.inf, lg),
)
_w("top_k_filter", "changes the input in place", _top_k_in_place)
_w(
    "top_k_filter",
    "removed logits set to 0",
    lambda lg, k: np.where(lg < np.sort(lg, axis=-1)[..., -k][..., None], 0.0, lg),
)
_w(
    "top_k_filter",
    "keeps the k smallest",
    lambda lg, k: np.where(lg > np.sort(lg, axis=-1)[..., k - 1][..., None], -np.inf, lg),
)


# ch04 · top_p_filter
def _before(ranked):
    return np.cumsum(ranked, axis=-1) - ranked  # mass of the tokens ahead


def _top_p(
    rule=lambda ranked, p: _before(ranked) < p,
    order=lambda probs: np.argsort(-probs, -1),
    restore=True,
    softmax_axis=-1,
    use_probs=True,
):
    def answer(logits, p):
        probs = np.exp(logits - logits.max(axis=softmax_axis, keepdims=True))
        probs = probs / probs.sum(axis=softmax_axis, keepdims=True)
        values = probs if use_probs else logits
        idx = order(values)
        keep_sorted = rule(np.take_along_axis(values, idx, axis=-1), p)
        if not restore:
            return np.where(keep_sorted, np.take_along_axis(logits, idx, -1), -np.inf)
        keep = np.zeros(logits.shape, bool)
        np.put_along_axis(keep, idx, keep_sorted, axis=-1)
        return np.where(keep, logits, -np.inf)

    return answer


def _one_too_many(ranked, p):
    before = _before(ranked)
    shifted = np.concatenate([np.zeros_like(before[..., :1]), before[..., :-1]], axis=-1)
    return shifted < p


_w(
    "top_p_filter",
    "drops the token that crosses p",
    _top_p(rule=lambda r, p: np.cumsum(r, axis=-1) < p),
)
_w("top_p_filter", "keeps one token too many", _top_p(rule=_one_too_many))
_w(
    "top_p_filter",
    "not sorted",
    _top_p(order=lambda probs: np.broadcast_to(np.arange(probs.shape[-1]), probs.shape)),
)
_w("top_p_filter", "sorted from least likely", _top_p(order=lambda probs: np.argsort(probs, -1)))
_w("top_p_filter", "result left in sorted order", _top_p(restore=False))
_w("top_p_filter", "softmax over the wrong axis", _top_p(softmax_axis=0))
_w("top_p_filter", "cumulative sum of logits, not probabilities", _top_p(use_probs=False))
_w("top_p_filter", "keeps the tokens after the nucleus", _top_p(rule=lambda r, p: _before(r) >= p))
_w(
    "top_p_filter",
    "changes the input in place",
    lambda lg, p: (lambda keep: (lg.__setitem__(~keep, -np.inf), lg)[1])(
        np.isfinite(top_p_filter(lg, p))
    ),
)

# ch04 · bits_per_character
_w("bits_per_character", "multiplied by ln 2", lambda n, c=1.0: n * math.log(2) / c)
_w("bits_per_character", "log2 of the loss", lambda n, c=1.0: np.log2(n) / c if n > 0 else 0.0)
_w("bits_per_character", "divided by ln 10", lambda n, c=1.0: n / math.log(10) / c)
_w("bits_per_character", "multiplied by chars_per_token", lambda n, c=1.0: n / math.log(2) * c)
_w("bits_per_character", "chars_per_token ignored", lambda n, c=1.0: n / math.log(2))
_w("bits_per_character", "divided by log2(e)", lambda n, c=1.0: n / math.log2(math.e) / c)
_w("bits_per_character", "divided by log10(2)", lambda n, c=1.0: n / math.log10(2) / c)
_w("bits_per_character", "no default for chars_per_token", lambda n, c: n / math.log(2) / c)


def _wrong_id(case):
    return f"{case[0]}-{case[1]}".replace(" ", "_")


@pytest.mark.filterwarnings("ignore::RuntimeWarning")  # the wrong answers' own overflows
@pytest.mark.parametrize("name, why, answer", WRONG, ids=[_wrong_id(c) for c in WRONG])
def test_wrong_answer_does_not_pass(name, why, answer):
    verdict = run(name, answer)
    assert verdict.status in (grading.FAILED, grading.ERROR), f"{why}: {verdict.status}"
    assert verdict.points == 0
    assert verdict.message and "Write it yourself" not in verdict.message
    for line in _solution_lines(name):
        assert line not in verdict.message, f"the message shows the solution line {line!r}"


def test_every_exercise_has_wrong_answers():
    counts = {name: sum(case[0] == name for case in WRONG) for name in POINTS}
    assert min(counts.values()) >= 3, counts
