"""Build the course as a static website: every chapter notebook run, with its outputs.

    python tools/site.py [--quick] [--out DIR] [--timeout SECONDS]   (or: ./course site ...)

Each notebook in ``notebooks/`` is executed in a fresh kernel (in its own folder, with
``COURSE_WIDGETS=static``) and written to ``DIR/<notebook>.html`` (default ``site/``),
with a navigation bar (course map, previous, next) and a banner saying the mode it ran
in; ``DIR/index.html`` is the course map. Pages need no network: images are embedded,
formulas are MathML (which browsers draw themselves) and no script is loaded from a CDN.

Mode, per notebook: **full** where the trained runs exist, **quick** otherwise. The
builder first runs a notebook in full mode with ``COURSE_REQUIRE_RUNS=1``, under which
``course_lib.train.fit_resumable`` loads finished runs and raises ``RunMissingError``
instead of training; on that error the notebook runs again in quick mode (tiny sizes,
seconds). ``--quick`` skips the full attempt. Any other cell error stops the build.
Notebooks are built one at a time; one line per notebook says its mode and time.
"""

from __future__ import annotations

import argparse
import copy
import html
import os
import re
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

import nbformat

ROOT = Path(__file__).resolve().parents[1]
FULL, QUICK = "full", "quick"
BANNERS = {
    FULL: "full mode: trained runs loaded",
    QUICK: "quick mode: tiny sizes, see the README to run it in full",
}
DEFAULT_TIMEOUT = {FULL: 3600, QUICK: 900}  # seconds per notebook
MISSING = "RunMissingError"  # course_lib.train's exception, as a kernel reports it


class BuildError(RuntimeError):
    """A notebook could not be built: a cell failed, or it ran past its time limit."""


class RunsMissing(Exception):
    """A full-mode execution stopped at a run that is not trained (``run`` names it)."""

    def __init__(self, run: str):
        super().__init__(run)
        self.run = run


# -- chapters: file names, numbers, titles --------------------------------------------------


@dataclass
class Chapter:
    """One notebook of the course and the page made from it."""

    source: Path
    number: str  # "03" from 03_diffusion.ipynb; "" for a notebook without one
    title: str  # the first heading, without its number
    mode: str = ""  # FULL or QUICK, once built
    seconds: float = 0.0  # time of the execution that made the page
    note: str = ""  # why full mode was not used, if it was tried

    @property
    def page(self) -> str:
        return self.source.stem + ".html"

    @property
    def label(self) -> str:
        return f"{self.number} · {self.title}" if self.number else self.title


def first_heading(nb) -> str | None:
    """The text of the first Markdown heading of a notebook (any level), or None."""
    for cell in nb.cells:
        if cell.cell_type != "markdown":
            continue
        for line in cell.source.splitlines():
            match = re.match(r"#{1,6}\s+(.+?)\s*#*\s*$", line)
            if match:
                return match.group(1).strip()
    return None


def chapter(path: Path) -> Chapter:
    """Number and title of a notebook: ``03`` and ``Diffusion models`` for chapter 03."""
    path = Path(path)
    match = re.match(r"(\d+)", path.stem)
    number = match.group(1) if match else ""
    heading = first_heading(nbformat.read(path, as_version=4))
    title = heading or path.stem.replace("_", " ")
    if number:  # "03 · Diffusion models" -> "Diffusion models"
        title = re.sub(rf"^{number}\s*[·:.\-–—]\s*", "", title) or title
    return Chapter(path, number, title)


def chapters(folder: Path) -> list[Chapter]:
    """Every notebook in ``folder``, sorted by file name."""
    return [chapter(path) for path in sorted(Path(folder).glob("*.ipynb"))]


# -- formulas: TeX between dollars to MathML, which browsers draw without a script ----------


class _Unsupported(ValueError):
    pass


