"""Chapter 13: the roles as data, matching, the self-assessment, the portfolio, the job-title
model, and the checks of its exercises (right answers pass, likely wrong ones fail)."""

from __future__ import annotations

import json
import math
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from course_lib import careers, grading
from course_lib.checks import ch13

from .test_exercise_contract import solution_lines

ROOT = Path(__file__).resolve().parents[1]

# The guide's figures, as it prints them (its "Salary Range" lines).
GUIDE_SALARIES = {
    "AI research scientist": (120_000, 250_000),
    "machine learning engineer": (100_000, 200_000),
    "AI artist / digital creator": (40_000, 120_000),
    "creative technologist": (80_000, 150_000),
    "AI product manager": (130_000, 250_000),
    "AI solutions architect": (140_000, 280_000),
    "AI ethics specialist": (90_000, 180_000),
    "data scientist (generative AI)": (110_000, 200_000),
    "AI consultant": (150_000, 500_000),
    "AI startup founder": (50_000, None),
}


@pytest.fixture(autouse=True)
def lenient(monkeypatch):
    """Checks report rather than raise; no grading log or student from the environment."""
    for name in ("NBGRADER_EXECUTION", "COURSE_STRICT", "COURSE_GRADING_LOG", "COURSE_STUDENT"):
        monkeypatch.delenv(name, raising=False)


# -- the roles table -------------------------------------------------------------------------


def test_roles_table_has_the_guides_ten_roles_with_their_skills_and_figures():
    roles = careers.roles_table()
    assert list(roles.columns) == list(careers.ROLE_COLUMNS)
    assert roles["role"].tolist() == list(GUIDE_SALARIES)
    for row in roles.itertuples():
        assert 3 <= len(row.skills) <= 5 and len(set(row.skills)) == len(row.skills), row.role
        assert set(row.skills) <= set(careers.SKILLS), row.role
        assert row.interests and set(row.interests) <= set(careers.INTERESTS), row.role
        assert len(row.typical_day) == 5 and row.tools and row.what_they_do, row.role
        assert row.area in careers.AREAS
        low, high = GUIDE_SALARIES[row.role]
        assert row.salary_low == low
        assert math.isnan(row.salary_high) if high is None else row.salary_high == high
        assert row.open_ended
    assert roles.groupby("area").size().tolist() == [2] * 5
    # every skill tag is used by some role, so the explorer offers nothing that matches none
    assert set(roles.explode("skills")["skills"]) == set(careers.SKILLS)


def test_roles_table_is_a_fresh_copy_each_time():
    first = careers.roles_table()
    first.loc[0, "skills"].append("juggling")
    first.loc[1, "salary_low"] = 0
    again = careers.roles_table()
    assert "juggling" not in again.loc[0, "skills"] and again.loc[1, "salary_low"] == 100_000


def test_salary_ranges_long_form_leaves_out_the_missing_top():
    pay = careers.salary_ranges()
    assert len(pay) == 19 and set(pay["end"]) == {"lowest", "highest"}
    founder = pay[pay["role"] == "AI startup founder"]
    assert founder["end"].tolist() == ["lowest"] and founder["dollars"].tolist() == [50_000]


def test_path_tables():
    levels = careers.career_levels()
    assert levels["level"].tolist() == ["entry", "mid", "senior", "leadership"]
    assert levels["years"].tolist() == ["0-2", "2-5", "5+", "8+"]
    assert careers.education()["degree"].tolist() == ["bachelor's", "master's", "PhD"]
    resources = careers.resources()
    assert len(resources) == 5 and resources["status"].str.contains("not checked").all()
    assert "2026-11-29" in careers.RESOURCES_CHECKED
    assert len(careers.practice()) == 5
    assert set(careers.industries()["sector"]) == {
        "technology",
        "creative",
        "health and life sciences",
        "finance and consulting",
    }


def test_roles_needing_matches_whole_tags_and_sorts_by_the_lowest_figure():
    roles = careers.roles_table()
    assert careers.roles_needing(roles, "art and design") == [
        "creative technologist",
        "AI artist / digital creator",
    ]
    assert careers.roles_needing(roles, "design") == []
    got = careers.roles_needing(roles, "communication")
    assert len(got) == 9 and got[0] == "AI consultant" and got[-1] == "AI startup founder"


