"""From a free-text prompt to a Fashion-MNIST class: the course's stand-in for a text encoder.

The course's image models draw a *class* (one of ten kinds of clothing), not any text.
Large systems read a prompt with a big text encoder (CLIP's, T5); the course reads it
with a small one it already has: chapter 04's character GPT, fine-tuned here to sort
prompts into the ten classes plus an eleventh, "none of these", for prompts about
anything else ("a bowl of soup").

1. :func:`make_prompts` writes labelled prompts from templates and word lists. Training
   and test prompts come from *different templates*, so the test accuracy measures
   prompts phrased in a way the classifier never saw. One noun in four has a typo.
2. :func:`keyword_classes` is the baseline: a table of words per class, looked up.
3. :func:`prompt_classifier` fine-tunes the GPT (:class:`course_lib.models.gpt.GPTClassifier`)
   on the training prompts, through :func:`course_lib.shelf.train_or_load` (run
   ``ch09_prompt_classifier``), and returns a :class:`PromptClassifier`. A prompt is
   "none of these" when that class wins *or* when no class gets at least ``threshold``
   of the probability: the second catches things the word lists never mentioned.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np

from course_lib import budget
from course_lib.conventions import as_int, as_number
from course_lib.data.fashion_mnist import FASHION_MNIST_CLASSES

NONE = 10  # the class "none of these"
CLASS_NAMES = (*FASHION_MNIST_CLASSES, "none of these")
PROMPT_CHARS = 64  # characters the classifier reads (the GPT's context)

# the words that name each class; the keyword baseline looks up exactly these
CLASS_WORDS = {
    0: ("t-shirt", "tee", "top", "tank top", "crop top"),
    1: ("trousers", "pants", "jeans", "slacks", "chinos"),
    2: ("pullover", "sweater", "jumper", "hoodie", "cardigan"),
    3: ("dress", "gown", "sundress", "frock"),
    4: ("coat", "jacket", "parka", "trench coat", "raincoat"),
    5: ("sandals", "flip-flops", "slides", "sandal"),
    6: ("shirt", "blouse", "button-down", "flannel shirt"),
    7: ("sneakers", "trainers", "running shoes", "tennis shoes"),
    8: ("bag", "handbag", "purse", "backpack", "tote"),
    9: ("ankle boots", "boots", "chelsea boots", "booties"),
}
# things that are none of the ten (the classifier learns them as class NONE)
OTHER_WORDS = (
    "bicycle", "sunset", "cat", "guitar", "mountain", "teapot", "sports car", "oak tree",
    "laptop", "pizza", "castle", "rainbow", "dog", "spaceship", "birthday cake", "lighthouse",
)  # fmt: skip
ADJECTIVES = (
    "red", "black", "white", "striped", "blue", "green", "cozy", "elegant", "vintage",
    "bright", "plain", "summer", "winter", "tiny", "soft", "bold",
)  # fmt: skip
TRAIN_TEMPLATES = (
    "a {adj} {noun}",
    "{adj} {noun}",
    "a photo of a {noun}",
    "draw a {adj} {noun}",
    "show me a {noun}",
    "I'd like a {noun}, please",
    "picture of a {adj} {noun} on a white background",
    "{noun}",
)
TEST_TEMPLATES = (
    "an image of a {adj} {noun}",
    "can you make a {noun} that looks {adj}",
    "my favourite {noun}",
    "generate a {adj} {noun} for our shop",
)
TYPO_RATE = 0.25


def typo(word: str, rng: np.random.Generator) -> str:
    """``word`` with one slip of the keyboard: two neighbouring letters swapped, or one
    letter dropped or doubled (words of three letters or fewer are left alone)."""
    if len(word) <= 3:
        return word
    i = int(rng.integers(1, len(word) - 1))
    kind = int(rng.integers(3))
    if kind == 0:
        return word[:i] + word[i + 1] + word[i] + word[i + 2 :]
    if kind == 1:
        return word[:i] + word[i + 1 :]
    return word[:i] + word[i] + word[i:]


def make_prompts(split: str, n: int, *, seed: int = 0, typo_rate: float = TYPO_RATE):
    """``n`` labelled prompts ``(texts, labels)``: labels 0-9 for the classes, 10 for none.

    ``split`` ``"train"`` uses :data:`TRAIN_TEMPLATES`, ``"test"`` :data:`TEST_TEMPLATES`
    (no template is shared). About one prompt in eleven is about something else
    (:data:`OTHER_WORDS`, label :data:`NONE`); ``typo_rate`` of the nouns have a typo.
    """
    if split not in ("train", "test"):
        raise ValueError(f"split must be 'train' or 'test'; got {split!r}")
    n = as_int(n, "n", minimum=1)
    rate = as_number(typo_rate, "typo_rate", low=0.0, high=1.0)
    templates = TRAIN_TEMPLATES if split == "train" else TEST_TEMPLATES
    rng = np.random.default_rng(as_int(seed, "seed", minimum=0))
    texts, labels = [], []
    for _ in range(n):
        label = int(rng.integers(len(CLASS_NAMES)))
        words = OTHER_WORDS if label == NONE else CLASS_WORDS[label]
        noun = str(words[int(rng.integers(len(words)))])
        if rng.random() < rate:
            noun = typo(noun, rng)
        template = templates[int(rng.integers(len(templates)))]
        adj = ADJECTIVES[int(rng.integers(len(ADJECTIVES)))]
        texts.append(template.format(adj=adj, noun=noun))
        labels.append(label)
    return texts, np.array(labels, np.int32)


def _check_prompts(prompts) -> list[str]:
    if isinstance(prompts, str):
        raise TypeError("prompts must be a list of strings; for one prompt pass [prompt]")
    prompts = list(prompts)
    bad = [p for p in prompts if not isinstance(p, str)]
    if bad or not prompts:
        raise ValueError(f"prompts must be a non-empty list of strings; got {prompts[:3]!r}")
    return prompts


# longest phrases first, so "trench coat" wins over "coat" and "flannel shirt" over "shirt"
_KEYWORDS = sorted(
    ((w, c) for c, words in CLASS_WORDS.items() for w in words), key=lambda p: -len(p[0])
)


def keyword_class(prompt: str) -> int:
    """The baseline: the class of the longest word of :data:`CLASS_WORDS` found in
    ``prompt`` as a whole word (any case), or :data:`NONE` when there is none."""
    if not isinstance(prompt, str):
        raise TypeError(f"prompt must be a str; got {type(prompt).__name__}")
    text = prompt.lower()
    for word, label in _KEYWORDS:
        if re.search(rf"(?<![\w-]){re.escape(word)}(?![\w-])", text):
            return label
    return NONE


def keyword_classes(prompts) -> np.ndarray:
    """:func:`keyword_class` of every prompt, as int32."""
    return np.array([keyword_class(p) for p in _check_prompts(prompts)], np.int32)


@dataclass
class PromptClassifier:
    """Chapter 04's GPT fine-tuned to read a prompt and name a class (or none).

    ``threshold``: below this top probability, the answer is "none of these" too.
    """

    model: object
    text: object  # the shelf's TextModel: its tokenizer cleans and encodes prompts
    threshold: float = 0.5

    def encode(self, prompts) -> np.ndarray:
        from course_lib.models import gpt

        cleaned = [self.text.clean(p) or " " for p in _check_prompts(prompts)]
        return gpt.encode_fixed_length(self.text.tokenizer, cleaned, PROMPT_CHARS)

    def probabilities(self, prompts) -> np.ndarray:
        """(n, 11) class probabilities (the last column: none of these)."""
        import keras

        logits = self.model.predict(self.encode(prompts), batch_size=256, verbose=0)
        return keras.ops.convert_to_numpy(keras.ops.softmax(logits, axis=-1))

    def classify(self, prompts, threshold: float | None = None) -> np.ndarray:
        """The class of each prompt: the most probable one, or :data:`NONE` when that is
        less likely than ``threshold`` (this classifier's own when not given)."""
        threshold = self.threshold if threshold is None else threshold
        return apply_threshold(self.probabilities(prompts), threshold)

    def explain(self, prompt: str) -> str:
        """One line: the prompt, the class chosen, and its probability."""
        p = self.probabilities([prompt])[0]
        label = int(self.classify([prompt])[0])
        best = int(p.argmax())
        why = "" if label == best else f" (best guess {CLASS_NAMES[best]} only {p[best]:.0%})"
        return f"{prompt!r} -> {CLASS_NAMES[label]} ({p[label]:.0%}){why}"


def apply_threshold(probabilities, threshold: float) -> np.ndarray:
    """The class of each row of ``probabilities`` (n, 11): the most probable one, or
    :data:`NONE` when its probability is below ``threshold`` (equal is enough)."""
    p = np.asarray(probabilities, np.float64)
    if p.ndim != 2 or p.shape[1] != len(CLASS_NAMES) or not np.all(np.isfinite(p)):
        raise ValueError(
            f"probabilities must be (n, {len(CLASS_NAMES)}) finite numbers; got shape {p.shape}"
        )
    threshold = as_number(threshold, "threshold", low=0.0, high=1.0)
    best = p.argmax(axis=1)
    return np.where(p.max(axis=1) < threshold, NONE, best).astype(np.int32)


def _copy_gpt(model):
    """A second GPT with ``model``'s shape and weights (fine-tuning changes the copy only)."""
    from course_lib.models import gpt

    twin = gpt.GPT(
        model.vocab_size,
        model.context_length,
        model.d_model,
        model.num_heads,
        model.num_layers,
        causal=model.causal,
    )
    twin(np.zeros((1, model.context_length), np.int32))
    twin.set_weights(model.get_weights())
    return twin


_KEPT: dict = {}


def prompt_classifier(threshold: float = 0.5) -> PromptClassifier:
    """Fine-tune chapter 04's GPT (from :func:`course_lib.shelf.text_model`, copied, so
    the text model itself is left as it was) on :func:`make_prompts` ``("train", ...)``,
    or load that run (``ch09_prompt_classifier``). 3,000 prompts, 4 epochs, AdamW at
    5e-4, batches of 32, as chapter 04 fine-tunes; quick mode: 256 prompts, 1 epoch."""
    import keras

    from course_lib import shelf
    from course_lib.models import gpt

    threshold = as_number(threshold, "threshold", low=0.0, high=1.0)
    key = shelf.run_folder(shelf.PROMPT_RUN).parent.as_posix()
    if key not in _KEPT:
        text = shelf.text_model()
        texts, labels = make_prompts("train", budget(full=3000, quick=256), seed=0)
        cleaned = [text.clean(t) or " " for t in texts]
        x = gpt.encode_fixed_length(text.tokenizer, cleaned, PROMPT_CHARS)
        model = gpt.GPTClassifier(_copy_gpt(text.model), num_classes=len(CLASS_NAMES))
        model(x[:1])
        model.compile(
            optimizer=keras.optimizers.AdamW(learning_rate=5e-4),
            loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
            metrics=["accuracy"],
            jit_compile=False,
        )
        model.run_name = shelf.PROMPT_RUN
        shelf.train_or_load(
            "prompt classifier (chapter 04's GPT, fine-tuned)",
            model,
            x,
            labels,
            epochs=budget(full=4, quick=1),
            batch_size=32,
        )
        _KEPT[key] = model
    return PromptClassifier(_KEPT[key], shelf.text_model(), threshold)


def accuracy(predicted, labels) -> float:
    """The share of predictions equal to their labels."""
    predicted, labels = np.asarray(predicted), np.asarray(labels)
    if predicted.shape != labels.shape or predicted.ndim != 1 or not len(labels):
        raise ValueError(
            f"predicted and labels must be 1-D and the same length; got {predicted.shape} "
            f"and {labels.shape}"
        )
    return float(np.mean(predicted == labels))