_GREEK = {
    name: chr(code)
    for name, code in {
        "alpha": 0x3B1, "beta": 0x3B2, "gamma": 0x3B3, "delta": 0x3B4, "epsilon": 0x3F5,
        "varepsilon": 0x3B5, "zeta": 0x3B6, "eta": 0x3B7, "theta": 0x3B8, "iota": 0x3B9,
        "kappa": 0x3BA, "lambda": 0x3BB, "mu": 0x3BC, "nu": 0x3BD, "xi": 0x3BE, "pi": 0x3C0,
        "rho": 0x3C1, "sigma": 0x3C3, "tau": 0x3C4, "upsilon": 0x3C5, "phi": 0x3D5,
        "varphi": 0x3C6, "chi": 0x3C7, "psi": 0x3C8, "omega": 0x3C9, "Gamma": 0x393,
        "Delta": 0x394, "Theta": 0x398, "Lambda": 0x39B, "Xi": 0x39E, "Pi": 0x3A0,
        "Sigma": 0x3A3, "Phi": 0x3A6, "Psi": 0x3A8, "Omega": 0x3A9,
    }.items()
}  # fmt: skip
_IDENTIFIERS = {**_GREEK, "varnothing": "∅", "emptyset": "∅", "infty": "∞", "ell": "ℓ"}
_OPERATORS = {
    "le": "≤", "leq": "≤", "ge": "≥", "geq": "≥", "ne": "≠", "neq": "≠", "approx": "≈",
    "sim": "∼", "propto": "∝", "mid": "∣", "cdot": "⋅", "times": "×", "pm": "±", "in": "∈",
    "to": "→", "rightarrow": "→", "leftarrow": "←", "gets": "←", "sum": "∑", "prod": "∏",
    "int": "∫", "partial": "∂", "nabla": "∇", "ldots": "…", "dots": "…", "cdots": "⋯",
    "{": "{", "}": "}", "|": "‖", "lvert": "|", "rvert": "|",
}  # fmt: skip
_FUNCTIONS = {"log", "exp", "min", "max", "sin", "cos", "tanh", "arg", "det", "lim"}
_SPACES = {",": "0.167em", ":": "0.222em", ";": "0.278em", " ": "0.25em", "quad": "1em",
           "qquad": "2em"}  # fmt: skip
# spacing modifier letters: drawn as accents by browsers without a math font (U+00AF is not)
_ACCENTS = {"hat": "ˆ", "bar": "ˉ", "overline": "ˉ", "tilde": "˜", "vec": "→", "dot": "˙"}
_IGNORED = {"big", "Big", "bigg", "Bigg", "left", "right", "displaystyle", "!"}
_TOKEN = re.compile(r"\\([A-Za-z]+|.)|(\d+(?:\.\d+)?)|(\s+)|(.)", re.S)


def _script_letter(letter: str) -> str:
    """A capital in the Unicode mathematical script alphabet (\\mathcal{N} -> 𝒩)."""
    holes = {"B": "ℬ", "E": "ℰ", "F": "ℱ", "H": "ℋ", "I": "ℐ", "L": "ℒ", "M": "ℳ", "R": "ℛ"}
    if letter in holes:
        return holes[letter]
    if "A" <= letter <= "Z":
        return chr(0x1D49C + ord(letter) - ord("A"))
    return letter


