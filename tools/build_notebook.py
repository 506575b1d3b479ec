"""Turn a percent-format script into a notebook: handy for writing chapters in an editor.

    python tools/build_notebook.py chapter.py notebooks/NN_stem.ipynb

Cells start at lines ``# %%`` (code) or ``# %% [md]`` (markdown, each line's leading
``# `` removed). The result has no outputs; run ``tools/notebooks.py strip`` and
``ruff format`` on it as on any notebook.
"""

from __future__ import annotations

import sys

import nbformat


def build(text: str):
    """The notebook described by ``text`` (percent format)."""
    cells, kind, lines = [], None, []

    def flush():
        body = "\n".join(lines).strip("\n")
        if kind == "md":
            body = "\n".join(
                line[2:] if line.startswith("# ") else line.lstrip("#") for line in body.split("\n")
            )
            cells.append(nbformat.v4.new_markdown_cell(body))
        elif kind == "code":
            cells.append(nbformat.v4.new_code_cell(body))

    for line in text.split("\n"):
        if line.startswith("# %%"):
            flush()
            kind, lines = ("md" if "[md]" in line else "code"), []
        else:
            lines.append(line)
    flush()
    nb = nbformat.v4.new_notebook(cells=cells)
    nb.metadata["kernelspec"] = {
        "display_name": "Python 3 (ipykernel)",
        "language": "python",
        "name": "python3",
    }
    nb.metadata["language_info"] = {"name": "python"}
    return nb


if __name__ == "__main__":
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    with open(sys.argv[1], encoding="utf-8") as handle:
        nbformat.write(build(handle.read()), sys.argv[2])
