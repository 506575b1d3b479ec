"""Careers in generative AI, as data: the roles, the paths, and where you stand.

Chapter 13 (``notebooks/13_career_paths.ipynb``) uses this module, in this order:

1. **The roles.** :func:`roles_table` is the guide's ten roles, one row each: the skills
   (as tags from :data:`SKILLS`), a typical day, tools and the salary range. The salary
   figures are the guide's, which names no source, date, place or currency; the tools
   are ours (the guide lists none). The skill tags, days and descriptions are our own
   words for the guide's lists.
2. **The paths.** :func:`career_levels`, :func:`education`, :func:`resources`,
   :func:`practice` and :func:`industries`: the guide's career ladder, degrees, learning
   resources (not checked online: see :data:`RESOURCES_CHECKED`), practice and sectors.
3. **Matching.** :func:`match_score` is the share of a role's skills a learner has;
   :func:`rank_roles` adds interests and says why each role ranks where it does;
   :class:`RoleExplorer` puts it behind widgets (a static table where no front end runs).
4. **A self-assessment.** :func:`read_verdicts` reads the exercise verdicts that
   ``course_lib.grading`` writes to ``COURSE_GRADING_LOG``; :func:`chapter_scores` turns
   them into a share of points per chapter; :func:`self_assessment` uses every chapter's
   check registry to say which chapters to revisit and which roles fit, from the log or,
   without one, from the short :data:`QUIZ`.
5. **A portfolio.** :func:`portfolio` lists what the learner's runs left in ``runs/``:
   trained models, and any pictures, sounds, MIDI files or videos saved there.
6. **A last generative model.** :class:`TitleModel` counts which word follows which in
   the guide's job titles; :func:`invent_title` is the generation loop that writes new
   ones, a word at a time.

Public functions check what they are given and say what they expected.
"""

from __future__ import annotations

import difflib
import importlib
import json
import math
import os
import pkgutil
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timezone
from numbers import Real
from pathlib import Path

import numpy as np
import pandas as pd

from course_lib.conventions import as_int, as_number, as_seed
from course_lib.widgets import LIVE, STATIC, display_mode

_ROOT = Path(__file__).resolve().parents[1]

# -- 1 · the roles --------------------------------------------------------------------------

SKILLS: dict[str, str] = {
    "math": "linear algebra, calculus, probability and statistics",
    "machine learning": "how models learn, what they can and cannot do",
    "programming": "writing code that works, mostly in Python",
    "software engineering": "code that others can run, test and keep working",
    "research": "asking sharp questions, designing experiments, reading papers",
    "deployment": "running models for real users and watching them there (MLOps)",
    "system design": "fitting data, models and services together",
    "data analysis": "cleaning, exploring and explaining data",
    "art and design": "composition, colour, taste: a creative eye",
    "creative tools": "image, sound and video software, the AI kind included",
    "communication": "explaining, writing and presenting, to experts and to everyone else",
    "product": "knowing what users need and deciding what to build",
    "business": "strategy, markets, money",
    "leadership": "leading people, building teams, bringing others along",
    "project management": "planning work and delivering it",
    "ethics and law": "fairness, bias, copyright, privacy and regulation",
    "domain knowledge": "knowing one industry well: health, finance, media ...",
}

INTERESTS: dict[str, str] = {
    "discovering": "finding out how and why things work",
    "building": "making software and systems that run",
    "creating": "art, design, music, film, games",
    "people": "working with clients, users and teams",
    "business": "products, companies and markets",
    "society": "fairness, safety and the rules we live by",
    "data": "finding patterns in data and explaining them",
}

AREAS = (
    "research and development",
    "creative applications",
    "product and business",
    "specialised roles",
    "entrepreneurship and consulting",
)