class _TexParser:
    """A small recursive-descent reader for the TeX the course's Markdown uses."""

    def __init__(self, tex: str):
        self.tokens = []
        for command, number, _space, char in _TOKEN.findall(tex):
            if command:
                self.tokens.append(("cmd", command))
            elif number:
                self.tokens.append(("num", number))
            elif char:
                self.tokens.append(("chr", char))
            # whitespace between tokens means nothing in TeX math
        self.pos = 0

    def peek(self):
        return self.tokens[self.pos] if self.pos < len(self.tokens) else (None, None)

    def take(self):
        token = self.peek()
        self.pos += 1
        return token

    def row(self, closing: str | None = None) -> str:
        parts = []
        while True:
            kind, value = self.peek()
            if kind is None:
                if closing:
                    raise _Unsupported("unbalanced braces")
                break
            if kind == "chr" and value == closing:
                self.take()
                break
            parts.append(self.scripted())
        return "".join(parts)

    def group(self) -> str:
        """One argument: a {braced group} or a single token."""
        kind, value = self.peek()
        if kind == "chr" and value == "{":
            self.take()
            return f"<mrow>{self.row('}')}</mrow>"
        return self.atom()

    def text_argument(self) -> str:
        kind, value = self.take()
        if kind in ("chr", "num") and value != "{":  # \mathcal N: one letter, no braces
            return value
        if (kind, value) != ("chr", "{"):
            raise _Unsupported("a text argument must be a {group} or a letter")
        out, depth = [], 1
        while True:
            kind, value = self.take()
            if kind is None:
                raise _Unsupported("unbalanced braces")
            if kind == "chr" and value in "{}":
                depth += 1 if value == "{" else -1
                if depth == 0:
                    return "".join(out)
            out.append(value if kind != "cmd" else {" ": " ", ",": " "}.get(value, ""))

    def scripted(self) -> str:
        base = self.atom()
        sub = sup = None
        while self.peek()[0] == "chr" and self.peek()[1] in "_^":
            _, which = self.take()
            argument = self.group()
            if which == "_":
                sub = argument
            else:
                sup = argument
        if sub is not None and sup is not None:
            return f"<msubsup>{base}{sub}{sup}</msubsup>"
        if sub is not None:
            return f"<msub>{base}{sub}</msub>"
        if sup is not None:
            return f"<msup>{base}{sup}</msup>"
        return base

    def atom(self) -> str:
        kind, value = self.take()
        if kind is None:
            raise _Unsupported("missing argument")
        if kind == "num":
            return f"<mn>{value}</mn>"
        if kind == "chr":
            if value == "{":
                return f"<mrow>{self.row('}')}</mrow>"
            if value.isalpha():
                return f"<mi>{html.escape(value)}</mi>"
            if value in "}_^$&#%\\~":
                raise _Unsupported(f"stray {value!r}")
            symbol = {"-": "−", "'": "′", "*": "∗"}.get(value, value)
            return f"<mo>{html.escape(symbol)}</mo>"
        if value in _IDENTIFIERS:
            return f"<mi>{_IDENTIFIERS[value]}</mi>"
        if value in _OPERATORS:
            return f"<mo>{html.escape(_OPERATORS[value])}</mo>"
        if value in _FUNCTIONS:
            return f'<mi mathvariant="normal">{value}</mi>'
        if value in _SPACES:
            return f'<mspace width="{_SPACES[value]}"></mspace>'
        if value in _IGNORED:
            return "<mrow></mrow>"
        if value in _ACCENTS:
            return f'<mover accent="true">{self.group()}<mo>{_ACCENTS[value]}</mo></mover>'
        if value == "frac":
            return f"<mfrac>{self.group()}{self.group()}</mfrac>"
        if value == "sqrt":
            return f"<msqrt>{self.group()}</msqrt>"
        if value in ("text", "mathrm", "operatorname"):
            text = html.escape(self.text_argument())
            return f"<mtext>{text}</mtext>" if value == "text" else f"<mi>{text}</mi>"
        if value == "mathcal":
            letters = self.text_argument()
            return f"<mi>{''.join(_script_letter(c) for c in letters)}</mi>"
        raise _Unsupported(f"unknown command \\{value}")


def tex_to_mathml(tex: str, *, block: bool = False) -> str | None:
    """TeX math (the inside of ``$...$``) as a MathML element, or None if not understood."""
    try:
        inner = _TexParser(tex).row()
    except _Unsupported:
        return None
    display = ' display="block"' if block else ""
    source = f'<annotation encoding="application/x-tex">{html.escape(tex)}</annotation>'
    return f"<math{display}><semantics><mrow>{inner}</mrow>{source}</semantics></math>"


_CODE = re.compile(r"(```.*?```|~~~.*?~~~|`[^`\n]*`)", re.S)
_BLOCK_MATH = re.compile(r"\$\$(.+?)\$\$", re.S)
# one paragraph at most: a formula may wrap onto the next line, not past a blank one
_INLINE_MATH = re.compile(r"(?<![\\$\w])\$(?=\S)((?:[^$\n]|\n(?![ \t]*\n))+?)(?<=\S)\$(?![$\d])")


