"""Tests of course_lib.models.gpt: the causal mask, attention, sampling filters,
generation, the classifier, the baselines and bad-input errors."""

import math

import keras
import numpy as np
import pytest
import tensorflow as tf

from course_lib.models import gpt
from course_lib.train import TimeBudget

VOCAB, CONTEXT = 13, 16


def tiny_gpt(causal=True, context=CONTEXT, seed=0):
    keras.utils.set_random_seed(seed)
    model = gpt.GPT(VOCAB, context, d_model=16, num_heads=2, num_layers=2, causal=causal)
    model(np.zeros((1, 2), dtype=np.int32))
    return model


def random_ids(shape, seed=0, vocab=VOCAB):
    return np.random.default_rng(seed).integers(0, vocab, size=shape).astype(np.int32)


# -- the causal mask ----------------------------------------------------------------------


def test_causal_mask_is_lower_triangular():
    np.testing.assert_array_equal(
        gpt.causal_mask(3), [[True, False, False], [True, True, False], [True, True, True]]
    )
    with pytest.raises(ValueError, match="positive int"):
        gpt.causal_mask(0)


@pytest.mark.parametrize(
    "make", [tiny_gpt, lambda: gpt.CharLSTM(VOCAB, CONTEXT, units=8, embedding_dim=4)]
)
def test_changing_a_future_token_leaves_earlier_outputs_unchanged(make):
    model = make()
    ids = random_ids((2, CONTEXT))
    before = np.asarray(model(ids))
    for t in [0, 5, CONTEXT - 1]:
        changed = ids.copy()
        changed[:, t] = (changed[:, t] + 1) % VOCAB
        after = np.asarray(model(changed))
        np.testing.assert_allclose(after[:, :t], before[:, :t], atol=1e-5)
        assert np.abs(after[:, t] - before[:, t]).max() > 1e-4  # the test can see a change


def test_without_the_mask_the_future_leaks_into_the_past():
    model = tiny_gpt(causal=False)
    ids = random_ids((1, CONTEXT))
    changed = ids.copy()
    changed[0, -1] = (changed[0, -1] + 1) % VOCAB
    assert np.abs(np.asarray(model(changed))[0, 0] - np.asarray(model(ids))[0, 0]).max() > 1e-4


def test_attention_weights_sum_to_one_and_never_look_ahead():
    maps = tiny_gpt().attention_maps(random_ids((3, 10)))
    assert len(maps) == 2
    for weights in maps:
        assert weights.shape == (3, 2, 10, 10)
        np.testing.assert_allclose(weights.sum(-1), 1.0, atol=1e-5)
        assert np.all(weights >= 0)
        assert np.abs(np.triu(weights, k=1)).max() < 1e-6
    open_maps = tiny_gpt(causal=False).attention_maps(random_ids((1, 10)))
    assert np.triu(open_maps[0], k=1).max() > 1e-3


def test_scaled_dot_product_attention_matches_the_formula():
    rng = np.random.default_rng(1)
    q, k, v = rng.normal(size=(2, 4, 8)), rng.normal(size=(2, 6, 8)), rng.normal(size=(2, 6, 3))
    mask = rng.random((4, 6)) > 0.3
    mask[:, 0] = True
    scores = q @ k.transpose(0, 2, 1) / math.sqrt(8)
    scores = np.where(mask, scores, -np.inf)
    weights = np.exp(scores - scores.max(-1, keepdims=True))
    weights /= weights.sum(-1, keepdims=True)
    out, got_weights = gpt.scaled_dot_product_attention(q, k, v, mask)
    np.testing.assert_allclose(np.asarray(got_weights), weights, atol=1e-5)
    np.testing.assert_allclose(np.asarray(out), weights @ v, atol=1e-5)
    with pytest.raises(ValueError, match="same feature size"):
        gpt.scaled_dot_product_attention(q, k[..., :4], v)
    with pytest.raises(ValueError, match="same length"):
        gpt.scaled_dot_product_attention(q, k, v[:, :5])


# -- the model --------------------------------------------------------------------------


