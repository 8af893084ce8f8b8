"""Data manifests: what a local copy of an external data set must hold, and a checker driven by them.

A manifest is one JSON file in ``data_manifests/`` (installed as ``rather.data_manifests``).
Its ``layouts`` list the accepted arrangements of a copy; each layout is a list of
expectations, checked against the folder a user points at:

- ``{"path": "dmos.csv", "lines": 10126, "sha256": null}``: a file (a folder when the
  path ends in ``/``) that must exist; optionally its number of non-blank lines and its
  checksum (``sha256`` or ``md5``, checked only when recorded, never invented);
- ``{"glob": "images/*/", "count": 200}``: the number of files (folders, with a trailing
  ``/``) matching a pattern, exactly (``count``) or at least (``min``);
- ``"each": {"glob": "*.JPEG", "count": 50}`` added to a folder pattern: every matched
  folder holds that many matching files (per-class counts).

Patterns are shell-style per path segment (``*``, ``?``, ``[...]``) and match names
case-insensitively, since copies of one archive differ in case across platforms.
A copy is valid when one of its manifest's layouts has no problem.

The checker opens only regular files (a named pipe would block it, a device would never
end) and reads them in bounded blocks (a file without line breaks is not one huge line);
a manifest file is read only up to ``LARGEST_MANIFEST`` bytes.
"""
from __future__ import annotations

import copy
import difflib
import hashlib
import json
import os
import re
import stat
from contextlib import contextmanager
from dataclasses import dataclass, field
from fnmatch import fnmatchcase
from importlib import resources
from pathlib import Path
from typing import Any, BinaryIO, Iterator

from rather.common.errors import BadInput

REQUIRED_KEYS = ("name", "title", "task", "domain", "summary", "root", "layouts", "conventions", "checksums",
                 "citation", "licence", "obtain")
"""Keys every manifest has."""

CHECKSUM_KINDS = ("sha256", "md5")

LARGEST_MANIFEST = 2 ** 20
"""A manifest is a few kilobytes; a larger file is not one."""

BLOCK = 2 ** 20
"""Files are read this many bytes at a time."""


@dataclass(frozen=True)
class Tree:
    """Every file and folder under a root, as relative paths split into lower-cased segments."""

    root: Path
    files: tuple[tuple[str, ...], ...]
    folders: tuple[tuple[str, ...], ...]
    names: dict[tuple[str, ...], str]
    """Lower-cased segments -> the relative path as spelled on disk."""

    @classmethod
    def scan(cls, root: Path) -> "Tree":
        files, folders, names = [], [], {}
        for folder, subfolders, filenames in os.walk(root):
            here = Path(folder).relative_to(root).parts
            subfolders.sort()
            for name, kind in [(n, folders) for n in subfolders] + [(n, files) for n in sorted(filenames)]:
                parts = here + (name,)
                key = tuple(part.lower() for part in parts)
                kind.append(key)
                names[key] = "/".join(parts)
        return cls(root, tuple(files), tuple(folders), names)

    def matches(self, pattern: str) -> list[tuple[str, ...]]:
        """Paths matching ``pattern`` (folders when it ends in ``/``), segment by segment, ignoring case."""
        segments = tuple(segment.lower() for segment in pattern.strip("/").split("/"))
        candidates = self.folders if pattern.endswith("/") else self.files
        return [path for path in candidates if len(path) == len(segments)
                and all(fnmatchcase(part, glob) for part, glob in zip(path, segments))]

    def spelled(self, path: tuple[str, ...], folder: bool = False) -> str:
        return self.names[path] + ("/" if folder else "")

    def subtree(self, folder: tuple[str, ...]) -> "Tree":
        """The tree under one of its top-level folders, without scanning again."""
        def inside(paths: tuple[tuple[str, ...], ...]) -> tuple[tuple[str, ...], ...]:
            return tuple(path[1:] for path in paths if len(path) > 1 and path[:1] == folder)

        names = {path[1:]: name.split("/", 1)[1] for path, name in self.names.items()
                 if len(path) > 1 and path[:1] == folder}
        return Tree(self.root / self.names[folder], inside(self.files), inside(self.folders), names)