# -- matching ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "skills, interests, first",
    [
        (["art and design", "creative tools"], [], {"AI artist / digital creator"}),
        (["art and design", "creative tools"], ["creating"], {"AI artist / digital creator"}),
        (["art and design", "programming"], ["creating", "building"], {"creative technologist"}),
        (["math", "machine learning", "programming", "research"], [], {"AI research scientist"}),
        (["machine learning", "math"], ["discovering"], {"AI research scientist"}),
        (
            ["software engineering", "deployment", "system design"],
            ["building"],
            {"machine learning engineer"},
        ),
        (["data analysis", "domain knowledge"], ["data"], {"data scientist (generative AI)"}),
        (["ethics and law", "communication"], ["society"], {"AI ethics specialist"}),
        (["business", "leadership"], ["business"], {"AI startup founder"}),
        (["product", "business"], ["people"], {"AI product manager"}),
        ([], ["creating"], {"AI artist / digital creator"}),
    ],
)
def test_rank_roles_puts_the_expected_role_first(skills, interests, first):
    ranking = careers.rank_roles(skills, interests)
    assert ranking.loc[0, "role"] in first, ranking[["role", "score"]].head(3)
    assert ranking.loc[0, "score"] > ranking.loc[1, "score"]  # a clear winner, not a tie
    assert list(ranking.columns) == list(careers.RANKING_COLUMNS)
    assert ranking["score"].is_monotonic_decreasing and len(ranking) == 10


def test_art_and_design_puts_a_creative_role_first_and_second():
    top = careers.rank_roles(["art and design", "creative tools", "programming"], ["creating"])
    assert set(top["role"][:2]) == {"AI artist / digital creator", "creative technologist"}


def test_rank_roles_gives_reasons():
    ranking = careers.rank_roles(["art and design"], ["creating"]).set_index("role")
    artist = ranking.loc["AI artist / digital creator"]
    assert artist["you_have"] == ["art and design"]
    assert artist["to_learn"] == ["creative tools", "ethics and law"]
    assert "interest in creating" in artist["why"] and "creative tools" in artist["why"]
    assert artist["score"] == pytest.approx(0.6 * (1 / 3) + 0.4 * 1.0)


def test_match_score_is_the_mean_over_the_roles_skills():
    assert careers.match_score({"a": 1.0, "b": 0.5, "x": 1.0}, ["a", "b", "c"]) == 0.5
    assert careers.match_score(["a"], ["a", "b"]) == 0.5  # a list means level 1
    assert careers.match_score({}, ["a"]) == 0.0
    # skills the role does not need change nothing
    assert careers.match_score({"a": 1, "zz": 1}, ["a"]) == careers.match_score({"a": 1}, ["a"])
    assert careers.interest_match(["a"], ["a", "b"]) == 0.5
    assert careers.interest_match([], []) == 0.0


@pytest.mark.parametrize(
    "call, message",
    [
        (lambda: careers.match_score({"math": 1.5}, ["math"]), r"in \[0.0, 1.0\]"),
        (lambda: careers.match_score({"math": "high"}, ["math"]), "finite number"),
        (lambda: careers.match_score("math", ["math"]), "dict .* or a list of skill names"),
        (lambda: careers.match_score({"math": 1}, []), "non-empty list of skill names"),
        (lambda: careers.match_score({"math": 1}, "math"), "list of skill names"),
        (lambda: careers.match_score({"math": 1}, ["math", "math"]), "twice"),
        (lambda: careers.rank_roles(["maths"]), "unknown skill 'maths'.*did you mean 'math'"),
        (lambda: careers.rank_roles([], ["art"]), "unknown interest 'art'"),
        (lambda: careers.rank_roles([], []), "at least one skill"),
        (lambda: careers.rank_roles(["math"], interest_weight=2), "interest_weight"),
        (lambda: careers.rank_roles(["math"], roles=[1, 2]), "pandas DataFrame"),
        (lambda: careers.rank_roles(["math"], roles=pd.DataFrame({"x": [1]})), "missing"),
        (lambda: careers.roles_needing(careers.roles_table(), ""), "one skill name"),
        (lambda: careers.RoleExplorer(top=0), "top must be a positive int"),
        (lambda: careers.RoleExplorer().show(mode="web"), "mode must be"),
    ],
)
def test_bad_input_says_what_was_expected(call, message):
    with pytest.raises((ValueError, TypeError), match=message):
        call()


