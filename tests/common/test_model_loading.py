"""Checkpoints: a name read from a file is never run, every field is checked, a user's factory is trusted."""
from __future__ import annotations

import math
import re
import sys
import warnings

import pytest
import torch
from torch import nn

from rather.common import BadInput, BadModel, load_model, model_checksum, save_checkpoint
from rather.common import checkpoints
from rather.common.checkpoints import (
    ARCHITECTURES, Bound, META_RULES, is_factory_name, keyword_problem, meta_problem, plain_problem, read_checkpoint,
)
from rather.common.models import resolve_factory, torch_device
from rather.common.networks import SmallCNN
from rather.iqa import quality_model
from rather.recognition import classifier as birds
from rather.seismic import classifier as seismic

SMALL = {"num_classes": 3, "width": 4}


@pytest.fixture
def small(tmp_path):
    """A rather checkpoint of SmallCNN(num_classes=3, width=4) and the model it holds."""
    torch.manual_seed(0)
    model = SmallCNN(**SMALL).eval()
    save_checkpoint(tmp_path / "small.pt", model, "rather.common.networks:SmallCNN", SMALL,
                    {"class_names": ["a", "b", "c"], "layer": "features", "preprocess": {"size": [32, 32]}})
    return tmp_path / "small.pt", model


def rewritten(path, **fields):
    """The checkpoint at ``path`` saved again with ``fields`` replaced; the new path."""
    content = torch.load(path, weights_only=True)
    content.update(fields)
    torch.save(content, path.with_name("rewritten.pt"))
    return path.with_name("rewritten.pt")


@pytest.fixture
def user_module(tmp_path, monkeypatch):
    """``user_module(name, source)``: a module of the user's on sys.path (no bytecode left behind)."""
    monkeypatch.setattr(sys, "dont_write_bytecode", True)
    monkeypatch.syspath_prepend(str(tmp_path))

    def write(name: str, source: str) -> str:
        (tmp_path / f"{name}.py").write_text(source)
        monkeypatch.delitem(sys.modules, name, raising=False)
        return name

    return write


def test_rathers_own_checkpoint_loads_with_its_meta(small):
    path, model = small
    loaded, meta = load_model(weights=path)
    x = torch.rand(2, 3, 32, 32)
    torch.testing.assert_close(loaded(x), model(x))
    assert meta == {"class_names": ["a", "b", "c"], "layer": "features", "preprocess": {"size": [32, 32]}}


@pytest.mark.parametrize("path, factory", [
    (seismic.DEFAULT_CHECKPOINT, seismic.FACTORY), (birds.DEFAULT_CHECKPOINT, birds.FACTORY),
    (quality_model.DEFAULT_CHECKPOINT, quality_model.FACTORY),
])
def test_the_committed_checkpoints_name_registered_architectures_within_bounds(path, factory):
    checkpoint = read_checkpoint(path)
    assert checkpoint.factory == factory and factory in ARCHITECTURES
    assert all(keyword_problem(factory, name, value) is None for name, value in checkpoint.kwargs.items())
    assert meta_problem(checkpoint.meta) is None
    model, _ = load_model(weights=path)
    assert isinstance(model, nn.Module) and not model.training


@pytest.mark.parametrize("spec", sorted(ARCHITECTURES))
def test_every_registered_architecture_exists_and_takes_its_declared_keywords(spec):
    factory = resolve_factory(spec)
    smallest = {name: bound.low if bound.kind is int else 0.0 for name, bound in ARCHITECTURES[spec].items()
                if not bound.optional}
    smallest = {**smallest, **({"num_classes": 2} if "num_classes" in smallest else {})}
    assert isinstance(factory(**smallest), nn.Module)


