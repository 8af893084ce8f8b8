"""Writing safely: no partial outputs, no output over an input, one run per output at a time.

- ``atomic_path`` and ``staged_folder`` write under a temporary name beside the output and
  rename on success, so an output is complete or absent. A folder output replaces the
  folder as a whole: nothing of an earlier run survives beside the new files.
- ``check_outputs`` refuses, before any work, an output that would write over an input,
  that names a file where a folder is meant (and the reverse), or a folder to be replaced
  that rather did not write (its mark: a ``summary.json`` with a ``"command"``).
- ``claimed`` holds an output for one run: an exclusive lock on ``.NAME.lock`` beside it, so
  a second run writing the same output is refused at once instead of mixing its files in.
- ``writing`` does both for a command; a command calls ``claim_outputs`` first thing, which
  keeps the claim until the end of the ``output_claims()`` span the ``rather`` command opens.
- A full disk ends a write with one BadInput naming the file system, the output and the bytes
  needed: ``atomic_path`` checks a size known up front and turns the "no space" error of a write
  into that refusal; ``hdf5_output`` writes HDF5 through a file that never lets the HDF5 library
  see the error (it crashes on one), and reports the disk full once the file is closed.
"""
from __future__ import annotations

import errno
import fcntl
import glob
import io
import json
import os
import re
import shutil
import tempfile
from contextlib import ExitStack, contextmanager
from contextvars import ContextVar
from pathlib import Path
from typing import TYPE_CHECKING, Iterable, Iterator, Mapping, Optional, Union

from .errors import BadInput

if TYPE_CHECKING:
    import h5py

PathLike = Union[str, os.PathLike]
Paths = Union[PathLike, Iterable[PathLike], None]
"""One path, several (``--image a.png b.png``), or None for an option not given."""


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def _real(path: PathLike) -> Path:
    """``path`` with every symbolic link followed (``realpath``): where reads and writes really go."""
    return Path(os.path.realpath(path))


@contextmanager
def atomic_path(path: PathLike, size: Optional[int] = None) -> Iterator[Path]:
    """Yield a temporary path beside ``path``; it becomes ``path`` only if the block succeeds.

    ``size``, when the bytes to write are known, is checked against the free space first
    (``check_space``); a disk that fills while the block writes is refused alike (``no_space``),
    and the temporary file goes either way.

    >>> with atomic_path("out/result.h5") as tmp:
    ...     write_file(tmp)
    """
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    if size is not None:
        check_space(target, size)
    handle, name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    os.close(handle)
    temporary = Path(name)
    temporary.chmod(0o666 & ~_umask())  # mkstemp makes 0600; the result gets an ordinary file's mode
    try:
        yield temporary
        os.replace(temporary, target)
    except OSError as error:
        if not disk_full(error) or not _names_or_unnamed(error, temporary):
            raise  # another file's (an outer atomic_path, or the command, reports it)
        raise no_space(target, needed=size, written=_size(temporary)) from None
    finally:
        temporary.unlink(missing_ok=True)


@contextmanager
def staged_folder(folder: PathLike) -> Iterator[Path]:
    """Yield an empty staging folder; on success it replaces ``folder`` as a whole.

    Either every output of a command lands in ``folder`` or none does, and no file of an
    earlier run survives beside the new ones: an existing ``folder`` is renamed aside
    (``.NAME.XXXXXXXX.old``), the stage renamed into its place, and the old one removed.
    Only an empty folder or one rather wrote (``is_rather_output``) is replaced; any other
    is refused (BadInput), and ``check_outputs`` refuses it before the work starts. The
    staging folder lies beside the real folder (``folder`` resolved), so the renames stay
    on one file system even when ``folder`` is "." or a symbolic link.
    """
    target = _real(folder)
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{target.name}.", suffix=".staging", dir=target.parent))
    staging.chmod(0o777 & ~_umask())  # mkdtemp makes 0700; the output gets an ordinary folder's mode
    try:
        yield staging
        if target.is_dir() and not replaceable(target):
            raise BadInput(_foreign(f"'{folder}'", "the output folder"))
        _swap_in(staging, target)
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def _swap_in(staging: Path, target: Path) -> None:
    """Rename ``staging`` to ``target``; an existing ``target`` goes aside first and is then removed."""
    if not target.exists():
        os.rename(staging, target)
        return
    aside = staging.with_name(staging.name.removesuffix(".staging") + ".old")
    os.rename(target, aside)
    try:
        os.rename(staging, target)
    except BaseException:
        os.rename(aside, target)  # the earlier output stays as it was
        raise
    shutil.rmtree(aside, ignore_errors=True)  # what a failure leaves, the next claim removes