_ROLES = (
    {
        "role": "AI research scientist",
        "area": AREAS[0],
        "what_they_do": "Invent and test new generative models and methods, and publish what "
        "they find.",
        "skills": ["machine learning", "math", "programming", "research", "communication"],
        "interests": ["discovering"],
        "typical_day": [
            "read new papers",
            "plan an experiment and code it",
            "study the results and change the model",
            "write up findings as a paper or a talk",
            "work through ideas with other researchers and engineers",
        ],
        "tools": ["PyTorch or JAX", "TensorFlow / Keras", "Jupyter", "LaTeX", "arXiv"],
        "salary_low": 120_000,
        "salary_high": 250_000,
        "open_ended": True,
        "salary_note": "the guide: varies by location and experience",
        "chapters": ["00", "01", "02", "03", "04"],
    },
    {
        "role": "machine learning engineer",
        "area": AREAS[0],
        "what_they_do": "Turn models into fast, reliable systems that real products use.",
        "skills": [
            "software engineering",
            "machine learning",
            "deployment",
            "system design",
            "communication",
        ],
        "interests": ["building"],
        "typical_day": [
            "build and change model architectures",
            "make a model smaller or faster",
            "ship a model to production",
            "watch how a deployed model behaves, and fix it",
            "plan new AI features with product teams",
        ],
        "tools": ["TensorFlow / Keras or PyTorch", "Docker", "Kubernetes", "MLflow", "cloud GPUs"],
        "salary_low": 100_000,
        "salary_high": 200_000,
        "open_ended": True,
        "salary_note": "",
        "chapters": ["04", "10", "11", "12"],
    },
    {
        "role": "AI artist / digital creator",
        "area": AREAS[1],
        "what_they_do": "Make artworks, designs and media with generative tools, for "
        "themselves and for clients.",
        "skills": ["art and design", "creative tools", "ethics and law"],
        "interests": ["creating"],
        "typical_day": [
            "sketch ideas together with AI tools",
            "generate many versions and pick and refine the best",
            "finish work commissioned by clients",
            "try out new styles and techniques",
            "show work online and grow a portfolio",
        ],
        "tools": [
            "text-to-image apps (diffusion models)",
            "an image editor (GIMP, Krita, Photoshop)",
            "Blender",
            "a portfolio website",
        ],
        "salary_low": 40_000,
        "salary_high": 120_000,
        "open_ended": True,
        "salary_note": "the guide: varies by client base and expertise",
        "chapters": ["01", "03", "05", "08", "09"],
    },
    {
        "role": "creative technologist",
        "area": AREAS[1],
        "what_they_do": "Build AI-powered creative pieces for brands and agencies, where "
        "design and code meet.",
        "skills": [
            "art and design",
            "programming",
            "machine learning",
            "project management",
            "communication",
        ],
        "interests": ["creating", "building", "people"],
        "typical_day": [
            "find out what a client wants to make",
            "prototype a creative idea with AI",
            "show the prototype to the client",
            "steer the build until it ships",
            "keep up with new creative AI tools",
        ],
        "tools": ["Python", "JavaScript and p5.js", "TouchDesigner", "Unity or Unreal"],
        "salary_low": 80_000,
        "salary_high": 150_000,
        "open_ended": True,
        "salary_note": "",
        "chapters": ["06", "07", "09", "10"],
    },
    {
        "role": "AI product manager",
        "area": AREAS[2],
        "what_they_do": "Decide what an AI product should do and for whom, and lead it to launch.",
        "skills": ["product", "machine learning", "business", "communication", "leadership"],
        "interests": ["business", "people"],
        "typical_day": [
            "set the product's direction",
            "plan AI features with the engineers",
            "read user feedback and market signals",
            "order the roadmap",
            "keep everyone who has a stake informed",
        ],
        "tools": ["an issue tracker", "analytics dashboards", "Figma", "evaluation spreadsheets"],
        "salary_low": 130_000,
        "salary_high": 250_000,
        "open_ended": True,
        "salary_note": "",
        "chapters": ["00", "09", "10"],
    },
    {
        "role": "AI solutions architect",
        "area": AREAS[2],
        "what_they_do": "Design how generative AI fits into a client's systems, end to end.",
        "skills": [
            "system design",
            "machine learning",
            "software engineering",
            "communication",
            "business",
        ],
        "interests": ["building", "people", "business"],
        "typical_day": [
            "listen to what a client needs",
            "draw the architecture of a solution",
            "present the proposal",
            "guide the teams that build it",
            "follow what new AI services can do",
        ],
        "tools": ["a cloud platform (AWS, Google Cloud, Azure)", "APIs", "Docker", "diagrams"],
        "salary_low": 140_000,
        "salary_high": 280_000,
        "open_ended": True,
        "salary_note": "",
        "chapters": ["10", "11", "12"],
    },
    {
        "role": "AI ethics specialist",
        "area": AREAS[3],
        "what_they_do": "Make sure AI systems are built and used responsibly: fair, safe "
        "and within the rules.",
        "skills": ["ethics and law", "communication", "leadership", "research"],
        "interests": ["society", "people"],
        "typical_day": [
            "review a system for harms and bias",
            "write guidelines for responsible use",
            "advise teams on hard cases",
            "talk with people outside the company",
            "follow new research and regulation",
        ],
        "tools": ["model cards", "fairness toolkits (Fairlearn)", "risk assessments", "law texts"],
        "salary_low": 90_000,
        "salary_high": 180_000,
        "open_ended": True,
        "salary_note": "",
        "chapters": ["00", "04", "09"],
    },
    {
        "role": "data scientist (generative AI)",
        "area": AREAS[3],
        "what_they_do": "Use generative models to answer business questions with data.",
        "skills": [
            "data analysis",
            "machine learning",
            "programming",
            "domain knowledge",
            "communication",
        ],
        "interests": ["data", "discovering"],
        "typical_day": [
            "look for places in the data where AI could help",
            "train a generative model",
            "measure how good it is and improve it",
            "present what was found",
            "hand working models over to engineers",
        ],
        "tools": ["Python", "pandas", "scikit-learn", "SQL", "Jupyter", "Keras or PyTorch"],
        "salary_low": 110_000,
        "salary_high": 200_000,
        "open_ended": True,
        "salary_note": "",
        "chapters": ["00", "02", "04", "13"],
    },
    {
        "role": "AI consultant",
        "area": AREAS[4],
        "what_they_do": "Help organisations decide where generative AI helps them, and "
        "put it in place.",
        "skills": ["machine learning", "business", "communication", "project management"],
        "interests": ["people", "business"],
        "typical_day": [
            "meet possible clients and learn their needs",
            "write proposals and project plans",
            "build solutions with or for clients",
            "advise clients over time",
            "keep in touch with a wide network",
        ],
        "tools": ["slides", "notebook prototypes", "cloud AI services", "cost spreadsheets"],
        "salary_low": 150_000,
        "salary_high": 500_000,
        "open_ended": True,
        "salary_note": "the guide: varies by client base",
        "chapters": ["00", "09", "12"],
    },
    {
        "role": "AI startup founder",
        "area": AREAS[4],
        "what_they_do": "Start and grow a company whose product is built on generative AI.",
        "skills": ["business", "leadership", "machine learning", "communication"],
        "interests": ["business", "building"],
        "typical_day": [
            "decide where the company is going",
            "lead building the product",
            "raise money and talk to investors",
            "hire and lead the team",
            "find partners and customers",
        ],
        "tools": ["a pitch deck", "a spreadsheet of runway", "cloud credits", "a bit of all above"],
        "salary_low": 50_000,
        "salary_high": math.nan,
        "open_ended": True,
        "salary_note": "the guide: variable, from $50,000 to millions, depending on the company",
        "chapters": ["09", "10", "12"],
    },
)

ROLE_COLUMNS = (
    "role",
    "area",
    "what_they_do",
    "skills",
    "interests",
    "typical_day",
    "tools",
    "salary_low",
    "salary_high",
    "open_ended",
    "salary_note",
    "chapters",
)


def roles_table() -> pd.DataFrame:
    """The guide's ten roles, one row each (a fresh copy every call).

    Columns: ``role``, ``area`` (the guide's five groups), ``what_they_do``, ``skills`` (a
    list of :data:`SKILLS` tags), ``interests`` (a list of :data:`INTERESTS` tags),
    ``typical_day`` and ``tools`` (lists), ``salary_low`` and ``salary_high`` (the guide's
    figures, in its unnamed dollars a year; ``salary_high`` is NaN where the guide gives
    none), ``open_ended`` (the guide writes "+" after the top figure), ``salary_note`` and
    ``chapters`` (the course chapters closest to the role).
    """
    rows = [{key: (list(v) if isinstance(v, list) else v) for key, v in r.items()} for r in _ROLES]
    table = pd.DataFrame(rows, columns=list(ROLE_COLUMNS))
    return table.astype({"salary_low": "float64", "salary_high": "float64"})


def check_roles(roles, *, need=("role", "skills")) -> pd.DataFrame:
    """``roles`` if it is a roles table with the columns ``need``; a clear error otherwise."""
    if not isinstance(roles, pd.DataFrame):
        raise TypeError(
            f"roles must be a pandas DataFrame like careers.roles_table(); got {type(roles).__name__}"
        )
    missing = [c for c in need if c not in roles.columns]
    if missing:
        raise ValueError(
            f"roles must have the columns {list(need)}, like careers.roles_table(); "
            f"missing {missing}"
        )
    if "skills" in need:
        for name, tags in zip(roles["role"], roles["skills"]):
            if not isinstance(tags, (list, tuple)) or not all(isinstance(t, str) for t in tags):
                raise ValueError(
                    f"the skills of {name!r} must be a list of skill names; got {tags!r}"
                )
    return roles


