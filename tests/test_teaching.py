"""The teacher's guide, docs/teaching.md, has a complete section for every chapter notebook.

Chapters come from ``notebooks/NN_*.ipynb``, so adding a chapter without its section in
the guide fails here. Each section is a level-2 heading ``## NN · <the notebook's title>``
with four subsections; its list of try-it answers is at least as long as the notebook's
list of "Try it" prompts. No notebook is executed.
"""

import json
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
GUIDE = ROOT / "docs" / "teaching.md"
CHAPTERS = sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))

PLAN = "Plan for a 90-minute class"
DISCUSSION = "Discussion questions"
MISCONCEPTIONS = "Common misconceptions"
ANSWERS = "Answers to the try-it prompts"
SUBSECTIONS = (PLAN, DISCUSSION, MISCONCEPTIONS, ANSWERS)

_HEADING = re.compile(r"^(#{1,6})\s+(.*?)\s*#*\s*$")
_NUMBERED = re.compile(r"^\d+\.\s")  # a top-level item of a numbered list
_TRY_IT = re.compile(r"try it", re.IGNORECASE)
_LADDER_STEP = re.compile(r"\d+\s*·\s*try it", re.IGNORECASE)  # "6 · try it" in the ladder


def markdown_sources(path: Path) -> list[str]:
    """The text of every Markdown cell of a notebook, in order."""
    cells = json.loads(path.read_text(encoding="utf-8"))["cells"]
    return [
        "".join(cell["source"]) if isinstance(cell["source"], list) else cell["source"]
        for cell in cells
        if cell["cell_type"] == "markdown"
    ]


def notebook_title(path: Path) -> str:
    """The notebook's first heading, e.g. ``00 · What is generative AI?``."""
    for source in markdown_sources(path):
        for line in source.splitlines():
            match = _HEADING.match(line)
            if match:
                return match.group(2)
    raise AssertionError(f"{path.name} has no heading")


def count_try_it_prompts(sources: list[str]) -> int:
    """How many "Try it" prompts these Markdown cells hold.

    Under a heading that says "Try it", each top-level numbered item is one prompt (until
    the next heading). Elsewhere, each "try it" in the text is one prompt, except in
    headings and in the chapter ladder's "6 · try it".
    """
    count, in_section = 0, False
    for source in sources:
        for line in source.splitlines():
            heading = _HEADING.match(line)
            if heading:
                in_section = bool(_TRY_IT.search(heading.group(2)))
            elif in_section:
                count += bool(_NUMBERED.match(line))
            else:
                count += len(_TRY_IT.findall(_LADDER_STEP.sub("", line)))
    return count


def split_by_heading(text: str, level: int) -> dict[str, str]:
    """Headings of exactly ``level`` mapped to the text under them (up to the next one)."""
    marker = re.compile(rf"^{'#' * level}\s+(.*?)\s*$", re.MULTILINE)
    matches = list(marker.finditer(text))
    return {
        match.group(1): text[match.end() : matches[i + 1].start() if i + 1 < len(matches) else None]
        for i, match in enumerate(matches)
    }


def numbered_items(text: str) -> int:
    return sum(bool(_NUMBERED.match(line)) for line in text.splitlines())


def chapter_sections() -> dict[str, tuple[str, str]]:
    """``{"00": (title, body), ...}`` for every ``## NN · title`` section of the guide."""
    out = {}
    for heading, body in split_by_heading(GUIDE.read_text(encoding="utf-8"), 2).items():
        match = re.fullmatch(r"(\d\d) · (.+)", heading)
        if match:
            assert match.group(1) not in out, f"two sections for chapter {match.group(1)}"
            out[match.group(1)] = (match.group(2), body)
    return out


def test_guide_exists():
    assert GUIDE.is_file(), "docs/teaching.md is missing"


def test_there_are_chapters():
    assert len(CHAPTERS) >= 5, "expected the chapter notebooks 00-04 in notebooks/"


def test_every_section_has_a_chapter():
    numbers = {path.name[:2] for path in CHAPTERS}
    extra = sorted(set(chapter_sections()) - numbers)
    assert not extra, f"docs/teaching.md has sections for chapters with no notebook: {extra}"


@pytest.mark.parametrize("notebook", CHAPTERS, ids=lambda path: path.stem)
def test_chapter_section(notebook):
    number = notebook.name[:2]
    sections = chapter_sections()
    assert number in sections, f"docs/teaching.md has no '## {number} · …' section"
    title, body = sections[number]
    expected = notebook_title(notebook)
    assert f"{number} · {title}" == expected, (
        f"section titled {title!r}; the notebook: {expected!r}"
    )

    parts = split_by_heading(body, 3)
    for name in SUBSECTIONS:
        assert name in parts, f"chapter {number}: no '### {name}' subsection"
    assert re.search(r"^\|\s*minutes\s*\|", parts[PLAN], re.MULTILINE | re.IGNORECASE), (
        f"chapter {number}: the plan has no timed table (a '| minutes |' column)"
    )
    for name in (DISCUSSION, MISCONCEPTIONS):
        assert 3 <= numbered_items(parts[name]) <= 5, f"chapter {number}: 3-5 {name.lower()}"

    prompts = count_try_it_prompts(markdown_sources(notebook))
    assert prompts >= 1, f"{notebook.name}: no 'Try it' prompts found (has the format changed?)"
    answers = numbered_items(parts[ANSWERS])
    assert answers >= prompts, f"chapter {number}: {answers} answers for {prompts} prompts"


def test_try_it_counting():
    sources = [
        "# 09 · A chapter\n\n1 · the explanation → 6 · try it → 7 · the guide",
        "## 5 · Variants\n\n* **eta**: more noise; try it with `eta=1`.",
        "## 6 · Try it\n\n1. First.\n   More of the first.\n2. Second.\n\n**Graded:** open it.",
        "Still the try-it section:\n\n3. Third.",
        "## 7 · The guide's version\n\n1. Not a prompt.",
    ]
    assert count_try_it_prompts(sources) == 4
