"""Checks for chapter 13's exercises: matching a role, a query over the roles table,
scoring a grading log, and the generation loop that invents job titles."""

from __future__ import annotations

import numpy as np
import pandas as pd

from course_lib import careers, grading

exercise = grading.Exercises("13_career_paths")


def _number(value, what: str) -> float:
    if value is None:
        raise grading.Mismatch(f"{what} is None: did you forget to `return` it?")
    return grading.expect_scalar(value, what=what)


# -- exercise 1 ----------------------------------------------------------------------------


@exercise(
    points=1,
    forbid=[careers.match_score],
    see="4.1 How a role is matched to you",
    hint="The score is an average over the ROLE's skills: a skill you lack counts as 0, a "
    "skill the role does not need counts not at all, your levels (not just whether you "
    "list a skill) count, and the result always lies between 0 and 1.",
)
def match_score(fn):
    """``fn(profile, role_skills)`` must return the mean, over the role's skills, of the
    learner's level (0 for a skill not in the profile)."""
    cases = [  # (profile, role skills)
        ({"math": 1.0, "programming": 1.0}, ["math", "programming", "research", "communication"]),
        ({"math": 1.0, "art and design": 1.0}, ["math", "research", "communication"]),
        ({}, ["art and design", "creative tools", "ethics and law"]),
        (
            {"art and design": 0.5, "creative tools": 1.0, "business": 1.0},
            ["art and design", "creative tools", "ethics and law"],
        ),
        (
            {"business": 1.0, "leadership": 1.0, "math": 1.0, "research": 1.0, "product": 0.2},
            ["business", "leadership"],
        ),
        ({"math": 0.3}, ["math"]),
        ({"data analysis": 0.8, "programming": 0.6}, ["programming", "data analysis"]),
    ]
    for profile, skills in cases:
        what = f"match_score({profile}, {skills})"
        got = _number(fn(dict(profile), list(skills)), what)
        want = careers.match_score(profile, skills)
        if np.isclose(got, want, atol=1e-6):
            continue
        have = [s for s in skills if s in profile]
        if got > 1 + 1e-9:
            raise grading.Mismatch(
                f"{what} is {got:g}: more than 1. A score is a share from 0 to 1; adding the "
                "levels up favours roles that list many skills."
            )
        if profile and np.isclose(got, sum(profile.get(s, 0) for s in skills) / len(profile)):
            raise grading.Mismatch(
                f"{what} is {got:g}; expected {want:g}. You divided by the number of YOUR "
                "skills: a skill the role does not need should change nothing."
            )
        if np.isclose(got, len(have) / len(skills)):
            raise grading.Mismatch(
                f"{what} is {got:g}; expected {want:g}. You counted the skills you list, but "
                "a level of 0.5 is half a skill: use the levels."
            )
        union = set(profile) | set(skills)
        if union and np.isclose(got, len(have) / len(union)):
            raise grading.Mismatch(
                f"{what} is {got:g}; expected {want:g}: that is the overlap over every skill "
                "either side names. Skills the role does not need should not lower the score."
            )
        raise grading.Mismatch(f"{what} is {got:g}; expected {want:g}.")


# -- exercise 2 ----------------------------------------------------------------------------


def _names(value, what: str) -> list[str]:
    if value is None:
        raise grading.Mismatch(f"{what} is None: did you forget to `return` it?")
    if isinstance(value, pd.DataFrame):
        raise grading.Mismatch(
            f"{what} is a table of rows; return the role names only, as a list (the 'role' column)."
        )
    if isinstance(value, (str, bytes, dict)):
        raise grading.Mismatch(
            f"{what} should be a list of role names; got {type(value).__name__}."
        )
    try:
        names = list(value)
    except TypeError:
        raise grading.Mismatch(
            f"{what} should be a list of role names; got {type(value).__name__}."
        ) from None
    if not all(isinstance(n, str) for n in names):
        raise grading.Mismatch(f"{what} should hold role names (str); got {names[:4]}.")
    return names


def _toy_roles() -> pd.DataFrame:
    """A made-up table: tags that contain each other, and salary ends in different orders."""
    return pd.DataFrame(
        {
            "role": ["sketcher", "plumber of data", "bridge builder", "lawyer", "poet"],
            "skills": [
                ["design", "drawing"],
                ["system design", "programming"],
                ["system design", "design", "math"],
                ["ethics and law"],
                ["writing", "design"],
            ],
            "salary_low": [30_000.0, 90_000.0, 70_000.0, 100_000.0, 20_000.0],
            "salary_high": [200_000.0, 95_000.0, 150_000.0, 120_000.0, 60_000.0],
        }
    )


