"""Bach's four-part chorales, offline: the MusicXML files that the ``music21`` wheel ships.

* :func:`chorale_paths`: the Bach files of music21's corpus (no network).
* :func:`parse_chorale`: one score -> a :class:`Chorale`, its four voices as note lists
  (onset and length in quarter notes, MIDI pitch), soprano first; a score that does not
  have exactly four parts raises a clear error.
* :func:`load_chorales`: every four-part chorale, parsed once and cached as JSON
  (``$COURSE_DATA_DIR/bach_chorales_<music21 version>.json``, else the Keras cache).
  Parsing the 410 files took 187 s on the course's shared 2-core machine (2026-11-29;
  about 0.25 s a file when it is idle), keeping 365; the cache reads in under a second. ``limit`` parses only the first chorales, for quick mode.
* :func:`split_chorales`: a held-out set **by chorale** (every tenth, by name), so no
  chorale gives notes to both sides; :func:`transpose` moves a chorale by semitones
  (every interval kept), :func:`all_keys` makes the twelve transpositions that fit the
  voices' MIDI range.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from pathlib import Path

from course_lib.conventions import as_int
from course_lib.data.download import course_data_dir, keras_cache_dir
from course_lib.data.errors import DataFileError, DataNotFoundError

VOICES = ("soprano", "alto", "tenor", "bass")
# The MIDI pitches the encoding can hold (E1 to C7): every chorale in all twelve keys fits.
LOWEST_PITCH, HIGHEST_PITCH = 28, 96
MODES = ("major", "minor")


@dataclass
class Chorale:
    """One chorale: its name, key and four voices (soprano, alto, tenor, bass).

    ``voices[v]`` is a list of ``(onset, length, pitch)`` notes: onset and length in
    quarter notes (floats), pitch a MIDI number (60 = middle C); silence is a gap.
    ``tonic`` is the key's pitch class (0 = C ... 11 = B), ``mode`` "major" or "minor",
    ``length`` the whole piece in quarter notes, ``beats_per_bar`` from its time signature.
    """

    name: str
    voices: list
    tonic: int = 0
    mode: str = "major"
    length: float = 0.0
    beats_per_bar: float = 4.0
    meta: dict = field(default_factory=dict)

    def __post_init__(self):
        if len(self.voices) != 4:
            raise ValueError(
                f"a chorale needs exactly 4 voices (soprano, alto, tenor, bass); "
                f"{self.name!r} has {len(self.voices)}"
            )
        if self.mode not in MODES:
            raise ValueError(f"mode must be 'major' or 'minor'; got {self.mode!r}")
        self.voices = [[(float(o), float(d), int(p)) for o, d, p in v] for v in self.voices]
        end = max((o + d for v in self.voices for o, d, _ in v), default=0.0)
        self.length = max(float(self.length), end)

    def pitches(self) -> list[int]:
        """Every pitch of every voice, in one list."""
        return [p for v in self.voices for _, _, p in v]

    def to_dict(self) -> dict:
        return {
            "name": self.name,
            "voices": self.voices,
            "tonic": self.tonic,
            "mode": self.mode,
            "length": self.length,
            "beats_per_bar": self.beats_per_bar,
        }


def transpose(chorale: Chorale, semitones: int) -> Chorale:
    """The same chorale moved up (``semitones`` > 0) or down: every interval is kept."""
    semitones = as_int(semitones, "semitones", minimum=-127)
    if not isinstance(chorale, Chorale):
        raise TypeError(f"chorale must be a Chorale; got {type(chorale).__name__}")
    voices = [[(o, d, p + semitones) for o, d, p in v] for v in chorale.voices]
    pitches = [p for v in voices for _, _, p in v]
    if pitches and not (0 <= min(pitches) and max(pitches) <= 127):
        raise ValueError(f"transposing {chorale.name} by {semitones} leaves MIDI's 0-127 range")
    return Chorale(
        f"{chorale.name}{semitones:+d}" if semitones else chorale.name,
        voices,
        (chorale.tonic + semitones) % 12,
        chorale.mode,
        chorale.length,
        chorale.beats_per_bar,
    )


def all_keys(chorale: Chorale) -> list[Chorale]:
    """The chorale in all twelve keys (shifts -6 to +5 semitones) whose notes stay inside
    the encoding's range (:data:`LOWEST_PITCH` to :data:`HIGHEST_PITCH`)."""
    pitches = chorale.pitches()
    low, high = min(pitches), max(pitches)
    return [
        transpose(chorale, s)
        for s in range(-6, 6)
        if low + s >= LOWEST_PITCH and high + s <= HIGHEST_PITCH
    ]


def chorale_paths() -> list[Path]:
    """The Bach MusicXML files that music21's wheel ships, sorted by name."""
    try:
        from music21 import corpus
    except ImportError as err:  # pragma: no cover - music21 is in requirements.txt
        raise DataNotFoundError("the Bach chorales come with music21: pip install music21") from err
    paths = [Path(p) for p in corpus.getComposer("bach")]
    return sorted(
        (p for p in paths if p.suffix in (".mxl", ".xml", ".musicxml")), key=lambda p: p.name
    )


