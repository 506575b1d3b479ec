"""Checks for chapter 03's exercises: the forward noising q_sample, the DDPM posterior,
one DDIM update and classifier-free guidance, each compared with
``course_lib.models.diffusion``."""

from __future__ import annotations

import functools

import numpy as np

from course_lib import grading
from course_lib.models import diffusion

exercise = grading.Exercises("03_diffusion")


@functools.lru_cache(maxsize=1)
def _schedule():
    return diffusion.make_schedule("cosine", 100)


def _images(fn, args, shape, what):
    got = grading.expect_array(fn(*args), what=what)
    if got.shape != tuple(shape):
        extra = ""
        if got.ndim == len(shape) and got.shape[:-1] == tuple(shape[:-1]):
            extra = (
                " The number picked for each image must multiply that whole image "
                "(all its pixels), not spread along its last axis."
            )
        raise grading.Mismatch(f"{what} has shape {got.shape}; expected {tuple(shape)}.{extra}")
    if not np.all(np.isfinite(got)):
        raise grading.Mismatch(f"{what} contains nan or inf.")
    return got.astype(np.float64)


def _per_image_factor(got, base):
    """The number each image of ``base`` was multiplied by (least squares), or None."""
    flat_got = got.reshape(len(got), -1)
    flat_base = base.reshape(len(base), -1)
    factor = (flat_got * flat_base).sum(1) / (flat_base * flat_base).sum(1)
    if not np.allclose(flat_got, factor[:, None] * flat_base, rtol=1e-3, atol=1e-4):
        return None
    return factor


def _factor_diagnosis(factor, t, want, abar, part: str) -> str:
    """Why a per-image factor is wrong, in words."""
    last = len(abar) - 1
    candidates = [
        (
            abar[t] if part == "x0" else 1 - abar[t],
            f"that is {'ᾱ_t' if part == 'x0' else '1 - ᾱ_t'} itself; it should be its square root.",
        ),
        (
            np.sqrt(1 - abar[t]) if part == "x0" else np.sqrt(abar[t]),
            "the image and the noise weights are swapped: at t = 0 almost all of the image is "
            "left and very little noise.",
        ),
        (want[np.minimum(t + 1, last)], "that is the next step's value: off by one step."),
        (want[t - 1], "that is the previous step's value: off by one step."),
    ]
    for values, why in candidates:
        if np.allclose(factor, values, rtol=1e-3, atol=1e-5):
            return why
    if len(t) > 1 and np.allclose(factor, factor[0], rtol=1e-4):
        return "every image got the same number: each image uses the ᾱ of its own step t."
    return "the weight is the square root of ᾱ_t for the image, of 1 - ᾱ_t for the noise."


# -- exercise 1 ----------------------------------------------------------------------------


@exercise(
    points=1,
    forbid=[diffusion.q_sample],
    see="3 · How it works",
    hint="x_t keeps the square root of ᾱ_t of the image and adds the square root of "
    "1 - ᾱ_t of the noise, so an image and a noise of variance 1 give an x_t of variance 1 "
    "at every step. Each image uses the ᾱ of its own step t, and that one number must "
    "multiply the whole image.",
)
def q_sample(fn):
    """``fn(x0, t, noise, alpha_bars)`` must return x_t, one timestep per image."""
    abar = _schedule().alpha_bars
    rng = np.random.default_rng(0)
    shape = (4, 28, 28, 1)
    x0 = rng.choice([-1.0, 1.0], size=shape).astype(np.float32)
    noise = rng.normal(size=shape).astype(np.float32)
    t = np.array([0, 10, 55, 99])
    zeros = np.zeros(shape, np.float32)

    for part, args, base, want in (
        ("x0", (x0, t, zeros, abar.copy()), x0, np.sqrt(abar)),
        ("noise", (zeros, t, noise, abar.copy()), noise, np.sqrt(1 - abar)),
    ):
        label = "the image (with noise = 0)" if part == "x0" else "the noise (with x0 = 0)"
        got = _images(fn, args, shape, f"x_t for {label}")
        factor = _per_image_factor(got, base)
        if factor is None:
            raise grading.Mismatch(
                f"x_t for {label} is not {part} times one number per image: each image is "
                "scaled as a whole."
            )
        if not np.allclose(factor, want[t], rtol=1e-4, atol=1e-6):
            i = int(np.argmax(~np.isclose(factor, want[t], rtol=1e-4, atol=1e-6)))
            raise grading.Mismatch(
                f"at steps t = {t.tolist()} your x_t holds {np.round(factor, 4).tolist()} "
                f"times {part}; expected {np.round(want[t], 4).tolist()} (image {i}, t = "
                f"{t[i]}, is the first that differs): "
                + _factor_diagnosis(factor, t, want, abar, part)
            )

    for t in (np.array([0, 10, 55, 99]), np.array([99, 3, 3, 0])):
        got = _images(fn, (x0, t, noise, abar.copy()), shape, "q_sample(x0, t, noise, alpha_bars)")
        expected = diffusion.q_sample(x0, t, noise, _schedule())
        grading.expect_close(
            got,
            expected,
            rtol=1e-4,
            atol=1e-5,
            what=f"q_sample(x0, t={t.tolist()}, noise, alpha_bars)",
        )
    one = _images(
        fn,
        (x0[:1], np.array([40]), noise[:1], abar.copy()),
        (1, 28, 28, 1),
        "x_t for a batch of one image",
    )
    grading.expect_close(
        one,
        diffusion.q_sample(x0[:1], np.array([40]), noise[:1], _schedule()),
        rtol=1e-4,
        atol=1e-5,
        what="x_t for a batch of one image",
    )


