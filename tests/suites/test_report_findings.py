"""The findings box's sentences: the number that matters beside its baseline, or what was not checked."""
from rather.suites.findings import findings, iqa_finding, recognition_finding, seismic_finding

SEISMIC = {"inline": 108, "truth": {"balanced_accuracy": 1.0, "patches": 48, "confusion": [[2, 0], [0, 16]],
                                    "energy_share": {"fault": {"gradcam": 0.14, "contrast": 0.162, "patches": 16}}}}
IQA = {"score": 0.745, "damage": {"area_share": 0.249, "energy_share": {"Why 0.745?": 0.001,
                                                                        "Why 0.745, rather than 0.926?": 0.725}},
       "evaluation": {"srcc": 0.907}}
RECOGNITION = {"class_names": ["a"] * 20, "accuracy": 0.94, "truth_area": 0.0088,
               "energy_share": {"contrast": 0.0592, "gradcam": 0.039}}


def test_seismic_gives_contrast_beside_grad_cam_and_accuracy_beside_chance():
    assert seismic_finding(SEISMIC) == (
        "Why fault, rather than horizon? puts 16.2% of its energy inside the true fault (16 patches; Grad-CAM's Why "
        "fault? 14.0%); balanced accuracy 1.00 on 48 clear patches (chance 0.50).")


def test_seismic_names_every_checked_structure_where_the_contrast_loses_too():
    truth = {**SEISMIC["truth"], "energy_share": {
        "fault": {"gradcam": 0.14, "contrast": 0.162, "patches": 16, "area_share": 0.05},
        "salt_dome": {"gradcam": 0.865, "contrast": 0.713, "patches": 30},
        "chaotic": {"gradcam": None, "contrast": None, "patches": 0}}}
    assert seismic_finding({"inline": 1, "truth": truth}) == (
        "Why fault, rather than horizon? puts 16.2% of its energy inside the true fault (16 patches; Grad-CAM's Why "
        "fault? 14.0%, the fault covering 5.0% of the patch); Why salt_dome, rather than horizon? puts 71.3% of its "
        "energy inside the true salt_dome (30 patches; Grad-CAM's Why salt_dome? 86.5%); balanced accuracy 1.00 on "
        "48 clear patches (chance 0.50).")


def test_seismic_without_labels_or_checked_patches_says_not_checked():
    assert "no labels beside it" in seismic_finding({"inline": 3})
    unchecked = {"inline": 3, "truth": {**SEISMIC["truth"], "balanced_accuracy": None,
                                        "energy_share": {"fault": {"gradcam": None, "contrast": None, "patches": 0}}}}
    assert seismic_finding(unchecked) == ("Inline 3: no patch both labelled and predicted fault or salt, so the maps "
                                          "were not checked.")


def test_iqa_gives_the_rather_question_beside_the_damage_area():
    assert iqa_finding(IQA) == (
        "Why 0.745, rather than 0.926? puts 72.5% of its energy inside the damaged rectangle, which covers 24.9% of "
        "the image (a map blind to the damage scores about that); SRCC with the held-out labels 0.91 (0 for a random "
        "ranking).")
    assert iqa_finding({"score": 0.5}) == "The model scores the pair 0.500; no known damage to check the maps against."


def test_recognition_gives_contrast_beside_grad_cam_the_part_area_and_chance():
    assert recognition_finding(RECOGNITION) == (
        "Why A, rather than B? puts 5.9% of its energy on the part that tells the look-alikes apart, Grad-CAM "
        "(Why A?) 3.9% (the part covers 0.9% of the image: a random map's share); accuracy 0.94 (chance 0.05).")
    assert "not checked" in recognition_finding({"class_names": ["a", "b"], "accuracy": 0.5})


def test_one_finding_per_suite_in_order_linking_its_section():
    assert [f.section for f in findings({"iqa": IQA, "seismic": SEISMIC, "other": {}})] == ["iqa", "seismic"]


def test_each_section_names_the_command_and_the_checkpoint_it_ran():
    from rather.recognition.options import ModelChoice
    from rather.suites.suite_cmd import default_model, model_file, reproduce_command

    assert reproduce_command("seismic", None, None, None) == "rather suite seismic --out seismic-suite"
    assert reproduce_command("iqa", "a b.png,r.png", "m.pt", 3) == \
        "rather suite iqa --out iqa-suite --data 'a b.png,r.png' --model m.pt --seed 3"
    choice = ModelChoice(factory="torchvision.models:resnet50", weights="w.pth")
    assert reproduce_command("recognition", None, choice, None) == \
        "rather suite recognition --out recognition-suite --model torchvision.models:resnet50 --weights w.pth"
    assert model_file("recognition", choice).name == "w.pth"
    assert model_file("recognition", ModelChoice()) == default_model("recognition")