class Formulas:
    """Formulas of Markdown cells as MathML, put in after the Markdown is rendered.

    :meth:`markdown` swaps each ``$...$`` and ``$$...$$`` outside code that
    :func:`tex_to_mathml` understands for a plain word, which the Markdown renderer (and
    nbconvert's image embedding, which re-parses inline HTML tag by tag) leave alone;
    :meth:`html` swaps the words for the MathML in the rendered page. Formulas it does not
    understand stay as they were, dollars and all.
    """

    def __init__(self):
        self.prefix = f"coursemath{uuid.uuid4().hex[:10]}x"
        self.mathml: dict[str, str] = {}
        self.tex: dict[str, str] = {}

    def _keep(self, match, block: bool) -> str:
        tex = match.group(1).strip()
        mathml = tex_to_mathml(tex, block=block)
        if mathml is None:
            return match.group(0)
        word = f"{self.prefix}{len(self.mathml)}x"
        self.mathml[word], self.tex[word] = mathml, tex
        return word

    def markdown(self, source: str) -> str:
        parts = _CODE.split(source)
        for i in range(0, len(parts), 2):  # even parts are prose, odd ones code
            text = _BLOCK_MATH.sub(lambda m: self._keep(m, True), parts[i])
            parts[i] = _INLINE_MATH.sub(lambda m: self._keep(m, False), text)
        return "".join(parts)

    def html(self, page: str) -> str:
        if not self.mathml:
            return page
        word = re.compile(rf"{self.prefix}\d+x")
        # inside a tag (a heading's id, say) a formula becomes its TeX, as plain text
        page = re.sub(
            r"<[^<>]*>",
            lambda tag: word.sub(lambda m: html.escape(self.tex[m.group(0)]), tag.group(0)),
            page,
        )
        return word.sub(lambda m: self.mathml[m.group(0)], page)


# -- running a notebook ---------------------------------------------------------------------


def kernel_env(mode: str) -> dict[str, str]:
    """The environment of a notebook's kernel in ``mode`` (FULL or QUICK)."""
    env = dict(os.environ)
    env.update(
        COURSE_QUICK="1" if mode == QUICK else "0",
        COURSE_WIDGETS="static",
        TF_CPP_MIN_LOG_LEVEL="3",
        # figures go into the page (a test run's MPLBACKEND=Agg would drop them)
        MPLBACKEND="module://matplotlib_inline.backend_inline",
    )
    if mode == FULL:
        env["COURSE_REQUIRE_RUNS"] = "1"
    else:
        env.pop("COURSE_REQUIRE_RUNS", None)
    return env


def execute(path: Path, mode: str, timeout: float):
    """Run the notebook at ``path`` in a fresh kernel in ``mode``; return it with outputs.

    Raises :class:`RunsMissing` when a full-mode run stops at a run that is not trained,
    and :class:`BuildError` for any other failure.
    """
    from nbclient import NotebookClient
    from nbclient.exceptions import CellExecutionError, CellTimeoutError, DeadKernelError

    path = Path(path)
    nb = nbformat.read(path, as_version=4)
    deadline = time.monotonic() + timeout
    client = NotebookClient(
        nb,
        kernel_name=nb.metadata.get("kernelspec", {}).get("name", "python3"),
        timeout_func=lambda cell: max(1, int(deadline - time.monotonic()) + 1),
        resources={"metadata": {"path": str(path.parent)}},
    )
    # the kernel process's own chatter (start-up warnings) goes to a log, shown if it dies
    log = tempfile.TemporaryFile()
    try:
        client.execute(env=kernel_env(mode), stderr=log)
    except CellExecutionError as err:
        text = str(err)
        if mode == FULL and (err.ename == MISSING or MISSING in text):
            found = re.search(r"run '([^']+)'", f"{err.evalue}\n{text}")
            raise RunsMissing(found.group(1) if found else "?") from None
        raise BuildError(f"{path.name}: a cell failed in {mode} mode:\n{text}") from None
    except CellTimeoutError:
        raise BuildError(
            f"{path.name}: ran past its {timeout:.0f} s limit in {mode} mode "
            "(a longer limit: --timeout SECONDS)"
        ) from None
    except DeadKernelError as err:
        log.seek(0)
        tail = log.read().decode(errors="replace")[-3000:]
        raise BuildError(
            f"{path.name}: the kernel died in {mode} mode ({err}); its last words:\n{tail}"
        ) from None
    finally:
        log.close()
    return nb


