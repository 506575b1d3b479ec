"""Tests of tools/site.py (the course as static web pages) and of COURSE_REQUIRE_RUNS.

The pieces are tested on tiny synthetic notebooks; the tests marked ``site`` build the
real course once (quick mode, a few minutes) and check its pages, and, where Playwright
and Chromium are installed, open every page in a browser.
"""

import importlib.util
import os
import re
import sys
import time
from pathlib import Path

import keras
import nbformat
import numpy as np
import pytest
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

from course_lib import train
from tests.browser import chromium, console_errors

ROOT = Path(__file__).resolve().parents[1]


def _load_site():
    spec = importlib.util.spec_from_file_location("course_site", ROOT / "tools" / "site.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up while it loads
    spec.loader.exec_module(module)
    return module


site = _load_site()

PNG = 'src="data:image/png;base64,'
FIGURE = (
    "import matplotlib.pyplot as plt\nplt.plot([0, 1, 4], 'o-')\nplt.title('a figure')\nplt.show()"
)


def write_notebook(folder: Path, name: str, heading: str, *cells: str) -> Path:
    nb = new_notebook(
        cells=[new_markdown_cell(f"# {heading}\n\nSome words.")]
        + [new_code_cell(source) for source in cells]
    )
    nb.metadata["kernelspec"] = {
        "name": "python3",
        "display_name": "Python 3",
        "language": "python",
    }
    path = folder / name
    nbformat.write(nb, path)
    return path


# -- COURSE_REQUIRE_RUNS: fit_resumable loads finished runs, never trains -------------------


@pytest.fixture
def tiny(runs, monkeypatch):
    """A tiny compiled model and its data; a fresh runs folder in quick mode (``runs``)."""
    monkeypatch.delenv("COURSE_REQUIRE_RUNS", raising=False)
    keras.utils.set_random_seed(0)
    rng = np.random.default_rng(0)
    x = rng.standard_normal((32, 3)).astype("float32")
    y = x @ np.array([[1.0], [-2.0], [0.5]], dtype="float32")

    def make():
        keras.utils.set_random_seed(0)
        model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(1)])
        model.compile(optimizer=keras.optimizers.SGD(0.1), loss="mse")
        return model

    return make, x, y


def test_required_run_missing_raises_before_writing_anything(tiny, monkeypatch):
    make, x, y = tiny
    monkeypatch.setenv("COURSE_REQUIRE_RUNS", "1")
    assert train.runs_required()
    with pytest.raises(train.RunMissingError, match="run 'tiny'") as caught:
        train.fit_resumable(make(), x, y, name="tiny", epochs=1, batch_size=8, verbose=0)
    assert isinstance(caught.value, RuntimeError)
    assert "COURSE_REQUIRE_RUNS" in str(caught.value)
    assert not train.run_folder("tiny").exists()  # nothing trained, nothing written


def test_required_run_loads_once_trained(tiny, monkeypatch, capsys):
    make, x, y = tiny
    trained = train.fit_resumable(make(), x, y, name="tiny", epochs=2, batch_size=8, verbose=0)
    monkeypatch.setenv("COURSE_REQUIRE_RUNS", "1")
    capsys.readouterr()
    model = make()
    loaded = train.fit_resumable(model, x, y, name="tiny", epochs=2, batch_size=8, verbose=0)
    assert loaded == trained
    assert "finished: run 'tiny' has 2 of 2 epochs" in capsys.readouterr().out
    # more epochs than saved, other settings, or restart=True would train: refused
    with pytest.raises(train.RunMissingError, match="only 2 of its 3 epochs"):
        train.fit_resumable(make(), x, y, name="tiny", epochs=3, batch_size=8, verbose=0)
    with pytest.raises(train.RunMissingError, match="no run with these settings"):
        train.fit_resumable(make(), x, y, name="tiny", epochs=2, batch_size=16, verbose=0)
    with pytest.raises(train.RunMissingError, match="restart=True"):
        train.fit_resumable(make(), x, y, name="tiny", epochs=2, batch_size=8, restart=True)
    assert train.load_state("tiny")["epoch"] == 2  # restart refused: the run is still there


@pytest.mark.parametrize("value, expected", [("", False), ("0", False), ("yes", True)])
def test_runs_required_reads_the_switch(monkeypatch, value, expected):
    monkeypatch.setenv("COURSE_REQUIRE_RUNS", value)
    assert train.runs_required() is expected


def test_runs_required_rejects_nonsense(monkeypatch):
    monkeypatch.setenv("COURSE_REQUIRE_RUNS", "maybe")
    with pytest.raises(ValueError, match="COURSE_REQUIRE_RUNS"):
        train.runs_required()


# -- pieces: titles, navigation, banner, map, formulas --------------------------------------