@dataclass
class Report:
    """The outcome of checking a copy against one layout of a manifest."""

    name: str
    path: str
    layout: str
    problems: list[str] = field(default_factory=list)
    checks: int = 0
    satisfied: int = 0
    """Expectations met: the layout a copy resembles most is the one with the most."""
    hint: str = ""

    @property
    def valid(self) -> bool:
        return not self.problems

    def as_dict(self) -> dict[str, Any]:
        return {"name": self.name, "path": self.path, "valid": self.valid, "layout": self.layout,
                "checks": self.checks, "problems": list(self.problems), "hint": self.hint}


def _normalised(name: str) -> str:
    return re.sub(r"[^a-z0-9]", "", name.lower())


def _manifest_files() -> Iterator[Any]:
    folder = resources.files("rather.data_manifests")
    return (item for item in sorted(folder.iterdir(), key=lambda item: item.name) if item.name.endswith(".json"))


def read_manifest(source: Any) -> dict[str, Any]:
    """The manifest in a JSON file (a path or an ``importlib.resources`` file), validated."""
    label = getattr(source, "name", str(source))
    try:
        text = _manifest_bytes(source).decode("utf-8")
        manifest = json.loads(text)
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as error:
        raise BadInput(f"manifest {label}: cannot be read as JSON ({_reason(error)}); pass a manifest file or a "
                       "name from `rather data list`") from None
    validate_manifest(manifest, label)
    return manifest


def _manifest_bytes(source: Any) -> bytes:
    """The bytes of a manifest: a path opened only as a regular file of at most ``LARGEST_MANIFEST`` bytes."""
    if not isinstance(source, Path):
        return source.read_bytes()  # one that ships with rather
    problem = not_a_file(source)
    if problem:
        raise BadInput(f"manifest file {source}: {problem}; pass a manifest .json file or a name from "
                       "`rather data list`")
    with regular_file(source) as handle:
        content = handle.read(LARGEST_MANIFEST + 1)
    if len(content) > LARGEST_MANIFEST:
        raise BadInput(f"manifest file {source}: larger than {LARGEST_MANIFEST} bytes, too large for a manifest; "
                       "pass a manifest .json file or a name from `rather data list`")
    return content


def _reason(error: Exception) -> str:
    """What went wrong in a few words: an OSError's own text without the path, a decoder's message."""
    return error.strerror if isinstance(error, OSError) and error.strerror else str(error)


FILE_KINDS = {stat.S_IFDIR: "a folder", stat.S_IFIFO: "a named pipe", stat.S_IFCHR: "a character device",
              stat.S_IFBLK: "a block device", stat.S_IFSOCK: "a socket"}


def not_a_file(path: Path) -> str | None:
    """Why ``path`` (links followed) cannot be read as a file ("is a named pipe", "does not exist");
    None for a regular file.

    Only ``stat`` is asked: nothing is opened, so a pipe or a device is never read.
    """
    try:
        mode = os.stat(path).st_mode
    except FileNotFoundError:
        return "is a broken link" if os.path.islink(path) else "does not exist"
    except OSError as error:
        return f"cannot be read ({_reason(error)})"
    if stat.S_ISREG(mode):
        return None
    return f"is {FILE_KINDS.get(stat.S_IFMT(mode), 'not a regular file')}"


@contextmanager
def regular_file(path: Path) -> Iterator[BinaryIO]:
    """``path`` open for reading, refused (OSError) unless it is a regular file once opened.

    Opened without blocking, so a named pipe put there after ``not_a_file`` looked cannot
    hold the checker up; checked again on the open descriptor.
    """
    descriptor = os.open(path, os.O_RDONLY | os.O_NONBLOCK)
    try:
        if not stat.S_ISREG(os.fstat(descriptor).st_mode):
            raise OSError(f"{path} is not a regular file")
        os.set_blocking(descriptor, True)
        handle = os.fdopen(descriptor, "rb")
    except BaseException:
        os.close(descriptor)
        raise
    with handle:
        yield handle


def _blocks(path: Path) -> Iterator[bytes]:
    """The bytes of the regular file ``path``, ``BLOCK`` at a time."""
    with regular_file(path) as handle:
        yield from iter(lambda: handle.read(BLOCK), b"")


def all_manifests() -> list[dict[str, Any]]:
    """Every manifest that ships with rather, sorted by file name."""
    return [read_manifest(item) for item in _manifest_files()]


