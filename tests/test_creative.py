"""Chapter 09's applications: each stage gets what the one before gives (shapes, ranges),
and every file written (PNG, MIDI, JSON, WAV) reads back. Tiny stand-in models keep it fast."""

import json

import numpy as np
import pytest
from PIL import Image

from course_lib import creative, media, shelf
from course_lib.models import gpt, music

STYLES = ("starry_night", "mosaic", "stripes")


class Sampler:
    """Draws grey 28x28 images in [-1, 1] whose brightness encodes the label."""

    def sample(self, labels, *, seed=0):
        labels = np.asarray(labels)
        rng = np.random.default_rng(seed)
        noise = rng.uniform(-0.2, 0.2, (len(labels), 28, 28, 1))
        return np.clip(labels[:, None, None, None] / 4.5 - 1 + noise, -1, 1).astype(np.float32)


class Upscaler:
    scale = 3

    def upscale(self, images):  # nearest neighbour, slightly out of range like a network
        return 1.05 * np.kron(images, np.ones((1, 3, 3, 1), np.float32))


class Painter:
    style_names = STYLES

    def stylize(self, images, style):
        w = np.zeros(3, np.float32)
        if isinstance(style, str):
            w[STYLES.index(style)] = 1
        elif np.ndim(style) == 0:
            w[int(style)] = 1
        else:
            w = np.asarray(style, np.float32) / np.sum(style)
        return np.clip(images * (0.5 + 0.5 * w), 0, 1)  # each style tints a channel


class Writer:
    def write(self, prompt, length, *, temperature=0.8, seed=0):
        rng = np.random.default_rng(seed)
        return "".join(rng.choice(list("abc de\n"), length))


class Predictor:
    def rollout(self, context, horizon):
        return np.repeat(context[:, -1:], horizon, axis=1)


def classify(texts):
    return np.array([4 if "coat" in t else 8 if "bag" in t else 10 for t in texts])


def test_art_pipeline_stages_compose():
    art = creative.art_pipeline(
        "a coat", classify=classify, sampler=Sampler(), upscaler=Upscaler(), stylizer=Painter()
    )
    assert art.label == 4
    assert art.concept.shape == (28, 28, 1) and art.concept.min() >= -1 and art.concept.max() <= 1
    assert art.enhanced.shape == (84, 84, 1) and art.enhanced.max() <= 1  # clipped back
    assert art.refined.shape == (84, 84, 3) and 0 <= art.refined.min() <= art.refined.max() <= 1
    with pytest.raises(ValueError, match="none of these"):
        creative.art_pipeline(
            "soup", classify=classify, sampler=Sampler(), upscaler=Upscaler(), stylizer=Painter()
        )


def test_grey_to_rgb_and_refine_strength():
    x = np.linspace(-1, 1, 28 * 28).reshape(1, 28, 28, 1).astype(np.float32)
    rgb = creative.grey_to_rgb(x)
    assert rgb.shape == (1, 28, 28, 3) and rgb.min() == 0 and rgb.max() == 1
    np.testing.assert_allclose(creative.refine(Painter(), x, 0, strength=0.0), rgb)
    with pytest.raises(ValueError, match="multiples of 4"):
        creative.refine(Painter(), np.zeros((1, 30, 30, 1)), 0)
    with pytest.raises(ValueError, match="grey"):
        creative.grey_to_rgb(np.zeros((1, 8, 8, 3)))


def test_style_weights_blend_in_style_space():
    w = creative.style_weights({"mosaic": 1, "stripes": 3}, STYLES)
    np.testing.assert_allclose(w, [0, 0.25, 0.75])
    with pytest.raises(ValueError, match="unknown style"):
        creative.style_weights({"cubism": 1}, STYLES)
    with pytest.raises(ValueError, match="all be 0"):
        creative.style_weights({"mosaic": 0}, STYLES)
    out = creative.orchestrate_styles(Painter(), np.zeros((1, 28, 28, 1)), {"mosaic": 1})
    assert out.shape == (1, 28, 28, 3)


