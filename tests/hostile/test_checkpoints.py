"""Hostile checkpoints, each through every command that loads a model: a clean refusal, no code run.

A checkpoint is data written by someone else. Each case below starts from the committed
checkpoint the command would load by default (so that only the hostile part is wrong),
breaks one thing — a named factory that would run a shell command, pickled code, a
damaged file, a field of the wrong type or size — and runs the command on it. The cases
whose payload would create the file ``MARKER`` also check that it was not created.
"""
from __future__ import annotations

import copy
import io
import math
import os
import pickle
import shutil
import struct
import zipfile
from pathlib import Path, PurePosixPath

import numpy as np
import pytest
import torch
from skimage import io as image_io
from torch import nn

from rather.common import load_model, model_checksum
from rather.common.networks import SmallCNN
from rather.iqa import quality_model
from rather.recognition import classifier as birds
from rather.seismic import classifier as seismic
from rather.seismic.synthetic import SurveyParameters, make_survey, write_survey

MARKER = "MARKER"
DEFAULTS = {"seismic": seismic.DEFAULT_CHECKPOINT, "iqa": quality_model.DEFAULT_CHECKPOINT,
            "birds": birds.DEFAULT_CHECKPOINT}

# command: (the committed checkpoint it reads by default, its argv given the case's folder and the weights file)
COMMANDS = {
    "explain": ("birds", lambda f, w: ["explain", "--weights", w, "--layer", "features", "--image", f / "bird.png",
                                       "--out", f / "out"]),
    "seismic-explain": ("seismic", lambda f, w: ["seismic", "explain", f / "survey.sgy", "--model", w,
                                                 "--out", f / "out"]),
    "seismic-evaluate": ("seismic", lambda f, w: ["seismic", "evaluate", "--model", w]),
    "iqa-score": ("iqa", lambda f, w: ["iqa", "score", f / "distorted.png", f / "reference.png", "--weights", w]),
    "iqa-explain": ("iqa", lambda f, w: ["iqa", "explain", f / "distorted.png", f / "reference.png",
                                         "--rather-than", "0.5", "--weights", w, "--out", f / "out"]),
    "iqa-evaluate": ("iqa", lambda f, w: ["iqa", "evaluate", "--weights", w]),
    "recognition-audit": ("birds", lambda f, w: ["recognition", "audit", "--format", "synthetic", "--weights", w,
                                                 "--out", f / "out"]),
    "suite-seismic": ("seismic", lambda f, w: ["suite", "seismic", "--data", f / "survey.sgy", "--model", w,
                                               "--out", f / "out"]),
    "suite-iqa": ("iqa", lambda f, w: ["suite", "iqa", "--data", f"{f / 'distorted.png'},{f / 'reference.png'}",
                                       "--model", w, "--out", f / "out"]),
    "suite-recognition": ("birds", lambda f, w: ["suite", "recognition", "--model", w, "--out", f / "out"]),
}


class Exploit:
    """Unpickling this runs ``touch MARKER`` (the classic pickle payload)."""

    def __init__(self, marker: Path):
        self.marker = marker

    def __reduce__(self):
        return os.system, (f"touch '{self.marker}'",)


def saved(content, **options) -> bytes:
    buffer = io.BytesIO()
    torch.save(content, buffer, **options)
    return buffer.getvalue()


def named(factory, **kwargs):
    """The base checkpoint with another factory (and keyword arguments)."""
    def case(base, marker):
        return {**base, "factory": factory, "kwargs": {key: value.replace("M", str(marker)) if isinstance(value, str)
                                                       else value for key, value in kwargs.items()}}
    return case


def field(name, value):
    """The base checkpoint with one top-level field replaced."""
    return lambda base, marker: {**base, name: value}


def without(name):
    return lambda base, marker: {key: value for key, value in base.items() if key != name}


def meta(path, value):
    """The base checkpoint with the meta field at the dotted ``path`` set to ``value``."""
    def case(base, marker):
        content = copy.deepcopy(base)
        holder = content["meta"]
        *parents, last = path.split(".")
        for parent in parents:
            holder = holder.setdefault(parent, {})
        holder[last] = value
        return content
    return case


def kwarg(name, value):
    return lambda base, marker: {**base, "kwargs": {**base["kwargs"], name: value}}


def state(change):
    """The base checkpoint with its state dict changed by ``change(state_dict)``."""
    def case(base, marker):
        content = copy.deepcopy(base)
        change(content["state_dict"])
        return content
    return case


