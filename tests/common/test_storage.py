"""rather.common.storage: outputs never over inputs, one run per output, nothing partial left behind."""
import errno
import json
import os
import threading
from contextlib import ExitStack
from pathlib import Path

import h5py
import numpy as np
import pytest

from rather.common import BadInput
from rather.common import storage
from rather.common.storage import (atomic_path, check_outputs, claim_outputs, claimed, output_claims,
                                   staged_folder, writing)


@pytest.fixture
def layout(tmp_path, monkeypatch):
    """tmp_path as the working folder: survey.sgy, data/ (a data folder), deep/er/image.png, link -> deep/er,
    empty/ and earlier/ (an explain run's output: summary.json and figure.png)."""
    monkeypatch.chdir(tmp_path)
    Path("survey.sgy").write_bytes(b"survey")
    Path("data/cats").mkdir(parents=True)
    Path("data/cats/1.png").write_bytes(b"cat")
    Path("deep/er").mkdir(parents=True)
    Path("deep/er/image.png").write_bytes(b"image")
    Path("link").symlink_to("deep/er")
    Path("notes.txt").write_text("a file")
    Path("empty").mkdir()
    earlier_run("earlier")
    return tmp_path


def earlier_run(folder, command="explain", *extra: str) -> None:
    """``folder`` as a run of ``command`` left it: summary.json and figure.png, and ``extra`` files."""
    Path(folder).mkdir(parents=True, exist_ok=True)
    Path(folder, "summary.json").write_text(json.dumps({"command": command, "images": []}))
    for name in ("figure.png", *extra):
        Path(folder, name).parent.mkdir(exist_ok=True)
        Path(folder, name).write_bytes(b"earlier")


@pytest.mark.parametrize("folders, files, inputs, says", [
    ({"--out": "survey.sgy"}, {}, {"survey": "survey.sgy"}, "--out 'survey.sgy' is the input survey 'survey.sgy'"),
    ({}, {"--out": "survey.sgy"}, {"survey": "survey.sgy"}, "--out 'survey.sgy' is the input survey"),
    ({"--out": "."}, {}, {"survey": "survey.sgy"}, "--out '.' holds the input survey 'survey.sgy'"),
    ({"--out": "deep"}, {}, {"--image": ["survey.sgy", "deep/er/image.png"]},
     "--out 'deep' holds the input --image 'deep/er/image.png'"),
    ({"--out": "link"}, {}, {"--image": "deep/er/image.png"}, "--out 'link' (that is '{tmp}/deep/er') holds the input"),
    ({"--out": "deep/er"}, {}, {"--image": "link/image.png"}, "--out 'deep/er' holds the input --image 'link/image.png'"),
    ({}, {"--out": "link/image.png"}, {"--image": "deep/er/image.png"}, "is the input --image"),
    ({"--out": "data"}, {}, {"--data": "data"}, "--out 'data' is the input --data 'data'"),
    ({"--out": "data"}, {}, {"--data": "data/cats"}, "--out 'data' holds the input --data 'data/cats'"),
    ({"--out": "notes.txt"}, {}, {}, "--out 'notes.txt' is a file, not a folder; give --out a folder"),
    ({"--out": "data"}, {}, {"survey": "survey.sgy"}, "--out 'data' holds files that rather did not write (it has no "
     "summary.json of a rather command); rather replaces --out as a whole: give a new or empty folder"),
    ({"--out": "link"}, {}, {}, "--out 'link' (that is '{tmp}/deep/er') holds files that rather did not write"),
    ({}, {"--out": "data"}, {}, "--out 'data' is a folder; give --out the path of a file"),
    ({"--out": "survey.sgy/maps"}, {}, {}, "--out 'survey.sgy/maps' lies under '{tmp}/survey.sgy', which is not a folder"),
    ({}, {"--out": "notes.txt/new/model.pt"}, {}, "lies under '{tmp}/notes.txt', which is not a folder"),
    ({"--out": "a", "--figures": "survey.sgy"}, {}, {"survey": "survey.sgy"}, "--figures 'survey.sgy' is the input"),
])
def test_outputs_over_inputs_are_refused(layout, folders, files, inputs, says):
    with pytest.raises(BadInput) as refused:
        check_outputs(folders=folders, files=files, inputs=inputs)
    assert says.format(tmp=layout) in str(refused.value)
    assert "\n" not in str(refused.value)


