"""A mini-GPT, its sampling tricks, a classifier on top of it, and the baselines.

- Attention: :func:`causal_mask`, :func:`scaled_dot_product_attention`,
  :class:`CausalSelfAttention` (multi-head; ``causal=False`` rebuilds the guide's bug).
- :class:`GPT`: token + position embeddings, pre-layer-norm transformer blocks, a final
  layer norm and an output layer that reuses (ties) the token embedding.
- Sampling: :func:`top_k_filter`, :func:`top_p_filter` and :func:`generate`
  (temperature, top-k, top-p; the context is cropped to the model's length);
  :func:`iter_generate` yields the same tokens one at a time (for streaming).
- :class:`GPTClassifier`: a classification head on the GPT's last hidden state.
- Baselines: :class:`CharLSTM` (the glossary's LSTM) and :class:`BigramModel` (counts).
- Data and scores: :func:`lm_dataset`, :func:`validation_windows`,
  :func:`bits_per_character` (nats per token -> bits per character),
  :func:`evaluate_bpc`, :func:`compile_language_model` (its Keras metric,
  :func:`bits_per_token`, is per token: per character only for a character model).
- Presets: :func:`course_gpt` and :func:`course_lstm`, the chapter's models as the
  notebook and the benchmark both train them (for equal-time races,
  :class:`course_lib.train.TimeBudget`).

Models train with plain ``compile``/``fit`` (so ``tf.function`` does the work), never
with eager Python loops, and without XLA, which is slower on CPUs.
"""

from __future__ import annotations

import math
import warnings
import weakref

import keras
import numpy as np
import tensorflow as tf
from keras import layers, ops

from course_lib.conventions import as_int, as_positive_int

LN2 = math.log(2.0)
# lm_dataset's stream is shuffled already; Keras warns that fit's shuffle flag is ignored.
warnings.filterwarnings("ignore", message=".*shuffle=True. was passed", category=UserWarning)
_MASKED = -1e9  # the score a masked position gets before the softmax


# -- checking what we are given ---------------------------------------------------------


def _as_ids(ids, vocab_size: int | None = None, what: str = "token ids") -> np.ndarray:
    """Validate token ids given as a 1-D or 2-D array; return them as int32 (batch, time)."""
    if hasattr(ids, "numpy"):
        ids = ids.numpy()
    arr = np.asarray(ids)
    if arr.size == 0:
        raise ValueError(f"{what} is empty; expected shape (time,) or (batch, time), time >= 1")
    if arr.dtype == object or not np.issubdtype(arr.dtype, np.integer):
        raise ValueError(f"{what} must be integers (from a tokenizer's encode); got {arr.dtype}")
    if arr.ndim == 1:
        arr = arr[np.newaxis]
    if arr.ndim != 2 or arr.shape[1] == 0:
        raise ValueError(
            f"{what} must have shape (time,) or (batch, time) with time >= 1; got {arr.shape}"
        )
    if vocab_size is not None and (arr.min() < 0 or arr.max() >= vocab_size):
        raise ValueError(
            f"{what} must be in [0, {vocab_size}) for a vocabulary of {vocab_size}; "
            f"found values from {arr.min()} to {arr.max()}"
        )
    return arr.astype(np.int32)


def bits_per_character(mean_nll_nats, chars_per_token: float = 1.0):
    """Turn a mean loss in nats per token into bits per character.

    ``bits = nats / ln 2``, and a token that covers ``chars_per_token`` characters shares
    its bits among them. Works on a number or an array (a whole curve at once).
    """
    raw = np.asarray(mean_nll_nats)
    if raw.dtype == object or not np.issubdtype(raw.dtype, np.number):
        raise ValueError(
            f"mean_nll_nats must be a finite number >= 0 (a loss); got {mean_nll_nats!r}"
        )
    nll = raw.astype(np.float64)
    if not np.all(np.isfinite(nll)) or np.any(nll < 0):
        raise ValueError(f"mean_nll_nats must be finite and >= 0 (a loss); got {mean_nll_nats!r}")
    is_number = isinstance(chars_per_token, (int, float)) and not isinstance(chars_per_token, bool)
    if not is_number or not chars_per_token > 0:
        raise ValueError(f"chars_per_token must be a positive number; got {chars_per_token!r}")
    bits = nll / LN2 / chars_per_token
    return float(bits) if bits.ndim == 0 else bits


# -- attention ----------------------------------------------------------------------------