# -- a full disk ----------------------------------------------------------------------------------

DISK_FULL = (errno.ENOSPC, errno.EDQUOT)
"""The errors of a write that found no room: the file system is full, or the user's quota is."""


def disk_full(error: BaseException) -> bool:
    """Whether ``error`` is a write that found no room (an OSError with ENOSPC or EDQUOT)."""
    return isinstance(error, OSError) and error.errno in DISK_FULL


def check_space(path: PathLike, needed: int) -> None:
    """Refuse (``no_space``) to write ``needed`` bytes at ``path`` when its file system has less free."""
    free = free_space(path)
    if free is not None and needed > free:
        raise no_space(path, needed=needed, free=free)


def free_space(path: PathLike) -> Optional[int]:
    """Bytes an ordinary user may still write on the file system of ``path`` (None if it cannot be asked)."""
    try:
        numbers = os.statvfs(_existing(Path(path)))
    except OSError:
        return None
    return numbers.f_bavail * numbers.f_frsize


def no_space(path: PathLike, *, needed: Optional[int] = None, free: Optional[int] = None,
             written: Optional[int] = None) -> BadInput:
    """The one-line refusal of a write to ``path`` that does not fit: where, what, how much, what to do.

    ``needed`` is the size of the whole output where it is known; otherwise ``written`` says
    how far the write got. ``path`` inside a staging folder is shown as the output it becomes.
    """
    if needed is not None:
        free_text = f", {free} free" if free is not None else ""
        amount = f": {needed} bytes needed{free_text}"
    else:
        amount = f" (the disk filled after {written} bytes)" if written else ""
    return BadInput(f"no space left on {_device(Path(path))} writing {_output_name(Path(path))}{amount}; "
                    "free space there or write the output elsewhere")


def no_space_from(error: OSError) -> BadInput:
    """``no_space`` for a write that failed outside ``atomic_path`` (the file its error names, if any)."""
    path = error.filename or error.filename2
    if path is None:
        return BadInput("no space left on the device an output was written to; free space there or write "
                        "the output elsewhere")
    return no_space(os.fsdecode(path))


def _names_or_unnamed(error: OSError, path: Path) -> bool:
    """Whether ``error`` names ``path``, or no file at all (a buffered write's error names none)."""
    named = error.filename if error.filename is not None else error.filename2
    return named is None or os.path.abspath(os.fsdecode(named)) == os.path.abspath(path)


def _existing(path: Path) -> Path:
    """``path`` or its nearest ancestor that exists."""
    path = Path(os.path.abspath(path))
    while not path.exists() and path != path.parent:
        path = path.parent
    return path


def _device(path: Path) -> str:
    """The file system that holds ``path``, named by its mount point (``/``, ``/home``, ``/mnt/scratch``)."""
    mount = _existing(path)
    while not os.path.ismount(mount):
        mount = mount.parent
    return str(mount)


def _output_name(path: Path) -> str:
    """``path`` as the user will know it: relative to the working folder when inside it, a
    ``.NAME.XXXXXXXX.staging`` folder on the way shown as ``NAME``, a ``.NAME.XXXXXXXX.tmp`` file as ``NAME``."""
    staged = re.compile(r"\.(.+)\.[a-z0-9_]{8}\.(staging|tmp)")
    parts = [match.group(1) if (match := staged.fullmatch(part)) else part for part in Path(path).parts]
    shown, here = Path(*parts), Path(os.path.abspath("."))
    return str(shown.relative_to(here)) if shown.is_absolute() and shown.is_relative_to(here) else str(shown)


def _size(path: Path) -> Optional[int]:
    try:
        return path.stat().st_size
    except OSError:
        return None