def test_a_factory_named_in_a_file_is_not_even_imported(small, user_module, tmp_path):
    module = user_module("spy_factory", f"open({str(tmp_path / 'imported')!r}, 'w').close()\n"
                                        "from rather.common.networks import SmallCNN as make\n")
    path = rewritten(small[0], factory=f"{module}:make")
    with pytest.raises(BadModel) as refused:
        load_model(weights=path)
    assert str(refused.value) == (
        f"'{path}' names the factory 'spy_factory:make', which is not one of rather's architectures (SeismicUNet, "
        "SmallCNN, diqam_fr, diqam_nr, wadiqam_fr, wadiqam_nr); a name read from a file is never run — if you trust "
        "it, name it "
        f"yourself: --model spy_factory:make (rather explain, rather recognition audit) or "
        f"load_model('spy_factory:make', {str(path)!r}) in Python"
    )
    assert module not in sys.modules and not (tmp_path / "imported").exists()
    model, meta = load_model(f"{module}:make", path)  # named by the user: trusted
    assert isinstance(model, SmallCNN) and meta["layer"] == "features" and (tmp_path / "imported").exists()


def test_a_factory_given_by_the_user_wins_over_the_files(small):
    path = rewritten(small[0], factory="os:system")
    model, _ = load_model("rather.common.networks:SmallCNN", path)
    assert isinstance(model, SmallCNN)


def test_a_plain_state_dict_needs_the_architecture(small, tmp_path):
    torch.save(small[1].state_dict(), tmp_path / "plain.pth")
    with pytest.raises(BadModel, match="does not name one; give the model as module:factory"):
        load_model(weights=tmp_path / "plain.pth")
    model, meta = load_model("rather.common.networks:SmallCNN", tmp_path / "plain.pth", kwargs=SMALL)
    assert meta == {} and isinstance(model, SmallCNN)


@pytest.mark.parametrize("source, message", [
    ("def make(**kwargs):\n    raise ValueError('boom')\n", r"calling '\w+:make' failed: ValueError: boom; check"),
    ("def make(**kwargs):\n    raise OSError('one\\ntwo')\n", r"failed: OSError: one; check"),
    ("def make(:\n", r"importing '\w+' for model '\w+:make' failed: SyntaxError: .*; fix the module"),
    ("raise RuntimeError('at import')\n", r"failed: RuntimeError: at import; fix the module"),
    ("import missing_dependency_xyz\n", r"failed: ModuleNotFoundError: No module named 'missing_dependency_xyz'"),
    ("import sys\ndef make(**kwargs):\n    sys.exit(4)\n", r"calling '\w+:make' failed: SystemExit: 4"),
    ("import sys\nsys.exit()\n", r"importing '\w+' for model '\w+:make' failed: SystemExit"),
    ("def make(**kwargs):\n    return 'model'\n", r"'\w+:make' returned a str, not a torch.nn.Module"),
    ("make = None\n", r"has no attribute 'make'"),
    ("make = 5\n", r"'\w+:make' is not callable"),
])
def test_a_users_factory_that_fails_is_bad_model(source, message, user_module):
    module = user_module("failing_factory", source)
    with pytest.raises(BadModel, match=message) as refused:
        load_model(f"{module}:make")
    assert "\n" not in str(refused.value)


def test_ctrl_c_in_a_users_factory_goes_through(user_module):
    module = user_module("interrupted_factory", "def make(**kwargs):\n    raise KeyboardInterrupt\n")
    with pytest.raises(KeyboardInterrupt):
        load_model(f"{module}:make")


@pytest.mark.parametrize("spec", ["os.system", "a:b:c", "", ":make", "module:", "os:system\nx", "1os:system", 42,
                                  None, "a b:c", "x" * 300 + ":f"])
def test_only_dotted_identifiers_are_factory_names(spec):
    assert not is_factory_name(spec)


@pytest.mark.parametrize("spec", ["os:system", "rather.common.networks:SmallCNN", "torchvision.models:resnet50",
                                  "package.module:Class.create"])
def test_factory_names(spec):
    assert is_factory_name(spec)