def test_gpt_shapes_weight_tying_and_length_check():
    model = tiny_gpt()
    ids = random_ids((2, 7))
    logits = np.asarray(model(ids))
    assert logits.shape == (2, 7, VOCAB)
    hidden = np.asarray(model.hidden_states(ids))
    embedding = np.asarray(model.token_embedding.embeddings)
    np.testing.assert_allclose(
        logits, hidden @ embedding.T + np.asarray(model.output_bias), atol=1e-4
    )
    # tied: no (d_model, vocab) output matrix besides the embedding
    assert not [w for w in model.weights if tuple(w.shape) == (16, VOCAB)]
    with pytest.raises(ValueError, match=f"at most {CONTEXT} tokens"):
        model(random_ids((1, CONTEXT + 1)))


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"d_model": 10, "num_heads": 4}, "divisible"),
        ({"context_length": 0}, "positive int"),
        ({"dropout": 1.0}, "dropout"),
    ],
)
def test_gpt_rejects_bad_settings(kwargs, message):
    settings = {"vocab_size": VOCAB, "context_length": 8, **kwargs}
    with pytest.raises(ValueError, match=message):
        gpt.GPT(**settings)


def test_attention_maps_rejects_bad_ids():
    model = tiny_gpt()
    with pytest.raises(ValueError, match=r"in \[0, 13\)"):
        model.attention_maps([1, 2, 99])
    with pytest.raises(ValueError, match="integers"):
        model.attention_maps(np.array([0.5, 1.0]))


def test_only_a_causal_model_must_learn_random_tokens_honestly():
    """Uniform random tokens cannot be predicted: 3 bits each for 8 symbols. A causal
    model stays near 3 bits; without the mask it copies the next token from its input."""
    vocab, context = 8, 16
    ids = np.random.default_rng(0).integers(0, vocab, 40_000).astype(np.int32)
    x, y = gpt.validation_windows(ids[-4000:], context)
    scores = {}
    for causal in (True, False):
        keras.utils.set_random_seed(0)
        model = gpt.GPT(vocab, context, d_model=32, num_heads=2, num_layers=1, causal=causal)
        gpt.compile_language_model(model, 3e-3)
        model.fit(gpt.lm_dataset(ids[:-4000], context, 32), steps_per_epoch=150, verbose=0)
        scores[causal] = gpt.evaluate_bpc(model, x, y)
    assert scores[True] > 2.9
    assert scores[False] < 1.0


def test_training_beats_the_bigram_on_text_that_needs_context():
    # after "a" comes "a" or "b" depending on the letter before: a bigram cannot know
    ids = np.tile(np.array([0, 0, 1, 2, 0, 1], dtype=np.int32), 3000)
    context = 12
    x, y = gpt.validation_windows(ids[-1200:], context)
    bigram = gpt.BigramModel(3).fit(ids[:-1200])
    keras.utils.set_random_seed(0)
    model = gpt.GPT(3, context, d_model=32, num_heads=2, num_layers=1)
    gpt.compile_language_model(model, 3e-3)
    model.fit(gpt.lm_dataset(ids[:-1200], context, 32), steps_per_epoch=120, verbose=0)
    assert gpt.evaluate_bpc(model, x, y) < gpt.evaluate_bpc(bigram, x, y) - 0.3