def run_chapter(item: Chapter, *, quick: bool, timeouts: dict[str, float]):
    """Execute one chapter in full mode if its runs exist, else in quick mode.

    Sets ``item.mode``, ``item.seconds`` and ``item.note``; returns the executed notebook.
    """
    if not quick:
        start = time.perf_counter()
        try:
            nb = execute(item.source, FULL, timeouts[FULL])
        except RunsMissing as missing:
            item.note = (
                f"full mode needs run '{missing.run}', not trained here "
                f"(stopped there after {time.perf_counter() - start:.0f} s)"
            )
        else:
            item.mode, item.seconds = FULL, time.perf_counter() - start
            return nb
    start = time.perf_counter()
    nb = execute(item.source, QUICK, timeouts[QUICK])
    item.mode, item.seconds = QUICK, time.perf_counter() - start
    return nb


# -- pages ----------------------------------------------------------------------------------

STYLE = """
.course-nav { display: flex; gap: 1.5em; flex-wrap: wrap; align-items: baseline;
  font-family: system-ui, sans-serif; font-size: 15px; padding: 0.6em 0;
  border-bottom: 1px solid #ccc; margin-bottom: 0.8em; }
.course-nav.bottom { border-bottom: none; border-top: 1px solid #ccc; margin: 1.5em 0 0; }
.course-nav a { text-decoration: none; color: #1a5fb4; }
.course-nav a:hover { text-decoration: underline; }
.course-nav .off { color: #999; }
.course-nav .next { margin-left: auto; }
.course-banner { font-family: system-ui, sans-serif; font-size: 14px; padding: 0.5em 0.8em;
  border-radius: 4px; margin-bottom: 1em; }
.course-banner.full { background: #e6f4ea; border: 1px solid #8fc79d; }
.course-banner.quick { background: #fff6dd; border: 1px solid #e0c060; }
math { font-size: 1.15em; }
math[display="block"] { margin: 0.8em 0; }
"""

# The lab template without its CDN scripts (require.js, MathJax, Mermaid, widgets): pages
# read offline, formulas are MathML, and nothing fails to load.
PAGE_TEMPLATE = """{%- extends 'index.html.j2' -%}
{%- block html_head_js -%}{%- endblock html_head_js -%}
{%- block jupyter_widgets -%}{%- endblock jupyter_widgets -%}
{%- block html_head_js_mathjax -%}{%- endblock html_head_js_mathjax -%}
{%- block html_head_js_mermaidjs -%}{%- endblock html_head_js_mermaidjs -%}
{%- block extra_css -%}<style type="text/css">{{ resources.course_site.style }}</style>
{%- endblock extra_css -%}
{%- block body_header -%}{{ super() }}
{{ resources.course_site.top }}
{%- endblock body_header -%}
{%- block body_footer -%}
{{ resources.course_site.bottom }}
{{ super() }}
{%- endblock body_footer -%}
"""


def nav_bar(items: list[Chapter], index: int, *, where: str = "top") -> str:
    """Links to the course map and to the previous and next chapter (if there are)."""

    def link(rel: str, arrow: str) -> str:
        other = index + (1 if rel == "next" else -1)
        if 0 <= other < len(items):
            target = items[other]
            text = arrow.format(html.escape(target.label))
            return f'<a class="{rel}" rel="{rel}" href="{target.page}">{text}</a>'
        return f'<span class="{rel} off">{arrow.format("none")}</span>'

    return (
        f'<nav class="course-nav {where}"><a class="map" href="index.html">Course map</a>'
        f"{link('prev', '← previous: {}')}{link('next', 'next: {} →')}</nav>"
    )


def banner(mode: str) -> str:
    """The line at the top of a page that says which mode it was executed in."""
    return f'<div class="course-banner {mode}">Executed in {html.escape(BANNERS[mode])}.</div>'


