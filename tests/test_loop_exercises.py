"""The running-code exercises (a training step, a sampling loop, a generation loop), one
per chapter 00-04: the reference answer passes, the mistakes learners make fail, and an
answer that leans on the library's own step or loop fails with "write it yourself"."""

import numpy as np
import tensorflow as tf

from course_lib import grading
from course_lib.checks import ch00, ch01, ch02, ch03, ch04
from course_lib.models import diffusion, gan, gpt, vae


def status(check, answer) -> grading.Verdict:
    grading._FAILURES.clear()
    return check(answer)


def assert_fails(check, answer):
    verdict = status(check, answer)
    assert verdict.status in (grading.FAILED, grading.ERROR), verdict
    return verdict


def assert_calls_reference(check, answer):
    verdict = status(check, answer)
    assert verdict.status == grading.FAILED, verdict
    assert "Write it yourself" in verdict.message


# -- chapter 00: one training step of the mixture ------------------------------------------


def mixture_step(sign=-1.0, reduce=tf.reduce_mean, apply=True):
    def step(model, batch, optimizer):
        with tf.GradientTape() as tape:
            loss = sign * reduce(model.log_prob(batch))
        grads = tape.gradient(loss, model.trainable_variables)
        if apply:
            optimizer.apply_gradients(zip(grads, model.trainable_variables, strict=True))
        # report the mean loss before the step, whatever was minimised
        return loss / len(batch) if reduce is tf.reduce_sum else loss

    return step


def test_mixture_train_step():
    assert status(ch00.mixture_train_step, mixture_step()).status == grading.PASSED
    assert_fails(ch00.mixture_train_step, mixture_step(sign=1.0))  # climbs the loss
    assert_fails(ch00.mixture_train_step, mixture_step(reduce=tf.reduce_sum))  # sum: steps too big
    assert_fails(ch00.mixture_train_step, mixture_step(apply=False))  # never moves

    def fit_once(model, batch, optimizer):
        model.compile(optimizer=optimizer)
        model.fit(batch, batch_size=len(batch), epochs=1, verbose=0)
        return -tf.reduce_mean(model.log_prob(batch))

    assert_calls_reference(ch00.mixture_train_step, fit_once)


# -- chapter 01: one GAN step ----------------------------------------------------------------


def d_loss_fn(real_logits, fake_logits):
    return tf.reduce_mean(tf.nn.softplus(-real_logits)) + tf.reduce_mean(
        tf.nn.softplus(fake_logits)
    )


def g_loss_fn(fake_logits):
    return tf.reduce_mean(tf.nn.softplus(-fake_logits))


def gan_step(reuse_fakes=False, training=True, generator_first=False, swap=False):
    def d_update(generator, discriminator, d_opt, real, z_d):
        fake = generator(z_d, training=training)
        with tf.GradientTape() as tape:
            real_logits = discriminator(real, training=training)
            fake_logits = discriminator(fake, training=training)
            loss = (
                d_loss_fn(fake_logits, real_logits) if swap else d_loss_fn(real_logits, fake_logits)
            )
        grads = tape.gradient(loss, discriminator.trainable_variables)
        d_opt.apply(grads, discriminator.trainable_variables)
        return loss

    def g_update(generator, discriminator, g_opt, z):
        with tf.GradientTape() as tape:
            loss = g_loss_fn(discriminator(generator(z, training=training), training=training))
        grads = tape.gradient(loss, generator.trainable_variables)
        g_opt.apply(grads, generator.trainable_variables)
        return loss

    def step(generator, discriminator, g_opt, d_opt, real, z_d, z_g):
        z_g = z_d if reuse_fakes else z_g
        if generator_first:
            g_loss = g_update(generator, discriminator, g_opt, z_g)
            return d_update(generator, discriminator, d_opt, real, z_d), g_loss
        d_loss = d_update(generator, discriminator, d_opt, real, z_d)
        return d_loss, g_update(generator, discriminator, g_opt, z_g)

    return step


def test_gan_train_step():
    assert status(ch01.gan_train_step, gan_step()).status == grading.PASSED
    for wrong in (
        gan_step(reuse_fakes=True),
        gan_step(training=False),
        gan_step(generator_first=True),
        gan_step(swap=True),
    ):
        assert_fails(ch01.gan_train_step, wrong)

    def library_step(generator, discriminator, g_opt, d_opt, real, z_d, z_g):
        model = gan.GAN(generator, discriminator, latent_dim=int(z_d.shape[1]))
        model.compile(g_optimizer=g_opt, d_optimizer=d_opt)
        logs = model.train_step(real)
        return logs["d_loss"], logs["g_loss"]

    assert_calls_reference(ch01.gan_train_step, library_step)


# -- chapter 02: one VAE step ----------------------------------------------------------------


def vae_step(beta_on_kl=True, sum_pixels=True, both_networks=True, half=0.5):
    def step(encoder, decoder, optimizer, x, eps, beta):
        variables = decoder.trainable_variables
        if both_networks:
            variables = encoder.trainable_variables + variables
        with tf.GradientTape() as tape:
            mean, log_var = encoder(x, training=True)
            z = mean + tf.exp(half * log_var) * eps
            per_pixel = tf.nn.sigmoid_cross_entropy_with_logits(labels=x, logits=decoder(z))
            reduce = tf.reduce_sum if sum_pixels else tf.reduce_mean
            rec = reduce(per_pixel, axis=[1, 2, 3])
            kl = 0.5 * tf.reduce_sum(tf.exp(log_var) + mean**2 - 1.0 - log_var, axis=-1)
            loss = tf.reduce_mean(rec + (beta if beta_on_kl else 1.0) * kl)
        optimizer.apply(tape.gradient(loss, variables), variables)
        return loss

    return step


