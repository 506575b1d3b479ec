"""course_lib: the shared, tested helper library behind every notebook of the course."""

import os

# Keep TensorFlow's start-up chatter out of the notebooks (set before it is imported).
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

from course_lib.config import budget, device_summary, is_quick, seed_everything

__all__ = ["budget", "device_summary", "is_quick", "seed_everything"]
__version__ = "0.1.0"