class _SpaceWatch(io.FileIO):
    """A file for the HDF5 library to write through that hides a full disk from it.

    HDF5 crashes (a segmentation fault, after pages of tracebacks) when a write fails while
    it flushes. Once a write finds no room, this file writes nothing more but answers every
    write as done and keeps count of where the file would end (``needed``); the caller
    discards the file and reports ``no_space`` after HDF5 has closed it.
    """

    def __init__(self, path: Path):
        super().__init__(path, "w+")
        self.full = False
        self.needed = 0

    def write(self, data) -> int:
        view = memoryview(data).cast("B")
        size, start = len(view), self.tell()
        self.needed = max(self.needed, start + size)
        try:
            while view and not self.full:
                view = view[self._write_through(view):]
        except OSError as error:
            if not disk_full(error):
                raise
            self.full = True
        if self.full:
            self.seek(start + size)
        return size

    def _write_through(self, view: memoryview) -> int:
        """Write what the disk takes of ``view``; the number of bytes written."""
        return super().write(view)

    def truncate(self, size: Optional[int] = None) -> int:
        self.needed = max(self.needed, self.tell() if size is None else size)
        return super().truncate(size)


@contextmanager
def hdf5_output(path: PathLike) -> Iterator["h5py.File"]:
    """A new HDF5 file at ``path``, written atomically (``atomic_path``); a full disk is one BadInput.

    >>> with hdf5_output("out/explanations.h5") as store:
    ...     store.create_dataset("maps", data=maps)
    """
    with atomic_path(path) as temporary, hdf5_file(temporary) as store:
        yield store


@contextmanager
def hdf5_file(path: PathLike) -> Iterator["h5py.File"]:
    """A new HDF5 file at ``path`` (a temporary name, see ``hdf5_output``) written through ``_SpaceWatch``:
    a disk that fills is reported (``no_space``, the file removed) once the HDF5 library has closed it."""
    import h5py  # here, not at the top: the rather command imports this module before any work

    file = _SpaceWatch(Path(path))
    try:
        with file, h5py.File(file, "w") as store:
            yield store
    except Exception:
        if not file.full:
            raise  # otherwise what failed is HDF5 reading back what the full disk did not take
    if file.full:
        Path(path).unlink()  # removed first: the free space reported is what the output may take
        raise no_space(path, needed=file.needed, free=free_space(path))


SUMMARY = "summary.json"
"""The file that marks a folder rather wrote: a JSON object with a ``"command"`` (the command that wrote it)."""
_LARGEST_SUMMARY = 64 * 2 ** 20


def is_rather_output(folder: PathLike) -> bool:
    """Whether ``folder`` holds the summary.json of a rather command: a JSON object naming its ``"command"``,
    in a plain file (rather never writes a link, a pipe or a file of more than 64 MiB there)."""
    summary = Path(folder) / SUMMARY
    try:
        if summary.is_symlink() or not summary.is_file() or summary.stat().st_size > _LARGEST_SUMMARY:
            return False
        content = json.loads(summary.read_bytes())
    except (OSError, ValueError):
        return False
    return isinstance(content, dict) and isinstance(content.get("command"), str)


def replaceable(folder: PathLike) -> bool:
    """Whether a folder output may replace ``folder``: it is empty, or rather wrote it."""
    with os.scandir(folder) as entries:
        empty = next(entries, None) is None
    return empty or is_rather_output(folder)


def _foreign(shown: str, argument: str) -> str:
    """The refusal of a folder output that holds files rather did not write."""
    return (f"{argument} {shown} holds files that rather did not write (it has no {SUMMARY} of a rather "
            f"command); rather replaces {argument} as a whole: give a new or empty folder")


# -- outputs never write over inputs ---------------------------------------------------------------