def test_chapters_are_sorted_with_number_and_title(tmp_path):
    write_notebook(tmp_path, "01_second.ipynb", "01 · The second one")
    write_notebook(tmp_path, "00_first.ipynb", "00 · What is it?")
    write_notebook(tmp_path, "course_map.ipynb", "Course map")
    items = site.chapters(tmp_path)
    assert [(i.number, i.title, i.page) for i in items] == [
        ("00", "What is it?", "00_first.html"),
        ("01", "The second one", "01_second.html"),
        ("", "Course map", "course_map.html"),
    ]
    assert items[0].label == "00 · What is it?"


def three_chapters(tmp_path):
    for n in range(3):
        write_notebook(tmp_path, f"0{n}_c{n}.ipynb", f"0{n} · Chapter {n}")
    return site.chapters(tmp_path)


def links(nav: str) -> dict[str, str]:
    return dict(
        (m.group(1), m.group(2)) for m in re.finditer(r'<a class="(\w+)"[^>]*href="([^"]+)"', nav)
    )


def test_navigation_first_middle_last(tmp_path):
    items = three_chapters(tmp_path)
    first, middle, last = (site.nav_bar(items, i) for i in range(3))
    assert links(first) == {"map": "index.html", "next": "01_c1.html"}
    assert 'class="prev off"' in first
    assert links(middle) == {"map": "index.html", "prev": "00_c0.html", "next": "02_c2.html"}
    assert links(last) == {"map": "index.html", "prev": "01_c1.html"}
    assert 'class="next off"' in last
    assert "next: 01 · Chapter 1 →" in first and "← previous: 01 · Chapter 1" in last


def test_banner_says_the_mode():
    assert "full mode: trained runs loaded" in site.banner(site.FULL)
    assert "quick mode: tiny sizes, see the README to run it in full" in site.banner(site.QUICK)


def test_map_lists_every_notebook_with_its_mode(tmp_path):
    items = three_chapters(tmp_path)
    for item, mode in zip(items, [site.FULL, site.QUICK, site.FULL]):
        item.mode = mode
    page = site.index_html(items)
    rows = re.findall(r'<tr class="(\w+)"><td>(\d+)</td><td><a href="([^"]+)">([^<]+)</a>', page)
    assert rows == [
        ("full", "00", "00_c0.html", "Chapter 0"),
        ("quick", "01", "01_c1.html", "Chapter 1"),
        ("full", "02", "02_c2.html", "Chapter 2"),
    ]
    assert "1 of 3 chapters were executed in quick mode" in page


def test_formulas_become_mathml_outside_code():
    formulas = site.Formulas()
    source = formulas.markdown(
        r"noise $\bar\alpha_t = \prod_{s \le t}(1-\beta_s)$ and `$x_t$` stay"
        "\n\n$$x_t = \\sqrt{\\bar\\alpha_t}\\,x_0 + \\frac{1}{2}\\varepsilon$$\n\n$5 and $6"
    )
    assert "\\" not in source.split("`")[0] and "_" not in source.split("`")[0]
    out = formulas.html(source)
    assert out.count("<math") == 2 and '<math display="block">' in out
    assert '<msub><mover accent="true"><mi>α</mi><mo>ˉ</mo></mover><mi>t</mi></msub>' in out
    assert "<mo>≤</mo>" in out and "<mfrac><mrow><mn>1</mn></mrow>" in out
    assert "`$x_t$`" in out  # code is left alone
    assert "$5 and $6" in out  # prices are not formulas


def test_formulas_in_a_tag_become_text():
    formulas = site.Formulas()
    word = formulas.markdown("$x_t$")
    assert formulas.html(f'<h2 id="noise-{word}">noise {word}</h2>') == (
        f'<h2 id="noise-x_t">noise {site.tex_to_mathml("x_t")}</h2>'
    )


def test_unknown_tex_is_left_as_it_was():
    assert site.tex_to_mathml(r"\unknowncommand x") is None
    assert site.tex_to_mathml(r"\frac{1}{") is None
    formulas = site.Formulas()
    assert formulas.html(formulas.markdown(r"see $\weird{x}$ here")) == r"see $\weird{x}$ here"


def test_every_formula_of_the_course_is_understood():
    for path in sorted((ROOT / "notebooks").glob("*.ipynb")):
        formulas = site.Formulas()
        for cell in nbformat.read(path, as_version=4).cells:
            if cell.cell_type == "markdown":
                left = formulas.markdown(cell.source)
                # code (fenced or inline) is left alone by the site: `$HOME` is no formula
                prose = re.sub(r"```.*?```|`[^`]*`", "", left, flags=re.S)
                assert not re.search(r"\$[^$\s]", prose), f"{path.name}: {cell.source[:200]}"


# -- building synthetic notebooks: execution, modes, pages ----------------------------------