def find_manifest(name: str) -> dict[str, Any]:
    """The manifest called ``name`` (case, spaces and punctuation ignored), or that in the JSON file ``name``."""
    if name.lower().endswith(".json"):
        return read_manifest(Path(name))
    manifests = all_manifests()
    wanted = _normalised(name)
    for manifest in manifests:
        if _normalised(manifest["name"]) == wanted:
            return manifest
    known = {_normalised(m["name"]): m["name"] for m in manifests}
    close = [known[key] for key in known if wanted and wanted in key]
    close += [known[key] for key in difflib.get_close_matches(wanted, list(known), n=3, cutoff=0.6)
              if known[key] not in close]
    close = close[:3]
    hint = f"close matches: {', '.join(close)}" if close else f"known: {', '.join(m['name'] for m in manifests)}"
    raise BadInput(f"unknown data set {name!r}; {hint} (see `rather data list`)")


def validate_manifest(manifest: Any, label: str = "manifest") -> None:
    """Refuse a manifest that lacks a required key or holds an expectation the checker cannot run."""
    def refuse(what: str) -> None:
        raise BadInput(f"{label}: {what}; fix the manifest (its format is described in data_manifests/README.md)")

    if not isinstance(manifest, dict):
        refuse("is not a JSON object")
    missing = [key for key in REQUIRED_KEYS if key not in manifest]
    if missing:
        refuse(f"lacks {', '.join(missing)}")
    if not isinstance(manifest["layouts"], list) or not manifest["layouts"]:
        refuse("'layouts' must be a non-empty list")
    for layout in manifest["layouts"]:
        if not isinstance(layout, dict) or not layout.get("name") or not layout.get("expect"):
            refuse("every layout needs a 'name' and a non-empty 'expect' list")
        for expectation in layout["expect"]:
            problem = _expectation_problem(expectation)
            if problem:
                refuse(f"layout {layout['name']!r}: {problem}: {json.dumps(expectation)}")


def _expectation_problem(entry: Any) -> str | None:
    if not isinstance(entry, dict) or ("path" in entry) == ("glob" in entry):
        return "an expectation needs exactly one of 'path' and 'glob'"
    if "path" in entry:
        if any(character in entry["path"] for character in "*?["):
            return "'path' names one file; use 'glob' for patterns"
        for kind in CHECKSUM_KINDS:
            value = entry.get(kind)
            if value is not None and not re.fullmatch(r"[0-9a-f]+", str(value)):
                return f"'{kind}' must be lower-case hexadecimal or null"
        if "lines" in entry and not _is_count(entry["lines"]):
            return "'lines' must be a non-negative integer"
        return None
    if ("count" in entry) == ("min" in entry) or not _is_count(entry.get("count", entry.get("min"))):
        return "a 'glob' needs exactly one of 'count' and 'min', a non-negative integer"
    each = entry.get("each")
    if each is not None:
        if not entry["glob"].endswith("/"):
            return "'each' applies to a folder pattern (ending in '/')"
        if not isinstance(each, dict) or "glob" not in each or not _is_count(each.get("count")):
            return "'each' needs a 'glob' and a 'count'"
    return None