def test_role_explorer_static_and_live(capsys):
    explorer = careers.RoleExplorer(["art and design"], ["creating"], top=3)
    assert explorer.ranking()["role"].tolist()[0] == "AI artist / digital creator"
    explorer.show(mode="static")
    out = capsys.readouterr().out
    assert "No live widget front end" in out and "AI artist" in out
    assert len(explorer.set(skills=["math", "research"], interests=["discovering"])) == 3
    assert careers.RoleExplorer().ranking().empty

    pytest.importorskip("ipywidgets")
    live = careers.RoleExplorer(["math"], ["discovering"])
    widget = live.widget()
    boxes = {box.description: box for box in widget.children[0].children[1:]}
    assert boxes["math"].value and boxes["discovering"].value and not boxes["creating"].value
    assert "AI research scientist" in live._table.value
    boxes["math"].value = False
    boxes["discovering"].value = False
    boxes["creating"].value = True  # the checkboxes redraw the table
    assert live.interests == ["creating"] and live.skills == []
    assert re.search(r"<td>AI artist / digital creator</td>\s*<td>100%</td>", live._table.value)


# -- the self-assessment ---------------------------------------------------------------------


def _write_log(path: Path, rows) -> Path:
    with path.open("w", encoding="utf-8") as handle:
        for student, notebook, exercise, status, points, max_points in rows:
            row = dict(student=student, notebook=notebook, exercise=exercise, status=status)
            row.update(points=points, max_points=max_points, message="", hint="")
            handle.write(json.dumps(row) + "\n")
    return path


CH00, CH04 = "00_what_is_generative_ai", "04_gpt_text_generation"


def test_read_verdicts_and_chapter_scores_from_a_log(tmp_path):
    log = _write_log(
        tmp_path / "verdicts.jsonl",
        [
            ("ada", CH00, "batches_per_epoch", "failed", 0, 1),
            ("bob", CH00, "batches_per_epoch", "passed", 1, 1),
            ("ada", CH00, "batches_per_epoch", "passed", 1, 1),
            ("ada", CH00, "sample_from_mixture", "failed", 0, 2),
            ("ada", CH04, "causal_mask", "passed", 1, 1),
            ("ada", CH04, "causal_mask", "error", 0, 1),
        ],
    )
    ada = careers.read_verdicts(log, student="ada")
    assert len(ada) == 5 and {r["student"] for r in ada} == {"ada"}
    assert careers.chapter_scores(ada) == {CH00: pytest.approx(1 / 3), CH04: 0.0}
    with pytest.raises(ValueError, match="several students"):
        careers.read_verdicts(log)
    assert careers.read_verdicts(tmp_path / "none.jsonl") == []
    assert careers.read_verdicts(None) == []  # no COURSE_GRADING_LOG set


def test_read_verdicts_follows_the_environment(tmp_path, monkeypatch):
    log = _write_log(
        tmp_path / "v.jsonl",
        [("ada", CH00, "a", "passed", 1, 1), ("bob", CH00, "a", "failed", 0, 1)],
    )
    monkeypatch.setenv("COURSE_GRADING_LOG", str(log))
    monkeypatch.setenv("COURSE_STUDENT", "bob")
    assert [r["status"] for r in careers.read_verdicts()] == ["failed"]


def test_verdicts_without_a_student_name_are_one_learners(tmp_path):
    # without COURSE_STUDENT, grading names the student after each exercise notebook
    log = _write_log(
        tmp_path / "v.jsonl",
        [(CH00, CH00, "a", "passed", 1, 1), (f"{CH04}-Copy1", CH04, "b", "passed", 2, 2)],
    )
    assert len(careers.read_verdicts(log)) == 2