def salary_ranges(roles=None) -> pd.DataFrame:
    """The guide's salary figures in long form, for a chart: one row per role and end.

    Columns ``role``, ``end`` ("lowest" or "highest") and ``dollars``; a role with no top
    figure (the founder's "to millions") has only its lowest row.
    """
    roles = check_roles(roles_table() if roles is None else roles, need=_SALARY_COLUMNS)
    long = roles.melt(
        id_vars="role",
        value_vars=["salary_low", "salary_high"],
        var_name="end",
        value_name="dollars",
    )
    long["end"] = long["end"].map({"salary_low": "lowest", "salary_high": "highest"})
    return long.dropna(subset=["dollars"]).reset_index(drop=True)


_SALARY_COLUMNS = ("role", "salary_low", "salary_high")


def roles_needing(roles, skill: str) -> list[str]:
    """The roles whose skills include ``skill`` (an exact tag), highest lowest salary first."""
    roles = check_roles(roles, need=("role", "skills", "salary_low"))
    if not isinstance(skill, str) or not skill:
        raise ValueError(f"skill must be one skill name (a non-empty str); got {skill!r}")
    has = roles[roles["skills"].apply(lambda tags: skill in tags)]
    return has.sort_values("salary_low", ascending=False)["role"].tolist()


# -- 2 · paths ------------------------------------------------------------------------------


# The guide's career ladder: level, years of experience, its example titles, what to show.
_LEVELS = (
    (
        "entry",
        "0-2",
        ("intern", "junior developer", "research assistant"),
        "or: a finished course with portfolio projects",
        "finished projects you can show and explain",
    ),
    (
        "mid",
        "2-5",
        ("AI software engineer", "data scientist", "AI product manager", "AI research engineer"),
        "",
        "features or results you owned from start to finish",
    ),
    (
        "senior",
        "5+",
        (
            "senior AI engineer",
            "AI research scientist",
            "AI product director",
            "principal engineer",
        ),
        "",
        "technical direction that others followed",
    ),
    (
        "leadership",
        "8+",
        (
            "AI engineering manager",
            "director of AI research",
            "VP of AI",
            "CTO",
            "chief AI officer",
        ),
        "",
        "teams and strategies that worked",
    ),
)


def career_levels() -> pd.DataFrame:
    """The guide's four career levels: years of experience, its example titles, what to show."""
    rows = [
        (level, years, ", ".join(titles) + (f"; {other}" if other else ""), show)
        for level, years, titles, other, show in _LEVELS
    ]
    return pd.DataFrame(
        rows, columns=["level", "years", "example titles (the guide's)", "what to show (ours)"]
    )


def education() -> pd.DataFrame:
    """The guide's advice on degrees, in our words."""
    return pd.DataFrame(
        [
            ("bachelor's", "computer science, mathematics, physics or a neighbouring subject"),
            ("master's", "recommended for research and advanced development"),
            ("PhD", "valued for research posts and an academic career"),
        ],
        columns=["degree", "the guide says"],
    )


RESOURCES_CHECKED = (
    "not checked: this chapter was written on 2026-11-29 on a machine with no web access, "
    "so no address below was opened. Check each one yourself before you rely on it."
)


def resources() -> pd.DataFrame:
    """The guide's learning resources, what it says each offers, and what we know of them."""
    unchecked = "not checked online (2026-11-29)"
    return pd.DataFrame(
        [
            ("Coursera", "machine-learning and deep-learning specialisations", unchecked),
            ("edX", "AI courses from MIT and Harvard", unchecked),
            ("Udacity", "project-based AI 'Nanodegree' programmes", unchecked),
            ("fast.ai", "practical deep learning for people who code", unchecked),
            (
                "Papers With Code",
                "recent papers next to their code",
                "not checked online; reported closed in July 2025, its address then led to "
                "Hugging Face's trending-papers page",
            ),
        ],
        columns=["resource", "the guide says it offers", "status"],
    )


def practice() -> pd.DataFrame:
    """The guide's kinds of practical experience, and where this course already gave some."""
    return pd.DataFrame(
        [
            ("personal projects", "build generative projects and share them", "chapters 00-04"),
            ("open source", "contribute to AI libraries", "course_lib is open to fixes"),
            ("competitions", "enter machine-learning contests (Kaggle)", "-"),
            ("writing", "publish a paper or a blog post", "write up a try-it result"),
            ("hackathons", "build something with others, fast", "a class project day"),
        ],
        columns=["practice", "what", "already in this course"],
    )


def industries() -> pd.DataFrame:
    """The guide's sectors, with its examples (company names are the guide's, unchecked)."""
    return pd.DataFrame(
        [
            ("technology", "big tech", "Google, Microsoft, Amazon, Apple, Meta"),
            ("technology", "AI start-ups", "OpenAI, Anthropic, Stability AI, Midjourney"),
            ("technology", "enterprise software", "Salesforce, Adobe, Autodesk"),
            ("creative", "advertising agencies", "campaigns made with AI"),
            ("creative", "film and entertainment", "visual effects and content"),
            ("creative", "games", "levels, characters and worlds generated by code"),
            ("creative", "art and design studios", "AI in the design workflow"),
            ("health and life sciences", "pharmaceutical companies", "drug discovery"),
            ("health and life sciences", "medical-device makers", "medical imaging"),
            ("health and life sciences", "research institutes", "biological research"),
            ("finance and consulting", "investment banks", "financial models and analysis"),
            ("finance and consulting", "consulting firms", "AI strategy and delivery"),
            ("finance and consulting", "fintech companies", "trading and risk"),
        ],
        columns=["sector", "kind of employer", "examples or uses (the guide's)"],
    )


# -- 3 · matching ---------------------------------------------------------------------------


def _level(value, name: str) -> float:
    return as_number(value, name, low=0.0, high=1.0)


def match_score(profile, role_skills) -> float:
    """How much of a role's skill set a learner has: a number from 0 to 1.

    ``profile`` maps skill names to levels from 0 (none) to 1 (strong); a list of names
    means level 1 for each. ``role_skills`` is the role's list of skills. The score is
    the mean, over the *role's* skills, of the learner's level (0 for a skill the
    learner does not list): skills the role does not need change nothing, and a role
    with many skills is not favoured over one with few.
    """
    profile = _as_levels(profile, "profile")
    if isinstance(role_skills, str) or not isinstance(role_skills, Iterable):
        raise ValueError(f"role_skills must be a list of skill names; got {role_skills!r}")
    role_skills = list(role_skills)
    if not role_skills or not all(isinstance(s, str) for s in role_skills):
        raise ValueError(f"role_skills must be a non-empty list of skill names; got {role_skills}")
    if len(set(role_skills)) != len(role_skills):
        raise ValueError(f"role_skills lists a skill twice: {role_skills}")
    return float(np.mean([profile.get(skill, 0.0) for skill in role_skills]))