def test_classifier_reads_the_last_hidden_state_and_fine_tunes_the_backbone():
    backbone = tiny_gpt()
    classifier = gpt.GPTClassifier(backbone, num_classes=2)
    ids = random_ids((64, 10), seed=2)
    labels = (ids[:, -1] >= VOCAB // 2).astype(np.int32)  # depends on the last token
    assert np.asarray(classifier(ids)).shape == (64, 2)
    classifier.compile(
        optimizer=keras.optimizers.Adam(3e-3),
        loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
        metrics=["accuracy"],
    )
    before = np.asarray(backbone.token_embedding.embeddings).copy()
    history = classifier.fit(ids, labels, epochs=30, batch_size=32, verbose=0)
    assert history.history["accuracy"][-1] > 0.9
    assert np.abs(np.asarray(backbone.token_embedding.embeddings) - before).max() > 0
    with pytest.raises(TypeError, match="must be a GPT"):
        gpt.GPTClassifier(gpt.CharLSTM(VOCAB, 8), 2)


# -- sampling -----------------------------------------------------------------------------


def test_top_k_keeps_the_k_best_and_their_ties():
    logits = np.array([[1.0, 3.0, 3.0, 3.0, 0.0, 2.0], [5.0, 4.0, 3.0, 2.0, 1.0, 0.0]])
    for k in range(1, 7):
        out = gpt.top_k_filter(logits, k)
        kept = np.isfinite(out)
        np.testing.assert_array_equal(out[kept], logits[kept])  # kept values unchanged
        for row in range(2):
            kth_best = np.sort(logits[row])[-k]
            np.testing.assert_array_equal(kept[row], logits[row] >= kth_best)
    # no ties in row 1: exactly k; row 0 keeps all three tied 3.0s even for k = 1
    assert (np.isfinite(gpt.top_k_filter(logits, 2))[1] == [1, 1, 0, 0, 0, 0]).all()
    np.testing.assert_array_equal(np.isfinite(gpt.top_k_filter(logits, 1))[0], [0, 1, 1, 1, 0, 0])


def reference_nucleus(probs, p):
    """The smallest set of the most likely tokens whose total probability reaches p."""
    order = np.argsort(-probs, kind="stable")
    size = int(np.searchsorted(np.cumsum(probs[order]), p - 1e-9) + 1)
    return set(order[:size].tolist())


@pytest.mark.parametrize("p", [0.05, 0.3, 0.5, 0.8, 0.9, 0.99])
def test_top_p_keeps_the_smallest_set_reaching_p(p):
    rng = np.random.default_rng(int(p * 100))
    logits = rng.normal(scale=2.0, size=(20, 30))
    out = gpt.top_p_filter(logits, p)
    probs = np.exp(logits) / np.exp(logits).sum(-1, keepdims=True)
    for row in range(20):
        kept = set(np.flatnonzero(np.isfinite(out[row])).tolist())
        assert kept == reference_nucleus(probs[row], p)
        mass = probs[row][list(kept)]
        assert mass.sum() >= p - 1e-6  # reaches p ...
        assert mass.sum() - mass.min() < p  # ... and one token fewer would not


def test_top_p_edge_cases_and_bad_arguments():
    logits = np.array([0.0, 1.0, 2.0])
    np.testing.assert_array_equal(gpt.top_p_filter(logits, 1.0), logits)
    assert np.isfinite(gpt.top_p_filter(logits, 1e-6)).sum() == 1
    with pytest.raises(ValueError, match=r"probability in \(0, 1\]"):
        gpt.top_p_filter(logits, 0.0)
    with pytest.raises(ValueError, match="from 1 to the vocabulary size 3"):
        gpt.top_k_filter(logits, 4)
    with pytest.raises(ValueError, match="NaN"):
        gpt.top_k_filter([np.nan, 1.0], 1)


class RecordingGPT(gpt.GPT):
    """A GPT that remembers how many tokens each call was given."""

    lengths: list

    def call(self, ids, training=None):
        self.lengths.append(int(ids.shape[1]))
        return super().call(ids, training=training)


def test_generation_never_feeds_more_than_the_context_length():
    model = RecordingGPT(VOCAB, 8, d_model=16, num_heads=2, num_layers=1)
    model.lengths = []
    model(random_ids((1, 2)))  # build it
    model.lengths.clear()
    tf.config.run_functions_eagerly(True)  # so every call runs the Python above
    try:
        out = gpt.generate(model, random_ids(5), steps=20, seed=1)
    finally:
        tf.config.run_functions_eagerly(False)
    assert out.shape == (25,)
    assert len(model.lengths) == 20 and max(model.lengths) == 8
    assert model.lengths[:4] == [5, 6, 7, 8]


def test_generation_is_repeatable_and_greedy_with_top_k_one():
    model = tiny_gpt(context=8)
    prompt = random_ids((2, 3), seed=4)
    a = gpt.generate(model, prompt, 15, temperature=0.8, top_p=0.9, seed=7)
    b = gpt.generate(model, prompt, 15, temperature=0.8, top_p=0.9, seed=7)
    np.testing.assert_array_equal(a, b)
    assert a.shape == (2, 18)
    np.testing.assert_array_equal(a[:, :3], prompt)
    greedy = gpt.generate(model, prompt, 12, top_k=1, seed=3)
    ids = prompt.copy()
    for _ in range(12):
        nxt = np.argmax(np.asarray(model(ids[:, -8:]))[:, -1], axis=-1)
        ids = np.concatenate([ids, nxt[:, None].astype(np.int32)], axis=1)
    np.testing.assert_array_equal(greedy, ids)


def test_bigram_generates_only_pairs_it_has_seen():
    bigram = gpt.BigramModel(4, alpha=1e-9).fit(np.array([0, 1, 2, 3] * 50))
    out = gpt.generate(bigram, [0], 12, seed=0)
    np.testing.assert_array_equal(out, np.arange(13) % 4)


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"prompt_ids": [99]}, r"in \[0, 13\)"),
        ({"prompt_ids": []}, "time >= 1"),
        ({"prompt_ids": [0.5]}, "integers"),
        ({"steps": -1}, "steps must be an int"),
        ({"temperature": 0}, "temperature must be a number > 0"),
        ({"top_k": 0}, "top_k must be None or an int from 1 to 13"),
        ({"top_p": 1.5}, "top_p must be None or a probability"),
    ],
)
def test_generate_rejects_bad_arguments(kwargs, message):
    args = {"prompt_ids": [1, 2], "steps": 3, **kwargs}
    with pytest.raises(ValueError, match=message):
        gpt.generate(tiny_gpt(), args.pop("prompt_ids"), args.pop("steps"), **args)