def test_a_real_check_writes_a_line_the_self_assessment_reads(tmp_path, monkeypatch):
    log = tmp_path / "real.jsonl"
    monkeypatch.setenv("COURSE_GRADING_LOG", str(log))
    monkeypatch.setenv("COURSE_STUDENT", "kim")
    ch13.match_score(lambda profile, skills: sum(profile.get(s, 0) for s in skills) / len(skills))
    (row,) = careers.read_verdicts()
    assert (row["student"], row["notebook"], row["exercise"]) == (
        "kim",
        "13_career_paths",
        "match_score",
    )
    assert careers.chapter_scores([row]) == {"13_career_paths": 1.0}


@pytest.mark.parametrize(
    "line, message",
    [
        ("not json", "line 2 of .* is not a verdict"),
        (json.dumps({"notebook": CH00, "exercise": "a"}), "status, points, max_points"),
        (json.dumps([1, 2]), "JSON object"),
    ],
)
def test_a_broken_log_line_is_named(tmp_path, line, message):
    log = _write_log(tmp_path / "v.jsonl", [("ada", CH00, "a", "passed", 1, 1)])
    with log.open("a") as handle:
        handle.write(line + "\n")
    with pytest.raises(ValueError, match=message):
        careers.read_verdicts(log)


def test_bad_verdicts_and_log_paths(tmp_path):
    with pytest.raises(ValueError, match="list of verdict dicts"):
        careers.chapter_scores("log.jsonl")
    with pytest.raises(ValueError, match="with notebook, exercise, status"):
        careers.chapter_scores([{"notebook": CH00}])
    with pytest.raises(ValueError, match="number >= 0"):
        careers.chapter_scores(
            [dict(notebook=CH00, exercise="a", status="passed", points=-1, max_points=1)]
        )
    with pytest.raises(ValueError, match="is a folder"):
        careers.read_verdicts(tmp_path)
    with pytest.raises(TypeError, match="path of a grading log"):
        careers.read_verdicts(3)


def test_self_assessment_from_a_log_uses_every_chapters_registry(tmp_path):
    log = _write_log(
        tmp_path / "v.jsonl",
        [
            ("ada", CH00, "batches_per_epoch", "passed", 1, 1),
            ("ada", CH00, "gaussian_log_prob", "passed", 1, 1),
            ("ada", CH00, "sample_from_mixture", "passed", 2, 2),
            ("ada", CH00, "mixture_train_step", "passed", 3, 3),
            ("ada", CH04, "causal_mask", "passed", 1, 1),
            ("ada", CH04, "top_k_filter", "failed", 0, 1),
        ],
    )
    result = careers.self_assessment(log, student="ada")
    registries = careers.check_registries()
    assert set(result.chapters["chapter"]) == set(registries) >= {CH00, CH04, "13_career_paths"}
    chapters = result.chapters.set_index("chapter")
    assert chapters.loc[CH00, "score"] == 1.0 and chapters.loc[CH00, "revisit"] == []
    possible = registries[CH04].total_points
    assert chapters.loc[CH04, "score"] == pytest.approx(1 / possible)
    assert chapters.loc[CH04, "checked"] == 2
    assert "top_k_filter" in chapters.loc[CH04, "revisit"]
    assert "causal_mask" not in chapters.loc[CH04, "revisit"]
    assert chapters.loc[CH04, "read"].startswith(f"notebooks/{CH04}.ipynb, cell ")
    assert result.to_revisit[-1] == CH04 and CH00 not in result.to_revisit
    assert result.chapters["score"].is_monotonic_increasing
    # skills come from the chapters' scores: ada did nothing in the art chapters (06, 08)
    assert result.skills["math"] > 0 and result.skills.get("art and design", 0.0) == 0.0
    assert result.roles.loc[0, "role"] == "AI research scientist"
    assert "ada" in result.source and "Chapters to revisit" in result.summary()


