"""Question kinds and tasks: defined once, written to files as the same strings as before, old stores still load."""
import json

import h5py
import numpy as np
import pytest
import torch

from rather.common import load


def write_schema_1_store(path, *, task, kinds, p, q, outputs):
    """A store in the layout ``ExplanationResult.save`` wrote before kinds and tasks were enums (schema 1), by hand.

    Two inputs, maps of 4 x 5, raw maps of 2 x 2; ``p``, ``q``: (2, Q); ``outputs``: (2, C).
    """
    strings = h5py.string_dtype()
    generator = np.random.default_rng(0)
    with h5py.File(path, "w") as store:
        store.attrs.update({"format": "rather.explanations", "schema": 1, "rather_version": "0.1.0", "task": task,
                            "layer": "features", "call": 0, "method": "gradcam", "gradient_path": "autograd",
                            "model_checksum": "0" * 64})
        store.attrs.create("kinds", np.array(kinds, dtype=object), dtype=strings)
        store.attrs.create("notes", np.array(["written by hand"], dtype=object), dtype=strings)
        store.attrs.create("class_names", np.array([], dtype=object), dtype=strings)
        store.create_dataset("ids", data=np.array(["a", "b"], dtype=object), dtype=strings)
        for index, name in enumerate(("a", "b")):
            group = store.create_group(f"inputs/{name}")
            group.create_dataset("maps", data=generator.uniform(0, 1, (len(kinds), 4, 5)).astype(np.float32),
                                 compression="gzip", shuffle=True)
            group.create_dataset("raw", data=generator.uniform(0, 2, (len(kinds), 2, 2)).astype(np.float32))
            group.create_dataset("outputs", data=np.asarray(outputs[index], dtype=np.float32))
            group.attrs.update({"index": index, "p": np.asarray(p[index]), "q": np.asarray(q[index])})


OLD_CLASS_STORE = dict(task="class", kinds=["why", "whatifnot", "rather", "rather_margin"],
                       p=np.array([[2, 2, 2, 1], [0, 0, 0, 0]], dtype=np.int64),
                       q=np.array([[-1, -1, 1, 2], [-1, -1, 2, 1]], dtype=np.int64),
                       outputs=[[0.1, 0.5, 2.0], [3.0, 0.2, -1.0]])
OLD_SCORE_STORE = dict(task="score", kinds=["why", "whatifnot", "score_rather"],
                       p=np.array([[0.6, 0.6, 0.6], [0.3, 0.3, 0.3]]),
                       q=np.array([[np.nan, np.nan, 0.75], [np.nan, np.nan, 0.9]]),
                       outputs=[[0.6], [0.3]])


@pytest.mark.parametrize("layout", [OLD_CLASS_STORE, OLD_SCORE_STORE], ids=["class", "score"])
def test_a_store_written_before_kinds_were_enums_loads(layout, tmp_path):
    write_schema_1_store(tmp_path / "old.h5", **layout)
    result = load(tmp_path / "old.h5")
    assert result.task == layout["task"] and list(result.kinds) == layout["kinds"]
    assert result.ids == ("a", "b") and result.maps.shape == (2, len(layout["kinds"]), 4, 5)
    torch.testing.assert_close(result.q, torch.from_numpy(layout["q"]), equal_nan=True)
    assert result.title(1, 0).startswith("Why ") and result.title(1, 1).startswith("What if not ")
    assert result.title(0, len(layout["kinds"]) - 1).endswith(", rather than 0.75?" if layout["task"] == "score"
                                                              else ", rather than 2? (margin)")


def test_kinds_and_tasks_are_the_strings_files_hold():
    from rather.common import Kind, Task

    assert [kind.value for kind in Kind] == ["why", "whatifnot", "rather", "rather_margin", "score_rather"]
    assert [task.value for task in Task] == ["class", "score"]
    assert Kind.WHY == "why" and {"why": 1}[Kind.WHY] == 1 and f"{Kind.SCORE_RATHER}" == str(Kind.SCORE_RATHER) == \
        "score_rather"
    assert json.dumps({"kind": Kind.RATHER_MARGIN, "task": Task.CLASS}) == '{"kind": "rather_margin", "task": "class"}'