def causal_mask(length: int) -> np.ndarray:
    """A (length, length) boolean mask: entry [i, j] is True when position i may look at j.

    Position i may look at itself and at every earlier position, never at a later one:
    the lower triangle (diagonal included) is True.
    """
    length = as_positive_int(length, "length")
    return np.tril(np.ones((length, length), dtype=bool))


def scaled_dot_product_attention(q, k, v, mask=None):
    """Attention: each query mixes the values, weighted by how well it matches each key.

    Args:
        q: queries, shape (..., t_q, d); k: keys, (..., t_k, d); v: values, (..., t_k, d_v).
        mask: optional booleans broadcastable to (..., t_q, t_k); False hides a key.

    Returns ``(output, weights)``: output (..., t_q, d_v) and the attention weights
    (..., t_q, t_k), each row a probability distribution (it sums to 1).
    """
    q, k, v = (ops.convert_to_tensor(t, dtype="float32") for t in (q, k, v))
    for name, t in (("q", q), ("k", k), ("v", v)):
        if len(t.shape) < 2:
            raise ValueError(f"{name} must have shape (..., time, features); got {t.shape}")
    if q.shape[-1] is not None and k.shape[-1] is not None and q.shape[-1] != k.shape[-1]:
        raise ValueError(
            f"q and k must have the same feature size; got q {q.shape} and k {k.shape}"
        )
    if k.shape[-2] is not None and v.shape[-2] is not None and k.shape[-2] != v.shape[-2]:
        raise ValueError(f"k and v must have the same length; got k {k.shape} and v {v.shape}")
    scale = ops.sqrt(ops.cast(ops.shape(k)[-1], "float32"))
    scores = ops.matmul(q, ops.swapaxes(k, -1, -2)) / scale
    if mask is not None:
        scores = ops.where(ops.cast(mask, "bool"), scores, _MASKED)
    weights = ops.softmax(scores, axis=-1)
    return ops.matmul(weights, v), weights


class CausalSelfAttention(layers.Layer):
    """Multi-head self-attention. With ``causal=True`` no position sees a later one.

    ``causal=False`` is the guide's version: every position sees the whole sequence,
    the next character included.
    """

    def __init__(self, d_model: int, num_heads: int, dropout: float = 0.0, causal=True, **kw):
        super().__init__(**kw)
        d_model = as_positive_int(d_model, "d_model")
        num_heads = as_positive_int(num_heads, "num_heads")
        if d_model % num_heads:
            raise ValueError(f"d_model ({d_model}) must be divisible by num_heads ({num_heads})")
        self.d_model, self.num_heads, self.causal = d_model, num_heads, bool(causal)
        self.head_dim = d_model // num_heads
        self.qkv = layers.Dense(3 * d_model, name="qkv")
        self.proj = layers.Dense(d_model, name="proj")
        self.dropout = layers.Dropout(dropout)

    def call(self, x, training=None, return_attention=False):
        batch, time_ = ops.shape(x)[0], ops.shape(x)[1]
        qkv = ops.reshape(self.qkv(x), (batch, time_, 3, self.num_heads, self.head_dim))
        q, k, v = ops.unstack(ops.transpose(qkv, (2, 0, 3, 1, 4)), 3)  # each (b, h, t, d)
        mask = None
        if self.causal:
            steps = ops.arange(time_)
            mask = steps[:, None] >= steps[None, :]
        out, weights = scaled_dot_product_attention(q, k, v, mask)
        out = ops.reshape(ops.transpose(out, (0, 2, 1, 3)), (batch, time_, self.d_model))
        out = self.dropout(self.proj(out), training=training)
        return (out, weights) if return_attention else out


class TransformerBlock(layers.Layer):
    """A pre-layer-norm block: x + attention(norm(x)), then x + MLP(norm(x))."""

    def __init__(self, d_model, num_heads, dropout=0.0, causal=True, **kw):
        super().__init__(**kw)
        self.norm1 = layers.LayerNormalization(epsilon=1e-5)
        self.attention = CausalSelfAttention(d_model, num_heads, dropout, causal, name="attn")
        self.norm2 = layers.LayerNormalization(epsilon=1e-5)
        self.mlp_in = layers.Dense(4 * d_model, activation="gelu")
        self.mlp_out = layers.Dense(d_model)
        self.dropout = layers.Dropout(dropout)

    def call(self, x, training=None, return_attention=False):
        attended, weights = self.attention(self.norm1(x), training=training, return_attention=True)
        x = x + attended
        x = x + self.dropout(self.mlp_out(self.mlp_in(self.norm2(x))), training=training)
        return (x, weights) if return_attention else x