def check_outputs(*, folders: Optional[Mapping[str, Optional[PathLike]]] = None,
                  files: Optional[Mapping[str, Optional[PathLike]]] = None,
                  inputs: Optional[Mapping[str, Paths]] = None) -> None:
    """Refuse (BadInput) outputs that would write over an input or cannot be written as meant.

    ``folders`` and ``files`` map each output's argument (``"--out"``) to its path (None:
    not written); ``inputs`` map each input's argument to its path(s): files and folders
    the command reads. Paths are compared after following symbolic links, and an input
    that is itself a link is also protected where the link lies. Refused:

    - an output that is an input;
    - a folder output that holds an input at any depth (``--out .`` beside the survey);
    - a folder output that is an existing file, a file output that is an existing folder;
    - an output under something that is not a folder (``--out survey.sgy/maps``);
    - an existing folder output that is not ``replaceable`` (it holds files rather did not
      write), or that holds the working folder (replacing it would pull the folder from under
      the shell).

    An output inside an input folder (``--out DATA/audit``) is allowed. Nothing is written.
    """
    protected = list(_inputs(inputs or {}))
    for is_folder, outputs in ((True, folders or {}), (False, files or {})):
        for argument, given in outputs.items():
            if given is None:
                continue
            _check_parents(argument, given)
            out = _real(given)
            for input_argument, input_given, places in protected:
                if out in places:
                    raise BadInput(f"{argument} {_shown(given)} is the input {input_argument} '{input_given}'; "
                                   f"rather never writes over its inputs: choose another {argument}")
                if is_folder and any(place.is_relative_to(out) for place in places):
                    raise BadInput(f"{argument} {_shown(given)} holds the input {input_argument} '{input_given}'; "
                                   f"rather never writes into a folder that holds its inputs: choose another "
                                   f"{argument}, e.g. a new folder")
            if is_folder and out.exists() and not out.is_dir():
                raise BadInput(f"{argument} {_shown(given)} is a file, not a folder; give {argument} a folder "
                               "(a new one, or one rather wrote before, to replace)")
            if is_folder and out.is_dir():
                _check_replaceable(argument, given, out)
            if not is_folder and out.is_dir():
                raise BadInput(f"{argument} {_shown(given)} is a folder; give {argument} the path of a file")


def _check_replaceable(argument: str, given: PathLike, out: Path) -> None:
    """Refuse an existing folder output that a run may not replace as a whole."""
    if not replaceable(out):
        raise BadInput(_foreign(_shown(given), argument))
    if _real(os.getcwd()).is_relative_to(out):
        raise BadInput(f"{argument} {_shown(given)} holds the folder this command runs in; rather replaces "
                       f"{argument} as a whole: run it from outside that folder")


def _inputs(inputs: Mapping[str, Paths]) -> Iterator[tuple[str, str, set[Path]]]:
    """(argument, path as given, the places it occupies) for every input path."""
    for argument, value in inputs.items():
        if value is None:
            continue
        for given in [value] if isinstance(value, (str, os.PathLike)) else value:
            beside = Path(os.path.abspath(given))
            # the file the path reaches, and the entry itself (a link lying in a folder)
            yield argument, str(given), {_real(given), _real(beside.parent) / beside.name}


def _check_parents(argument: str, given: PathLike) -> None:
    """Refuse an output whose nearest existing ancestor is not a folder (a file, a broken link)."""
    for ancestor in _real(given).parents:
        if os.path.lexists(ancestor):
            if not ancestor.is_dir():
                raise BadInput(f"{argument} '{given}' lies under '{ancestor}', which is not a folder; "
                               f"choose {argument} inside a folder")
            return


def _shown(given: PathLike) -> str:
    """``'given'``, and where it really leads when a symbolic link is on the way."""
    real = _real(given)
    return f"'{given}'" if real == Path(os.path.abspath(given)) else f"'{given}' (that is '{real}')"


# -- one run per output ----------------------------------------------------------------------------

@contextmanager
def claimed(path: PathLike, argument: str = "--out") -> Iterator[Path]:
    """Hold the output ``path`` for this run; yield its real path.

    The claim is an exclusive, non-blocking ``flock`` on ``.NAME.lock`` beside the real
    output. It also covers whatever else the run keeps under that name beside it
    (``.NAME.parts`` of a Dask job, staging). A second claim, from any process or from this
    one, is refused at once (BadInput) and leaves nothing behind. Once held, leftovers
    of a killed run writing the same output (``.NAME.*.staging``, ``.NAME.*.tmp``,
    ``.NAME.*.old``) are removed: no one else is writing them. Folders made to hold the
    lock are removed again if the run leaves them empty. The lock file is removed while
    still locked, so a run that opened it just before cannot lock a file that no longer
    names the output (``_lock`` checks that and retries on the current file).
    """
    target = _real(path)
    made = _make_folders(target.parent, argument, path)
    try:
        lock = target.parent / f".{target.name}.lock"
        descriptor = _lock(lock, argument, path)
        try:
            _remove_leftovers(target)
            yield target
        finally:
            lock.unlink(missing_ok=True)
            os.close(descriptor)
    finally:
        for folder in reversed(made):
            try:
                folder.rmdir()
            except OSError:  # not empty: it holds the outputs (or someone else's files)
                break