# -- exercise 2 ----------------------------------------------------------------------------


def _posterior(fn, x0, xt, t):
    sched = _schedule()
    result = fn(x0.copy(), xt.copy(), t, sched.betas.copy(), sched.alpha_bars.copy())
    if not isinstance(result, (tuple, list)) or len(result) != 2:
        raise grading.Mismatch("return two things: (mean, variance).")
    mean = grading.expect_array(result[0], what=f"the mean at t={t}")
    if mean.shape != x0.shape:
        raise grading.Mismatch(
            f"the mean at t={t} has shape {mean.shape}; expected {x0.shape}, the shape of xt."
        )
    var = grading.expect_array(result[1], what=f"the variance at t={t}")
    if var.size != 1:
        try:
            var = np.broadcast_to(var, x0.shape)
        except ValueError:
            raise grading.Mismatch(
                f"the variance at t={t} has shape {var.shape}; it should be one number."
            ) from None
        if not np.allclose(var, var.flat[0]):
            raise grading.Mismatch(
                f"the variance at t={t} differs from pixel to pixel; it is one number for the "
                "whole batch."
            )
    return mean.astype(np.float64), float(var.flat[0])


@exercise(
    points=2,
    forbid=[diffusion.posterior_mean_variance],
    see="The reverse step, exactly",
    hint="At t = 0 there is nothing left to go back to: the step lands on x0 itself, with "
    "variance 0, because ᾱ before the first step is 1 (there is no step -1 in the array). "
    "At other steps the mean mixes x0 and xt with the two weights of the exercise, and the "
    "variance is one number, smaller than β_t.",
)
def posterior_mean_variance(fn):
    """``fn(x0, xt, t, betas, alpha_bars)`` must return (mean, variance) of q(x_{t-1}|x_t, x0)."""
    sched = _schedule()
    betas, abar = sched.betas, sched.alpha_bars
    rng = np.random.default_rng(1)
    x0 = rng.uniform(-1, 1, (3, 28, 28, 1)).astype(np.float32)
    xt = rng.normal(size=x0.shape).astype(np.float32)
    zeros = np.zeros_like(x0)

    for t in (40, 0, 1, 99):
        mean, var = _posterior(fn, x0, xt, t)
        want_mean, want_var = diffusion.posterior_mean_variance(x0, xt, t, sched)
        want_var = float(np.asarray(want_var).reshape(()))
        if not np.isclose(var, want_var, rtol=1e-4, atol=1e-7):
            if t == 0:
                why = (
                    "at t = 0 the step back lands on x0 itself, so the variance is 0: before "
                    "the first step ᾱ is 1. (The last entry of alpha_bars, index -1, is the "
                    "noisiest step, not the one before t = 0.)"
                )
            elif np.isclose(var, betas[t], rtol=1e-4):
                why = "that is β_t itself; the posterior variance is smaller."
            elif np.isclose(var, np.sqrt(want_var), rtol=1e-4):
                why = "that is a standard deviation; return the variance."
            elif np.isclose(var, betas[t] * (1 - abar[t]) / (1 - abar[t] - betas[t]), rtol=1e-4):
                why = "that is the guide's formula, which is not the posterior variance."
            else:
                why = "it is β_t times (1 - ᾱ_{t-1}) / (1 - ᾱ_t)."
            raise grading.Mismatch(
                f"the variance at t={t} is {var:.6g}; expected {want_var:.6g}: {why}"
            )
        if np.allclose(mean, want_mean, rtol=1e-4, atol=1e-5):
            continue
        if t == 0:
            raise grading.Mismatch(
                "at t = 0 the step back lands on x0 itself: the mean should be x0 (its weight "
                "1, and 0 for xt), because ᾱ before the first step is 1."
            )
        for name, args, base in (("x0", (x0, zeros), x0), ("xt", (zeros, xt), xt)):
            part, _ = _posterior(fn, *args, t)
            want_part, _ = diffusion.posterior_mean_variance(*args, t, sched)
            factor = _per_image_factor(part, base)
            want = float(_per_image_factor(want_part.astype(np.float64), base)[0])
            if factor is None or not np.allclose(factor, want, rtol=1e-4):
                shown = "not one number" if factor is None else f"{factor[0]:.6g}"
                raise grading.Mismatch(
                    f"at t={t} the weight of {name} in the mean is {shown}; expected "
                    f"{want:.6g}. Check that weight against the exercise's formula."
                )
        grading.expect_close(mean, want_mean, rtol=1e-4, atol=1e-5, what=f"the mean at t={t}")