def _as_levels(profile, name: str) -> dict[str, float]:
    """A profile as {skill: level in [0, 1]}; a list of names means level 1 each."""
    if isinstance(profile, Mapping):
        out = {}
        for skill, level in profile.items():
            if not isinstance(skill, str):
                raise ValueError(f"{name} keys must be skill names (str); got {skill!r}")
            out[skill] = _level(level, f"the level of {skill!r} in {name}")
        return out
    if isinstance(profile, str) or not isinstance(profile, Iterable):
        raise ValueError(
            f"{name} must be a dict {{skill: level from 0 to 1}} or a list of skill names; "
            f"got {profile!r}"
        )
    names = list(profile)
    if not all(isinstance(s, str) for s in names):
        raise ValueError(f"{name} must list skill names (str); got {names}")
    return dict.fromkeys(names, 1.0)


def _known(names, vocabulary: Mapping, what: str) -> None:
    for item in names:
        if item not in vocabulary:
            close = difflib.get_close_matches(item, list(vocabulary), n=1)
            hint = f" (did you mean {close[0]!r}?)" if close else ""
            raise ValueError(
                f"unknown {what} {item!r}{hint}; expected one of: {', '.join(vocabulary)}"
            )


def as_profile(skills) -> dict[str, float]:
    """A learner's skills as {skill: level}, every name checked against :data:`SKILLS`."""
    levels = _as_levels(skills, "skills")
    _known(levels, SKILLS, "skill")
    return levels


def as_interests(interests) -> list[str]:
    """A learner's interests as a list, every name checked against :data:`INTERESTS`."""
    if isinstance(interests, str) or not isinstance(interests, Iterable):
        raise ValueError(f"interests must be a list of interest names; got {interests!r}")
    chosen = list(dict.fromkeys(interests))
    if not all(isinstance(i, str) for i in chosen):
        raise ValueError(f"interests must be names (str); got {chosen}")
    _known(chosen, INTERESTS, "interest")
    return chosen


def interest_match(interests, role_interests) -> float:
    """Overlap of two sets of interests: shared ones / all named by either (0 to 1)."""
    chosen, theirs = set(interests), set(role_interests)
    return len(chosen & theirs) / len(chosen | theirs) if chosen | theirs else 0.0


RANKING_COLUMNS = ("role", "score", "skill_match", "interest_match", "you_have", "to_learn", "why")


def rank_roles(skills=(), interests=(), *, roles=None, interest_weight: float = 0.4):
    """Every role, best fit first, with the reasons.

    Args:
        skills: the learner's skills, as in :func:`as_profile` (names from
            :data:`SKILLS`, or a dict of levels from 0 to 1).
        interests: names from :data:`INTERESTS`.
        roles: a roles table (default :func:`roles_table`).
        interest_weight: how much the interests count, from 0 to 1, when both skills and
            interests are given. With only one of them, the score is that one's match.

    Returns a DataFrame with ``role``, ``score``, ``skill_match`` (:func:`match_score`),
    ``interest_match`` (:func:`interest_match`), ``you_have`` and ``to_learn`` (the role's
    skills you have, at level 0.5 or more, and the others) and ``why`` (one sentence).
    Ties keep the table's order.
    """
    profile = as_profile(skills)
    chosen = as_interests(interests)
    weight = as_number(interest_weight, "interest_weight", low=0.0, high=1.0)
    roles = check_roles(roles_table() if roles is None else roles, need=("role", "skills"))
    has_interests = "interests" in roles.columns
    if not any(profile.values()) and not chosen:
        raise ValueError(
            "pick at least one skill (with a level above 0) or one interest to rank the roles"
        )
    if not chosen:
        weight = 0.0
    elif not any(profile.values()):
        weight = 1.0
    rows = []
    for _, role in roles.iterrows():
        skill = match_score(profile, role["skills"])
        theirs = role["interests"] if has_interests else []
        liking = interest_match(chosen, theirs)
        have = [s for s in role["skills"] if profile.get(s, 0.0) >= 0.5]
        missing = [s for s in role["skills"] if profile.get(s, 0.0) < 0.5]
        rows.append(
            {
                "role": role["role"],
                "score": (1 - weight) * skill + weight * liking,
                "skill_match": skill,
                "interest_match": liking,
                "you_have": have,
                "to_learn": missing,
                "why": _why(have, missing, sorted(set(chosen) & set(theirs), key=chosen.index)),
            }
        )
    ranking = pd.DataFrame(rows, columns=list(RANKING_COLUMNS))
    order = ranking.sort_values("score", ascending=False, kind="stable").index
    return ranking.loc[order].reset_index(drop=True)


def _why(have: list[str], missing: list[str], shared: list[str]) -> str:
    parts = []
    if shared:
        parts.append("it fits your interest in " + " and ".join(shared))
    if have:
        parts.append("you bring " + ", ".join(have))
    if missing:
        parts.append("you would learn " + ", ".join(missing))
    text = "; ".join(parts) or "no overlap yet"
    return text[0].upper() + text[1:] + "."


class RoleExplorer:
    """Pick interests and skills, see the roles ranked with their reasons.

    Live (JupyterLab, Notebook 7, VS Code): one checkbox per interest and per skill, and
    the ranking redrawn as they change. Where no front end runs (a test run, ``nbconvert``,
    a notebook viewer), :meth:`show` displays the ranking for the skills and interests the
    explorer was made with, as a table. ``$COURSE_WIDGETS`` overrides the choice (see
    :func:`course_lib.widgets.display_mode`).
    """

    def __init__(self, skills=(), interests=(), *, roles=None, top: int = 5):
        self.skills = list(as_profile(skills))
        self.interests = as_interests(interests)
        self.roles = check_roles(roles_table() if roles is None else roles)
        self.top = as_int(top, "top")
        self._table = None

    def ranking(self) -> pd.DataFrame:
        """The best ``top`` roles for the current choice (an empty table if nothing is picked)."""
        if not self.skills and not self.interests:
            return pd.DataFrame(columns=list(RANKING_COLUMNS))
        ranked = rank_roles(self.skills, self.interests, roles=self.roles)
        return ranked.head(self.top)

    def set(self, *, skills=None, interests=None) -> pd.DataFrame:
        """Change the choice (as the checkboxes would) and return the new ranking."""
        if skills is not None:
            self.skills = list(as_profile(skills))
        if interests is not None:
            self.interests = as_interests(interests)
        ranking = self.ranking()
        if self._table is not None:
            self._table.value = _ranking_html(ranking)
        return ranking

    def widget(self):
        """The live explorer: checkboxes for interests and skills, and the ranking."""
        import ipywidgets as w

        def boxes(names, chosen, on_change):
            items = []
            for name in names:
                box = w.Checkbox(value=name in chosen, description=name, indent=False)
                box.observe(on_change, names="value")
                items.append(box)
            return items

        def chosen(items):
            return [box.description for box in items if box.value]

        def redraw(_change):
            self.set(skills=chosen(skill_boxes), interests=chosen(interest_boxes))

        interest_boxes = boxes(INTERESTS, self.interests, redraw)
        skill_boxes = boxes(SKILLS, self.skills, redraw)
        self._table = w.HTML(_ranking_html(self.ranking()))
        picks = w.VBox(
            [
                w.HTML("<b>I like</b>"),
                *interest_boxes,
                w.HTML("<b>I can</b>"),
                *skill_boxes,
            ],
            layout=w.Layout(min_width="220px"),
        )
        return w.HBox([picks, self._table])

    def show(self, mode: str = "auto"):
        """Display the live explorer, or the ranking table where widgets cannot be seen.

        ``mode`` is ``"auto"``, ``"live"`` or ``"static"`` (see
        :func:`course_lib.widgets.display_mode`).
        """
        mode = _mode(mode)
        from IPython.display import display

        if mode == LIVE:
            display(self.widget())
            return
        print(
            "No live widget front end here: the ranking for skills "
            f"{self.skills} and interests {self.interests}."
        )
        display(self.ranking())


