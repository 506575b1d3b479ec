"""The two errors every loader in :mod:`course_lib.data` raises.

:class:`DataNotFoundError` when no place has a data set (its message lists every place
looked in and why it failed); :class:`DataFileError` when a file is there but broken.
"""


class DataNotFoundError(FileNotFoundError):
    """No place the loader knows of has the data set."""


class DataFileError(ValueError):
    """A data file exists but is not what it should be (corrupt, truncated, wrong kind)."""