def _is_count(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0


def _digest(path: Path, kind: str) -> str:
    hasher = hashlib.new(kind)
    for block in _blocks(path):
        hasher.update(block)
    return hasher.hexdigest()


def _non_blank_lines(path: Path) -> int:
    """The lines of ``path`` holding more than white space, read block by block (a line may be any length)."""
    count, filled = 0, False  # filled: the line read so far holds more than white space
    for block in _blocks(path):
        *ended, rest = block.split(b"\n")
        for line in ended:
            count += filled or bool(line.strip())
            filled = False
        filled = filled or bool(rest.strip())
    return count + filled


def _what(entry: dict[str, Any]) -> str:
    return f" ({entry['what']})" if entry.get("what") else ""


def plural(count: int, noun: str) -> str:
    return f"{count} {noun}" + ("" if count == 1 else "s")


def _check_path(tree: Tree, entry: dict[str, Any]) -> list[str]:
    path = entry["path"]
    found = tree.matches(path)
    if not found:
        if tree.matches(path + "/"):
            return [f"not a file: {path} is a folder{_what(entry)}"]
        return [f"missing: {path}{_what(entry)}"]
    on_disk = tree.root / tree.spelled(found[0])
    problem = not_a_file(on_disk)
    if problem:
        return [f"not a file: {path} {problem}{_what(entry)}"]
    problems = []
    if "lines" in entry:
        lines = _non_blank_lines(on_disk)
        if lines != entry["lines"]:
            problems.append(f"wrong length: {path} has {lines} lines, expected {entry['lines']}{_what(entry)}")
    for kind in CHECKSUM_KINDS:
        if entry.get(kind):
            digest = _digest(on_disk, kind)
            if digest != entry[kind]:
                problems.append(f"wrong checksum: {path} has {kind} {digest}, expected {entry[kind]}")
    return problems


def _check_glob(tree: Tree, entry: dict[str, Any]) -> list[str]:
    pattern = entry["glob"]
    found = tree.matches(pattern)
    kind = "folders" if pattern.endswith("/") else "files"
    if "count" in entry and len(found) != entry["count"]:
        return [f"wrong count: {pattern} matches {len(found)} {kind}, expected {entry['count']}{_what(entry)}"]
    if "min" in entry and len(found) < entry["min"]:
        return [f"too few: {pattern} matches {len(found)} {kind}, expected at least {entry['min']}{_what(entry)}"]
    each = entry.get("each")
    if not each:
        return []
    depth = len(pattern.strip("/").split("/"))
    inside: dict[tuple[str, ...], int] = {folder: 0 for folder in found}
    for path in tree.matches(pattern + each["glob"]):
        inside[path[:depth]] += 1
    return [f"wrong count: {tree.spelled(folder, folder=True)} holds {plural(count, 'file')} matching {each['glob']}, "
            f"expected {each['count']}" for folder, count in inside.items() if count != each["count"]]


def check_layout(tree: Tree, manifest: dict[str, Any], layout: dict[str, Any], path: str) -> Report:
    """Every problem of the copy in ``tree`` with respect to one layout, one line each."""
    report = Report(manifest["name"], path, layout["name"])
    for entry in layout["expect"]:
        problems = _check_path(tree, entry) if "path" in entry else _check_glob(tree, entry)
        report.problems += problems
        report.checks += 1
        report.satisfied += not problems
    return report


def check_copy(manifest: dict[str, Any], root: str | os.PathLike) -> Report:
    """Check the copy at ``root`` against each layout of ``manifest``.

    The report returned is a valid layout's, else that of the layout the copy resembles
    most (the most expectations met, then the fewest problems). When the copy meets no
    expectation at all but a folder inside it does, the report's hint names that folder.
    """
    folder = Path(root)
    if not folder.exists():
        raise BadInput(f"{root}: does not exist; pass the folder that holds the copy of {manifest['name']} "
                       f"({manifest['root']})")
    if not folder.is_dir():
        raise BadInput(f"{root}: {not_a_file(folder) or 'is a file'}, not a folder; pass the folder that holds the "
                       f"copy of {manifest['name']}")
    tree = Tree.scan(folder)
    report = _best(tree, manifest, str(root))
    if not report.satisfied:
        inner = [_best(tree.subtree(sub), manifest, str(folder / tree.names[sub])) for sub in tree.folders
                 if len(sub) == 1]
        closer = max(inner, key=lambda candidate: candidate.satisfied, default=report)
        if closer.satisfied:
            report.hint = (f"hint: {closer.path} looks like the copy ({closer.satisfied} of {closer.checks} "
                           "expectations met there); check that folder")
    return report


def _best(tree: Tree, manifest: dict[str, Any], path: str) -> Report:
    reports = [check_layout(tree, manifest, layout, path) for layout in manifest["layouts"]]
    return min(reports, key=lambda report: (not report.valid, -report.satisfied, len(report.problems)))


def with_counts(manifest: dict[str, Any], counts: dict[str, Any]) -> dict[str, Any]:
    """A copy of ``manifest`` whose expectations named in ``counts`` (by path or glob) expect other numbers.

    A path's number replaces its ``lines``; a glob's its ``count`` or ``min``; a pair
    ``(n, m)`` for a glob with ``each`` sets both its count and the count in each folder.
    Used to check small copies (tests, subsets) against a real manifest's layout.
    """
    changed = copy.deepcopy(manifest)
    unused = set(counts)
    for layout in changed["layouts"]:
        for entry in layout["expect"]:
            key = entry.get("path", entry.get("glob"))
            if key not in counts:
                continue
            unused.discard(key)
            number = counts[key]
            if "path" in entry:
                entry["lines"] = number
                continue
            if isinstance(number, (tuple, list)):
                number, entry["each"]["count"] = number
            entry["count" if "count" in entry else "min"] = number
    if unused:
        raise BadInput(f"{manifest['name']}: no expectation named {', '.join(sorted(unused))}")
    return changed
