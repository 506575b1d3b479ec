"""course_lib: the shared, tested helper library behind every notebook of the course."""

from course_lib.config import budget, device_summary, is_quick, seed_everything

__all__ = ["budget", "device_summary", "is_quick", "seed_everything"]
__version__ = "0.1.0"