def first_weight(state_dict) -> str:
    return next(name for name, tensor in state_dict.items() if tensor.dim() == 4)


def nested(depth):
    value = []
    for _ in range(depth):
        value = [value]
    return value


def cyclic():
    value = []
    value.append(value)
    return value


REFUSES_CODE = "which rather refuses (weights_only=True)"
NOT_OURS = "which is not one of rather's architectures"

CODE_CASES = [  # (id, the hostile content, a fragment of the refusal)
    ("factory-os-system", named("os:system", command="touch 'M'"), "names the factory 'os:system', " + NOT_OURS),
    ("factory-subprocess-getoutput", named("subprocess:getoutput", cmd="touch 'M'"), "'subprocess:getoutput', "
     + NOT_OURS),
    ("factory-builtins-eval", named("builtins:eval", source="open('M', 'w')"), "'builtins:eval', " + NOT_OURS),
    ("factory-builtins-exec", named("builtins:exec", source="open('M', 'w')"), NOT_OURS),
    ("factory-rather-storage", named("rather.common.storage:atomic_path", path="M"), "'rather.common.storage:"
     "atomic_path', " + NOT_OURS),
    ("factory-rather-unregistered-network", named("rather.common.networks:resnet50_like"), NOT_OURS),
    ("factory-registered-attribute", named("rather.common.networks:SmallCNN.__init__"), NOT_OURS),
    ("pickled-exploit", lambda base, marker: saved(Exploit(marker)), REFUSES_CODE + ": it pickles 'posix.system'"),
    ("plain-pickle-exploit", lambda base, marker: pickle.dumps(Exploit(marker)), "not a readable PyTorch checkpoint"),
    ("pickled-exploit-in-meta", lambda base, marker: saved({**base, "meta": {"x": Exploit(marker)}}), REFUSES_CODE),
    ("pickled-module", lambda base, marker: saved(nn.Linear(2, 2)), "it pickles 'torch.nn.modules.linear.Linear'"),
    ("pickled-path-in-meta", lambda base, marker: saved({**base, "meta": {"p": PurePosixPath("x")}}), REFUSES_CODE),
]