def test_marketing_copy_poster_and_clip(tmp_path):
    variants = creative.copy_variants(Writer(), "coat", scale=0.5)
    assert len(variants) == 12
    assert {(v["tone"], v["format"]) for v in variants} == {
        (t, f) for t in creative.TONES for f in creative.FORMATS
    }
    assert all(v["text"].startswith(v["prefix"]) for v in variants)
    assert all("\n" not in v["text"] for v in variants if v["format"] == "headline")
    art = creative.art_pipeline(
        "a coat", classify=classify, sampler=Sampler(), upscaler=Upscaler(), stylizer=Painter()
    )
    path = tmp_path / "poster.png"
    poster = creative.compose_poster(
        art.refined, "A headline " * 3, "Body text " * 30, "Buy now", path=path
    )
    back = Image.open(path)
    assert back.size == poster.size == (480, 720) and back.mode == "RGB"
    pixels = np.asarray(back)
    box = creative.poster_layout(480, 720)["image"]
    assert pixels[box[1] : box[3], box[0] : box[2]].std() > 0  # the picture is there
    clip = creative.promo_clip(Predictor(), art.concept, horizon=3)
    assert clip.shape == (7, 32, 32, 1) and 0 <= clip.min() and clip.max() <= 1
    assert clip[0].sum() > 0 and not np.array_equal(clip[0], clip[3])  # it moves
    media.animation_player(clip, fps=4, mode="static")


def test_poster_layout_boxes_do_not_overlap():
    boxes = creative.poster_layout(480, 720, margin=24)
    order = ["headline", "image", "body", "cta"]
    for upper, lower in zip(order, order[1:]):
        assert boxes[lower][1] - boxes[upper][3] >= 24
    with pytest.raises(ValueError, match="portrait"):
        creative.poster_layout(720, 480)


def test_workshop_feedback_and_scripted_path():
    state = creative.WorkshopState("winter walk", "a coat", 4)
    more = creative.apply_feedback(state, "more stripes", STYLES)
    assert more.weights == pytest.approx((0.8, 0.0, 0.2)) and state.history == []
    less = creative.apply_feedback(state, "less starry_night", STYLES)
    assert less.weights == pytest.approx((1.0, 0.0, 0.0))  # never all 0
    assert creative.apply_feedback(state, "weaker", STYLES).strength == 0.75
    assert creative.apply_feedback(state, "stronger", STYLES).strength == 1.0
    assert creative.apply_feedback(state, "another", STYLES).seed == 1
    assert creative.apply_feedback(state, "minimalist", STYLES).strength == 0.4
    with pytest.raises(ValueError, match="not understood"):
        creative.apply_feedback(state, "make it pop", STYLES)
    shop = creative.Workshop(
        classify=classify, sampler=Sampler(), upscaler=Upscaler(), stylizer=Painter(),
        theme="a coat and bag",
    )  # fmt: skip
    frames = shop.run_script(["modern", "more stripes", "another"])
    assert len(frames) == 4 and all(p.shape == (84, 84, 3) for _, p in frames)
    assert "more stripes" in frames[2][0]
    shop.show(mode="static")


def test_story_music_storyboard_and_files(tmp_path):
    scenes = creative.write_story(Writer(), ["The coat", "The bag"], classify=classify, length=30)
    assert [s.label for s in scenes] == [4, 8] and all(len(s.text) > 0 for s in scenes)
    assert creative.scene_mood("death and tears in the night") == "sad"
    assert creative.scene_mood("love and joy") == "happy"
    opening = np.full((32, 4), music.HOLD, np.int32)
    opening[0] = [music.pitch_token(p) for p in (72, 67, 64, 48)]

    tiny = gpt.GPT(music.VOCAB_SIZE, 128, 16, 2, 1)  # untrained: any notes will do
    tunes = shelf.MusicModel(tiny, {"major": opening, "minor": opening})
    grid = creative.scene_music(tunes, "sad", steps=4)
    assert grid.shape == (36, 4)
    midi = music.write_midi(grid, tmp_path / "scene.mid")
    assert len(music.read_midi_notes(midi)) == 4  # four voices
    wave, rate, _ = music.render_audio(grid, renderer="sine", sample_rate=8000)
    sound = creative.soundtrack([wave, wave[:100]], rate, 1.5)
    assert sound.shape == (2 * 12000,) and np.abs(sound).max() <= 1
    media.wav_bytes(sound, rate)
    pictures = np.stack([np.zeros((8, 8, 3)), np.ones((8, 8, 3))]).astype(np.float32)
    board = creative.storyboard(pictures, frames_per_scene=4, fade=2)
    assert board.shape == (8, 8, 8, 3) and board[0].max() == 0 and board[-1].min() == 1
    assert 0 < board[3].mean() < 1  # the cross-fade
    record = {"scenes": scenes, "grid": grid}
    path = creative.save_json(record, tmp_path / "story.json")
    back = json.loads(path.read_text())
    assert back["scenes"][0]["heading"] == "The coat" and "created" in back
    assert np.array(back["grid"]).shape == (36, 4)
