"""``rather recognition`` train and audit from the command line, and ``rather bench recognition``."""
import json
from pathlib import Path

import numpy as np
import pytest
import torch

from rather.common import BadInput, load, save_checkpoint
from rather.common.networks import ResNetLike, SmallCNN
from rather.recognition import classifier
from rather.recognition.loaders import LOADERS
from rather.recognition.options import FORMATS, AuditOptions, DataChoice, ModelChoice
from rather.recognition.pipeline import audit
from rather.suites.bench_recognition import run_recognition
from rather.suites.cli import main

from test_loaders import cub_tree, image_folder, write_image

SMALL = ["--images", "40", "--truth-images", "12", "--steps", "4", "--per-pair", "2"]
RESNET_KWARGS = {"blocks": [1, 1], "widths": [8, 16], "num_classes": 2, "bottleneck": False, "stem": 8}


@pytest.fixture(scope="module")
def synthetic_audit(tmp_path_factory):
    out = tmp_path_factory.mktemp("audit") / "out"
    assert main(["recognition", "audit", "--format", "synthetic", *SMALL, "--out", str(out)]) == 0
    return out


def test_synthetic_audit_writes_every_number(synthetic_audit):
    summary = json.loads((synthetic_audit / "summary.json").read_text())
    assert summary["images"] == 40 and len(summary["per_class_accuracy"]) == 20
    assert len(summary["confusion"]) == 20 and sum(map(sum, summary["confusion"])) == 40
    assert np.trace(np.array(summary["confusion"])) / 40 == pytest.approx(summary["accuracy"])
    assert set(summary["energy_share"]) == {"contrast", "gradcam"}
    by_part = summary["energy_share_by_part"]
    assert sum(part["images"] for part in by_part.values()) == summary["truth_images"]
    weighted = sum(part["images"] * part["contrast"] for part in by_part.values()) / summary["truth_images"]
    assert weighted == pytest.approx(summary["energy_share"]["contrast"])
    assert set(summary["margin_deletion_auc"]) == {"contrast", "gradcam", "random"}
    assert set(summary["top_k"]) == {"top_1", "top_5"} and 0 <= summary["ece"] <= 1
    assert summary["truth_images"] == 12 and summary["part_swap"]["images"] == 12
    sanity = summary["sanity"]
    assert [name for step in sanity["cascade"] for name in step["randomised"]][:2] == ["fc", "features.12"]
    assert len(sanity["cascade"]) == len(sanity["independent"]) <= AuditOptions.sanity_steps
    assert [step["randomised"] for step in sanity["cascade"]] == [step["randomised"] for step in sanity["independent"]]
    assert sanity["cascade"][-1]["randomised"][-1] == "features.0"  # through the whole network
    assert set(sanity["random_logit"]) == {"contrast", "gradcam"}
    trust = summary["trust"]  # GradTrust of every image: ranked correct predictions and mistakes
    least, most = trust["least_trustworthy_correct"], trust["most_trustworthy_mistakes"]
    assert least and all(image["true"] == image["predicted"] for image in least)
    assert all(image["true"] != image["predicted"] for image in most)
    assert len(most) == min(AuditOptions.trust_ranked, round(40 * (1 - summary["accuracy"])))
    assert [image["gradtrust"] for image in least] == sorted(image["gradtrust"] for image in least)
    assert [image["gradtrust"] for image in most] == sorted((image["gradtrust"] for image in most), reverse=True)
    assert all(1 <= image["gradtrust"] <= 5 for image in least + most)
    for name in summary["outputs"].values():
        assert (synthetic_audit / name).is_file()
    for pair in summary["most_confused"]:
        assert pair["count"] == pair["a_as_b"] + pair["b_as_a"] > 0


def test_the_pipeline_called_with_typed_options_gives_the_commands_numbers(synthetic_audit, tmp_path):
    """What ``rather recognition audit`` parses is all the pipeline takes: same options, same summary."""
    summary = audit(tmp_path / "direct", DataChoice("synthetic", images=40),
                    options=AuditOptions(truth_images=12, steps=4, per_pair=2))
    expected = json.loads((synthetic_audit / "summary.json").read_text())
    assert {**summary, "seconds": None, "run": None} == {**expected, "seconds": None, "run": None}
    assert sorted(p.name for p in (tmp_path / "direct").iterdir()) == sorted(p.name for p in synthetic_audit.iterdir())


def test_the_formats_are_the_synthetic_birds_and_every_loader():
    assert FORMATS == ("synthetic", *LOADERS)