def _mode(mode) -> str:
    if mode not in ("auto", LIVE, STATIC):
        raise ValueError(f"mode must be 'auto', 'live' or 'static'; got {mode!r}")
    return display_mode() if mode == "auto" else mode


def _ranking_html(ranking: pd.DataFrame) -> str:
    if ranking.empty:
        return "<i>Tick an interest or a skill.</i>"
    shown = ranking[["role", "score", "why"]].copy()
    shown["score"] = shown["score"].map("{:.0%}".format)
    return shown.to_html(index=False)


# -- 4 · the self-assessment -----------------------------------------------------------------

VERDICT_KEYS = ("notebook", "exercise", "status", "points", "max_points")


def read_verdicts(log=None, *, student: str | None = None) -> list[dict]:
    """The exercise verdicts one learner's checks wrote to a grading log, oldest first.

    Args:
        log: the file ``COURSE_GRADING_LOG`` named (one JSON object a line, as
            :mod:`course_lib.grading` writes them); None reads ``$COURSE_GRADING_LOG``.
            A log that does not exist (or none named) gives an empty list.
        student: whose verdicts; None means ``$COURSE_STUDENT``, else every verdict in
            the log. Without ``COURSE_STUDENT``, grading names the student after the
            notebook file, so such verdicts count as one learner's; a log that names
            several students then needs ``student``.
    """
    if log is None:
        log = os.environ.get("COURSE_GRADING_LOG", "").strip() or None
        if log is None:
            return []
    if not isinstance(log, (str, os.PathLike)):
        raise TypeError(f"log must be the path of a grading log (str or Path); got {log!r}")
    path = Path(log)
    if path.is_dir():
        raise ValueError(f"log must be a file of JSON lines; {path} is a folder")
    if not path.is_file():
        return []
    rows = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except ValueError:
            row = None
        if not isinstance(row, dict) or any(key not in row for key in VERDICT_KEYS):
            raise ValueError(
                f"line {number} of {path} is not a verdict: expected a JSON object with "
                f"{', '.join(VERDICT_KEYS)} (as course_lib.grading writes); got {line[:80]!r}"
            )
        rows.append(row)
    if student is None:
        student = os.environ.get("COURSE_STUDENT", "").strip() or None
    if student is None:
        named = list(dict.fromkeys(str(r.get("student", "")) for r in rows if not _anonymous(r)))
        if len(named) > 1:
            raise ValueError(
                f"{path} holds the verdicts of several students {named}: pass student=..."
            )
        return rows
    if not isinstance(student, str):
        raise ValueError(f"student must be a name (str); got {student!r}")
    return [r for r in rows if str(r.get("student", "")) == student]


def _anonymous(row: Mapping) -> bool:
    """A verdict written without ``COURSE_STUDENT``: grading names it after the notebook."""
    name = str(row.get("student", ""))
    return name in ("", "unknown") or name.startswith(str(row.get("notebook", "")))


def chapter_scores(verdicts) -> dict[str, float]:
    """Points earned / points possible per notebook, from each exercise's latest verdict.

    ``verdicts`` are rows as :func:`read_verdicts` returns them, oldest first. A check
    that ran several times counts once, with its last verdict (what the notebook does
    now). The same exercise name in two notebooks is two exercises.
    """
    latest = {}
    for row in _as_rows(verdicts):
        latest[(row["notebook"], row["exercise"])] = row
    earned, possible = {}, {}
    for (notebook, _), row in latest.items():
        earned[notebook] = earned.get(notebook, 0.0) + float(row["points"])
        possible[notebook] = possible.get(notebook, 0.0) + float(row["max_points"])
    return {nb: earned[nb] / possible[nb] if possible[nb] else 0.0 for nb in earned}


def _as_rows(verdicts) -> list[dict]:
    if isinstance(verdicts, (str, bytes, Mapping)) or not isinstance(verdicts, Iterable):
        raise ValueError(
            f"verdicts must be a list of verdict dicts (see read_verdicts); got {verdicts!r}"
        )
    rows = list(verdicts)
    for row in rows:
        if not isinstance(row, Mapping) or any(key not in row for key in VERDICT_KEYS):
            raise ValueError(
                f"each verdict must be a dict with {', '.join(VERDICT_KEYS)}; got {row!r}"
            )
        for key in ("points", "max_points"):
            if isinstance(row[key], bool) or not isinstance(row[key], Real) or row[key] < 0:
                raise ValueError(f"a verdict's {key} must be a number >= 0; got {row!r}")
    return rows


def check_registries() -> dict[str, object]:
    """Every chapter's exercise registry, by notebook stem: ``course_lib.checks.chNN.exercise``."""
    from course_lib import checks

    found = {}
    for info in sorted(pkgutil.iter_modules(checks.__path__), key=lambda m: m.name):
        if re.fullmatch(r"ch\d\d", info.name):
            module = importlib.import_module(f"course_lib.checks.{info.name}")
            registry = getattr(module, "exercise", None)
            if registry is not None:
                found[registry.notebook] = registry
    return found


# The skills each chapter practises (by chapter number), for the self-assessment.
CHAPTER_SKILLS: dict[str, tuple[str, ...]] = {
    "00": ("math", "machine learning", "programming"),
    "01": ("machine learning", "programming", "math"),
    "02": ("math", "machine learning", "data analysis"),
    "03": ("math", "machine learning", "programming"),
    "04": ("machine learning", "programming", "research"),
    "05": ("creative tools", "machine learning"),
    "06": ("art and design", "creative tools", "programming"),
    "07": ("creative tools", "programming"),
    "08": ("art and design", "creative tools"),
    "09": ("art and design", "creative tools", "product"),
    "10": ("software engineering", "project management", "programming"),
    "11": ("software engineering", "deployment", "programming"),
    "12": ("system design", "deployment", "business"),
    "13": ("data analysis", "programming"),
}

REVISIT_BELOW = 0.75  # a chapter with a smaller share of its points is worth a second look


@dataclass(frozen=True)
class Question:
    """One quiz question: the right option is ``options[answer]``."""

    chapter: str  # notebook stem
    topic: str
    text: str
    options: tuple[str, ...]
    answer: int
    see: str  # a heading of the chapter notebook that explains it


