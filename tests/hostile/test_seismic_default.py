"""Hostile inputs of the default classifier's training on real faults, its recipe, class weights and model naming.

Each case is a clean refusal (the ``refuse`` fixture): exit 2, one line naming what was
wrong and what to give, the inputs untouched, nothing written.
"""
from __future__ import annotations

import numpy as np
import pytest
import torch

from rather.common import save_checkpoint
from rather.common.networks import SmallCNN
from rather.seismic.classifier import ARCHITECTURE, FACTORY


def fault_sections(root, names=("east", "west"), classes=("background", "fault"), shape=(50, 60)) -> None:
    """A --sections folder: noise sections, each with a vertical picked fault at trace 30."""
    (root / "sections").mkdir(parents=True)
    (root / "masks").mkdir()
    for index, name in enumerate(names):
        np.save(root / "sections" / f"{name}.npy", np.random.default_rng(index).standard_normal(shape))
        mask = np.zeros(shape, dtype=np.uint8)
        mask[:, 29:32] = 1
        np.save(root / "masks" / f"{name}_mask.npy", mask)
    (root / "classes.txt").write_text("\n".join(classes) + "\n")


def tiny_patches(root, size: int) -> None:
    """A --patches folder of two classes the four-class classifier has (horizon, fault), two noise patches each."""
    for index, name in enumerate(("horizon", "fault")):
        (root / name).mkdir(parents=True)
        for number in range(2):
            np.save(root / name / f"{number}.npy", np.random.default_rng([index, number]).standard_normal((size, size)))


def seen_checkpoint(path, sections=("east", "west")) -> None:
    """A four-class classifier whose meta says it trained on the windows of ``sections`` of the folder 'gsb'."""
    torch.manual_seed(0)
    save_checkpoint(path, SmallCNN(**ARCHITECTURE), FACTORY, ARCHITECTURE,
                    {"class_names": ["horizon", "chaotic", "fault", "salt_dome"], "layer": "features", "patch": 99,
                     "small_patch": 45, "field_faults": "gsb", "field_sections": list(sections)})


TRAIN_CASES = [  # (id, lay out under tmp_path, arguments after "seismic train", refusal)
    ("field-folder-missing", lambda t: None, ["--field-faults", "gsb"],
     "--field-faults gsb: needs the folders sections/ and masks/"),
    ("field-folder-without-masks", lambda t: (t / "gsb" / "sections").mkdir(parents=True),
     ["--field-faults", "gsb"], "needs the folders sections/ and masks/ of a --sections folder"),
    ("field-classes-without-fault", lambda t: fault_sections(t / "gsb", classes=("rock", "salt")),
     ["--field-faults", "gsb"], "its classes (rock, salt) have no 'fault'"),
    ("field-hold-out-unknown", lambda t: fault_sections(t / "gsb"),
     ["--field-faults", "gsb", "--field-hold-out", "east,north"], "--field-hold-out north: is not a section of"),
    ("field-hold-out-everything", lambda t: fault_sections(t / "gsb"),
     ["--field-faults", "gsb", "--field-hold-out", "east,west"], "training sections (none) give no window"),
    ("field-sections-too-short", lambda t: fault_sections(t / "gsb", shape=(30, 80)),
     ["--field-faults", "gsb"], "give no window of 45 x 45 samples"),
    ("field-hold-out-alone", lambda t: None, ["--field-hold-out", "east"],
     "--field-hold-out names sections of --field-faults; give --field-faults DIR too"),
    ("field-with-a-label-source", lambda t: fault_sections(t / "gsb"),
     ["--sections", "gsb", "--field-faults", "gsb"], "with --sections, train on that source alone"),
    ("recipe-unknown", lambda t: None, ["--recipe", "fancy"], "argument --recipe: invalid choice: 'fancy'"),
    ("recipe-plain-with-field-faults", lambda t: fault_sections(t / "gsb"), ["--recipe", "plain", "--field-faults",
                                                                           "gsb"],
     "--field-faults adds 45-sample windows, which only --recipe joint trains on"),
    ("recipe-with-a-label-source", lambda t: fault_sections(t / "gsb"), ["--sections", "gsb", "--recipe", "plain"],
     "--recipe chooses how the synthetic four-class classifier is trained; with --sections, drop it"),
    ("zoom-not-two-numbers", lambda t: None, ["--zoom", "1,four"], "--zoom 1,four: give two factors LOW,HIGH"),
    ("zoom-one-number", lambda t: None, ["--zoom", "4"], "--zoom 4: give two factors LOW,HIGH from 1 to 8"),
    ("zoom-below-one", lambda t: None, ["--zoom", "0.5,2"], "--zoom 0.5: a zoom resamples sections onto a finer "
     "grid, from 1 (as they are) to 8"),
    ("zoom-above-eight", lambda t: None, ["--zoom", "1,9"], "--zoom 9: a zoom resamples sections"),
    ("zoom-reversed", lambda t: None, ["--zoom", "4,2"], "--zoom 4,2: give the smaller zoom first, LOW,HIGH"),
    ("zoom-with-plain", lambda t: None, ["--recipe", "plain", "--zoom", "1,2"],
     "--zoom resamples the 45-sample patches, which only --recipe joint trains on"),
    ("zoom-with-a-label-source", lambda t: fault_sections(t / "gsb"), ["--sections", "gsb", "--zoom", "1,2"],
     "--zoom chooses how the synthetic four-class classifier is trained; with --sections, drop it"),
    ("texture-with-plain", lambda t: None, ["--recipe", "plain", "--texture"],
     "--texture varies the patches of --recipe joint; drop --texture or use --recipe joint"),
    ("texture-with-a-label-source", lambda t: fault_sections(t / "gsb"), ["--sections", "gsb", "--texture"],
     "--texture chooses how the synthetic four-class classifier is trained; with --sections, drop it"),
    ("width-too-large", lambda t: None, ["--width", "300"], "--width 300: give at most 256 channels"),
    ("width-zero", lambda t: None, ["--width", "0"], "--width must be a positive number; got 0"),
    ("width-with-a-label-source", lambda t: fault_sections(t / "gsb"), ["--sections", "gsb", "--width", "8"],
     "--width chooses how the synthetic four-class classifier is trained; with --sections, drop it"),
    ("class-weights-unknown", lambda t: fault_sections(t / "gsb"),
     ["--sections", "gsb", "--class-weights", "median"], "argument --class-weights: invalid choice: 'median'"),
]


