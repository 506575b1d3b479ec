"""Import tools/notebooks.py (a script, not a package) for the tests."""

import importlib.util
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
_spec = importlib.util.spec_from_file_location(
    "course_notebook_tools", ROOT / "tools" / "notebooks.py"
)
nbtools = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(nbtools)
