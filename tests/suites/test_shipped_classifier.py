"""The shipped seismic classifier is the one its documented command makes: the example of
``rather seismic train --help`` (which the README and ``DEFAULT.md`` quote) parsed as the CLI
parses it, against what the training wrote into the checkpoint."""
import shlex

from rather.common.checkpoints import read_checkpoint
from rather.seismic.options import DEFAULT_CHECKPOINT, TrainOptions
from rather.suites.cli import build_parser
from rather.suites.seismic_cmd import SUB_EXAMPLES


def test_the_shipped_classifier_records_the_options_of_the_train_help_example():
    words = shlex.split(SUB_EXAMPLES["train"])
    assert words[:3] == ["rather", "seismic", "train"]
    args = build_parser().parse_args(words[1:])
    shipped = read_checkpoint(DEFAULT_CHECKPOINT)
    meta = shipped.meta
    assert (meta["seed"], meta["surveys"], meta["per_class"], meta["epochs"]) == \
        (args.seed, args.surveys, args.per_class, args.epochs)
    assert meta["field_faults"] == args.field_faults
    assert meta["field_held_out"] == args.field_hold_out.split(",")
    zoom = None if args.zoom is None else [float(part) for part in args.zoom.split(",")]
    assert meta.get("zoom") == zoom
    assert ("texture" in meta) == bool(args.texture)
    assert shipped.kwargs["width"] == (args.width or TrainOptions.width)