@exercise(
    points=1,
    forbid=[careers.roles_needing],
    see="4.3 Questions you can ask the table",
    hint="A role qualifies only when the skill is one of its tags, exactly (a longer tag "
    "that contains the word is another skill). Order the roles by the lowest figure of "
    "their salary range, highest first, and return their names as a list.",
)
def roles_needing(fn):
    """``fn(roles, skill)`` must return the names of the roles whose skills list ``skill``,
    ordered by ``salary_low``, highest first."""
    real = careers.roles_table()
    toy = _toy_roles()
    cases = [
        (real, "communication"),
        (real, "art and design"),
        (real, "deployment"),
        (real, "juggling"),
        (toy, "design"),
        (toy, "law"),
        (toy.iloc[::-1].reset_index(drop=True), "system design"),
    ]
    for table, skill in cases:
        label = "the course's roles table" if table is real else "a made-up roles table"
        what = f"roles_needing({label}, {skill!r})"
        given = table.copy(deep=True)
        got = _names(fn(given, skill), what)
        if not given[["role", "salary_low"]].equals(table[["role", "salary_low"]]):
            raise grading.Mismatch(
                f"{what} changed the table it was given (rows dropped, re-ordered or "
                "overwritten). Build a new table instead of changing the learner's."
            )
        want = careers.roles_needing(table, skill)
        if got == want:
            continue
        if set(got) == set(want):
            highs = table.set_index("role").loc[got, "salary_high"].fillna(-np.inf).to_numpy()
            if got == want[::-1]:
                detail = "they are in reverse: highest lowest figure first."
            elif np.all(np.diff(highs) <= 0):
                detail = "they are ordered by the top of the range; order by the lowest figure."
            else:
                detail = "order them by the lowest figure of the salary range, highest first."
            raise grading.Mismatch(f"{what} has the right roles, but {detail}")
        extra = [n for n in got if n not in want]
        if extra:
            tags = table.set_index("role")["skills"]
            role = extra[0]
            if role in tags.index and any(skill in tag for tag in tags[role]):
                raise grading.Mismatch(
                    f"{what} includes {role!r}, whose tags are {tags[role]}: a tag that "
                    f"contains {skill!r} inside a longer name is another skill. Match whole tags."
                )
            raise grading.Mismatch(f"{what} includes {extra}, which do not list {skill!r}.")
        raise grading.Mismatch(
            f"{what} is {got}; expected {want}: it misses {[n for n in want if n not in got]}."
        )


# -- exercise 3 ----------------------------------------------------------------------------


def _verdict(notebook, name, status, points, max_points):
    return {
        "student": "sam",
        "notebook": notebook,
        "exercise": name,
        "status": status,
        "points": float(points),
        "max_points": float(max_points),
        "message": "",
        "timestamp": "2026-11-29T10:00:00+00:00",
    }


def _scores(value, what: str) -> dict:
    if value is None:
        raise grading.Mismatch(f"{what} is None: did you forget to `return` it?")
    if isinstance(value, pd.Series):
        value = value.to_dict()
    if not isinstance(value, dict):
        raise grading.Mismatch(
            f"{what} should be a dict {{notebook: score}}; got {type(value).__name__}."
        )
    return {k: _number(v, f"{what}[{k!r}]") for k, v in value.items()}