@pytest.mark.parametrize("summary", [
    "{}", '{"command": 1}', '["command"]', "not JSON", '{"command": "explain"', "", '"explain"',
])
def test_a_folder_whose_summary_is_not_a_rather_one_is_refused(layout, summary):
    Path("other").mkdir()
    Path("other/summary.json").write_text(summary)
    with pytest.raises(BadInput, match="--out 'other' holds files that rather did not write"):
        check_outputs(folders={"--out": "other"})


@pytest.mark.parametrize("make", [
    lambda: Path("other/summary.json").mkdir(parents=True),  # a folder, not a file
    lambda: (Path("other").mkdir(), Path("other/summary.json").symlink_to("nowhere")),
    lambda: (Path("other").mkdir(), os.mkfifo("other/summary.json")),  # reading it would wait for ever
    lambda: (Path("other").mkdir(), Path("other/.hidden").write_bytes(b"mine")),
])
def test_a_folder_without_a_readable_summary_is_refused_without_waiting(layout, make):
    make()
    with pytest.raises(BadInput, match="--out 'other' holds files that rather did not write"):
        check_outputs(folders={"--out": "other"})


def test_a_folder_output_holding_the_working_folder_is_refused(layout, monkeypatch):
    """Replacing it would leave the shell in a removed folder."""
    monkeypatch.chdir("earlier")
    for out in (".", str(layout / "earlier")):
        with pytest.raises(BadInput, match=f"--out '{out}' holds the folder this command runs in; rather replaces "
                                           "--out as a whole: run it from outside that folder"):
            check_outputs(folders={"--out": out})
    monkeypatch.chdir("../empty")
    with pytest.raises(BadInput, match="--out '..' holds files that rather did not write"):
        check_outputs(folders={"--out": ".."})


def test_a_link_to_an_input_lying_in_the_output_is_protected(layout):
    """Replacing out/image.png would destroy the link the user named, whatever it points at."""
    Path("out").mkdir()
    Path("out/image.png").symlink_to(layout / "deep/er/image.png")
    with pytest.raises(BadInput, match="holds the input --image 'out/image.png'"):
        check_outputs(folders={"--out": "out"}, inputs={"--image": ["out/image.png"]})


@pytest.mark.parametrize("folders, files, inputs", [
    ({"--out": "data/audit"}, {}, {"--data": "data"}),  # into the user's data folder: allowed
    ({"--out": "data/cats/new"}, {}, {"--data": "data"}),
    ({"--out": "new/deeper"}, {}, {"survey": "survey.sgy", "--model": None}),
    ({"--out": "empty"}, {}, {"survey": "survey.sgy"}),  # an existing empty folder
    ({"--out": "earlier"}, {}, {"survey": "survey.sgy"}),  # a folder a rather command wrote: replaced
    ({}, {"--out": "notes.txt"}, {"survey": "survey.sgy"}),  # a file output replaces a file
    ({"--out": None}, {"--out": None}, {"--image": []}),
])
def test_outputs_clear_of_inputs_pass(layout, folders, files, inputs):
    check_outputs(folders=folders, files=files, inputs=inputs)


def test_a_claim_holds_a_lock_beside_the_real_output_and_removes_it(layout):
    with claimed("link/out") as real:
        assert real == layout / "deep/er/out"
        assert (layout / "deep/er/.out.lock").is_file()
    assert sorted(os.listdir("deep/er")) == ["image.png"]


def test_a_second_claim_is_refused_and_leaves_nothing(layout):
    with claimed("deep/er/out"):
        before = sorted(os.listdir("deep/er"))
        for spelling in ("deep/er/out", "link/out", str(layout / "deep/er/./out")):
            with pytest.raises(BadInput, match=r"^--out '.*' is being written by another rather run \(it holds "
                                               r"'.*/deep/er/\.out\.lock'\); wait for that run to end"):
                with claimed(spelling):
                    pass
            assert sorted(os.listdir("deep/er")) == before
    with claimed("deep/er/out"):  # released: free again
        pass