# A notebook whose full-mode run needs a run that is not trained: it raises what
# course_lib.train.fit_resumable raises under COURSE_REQUIRE_RUNS (same class name).
NEEDS_RUN = """import os

class RunMissingError(RuntimeError):
    pass

if os.environ.get("COURSE_REQUIRE_RUNS") == "1":
    raise RunMissingError("run 'demo_run' is not trained: no run with these settings")
print("quick mode:", os.environ["COURSE_QUICK"])"""


@pytest.fixture(scope="module")
def synthetic_site(tmp_path_factory):
    source = tmp_path_factory.mktemp("notebooks")
    write_notebook(source, "00_intro.ipynb", "00 · Intro", "print('hello from 00')", FIGURE)
    write_notebook(source, "01_needs_runs.ipynb", "01 · Needs runs", NEEDS_RUN, FIGURE)
    write_notebook(source, "02_end.ipynb", "02 · The end", "print(2 + 2)")
    out = tmp_path_factory.mktemp("site")
    lines = []
    items = site.build(out, source=source, log=lines.append)
    return out, items, lines


def test_build_picks_full_mode_unless_a_run_is_missing(synthetic_site):
    _, items, lines = synthetic_site
    assert [item.mode for item in items] == ["full", "quick", "full"]
    assert "demo_run" in items[1].note
    assert len(lines) == 3
    assert re.match(
        r"01_needs_runs\.ipynb\s+quick mode\s+\d+ s\s+\(full mode needs run 'demo_run'", lines[1]
    )


def test_pages_have_outputs_figures_nav_and_banner(synthetic_site):
    out, _, _ = synthetic_site
    first = (out / "00_intro.html").read_text()
    assert "hello from 00" in first
    assert first.count(PNG) == 1
    assert "Executed in full mode: trained runs loaded" in first
    assert first.count('class="course-nav') == 2  # top and bottom
    assert links(first.split("</nav>")[0]) == {"map": "index.html", "next": "01_needs_runs.html"}
    second = (out / "01_needs_runs.html").read_text()
    assert "quick mode: 1" in second and "Executed in quick mode" in second
    assert "<title>01 · Needs runs</title>" in second
    assert re.search(r"<pre>\s*4\s*</pre>", (out / "02_end.html").read_text())
    index = (out / "index.html").read_text()
    for name in ("00_intro.html", "01_needs_runs.html", "02_end.html"):
        assert f'href="{name}"' in index


def test_pages_load_nothing_from_the_network(synthetic_site):
    out, _, _ = synthetic_site
    for page in out.glob("*.html"):
        text = page.read_text()
        assert not re.search(r"<script[^>]+src=", text), page.name
        assert not re.search(r'(src|href)="(https?:)?//', text), page.name


def test_another_cell_error_fails_the_build_with_the_notebook_name(tmp_path):
    source = tmp_path / "nb"
    source.mkdir()
    write_notebook(source, "00_ok.ipynb", "OK", "print(1)")
    write_notebook(source, "01_broken.ipynb", "Broken", "1 / 0")
    with pytest.raises(site.BuildError, match=r"(?s)01_broken\.ipynb.*ZeroDivisionError"):
        site.build(tmp_path / "out", source=source, quick=True, log=lambda line: None)


def test_a_notebook_past_its_time_limit_fails_the_build(tmp_path):
    write_notebook(tmp_path, "00_slow.ipynb", "Slow", "import time\ntime.sleep(60)")
    start = time.perf_counter()
    with pytest.raises(site.BuildError, match=r"00_slow\.ipynb: ran past its 3 s limit"):
        site.build(tmp_path / "out", source=tmp_path, quick=True, timeout=3, log=print)
    assert time.perf_counter() - start < 45


# -- the real course, built once in quick mode ----------------------------------------------


# nbval already runs every notebook in quick mode; building all of them a second time for
# the site costs the suite minutes. The suite builds two chapters (COURSE_SITE_CHAPTERS,
# "all" for every one: `COURSE_SITE_CHAPTERS=all ./course test -m site`).
SITE_CHAPTERS = os.environ.get("COURSE_SITE_CHAPTERS", "00,13")


def site_notebooks() -> list[Path]:
    notebooks = sorted((ROOT / "notebooks").glob("*.ipynb"))
    if SITE_CHAPTERS == "all":
        return notebooks
    wanted = SITE_CHAPTERS.split(",")
    return [path for path in notebooks if path.name.split("_")[0] in wanted]


@pytest.fixture(scope="session")
def course_site(tmp_path_factory):
    out = tmp_path_factory.mktemp("course-site")
    start = time.perf_counter()
    only = None if SITE_CHAPTERS == "all" else SITE_CHAPTERS.split(",")
    items = site.build(out, quick=True, only=only)
    print(f"course site built in {time.perf_counter() - start:.0f} s")
    return out, items