@pytest.mark.parametrize("value, problem", [
    ({"a": [1, 2.5, None, True, "x", {"b": []}], "c": (1, 2)}, None),
    ([1], "meta is a list, not a dict"),
    ({"a": {1, 2}}, "meta['a'] is a set, not a plain value"),
    ({"a": [{"b": torch.zeros(1)}]}, "meta['a'][0]['b'] is a Tensor, not a plain value"),
    ({"a": {3: "x"}}, "meta['a'] has the key 3, not a string"),
    ({"a": b"x"}, "meta['a'] is a bytes"),
])
def test_plain_values(value, problem):
    result = plain_problem(value, "meta")
    assert result == problem if problem is None else result.startswith(problem)


def nested_lists(levels: int) -> list:
    value: list = []
    for _ in range(levels - 1):
        value = [value]
    return value


def test_nesting_and_cycles_end_at_the_depth_bound():
    """MAX_DEPTH levels of containers, the dict itself included, and not one more."""
    assert plain_problem({"a": nested_lists(checkpoints.MAX_DEPTH - 1)}, "meta") is None
    assert plain_problem({"a": nested_lists(checkpoints.MAX_DEPTH)}, "meta").endswith("is nested more than 16 levels deep")
    cycle: list = []
    cycle.append(cycle)
    assert plain_problem({"a": cycle}, "meta").endswith("is nested more than 16 levels deep")


def test_the_number_of_values_is_bounded(monkeypatch):
    monkeypatch.setattr(checkpoints, "MAX_VALUES", 10)
    assert plain_problem({"a": list(range(8))}, "meta") is None
    assert plain_problem({"a": list(range(10))}, "meta") == "meta holds more than 10 values"


@pytest.mark.parametrize("meta, field", [
    ({"class_names": "abc"}, "class_names"), ({"class_names": ["a", 2]}, "class_names"),
    ({"class_names": ["a\nb"]}, "class_names"), ({"layer": ""}, "layer"), ({"layer": 3}, "layer"),
    ({"call": -1}, "call"), ({"call": True}, "call"), ({"patch": 0}, "patch"), ({"patch": "99"}, "patch"),
    ({"patch": 1025}, "patch"), ({"preprocess": []}, "preprocess"), ({"preprocess": {"size": [0, 4]}},
                                                                     "preprocess.size"),
    ({"preprocess": {"size": [4]}}, "preprocess.size"), ({"preprocess": {"size": [4, 2049]}}, "preprocess.size"),
    ({"preprocess": {"mean": [math.nan]}}, "preprocess.mean"), ({"preprocess": {"mean": []}}, "preprocess.mean"),
    ({"preprocess": {"std": [0.5, 0]}}, "preprocess.std"), ({"preprocess": {"std": [True]}}, "preprocess.std"),
    ({"preprocess": {"channels": 0}}, "preprocess.channels"), ({"preprocess": {"channels": 3.0}}, "preprocess.channels"),
])
def test_meta_fields_rather_reads_are_checked(meta, field):
    assert meta_problem(meta).startswith(f"meta field '{field}' is ")
    assert META_RULES[field].expected in meta_problem(meta)


def test_meta_fields_within_their_rules_and_unknown_fields_pass():
    assert meta_problem({"class_names": [], "layer": "layer4.2", "call": 1, "patch": 1024, "notes": {"any": [1]},
                         "preprocess": {"size": [2048, 1], "mean": [0, 0.5, 1], "std": [1e-6], "channels": 1}}) is None


@pytest.mark.parametrize("kwargs, problem", [
    ({"num_classes": 4, "width": 512, "pools": 0, "padding": 8}, None),
    ({"command": "ls"}, "takes no keyword 'command' (it takes num_classes, in_channels, width, pools, padding)"),
    ({"num_classes": 0}, "takes num_classes as a whole number in [1, 10000]; got 0"),
    ({"padding": 9}, "takes padding as a whole number in [0, 8]; got 9"),
    ({"width": 10**400}, "takes width as a whole number in [1, 512]; got 1000"),
    ({"width": 4.0}, "takes width as a whole number"), ({"width": False}, "takes width as a whole number"),
])
def test_keywords_of_registered_architectures(kwargs, problem):
    problems = [keyword_problem("rather.common.networks:SmallCNN", name, value) for name, value in kwargs.items()]
    found = [text for text in problems if text]
    assert found == [] if problem is None else found[0].startswith(f"rather.common.networks:SmallCNN {problem}")