@exercise(
    points=2,
    forbid=[careers.chapter_scores],
    see="4.4 Where do you stand? A self-assessment",
    hint="Each exercise counts once, with its LAST verdict (what the notebook does now), and "
    "an exercise is a notebook and an exercise name together. A chapter's score is the "
    "points earned over the points possible, so a 3-point exercise weighs three times as "
    "much as a 1-point one.",
)
def chapter_scores(fn):
    """``fn(verdicts)`` must return {notebook: points earned / points possible}, counting
    each exercise's latest verdict only."""
    a, b = "00_what_is_generative_ai", "04_gpt_text_generation"
    cases = {
        "one chapter, one pass and one fail": [
            _verdict(a, "gaussian_log_prob", "passed", 1, 1),
            _verdict(a, "sample_from_mixture", "failed", 0, 2),
        ],
        "a check that failed, then passed": [
            _verdict(a, "sample_from_mixture", "failed", 0, 2),
            _verdict(a, "sample_from_mixture", "passed", 2, 2),
            _verdict(a, "batches_per_epoch", "passed", 1, 1),
        ],
        "a check that passed, then failed": [
            _verdict(b, "top_k_filter", "passed", 1, 1),
            _verdict(b, "causal_mask", "passed", 1, 1),
            _verdict(b, "top_k_filter", "error", 0, 1),
        ],
        "points of different weight": [
            _verdict(b, "causal_mask", "passed", 1, 1),
            _verdict(b, "generate_tokens", "failed", 0, 3),
        ],
        "the same exercise name in two chapters": [
            _verdict(a, "train_step", "passed", 3, 3),
            _verdict(b, "train_step", "not attempted", 0, 3),
            _verdict(b, "causal_mask", "passed", 1, 1),
        ],
        "no verdicts at all": [],
    }
    for label, rows in cases.items():
        what = f"your scores for {label}"
        got = _scores(fn([dict(r) for r in rows]), what)
        want = careers.chapter_scores(rows)
        if set(got) != set(want):
            raise grading.Mismatch(
                f"{what} have the chapters {sorted(got)}; expected {sorted(want)}: one entry "
                "per notebook that has a verdict."
            )
        wrong = [k for k in want if not np.isclose(got[k], want[k], atol=1e-6)]
        if not wrong:
            continue
        k = wrong[0]
        mine = [r for r in rows if r["notebook"] == k]
        every = sum(r["points"] for r in mine) / sum(r["max_points"] for r in mine)
        best: dict = {}
        for r in mine:
            best[r["exercise"]] = max(best.get(r["exercise"], 0.0), r["points"] / r["max_points"])
        share_passed = np.mean([r["status"] == "passed" for r in mine])
        if np.isclose(got[k], every):
            why = "every attempt was counted; count each exercise once, with its last verdict."
        elif label.endswith("then failed") and np.isclose(got[k], np.mean(list(best.values()))):
            why = "you kept the best attempt; the last verdict is what the notebook does now."
        elif np.isclose(got[k], share_passed):
            why = "that is the share of checks passed; weigh each exercise by its points."
        else:
            why = "points earned over points possible, from each exercise's last verdict."
        raise grading.Mismatch(f"{what}: {k!r} is {got[k]:.3g}; expected {want[k]:.3g}: {why}")


# -- exercise 4: the generation loop -------------------------------------------------------


class _Recorder:
    """A ``draw`` for the check: records every row of probabilities it is given and picks
    with its own seeded generator, the same way for the learner's loop and the library's."""

    def __init__(self, seed: int):
        self.rng = np.random.default_rng(seed)
        self.seen: list[np.ndarray] = []

    def __call__(self, probs) -> int:
        p = grading.expect_array(probs, what="the probabilities you gave draw").astype(float)
        self.seen.append(p.copy())
        if p.ndim != 1:
            raise grading.Mismatch(
                f"draw got probabilities of shape {p.shape}; it needs one row, one number "
                "per word of model.vocab."
            )
        if not np.all(np.isfinite(p)) or np.any(p < 0) or not p.sum() > 0:
            raise grading.Mismatch(f"draw got {np.round(p, 3).tolist()}: not probabilities.")
        cumulative = np.cumsum(p / p.sum())
        return int(min(np.searchsorted(cumulative, self.rng.random(), side="right"), len(p) - 1))


def _toy_model() -> careers.TitleModel:
    return careers.TitleModel(
        [
            "chief dream officer",
            "senior dream painter",
            "dream painter",
            "senior pixel wrangler",
            "chief pixel officer",
            "junior pixel painter",
        ]
    )