def _check_length(ids, context_length: int) -> None:
    if len(ids.shape) != 2:
        raise ValueError(f"token ids must have shape (batch, time); got {ids.shape}")
    length = ids.shape[1]
    if length is not None and length > context_length:
        raise ValueError(
            f"the model reads at most {context_length} tokens (its context_length); got "
            f"{length}. Crop the input to its last {context_length} tokens."
        )


class GPT(keras.Model):
    """A decoder-only transformer that predicts the next token at every position.

    Input: token ids (batch, time) with time <= ``context_length``. Output: logits
    (batch, time, vocab_size); position t's logits are the guess for token t + 1.
    """

    def __init__(
        self,
        vocab_size: int,
        context_length: int,
        d_model: int = 128,
        num_heads: int = 4,
        num_layers: int = 4,
        dropout: float = 0.0,
        causal: bool = True,
        **kw,
    ):
        super().__init__(**kw)
        self.vocab_size = as_positive_int(vocab_size, "vocab_size")
        self.context_length = as_positive_int(context_length, "context_length")
        self.d_model = as_positive_int(d_model, "d_model")
        self.num_heads = as_positive_int(num_heads, "num_heads")
        self.num_layers = as_positive_int(num_layers, "num_layers")
        if not 0.0 <= dropout < 1.0:
            raise ValueError(f"dropout must be in [0, 1); got {dropout!r}")
        self.dropout_rate, self.causal = float(dropout), bool(causal)
        init = keras.initializers.RandomNormal(stddev=0.02)
        self.token_embedding = layers.Embedding(vocab_size, d_model, embeddings_initializer=init)
        self.position_embedding = layers.Embedding(
            context_length, d_model, embeddings_initializer=init
        )
        self.blocks = [
            TransformerBlock(d_model, num_heads, dropout, causal, name=f"block_{i}")
            for i in range(num_layers)
        ]
        self.final_norm = layers.LayerNormalization(epsilon=1e-5)
        self.embed_dropout = layers.Dropout(dropout)
        self.output_bias = self.add_weight(shape=(vocab_size,), initializer="zeros", name="bias")

    def hidden_states(self, ids, training=None, return_attention=False):
        """The last block's features, layer-normed: (batch, time, d_model).

        With ``return_attention=True`` also a list of each block's attention weights,
        each (batch, heads, time, time).
        """
        _check_length(ids, self.context_length)
        positions = ops.arange(ops.shape(ids)[1])
        x = self.token_embedding(ids) + self.position_embedding(positions)[None]
        x = self.embed_dropout(x, training=training)
        maps = []
        for block in self.blocks:
            x, weights = block(x, training=training, return_attention=True)
            maps.append(weights)
        x = self.final_norm(x)
        return (x, maps) if return_attention else x

    def call(self, ids, training=None):
        h = self.hidden_states(ids, training=training)
        # weight tying: the output layer is the token embedding, transposed
        return ops.matmul(h, ops.transpose(self.token_embedding.embeddings)) + self.output_bias

    def attention_maps(self, ids) -> list[np.ndarray]:
        """Every block's attention weights for ``ids``: a list of (batch, heads, t, t)."""
        ids = _as_ids(ids, self.vocab_size)
        _check_length(ids, self.context_length)
        _, maps = self.hidden_states(ids, training=False, return_attention=True)
        return [np.asarray(m) for m in maps]

    def get_config(self):
        return {
            "vocab_size": self.vocab_size,
            "context_length": self.context_length,
            "d_model": self.d_model,
            "num_heads": self.num_heads,
            "num_layers": self.num_layers,
            "dropout": self.dropout_rate,
            "causal": self.causal,
        }