def local_links(source: str, items: list[Chapter]) -> str:
    """Markdown links between the course's files, pointed at their pages: ``NN_x.ipynb`` ->
    ``NN_x.html`` for the chapters on the site, ``glossary.md`` -> ``glossary.html``."""
    pages = {item.source.name: item.page for item in items}

    def swap(match: re.Match) -> str:
        target, anchor = match.group(2), match.group(3) or ""
        name = Path(target).name
        if name in pages:
            return f"{match.group(1)}{pages[name]}{anchor})"
        if name == "glossary.md":
            return f"{match.group(1)}glossary.html{anchor})"
        return match.group(0)

    return re.sub(r"(\]\()([^)\s#]+\.(?:ipynb|md))(#[^)\s]*)?\)", swap, source)


def slug(heading: str) -> str:
    """The anchor of a Markdown heading as the course links it: lowercase, spaces as hyphens."""
    text = re.sub(r"<[^>]+>", "", heading).strip().lower()
    return re.sub(r"[^\w\- ]", "", text).replace(" ", "-")


def glossary_html(path: Path, items: list[Chapter]) -> str:
    """The glossary (Markdown) as a page; each heading's id is its :func:`slug`."""
    import mistune

    body = mistune.html(local_links(path.read_text(encoding="utf-8"), items))

    def anchor(match: re.Match) -> str:
        level, text = match.group(1), match.group(2)
        return f'<h{level} id="{slug(html.unescape(text))}">{text}</h{level}>'

    body = re.sub(r"<h([1-6])>(.*?)</h\1>", anchor, body)
    return f"""<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1.0">
<title>Generative AI, hands-on: glossary</title>
<style>
body {{ font-family: system-ui, sans-serif; max-width: 50em; margin: 2em auto; padding: 0 1em;
  line-height: 1.5; color: #222; }}
a {{ color: #1a5fb4; text-decoration: none; }}
a:hover {{ text-decoration: underline; }}
</style>
</head>
<body>
<nav class="course-nav top"><a class="map" href="index.html">Course map</a></nav>
{body}
</body>
</html>
"""


def page_html(nb, items: list[Chapter], index: int) -> str:
    """The HTML page of the executed notebook ``nb``, chapter ``items[index]``."""
    from jinja2 import DictLoader
    from nbconvert import HTMLExporter

    item = items[index]
    nb = copy.deepcopy(nb)
    nb.metadata.pop("widgets", None)  # no widget state: the page would load a renderer
    nb.metadata["title"] = item.label
    formulas = Formulas()
    for cell in nb.cells:
        if cell.cell_type == "markdown":
            cell.source = formulas.markdown(local_links(cell.source, items))
    exporter = HTMLExporter(
        template_name="lab",
        template_file="course_page.html.j2",
        extra_loaders=[DictLoader({"course_page.html.j2": PAGE_TEMPLATE})],
        embed_images=True,
        exclude_anchor_links=True,
    )
    resources = {
        "metadata": {"name": item.label, "path": str(item.source.parent)},
        "course_site": {
            "style": STYLE,
            "top": nav_bar(items, index) + banner(item.mode),
            "bottom": nav_bar(items, index, where="bottom"),
        },
    }
    body, _ = exporter.from_notebook_node(nb, resources=resources)
    return formulas.html(body)