QUIZ: tuple[Question, ...] = (
    Question(
        "00_what_is_generative_ai",
        "what sampling is",
        "A generative model is trained. What does sampling from it do?",
        (
            "picks one of the training examples at random",
            "makes a new example that fits the patterns it learned",
            "measures how wrong the model is",
        ),
        1,
        "3 · How it works, in four steps",
    ),
    Question(
        "00_what_is_generative_ai",
        "batches in an epoch",
        "1,000 examples, batch size 300. How many batches make one epoch?",
        ("3", "4", "300"),
        1,
        "Epoch, batch and batch size, live",
    ),
    Question(
        "01_gans",
        "the discriminator",
        "In a GAN, what does the discriminator learn?",
        (
            "to draw new images",
            "to tell real images from generated ones",
            "to squeeze images into short codes",
        ),
        1,
        "3 · How it works",
    ),
    Question(
        "02_vaes",
        "the KL term",
        "What does the KL term of a VAE's loss do?",
        (
            "keeps the codes near a standard normal, so random codes decode to sensible images",
            "makes the decoded images sharper",
            "counts how many pixels are wrong",
        ),
        0,
        "3 · How it works",
    ),
    Question(
        "03_diffusion",
        "how diffusion draws",
        "How does a diffusion model make a new image?",
        (
            "in one pass of a decoder",
            "by copying parts of training images",
            "by removing noise from pure noise, a little at each step",
        ),
        2,
        "1 · The simple explanation",
    ),
    Question(
        "04_gpt_text_generation",
        "the causal mask",
        "What does the causal mask in a GPT stop?",
        (
            "a position from looking at the tokens after it",
            "the model from repeating a word",
            "tokens longer than one character",
        ),
        0,
        "3.2 Attention, and the mask",
    ),
    Question(
        "04_gpt_text_generation",
        "temperature",
        "You raise the sampling temperature from 1 to 2. The text gets ...",
        ("more varied and more error-prone", "more repetitive", "shorter"),
        0,
        "Writing: temperature, top-k and top-p",
    ),
)


def score_quiz(answers) -> dict[str, float]:
    """Share of right answers per chapter notebook, from ``{question number: letter}``.

    Questions are numbered from 1 as in :data:`QUIZ`; a letter is ``"a"``, ``"b"`` or
    ``"c"`` (an option's index 0, 1, 2 works too). A question left out counts as wrong.
    """
    picked = _quiz_answers(answers)
    right, asked = {}, {}
    for number, question in enumerate(QUIZ, 1):
        asked[question.chapter] = asked.get(question.chapter, 0) + 1
        good = picked.get(number) == question.answer
        right[question.chapter] = right.get(question.chapter, 0) + good
    return {chapter: right[chapter] / asked[chapter] for chapter in asked}


def _quiz_answers(answers) -> dict[int, int]:
    if not isinstance(answers, Mapping):
        raise ValueError(
            f"answers must be a dict {{question number: 'a', 'b' or 'c'}}; got {answers!r}"
        )
    out = {}
    for number, choice in answers.items():
        if isinstance(number, bool) or not isinstance(number, int) or not 1 <= number <= len(QUIZ):
            raise ValueError(f"quiz questions are numbered 1 to {len(QUIZ)}; got {number!r}")
        options = QUIZ[number - 1].options
        letters = "abcdefgh"[: len(options)]
        if (
            isinstance(choice, str)
            and len(choice.strip()) == 1
            and choice.strip().lower() in letters
        ):
            out[number] = letters.index(choice.strip().lower())
        elif (
            isinstance(choice, int) and not isinstance(choice, bool) and 0 <= choice < len(options)
        ):
            out[number] = choice
        elif choice is not None:
            raise ValueError(
                f"the answer to question {number} must be one of {list(letters)}; got {choice!r}"
            )
    return out


class Quiz:
    """The short quiz, with radio buttons where a front end runs.

    ``answers`` starts as the dict given and follows the buttons as they are clicked.
    """

    def __init__(self, answers=None):
        answers = {} if answers is None else answers
        _quiz_answers(answers)  # refuse bad ones now
        self.answers = dict(answers)

    def widget(self):
        import ipywidgets as w

        rows = []
        for number, question in enumerate(QUIZ, 1):
            choices = [(f"{'abc'[i]}) {text}", "abc"[i]) for i, text in enumerate(question.options)]
            current = self.answers.get(number)
            if isinstance(current, int):
                current = "abc"[current]
            buttons = w.RadioButtons(options=choices, value=current, layout=w.Layout(width="auto"))

            def pick(change, number=number):
                self.answers[number] = change["new"]

            buttons.observe(pick, names="value")
            rows += [w.HTML(f"<b>{number}. {question.text}</b>"), buttons]
        return w.VBox(rows)

    def text(self) -> str:
        lines = []
        for number, question in enumerate(QUIZ, 1):
            lines.append(f"{number}. {question.text}")
            picked = _quiz_answers(self.answers).get(number)
            for i, option in enumerate(question.options):
                mark = "(x)" if picked == i else "( )"
                lines.append(f"   {mark} {'abc'[i]}) {option}")
        return "\n".join(lines)

    def show(self, mode: str = "auto"):
        """Display the radio buttons, or the questions as text with the answers marked."""
        mode = _mode(mode)
        if mode == LIVE:
            from IPython.display import display

            display(self.widget())
            return
        print("No live widget front end here: the questions, with the answers given marked (x).")
        print(self.text())


@dataclass
class Assessment:
    """What :func:`self_assessment` found.

    ``source`` says where the scores came from; ``chapters`` has one row per chapter
    (``chapter``, ``score``, ``revisit``: the exercises or quiz topics not yet right,
    ``read``: where the chapter explains the first of them), worst first; ``skills`` the
    estimated level of each skill the course measures; ``roles`` the roles ranked by
    those skills (:func:`rank_roles`).
    """

    source: str
    chapters: pd.DataFrame
    skills: dict[str, float]
    roles: pd.DataFrame

    @property
    def to_revisit(self) -> list[str]:
        """The chapters below :data:`REVISIT_BELOW`, worst first."""
        return self.chapters.loc[self.chapters["score"] < REVISIT_BELOW, "chapter"].tolist()

    def summary(self) -> str:
        revisit = ", ".join(self.to_revisit) or "none: every chapter is at 75 % or more"
        roles = ", ".join(self.roles["role"].head(3)) or "none yet (no skill above 0)"
        skills = ", ".join(f"{s} {v:.0%}" for s, v in self.skills.items())
        return (
            f"From {self.source}.\n"
            f"Chapters to revisit: {revisit}.\n"
            f"Skills the course measured: {skills}.\n"
            f"Roles these skills fit best: {roles}."
        )


def _where(notebook: str, heading: str) -> str:
    from course_lib.grading import find_cell

    cell = find_cell(notebook, heading)
    at = f", cell {cell}" if cell is not None else ""
    return f'notebooks/{notebook}.ipynb{at} ("{heading}")'