# -- data and scores ----------------------------------------------------------------------


def test_bits_per_character():
    assert gpt.bits_per_character(math.log(2)) == pytest.approx(1.0)
    assert gpt.bits_per_character(math.log(2), chars_per_token=2.0) == pytest.approx(0.5)
    np.testing.assert_allclose(gpt.bits_per_character([0.0, math.log(4)]), [0.0, 2.0])
    with pytest.raises(ValueError, match="finite and >= 0"):
        gpt.bits_per_character(-1.0)
    with pytest.raises(ValueError, match="chars_per_token must be a positive number"):
        gpt.bits_per_character(1.0, chars_per_token=0)


def test_evaluate_bpc_shares_a_tokens_bits_among_its_characters():
    model = tiny_gpt()
    ids = random_ids(200)
    x, y = gpt.validation_windows(ids, CONTEXT)
    per_token = gpt.evaluate_bpc(model, x, y)
    # a token of a subword model covers several characters: its bits are shared among them
    assert gpt.evaluate_bpc(model, x, y, chars_per_token=2.5) == pytest.approx(per_token / 2.5)
    bigram = gpt.BigramModel(VOCAB).fit(ids)
    assert gpt.evaluate_bpc(bigram, x, y, chars_per_token=2.0) == pytest.approx(
        gpt.evaluate_bpc(bigram, x, y) / 2
    )
    with pytest.raises(ValueError, match="chars_per_token must be a positive number"):
        gpt.evaluate_bpc(model, x, y, chars_per_token=0)


def test_windows_and_the_training_stream_are_shifted_by_one():
    ids = np.arange(50, dtype=np.int32)
    x, y = gpt.validation_windows(ids, 8)
    assert x.shape == y.shape == (6, 8)
    np.testing.assert_array_equal(y, x + 1)
    np.testing.assert_array_equal(x[:, 0], np.arange(0, 48, 8))
    batch_x, batch_y = next(iter(gpt.lm_dataset(ids, 8, 4)))
    assert tuple(batch_x.shape) == (4, 8)
    np.testing.assert_array_equal(batch_y.numpy(), batch_x.numpy() + 1)
    with pytest.raises(ValueError, match="at least context_length \\+ 1 = 9"):
        gpt.validation_windows(ids[:8], 8)