@pytest.mark.parametrize("lay_out, extra, says", [case[1:] for case in TRAIN_CASES],
                         ids=[case[0] for case in TRAIN_CASES])
def test_train_refuses_field_faults_it_cannot_use(tmp_path, monkeypatch, refuse, lay_out, extra, says):
    monkeypatch.chdir(tmp_path)
    lay_out(tmp_path)
    refuse(["seismic", "train", *extra, "--surveys", "1", "--epochs", "1", "--out", "m.pt"],
           says=("rather seismic", "error: ", says))


EVALUATE_CASES = [  # (id, lay out under tmp_path, arguments after "seismic evaluate", refusal)
    ("sections-without-binary", lambda t: fault_sections(t / "gsb"), ["--sections", "gsb"],
     "classifies patches; score it on windows of the sections with --binary CLASS"),
    ("binary-not-a-model-class", lambda t: fault_sections(t / "gsb", classes=("background", "rift")),
     ["--sections", "gsb", "--binary", "rift"], "--binary rift: is not one of the model's classes"),
    ("binary-not-a-data-class", lambda t: fault_sections(t / "gsb", classes=("background", "rift")),
     ["--sections", "gsb", "--binary", "fault"], "--binary fault: is not one of the data's classes"),
    ("window-too-small", lambda t: fault_sections(t / "gsb"), ["--sections", "gsb", "--binary", "fault",
                                                               "--window", "5"],
     "windows of 5 samples do not fit these sections: a window must be from 12 samples to the smallest side of "
     "the sections (50); give --window N within that"),
    ("window-taller-than-sections", lambda t: fault_sections(t / "gsb", shape=(40, 60)),
     ["--sections", "gsb", "--binary", "fault"], "to the smallest side of the sections (40)"),
    ("every-section-trained-on", lambda t: (fault_sections(t / "gsb"), seen_checkpoint(t / "seen.pt")),
     ["--sections", "gsb", "--binary", "fault", "--weights", "seen.pt"],
     "the model was trained on every one of these sections"),
    ("placement-without-sections", lambda t: None, ["--placement"], "--placement measures a patch classifier's "
     "answers on sections with a marked class; give --sections DIR and --binary CLASS"),
    ("placement-on-patches", lambda t: fault_sections(t / "gsb"), ["--patches", "gsb", "--binary", "fault",
                                                                  "--placement"], "or drop --placement"),
    ("placement-without-binary", lambda t: fault_sections(t / "gsb"), ["--sections", "gsb", "--placement"],
     "--placement measures a patch classifier's answers"),
    ("zoom-below-one", lambda t: fault_sections(t / "gsb"), ["--sections", "gsb", "--binary", "fault", "--zoom",
                                                             "0.5"], "--zoom 0.5: a zoom resamples sections"),
    ("zoom-on-patches", lambda t: tiny_patches(t / "p", 60), ["--patches", "p", "--zoom", "2"],
     "--zoom resamples sections and their masks; with --patches, drop it"),
    ("own-size-too-small", lambda t: tiny_patches(t / "p", 20), ["--patches", "p", "--own-size"],
     "--patches p: patches of 20 x 20 samples are too small for this model to read at their own size; drop "
     "--own-size so that they are resized to its patch (99 x 99)"),
    ("factory-without-weights", lambda t: None, ["--model", "rather.common.networks:SmallCNN"],
     "--model rather.common.networks:SmallCNN: an architecture needs its weights; add --weights W"),
    ("old-model-spelling-missing-file", lambda t: None, ["--model", "gone.pt"], "gone.pt"),
]


@pytest.mark.parametrize("lay_out, extra, says", [case[1:] for case in EVALUATE_CASES],
                         ids=[case[0] for case in EVALUATE_CASES])
def test_evaluate_refuses_windows_and_names_it_cannot_use(tmp_path, monkeypatch, refuse, lay_out, extra, says):
    monkeypatch.chdir(tmp_path)
    lay_out(tmp_path)
    refuse(["seismic", "evaluate", *extra], says=("rather seismic: error: ", says))


def test_evaluate_refuses_a_zoom_that_is_not_a_number(refuse):
    refuse(["seismic", "evaluate", "--zoom", "two"],
           says=("rather seismic evaluate: error: ", "argument --zoom: invalid float value: 'two'"))


def test_explain_refuses_an_architecture_without_weights(tmp_path, monkeypatch, refuse):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "s.sgy").write_bytes(b"")
    refuse(["seismic", "explain", "s.sgy", "--model", "mine:net", "--out", "D"],
           says="--model mine:net: an architecture needs its weights; add --weights W")