FILE_CASES = [
    ("zero-bytes", lambda base, marker: b"", "is empty (0 bytes)"),
    ("not-a-checkpoint", lambda base, marker: b"not a checkpoint\n", "not a readable PyTorch checkpoint"),
    ("random-bytes", lambda base, marker: np.random.default_rng(0).bytes(4096), "not a readable PyTorch checkpoint"),
    ("truncated-zip", lambda base, marker: saved(base)[:5000], "not a readable PyTorch checkpoint"),
    ("truncated-zip-end", lambda base, marker: saved(base)[:-30], "not a readable PyTorch checkpoint"),
    ("truncated-legacy", lambda base, marker: (lambda data: data[: len(data) // 2])(
        saved(base, _use_new_zipfile_serialization=False)), "not a readable PyTorch checkpoint"),
    ("legacy-pickle-protocol-1", lambda base, marker: saved(base, _use_new_zipfile_serialization=False,
                                                            pickle_protocol=1), "not a readable PyTorch checkpoint"),
    ("plain-pickle-protocol-4", lambda base, marker: pickle.dumps({"a": 1}, protocol=4),
     "not a readable PyTorch checkpoint"),
    ("plain-pickle-protocol-0", lambda base, marker: pickle.dumps({"a": 1}, protocol=0),
     "not a readable PyTorch checkpoint"),
    ("a-list", lambda base, marker: [1, 2], "holds a list, not a state dict"),
    ("a-tensor", lambda base, marker: torch.zeros(3), "holds a Tensor, not a state dict"),
    ("training-checkpoint", lambda base, marker: {"model": base["state_dict"], "epoch": 3},
     "a training checkpoint?"),
]

STRUCTURE_CASES = [
    ("state-dict-list", field("state_dict", [torch.zeros(2)]), "its state_dict is a list, not a dict of tensors"),
    ("state-dict-text-value", state(lambda sd: sd.update({first_weight(sd): "weights"})), "= a str, not a tensor"),
    ("state-dict-number-value", state(lambda sd: sd.update({first_weight(sd): 0.5})), "= a float, not a tensor"),
    ("state-dict-int-key", state(lambda sd: sd.update({1: torch.zeros(2)})), "has the key 1, not a parameter name"),
    ("state-dict-empty", field("state_dict", {}), "do not fit"),
    ("state-dict-extra", state(lambda sd: sd.update({"extra": torch.zeros(2)})), "unexpected ['extra']"),
    ("state-dict-missing", state(lambda sd: sd.pop(first_weight(sd))), "missing ['"),
    ("state-dict-wrong-shape", state(lambda sd: sd.update({first_weight(sd): sd[first_weight(sd)][:1]})),
     "in the file"),
    ("state-dict-transposed", state(lambda sd: sd.update({first_weight(sd): sd[first_weight(sd)].transpose(0, 1)})),
     "in the file"),
    ("state-dict-complex", state(lambda sd: sd.update({first_weight(sd): sd[first_weight(sd)].to(torch.complex64)})),
     "torch.complex64 in the file"),
    ("state-dict-sparse", state(lambda sd: sd.update({first_weight(sd): sd[first_weight(sd)].to_sparse()})),
     "not a dense tensor"),
    ("state-dict-meta-tensor", state(lambda sd: sd.update({first_weight(sd): sd[first_weight(sd)].to("meta")})),
     "not a dense tensor"),
    ("factory-int", field("factory", 42), "its factory 42 is not a name of the form module:factory"),
    ("factory-list", field("factory", ["os", "system"]), "is not a name of the form module:factory"),
    ("factory-dict", field("factory", {"module": "os"}), "is not a name of the form module:factory"),
    ("factory-no-colon", field("factory", "os.system"), "is not a name of the form module:factory"),
    ("factory-two-colons", field("factory", "os:path:join"), "is not a name of the form module:factory"),
    ("factory-newline", field("factory", "rather.common.networks:SmallCNN\nos:system"), "module:factory"),
    ("factory-empty", field("factory", ""), "is not a name of the form module:factory"),
    ("factory-absent", without("factory"), "does not name one"),
    ("factory-swapped", lambda base, marker: {**base, "factory": "rather.iqa.networks:wadiqam_fr"
                                              if "SmallCNN" in base["factory"] else "rather.common.networks:SmallCNN"},
     "takes no keyword"),
    ("kwargs-list", field("kwargs", [1, 2]), "kwargs is a list, not a dict"),
    ("kwargs-text", field("kwargs", "width=4"), "kwargs is a str, not a dict"),
    ("kwargs-int-key", kwarg(1, 2), "kwargs has the key 1, not a string"),
    ("kwargs-set", kwarg("width", {4}), "kwargs['width'] is a set, not a plain value"),
    ("kwargs-tensor", kwarg("width", torch.tensor(4)), "kwargs['width'] is a Tensor, not a plain value"),
    ("kwargs-bytes", kwarg("width", b"4"), "kwargs['width'] is a bytes, not a plain value"),
    ("kwargs-nested", kwarg("width", nested(100)), "nested more than 16 levels deep"),
    ("kwargs-cyclic", kwarg("width", cyclic()), "nested more than 16 levels deep"),
    ("kwargs-unknown", kwarg("command", "touch M"), "takes no keyword 'command'"),
    ("kwargs-huge-width", kwarg("width", 10**9), "takes width as a whole number in [1,"),
    ("kwargs-huge-int", kwarg("width", 10**400), "takes width as a whole number in [1,"),
    ("kwargs-negative-width", kwarg("width", -4), "takes width as a whole number"),
    ("kwargs-zero-width", kwarg("width", 0), "takes width as a whole number"),
    ("kwargs-text-width", kwarg("width", "16"), "takes width as a whole number"),
    ("kwargs-float-width", kwarg("width", 4.0), "takes width as a whole number"),
    ("kwargs-bool-width", kwarg("width", True), "takes width as a whole number"),
    ("kwargs-none-width", kwarg("width", None), "takes width as a whole number"),
    ("meta-list", field("meta", ["layer"]), "meta is a list, not a dict"),
    ("meta-none", field("meta", None), "meta is a NoneType, not a dict"),
    ("meta-set", meta("notes", {"a"}), "meta['notes'] is a set"),
    ("meta-int-key", lambda base, marker: {**base, "meta": {**base["meta"], 1: "one"}}, "meta has the key 1"),
    ("meta-nested-int-key", meta("preprocess", {1: "one"}), "meta['preprocess'] has the key 1, not a string"),
    ("meta-tensor", meta("layer", torch.zeros(1)), "meta['layer'] is a Tensor"),
    ("meta-nested", meta("notes", nested(50)), "nested more than 16 levels deep"),
]

FIELD_CASES = [  # (meta field, hostile value): each refused as "meta field '<field>' ..."
    ("class_names", "horizon"), ("class_names", [1, 2, 3, 4]), ("class_names", ["a\nb"]), ("class_names", [""]),
    ("class_names", {"a": 1}), ("class_names", ["x" * 300]),
    ("layer", 5), ("layer", ""), ("layer", "features\nx"), ("layer", ["features"]), ("layer", None),
    ("call", -1), ("call", "0"), ("call", 0.5),
    ("patch", 0), ("patch", -5), ("patch", "99"), ("patch", 99.5), ("patch", 10**9), ("patch", True),
    ("patch", None),
    ("preprocess", [64, 64]), ("preprocess", "resize"),
    ("preprocess.size", [0, 64]), ("preprocess.size", [-64, 64]), ("preprocess.size", ["64", "64"]),
    ("preprocess.size", [64]), ("preprocess.size", 64), ("preprocess.size", [10**6, 10**6]),
    ("preprocess.size", [64, 64, 64]), ("preprocess.size", [64.5, 64]),
    ("preprocess.mean", [math.nan]), ("preprocess.mean", "abc"), ("preprocess.mean", []),
    ("preprocess.mean", [math.inf, 0, 0]), ("preprocess.mean", [0.5] * 100),
    ("preprocess.std", [0.0]), ("preprocess.std", [-1.0]), ("preprocess.std", [math.inf]),
    ("preprocess.std", [0.2, 0.2, 0.0]), ("preprocess.std", 0.5),
    ("preprocess.channels", 0), ("preprocess.channels", -3), ("preprocess.channels", "3"),
    ("preprocess.channels", 1000), ("preprocess.channels", 2.5),
]


def shown_id(value) -> str:
    text = repr(value)
    return text if len(text) <= 20 else text[:17] + "..."


def matrix():
    """(command, case) pairs. By default every case runs through one command (in turn) and the
    code-execution cases through all; the rest of the cross product is marked slow."""
    cases = CODE_CASES + FILE_CASES + STRUCTURE_CASES + [
        (f"meta-{name}={shown_id(value)}", meta(name, value), f"meta field '{name}'") for name, value in FIELD_CASES]
    code = {name for name, _, _ in CODE_CASES}
    for index, (name, make, says) in enumerate(cases):
        for offset, command in enumerate(COMMANDS):
            fast = name in code or offset == index % len(COMMANDS)
            yield pytest.param(command, make, says, id=f"{name}-{command}", marks=() if fast else pytest.mark.slow)


@pytest.fixture(scope="module")
def inputs(tmp_path_factory) -> Path:
    """A small SEG-Y survey with its labels, a bird-sized image and an image pair, made once."""
    folder = tmp_path_factory.mktemp("inputs")
    write_survey(make_survey(3, SurveyParameters(inlines=4, crosslines=120, samples=120)), folder / "survey.sgy")
    rng = np.random.default_rng(0)
    image_io.imsave(folder / "bird.png", rng.integers(0, 256, (64, 64, 3), dtype=np.uint8), check_contrast=False)
    reference = rng.integers(0, 256, (64, 64, 3), dtype=np.uint8)
    image_io.imsave(folder / "reference.png", reference, check_contrast=False)
    image_io.imsave(folder / "distorted.png", reference // 2, check_contrast=False)
    return folder


@pytest.fixture(scope="module")
def bases() -> dict[str, dict]:
    """The committed checkpoints, as read back."""
    return {name: torch.load(path, weights_only=True) for name, path in DEFAULTS.items()}


@pytest.fixture
def case_folder(tmp_path, inputs) -> Path:
    """The case's folder: a copy of the inputs (the refusal must leave them byte-identical)."""
    for path in inputs.iterdir():
        shutil.copyfile(path, tmp_path / path.name)
    return tmp_path


def write_case(folder: Path, content) -> Path:
    path = folder / "hostile.pt"
    path.write_bytes(content if isinstance(content, bytes) else saved(content))
    return path


@pytest.mark.parametrize("command, make, says", list(matrix()))
def test_a_hostile_checkpoint_is_refused(command, make, says, bases, case_folder, refuse):
    base_name, argv = COMMANDS[command]
    weights = write_case(case_folder, make(copy.deepcopy(bases[base_name]), case_folder / MARKER))
    line = refuse(argv(case_folder, weights), says=says)
    assert not (case_folder / MARKER).exists()
    assert str(weights) in line or "does not exist" in line  # the refusal names the file


@pytest.mark.parametrize("command", list(COMMANDS))
def test_a_folder_given_as_checkpoint_is_refused(command, case_folder, refuse):
    (case_folder / "folder.pt").mkdir()
    refuse(COMMANDS[command][1](case_folder, case_folder / "folder.pt"), says="does not exist (or is not a file)")


def another(domain):
    """Another domain's committed checkpoint, whole."""
    return lambda bases: bases[domain]


def small_cnn(**kwargs):
    """A rather checkpoint of SmallCNN(**kwargs), fitting weights included, with the seismic meta."""
    def make(bases):
        torch.manual_seed(0)
        return {"state_dict": SmallCNN(**kwargs).state_dict(), "factory": "rather.common.networks:SmallCNN",
                "kwargs": kwargs, "meta": bases["seismic"]["meta"]}
    return make


def with_meta(domain, **fields):
    return lambda bases: {**bases[domain], "meta": {**bases[domain]["meta"], **fields}}


SEISMIC = ("seismic-explain", "seismic-evaluate", "suite-seismic")
IQA = ("iqa-score", "iqa-explain", "iqa-evaluate", "suite-iqa")
RECOGNITION = ("recognition-audit", "suite-recognition")
DOMAIN_CASES = [  # (id, commands, a checkpoint every field of which is valid, but not for the command; refusal)
    ("two-class-classifier", SEISMIC, small_cnn(num_classes=2, in_channels=1, width=4, padding=0),
     "gives (1, 2) for one patch, not 4 logits (horizon, chaotic, fault, salt_dome)"),
    ("patch-too-small-for-the-model", SEISMIC, with_meta("seismic", patch=2),
     "does not run on a one-channel patch of 2 x 2 samples"),
    ("patch-larger-than-the-survey", ("seismic-explain", "suite-seismic"), with_meta("seismic", patch=1024),
     "reads 1024 x 1024 patches"),
    ("layer-not-in-the-model", ("seismic-explain", "suite-seismic"), with_meta("seismic", layer="nope"),
     "layer 'nope' not found in SmallCNN"),
    ("layer-not-in-the-model", RECOGNITION, with_meta("birds", layer="nope"), "layer 'nope' not found in SmallCNN"),
    ("bird-classifier", SEISMIC, another("birds"), "does not run on a one-channel patch of 99 x 99 samples"),
    ("quality-model", SEISMIC, another("iqa"), "WaDIQaM takes a (distorted, reference) pair"),
    ("seismic-classifier", IQA, another("seismic"), "is not a WaDIQaM/DIQaM checkpoint (it builds a SmallCNN)"),
    ("bird-classifier", IQA, another("birds"), "is not a WaDIQaM/DIQaM checkpoint (it builds a SmallCNN)"),
    ("seismic-classifier", RECOGNITION, another("seismic"), "does not run on RGB images of 224 x 224 pixels"),
    ("seismic-classifier", ("explain",), another("seismic"), "the model cannot run on an input of shape (1, 3, 64, 64)"),
    ("quality-model", RECOGNITION + ("explain",), another("iqa"), "WaDIQaM takes a (distorted, reference) pair"),
    ("input-size-too-small", RECOGNITION, with_meta("birds", preprocess={"size": [4, 4]}), "is too small"),
]

READS_DATA_FIRST = ("seismic-classifier", "quality-model")  # the audit finds these out on its first batch (seconds)


@pytest.mark.parametrize("command, make, says", [
    pytest.param(command, make, says, id=f"{name}-{command}",
                 marks=pytest.mark.slow if command in RECOGNITION and name in READS_DATA_FIRST else ())
    for name, commands, make, says in DOMAIN_CASES for command in commands])
def test_a_checkpoint_for_another_task_is_refused(command, make, says, bases, case_folder, refuse):
    weights = write_case(case_folder, make(bases))
    refuse(COMMANDS[command][1](case_folder, weights), says=says)


USER_FACTORIES = [  # (id, the module a user names with --model, the factory, a fragment of the refusal)
    ("raises", "def make(**kwargs):\n    raise ValueError('boom')\n", "make",
     "calling '{module}:make' failed: ValueError: boom"),
    ("raises-lines", "def make(**kwargs):\n    raise ValueError('first\\nsecond')\n", "make", "ValueError: first;"),
    ("syntax-error", "def make(:\n", "make", "importing '{module}' for model '{module}:make' failed: SyntaxError"),
    ("raises-on-import", "raise RuntimeError('no GPU here')\n", "make", "failed: RuntimeError: no GPU here"),
    ("missing-dependency", "import not_installed_anywhere_xyz\n", "make",
     "failed: ModuleNotFoundError: No module named 'not_installed_anywhere_xyz'"),
    ("exits", "import sys\ndef make(**kwargs):\n    sys.exit(3)\n", "make", "calling '{module}:make' failed: SystemExit: 3"),
    ("exits-on-import", "import sys\nsys.exit('bye')\n", "make", "failed: SystemExit: bye"),
    ("returns-a-number", "def make(**kwargs):\n    return 42\n", "make", "returned a int, not a torch.nn.Module"),
    ("not-callable", "make = 3\n", "make", "is not callable"),
    ("no-such-factory", "def make(**kwargs):\n    pass\n", "build", "has no attribute 'build'"),
    ("no-such-module", None, "make", "cannot import 'no_such_module_xyz'"),
]
USER_COMMANDS = {
    "explain": lambda f, spec, w: ["explain", "--model", spec, "--weights", w, "--layer", "features",
                                   "--image", f / "bird.png", "--out", f / "out"],
    "recognition-audit": lambda f, spec, w: ["recognition", "audit", "--format", "synthetic", "--model", spec,
                                             "--weights", w, "--out", f / "out"],
}


@pytest.mark.parametrize("command", list(USER_COMMANDS))
@pytest.mark.parametrize("name, source, factory, says", [pytest.param(*case, id=case[0]) for case in USER_FACTORIES])
def test_a_failing_user_factory_is_refused(command, name, source, factory, says, bases, case_folder, refuse,
                                           monkeypatch):
    module = f"user_factory_{name.replace('-', '_')}_{command.replace('-', '_')}" if source else "no_such_module_xyz"
    if source:
        (case_folder / f"{module}.py").write_text(source)
    monkeypatch.syspath_prepend(str(case_folder))
    weights = write_case(case_folder, bases["birds"]["state_dict"])
    refuse(USER_COMMANDS[command](case_folder, f"{module}:{factory}", weights), says=says.format(module=module))


@pytest.mark.parametrize("command", list(USER_COMMANDS))
def test_ctrl_c_in_a_user_factory_interrupts(command, bases, case_folder, refuse, monkeypatch):
    module = f"user_factory_interrupted_{command.replace('-', '_')}"
    (case_folder / f"{module}.py").write_text("def make(**kwargs):\n    raise KeyboardInterrupt\n")
    monkeypatch.syspath_prepend(str(case_folder))
    weights = write_case(case_folder, bases["birds"]["state_dict"])
    refuse(USER_COMMANDS[command](case_folder, f"{module}:make", weights), says="interrupted", status=130)


@pytest.mark.parametrize("device", ["meta", "xla", "hpu", "nonsense", "cuda:x", "mps"])
@pytest.mark.parametrize("command", ["explain", "seismic-explain", "iqa-score", "iqa-explain", "recognition-audit",
                                     "suite-seismic"])
def test_a_device_that_cannot_run_a_model_is_refused(command, device, case_folder, refuse):
    if device == "mps" and torch.backends.mps.is_available():
        pytest.skip("this machine has MPS")
    argv = COMMANDS[command][1](case_folder, DEFAULTS[COMMANDS[command][0]]) + ["--device", device]
    refuse(argv, says=f"device '{device}'")


def test_a_factory_typed_by_the_user_wins_over_the_files(bases, case_folder, run_cli):
    """The file names os:system; the user names rather's SmallCNN: the model is built, the file's name unused."""
    weights = write_case(case_folder, {**bases["birds"], "factory": "os:system"})
    outcome = run_cli(["explain", "--model", "rather.common.networks:SmallCNN", "--weights", weights, "--layer",
                       "features", "--image", case_folder / "bird.png", "--out", case_folder / "out", "--json"])
    assert outcome.status == 0, outcome.err
    assert (case_folder / "out" / "summary.json").is_file() and not (case_folder / MARKER).exists()


# Damaged bytes (issue 21): the archive's CRC-32s and the recorded model checksum are checked before use.

def tensor_member(archive: zipfile.ZipFile) -> zipfile.ZipInfo:
    """The largest tensor's member of a torch.save archive (its data files are named archive/data/N)."""
    return max((info for info in archive.infolist() if "/data/" in info.filename), key=lambda info: info.file_size)


def flipped(data: bytes, count: int = 200) -> bytes:
    """``data`` (a torch.save archive) with ``count`` bytes inverted inside its largest tensor, CRCs kept."""
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        info = tensor_member(archive)
    name_length, extra_length = struct.unpack("<HH", data[info.header_offset + 26:info.header_offset + 30])
    start = info.header_offset + 30 + name_length + extra_length
    damaged = bytearray(data)
    for offset in range(start, start + min(count, info.file_size)):
        damaged[offset] ^= 0xFF
    return bytes(damaged)


def rezipped(data: bytes, change=lambda member: bytes(255 - byte for byte in member[:200]) + member[200:],
             compression: int = zipfile.ZIP_STORED) -> bytes:
    """``data`` rewritten member by member with the largest tensor changed by ``change``, every CRC recomputed."""
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(data)) as archive, zipfile.ZipFile(out, "w", compression) as rewritten:
        target = tensor_member(archive).filename
        for info in archive.infolist():
            member = archive.read(info)
            rewritten.writestr(info.filename, change(member) if info.filename == target else member)
    return out.getvalue()


def with_checksum(domain: str) -> dict:
    """The committed checkpoint of ``domain`` as save_checkpoint writes it today: with its model's checksum."""
    model, _ = load_model(weights=DEFAULTS[domain])
    return {**torch.load(DEFAULTS[domain], weights_only=True), "checksum": model_checksum(model)}


CRC_SAYS = "fails its CRC-32 check"
BYTE_CASES = {  # name: (bytes of the case from the committed bytes and from those with a checksum, says)
    "200-bytes-flipped": (lambda plain, summed: flipped(plain), CRC_SAYS),
    "1-byte-flipped": (lambda plain, summed: flipped(plain, 1), CRC_SAYS),
    "flipped-with-checksum": (lambda plain, summed: flipped(summed), CRC_SAYS),
    "rezipped-wrong-checksum": (lambda plain, summed: rezipped(summed),
                                "do not match the checksum recorded when it was saved"),
    "rezipped-compressed": (lambda plain, summed: rezipped(plain, lambda member: member, zipfile.ZIP_DEFLATED),
                            "compressed members"),
    "truncated-half": (lambda plain, summed: plain[: len(plain) // 2], "not a readable PyTorch checkpoint"),
    "truncated-tail": (lambda plain, summed: plain[:-10], "not a readable PyTorch checkpoint"),
    "checksum-not-hex": (lambda plain, summed: saved({**torch.load(io.BytesIO(summed), weights_only=True),
                                                     "checksum": "z" * 64}), "is not 64 hexadecimal digits"),
    "checksum-a-number": (lambda plain, summed: saved({**torch.load(io.BytesIO(summed), weights_only=True),
                                                      "checksum": 12}), "is not 64 hexadecimal digits"),
}
BYTE_COMMANDS = [pytest.param(command, marks=() if command in ("explain", "iqa-score") else pytest.mark.slow)
                 for command in ("explain", "iqa-score", "iqa-explain", "seismic-explain", "recognition-audit")]


@pytest.fixture(scope="module")
def summed() -> dict[str, bytes]:
    """The committed checkpoints' bytes with their model checksums recorded."""
    return {domain: saved(with_checksum(domain)) for domain in DEFAULTS}


@pytest.mark.parametrize("command", BYTE_COMMANDS)
@pytest.mark.parametrize("case", list(BYTE_CASES))
def test_a_checkpoint_with_damaged_bytes_is_refused(case, command, summed, case_folder, refuse):
    base_name, argv = COMMANDS[command]
    make, says = BYTE_CASES[case]
    weights = write_case(case_folder, make(DEFAULTS[base_name].read_bytes(), summed[base_name]))
    line = refuse(argv(case_folder, weights), says=says)
    assert str(weights) in line


def test_a_checkpoint_with_its_checksum_loads_and_predicts_as_before(summed, tmp_path):
    (tmp_path / "summed.pt").write_bytes(summed["birds"])
    x = torch.rand(2, 3, 64, 64, generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        expected = load_model(weights=DEFAULTS["birds"])[0](x)
        assert torch.equal(load_model(weights=tmp_path / "summed.pt")[0](x), expected)
