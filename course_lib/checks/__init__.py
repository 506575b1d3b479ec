"""One module of exercise checks per chapter, built on :mod:`course_lib.grading`.

In an exercise notebook: ``from course_lib.checks import ch00 as check`` and then
``check.batches_per_epoch(batches_per_epoch)``.
"""