def test_claims_from_threads_exclude_each_other(layout):
    """Two runs in one process (flock locks open files, not processes): one wins, the other is refused."""
    start, outcomes = threading.Barrier(8), []

    def run():
        start.wait()
        try:
            with claimed("out"):
                start_holding.wait()
                outcomes.append("held")
        except BadInput:
            outcomes.append("refused")
            start_holding.wait()

    start_holding = threading.Barrier(8)
    threads = [threading.Thread(target=run) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(outcomes) == ["held"] + ["refused"] * 7
    assert not Path(".out.lock").exists()


def test_a_lock_file_removed_by_its_holder_is_not_taken(layout, monkeypatch):
    """The classic race: B opens the lock file, A removes it and ends, C makes a new one and holds it.

    B's lock on the removed file must not count: B retries on the current file and is refused.
    """
    a, c = ExitStack(), ExitStack()
    a.enter_context(claimed("out"))
    real_flock = storage.fcntl.flock
    calls = []

    def flock_after_the_holder_changed(descriptor, operation):
        if not calls:  # B has opened A's file: A ends, C claims
            calls.append("swap")
            a.close()
            c.enter_context(claimed("out"))
        return real_flock(descriptor, operation)

    monkeypatch.setattr(storage.fcntl, "flock", flock_after_the_holder_changed)
    with pytest.raises(BadInput, match="being written by another rather run"):
        with claimed("out"):
            pass
    c.close()
    assert not Path(".out.lock").exists()


def test_a_stale_lock_file_of_a_killed_run_does_not_block(layout):
    Path(".out.lock").write_bytes(b"")
    with claimed("out"):
        pass
    assert not Path(".out.lock").exists()


def test_a_claim_removes_leftovers_of_a_killed_run_and_nothing_else(layout):
    Path(".out.k3x_9abc.staging").mkdir()
    Path(".out.k3x_9abc.staging/why.sgy").write_bytes(b"half")
    Path(".out.0123abcd.tmp").write_bytes(b"half")
    earlier_run(".out.k3x_9abc.old")  # set aside, then killed before it was removed
    kept = [".out.parts", ".out.abc.staging", ".outer.k3x_9abc.staging", ".out.k3x_9abc.staging.txt", "out.tmp",
            ".out.k3x_9abc.older"]
    for name in kept:
        Path(name).write_bytes(b"someone's")
    with claimed("out"):
        assert not Path(".out.k3x_9abc.staging").exists() and not Path(".out.0123abcd.tmp").exists()
        assert not Path(".out.k3x_9abc.old").exists()
    assert all(Path(name).read_bytes() == b"someone's" for name in kept)


def test_folders_made_for_a_claim_go_when_left_empty(layout):
    with claimed("new/deeper/out"):
        assert Path("new/deeper/.out.lock").is_file()
    assert not Path("new").exists()
    with claimed("new/deeper/out") as real:
        real.mkdir()
    assert Path("new/deeper/out").is_dir() and not Path("new/deeper/.out.lock").exists()


def test_a_claim_where_nothing_can_be_written_is_refused(layout):
    Path("locked").mkdir(mode=0o555)
    if os.access("locked", os.W_OK):
        pytest.skip("running as a user who may write anywhere")
    with pytest.raises(BadInput, match="cannot write beside --out 'locked/out'"):
        with claimed("locked/out"):
            pass


def test_writing_checks_before_claiming(layout):
    with pytest.raises(BadInput, match="holds the input"):
        with writing(folders={"--out": "."}, inputs={"survey": "survey.sgy"}):
            pass
    assert sorted(p.name for p in layout.parent.iterdir() if p.name.startswith(f".{layout.name}")) == []
    with writing(folders={"--out": "out"}, files={"--model": "model.pt"}, inputs={"survey": "survey.sgy"}):
        assert Path(".out.lock").is_file() and Path(".model.pt.lock").is_file()
    assert not Path(".out.lock").exists() and not Path(".model.pt.lock").exists()


def test_claim_outputs_holds_until_its_span_ends(layout):
    with pytest.raises(RuntimeError, match="needs an enclosing output_claims"):
        claim_outputs(folders={"--out": "out"})
    with pytest.raises(KeyboardInterrupt):
        with output_claims():
            claim_outputs(folders={"--out": "out"}, inputs={"survey": "survey.sgy"})
            assert Path(".out.lock").is_file()
            raise KeyboardInterrupt
    assert not Path(".out.lock").exists()
    with output_claims():
        claim_outputs(folders={"--out": "out"})
    with output_claims():  # the earlier span released it
        claim_outputs(folders={"--out": "out"})


@pytest.mark.parametrize("stop", [KeyboardInterrupt, SystemExit, RuntimeError])
def test_an_interrupted_stage_leaves_nothing(tmp_path, stop):
    with pytest.raises(stop):
        with staged_folder(tmp_path / "out") as stage, atomic_path(stage / "explanations.h5") as temporary:
            (stage / "figure.png").write_bytes(b"done")
            temporary.write_bytes(b"half")
            raise stop()
    with pytest.raises(stop):
        with atomic_path(tmp_path / "model.pt") as temporary:
            temporary.write_bytes(b"half")
            raise stop()
    assert os.listdir(tmp_path) == []


def test_a_stage_lies_beside_the_real_folder(tmp_path, monkeypatch):
    """"." and links: the staging folder sits beside the folder written, never inside it or beside a link."""
    (tmp_path / "work").mkdir()
    (tmp_path / "elsewhere").mkdir()
    (tmp_path / "work" / "to-elsewhere").symlink_to(tmp_path / "elsewhere")
    monkeypatch.chdir(tmp_path / "work")
    with staged_folder("to-elsewhere") as stage:
        assert stage.parent == tmp_path
        (stage / "summary.json").write_text('{"command": "explain"}')
    monkeypatch.chdir(tmp_path / "elsewhere")
    with staged_folder(".") as stage:
        assert stage.parent == tmp_path
        (stage / "figure.png").write_bytes(b"new")
        (stage / "summary.json").write_text('{"command": "explain"}')
    assert sorted(os.listdir(tmp_path)) == ["elsewhere", "work"]
    assert os.listdir(tmp_path / "work") == ["to-elsewhere"]
    assert sorted(os.listdir(tmp_path / "elsewhere")) == ["figure.png", "summary.json"]


def files(folder: Path) -> dict[str, bytes]:
    return {str(path.relative_to(folder)): path.read_bytes() for path in sorted(folder.rglob("*")) if path.is_file()}


def test_a_rerun_replaces_the_folder_as_a_whole(tmp_path):
    """Nothing of the earlier run survives, nested files included; no stage or old folder is left beside."""
    earlier_run(tmp_path / "out", "explain", "figure_inline_7.png", "sections/inline_7.json")
    with staged_folder(tmp_path / "out") as stage:
        (stage / "sections").mkdir()
        (stage / "sections" / "inline_8.json").write_text("{}")
        (stage / "summary.json").write_text('{"command": "explain", "run": 2}')
    assert files(tmp_path / "out") == {"sections/inline_8.json": b"{}",
                                       "summary.json": b'{"command": "explain", "run": 2}'}
    assert os.listdir(tmp_path) == ["out"]


def test_an_output_folder_gets_an_ordinary_mode(tmp_path):
    with staged_folder(tmp_path / "out") as stage:
        (stage / "summary.json").write_text('{"command": "explain"}')
    mask = os.umask(0)
    os.umask(mask)
    assert (tmp_path / "out").stat().st_mode & 0o777 == 0o777 & ~mask


def test_a_folder_filled_by_someone_else_during_the_run_is_not_replaced(tmp_path):
    """check_outputs passed it empty; by the end it holds another's file: refused, left as it is."""
    (tmp_path / "out").mkdir()
    with pytest.raises(BadInput, match="the output folder '.*out' holds files that rather did not write"):
        with staged_folder(tmp_path / "out") as stage:
            (stage / "summary.json").write_text('{"command": "explain"}')
            (tmp_path / "out" / "mine.txt").write_text("someone's")
    assert files(tmp_path / "out") == {"mine.txt": b"someone's"} and os.listdir(tmp_path) == ["out"]


def test_a_failed_swap_puts_the_earlier_output_back(tmp_path, monkeypatch):
    earlier_run(tmp_path / "out")
    before = files(tmp_path / "out")
    real_rename, renames = os.rename, []

    def rename(source, destination):
        renames.append((Path(source).name, Path(destination).name))
        if len(renames) == 2:  # the stage into place
            raise OSError(28, "No space left on device")
        real_rename(source, destination)

    monkeypatch.setattr(storage.os, "rename", rename)
    with pytest.raises(OSError, match="No space left"):
        with staged_folder(tmp_path / "out") as stage:
            (stage / "summary.json").write_text('{"command": "explain"}')
    assert [destination for _, destination in renames][:2] == [stage.name.replace(".staging", ".old"), "out"]
    assert files(tmp_path / "out") == before and os.listdir(tmp_path) == ["out"]


# -- a full disk -------------------------------------------------------------------------------------------

def test_an_hdf5_output_reads_back_as_written(tmp_path):
    data = np.arange(5000, dtype=np.float32).reshape(50, 100)
    with storage.hdf5_output(tmp_path / "store.h5") as store:
        store.create_dataset("maps", data=data, compression="gzip", shuffle=True)
        store.attrs["format"] = "test"
    with h5py.File(tmp_path / "store.h5", "r") as store:
        assert store.attrs["format"] == "test" and np.array_equal(store["maps"][()], data)
    assert [path.name for path in tmp_path.iterdir()] == ["store.h5"]


@pytest.mark.parametrize("room", [0, 100, 3000, 30_000])
def test_an_hdf5_output_on_a_full_disk_is_refused_with_the_bytes_it_needs(room, tmp_path, monkeypatch):
    written = []

    def full_after_room(self, view):
        if sum(written) + len(view) > room:
            raise OSError(errno.ENOSPC, "No space left on device")
        written.append(len(view))
        return len(view)  # taken as written; the file is discarded anyway

    monkeypatch.setattr(storage._SpaceWatch, "_write_through", full_after_room)
    with pytest.raises(BadInput) as refused:
        with storage.hdf5_output(tmp_path / "store.h5") as store:
            store.create_dataset("maps", data=np.random.default_rng(0).random((100, 100)))
    needed = int(str(refused.value).split("store.h5: ")[1].split(" bytes")[0])
    assert needed > max(room, 80_000) and list(tmp_path.iterdir()) == []
    assert str(refused.value).startswith(f"no space left on {storage._device(tmp_path)} writing ")


def test_a_write_error_other_than_a_full_disk_passes_through(tmp_path):
    with pytest.raises(PermissionError):
        with atomic_path(tmp_path / "out.txt"):
            raise PermissionError(errno.EACCES, "Permission denied")
    assert list(tmp_path.iterdir()) == []


def test_a_full_disk_named_on_another_file_is_left_to_that_files_writer(tmp_path):
    with pytest.raises(OSError) as raised:
        with atomic_path(tmp_path / "a.txt"):
            raise OSError(errno.ENOSPC, "No space left on device", str(tmp_path / "b.txt"))
    assert not isinstance(raised.value, BadInput) and raised.value.filename == str(tmp_path / "b.txt")


def test_a_known_size_is_checked_before_the_temporary_file_is_made(tmp_path, monkeypatch):
    monkeypatch.setattr(storage, "free_space", lambda path: 999)
    with pytest.raises(BadInput, match=r"out.bin: 1000 bytes needed, 999 free; free space there"):
        with atomic_path(tmp_path / "out.bin", size=1000):
            raise AssertionError("not reached")
    with atomic_path(tmp_path / "out.bin", size=999) as temporary:
        temporary.write_bytes(b"x" * 999)
    assert (tmp_path / "out.bin").stat().st_size == 999


@pytest.mark.parametrize("path, shown", [
    ("/data/.out.ab12cd34.staging/figure.png", "/data/out/figure.png"),
    ("/data/.out.ab12cd34.staging/.explanations.h5.k9_x2b7q.tmp", "/data/out/explanations.h5"),
    ("/data/.staging/figure.png", "/data/.staging/figure.png"),  # not rather's stage: as it is
    ("here/out.sgy", "here/out.sgy"),
])
def test_an_output_is_named_as_the_user_knows_it(path, shown):
    assert storage._output_name(Path(path)) == shown


def test_an_hdf5_error_after_the_disk_filled_is_the_full_disk(tmp_path, monkeypatch):
    """HDF5 may fail reading back what the full disk did not take: the user hears of the disk, not of HDF5."""
    def full(self, view):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(storage._SpaceWatch, "_write_through", full)
    with pytest.raises(BadInput, match=r"^no space left on .* writing .*store.h5: \d+ bytes needed"):
        with storage.hdf5_output(tmp_path / "store.h5") as store:
            store.create_dataset("maps", data=np.zeros((100, 100)))
            store.flush()
            raise RuntimeError("Can't read data (addr overflow)")
    assert list(tmp_path.iterdir()) == []


def test_an_hdf5_error_on_a_disk_with_room_is_not_hidden(tmp_path):
    with pytest.raises(RuntimeError, match="addr overflow"):
        with storage.hdf5_output(tmp_path / "store.h5"):
            raise RuntimeError("Can't read data (addr overflow)")
    assert list(tmp_path.iterdir()) == []