def test_vae_train_step():
    assert status(ch02.vae_train_step, vae_step()).status == grading.PASSED
    for wrong in (
        vae_step(beta_on_kl=False),
        vae_step(sum_pixels=False),
        vae_step(both_networks=False),
        vae_step(half=1.0),  # exp(log_var) as the standard deviation
    ):
        assert_fails(ch02.vae_train_step, wrong)

    def library_step(encoder, decoder, optimizer, x, eps, beta):
        model = vae.VAE(latent_dim=int(eps.shape[1]), filters=4, beta=beta)
        model.encoder, model.decoder = encoder, decoder
        model.compile(optimizer=optimizer)
        return model.train_step(x)["loss"]

    assert_calls_reference(ch02.vae_train_step, library_step)


# -- chapter 03: the DDPM loop ---------------------------------------------------------------


def posterior(x0, xt, t, betas, alpha_bars):
    beta, abar = betas[t], alpha_bars[t]
    abar_prev = alpha_bars[t - 1] if t > 0 else 1.0
    mean = (beta * np.sqrt(abar_prev) * x0 + (1 - abar_prev) * np.sqrt(1 - beta) * xt) / (1 - abar)
    return mean, beta * (1 - abar_prev) / (1 - abar)


def ddpm_loop(clip=True, reverse_noises=False, beta_variance=False, forwards=False):
    def sample(predict_noise, x_T, noises, betas, alpha_bars):
        x, T = x_T, len(betas)
        order = list(range(T)) if forwards else list(range(T - 1, -1, -1))
        for i, t in enumerate(order):
            eps = predict_noise(x, t)
            x0 = (x - np.sqrt(1 - alpha_bars[t]) * eps) / np.sqrt(alpha_bars[t])
            if clip:
                x0 = np.clip(x0, -1, 1)
            mean, var = posterior(x0, x, t, betas, alpha_bars)
            if beta_variance:
                var = betas[t]
            x = mean + np.sqrt(var) * noises[T - 1 - i if reverse_noises else i]
        return np.clip(x, -1, 1)

    return sample


def test_ddpm_sample():
    assert status(ch03.ddpm_sample, ddpm_loop()).status == grading.PASSED
    for wrong in (
        ddpm_loop(clip=False),
        ddpm_loop(reverse_noises=True),
        ddpm_loop(beta_variance=True),
        ddpm_loop(forwards=True),
    ):
        assert_fails(ch03.ddpm_sample, wrong)

    def library_loop(predict_noise, x_T, noises, betas, alpha_bars):
        model = diffusion.DiffusionModel(
            timesteps=len(betas), channels=(8, 16), image_shape=(8, 8, 1)
        )
        model.build_networks()
        return model.sample_ddpm(len(x_T), x_T=x_T)

    assert_calls_reference(ch03.ddpm_sample, library_loop)


def test_the_ddpm_checks_replay_is_the_librarys_sampler():
    model = ch03._tiny_diffusion(0)
    x_T = np.random.default_rng(3).normal(size=(2, 8, 8, 1)).astype(np.float32)
    steps = [(t, t - 1) for t in range(model.timesteps - 1, -1, -1)]

    def replay(x, step, labels, guidance, noise, cond):
        return model.ddpm_update(x, step[0], labels, guidance, noise, True, cond)

    replayed = model.sampling_loop(replay, steps, 2, x_T=x_T, seed=4)
    np.testing.assert_allclose(replayed, model.sample_ddpm(2, x_T=x_T, seed=4), atol=1e-5)


# -- chapter 04: the generation loop ---------------------------------------------------------


def generation_loop(crop=True, last=True, multiply=False, same_step=False, drop_prompt=False):
    def generate(model, prompt_ids, steps, temperature, draw):
        ids = [int(i) for i in prompt_ids]
        for step in range(steps):
            window = ids[-model.context_length :] if crop else ids
            logits = np.asarray(model(np.array([window])))[0, -1 if last else 0]
            logits = logits * temperature if multiply else logits / temperature
            ids.append(draw(logits, 0 if same_step else step))
        return np.array(ids[len(prompt_ids) :] if drop_prompt else ids)

    return generate


def test_generate_tokens():
    assert status(ch04.generate_tokens, generation_loop()).status == grading.PASSED
    for wrong in (
        generation_loop(crop=False),
        generation_loop(last=False),
        generation_loop(multiply=True),
        generation_loop(same_step=True),
        generation_loop(drop_prompt=True),
    ):
        assert_fails(ch04.generate_tokens, wrong)
    too_long = status(ch04.generate_tokens, generation_loop(crop=False))
    assert "context" in too_long.message

    def library_loop(model, prompt_ids, steps, temperature, draw):
        return gpt.generate(model.model, prompt_ids, steps, temperature=temperature)

    assert_calls_reference(ch04.generate_tokens, library_loop)