def parse_chorale(score, name: str | None = None) -> Chorale:
    """A music21 score (or a path to a MusicXML file) -> a :class:`Chorale`.

    The score must have exactly four parts, top to bottom soprano, alto, tenor, bass.
    Tied notes become one note; a chord inside one voice keeps its top note in the upper
    two voices and its bottom note in the lower two. The key is music21's estimate.
    """
    from music21 import converter, stream

    if isinstance(score, (str, Path)):
        name = name or Path(score).name.split(".mxl")[0]
        score = converter.parse(str(score))
    if not isinstance(score, stream.Score):
        raise TypeError(f"score must be a music21 Score or a MusicXML path; got {type(score)}")
    name = name or (score.metadata.title if score.metadata and score.metadata.title else "score")
    parts = list(score.parts)
    if len(parts) != 4:
        raise ValueError(
            f"{name}: a chorale needs exactly 4 parts (soprano, alto, tenor, bass); this "
            f"score has {len(parts)} ({', '.join(str(p.partName) for p in parts)})"
        )
    voices = []
    for index, part in enumerate(parts):
        notes = []
        for element in part.stripTies().flatten().notes:
            length = float(element.duration.quarterLength)
            if length <= 0:  # grace notes have no length on the grid
                continue
            midis = [p.midi for p in element.pitches]
            pitch = max(midis) if index < 2 else min(midis)
            notes.append((float(element.offset), length, pitch))
        voices.append(notes)
    key = score.analyze("key")
    signature = score.recurse().getElementsByClass("TimeSignature").first()
    beats = float(signature.barDuration.quarterLength) if signature is not None else 4.0
    mode = key.mode if key.mode in MODES else "major"
    return Chorale(name, voices, key.tonic.pitchClass, mode, float(score.highestTime), beats)


def chorales_cache_path() -> Path:
    """Where :func:`load_chorales` keeps the parsed corpus (one JSON file per music21
    version): ``$COURSE_DATA_DIR`` when set, else the Keras cache folder."""
    import music21

    name = f"bach_chorales_{music21.__version__}.json"
    base = course_data_dir() or keras_cache_dir("bach-chorales")
    return base / name


def _read_cache(path: Path) -> list[Chorale]:
    try:
        rows = json.loads(path.read_text())["chorales"]
        return [Chorale(**row) for row in rows]
    except (OSError, ValueError, KeyError, TypeError) as err:
        raise DataFileError(
            f"{path} is not a chorale cache ({err}); delete it to re-parse"
        ) from err


def load_chorales(limit: int | None = None, *, cache: bool = True, verbose: bool = True):
    """Every four-part Bach chorale that music21 ships, as :class:`Chorale` objects.

    Files whose score does not have four parts (some have extra instruments) are skipped.
    The parsed corpus is cached (:func:`chorales_cache_path`), so only the first call
    is slow. ``limit`` keeps the first ``limit`` chorales by name: with no full cache,
    only those are parsed (and cached in a file of their own).
    """
    if limit is not None:
        limit = as_int(limit, "limit")
    path = chorales_cache_path()
    small = path.with_name(path.stem + f"_first{limit}.json") if limit else None
    for candidate in (path, small):
        if cache and candidate is not None and candidate.exists():
            chorales = _read_cache(candidate)[:limit]
            if verbose:
                print(f"Bach chorales: {len(chorales)} from the cache {candidate}")
            return chorales
    start, chorales, skipped = time.perf_counter(), [], 0
    for file in chorale_paths():
        if limit is not None and len(chorales) >= limit:
            break
        try:
            chorales.append(parse_chorale(file))
        except ValueError:
            skipped += 1
    if not chorales:
        raise DataNotFoundError("music21's corpus has no four-part Bach chorale")
    seconds = time.perf_counter() - start
    if cache:
        target = small if limit is not None else path
        target.parent.mkdir(parents=True, exist_ok=True)
        part = target.with_suffix(".part")
        part.write_text(json.dumps({"chorales": [c.to_dict() for c in chorales]}))
        part.replace(target)
    if verbose:
        print(
            f"Bach chorales: parsed {len(chorales)} four-part chorales from music21's corpus "
            f"in {seconds:.0f} s ({skipped} files with other than four parts skipped)"
        )
    return chorales


def split_chorales(chorales, held_out_every: int = 10):
    """(train, held_out): every ``held_out_every``-th chorale by name is held out.

    The split is by chorale, fixed by the sorted names, so the same chorale is held out
    whatever else is loaded.
    """
    held_out_every = as_int(held_out_every, "held_out_every", minimum=2)
    ordered = sorted(chorales, key=lambda c: c.name)
    held = {c.name for i, c in enumerate(ordered) if i % held_out_every == held_out_every - 1}
    train = [c for c in chorales if c.name not in held]
    test = [c for c in chorales if c.name in held]
    if not train or not test:
        raise ValueError(
            f"need at least {held_out_every} chorales to hold one out; got {len(chorales)}"
        )
    return train, test