# -- exercise 3 ----------------------------------------------------------------------------


@exercise(
    points=1,
    forbid=[diffusion.ddim_step, diffusion.predict_x0],
    see="4.4 Sampling fast: DDIM",
    hint="If eps is exactly the noise inside x_t, the step must land on the same clean image "
    "noised to the earlier step with that same noise. The clean-image guess uses abar_t, "
    "the re-noising abar_prev, and no fresh noise is drawn: the same inputs always give "
    "the same output.",
)
def ddim_update(fn):
    """``fn(xt, eps, abar_t, abar_prev)`` must return DDIM's deterministic (eta=0) step."""
    abar = _schedule().alpha_bars
    rng = np.random.default_rng(2)
    shape = (3, 28, 28, 1)
    x0 = rng.uniform(-1, 1, shape)
    eps = rng.normal(size=shape)
    for t, t_prev in ((99, 79), (50, 49), (20, None)):
        a_t = float(abar[t])
        a_prev = 1.0 if t_prev is None else float(abar[t_prev])
        to = "the clean image (abar_prev = 1)" if t_prev is None else f"t={t_prev}"
        xt = (np.sqrt(a_t) * x0 + np.sqrt(1 - a_t) * eps).astype(np.float32)
        e = eps.astype(np.float32)
        what = f"the step from t={t} to {to}"
        got = _images(fn, (xt.copy(), e.copy(), a_t, a_prev), shape, what)
        again = _images(fn, (xt.copy(), e.copy(), a_t, a_prev), shape, what)
        if not np.allclose(got, again):
            raise grading.Mismatch(
                f"{what}: two calls with the same inputs give different results. DDIM with "
                "eta = 0 draws no fresh noise: it re-uses eps."
            )
        want = diffusion.ddim_step(xt, e, a_t, a_prev, eta=0.0)
        if np.allclose(got, want, rtol=1e-4, atol=1e-4):
            continue
        guess = (xt - np.sqrt(1 - a_t) * e) / np.sqrt(a_t)
        if np.allclose(got, xt, atol=1e-4):
            why = (
                "you return x_t unchanged: the re-noising must use abar_prev, the earlier "
                "step's ᾱ, not abar_t again."
            )
        elif t_prev is not None and np.allclose(got, guess, rtol=1e-4, atol=1e-4):
            why = "that is the clean-image guess; re-noise it to the earlier step with eps."
        else:
            why = (
                "here eps is exactly the noise inside x_t, so the step must give the same "
                "clean image noised to the earlier step with that same noise."
            )
        raise grading.Mismatch(f"{what} differs from the expected image: {why}")

    # an eps that does not match x_t exactly, as a real network's
    xt = rng.normal(size=shape).astype(np.float32)
    e = rng.normal(size=shape).astype(np.float32)
    got = _images(
        fn,
        (xt.copy(), e.copy(), float(abar[60]), float(abar[30])),
        shape,
        "the step from t=60 to 30",
    )
    grading.expect_close(
        got,
        diffusion.ddim_step(xt, e, abar[60], abar[30], eta=0.0),
        rtol=1e-4,
        atol=1e-4,
        what="the step from t=60 to 30",
    )


# -- exercise 4 ----------------------------------------------------------------------------