def _make_folders(folder: Path, argument: str, given: PathLike) -> list[Path]:
    """Create ``folder`` and its missing ancestors; return those created, outermost first."""
    missing = [ancestor for ancestor in (folder, *folder.parents) if not os.path.lexists(ancestor)][::-1]
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise BadInput(f"cannot create the folder '{folder}' for {argument} '{given}' ({error.strerror}); "
                       f"choose another {argument}") from None
    return missing


def _lock(lock: Path, argument: str, given: PathLike) -> int:
    """An open descriptor of ``lock``, exclusively locked; BadInput if another run holds it."""
    while True:
        try:
            descriptor = os.open(lock, os.O_RDWR | os.O_CREAT, 0o666)
        except OSError as error:
            raise BadInput(f"cannot write beside {argument} '{given}' ({error.strerror}: '{lock.parent}'); "
                           f"choose another {argument}") from None
        try:
            fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(descriptor)
            raise BadInput(f"{argument} '{given}' is being written by another rather run (it holds '{lock}'); "
                           f"wait for that run to end, or choose another {argument}") from None
        if _names(lock, descriptor):
            return descriptor
        os.close(descriptor)  # its holder removed this file on the way out: lock the one the name has now


def _names(path: Path, descriptor: int) -> bool:
    """Whether ``path`` is still the file open as ``descriptor``."""
    try:
        current = os.stat(path)
    except FileNotFoundError:
        return False
    opened = os.fstat(descriptor)
    return (current.st_dev, current.st_ino) == (opened.st_dev, opened.st_ino)


def _remove_leftovers(target: Path) -> None:
    """Remove the staging folders, temporary files and earlier outputs set aside that a killed run left
    beside ``target``."""
    leftover = re.compile(rf"\.{re.escape(target.name)}\.[a-z0-9_]{{8}}\.(staging|tmp|old)")
    for path in target.parent.glob(glob.escape(f".{target.name}.") + "*"):
        if not leftover.fullmatch(path.name):
            continue
        if path.is_dir() and not path.is_symlink():
            shutil.rmtree(path, ignore_errors=True)
        else:
            path.unlink(missing_ok=True)


@contextmanager
def writing(*, folders: Optional[Mapping[str, Optional[PathLike]]] = None,
            files: Optional[Mapping[str, Optional[PathLike]]] = None,
            inputs: Optional[Mapping[str, Paths]] = None) -> Iterator[None]:
    """``check_outputs`` then ``claimed`` for every output, held for the block."""
    check_outputs(folders=folders, files=files, inputs=inputs)
    with ExitStack() as stack:
        for argument, path in {**(folders or {}), **(files or {})}.items():
            if path is not None:
                stack.enter_context(claimed(path, argument))
        yield


_claims: ContextVar[Optional[ExitStack]] = ContextVar("rather_output_claims", default=None)


@contextmanager
def output_claims() -> Iterator[None]:
    """The span of one command: outputs claimed inside it (``claim_outputs``) are released when it ends."""
    with ExitStack() as stack:
        token = _claims.set(stack)
        try:
            yield
        finally:
            _claims.reset(token)


def claim_outputs(*, folders: Optional[Mapping[str, Optional[PathLike]]] = None,
                  files: Optional[Mapping[str, Optional[PathLike]]] = None,
                  inputs: Optional[Mapping[str, Paths]] = None) -> None:
    """``writing(...)`` held until the enclosing ``output_claims()`` ends: the first thing a command does.

    >>> claim_outputs(folders={"--out": args.out}, inputs={"--image": args.image})
    """
    stack = _claims.get()
    if stack is None:
        raise RuntimeError("claim_outputs() needs an enclosing output_claims() (the rather command opens one)")
    stack.enter_context(writing(folders=folders, files=files, inputs=inputs))