def test_self_assessment_falls_back_to_the_quiz(tmp_path):
    right = {n: "abc"[q.answer] for n, q in enumerate(careers.QUIZ, 1)}
    assert set(careers.score_quiz(right).values()) == {1.0}
    wrong_gan = right | {3: "a"}
    result = careers.self_assessment(tmp_path / "missing.jsonl", quiz=wrong_gan)
    assert result.source.startswith("the quiz") and result.to_revisit == ["01_gans"]
    row = result.chapters.set_index("chapter").loc["01_gans"]
    assert row["revisit"] == ["question 3: the discriminator"] and "01_gans.ipynb" in row["read"]
    assert careers.score_quiz({})[CH00] == 0.0  # unanswered counts as wrong
    assert careers.score_quiz({2: 1})[CH00] == 0.5  # an index works as well as a letter
    with pytest.raises(ValueError, match="no verdicts to assess"):
        careers.self_assessment(tmp_path / "missing.jsonl")
    with pytest.raises(ValueError, match="numbered 1 to 7"):
        careers.score_quiz({8: "a"})
    with pytest.raises(ValueError, match=r"one of \['a', 'b', 'c'\]"):
        careers.score_quiz({1: "d"})
    with pytest.raises(ValueError, match="must be a dict"):
        careers.Quiz(["a", "b"])


def test_every_quiz_question_points_at_a_heading_that_exists():
    for question in careers.QUIZ:
        assert grading.find_cell(question.chapter, question.see) is not None, question.see
        assert 0 <= question.answer < len(question.options) == 3


def test_quiz_widget_records_the_answers(capsys):
    quiz = careers.Quiz({1: "b"})
    quiz.show(mode="static")
    assert "(x) b) makes a new example" in capsys.readouterr().out
    pytest.importorskip("ipywidgets")
    widget = quiz.widget()
    buttons = widget.children[3]  # question 2's radio buttons
    buttons.value = "b"
    assert quiz.answers == {1: "b", 2: "b"}


# -- the portfolio -----------------------------------------------------------------------------


def test_portfolio_of_a_missing_or_empty_runs_folder_is_empty(tmp_path, monkeypatch):
    for folder in (tmp_path / "missing", tmp_path):
        table = careers.portfolio(folder)
        assert table.empty and list(table.columns) == list(careers.PORTFOLIO_COLUMNS)
    monkeypatch.setenv("COURSE_RUNS_DIR", str(tmp_path / "nowhere"))
    assert careers.portfolio().empty


def test_portfolio_lists_runs_and_artefacts(tmp_path, monkeypatch):
    runs = tmp_path / "runs"
    run = runs / "full" / "ch01_dcgan" / "0123456789ab"
    run.mkdir(parents=True)
    history = {"g_loss": [1.2, 0.9], "d_loss": [0.7, 0.6]}
    (run / "state.json").write_text(
        json.dumps({"epoch": 2, "target_epochs": 10, "history": history})
    )
    (run.parent / "latest.txt").write_text("0123456789ab")
    old = runs / "quick" / "ch00_smiley" / "ba9876543210"
    old.mkdir(parents=True)
    (old / "state.json").write_text(
        json.dumps({"epoch": 3, "target_epochs": 3, "history": {"loss": [2.0, 1.5]}})
    )
    (run / "samples.png").write_bytes(b"\x89PNG fake")
    (runs / "posters").mkdir()
    (runs / "posters" / "poster.PDF").write_bytes(b"%PDF")
    (runs / "full" / "ch06_chorale").mkdir()
    (runs / "full" / "ch06_chorale" / "bach.mid").write_bytes(b"MThd")
    (run / "notes.txt").write_text("not an artefact")
    monkeypatch.setenv("COURSE_RUNS_DIR", str(runs))

    table = careers.portfolio()
    assert len(table) == 5
    assert table["chapter"].tolist() == ["", "00", "01", "01", "06"]
    (midi,) = table[table["kind"] == "MIDI music"].itertuples()
    assert midi.run == "ch06_chorale" and midi.path.endswith("bach.mid")
    (poster,) = table[table["kind"] == "poster or document"].itertuples()
    assert poster.path.endswith("posters/poster.PDF") and poster.mode == ""
    (picture,) = table[table["kind"] == "picture"].itertuples()
    assert picture.run == "ch01_dcgan" and picture.chapter == "01"
    models = table[table["kind"] == "trained model"].set_index("run")
    assert models.loc["ch01_dcgan", "mode"] == "full"
    assert "2 of 10 epochs" in models.loc["ch01_dcgan", "what"]
    assert "the run its chapter loads now" in models.loc["ch01_dcgan", "what"]
    assert "last loss 1.5" in models.loc["ch00_smiley", "what"]
    assert models.loc["ch01_dcgan", "path"] == str(run)
    assert re.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d UTC", table.loc[0, "modified"])