def test_bigram_probabilities_are_smoothed_counts():
    bigram = gpt.BigramModel(3, alpha=1.0).fit([0, 1, 0, 1, 0, 2])
    probs = np.exp(bigram.log_probs)
    np.testing.assert_allclose(probs[0], [1 / 6, 3 / 6, 2 / 6])
    np.testing.assert_allclose(probs.sum(1), 1.0)
    nll = bigram.mean_nll([[0, 1]], [[1, 0]])
    assert nll == pytest.approx(-(math.log(3 / 6) + math.log(3 / 5)) / 2)


def test_time_budget_stops_training():
    model = tiny_gpt()
    gpt.compile_language_model(model)
    budget = TimeBudget(1.0)
    stream = gpt.lm_dataset(random_ids(500), CONTEXT, 8)
    history = model.fit(stream, steps_per_epoch=10**6, callbacks=[budget], verbose=0).history
    assert 1.0 <= budget.elapsed < 30 and budget.steps >= 1
    # the Keras metric's name says what it measures: bits per token, the loss over ln 2
    assert "bpc" not in history
    assert history["bits_per_token"][0] == pytest.approx(history["loss"][0] / math.log(2), rel=1e-4)
    with pytest.raises(ValueError, match="positive number"):
        TimeBudget(0)


def test_encode_fixed_length_pads_and_crops_on_the_left():
    from course_lib.tokenizers import CharTokenizer

    tok = CharTokenizer.fit("abc ")
    rows = gpt.encode_fixed_length(tok, ["ab", "abcabc"], 4)
    assert [tok.decode(r) for r in rows] == ["  ab", "cabc"]
    with pytest.raises(TypeError, match="list of strings"):
        gpt.encode_fixed_length(tok, "ab", 4)


def test_warmup_schedule_and_compile_settings():
    warmup = gpt.LinearWarmup(1.0, 4)
    assert [float(warmup(step)) for step in (0, 1, 3, 10)] == [0.25, 0.5, 1.0, 1.0]
    model = tiny_gpt()
    gpt.compile_language_model(model, 2e-3, warmup_steps=30)
    assert model.jit_compile is False
    with pytest.raises(ValueError, match="learning_rate must be a positive number"):
        gpt.compile_language_model(model, 0)
    with pytest.raises(ValueError, match="warmup_steps must be an int >= 0"):
        gpt.compile_language_model(model, 1e-3, warmup_steps=-1)
    with pytest.raises(TypeError, match="keras.Model"):
        gpt.compile_language_model(gpt.BigramModel(3))


def test_presets_carry_run_names_and_training_settings():
    keras.utils.set_random_seed(0)
    model = gpt.course_gpt(VOCAB, CONTEXT, d_model=16, num_heads=2, num_layers=1, corpus="toy")
    assert (model.run_name, model.batch_size, model.warmup_steps) == ("ch04_gpt_toy", 32, 30)
    assert isinstance(model.optimizer._learning_rate, gpt.LinearWarmup)  # warms up itself
    assert model.jit_compile is False and model.context_length == CONTEXT
    plain = gpt.course_gpt(VOCAB, CONTEXT, d_model=16, num_heads=2, num_layers=1, warmup=False)
    assert plain.run_name == "ch04_gpt"
    assert float(plain.optimizer.learning_rate) == pytest.approx(2e-3)  # for TimeBudget
    TimeBudget(1.0, warmup_steps=plain.warmup_steps)  # which can then drive the warm-up
    leaky = gpt.course_gpt(VOCAB, CONTEXT, d_model=16, num_heads=2, causal=False, corpus="toy")
    assert leaky.run_name == "ch04_gpt_no_mask_toy" and not leaky.causal
    default = gpt.course_gpt(VOCAB)  # the chapter's shape: 2 blocks of 128, context 64
    assert (default.num_layers, default.d_model, default.context_length) == (2, 128, 64)
    lstm = gpt.course_lstm(VOCAB, CONTEXT, units=8, corpus="toy")
    assert (lstm.run_name, lstm.batch_size, lstm.warmup_steps) == ("ch04_lstm_toy", 32, 0)
    assert float(lstm.optimizer.learning_rate) == pytest.approx(2e-3)
    with pytest.raises(ValueError, match="corpus must be a text's name"):
        gpt.course_lstm(VOCAB, CONTEXT, corpus="")