@pytest.mark.parametrize("data, model, options, message", [
    (DataChoice("synthetic", images=19), ModelChoice(), AuditOptions(), "--images must be at least 20"),
    (DataChoice("cub200"), ModelChoice(), AuditOptions(), "--format cub200 needs --data DIR"),
    (DataChoice("imagenet"), ModelChoice(), AuditOptions(), "unknown data format 'imagenet'; give one of synthetic"),
    (DataChoice("synthetic"), ModelChoice(factory="rather.common.networks:SmallCNN"), AuditOptions(),
     "--model rather.common.networks:SmallCNN needs --weights"),
    (DataChoice("synthetic"), ModelChoice(std=(0.5, 0.0, 0.5)), AuditOptions(), "--std must be positive"),
    (DataChoice("synthetic"), ModelChoice(size=(4, 4)), AuditOptions(), "--size 4 4 is too small"),
    (DataChoice("synthetic"), ModelChoice(), AuditOptions(pairs=0), "--pairs must be at least 1; got 0"),
    (DataChoice("synthetic"), ModelChoice(), AuditOptions(truth_images=-3), "--truth-images must be at least 1"),
])
def test_the_pipeline_refuses_bad_options_before_writing(tmp_path, data, model, options, message):
    with pytest.raises(BadInput, match=message):
        audit(tmp_path / "out", data, model, options)
    assert list(tmp_path.iterdir()) == []


def test_synthetic_audit_store_holds_the_three_questions_per_hesitation(synthetic_audit):
    summary = json.loads((synthetic_audit / "summary.json").read_text())
    explained = [image for pair in summary["most_confused"] for image in pair["images"]]
    if not explained:
        pytest.skip("the committed model made no confusion on these 40 birds")
    result = load(synthetic_audit / "explanations.h5")
    assert result.kinds == ("why", "rather_margin", "rather_margin")
    assert len(result.ids) == len(explained)
    first = summary["most_confused"][0]
    if first["images"]:
        assert result.title(0, 1) == f"Why {first['a_name']}, rather than {first['b_name']}? (margin)"


@pytest.mark.parametrize("argv, message", [
    (["--format", "cub200"], "needs --data"),
    (["--format", "synthetic", "--model", "rather.common.networks:SmallCNN"], "needs --weights"),
    (["--format", "synthetic", "--images", "5"], "--images must be at least 20"),
    (["--format", "synthetic", "--model-kwargs", "[1]"], "must be a JSON object"),
])
def test_bad_audit_options_are_one_line_and_write_nothing(tmp_path, capsys, argv, message):
    assert main(["recognition", "audit", *argv, "--out", str(tmp_path / "out")]) == 2
    error = capsys.readouterr().err.strip()
    assert message in error and "\n" not in error
    assert not (tmp_path / "out").exists()


def resnet_weights(path, num_classes=2):
    torch.manual_seed(0)
    torch.save(ResNetLike(**{**RESNET_KWARGS, "num_classes": num_classes}).state_dict(), path)
    return path


def user_model_argv(tmp_path, num_classes=2):
    return ["--model", "rather.common.networks:ResNetLike", "--weights", str(resnet_weights(tmp_path / "w.pt",
                                                                                             num_classes)),
            "--model-kwargs", json.dumps({**RESNET_KWARGS, "num_classes": num_classes}), "--layer", "layer2",
            "--size", "32", "32", "--mean", "0.5", "0.5", "0.5", "--std", "0.25", "0.25", "0.25"]