def test_portfolio_refuses_a_file_or_a_non_path(tmp_path):
    (tmp_path / "runs").write_text("")
    with pytest.raises(ValueError, match="must be a folder"):
        careers.portfolio(tmp_path / "runs")
    with pytest.raises(TypeError, match="folder path"):
        careers.portfolio(3)


# -- the job-title model ------------------------------------------------------------------------


def test_title_model_counts_which_word_follows_which():
    model = careers.TitleModel(["chief data officer", "data officer", "chief cook"])
    assert model.vocab == ["chief", "cook", "data", "officer", model.END]
    start = dict(zip(model.vocab, model.next_probs(model.START)))
    assert start == {"chief": 2 / 3, "cook": 0, "data": 1 / 3, "officer": 0, model.END: 0}
    assert model.next_probs("officer")[-1] == 1.0  # always the end
    for word in ["chief", "cook", "data", "officer"]:
        assert model.next_probs(word).sum() == pytest.approx(1.0)
    with pytest.raises(ValueError, match="not a word of the titles"):
        model.next_probs("pilot")
    with pytest.raises(ValueError, match="nothing comes after"):
        model.next_probs(model.END)
    with pytest.raises(ValueError, match="non-empty job titles"):
        careers.TitleModel(["", "x"])
    with pytest.raises(ValueError, match="list of job titles"):
        careers.TitleModel("chief cook")


def test_job_titles_come_from_the_roles_and_the_ladder():
    titles = careers.job_titles()
    assert "AI artist" in titles and "digital creator" in titles and "VP of AI" in titles
    assert "data scientist" in titles and not any("(" in t or "/" in t for t in titles)


def test_invent_title_writes_titles_from_the_models_words():
    model = careers.TitleModel(careers.job_titles())
    draw = careers.drawer(0)
    made = [careers.invent_title(model, draw) for _ in range(200)]
    assert all(1 <= len(t.split()) <= 6 and model.END not in t for t in made)
    assert sum(t in careers.job_titles() for t in made) > 100  # mostly seen ones at T = 1
    again = careers.drawer(0)
    assert [careers.invent_title(model, again) for _ in range(200)] == made
    assert all(len(careers.invent_title(model, draw, max_words=2).split()) <= 2 for _ in range(50))
    cold = careers.drawer(1)
    colder = [careers.invent_title(model, cold, temperature=0.05) for _ in range(50)]
    assert max(colder.count(t) for t in set(colder)) >= 45  # nearly always the likeliest path


@pytest.mark.parametrize(
    "kwargs, error, message",
    [
        ({"model": "x"}, TypeError, "careers.TitleModel"),
        ({"draw": 3}, TypeError, "draw must be a function"),
        ({"max_words": 0}, ValueError, "max_words must be a positive int"),
        ({"temperature": 0}, ValueError, "temperature must be in"),
    ],
)
def test_invent_title_bad_input(kwargs, error, message):
    args = {"model": careers.TitleModel(["a b"]), "draw": careers.drawer(0)} | kwargs
    with pytest.raises(error, match=message):
        careers.invent_title(**args)


def test_drawer_refuses_what_is_not_probabilities():
    draw = careers.drawer(0)
    with pytest.raises(ValueError, match="add up to 1"):
        draw([0.5, 0.2])
    with pytest.raises(ValueError, match="probabilities >= 0"):
        draw([[0.5, 0.5]])
    assert draw([0.0, 1.0]) == 1


