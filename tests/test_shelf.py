"""The shelf of trained models (chapters 09-10) and the prompt-to-class mapping."""

import numpy as np
import pytest

from course_lib import prompts, shelf
from course_lib.models import gpt
from course_lib.tokenizers import CharTokenizer

# -- shelf: train once, load afterwards -------------------------------------------------------


def test_a_shelf_model_trains_once_then_loads(runs, capsys):
    shelf.clear()
    first = shelf.vae()
    line = capsys.readouterr().out.strip().splitlines()
    assert len(line) == 1 and "VAE" in line[0] and "trained in" in line[0], line
    assert shelf.vae() is first  # kept for the session: no second line
    assert capsys.readouterr().out == ""
    shelf.clear()
    again = shelf.vae()
    assert "loaded in" in capsys.readouterr().out
    np.testing.assert_allclose(
        again.sample(2, seed=3), first.sample(2, seed=3), atol=1e-5
    )  # the same weights
    assert again.sample(2, seed=0).shape == (2, 28, 28, 1)
    shelf.clear()


def test_train_or_load_wants_a_named_model():
    with pytest.raises(ValueError, match="run name"):
        shelf.train_or_load("a model", object(), np.zeros((2, 2)), epochs=1)
    with pytest.raises(ValueError, match="what must say"):
        shelf.train_or_load("", object(), np.zeros((2, 2)), epochs=1)


class FakeDiffusion:
    def sample_ddim(self, n, steps, *, labels, guidance, seed):
        self.asked = (n, steps, labels.tolist(), guidance, seed)
        return np.zeros((n, 28, 28, 1), np.float32)


def test_class_sampler_checks_labels_and_passes_them_on():
    fake = FakeDiffusion()
    sampler = shelf.ClassSampler("diffusion", fake, steps=7)
    assert sampler.sample([3, 9], seed=2).shape == (2, 28, 28, 1)
    assert fake.asked == (2, 7, [3, 9], 3.0, 2)
    assert sampler.sample(4).shape == (1, 28, 28, 1)
    for bad in ([10], [-1], [], ["coat"], [1.5]):
        with pytest.raises(ValueError, match="class numbers 0-9"):
            sampler.sample(bad)
    with pytest.raises(ValueError, match="'diffusion' or 'gan'"):
        shelf.class_conditional_sampler("dall-e")


def test_bad_arguments_get_clear_errors():
    with pytest.raises(ValueError, match="divide the 48-pixel"):
        shelf.super_resolver(5)
    with pytest.raises(ValueError, match="'espcn' or 'edsr'"):
        shelf.super_resolver(3, kind="bicubic")
    with pytest.raises(TypeError, match="True or False"):
        shelf.diffusion("yes")


def test_stylizer_takes_a_style_by_name():
    class Fake:
        def stylize(self, images, style):
            return style

    st = shelf.Stylizer(Fake(), ("starry_night", "mosaic", "stripes"))
    assert st.stylize(None, "mosaic") == 1 and st.stylize(None, [0.5, 0.5, 0]) == [0.5, 0.5, 0]
    with pytest.raises(ValueError, match="one of"):
        st.stylize(None, "cubism")


# -- prompts -----------------------------------------------------------------------------------


def test_prompts_are_labelled_and_split_by_template():
    texts, labels = prompts.make_prompts("train", 400, seed=0)
    assert len(texts) == 400 and labels.dtype == np.int32
    assert set(labels.tolist()) == set(range(11))
    assert prompts.make_prompts("train", 400, seed=0)[0] == texts  # repeatable
    test_texts, _ = prompts.make_prompts("test", 400, seed=0, typo_rate=0.0)
    stems = [t.split("{")[0] for t in prompts.TRAIN_TEMPLATES if t.split("{")[0]]
    assert not any(t.startswith(tuple(stems)) for t in test_texts)  # no training template
    assert not set(prompts.TRAIN_TEMPLATES) & set(prompts.TEST_TEMPLATES)
    with pytest.raises(ValueError, match="'train' or 'test'"):
        prompts.make_prompts("validation", 3)


def test_typo_changes_a_word_a_little():
    rng = np.random.default_rng(0)
    for word in ("sneakers", "jacket", "boots"):
        slip = prompts.typo(word, rng)
        assert slip != word or sorted(slip) == sorted(word)
        assert abs(len(slip) - len(word)) <= 1 and slip[0] == word[0]
    assert prompts.typo("tee", rng) == "tee"


@pytest.mark.parametrize(
    "prompt, label",
    [
        ("A RED Sneakers", 7),
        ("a long trench coat", 4),
        ("a flannel shirt", 6),
        ("a shirt", 6),
        ("a t-shirt", 0),
        ("bag", 8),
        ("a bowl of soup", prompts.NONE),
        ("sneekers", prompts.NONE),  # the table has no typos
        ("a bagel", prompts.NONE),  # whole words only
    ],
)
def test_keyword_baseline(prompt, label):
    assert prompts.keyword_class(prompt) == label


def test_keyword_classes_want_a_list():
    with pytest.raises(TypeError, match="list of strings"):
        prompts.keyword_classes("a coat")
    assert prompts.keyword_classes(["a coat", "a cat"]).tolist() == [4, prompts.NONE]


def tiny_classifier():
    tok = CharTokenizer.fit("abcdefghijklmnopqrstuvwxyz -'ABCDEFGHIJKLMNOPQRSTUVWXYZ")
    backbone = gpt.GPT(tok.vocab_size, prompts.PROMPT_CHARS, 16, 2, 1)
    model = gpt.GPTClassifier(backbone, num_classes=len(prompts.CLASS_NAMES))
    text = shelf.TextModel(backbone, tok, "letters")
    return prompts.PromptClassifier(model, text, threshold=0.5)


def test_prompt_classifier_threshold_sends_doubtful_prompts_to_none():
    clf = tiny_classifier()
    p = clf.probabilities(["a coat", "a bowl of soup!"])  # '!' is not in the vocabulary
    assert p.shape == (2, 11) and np.allclose(p.sum(axis=1), 1, atol=1e-5)
    assert clf.classify(["a coat"], threshold=1.0).tolist() == [prompts.NONE]
    assert clf.classify(["a coat"], threshold=0.0).tolist() == [int(p[0].argmax())]
    assert "->" in clf.explain("a coat")
    with pytest.raises(ValueError):
        clf.classify(["a coat"], threshold=2.0)


def test_accuracy():
    assert prompts.accuracy([1, 2, 3], [1, 2, 4]) == pytest.approx(2 / 3)
    with pytest.raises(ValueError, match="same length"):
        prompts.accuracy([1], [1, 2])
