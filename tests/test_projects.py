"""Chapter 10's projects (course_lib/projects.py): each pipeline's stages compose (shapes
and value ranges match from stage to stage) and each saved artefact (PNG, MIDI, JSON) is
written and reads back. The models are tiny and untrained: the tests check the plumbing,
the notebook shows the trained models' pictures."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone

import numpy as np
import pytest

from course_lib import projects as P
from course_lib.models import diffusion, gan, gpt, music, restoration, style, vae
from course_lib.tokenizers import CharTokenizer


@pytest.fixture(scope="module")
def models():
    """The smallest models of each family, untrained (built once for the module)."""
    features = style.style_features("random", widths=(4, 4, 4, 4, 4), verbose=False)
    styles = np.random.default_rng(0).uniform(0, 1, (3, 16, 16, 3)).astype(np.float32)
    stylizer = style.FastStyle(style.build_stylizer(3, width=4, res_blocks=0), features, styles)
    tok = CharTokenizer.fit("abcdefghijklmnopqrstuvwxyz ABCDEFGHIJKLMNOPQRSTUVWXYZ.,\n")
    return {
        "gan": P.ImageModel("GAN", gan.course_dcgan(width=8), (-1, 1)),
        "vae": P.ImageModel("VAE", vae.VAE(4), (0, 1)),
        "diffusion": P.ImageModel(
            "diffusion",
            diffusion.DiffusionModel(timesteps=10, num_classes=10, channels=(8, 8)),
            (-1, 1),
            {"steps": 3},
        ),
        "stylizer": stylizer,
        "inpainter": restoration.course_inpainter(),
        "upscaler": restoration.course_super_resolution("espcn", 2),
        "write": P.text_writer(gpt.GPT(tok.vocab_size, 16, 16, 2, 1), tok),
        "music": music.course_music_gpt(context_length=16, d_model=16, num_heads=2, num_layers=1),
    }


def in_unit_range(x) -> bool:
    return x.dtype == np.float32 and x.min() >= 0.0 and x.max() <= 1.0


# -- conversions --------------------------------------------------------------------------------


def test_ycbcr_round_trip_and_grey_has_no_colour():
    rgb = np.random.default_rng(1).uniform(0, 1, (2, 5, 5, 3)).astype(np.float32)
    assert np.allclose(P.ycbcr_to_rgb(P.rgb_to_ycbcr(rgb)), rgb, atol=1e-5)
    grey = P.rgb_to_ycbcr(np.full((1, 2, 2, 3), 0.3, np.float32))
    assert np.allclose(grey[..., 0], 0.3, atol=1e-6) and np.allclose(grey[..., 1:], 0.5, atol=1e-6)


def test_to_unit_and_bad_input():
    assert np.allclose(P.to_unit(np.array([[[[-1.0]], [[1.0]]]]), (-1, 1)).ravel(), [0, 1])
    with pytest.raises(ValueError, match="range"):
        P.to_unit(np.full((1, 2, 2, 1), 3.0), (-1, 1))
    with pytest.raises(ValueError, match="RGB"):
        P.rgb_to_ycbcr(np.zeros((1, 2, 2, 1)))
    with pytest.raises(TypeError, match="sample"):
        P.ImageModel("nothing", object())


# -- project 1 ----------------------------------------------------------------------------------


def test_gallery_composes_and_its_png_reads_back(models, tmp_path):
    chosen = [models["gan"], models["vae"], models["diffusion"]]
    gallery = P.comparison_gallery(chosen, 5, n=2, pool=6)
    assert list(gallery) == ["GAN", "VAE", "diffusion"]
    for name, (images, _how) in gallery.items():
        assert images.shape == (2, 28, 28, 1) and in_unit_range(images), name
    assert "best 2 of 6" in gallery["GAN"][1] and gallery["diffusion"][1] == "told the class"
    tile = P.gallery_tile({k: v[0] for k, v in gallery.items()})
    assert tile.shape == (3 * 28, 2 * 28)
    assert np.array_equal(tile[28:56, 28:], gallery["VAE"][0][1, ..., 0])
    path = P.save_gallery(gallery, tmp_path / "gallery.png", title="Sandal")
    picture = P.read_png(path)
    assert picture.ndim == 3 and picture.shape[0] > 100 and picture.shape[1] > 100


def test_unconditional_model_refuses_labels(models):
    with pytest.raises(ValueError, match="unconditional"):
        models["gan"].sample(2, labels=[1, 2])
    with pytest.raises(ValueError, match="label"):
        models["diffusion"].draw(10, 1)


def test_style_blend_is_one_pass_in_style_space(models):
    content = np.random.default_rng(2).uniform(0, 1, (28, 28, 3)).astype(np.float32)
    grid = P.style_blend_grid(models["stylizer"], content, 0, 2, 0.5)
    assert list(grid) == ["content", "style a", "style b", "blend"]
    for picture in grid.values():
        assert picture.shape == (28, 28, 3) and in_unit_range(picture)
    direct = models["stylizer"].stylize(content[None], [0.5, 0.0, 0.5])[0]
    assert np.allclose(grid["blend"], direct, atol=1e-6)
    with pytest.raises(ValueError, match="style b"):
        P.style_blend_grid(models["stylizer"], content, 0, 3)


# -- project 2 ----------------------------------------------------------------------------------


def test_art_suite_stages_compose_and_metadata_reads_back(models, tmp_path):
    art = P.create_artwork(
        "a light summer dress",
        classify=lambda prompt: 3,
        generator=models["diffusion"],
        stylizer=models["stylizer"],
        inpainter=models["inpainter"],
        upscaler=models["upscaler"],
        style=[0.5, 0.5, 0.0],
        box=(4, 6, 8, 10),
        seed=3,
        created=datetime(2026, 11, 29, 20, 0, tzinfo=timezone.utc),
    )
    shapes = [s.image.shape for s in art.steps]
    assert [s.name for s in art.steps] == list(P.ART_STEPS)
    assert shapes == [(1, 28, 28, 1), (1, 28, 28, 3), (1, 28, 28, 3), (1, 56, 56, 3)]
    assert all(in_unit_range(s.image) for s in art.steps)
    styled, filled = art.steps[1].image, art.steps[2].image
    outside = P.box_mask((4, 6, 8, 10))[0, ..., 0] == 0
    assert np.array_equal(styled[0][outside], filled[0][outside]), "known pixels changed"
    path = P.write_metadata(art.metadata, tmp_path / "artwork.json")
    record = P.read_metadata(path)
    assert record == json.loads(json.dumps(art.metadata))
    assert record["created"] == "2026-11-29T20:00:00+00:00"
    assert record["class"] == {"index": 3, "name": "Dress"}
    assert [s["name"] for s in record["steps"]] == list(P.ART_STEPS)
    assert record["steps"][1]["settings"]["style"] == [0.5, 0.5, 0.0]
    assert record["steps"][3]["settings"]["scale"] == 2
    fig = P.workflow_figure(art)
    assert len(fig.axes) == 5


def test_art_suite_refuses_a_prompt_with_no_class(models):
    with pytest.raises(ValueError, match="no Fashion-MNIST class"):
        P.create_artwork(
            "a spaceship",
            classify=lambda prompt: None,
            generator=models["gan"],
            stylizer=models["stylizer"],
            inpainter=models["inpainter"],
            upscaler=models["upscaler"],
        )


def test_pick_class_reads_every_kind_of_answer():
    assert P.pick_class(lambda p: 7, "x") == 7
    assert P.pick_class(lambda p: "Bag", "x") == 8
    assert P.pick_class(lambda p: None, "x") is None
    assert P.pick_class(lambda p: -1, "x") is None
    assert P.pick_class(lambda p: type("Answer", (), {"label": 2})(), "x") == 2
    with pytest.raises(ValueError, match="label"):
        P.pick_class(lambda p: 12, "x")


def test_metadata_refuses_a_naive_date_and_read_refuses_a_broken_record(tmp_path):
    with pytest.raises(ValueError, match="timezone"):
        P.artwork_metadata("x", 1, [], 0, datetime(2026, 1, 1))
    record = P.artwork_metadata("x", None, [("style", {"w": np.float32(0.5)})], np.int64(4),
                                datetime(2026, 1, 1, tzinfo=timezone(timedelta(hours=2))))  # fmt: skip
    assert record["class"] == {"index": None, "name": None} and record["seed"] == 4
    assert record["created"].endswith("+02:00")
    broken = tmp_path / "broken.json"
    broken.write_text(json.dumps({**record, "created": "2026-01-01T00:00:00"}))
    with pytest.raises(ValueError, match="time zone"):
        P.read_metadata(broken)


# -- project 3 ----------------------------------------------------------------------------------


def test_assistant_composes_and_its_artefacts_read_back(models, tmp_path):
    ideas = P.brainstorm(
        models["write"], "sandals for the city", 5, length=12, classify=lambda p: None
    )
    assert [i.id for i in ideas] == [f"idea_{k}" for k in range(1, 6)]
    assert all(i.text and i.commentary and "\n" not in i.text and i.label is None for i in ideas)
    default = P.Feedback(["idea_2", "idea_4"], style=1, mode="minor")
    panel = P.FeedbackPanel(ideas, default, ["a", "b", "c"])
    assert panel.show(mode="static") is None and panel.feedback() == default
    assets = P.build_assets(
        ideas[1],
        default,
        write=models["write"],
        image_model=models["gan"],
        label=5,
        stylizer=models["stylizer"],
        music_model=models["music"],
        variations=2,
        length=10,
        music_steps=6,
    )
    assert len(assets["variations"]) == 2
    assert assets["images"].shape == (2, 28, 28, 3) and in_unit_range(assets["images"])
    assert assets["music"].shape == (6, 4)
    paths = P.save_assets(assets, tmp_path, stem="idea_2")
    assert P.read_png(paths["png"]).shape[:2] == (28, 56)
    assert len(music.read_midi_notes(paths["midi"])) == 4
    assert json.loads(paths["json"].read_text())["settings"]["mode"] == "minor"


def test_feedback_widget_reads_its_controls():
    pytest.importorskip("ipywidgets")
    ideas = [P.Idea("idea_1", "a", "b"), P.Idea("idea_2", "c", "d")]
    panel = P.FeedbackPanel(ideas, P.Feedback(["idea_1"]), ["x", "y"])
    panel.widget()
    toggles, style_menu, mode = panel._controls
    toggles["idea_2"].value = "keep"
    style_menu.value, mode.value = 1, "minor"
    assert panel.feedback() == P.Feedback(["idea_1", "idea_2"], 1, "minor")


def test_feedback_refuses_unknown_ideas_and_modes():
    ideas = [P.Idea("idea_1", "a", "b")]
    with pytest.raises(ValueError, match="do not exist"):
        P.FeedbackPanel(ideas, P.Feedback(["idea_9"]), ["x"])
    with pytest.raises(ValueError, match="mode"):
        P.Feedback([], mode="lydian")