def index_html(items: list[Chapter]) -> str:
    """The course map: one row per chapter with its number, title, mode and link."""
    rows = "\n".join(
        f'<tr class="{item.mode}"><td>{html.escape(item.number)}</td>'
        f'<td><a href="{item.page}">{html.escape(item.title)}</a></td>'
        f"<td>{html.escape(item.mode)} mode</td></tr>"
        for item in items
    )
    quick = sum(item.mode == QUICK for item in items)
    note = (
        f"<p>{quick} of {len(items)} chapters were executed in quick mode: tiny sizes, so "
        "they run in seconds; their pictures are rough. See the README to run the course in "
        "full mode, then build the site again.</p>"
        if quick
        else "<p>Every chapter was executed in full mode, with its trained runs loaded.</p>"
    )
    return f"""<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1.0">
<title>Generative AI, hands-on: course map</title>
<style>
body {{ font-family: system-ui, sans-serif; max-width: 50em; margin: 2em auto; padding: 0 1em;
  line-height: 1.5; color: #222; }}
table {{ border-collapse: collapse; width: 100%; }}
th, td {{ text-align: left; padding: 0.4em 0.8em; border-bottom: 1px solid #ddd; }}
td:first-child {{ font-variant-numeric: tabular-nums; width: 3em; }}
tr.full td:last-child {{ color: #1e7b34; }}
tr.quick td:last-child {{ color: #8a6d00; }}
a {{ color: #1a5fb4; text-decoration: none; }}
a:hover {{ text-decoration: underline; }}
</style>
</head>
<body>
<h1>Generative AI, hands-on: course map</h1>
<p>Every chapter of the course, run from top to bottom with its outputs. Words you
may not know are explained in the <a href="glossary.html">glossary</a>.</p>
{note}
<table>
<thead><tr><th>#</th><th>chapter</th><th>executed in</th></tr></thead>
<tbody>
{rows}
</tbody>
</table>
</body>
</html>
"""


def build(
    out: Path,
    *,
    source: Path = ROOT / "notebooks",
    quick: bool = False,
    timeout: float | None = None,
    only: list[str] | None = None,
    log=print,
) -> list[Chapter]:
    """Execute every notebook of ``source`` and write the site to ``out``; return its chapters.

    ``timeout`` (seconds per notebook and mode) defaults to 3600 in full mode and 900 in
    quick mode. ``only`` keeps the chapters with these numbers (``["00", "13"]``): a
    smaller site, faster to build. Raises :class:`BuildError` naming the notebook when one
    fails, or when ``only`` names a chapter that is not there.
    """
    out = Path(out)
    items = chapters(source)
    if not items:
        raise BuildError(f"no notebooks in {source}")
    if only is not None:
        wanted = [str(number).strip() for number in only]
        missing = sorted(set(wanted) - {item.number for item in items})
        if missing or not wanted:
            raise BuildError(
                f"only= expects chapter numbers found in {source} "
                f"({', '.join(item.number for item in items)}), got {only!r}"
            )
        items = [item for item in items if item.number in wanted]
    out.mkdir(parents=True, exist_ok=True)
    timeouts = {mode: timeout or DEFAULT_TIMEOUT[mode] for mode in (FULL, QUICK)}
    width = max(len(item.source.name) for item in items)
    for index, item in enumerate(items):
        nb = run_chapter(item, quick=quick, timeouts=timeouts)
        (out / item.page).write_text(page_html(nb, items, index), encoding="utf-8")
        note = f"  ({item.note})" if item.note else ""
        log(f"{item.source.name:<{width}}  {item.mode:>5} mode  {item.seconds:6.0f} s{note}")
    (out / "index.html").write_text(index_html(items), encoding="utf-8")
    glossary = Path(source) / "glossary.md"
    if glossary.exists():
        (out / "glossary.html").write_text(glossary_html(glossary, items), encoding="utf-8")
    return items


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="course site",
        description="Execute every chapter notebook and write the course as static HTML.",
    )
    parser.add_argument(
        "--quick", action="store_true", help="quick mode for every notebook (no full attempt)"
    )
    parser.add_argument(
        "--out", type=Path, default=ROOT / "site", help="output folder (default: site/)"
    )
    parser.add_argument(
        "--timeout",
        type=float,
        default=None,
        help="seconds each notebook may run, per mode (default: 3600 full, 900 quick)",
    )
    parser.add_argument(
        "--only",
        default=None,
        help="comma-separated chapter numbers to build (default: every chapter), e.g. 00,13",
    )
    args = parser.parse_args(argv)
    only = args.only.split(",") if args.only else None
    start = time.perf_counter()
    try:
        items = build(args.out, quick=args.quick, timeout=args.timeout, only=only)
    except BuildError as err:
        print(f"site: build failed: {err}", file=sys.stderr)
        return 1
    full = sum(item.mode == FULL for item in items)
    print(
        f"site: {len(items)} pages ({full} full mode, {len(items) - full} quick mode) in "
        f"{time.perf_counter() - start:.0f} s: open {args.out / 'index.html'}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
