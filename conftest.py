"""Test-wide settings: quick mode, quiet TensorFlow, no windows, throwaway checkpoints.

These are set before any test module (or nbval's notebook kernels, which inherit the
environment) imports TensorFlow.
"""

import os
import tempfile

os.environ.setdefault("COURSE_QUICK", "1")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
os.environ.setdefault("MPLBACKEND", "Agg")
os.environ.setdefault("COURSE_RUNS_DIR", tempfile.mkdtemp(prefix="course-runs-"))
