"""The shipped seismic classifier is the one its documented command makes: the example of
``rather seismic train --help`` (which the README and ``DEFAULT.md`` quote) parsed as the CLI
parses it, against what the training wrote into the checkpoint."""
import shlex

from rather.common.checkpoints import read_checkpoint
from rather.seismic.options import DEFAULT_CHECKPOINT
from rather.suites.cli import build_parser
from rather.suites.seismic_cmd import SUB_EXAMPLES, train_options


def test_the_shipped_classifier_records_the_options_of_the_train_help_example():
    words = shlex.split(SUB_EXAMPLES["train"])
    assert words[:3] == ["rather", "seismic", "train"]
    options = train_options(build_parser().parse_args(words[1:]))
    shipped = read_checkpoint(DEFAULT_CHECKPOINT)
    meta = shipped.meta
    assert (meta["seed"], meta["surveys"], meta["per_class"], meta["epochs"]) == \
        (options.seed, options.surveys, options.per_class, options.epochs)
    assert meta["field_faults"] == options.field_faults
    assert meta["field_held_out"] == list(options.field_hold_out)
    assert meta.get("zoom", [1.0, 1.0]) == list(options.zoom)  # recorded only when zoomed
    assert ("texture" in meta) == options.texture
    assert shipped.kwargs["width"] == options.width