@exercise(
    points=1,
    forbid=[diffusion.guided_noise],
    see="5.2 Classifier-free guidance",
    hint="Scale 0 must give eps_uncond (the label is ignored), scale 1 eps_cond, and larger "
    "scales go further along the direction from eps_uncond to eps_cond, past eps_cond.",
)
def guided_noise(fn):
    """``fn(eps_cond, eps_uncond, scale)`` must return classifier-free guidance's mix."""
    rng = np.random.default_rng(3)
    cond, uncond = rng.normal(size=(2, 5, 5, 1)), rng.normal(size=(2, 5, 5, 1))
    mixes = {}
    for scale in (0.0, 1.0, 3.5, 7.0):
        mixes[scale] = _images(
            fn,
            (cond.copy(), uncond.copy(), scale),
            cond.shape,
            f"the guided noise at scale {scale:g}",
        )
    if not np.allclose(mixes[0.0], uncond, atol=1e-6):
        which = " (it gives eps_cond)" if np.allclose(mixes[0.0], cond, atol=1e-6) else ""
        raise grading.Mismatch(
            f"at scale 0 the label is ignored: the result should be eps_uncond{which}."
        )
    if not np.allclose(mixes[1.0], cond, atol=1e-6):
        raise grading.Mismatch("at scale 1 the result should be eps_cond, the plain prediction.")
    for scale in (3.5, 7.0):
        want = diffusion.guided_noise(cond, uncond, scale)
        if np.allclose(mixes[scale], want, atol=1e-6):
            continue
        if np.allclose(mixes[scale], uncond - scale * (cond - uncond), atol=1e-6):
            why = "it moves away from eps_cond: the direction is from eps_uncond towards eps_cond."
        else:
            why = "it should lie on the line through eps_uncond and eps_cond, scale times as far."
        raise grading.Mismatch(f"at scale {scale:g} your guided noise is off: {why}")


# -- a running-code exercise: the DDPM sampling loop --------------------------------------


def _tiny_diffusion(seed: int):
    import keras

    keras.utils.set_random_seed(seed)
    model = diffusion.DiffusionModel(timesteps=12, channels=(8, 16), image_shape=(8, 8, 1))
    model.build_networks()
    return model


@exercise(
    points=3,
    kind="sampling loop",
    forbid=[diffusion.DiffusionModel.sample_ddpm, diffusion.DiffusionModel.ddpm_update],
    see="Sampling: DDPM, all T steps",
    hint="Walk the timesteps from the noisiest (T - 1) down to 0. At each step: ask the "
    "network for its noise guess, turn it into a guess of the clean image and clip that to "
    "[-1, 1], then step to the previous timestep with the exact posterior of exercise 2 "
    "(its mean, plus its standard deviation times that step's noise). Clip the final "
    "images to [-1, 1].",
)
def ddpm_sample(fn):
    """``fn(predict_noise, x_T, noises, betas, alpha_bars)`` must run DDPM's reverse loop:
    ``predict_noise(x, t)`` is the network, ``noises[i]`` the fresh noise of the i-th step
    (i = 0 is t = T - 1). It must reproduce the library's samples from the same noise."""
    import tensorflow as tf

    model = _tiny_diffusion(0)
    sched = model.schedule
    steps = [(t, t - 1) for t in range(model.timesteps - 1, -1, -1)]
    update = tf.function(model.ddpm_update)
    network = tf.function(lambda x, t: model.predicted_noise(x, t, None, 1.0, None))
    for case in (0, 1):
        x_T = np.random.default_rng(case).normal(size=(3, 8, 8, 1)).astype(np.float32)
        recorded = []

        def replay(x, step, labels, guidance, noise, cond):
            recorded.append(noise.numpy())  # noqa: B023 (called in this iteration)
            return update(x, tf.constant(step[0]), labels, guidance, noise, True, cond)

        want = model.sampling_loop(replay, steps, 3, x_T=x_T, seed=case + 5)
        seen = []

        def predict_noise(x, t):
            t = int(t)
            if not 0 <= t < model.timesteps:
                raise grading.Mismatch(
                    f"you asked the network about timestep {t}; there are only 0 to "
                    f"{model.timesteps - 1}."
                )
            seen.append(t)  # noqa: B023
            x = tf.constant(np.asarray(x, np.float32).reshape(x_T.shape))  # noqa: B023
            return network(x, tf.constant(t)).numpy()

        got = grading.expect_array(
            fn(
                predict_noise,
                x_T.copy(),
                [n.copy() for n in recorded],
                sched.betas.copy(),
                sched.alpha_bars.copy(),
            ),
            shape=x_T.shape,
            what="your samples",
        )
        if seen != [t for t, _ in steps]:
            raise grading.Mismatch(
                f"your loop asked the network about timesteps {seen[:6]}...; it should ask "
                f"about each one once, from {model.timesteps - 1} down to 0."
            )
        if got.min() < -1 - 1e-6 or got.max() > 1 + 1e-6:
            raise grading.Mismatch(
                f"your samples range from {got.min():.3f} to {got.max():.3f}: images live in "
                "[-1, 1]."
            )
        grading.expect_close(
            got,
            want,
            rtol=1e-3,
            atol=2e-3,
            what=f"your result in case {case + 1} of 2 (same x_T and noises as the library)",
        )
