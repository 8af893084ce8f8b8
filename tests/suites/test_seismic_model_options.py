"""``rather seismic``'s model options: the shared ``--model module:factory --weights W``, and the old spelling."""
import pytest

from rather.common.progress import Progress
from rather.seismic.options import DEFAULT_CHECKPOINT
from rather.suites.cli import build_parser
from rather.suites.seismic_cmd import OLD_MODEL_NOTE, model_choice

FACTORY = "rather.common.networks:SmallCNN"


def parsed(*argv: str):
    return build_parser().parse_args(["seismic", "evaluate", *argv])


def test_weights_and_factory_are_named_as_rather_explain_names_them():
    choice = model_choice(parsed("--weights", "w.pt", "--model", FACTORY, "--model-kwargs", '{"width": 4}',
                                 "--layer", "features", "--classes", "a,b"))
    assert (choice.weights, choice.factory, choice.kwargs, choice.layer, choice.classes) == \
        ("w.pt", FACTORY, {"width": 4}, "features", ("a", "b"))
    assert model_choice(parsed()).weights == str(DEFAULT_CHECKPOINT) and model_choice(parsed()).factory is None


@pytest.mark.parametrize("path", ["old.pt", "models/old", "C:\\models\\old.pth"])
def test_a_checkpoint_named_by_model_alone_is_read_as_weights_with_a_note(path, capsys):
    choice = model_choice(parsed("--model", path), Progress(True))
    assert (choice.weights, choice.factory) == (path, None)
    assert capsys.readouterr().err.strip() == OLD_MODEL_NOTE.format(path=path)
    model_choice(parsed("--model", path), Progress(False))
    assert capsys.readouterr().err == ""  # the note follows the command's progress rule