def test_chapter_notebooks_lists_the_chapters_on_disk():
    chapters = careers.chapter_notebooks()
    assert {"00", "13"} <= set(chapters["number"])
    row = chapters.set_index("number").loc["13"]
    assert row["file"] == "13_career_paths.ipynb" and row["title"] == "13 · Career paths"


# -- the exercises' checks -------------------------------------------------------------------


def match_score(profile, role_skills):
    levels = [profile.get(skill, 0.0) for skill in role_skills]
    return sum(levels) / len(levels)


def roles_needing(roles, skill):
    has_it = roles["skills"].apply(lambda tags: skill in tags)
    return roles[has_it].sort_values("salary_low", ascending=False)["role"].tolist()


def chapter_scores(verdicts):
    latest = {}
    for verdict in verdicts:
        latest[(verdict["notebook"], verdict["exercise"])] = verdict
    earned, possible = {}, {}
    for (notebook, _), verdict in latest.items():
        earned[notebook] = earned.get(notebook, 0.0) + verdict["points"]
        possible[notebook] = possible.get(notebook, 0.0) + verdict["max_points"]
    return {notebook: earned[notebook] / possible[notebook] for notebook in earned}


def invent_title(model, draw, max_words, temperature):
    word, words = model.START, []
    for _ in range(max_words):
        probs = model.next_probs(word) ** (1.0 / temperature)
        word = model.vocab[draw(probs / probs.sum())]
        if word == model.END:
            break
        words.append(word)
    return " ".join(words)


REFERENCE = {f.__name__: f for f in (match_score, roles_needing, chapter_scores, invent_title)}


def run(name, fn) -> grading.Verdict:
    return getattr(ch13, name)(fn)


def test_registry():
    specs = ch13.exercise.specs
    assert ch13.exercise.notebook == "13_career_paths"
    assert {n: s.points for n, s in specs.items()} == {
        "match_score": 1,
        "roles_needing": 1,
        "chapter_scores": 2,
        "invent_title": 3,
    }
    assert specs["invent_title"].kind == "generation loop"


@pytest.mark.parametrize("name", REFERENCE)
def test_reference_solution_passes(name):
    verdict = run(name, REFERENCE[name])
    assert verdict.status == grading.PASSED, verdict.message
    assert verdict.points == verdict.max_points > 0


LIBRARY_CALLS = {
    "match_score": lambda profile, skills: careers.match_score(profile, skills),
    "roles_needing": lambda roles, skill: careers.roles_needing(roles, skill),
    "chapter_scores": lambda verdicts: careers.chapter_scores(verdicts),
    "invent_title": lambda m, d, n, t: careers.invent_title(m, d, n, t),
}


@pytest.mark.parametrize("name", LIBRARY_CALLS)
def test_an_answer_that_calls_the_library_fails(name):
    verdict = run(name, LIBRARY_CALLS[name])
    assert verdict.status == grading.FAILED
    assert "Write it yourself" in verdict.message


# likely wrong answers: (exercise, answer, words the failure message must contain)


def _ms_sum(profile, skills):
    return sum(profile.get(s, 0.0) for s in skills)


def _ms_over_mine(profile, skills):
    return sum(profile.get(s, 0.0) for s in skills) / max(len(profile), 1)


def _ms_ignores_levels(profile, skills):
    return sum(s in profile for s in skills) / len(skills)


def _ms_jaccard(profile, skills):
    both = set(profile) | set(skills)
    return len(set(profile) & set(skills)) / len(both) if both else 0.0


def _rn_substring(roles, skill):
    has = roles["skills"].apply(lambda tags: any(skill in tag for tag in tags))
    return roles[has].sort_values("salary_low", ascending=False)["role"].tolist()


def _rn_ascending(roles, skill):
    has = roles["skills"].apply(lambda tags: skill in tags)
    return roles[has].sort_values("salary_low")["role"].tolist()


def _rn_by_top(roles, skill):
    has = roles["skills"].apply(lambda tags: skill in tags)
    return roles[has].sort_values("salary_high", ascending=False)["role"].tolist()


def _rn_rows(roles, skill):
    return roles[roles["skills"].apply(lambda tags: skill in tags)]