@exercise(
    points=3,
    kind="generation loop",
    forbid=[careers.invent_title],
    see="5 · A last generative model",
    hint="Start from the start word. At each step ask the model what may follow the word you "
    "picked LAST, raise those probabilities to the power 1/temperature and make them add up "
    "to 1 again, then let draw pick. The end word stops the title and is not part of it; "
    "never write more than max_words words.",
)
def invent_title(fn):
    """``fn(model, draw, max_words, temperature)`` must write the same title as
    :func:`course_lib.careers.invent_title` from the same draws."""
    real = careers.TitleModel(careers.job_titles())
    toy = _toy_model()
    cases = [  # (model, seed, max_words, temperature)
        (toy, 0, 6, 1.0),
        (toy, 1, 6, 1.0),
        (toy, 2, 2, 1.0),
        (real, 3, 6, 1.0),
        (real, 4, 8, 0.5),
        (toy, 5, 6, 2.0),
        (real, 6, 3, 1.5),
    ]
    for model, seed, max_words, temperature in cases:
        for repeat in range(4):  # several titles from one generator
            label = (
                f"with max_words={max_words}, temperature={temperature:g} "
                f"(seed {seed}, title {repeat + 1})"
            )
            mine, reference = _Recorder(seed * 10 + repeat), _Recorder(seed * 10 + repeat)
            want = careers.invent_title(model, reference, max_words, temperature)
            got = fn(model, mine, max_words, temperature)
            if isinstance(got, (list, tuple)):
                raise grading.Mismatch(
                    f"{label}, you returned a list of words {list(got)}; return one string, "
                    "the words joined by single spaces."
                )
            if not isinstance(got, str):
                raise grading.Mismatch(
                    f"{label}, you returned {type(got).__name__}; return the title as a str."
                )
            _compare_draws(model, mine.seen, reference.seen, got, label, temperature)
            words = got.split()
            if model.END in words:
                raise grading.Mismatch(
                    f"{label}, your title {got!r} contains {model.END!r}: the end word only "
                    "says 'stop here'; it is not part of the title."
                )
            if len(words) > max_words:
                raise grading.Mismatch(
                    f"{label}, your title has {len(words)} words: stop after max_words."
                )
            if got != want:
                raise grading.Mismatch(
                    f"{label}, your title is {got!r}; the library's loop writes {want!r} from "
                    "the same draws. Join the words with single spaces."
                )


def _compare_draws(model, seen, expected, got, label, temperature) -> None:
    """Say at which step the learner's probabilities first differ, and how."""
    for step, want in enumerate(expected):
        if step >= len(seen):
            raise grading.Mismatch(
                f"{label}, you stopped after {len(seen)} draws (title {got!r}); the library's "
                f"loop drew {len(expected)} times. Stop only at the end word or after "
                "max_words words."
            )
        p = seen[step]
        if p.shape == want.shape and np.allclose(p, want, atol=1e-9):
            continue
        start = model.next_probs(model.START)
        if p.shape != want.shape:
            raise grading.Mismatch(
                f"{label}, at step {step} draw got {p.shape[0]} numbers; it needs one per word "
                f"of model.vocab ({want.shape[0]})."
            )
        if not np.isclose(p.sum(), 1.0, atol=1e-6):
            raise grading.Mismatch(
                f"{label}, at step {step} your probabilities add up to {p.sum():.4g}: make "
                "them add up to 1 again after the temperature."
            )
        again = _tempered(start, temperature)
        if step > 0 and np.allclose(p, again, atol=1e-9) and not np.allclose(want, again):
            raise grading.Mismatch(
                f"{label}, at step {step} you asked the model what follows the start word "
                "again. Ask what follows the word you picked last."
            )
        plain = _normalised(want**temperature)  # the model's own row, before the temperature
        if temperature != 1.0 and np.allclose(p, plain, atol=1e-9):
            raise grading.Mismatch(
                f"{label}, at step {step} your probabilities ignore the temperature "
                f"({temperature:g}): raise them to the power 1/temperature, then normalise."
            )
        if temperature != 1.0 and np.allclose(p, _normalised(plain**temperature), atol=1e-9):
            raise grading.Mismatch(
                f"{label}, at step {step} your probabilities are raised to the power "
                "temperature; use 1/temperature (a temperature above 1 flattens them)."
            )
        raise grading.Mismatch(
            f"{label}, at step {step} draw got {np.round(p, 3).tolist()}; expected "
            f"{np.round(want, 3).tolist()}."
        )
    if len(seen) > len(expected):
        raise grading.Mismatch(
            f"{label}, you drew {len(seen)} times; the library's loop drew {len(expected)} "
            "times. Stop at the end word, and after max_words words."
        )


def _normalised(p: np.ndarray) -> np.ndarray:
    return p / p.sum()


def _tempered(probs: np.ndarray, temperature: float) -> np.ndarray:
    return _normalised(probs ** (1.0 / temperature))