def test_bounds():
    dropout = Bound(float, 0, 1)
    assert dropout.admits(0) and dropout.admits(0.5) and not dropout.admits(math.nan) and not dropout.admits(1.5)
    assert not dropout.admits(None) and Bound(int, 1, 2, optional=True).admits(None)
    assert str(Bound(int, 1, 64, optional=True)) == "a whole number in [1, 64] or None"


def test_keywords_are_checked_for_a_registered_architecture_named_by_the_user(small):
    with pytest.raises(BadModel, match=r"takes padding as a whole number in \[0, 8\]; got 1000000; check kwargs$"):
        load_model("rather.common.networks:SmallCNN", kwargs={"num_classes": 2, "padding": 10**6})
    path = rewritten(small[0], kwargs={**SMALL, "padding": 10**6})
    with pytest.raises(BadModel, match=f"got 1000000; check the kwargs in '{re.escape(str(path))}'$"):
        load_model(weights=path)
    model, _ = load_model(weights=path, kwargs={"padding": 1})  # the keyword given wins over the file's
    assert isinstance(model, SmallCNN)


@pytest.mark.parametrize("change, message", [
    (lambda sd: sd.update({"fc.bias": torch.zeros(7)}), r"'fc.bias' is \(7,\) torch.float32 in the file, \(3,\) "
                                                        r"torch.float32 in the model"),
    (lambda sd: sd.update({"fc.bias": torch.zeros(3, dtype=torch.complex64)}), "torch.complex64 in the file"),
    (lambda sd: sd.update({"fc.bias": torch.zeros(3, dtype=torch.int64)}), "torch.int64 in the file"),
    (lambda sd: sd.update({"fc.bias": "zeros"}), "its state_dict holds 'fc.bias' = a str, not a tensor"),
    (lambda sd: sd.update({"fc.bias": torch.zeros(3).to_sparse()}), "as a torch.sparse_coo tensor"),
    (lambda sd: sd.update({"fc.bias": torch.zeros(3, device="meta")}), "on meta, not a dense tensor"),
    (lambda sd: sd.update({"extra\nname": torch.zeros(3)}), r"unexpected \['extra\\nname'\]"),
    (lambda sd: sd.pop("fc.bias"), r"missing \['fc.bias'\]"),
])
def test_weights_must_fit_the_architecture(small, change, message):
    state = torch.load(small[0], weights_only=True)["state_dict"]
    change(state)
    with pytest.raises(BadModel, match=message) as refused:
        load_model(weights=rewritten(small[0], state_dict=state))
    assert "\n" not in str(refused.value)


def test_float64_weights_load_into_float32(small):
    state = {name: tensor.double() if tensor.is_floating_point() else tensor
             for name, tensor in torch.load(small[0], weights_only=True)["state_dict"].items()}
    model, _ = load_model(weights=rewritten(small[0], state_dict=state))
    assert model.fc.weight.dtype == torch.float32


def test_torch_load_failures_are_one_line_without_torchs_warnings(tmp_path):
    import pickle

    (tmp_path / "protocol4.pt").write_bytes(pickle.dumps({"a": 1}, protocol=4))
    with warnings.catch_warnings(record=True) as caught, pytest.raises(BadModel, match="not a readable PyTorch"):
        warnings.simplefilter("always")
        read_checkpoint(tmp_path / "protocol4.pt")
    assert caught == []