def _rn_changes_the_table(roles, skill):
    roles.sort_values("salary_low", ascending=False, inplace=True)
    return roles[roles["skills"].apply(lambda tags: skill in tags)]["role"].tolist()


def _cs_every_attempt(verdicts):
    earned, possible = {}, {}
    for v in verdicts:
        earned[v["notebook"]] = earned.get(v["notebook"], 0) + v["points"]
        possible[v["notebook"]] = possible.get(v["notebook"], 0) + v["max_points"]
    return {k: earned[k] / possible[k] for k in earned}


def _cs_best_attempt(verdicts):
    best = {}
    for v in verdicts:
        key = (v["notebook"], v["exercise"])
        if key not in best or v["points"] > best[key]["points"]:
            best[key] = v
    return chapter_scores(list(best.values()))


def _cs_share_passed(verdicts):
    latest = {(v["notebook"], v["exercise"]): v for v in verdicts}
    passed: dict = {}
    for (notebook, _), v in latest.items():
        passed.setdefault(notebook, []).append(v["status"] == "passed")
    return {k: float(np.mean(v)) for k, v in passed.items()}


def _cs_by_name_only(verdicts):
    latest = {v["exercise"]: v for v in verdicts}
    return chapter_scores(list(latest.values()))


def _loop(*, feed_back=True, temper="divide", normalise=True, keep_end=False, extra=0, join=True):
    def answer(model, draw, max_words, temperature):
        word, words = model.START, []
        for _ in range(max_words + extra):
            probs = model.next_probs(word if feed_back else model.START)
            if temper == "divide":
                probs = probs ** (1.0 / temperature)
            elif temper == "multiply":
                probs = probs**temperature
            if normalise:
                probs = probs / probs.sum()
            word = model.vocab[draw(probs)]
            if word == model.END:
                if keep_end:
                    words.append(word)
                break
            words.append(word)
        return " ".join(words) if join else words

    return answer


WRONG = [
    ("match_score", _ms_sum, "more than 1"),
    ("match_score", _ms_over_mine, "number of YOUR skills"),
    ("match_score", _ms_ignores_levels, "use the levels"),
    ("match_score", _ms_jaccard, "Skills the role does not need"),
    ("roles_needing", _rn_substring, "Match whole tags"),
    ("roles_needing", _rn_ascending, "in reverse"),
    ("roles_needing", _rn_by_top, "ordered by the top of the range"),
    ("roles_needing", _rn_rows, "return the role names only"),
    ("roles_needing", _rn_changes_the_table, "changed the table it was given"),
    ("chapter_scores", _cs_every_attempt, "every attempt was counted"),
    ("chapter_scores", _cs_best_attempt, "you kept the best attempt"),
    ("chapter_scores", _cs_share_passed, "weigh each exercise by its points"),
    ("chapter_scores", _cs_by_name_only, "one entry per notebook"),
    ("invent_title", _loop(feed_back=False), "follows the start word again"),
    ("invent_title", _loop(temper="none"), "ignore the temperature"),
    ("invent_title", _loop(temper="multiply"), "use 1/temperature"),
    ("invent_title", _loop(normalise=False), "add up to 1 again"),
    ("invent_title", _loop(keep_end=True), "not part of the title"),
    ("invent_title", _loop(extra=1), "Stop at the end word, and after max_words"),
    ("invent_title", _loop(join=False), "return one string"),
]


@pytest.mark.parametrize(
    "name, answer, words", WRONG, ids=[f"{n}-{a.__name__}-{i}" for i, (n, a, _) in enumerate(WRONG)]
)
def test_likely_wrong_answers_fail_with_the_property(name, answer, words):
    verdict = run(name, answer)
    assert verdict.status == grading.FAILED, verdict
    assert words in verdict.message, verdict.message


def test_messages_never_show_a_solution_line():
    """The hints are checked with every chapter's (test_exercise_contract.py); the
    messages the wrong answers get are this chapter's own."""
    lines = solution_lines("13_career_paths")
    for name, answer, _ in WRONG:
        message = run(name, answer).message
        for line in lines:
            assert line not in message, (line, message)