class CharLSTM(keras.Model):
    """The glossary's LSTM: embedding, LSTM layer(s), a dense layer to next-token logits.

    ``context_length`` is the window it is trained on; generation feeds it at most that
    many tokens, as for the GPT.
    """

    def __init__(
        self,
        vocab_size: int,
        context_length: int,
        units: int = 256,
        embedding_dim: int = 64,
        num_layers: int = 1,
        **kw,
    ):
        super().__init__(**kw)
        self.vocab_size = as_positive_int(vocab_size, "vocab_size")
        self.context_length = as_positive_int(context_length, "context_length")
        self.units = as_positive_int(units, "units")
        self.embedding_dim = as_positive_int(embedding_dim, "embedding_dim")
        self.num_layers = as_positive_int(num_layers, "num_layers")
        self.embedding = layers.Embedding(vocab_size, embedding_dim)
        self.lstms = [layers.LSTM(units, return_sequences=True) for _ in range(num_layers)]
        self.head = layers.Dense(vocab_size)

    def call(self, ids, training=None):
        _check_length(ids, self.context_length)
        x = self.embedding(ids)
        for lstm in self.lstms:
            x = lstm(x, training=training)
        return self.head(x)

    def get_config(self):
        return {
            "vocab_size": self.vocab_size,
            "context_length": self.context_length,
            "units": self.units,
            "embedding_dim": self.embedding_dim,
            "num_layers": self.num_layers,
        }


class GPTClassifier(keras.Model):
    """A classification head on a (pretrained) GPT, for fine-tuning.

    It reads the GPT's *hidden features* at the last position (which, with the causal
    mask, is the only one that has seen the whole text), not the vocabulary logits, and
    gives ``num_classes`` logits. Train it with a loss that has ``from_logits=True``.
    """

    def __init__(self, backbone: GPT, num_classes: int, dropout: float = 0.1, **kw):
        super().__init__(**kw)
        if not isinstance(backbone, GPT):
            raise TypeError(f"backbone must be a GPT; got {type(backbone).__name__}")
        self.backbone = backbone
        self.num_classes = as_positive_int(num_classes, "num_classes")
        self.dropout = layers.Dropout(dropout)
        self.classifier = layers.Dense(num_classes, name="classifier")

    def build(self, input_shape):
        """Make the head's weights (the backbone builds itself on its first call)."""
        self.classifier.build((None, self.backbone.d_model))
        self.built = True

    @property
    def trainable_weights(self):
        # the backbone's next-token output bias plays no part in classifying
        unused = self.backbone.output_bias
        return [w for w in super().trainable_weights if w is not unused]

    def call(self, ids, training=None):
        h = self.backbone.hidden_states(ids, training=training)
        return self.classifier(self.dropout(h[:, -1, :], training=training))


# -- training data and scores ---------------------------------------------------------


def _windows(ids, context_length: int, stride: int) -> np.ndarray:
    ids = np.asarray(ids)
    if ids.ndim != 1 or not np.issubdtype(ids.dtype, np.integer):
        raise ValueError(f"ids must be a 1-D array of token ids; got {ids.dtype} {ids.shape}")
    if len(ids) < context_length + 1:
        raise ValueError(
            f"need at least context_length + 1 = {context_length + 1} tokens to make one "
            f"(input, target) window; got {len(ids)}"
        )
    return np.arange(0, len(ids) - context_length, stride)


def validation_windows(ids, context_length: int) -> tuple[np.ndarray, np.ndarray]:
    """Non-overlapping (inputs, targets) windows of ``ids``: two int32 arrays (n, time).

    Targets are the inputs shifted by one. Every model of the chapter is scored on
    exactly these windows, so their bits per character compare like with like.
    """
    context_length = as_positive_int(context_length, "context_length")
    starts = _windows(ids, context_length, context_length)
    ids = np.asarray(ids, dtype=np.int32)
    picks = starts[:, None] + np.arange(context_length + 1)[None]
    windows = ids[picks]
    return windows[:, :-1], windows[:, 1:]


