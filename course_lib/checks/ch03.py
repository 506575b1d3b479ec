"""Checks for chapter 03's exercises: the forward noising q_sample, the DDPM posterior,
one DDIM update and classifier-free guidance, each compared with
``course_lib.models.diffusion``."""

from __future__ import annotations

import numpy as np

from course_lib import grading
from course_lib.models import diffusion


def _schedule():
    return diffusion.make_schedule("cosine", 100)


def q_sample(fn) -> grading.Verdict:
    """``fn(x0, t, noise, alpha_bars)`` must return x_t, one timestep per image."""

    def body():
        sched = _schedule()
        rng = np.random.default_rng(0)
        x0 = rng.uniform(-1, 1, (4, 28, 28, 1)).astype(np.float32)
        noise = rng.normal(size=x0.shape).astype(np.float32)
        t = np.array([0, 10, 55, 99])
        expected = diffusion.q_sample(x0, t, noise, sched)
        got = fn(x0, t, noise, sched.alpha_bars.copy())
        grading.expect_close(
            got, expected, rtol=1e-4, atol=1e-5, what="q_sample(x0, t, noise, alpha_bars)"
        )

    return grading.run_check(
        "q_sample",
        body,
        hint="Pick alpha_bars[t] (one number per image), reshape it to (-1, 1, 1, 1) so it "
        "multiplies whole images, then return sqrt(abar) * x0 + sqrt(1 - abar) * noise.",
    )


def posterior_mean_variance(fn) -> grading.Verdict:
    """``fn(x0, xt, t, betas, alpha_bars)`` must return (mean, variance) of q(x_{t-1}|x_t, x0)."""

    def body():
        sched = _schedule()
        rng = np.random.default_rng(1)
        x0 = rng.uniform(-1, 1, (3, 28, 28, 1)).astype(np.float32)
        xt = rng.normal(size=x0.shape).astype(np.float32)
        for t in (0, 1, 40, 99):
            mean, var = diffusion.posterior_mean_variance(x0, xt, t, sched)
            result = fn(x0, xt, t, sched.betas.copy(), sched.alpha_bars.copy())
            if not isinstance(result, (tuple, list)) or len(result) != 2:
                raise grading.Mismatch("return two things: (mean, variance)")
            got_mean, got_var = result
            grading.expect_close(
                np.asarray(got_var, np.float64).reshape(()) if np.size(got_var) == 1 else got_var,
                np.asarray(var, np.float64).reshape(()),
                rtol=1e-4,
                atol=1e-7,
                what=f"the variance at t={t}",
            )
            grading.expect_close(got_mean, mean, rtol=1e-4, atol=1e-5, what=f"the mean at t={t}")

    return grading.run_check(
        "posterior_mean_variance",
        body,
        hint="abar_prev is alpha_bars[t-1], and 1 when t == 0 (nothing noised yet). "
        "variance = beta_t (1 - abar_prev) / (1 - abar_t); mean = beta_t sqrt(abar_prev) / "
        "(1 - abar_t) * x0 + (1 - abar_prev) sqrt(1 - beta_t) / (1 - abar_t) * xt.",
    )


def ddim_update(fn) -> grading.Verdict:
    """``fn(xt, eps, abar_t, abar_prev)`` must return DDIM's deterministic (eta=0) step."""

    def body():
        sched = _schedule()
        rng = np.random.default_rng(2)
        xt = rng.normal(size=(3, 28, 28, 1)).astype(np.float32)
        eps = rng.normal(size=xt.shape).astype(np.float32)
        abar = sched.alpha_bars
        for t, t_prev in ((99, 79), (50, 49), (20, 0)):
            expected = diffusion.ddim_step(xt, eps, abar[t], abar[t_prev], eta=0.0)
            got = fn(xt, eps, float(abar[t]), float(abar[t_prev]))
            grading.expect_close(
                got, expected, rtol=1e-4, atol=1e-4, what=f"the step from t={t} to {t_prev}"
            )

    return grading.run_check(
        "ddim_update",
        body,
        hint="First the clean-image guess x0 = (xt - sqrt(1 - abar_t) eps) / sqrt(abar_t); "
        "then x_prev = sqrt(abar_prev) x0 + sqrt(1 - abar_prev) eps (same eps, no new noise).",
    )


def guided_noise(fn) -> grading.Verdict:
    """``fn(eps_cond, eps_uncond, scale)`` must return classifier-free guidance's mix."""

    def body():
        rng = np.random.default_rng(3)
        cond, uncond = rng.normal(size=(2, 5, 5, 1)), rng.normal(size=(2, 5, 5, 1))
        for scale in (0.0, 1.0, 3.5):
            expected = diffusion.guided_noise(cond, uncond, scale)
            grading.expect_close(
                fn(cond, uncond, scale), expected, what=f"guided noise at scale {scale}"
            )

    return grading.run_check(
        "guided_noise",
        body,
        hint="Start from the unconditional guess and move `scale` times the difference "
        "(cond - uncond) towards the conditional one. Scale 0 must give eps_uncond.",
    )