def test_a_truncated_legacy_file_is_damaged_not_code(tmp_path, small):
    torch.save(small[1].state_dict(), tmp_path / "legacy.pt", _use_new_zipfile_serialization=False)
    assert read_checkpoint(tmp_path / "legacy.pt").factory is None  # the legacy format itself is fine
    data = (tmp_path / "legacy.pt").read_bytes()
    (tmp_path / "cut.pt").write_bytes(data[: len(data) // 2])
    with pytest.raises(BadModel, match="is not a readable PyTorch checkpoint"):
        read_checkpoint(tmp_path / "cut.pt")
    (tmp_path / "empty.pt").write_bytes(b"")
    with pytest.raises(BadModel, match=re.escape("is empty (0 bytes)")):
        read_checkpoint(tmp_path / "empty.pt")


def test_save_checkpoint_refuses_what_load_model_would(tmp_path, small):
    model = small[1]
    for kwargs, meta, message in [({"a": {1}}, {}, "kwargs['a'] is a set"), ({}, [], "meta is a list"),
                                  ({}, {"patch": 0}, "meta field 'patch' is 0")]:
        with pytest.raises(BadInput, match=re.escape(message)):
            save_checkpoint(tmp_path / "out.pt", model, "rather.common.networks:SmallCNN", kwargs, meta)
    with pytest.raises(BadInput, match="factory must be a name of the form module:factory"):
        save_checkpoint(tmp_path / "out.pt", model, "SmallCNN", {}, {})
    assert not (tmp_path / "out.pt").exists()


@pytest.mark.parametrize("device, message", [
    ("meta", "device 'meta' cannot run a model; use cpu, cuda or cuda:N"),
    ("xla", "device 'xla' cannot run a model"),
    ("cuda:x", "device 'cuda:x' is not a torch device"),
    (torch.device("meta"), "device 'meta' cannot run a model"),
    pytest.param("mps", "MPS is not available on this machine; use --device cpu",
                 marks=pytest.mark.skipif(torch.backends.mps.is_available(), reason="this machine has MPS")),
])
def test_devices_that_cannot_run_a_model(device, message):
    with pytest.raises(BadInput, match=re.escape(message)):
        torch_device(device)


def test_cpu_devices():
    assert torch_device("cpu") == torch.device("cpu") and torch_device(torch.device("cpu")).type == "cpu"


def test_save_checkpoint_records_the_checksum_that_load_model_verifies(tmp_path, small):
    spec, model = "rather.common.networks:SmallCNN", small[1]
    save_checkpoint(tmp_path / "model.pt", model, spec, SMALL, {})
    content = torch.load(tmp_path / "model.pt", weights_only=True)
    assert content["checksum"] == model_checksum(model) == read_checkpoint(tmp_path / "model.pt").checksum
    loaded, _ = load_model(spec, tmp_path / "model.pt")
    assert model_checksum(loaded) == content["checksum"]
    content["state_dict"] = {name: tensor + 1 for name, tensor in content["state_dict"].items()}
    torch.save(content, tmp_path / "changed.pt")  # fresh CRCs, old checksum
    with pytest.raises(BadModel, match="do not match the checksum recorded when it was saved"):
        load_model(spec, tmp_path / "changed.pt")
    del content["checksum"]
    torch.save(content, tmp_path / "older.pt")  # written before checksums: loads unverified
    assert model_checksum(load_model(spec, tmp_path / "older.pt")[0]) != model_checksum(model)


def test_a_legacy_checkpoint_has_no_crc_and_loads_unverified(tmp_path, small):
    torch.save(small[1].state_dict(), tmp_path / "legacy.pt", _use_new_zipfile_serialization=False)
    data = bytearray((tmp_path / "legacy.pt").read_bytes())
    data[-3] ^= 0xFF  # inside the last storage's bytes (legacy files end with the storages)
    (tmp_path / "legacy.pt").write_bytes(bytes(data))
    checkpoints.verify_archive(tmp_path / "legacy.pt")  # not a zip archive: nothing to verify
    assert read_checkpoint(tmp_path / "legacy.pt").factory is None