def lm_dataset(ids, context_length: int, batch_size: int, *, stride=None, seed: int = 0):
    """A repeating, shuffled ``tf.data`` stream of (inputs, targets) training windows.

    Windows start every ``stride`` tokens (default: half a window) and are reshuffled
    every pass. It never ends: give ``fit`` a ``steps_per_epoch``.
    """
    context_length = as_positive_int(context_length, "context_length")
    batch_size = as_positive_int(batch_size, "batch_size")
    stride = as_positive_int(stride or max(1, context_length // 2), "stride")
    starts = _windows(ids, context_length, stride)
    table = tf.constant(np.asarray(ids, dtype=np.int32))

    def cut(start):
        window = tf.reshape(table[start : start + context_length + 1], [context_length + 1])
        return window[:-1], window[1:]

    return (
        tf.data.Dataset.from_tensor_slices(starts)
        .shuffle(len(starts), seed=seed, reshuffle_each_iteration=True)
        .repeat()
        .map(cut, num_parallel_calls=tf.data.AUTOTUNE)
        .batch(batch_size, drop_remainder=True)
        .prefetch(tf.data.AUTOTUNE)
    )


def bits_per_token(y_true, y_pred):
    """Keras metric: bits per *token* of logits ``y_pred`` for targets ``y_true``.

    For a character model a token is one character, so this is also its bits per
    character; a subword (BPE) model's bits per token must be divided by its characters
    per token first (:func:`bits_per_character` does both steps).
    """
    nats = keras.losses.sparse_categorical_crossentropy(y_true, y_pred, from_logits=True)
    return nats / LN2


class LinearWarmup(keras.optimizers.schedules.LearningRateSchedule):
    """A learning rate that climbs linearly from near 0 to ``peak`` in ``steps``, then stays."""

    def __init__(self, peak: float, steps: int):
        self.peak, self.steps = float(peak), int(steps)

    def __call__(self, step):
        progress = (ops.cast(step, "float32") + 1.0) / max(self.steps, 1)
        return self.peak * ops.minimum(1.0, progress)

    def get_config(self):
        return {"peak": self.peak, "steps": self.steps}


def compile_language_model(
    model, learning_rate: float = 1e-3, warmup_steps: int = 0, weight_decay: float = 0.0
):
    """Compile a next-token model: AdamW, cross-entropy on logits, a ``bits_per_token`` metric.

    ``warmup_steps`` > 0 starts the learning rate near 0 and raises it linearly. XLA is
    turned off: on CPUs it makes these small models slower, not faster.
    """
    if not isinstance(model, keras.Model):
        raise TypeError(f"model must be a keras.Model; got {type(model).__name__}")
    if not isinstance(learning_rate, (int, float)) or not learning_rate > 0:
        raise ValueError(f"learning_rate must be a positive number; got {learning_rate!r}")
    warmup_steps = as_int(warmup_steps, "warmup_steps", minimum=0)
    rate = LinearWarmup(learning_rate, warmup_steps) if warmup_steps else learning_rate
    model.compile(
        optimizer=keras.optimizers.AdamW(
            learning_rate=rate, weight_decay=weight_decay, beta_2=0.99, clipnorm=1.0
        ),
        loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
        metrics=[bits_per_token],
        jit_compile=False,
    )
    return model


def evaluate_bpc(
    model, inputs, targets, batch_size: int = 64, *, chars_per_token: float = 1.0
) -> float:
    """Bits per character of ``model`` on (inputs, targets) windows of token ids.

    ``chars_per_token`` is 1 for a character model (the default); for a subword model,
    the characters of the scored text divided by its number of tokens.
    """
    if isinstance(model, BigramModel):  # counts, not a network: it scores itself
        return bits_per_character(model.mean_nll(inputs, targets), chars_per_token)
    vocab = getattr(model, "vocab_size", None)
    batch_size = as_positive_int(batch_size, "batch_size")
    inputs, targets = _as_ids(inputs, vocab, "inputs"), _as_ids(targets, vocab, "targets")
    if inputs.shape != targets.shape:
        raise ValueError(f"inputs {inputs.shape} and targets {targets.shape} must have one shape")
    loss = keras.losses.SparseCategoricalCrossentropy(from_logits=True)
    total, count = 0.0, 0
    for i in range(0, len(inputs), batch_size):
        x, y = inputs[i : i + batch_size], targets[i : i + batch_size]
        total += float(loss(y, model(x, training=False))) * y.size
        count += y.size
    return bits_per_character(total / count, chars_per_token)


class BigramModel:
    """The count-based baseline: p(next | previous) from how often each pair occurs.

    ``alpha`` is add-alpha smoothing, so a pair never seen still gets a small chance.
    """

    def __init__(self, vocab_size: int, alpha: float = 0.1):
        self.vocab_size = as_positive_int(vocab_size, "vocab_size")
        if not isinstance(alpha, (int, float)) or not alpha > 0:
            raise ValueError(f"alpha must be a positive number; got {alpha!r}")
        self.alpha = float(alpha)
        self.counts = np.zeros((vocab_size, vocab_size), dtype=np.float64)
        self.context_length = 1

    def fit(self, ids) -> BigramModel:
        ids = _as_ids(ids, self.vocab_size, "training ids")[0]
        np.add.at(self.counts, (ids[:-1], ids[1:]), 1.0)
        return self

    @property
    def log_probs(self) -> np.ndarray:
        """(vocab, vocab) array of log p(next | previous), in nats."""
        smoothed = self.counts + self.alpha
        return np.log(smoothed / smoothed.sum(axis=1, keepdims=True))

    def mean_nll(self, inputs, targets) -> float:
        """Mean negative log-likelihood (nats) of ``targets`` given the token before each."""
        inputs = _as_ids(inputs, self.vocab_size, "inputs")
        targets = _as_ids(targets, self.vocab_size, "targets")
        if inputs.shape != targets.shape:
            raise ValueError(f"inputs {inputs.shape} and targets {targets.shape} must match")
        return float(-self.log_probs[inputs, targets].mean())


# -- sampling -------------------------------------------------------------------------------


def _filter_k(logits, k):
    """Keep the k largest logits of each row, and any tied with the k-th largest."""
    kth_best = tf.math.top_k(logits, k=k).values[..., -1:]
    return tf.where(logits < kth_best, tf.constant(-np.inf, logits.dtype), logits)


def _filter_p(logits, p):
    """Keep the smallest set of most likely tokens whose probabilities add up to >= p."""
    vocab = tf.shape(logits)[-1]
    sorted_logits, order = tf.math.top_k(logits, k=vocab)
    probs = tf.nn.softmax(sorted_logits, axis=-1)
    before = tf.math.cumsum(probs, axis=-1, exclusive=True)  # mass of the tokens ahead
    keep_sorted = before < p
    rank = tf.argsort(order, axis=-1, stable=True)  # where each token sits in the order
    keep = tf.gather(keep_sorted, rank, batch_dims=len(logits.shape) - 1)
    return tf.where(keep, logits, tf.constant(-np.inf, logits.dtype))


def _as_logits(logits) -> tf.Tensor:
    arr = logits.numpy() if hasattr(logits, "numpy") else np.asarray(logits)
    if not np.issubdtype(arr.dtype, np.number) or arr.ndim < 1 or arr.shape[-1] < 1:
        raise ValueError(
            f"logits must be a numeric array (..., vocab); got {arr.dtype} {arr.shape}"
        )
    if np.isnan(arr).any():
        raise ValueError("logits contain NaN")
    return tf.constant(arr, dtype=tf.float32)


def top_k_filter(logits, k: int) -> np.ndarray:
    """Keep the ``k`` largest logits of each row, set every other one to -inf.

    ``logits`` has shape (..., vocab). A logit tied with the k-th largest stays too (no
    arbitrary pick among equals), so a row keeps k entries, or more when values tie.
    """
    logits = _as_logits(logits)
    vocab = logits.shape[-1]
    if not isinstance(k, (int, np.integer)) or isinstance(k, bool) or not 1 <= k <= vocab:
        raise ValueError(f"k must be an int from 1 to the vocabulary size {vocab}; got {k!r}")
    return _filter_k(logits, int(k)).numpy()


def top_p_filter(logits, p: float) -> np.ndarray:
    """Nucleus filtering: keep the smallest set of most likely tokens with total prob >= p.

    Every other logit becomes -inf. ``p`` is in (0, 1]; the most likely token always stays.
    """
    logits = _as_logits(logits)
    is_number = isinstance(p, (int, float, np.floating)) and not isinstance(p, bool)
    if not is_number or not 0.0 < p <= 1.0:
        raise ValueError(f"p must be a probability in (0, 1]; got {p!r}")
    if p >= 1.0:
        return logits.numpy()
    return _filter_p(logits, float(p)).numpy()


def _pick(logits, temperature, k, p, seed):
    """Scale by 1/temperature, keep the top k (k > 0) and the top-p nucleus (p < 1), draw."""
    logits = logits / temperature
    logits = tf.cond(k > 0, lambda: _filter_k(logits, k), lambda: logits)
    logits = tf.cond(p < 1.0, lambda: _filter_p(logits, p), lambda: logits)
    return tf.random.stateless_categorical(logits, 1, seed=seed, dtype=tf.int32)[:, 0]


def _sampler(model):
    """A compiled function: (window, temperature, k, p, seed) -> the next token of each row."""

    @tf.function(reduce_retracing=True)
    def step(window, temperature, k, p, seed):
        return _pick(model(window, training=False)[:, -1, :], temperature, k, p, seed)

    return step


_SAMPLERS: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()  # model -> its sampler


def generate(
    model,
    prompt_ids,
    steps: int,
    *,
    temperature: float = 1.0,
    top_k: int | None = None,
    top_p: float | None = None,
    seed: int = 0,
    forced=None,
    align: int = 1,
) -> np.ndarray:
    """Write ``steps`` new tokens after ``prompt_ids``, one at a time.

    Each step feeds the model at most its ``context_length`` last tokens (older ones are
    cropped), divides the last position's logits by ``temperature``, keeps the ``top_k``
    most likely tokens and/or the ``top_p`` nucleus, and draws the next token. The same
    ``seed`` gives the same text.

    ``forced`` (optional, one int per new token) writes a given token instead of drawing
    one wherever it is >= 0 (-1: draw); the draws elsewhere stay those of the same seed.
    Chapter 06 harmonises a melody this way. ``align`` > 1 crops the window so that it
    starts at a multiple of ``align`` tokens from the start of the prompt (the window is
    then up to ``align - 1`` tokens shorter): for a model trained on windows that always
    start at such a boundary, as chapter 06's four-voice steps are.

    Returns the prompt followed by the new tokens: int32 of shape (steps + prompt length,)
    for a 1-D prompt, (batch, steps + prompt length) for a batch of prompts.
    """
    single = np.ndim(prompt_ids) == 1
    out = [_as_ids(prompt_ids, getattr(model, "vocab_size", None), "prompt_ids")]
    for nxt in iter_generate(
        model,
        prompt_ids,
        steps,
        temperature=temperature,
        top_k=top_k,
        top_p=top_p,
        seed=seed,
        forced=forced,
        align=align,
    ):
        out.append(nxt[:, None])
    result = np.concatenate(out, axis=1)
    return result[0] if single else result


def iter_generate(
    model,
    prompt_ids,
    steps: int,
    *,
    temperature: float = 1.0,
    top_k: int | None = None,
    top_p: float | None = None,
    seed: int = 0,
    forced=None,
    align: int = 1,
):
    """:func:`generate`, one step at a time: yields each new token as it is drawn.

    Each item is an int32 array of shape (batch,) (batch 1 for a 1-D prompt); the tokens
    are those :func:`generate` returns for the same arguments. A server streams them
    (``course_lib.serving``). The arguments are checked before the first token is drawn.
    """
    vocab = getattr(model, "vocab_size", None)
    context = getattr(model, "context_length", None)
    if vocab is None or context is None:
        raise TypeError("model must have vocab_size and context_length (a GPT or a CharLSTM)")
    ids = _as_ids(prompt_ids, vocab, "prompt_ids")
    steps = as_int(steps, "steps", minimum=0)
    align = as_positive_int(align, "align")
    if not isinstance(temperature, (int, float)) or not temperature > 0:
        raise ValueError(f"temperature must be a number > 0; got {temperature!r}")
    if top_k is not None and (not isinstance(top_k, int) or not 1 <= top_k <= vocab):
        raise ValueError(f"top_k must be None or an int from 1 to {vocab}; got {top_k!r}")
    if top_p is not None and (not isinstance(top_p, (int, float)) or not 0 < top_p <= 1):
        raise ValueError(f"top_p must be None or a probability in (0, 1]; got {top_p!r}")
    if forced is not None:
        forced = np.asarray(forced)
        if forced.shape != (steps,) or not np.issubdtype(forced.dtype, np.integer):
            raise ValueError(f"forced must be {steps} ints (-1 = draw); got {forced.shape}")
        if forced.max(initial=-1) >= vocab:
            raise ValueError(f"forced tokens must be below the vocabulary size {vocab}")
    return _generate_steps(
        model, ids, steps, vocab, context, temperature, top_k, top_p, seed, forced, align
    )


def _generate_steps(
    model, ids, steps, vocab, context, temperature, top_k, top_p, seed, forced, align
):
    step = None
    if not isinstance(model, BigramModel):
        step = _SAMPLERS.get(model)
        if step is None:
            step = _SAMPLERS[model] = _sampler(model)
    args = (
        tf.constant(float(temperature)),
        tf.constant(int(top_k or 0)),
        tf.constant(float(top_p if top_p is not None else 1.0)),
    )
    sequence = ids  # the prompt and every token so far (crops count from its start)
    for i in range(steps):
        if forced is not None and forced[i] >= 0:
            nxt = np.full(len(ids), forced[i], dtype=np.int32)
        else:
            window = sequence
            if window.shape[1] > context:  # crop to the model's context
                keep = context - (context - window.shape[1]) % align  # start on a boundary
                window = window[:, -keep:]
            seed_pair = tf.constant([seed, i], dtype=tf.int32)
            if step is None:  # the bigram model: its scores are a table lookup
                scores = tf.constant(model.log_probs[window[:, -1]], tf.float32)
                nxt = _pick(scores, *args, seed_pair)
            else:
                nxt = step(tf.constant(window), *args, seed_pair)
            nxt = np.asarray(nxt, dtype=np.int32)
        sequence = np.concatenate([sequence, nxt[:, None]], axis=1)
        yield nxt


def encode_fixed_length(tokenizer, texts, length: int, pad: str = " ") -> np.ndarray:
    """Encode ``texts`` into an int32 array (n, length), keeping each text's *end*.

    Shorter texts are padded on the left with ``pad`` (the last position, which a
    classifier reads, is always the text's real last token); longer ones are cropped
    on the left.
    """
    length = as_positive_int(length, "length")
    if isinstance(texts, str):
        raise TypeError("texts must be a list of strings, not one string")
    pad_id = tokenizer.encode(pad)
    if len(pad_id) != 1:
        raise ValueError(f"pad must encode to exactly one token; {pad!r} gives {len(pad_id)}")
    rows = np.full((len(texts), length), pad_id[0], dtype=np.int32)
    for i, text in enumerate(texts):
        ids = tokenizer.encode(text)[-length:]
        rows[i, length - len(ids) :] = ids
    return rows


# -- presets: the chapter's models, as the notebook and the benchmark train them -----------


def _run_name(stem: str, corpus: str | None) -> str:
    if corpus is None:
        return stem
    if not isinstance(corpus, str) or not corpus:
        raise ValueError(f"corpus must be a text's name such as 'shakespeare'; got {corpus!r}")
    return f"{stem}_{corpus}"


def course_gpt(
    vocab_size: int,
    context_length: int = 64,
    *,
    d_model: int = 128,
    num_heads: int = 4,
    num_layers: int = 2,
    causal: bool = True,
    warmup: bool = True,
    corpus: str | None = None,
) -> GPT:
    """Chapter 04's mini-GPT, compiled, as the notebook and the benchmark both train it.

    Two blocks of width 128, a context of 64 characters, batches of 32 windows, AdamW at
    a learning rate of 2e-3 that warms up over the first 30 steps. Why this shape: with 5
    minutes on a 2-core CPU, a model learns from as much text as it can read in that time.
    Trial runs on Shakespeare's held-out plays (2026-11-29) found the earlier preset, four
    blocks with a context of 128 and batches of 16, read about 2 million characters in 5
    minutes and lost to the LSTM; two blocks read about 4 million. A context of 128 with
    learned positions was also slow to start: after 90 s, two blocks scored 3.20 bits
    per character with a context of 128 and 2.77 with 64, for the same number of
    characters. Three blocks (2.43) and batches of 16 (2.41) did no better after 5 minutes.
    ``warmup=False`` compiles a plain-number learning rate instead, for a caller that
    drives the rate itself (``TimeBudget(warmup_steps=model.warmup_steps, ...)``).

    The model carries ``run_name`` (``"ch04_gpt_<corpus>"``, ``"ch04_gpt_no_mask_<corpus>"``
    when ``causal=False``; without ``corpus``, no suffix), ``batch_size`` and
    ``warmup_steps``, so every caller trains the same run the same way.
    """
    model = GPT(vocab_size, context_length, d_model, num_heads, num_layers, causal=causal)
    model.batch_size, model.warmup_steps = 32, 30
    compile_language_model(model, 2e-3, warmup_steps=model.warmup_steps if warmup else 0)
    model.run_name = _run_name("ch04_gpt" if causal else "ch04_gpt_no_mask", corpus)
    return model


def course_lstm(
    vocab_size: int, context_length: int = 64, *, units: int = 256, corpus: str | None = None
) -> CharLSTM:
    """Chapter 04's LSTM, compiled, as the notebook and the benchmark both train it.

    One LSTM layer of ``units``, AdamW at 2e-3 with no warm-up, batches of 32 windows
    (what learned fastest per second in the same trial runs as :func:`course_gpt`). It
    carries ``run_name`` (``"ch04_lstm_<corpus>"``), ``batch_size`` and ``warmup_steps`` (0).
    """
    model = CharLSTM(vocab_size, context_length, units=units)
    model.batch_size, model.warmup_steps = 32, 0
    compile_language_model(model, 2e-3)
    model.run_name = _run_name("ch04_lstm", corpus)
    return model