def skills_from_chapters(scores: Mapping[str, float]) -> dict[str, float]:
    """Each skill's level: the mean score of the chapters (by notebook stem) that practise it.

    Skills no scored chapter practises are left out (unknown, not zero).
    """
    levels: dict[str, list[float]] = {}
    for notebook, score in scores.items():
        score = _level(score, f"the score of {notebook!r}")
        for skill in CHAPTER_SKILLS.get(str(notebook)[:2], ()):
            levels.setdefault(skill, []).append(score)
    return {skill: float(np.mean(values)) for skill, values in levels.items()}


def _log_chapters(verdicts: list[dict]) -> pd.DataFrame:
    latest = {(r["notebook"], r["exercise"]): r for r in verdicts}
    rows = []
    for notebook, registry in check_registries().items():
        earned, possible, revisit = 0.0, 0.0, []
        for name, spec in registry.specs.items():
            row = latest.get((notebook, name))
            possible += spec.points
            if row is not None and row["status"] == "passed":
                earned += float(row["points"])
            else:
                revisit.append((name, spec.see))
        rows.append(
            {
                "chapter": notebook,
                "score": earned / possible if possible else 0.0,
                "checked": sum((notebook, n) in latest for n in registry.specs),
                "exercises": len(registry.specs),
                "revisit": [name for name, _ in revisit],
                "read": _where(notebook, revisit[0][1]) if revisit else "",
            }
        )
    return pd.DataFrame(rows)


def _quiz_chapters(answers) -> pd.DataFrame:
    picked = _quiz_answers(answers)
    scores = score_quiz(answers)
    rows = []
    for notebook, score in scores.items():
        wrong = [
            (n, q)
            for n, q in enumerate(QUIZ, 1)
            if q.chapter == notebook and picked.get(n) != q.answer
        ]
        rows.append(
            {
                "chapter": notebook,
                "score": score,
                "checked": sum(
                    q.chapter == notebook and n in picked for n, q in enumerate(QUIZ, 1)
                ),
                "exercises": sum(q.chapter == notebook for q in QUIZ),
                "revisit": [f"question {n}: {q.topic}" for n, q in wrong],
                "read": _where(notebook, wrong[0][1].see) if wrong else "",
            }
        )
    return pd.DataFrame(rows)


def self_assessment(log=None, *, student: str | None = None, quiz=None) -> Assessment:
    """Where a learner stands: chapters to revisit and the roles their skills fit.

    The learner's exercise verdicts in the grading log come first (``log`` and
    ``student`` as in :func:`read_verdicts`): every chapter with graded exercises is
    scored by the points of its exercises' latest verdicts, with exercises never checked
    counting 0. Without verdicts, ``quiz`` (answers to :data:`QUIZ`, as in
    :func:`score_quiz`) is scored instead. Raises ValueError when there is neither.
    """
    verdicts = read_verdicts(log, student=student)
    if verdicts:
        _as_rows(verdicts)
        where = log if log is not None else os.environ.get("COURSE_GRADING_LOG")
        who = student or os.environ.get("COURSE_STUDENT", "").strip()
        who = repr(who) if who else "this learner"
        source = f"{len(verdicts)} verdicts of {who} in the grading log {where}"
        chapters = _log_chapters(verdicts)
    elif quiz is not None:
        chapters = _quiz_chapters(quiz)
        source = f"the quiz ({len(_quiz_answers(quiz))} of {len(QUIZ)} questions answered)"
    else:
        named = log if log is not None else os.environ.get("COURSE_GRADING_LOG") or "none named"
        raise ValueError(
            f"no verdicts to assess (grading log: {named}) and no quiz answers: pass quiz="
            "{question number: 'a', 'b' or 'c'}, or run the exercise notebooks with "
            "COURSE_GRADING_LOG set"
        )
    chapters = chapters.sort_values("score", kind="stable").reset_index(drop=True)
    skills = skills_from_chapters(dict(zip(chapters["chapter"], chapters["score"])))
    if any(skills.values()):
        roles = rank_roles(skills)
    else:  # nothing right yet: no skill to match on
        roles = pd.DataFrame(columns=list(RANKING_COLUMNS))
    return Assessment(source, chapters, skills, roles)


# -- 5 · the portfolio -------------------------------------------------------------------------

ARTEFACT_KINDS = {
    ".png": "picture",
    ".jpg": "picture",
    ".jpeg": "picture",
    ".svg": "picture or sheet music",
    ".gif": "animation",
    ".mid": "MIDI music",
    ".midi": "MIDI music",
    ".wav": "sound",
    ".mp3": "sound",
    ".ogg": "sound",
    ".flac": "sound",
    ".mp4": "video",
    ".webm": "video",
    ".pdf": "poster or document",
}
PORTFOLIO_COLUMNS = ("chapter", "mode", "run", "kind", "what", "path", "modified")


def portfolio(runs_dir=None) -> pd.DataFrame:
    """What the learner's runs produced, with where to find each.

    Looks in ``runs_dir`` (default: ``$COURSE_RUNS_DIR``, else ``runs/`` at the top of the
    course; see :mod:`course_lib.train`, whose runs live in ``<mode>/<name>/<id>/``) for

    * trained models: every run folder with a ``state.json`` (how many epochs, the last
      loss, whether it is the run the chapter loads now);
    * artefacts saved anywhere below it: pictures, animations, MIDI, sounds, videos,
      posters (by file extension, see :data:`ARTEFACT_KINDS`).

    Returns one row per item (columns :data:`PORTFOLIO_COLUMNS`), by chapter; an empty
    table when the folder is empty or missing. ``chapter`` comes from a run name that
    starts ``chNN_``.
    """
    if runs_dir is None:
        from course_lib.train import runs_dir as default_runs_dir

        runs_dir = default_runs_dir()
    if not isinstance(runs_dir, (str, os.PathLike)):
        raise TypeError(f"runs_dir must be a folder path (str or Path); got {runs_dir!r}")
    base = Path(runs_dir)
    if base.exists() and not base.is_dir():
        raise ValueError(f"runs_dir must be a folder; {base} is a file")
    rows = []
    if base.is_dir():
        for state in sorted(base.rglob("state.json")):
            rows.append(_run_row(base, state.parent))
        for path in sorted(p for p in base.rglob("*") if p.suffix.lower() in ARTEFACT_KINDS):
            if path.is_file():
                rows.append(_file_row(base, path))
    table = pd.DataFrame(rows, columns=list(PORTFOLIO_COLUMNS))
    return table.sort_values(["chapter", "run", "kind"], kind="stable").reset_index(drop=True)


def _place(base: Path, path: Path) -> tuple[str, str, str]:
    """(chapter, mode, run name) of a path inside the runs folder."""
    parts = path.relative_to(base).parts
    mode = parts[0] if parts and parts[0] in ("quick", "full") else ""
    run = parts[1] if mode and len(parts) > 1 else (parts[0] if parts else "")
    match = re.match(r"ch(\d\d)_", run)
    return (match.group(1) if match else ""), mode, run