def test_user_model_audit_on_a_cub_tree_measures_boxes(tmp_path, capsys):
    root = cub_tree(tmp_path / "cub")
    out = tmp_path / "out"
    assert main(["recognition", "audit", "--data", str(root), "--format", "cub200", "--split", "all",
                 *user_model_argv(tmp_path), "--steps", "2", "--out", str(out), "--json"]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["images"] == 3 and summary["class_names"][0] == "001.Black_footed_Albatross"
    assert summary["layer"] == "layer2" and summary["model"] == "rather.common.networks:ResNetLike"
    for pair in summary["most_confused"]:  # CUB's part locations: the pointing game per part
        if pair["images"]:
            assert set(pair["part_pointing"]) == {"tolerance_pixels", "contrast", "gradcam"}
            assert pair["part_pointing"]["tolerance_pixels"] == pytest.approx(15 / 224 * 32, abs=0.01)
            assert set(pair["part_pointing"]["contrast"]) == {"back", "beak"}
    if summary["truth_images"]:
        assert set(summary["energy_share_in_box"]) == {"contrast", "gradcam"}
        assert set(summary["margin_deletion_auc"]) == {"contrast", "gradcam", "random"}
    assert (out / "summary.json").is_file() and (out / "confusion.png").is_file()


def test_a_model_with_other_classes_is_refused(tmp_path, capsys):
    root = cub_tree(tmp_path / "cub")
    assert main(["recognition", "audit", "--data", str(root), "--format", "cub200",
                 *user_model_argv(tmp_path, num_classes=5), "--out", str(tmp_path / "out")]) == 2
    assert "gives 5 classes but the cub200 data has 2" in capsys.readouterr().err
    assert not (tmp_path / "out").exists()


def test_torchvision_resnet_audits_without_torchvision_being_a_dependency(tmp_path, capsys):
    models = pytest.importorskip("torchvision.models")
    root = cub_tree(tmp_path / "cub")
    torch.save(models.resnet18(num_classes=2).state_dict(), tmp_path / "r18.pt")
    assert main(["recognition", "audit", "--data", str(root), "--format", "cub200", "--split", "all",
                 "--model", "torchvision.models:resnet18", "--model-kwargs", '{"num_classes": 2}',
                 "--weights", str(tmp_path / "r18.pt"), "--layer", "layer4", "--size", "64", "64",
                 "--mean", "0.485", "0.456", "0.406", "--std", "0.229", "0.224", "0.225", "--steps", "2",
                 "--out", str(tmp_path / "out"), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["layer"] == "layer4"


def test_train_is_reproducible(tmp_path):
    for name in ("a.pt", "b.pt"):
        assert main(["recognition", "train", "--out", str(tmp_path / name), "--images", "40", "--epochs", "1"]) == 0
    assert (tmp_path / "a.pt").read_bytes() == (tmp_path / "b.pt").read_bytes()


@pytest.mark.slow
def test_train_reproduces_the_committed_checkpoint(tmp_path):
    assert main(["recognition", "train", "--out", str(tmp_path / "birds.pt")]) == 0
    assert (tmp_path / "birds.pt").read_bytes() == classifier.DEFAULT_CHECKPOINT.read_bytes()


@pytest.mark.slow
def test_bench_recognition_batched_contrasts_equal_the_loop():
    report = run_recognition(images=24, progress=lambda message: None)
    assert report["all_pairs"]["max_map_difference"] < 1e-4
    assert report["all_pairs"]["contrasts"] == 20
    assert report["audit_images_per_second"] > 0


def test_an_image_folder_audit_with_a_user_model(tmp_path, capsys):
    """--format imagefolder DIR (positional) with --model-kwargs: classes from folder names, paths in the summary."""
    root = image_folder(tmp_path / "data")
    out = tmp_path / "out"
    assert main(["recognition", "audit", "--format", "imagefolder", str(root), "--split", "all",
                 *user_model_argv(tmp_path), "--steps", "2", "--batch-size", "4", "--out", str(out), "--json"]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["format"] == "imagefolder" and summary["images"] == 6
    assert summary["class_names"] == ["a_finch", "b_wren"] and summary["model"] == "rather.common.networks:ResNetLike"
    records = [image for pair in summary["most_confused"] for image in pair["images"]]
    assert records, "a random two-class model confuses some of six images"
    for image in records:
        assert Path(image["path"]).is_file() and image["true"] in Path(image["path"]).parts
        assert image["p_a"] + image["p_b"] == pytest.approx(1, abs=1e-3)


def test_a_csv_audit_reads_the_listed_images_and_boxes(tmp_path, capsys):
    for name in ("a.png", "b.png", "c.png"):
        write_image(tmp_path / "img" / name, value=ord(name[0]))
    table = tmp_path / "labels.csv"
    table.write_text("path,label,x0,y0,x1,y1\nimg/a.png,wren,1,1,30,30\nimg/b.png,finch,,,,\nimg/c.png,wren,,,,\n")
    assert main(["recognition", "audit", "--format", "csv", "--data", str(table), *user_model_argv(tmp_path),
                 "--steps", "2", "--out", str(tmp_path / "out"), "--json"]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["images"] == 3 and summary["class_names"] == ["finch", "wren"]
    assert summary.get("box_images", 0) <= 1


def test_the_committed_checkpoint_is_named_in_the_summary(synthetic_audit):
    assert json.loads((synthetic_audit / "summary.json").read_text())["model"] == classifier.FACTORY


def test_the_checkpoints_channels_are_the_models_input(tmp_path, capsys):
    """A one-channel classifier whose checkpoint says preprocess.channels 1 is audited on RGB files."""
    torch.manual_seed(0)
    kwargs = {"num_classes": 2, "in_channels": 1, "width": 4, "pools": 1}
    save_checkpoint(tmp_path / "grey.pt", SmallCNN(**kwargs), classifier.FACTORY, kwargs,
                    {"layer": "features", "preprocess": {"size": [32, 32], "channels": 1}})
    assert main(["recognition", "audit", "--format", "imagefolder", str(image_folder(tmp_path / "data")),
                 "--weights", str(tmp_path / "grey.pt"), "--steps", "2", "--out", str(tmp_path / "out"),
                 "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["images"] == 3


def test_the_data_given_twice_is_refused(tmp_path, capsys):
    assert main(["recognition", "audit", "--format", "imagefolder", "a", "--data", "b",
                 "--out", str(tmp_path / "out")]) == 2
    assert "the data is given twice" in capsys.readouterr().err


@pytest.mark.slow
def test_suite_recognition_takes_the_same_classifier_options(tmp_path, capsys):
    root = image_folder(tmp_path / "data")
    out = tmp_path / "suite"
    assert main(["suite", "recognition", "--data", f"imagefolder:{root}", *user_model_argv(tmp_path),
                 "--out", str(out), "--json"]) == 0
    summary = json.loads(capsys.readouterr().out)["suites"]["recognition"]
    assert summary["model"] == "rather.common.networks:ResNetLike" and summary["class_names"] == ["a_finch", "b_wren"]
    assert (out / "index.html").is_file()