def test_a_saved_store_holds_plain_strings(tmp_path):
    from rather.common import Explainer, Kind, Rather, Task, WhatIfNot, Why

    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Conv2d(3, 4, 3), torch.nn.ReLU(), torch.nn.AdaptiveAvgPool2d(1),
                                torch.nn.Flatten(), torch.nn.Linear(4, 3)).eval()
    result = Explainer(model, layer="1")(torch.rand(2, 3, 8, 8), [Why(), WhatIfNot(), Rather(), Rather(1, p=2)])
    assert result.kinds == (Kind.WHY, Kind.WHAT_IF_NOT, Kind.RATHER, Kind.RATHER_MARGIN) and result.task is Task.CLASS
    result.save(tmp_path / "new.h5")
    with h5py.File(tmp_path / "new.h5", "r") as store:
        assert type(store.attrs["task"]) is str and store.attrs["task"] == "class"
        assert store.attrs["kinds"].tolist() == ["why", "whatifnot", "rather", "rather_margin"]
    assert load(tmp_path / "new.h5").kinds == result.kinds


def test_an_unknown_kind_or_task_is_refused(tmp_path):
    from rather.common import BadInput, ExplanationResult

    write_schema_1_store(tmp_path / "odd.h5", **{**OLD_SCORE_STORE, "kinds": ["why", "whatifnot", "why_not"]})
    with pytest.raises(BadInput, match="attribute 'kinds' of '/' names the unknown question kind 'why_not', expected "
                                       "one of why, whatifnot, rather, rather_margin, score_rather"):
        load(tmp_path / "odd.h5")
    fields = dict(maps=torch.zeros(1, 1, 2, 2), raw=torch.zeros(1, 1, 1, 1), p=torch.zeros(1, 1), q=torch.zeros(1, 1),
                  outputs=torch.zeros(1, 1), layer="x", method="gradcam")
    with pytest.raises(BadInput, match="unknown question kind 'because': use one of why, whatifnot"):
        ExplanationResult(kinds=("because",), task="score", **fields)
    with pytest.raises(BadInput, match="unknown task 'segment': use one of class, score"):
        ExplanationResult(kinds=("why",), task="segment", **fields)


def test_a_stitched_result_answers_the_questions_a_direct_explanation_answers():
    """Maps put together outside the explainer get P, Q, kinds and task from the core, as ``__call__`` gives them."""
    from rather.common import BadInput, Explainer, Rather, ScoreRather, Why
    from rather.common.maps import normalise

    torch.manual_seed(1)
    classifier = torch.nn.Sequential(torch.nn.Conv2d(3, 4, 3), torch.nn.ReLU(), torch.nn.AdaptiveAvgPool2d(1),
                                     torch.nn.Flatten(), torch.nn.Linear(4, 3)).eval()
    scorer = torch.nn.Sequential(*list(classifier)[:-1], torch.nn.Linear(4, 1), torch.nn.Flatten(0)).eval()
    x = torch.rand(2, 3, 10, 12)
    asked = ((classifier, [Why(), Rather(), Rather(0, p=2)]), (scorer, [Why(), ScoreRather([0.2, 0.7])]))
    for model, questions in asked:
        explainer = Explainer(model, layer="1", head="autograd")
        direct = explainer(x, questions, ids=["a", "b"])
        raw = torch.rand(2, direct.n_questions, 10, 12)
        with torch.no_grad():
            outputs = model(x)
        stitched = explainer.stitched(raw, outputs, questions, gradient_path="autograd", ids=["a", "b"],
                                      notes=("blended",))
        for name in ("p", "q", "outputs"):
            torch.testing.assert_close(getattr(stitched, name), getattr(direct, name), equal_nan=True)
        assert (stitched.kinds, stitched.task, stitched.layer, stitched.ids) == (direct.kinds, direct.task, "1",
                                                                                ("a", "b"))
        assert stitched.notes == direct.notes + ("blended",) and stitched.model_checksum == direct.model_checksum
        torch.testing.assert_close(stitched.maps, normalise(raw), rtol=0, atol=0)
        with pytest.raises(BadInput, match=r"stitched maps must be \(N, Q, H, W\)"):
            explainer.stitched(raw[:, :1], outputs, questions, gradient_path="autograd")