def _shown_path(path: Path) -> str:
    try:
        return str(path.resolve().relative_to(_ROOT))
    except ValueError:
        return str(path)


def _modified(path: Path) -> str:
    stamp = datetime.fromtimestamp(path.stat().st_mtime, tz=timezone.utc)
    return stamp.strftime("%Y-%m-%d %H:%M UTC")


def _run_row(base: Path, folder: Path) -> dict:
    chapter, mode, run = _place(base, folder)
    try:
        state = json.loads((folder / "state.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        state = {}
    history = state.get("history") or {}
    loss = history.get("loss") or next(iter(history.values()), [])
    what = f"trained model, {state.get('epoch', '?')} of {state.get('target_epochs', '?')} epochs"
    if loss:
        what += f", last loss {loss[-1]:.4g}"
    pointer = folder.parent / "latest.txt"
    if pointer.is_file() and pointer.read_text().strip() == folder.name:
        what += " (the run its chapter loads now)"
    return {
        "chapter": chapter,
        "mode": mode,
        "run": run,
        "kind": "trained model",
        "what": what,
        "path": _shown_path(folder),
        "modified": _modified(folder / "state.json"),
    }


def _file_row(base: Path, path: Path) -> dict:
    chapter, mode, run = _place(base, path)
    size = path.stat().st_size
    return {
        "chapter": chapter,
        "mode": mode,
        "run": run,
        "kind": ARTEFACT_KINDS[path.suffix.lower()],
        "what": f"{path.name}, {size / 1024:.0f} KiB",
        "path": _shown_path(path),
        "modified": _modified(path),
    }


# -- 6 · a last generative model: job titles ---------------------------------------------------


class TitleModel:
    """Which word follows which in a list of job titles: p(next word | this word).

    A bigram model, trained by counting (chapter 04's baseline, with words instead of
    characters). Every title starts after :attr:`START` and ends with :attr:`END`; the
    vocabulary (:attr:`vocab`) holds every word and :attr:`END`.
    """

    START, END = "<start>", "<end>"

    def __init__(self, titles):
        if isinstance(titles, str) or not isinstance(titles, Iterable):
            raise ValueError(f"titles must be a list of job titles (str); got {titles!r}")
        titles = list(titles)
        if not titles or not all(isinstance(t, str) and t.split() for t in titles):
            raise ValueError("titles must be a non-empty list of non-empty job titles (str)")
        self.titles = titles
        words = sorted({w for t in titles for w in t.split()})
        if {self.START, self.END} & set(words):
            raise ValueError(f"a title may not contain the words {self.START} or {self.END}")
        self.vocab = [*words, self.END]
        self._index = {w: i for i, w in enumerate(self.vocab)}
        rows = [self.START, *words]
        self._row = {w: i for i, w in enumerate(rows)}
        self.counts = np.zeros((len(rows), len(self.vocab)))
        for title in titles:
            sequence = [self.START, *title.split(), self.END]
            for word, after in zip(sequence[:-1], sequence[1:]):
                self.counts[self._row[word], self._index[after]] += 1

    def next_probs(self, word: str) -> np.ndarray:
        """The probability of each word of :attr:`vocab` coming right after ``word``."""
        if word == self.END:
            raise ValueError(f"nothing comes after {self.END!r}: a title stops when it is drawn")
        if word not in self._row:
            raise ValueError(
                f"{word!r} is not a word of the titles (or {self.START!r}); expected one of "
                f"{[self.START, *self.vocab[:-1]][:12]}..."
            )
        row = self.counts[self._row[word]]
        return row / row.sum()


def job_titles(roles=None) -> list[str]:
    """The job titles in the guide: its ten roles and the titles of its career ladder.

    A role named "A / B" gives two titles; words in brackets are left out.
    """
    roles = check_roles(roles_table() if roles is None else roles, need=("role",))
    titles = []
    for role in roles["role"]:
        titles += [re.sub(r"\(.*?\)", "", part) for part in str(role).split("/")]
    titles += [title for level in _LEVELS for title in level[2]]
    return [" ".join(t.split()) for t in titles if t.split()]


def drawer(seed=None):
    """``draw(probs)``: picks an index with the given probabilities, from its own generator.

    ``probs`` must be one row of numbers >= 0 that add up to 1.
    """
    rng = np.random.default_rng(as_seed(seed))

    def draw(probs) -> int:
        p = np.asarray(probs, dtype=np.float64)
        if p.ndim != 1 or len(p) == 0 or not np.all(np.isfinite(p)) or np.any(p < 0):
            raise ValueError(f"draw expects one row of probabilities >= 0; got {probs!r}")
        if not np.isclose(p.sum(), 1.0, atol=1e-6):
            raise ValueError(
                f"draw expects probabilities that add up to 1; these add up to {p.sum():.4g}"
            )
        return int(rng.choice(len(p), p=p / p.sum()))

    return draw


def invent_title(model: TitleModel, draw, max_words: int = 6, temperature: float = 1.0) -> str:
    """Write one job title, a word at a time: the generation loop.

    Start after ``model.START``; at each step take ``model.next_probs`` of the last word,
    sharpen (temperature < 1) or flatten (> 1) them as ``p ** (1 / temperature)``,
    normalised, and let ``draw(probs)`` pick the next word's index in ``model.vocab``.
    Stop at ``model.END`` (which is not part of the title) or after ``max_words`` words.
    """
    if not isinstance(model, TitleModel):
        raise TypeError(f"model must be a careers.TitleModel; got {type(model).__name__}")
    if not callable(draw):
        raise TypeError("draw must be a function probs -> index (see careers.drawer)")
    max_words = as_int(max_words, "max_words")
    temperature = as_number(temperature, "temperature", low=0.0, low_open=True)
    word, words = model.START, []
    for _ in range(max_words):
        probs = model.next_probs(word) ** (1.0 / temperature)
        probs = probs / probs.sum()
        word = model.vocab[draw(probs)]
        if word == model.END:
            break
        words.append(word)
    return " ".join(words)


# -- 7 · the course's chapters ----------------------------------------------------------------


def chapter_notebooks() -> pd.DataFrame:
    """The chapter notebooks that exist now: ``number``, ``file`` and ``title`` (its heading)."""
    rows = []
    for path in sorted((_ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb")):
        title = path.stem
        try:
            cells = json.loads(path.read_text(encoding="utf-8"))["cells"]
            for cell in cells:
                source = "".join(cell.get("source", ""))
                heading = re.search(r"^#\s+(.+)$", source, re.MULTILINE)
                if cell.get("cell_type") == "markdown" and heading:
                    title = heading.group(1).strip()
                    break
        except (OSError, ValueError, KeyError):
            pass
        rows.append({"number": path.name[:2], "file": path.name, "title": title})
    return pd.DataFrame(rows, columns=["number", "file", "title"])