def test_every_notebook_is_a_chapter_with_a_number_and_a_title():
    notebooks = sorted((ROOT / "notebooks").glob("*.ipynb"))
    items = site.chapters(ROOT / "notebooks")
    assert [item.source for item in items] == notebooks
    for item in items:
        assert re.fullmatch(r"\d\d", item.number), item.source.name
        assert item.title and not item.title.startswith(item.number), item.source.name


def test_only_keeps_the_chapters_asked_for_and_rejects_unknown_ones(tmp_path):
    source = tmp_path / "nb"
    source.mkdir()
    write_notebook(source, "00_a.ipynb", "00 · A", "print(1)")
    write_notebook(source, "01_b.ipynb", "01 · B", "1 / 0")  # never run: not asked for
    items = site.build(tmp_path / "out", source=source, quick=True, only=["00"], log=print)
    assert [item.number for item in items] == ["00"]
    assert (tmp_path / "out" / "00_a.html").is_file()
    assert not (tmp_path / "out" / "01_b.html").exists()
    with pytest.raises(site.BuildError, match=r"only= expects chapter numbers.*'07'"):
        site.build(tmp_path / "out2", source=source, quick=True, only=["07"], log=print)


@pytest.mark.site
def test_course_site_has_its_chapters_with_figures_and_no_errors(course_site):
    out, items = course_site
    notebooks = site_notebooks()
    assert notebooks, f"COURSE_SITE_CHAPTERS={SITE_CHAPTERS!r} names no notebook"
    assert [item.source for item in items] == notebooks
    index = (out / "index.html").read_text()
    for path in notebooks:
        page = out / (path.stem + ".html")
        assert page.is_file(), page.name
        assert f'href="{page.name}"' in index
        text = page.read_text()
        assert text.count(PNG) > 0, f"{page.name} has no figures"
        assert "Traceback (most recent call last)" not in text, page.name
        assert "Executed in quick mode" in text
        assert not re.search(r"<script[^>]+src=", text), page.name


@pytest.mark.site
@pytest.mark.browser
def test_course_site_in_a_browser(course_site):
    """Every page opens offline in Chromium without console errors, every image drawn."""
    out, _ = course_site
    problems = []
    with chromium() as browser:
        page = browser.new_page()
        errors = console_errors(page)
        for html_file in sorted(out.glob("*.html")):
            page.goto(html_file.as_uri(), wait_until="load")
            broken = page.evaluate(
                "[...document.images].filter(i => !i.complete || i.naturalWidth === 0).length"
            )
            if broken:
                problems.append(f"{html_file.name}: {broken} images not drawn")
            for href in page.evaluate("[...document.links].map(a => a.getAttribute('href'))"):
                if href.endswith(".html") and not (out / href).is_file():
                    problems.append(f"{html_file.name}: a link to {href}, which is missing")
            problems += [f"{html_file.name}: {error}" for error in errors]
            errors.clear()
    assert not problems, "\n".join(problems)


def test_links_between_course_files_point_at_their_pages(tmp_path):
    items = three_chapters(tmp_path)
    source = (
        "See [the glossary](glossary.md#fid), [chapter 1](01_c1.ipynb), "
        "[a section](00_c0.ipynb#part-2) and [the web](https://example.org/x.md)."
    )
    out = site.local_links(source, items)
    assert "(glossary.html#fid)" in out
    assert f"({items[1].page})" in out and f"({items[0].page}#part-2)" in out
    assert "(https://example.org/x.md)" in out


def test_glossary_page_has_the_anchors_the_chapters_link_to(tmp_path):
    glossary = tmp_path / "glossary.md"
    glossary.write_text(
        "# Glossary\n\n### FID\n\nA score. Used in [chapter 0](00_c0.ipynb).\n\n"
        "### KL divergence\n\nA distance.\n",
        encoding="utf-8",
    )
    items = three_chapters(tmp_path)
    page = site.glossary_html(glossary, items)
    assert '<h3 id="fid">FID</h3>' in page
    assert '<h3 id="kl-divergence">KL divergence</h3>' in page
    assert f'href="{items[0].page}"' in page and 'href="index.html"' in page


def test_the_course_glossary_anchors_match_the_links():
    glossary = site.ROOT / "notebooks" / "glossary.md"
    items = site.chapters(site.ROOT / "notebooks")
    page = site.glossary_html(glossary, items)
    ids = set(re.findall(r'<h[1-6] id="([^"]+)"', page))
    for nb in (site.ROOT / "notebooks").glob("*.ipynb"):
        for anchor in re.findall(r"glossary\.md#([\w\-]+)", nb.read_text(encoding="utf-8")):
            assert anchor in ids, f"{nb.name} links glossary.md#{anchor}, not on the page"
