"""``rather seismic``: describe SEG-Y files, make synthetic surveys, train, evaluate and explain sections.

Each sub-command parses its arguments, calls one function of ``rather.seismic`` and
prints the result. The domain modules are imported inside the ``run_*`` functions, so
``rather --help`` loads none of them (nor torch, segyio or Dask), and ``rather seismic
info`` loads only the SEG-Y reader. Only ``rather.seismic.options``, ``rather.seismic.scaling``
and ``rather.seismic.survey_parameters`` are read up front: they hold the defaults the help
shows.
"""
from __future__ import annotations

import argparse
import json
import time
from pathlib import Path
from typing import Optional

from rather.common.errors import BadInput
from rather.seismic.options import (CLASS_WEIGHTS, DEFAULT_CHECKPOINT, MAX_ZOOM, RECIPES, ExplainOptions,
                                    ModelChoice, RealTrainOptions, TrainOptions, check_formats)
from rather.seismic.scaling import SCALINGS
from rather.seismic.survey_parameters import SurveyParameters

from .cluster_args import add_cluster_arguments

NAME = "seismic"
HELP = "seismic sections: info, character, synth, train, evaluate, explain"
EXAMPLE = "rather seismic synth survey.sgy && rather seismic explain survey.sgy --out explained"
SUB_EXAMPLES = {
    "info": "rather seismic info survey.sgy --json",
    "character": "rather seismic character survey.sgy field.sgy",
    "synth": "rather seismic synth survey.sgy --seed 7 --inlines 24 --crosslines 240 --samples 240",
    "train": "rather seismic train --seed 0 --surveys 36 --per-class 5000 --epochs 8 --field-faults gsb "
             "--field-hold-out gsb_crl_2800,gsb_inl_2011 --zoom 1,2 --texture --out classifier.pt",
    "evaluate": "rather seismic evaluate --json",
    "explain": "rather seismic explain survey.sgy --inline 112 --out explained",
}
SYNTH_SIZES = ("inlines", "crosslines", "samples", "faults", "salt_domes", "chaotic_zones")
"""The ``SurveyParameters`` fields ``rather seismic synth`` takes as options."""


def _geometry_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--iline", type=int, default=ExplainOptions.iline, help="byte location of the inline number")
    parser.add_argument("--xline", type=int, default=ExplainOptions.xline,
                        help="byte location of the crossline number")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    commands = parser.add_subparsers(title="seismic commands", dest="seismic_command", required=True,
                                     parser_class=type(parser))
    info = commands.add_parser("info", help="describe a SEG-Y file", description="Describe a SEG-Y file: geometry, "
                               "line ranges, traces, samples, format, byte order, sorting.")
    info.add_argument("file")
    _geometry_options(info)
    info.add_argument("--unstructured", action="store_true", help="read traces without geometry")
    info.add_argument("--json", action="store_true", help="print the description as JSON")

    character = commands.add_parser(
        "character", help="lateral continuity, bandwidth and amplitude statistics of surveys, side by side",
        description="The statistics that tell synthetic sections from field data, per survey: correlation of "
        "neighbouring traces, peak and centroid frequency, vertical autocorrelation, and the spread, kurtosis and "
        "clipping of [-1, 1]-scaled amplitudes. Inlines are streamed.")
    character.add_argument("files", nargs="+", metavar="FILE")
    _geometry_options(character)
    character.add_argument("--json", action="store_true", help="print the statistics as a JSON list")

    synth = commands.add_parser("synth", help="write a synthetic survey (SEG-Y + labels HDF5)",
                                description="Write a seeded synthetic 3D survey as SEG-Y, with its labels in HDF5.")
    synth.add_argument("out", help="output SEG-Y path; labels go to the same stem + .labels.h5")
    synth.add_argument("--seed", type=int, default=0, help="seed of every random draw")
    for name in SYNTH_SIZES:
        synth.add_argument(f"--{name.replace('_', '-')}", type=int, default=getattr(SurveyParameters, name),
                           help=f"number of {name.replace('_', ' ')}")

    train = commands.add_parser(
        "train", help="train a classifier on synthetic surveys, or on your labels",
        description="Without a source: the four-class patch classifier on synthetic surveys. With --landmass or "
        "--patches: a patch classifier of their classes and patch size; with --sections: a segmentation network "
        "(U-Net). A share of the labels is held out (whole sections for --sections) and scored at the end. The "
        "example is the committed classifier's command, with gsb the folder that "
        "rather.seismic.cunha.write_gsb_sections writes from the Great South Basin data of Cunha et al. (2020).")
    train.add_argument("--out", default=str(DEFAULT_CHECKPOINT), help="checkpoint to write")
    _label_sources(train)
    train.add_argument("--seed", type=int, default=TrainOptions.seed, help="first seed of the synthetic surveys "
                       "(with labels: of the split, sampling and initial weights)")
    train.add_argument("--surveys", type=int, default=TrainOptions.surveys, help="synthetic surveys to draw patches "
                       "from")
    train.add_argument("--per-class", type=int, help=f"training patches per class (default: {TrainOptions.per_class}"
                       " on synthetic surveys, the largest class's count on your labels)")
    train.add_argument("--epochs", type=int, help=f"passes over the training patches (default: "
                       f"{TrainOptions.epochs} on synthetic surveys, {RealTrainOptions.epochs} on your labels)")
    train.add_argument("--field-faults", metavar="DIR", help="without a source: also train the four-class "
                       "classifier on fault and horizon windows of real sections (a --sections folder whose masks "
                       "mark faults, class 'fault' in classes.txt)")
    train.add_argument("--field-hold-out", metavar="NAMES", help="with --field-faults: comma-separated sections "
                       "never trained on, scored at the end (fault against the rest)")
    train.add_argument("--recipe", choices=RECIPES, help="without a source: joint (field-styled surveys, 99 and 45 "
                       "sample patches trained together) or plain (the generator's plain surveys, 99 x 99 patches "
                       f"only) (default: {TrainOptions.recipe})")
    train.add_argument("--zoom", metavar="LOW,HIGH", help="with --recipe joint: train the 45-sample patches on "
                       "inlines zoomed by a factor drawn per inline from LOW to HIGH (each octave as likely), and on "
                       "the --field-faults sections zoomed by four factors from LOW to HIGH, so that the classifier "
                       "reads data at any sampling within that range (default: 1,1, as sampled)")
    train.add_argument("--width", type=int, help="without a source: channels of the classifier's first block, the "
                       f"others 2, 4 and 4 times as many (default: {TrainOptions.width})")
    train.add_argument("--texture", action="store_true", default=None, help="with --recipe joint: blur every "
                       "training patch and add noise to it, each by an amount drawn per patch, so that the classifier "
                       "cannot read a class from how smooth or noisy a patch is (default: off)")
    train.add_argument("--hold-out", type=float, default=RealTrainOptions.hold_out,
                       help="with labels: share held out of training and scored (per class; whole sections)")
    train.add_argument("--class-weights", choices=CLASS_WEIGHTS, default=RealTrainOptions.class_weights,
                       help="with --sections: weight each class's pixels in the loss by 1 / its frequency (inverse), "
                       "1 / sqrt(frequency) (sqrt) or not at all (none), so that rare classes such as faults are "
                       "learnt")
    train.add_argument("--patch", type=int, help="with labels: patch (or section window) size in samples "
                       "(default: the patches' own size; 64 for sections)")

    evaluate = commands.add_parser("evaluate", help="balanced accuracy and confusion (patches) or IoU (sections)",
                                   description="Score a model on held-out synthetic surveys (with energy shares "
                                   "inside the true faults and salt) or on your labels.")
    model_options(evaluate, patch=False)
    evaluate.add_argument("--seed", type=int, default=1000, help="seed of the held-out synthetic survey")
    _label_sources(evaluate)
    evaluate.add_argument("--own-size", action="store_true", help="with --patches or --landmass: feed the patches "
                          "at their own size, not resized to the model's patch (a fully convolutional model)")
    evaluate.add_argument("--binary", metavar="CLASS", help="with --patches or --landmass: score CLASS against the "
                          "rest (the data's other classes, e.g. a folder nonfault, are the rest)")
    evaluate.add_argument("--window", type=int, help="with --sections, --binary and a patch classifier: side of "
                          "the windows cut from the sections (default: the model's small patch, else its patch)")
    evaluate.add_argument("--zoom", type=float, default=1.0, help="score the sections (and their masks), or "
                          f"without a source the synthetic inlines, resampled this many times finer, 1 to {MAX_ZOOM:g}, as if "
                          "sampled more densely (default: 1, as they are)")
    evaluate.add_argument("--placement", action="store_true", help="with --sections, --binary CLASS and a patch "
                          "classifier: also the share of the energy of Why P? and Why P, rather than horizon? on the "
                          "samples marked CLASS, beside the share of samples so marked")
    evaluate.add_argument("--device", default="cpu", help="torch device")
    evaluate.add_argument("--json", action="store_true", help="print the report as JSON")

    explain = commands.add_parser("explain", help="explain lines of a survey or a 2D line",
                                  description="Per patch: the prediction, Why P? and Why P, rather than Q? for "
                                  "every other class, stitched into section maps, SEG-Y attributes and figures. "
                                  "A 2D line, or a file holding a single inline or crossline, is explained whole.")
    explain.add_argument("survey", help="SEG-Y file (3D survey, 2D line, or any traces with --unstructured)")
    where = explain.add_mutually_exclusive_group()
    where.add_argument("--inline", type=int, help="inline number; with none of --inline, --crossline and --all: "
                       "the middle inline (the one line of a 2D file)")
    where.add_argument("--crossline", type=int, help="crossline number")
    where.add_argument("--all", action="store_true", help="every inline")
    where.add_argument("--all-crosslines", action="store_true", help="every crossline")
    explain.add_argument("--unstructured", action="store_true",
                         help="read the traces in file order as one line, ignoring line numbers")
    explain.add_argument("--time", type=float, nargs=2, metavar=("FIRST", "LAST"),
                         help="explain only the samples from FIRST to LAST ms (the attributes are NaN elsewhere)")
    model_options(explain)
    explain.add_argument("--stride", type=int, default=ExplainOptions.stride,
                         help="patch stride in samples; with the committed classifier, a multiple of 8 needs a single "
                         "pass of its trunk")
    explain.add_argument("--out", required=True, help="output folder")
    explain.add_argument("--device", default=ExplainOptions.device, help="torch device")
    _geometry_options(explain)
    explain.add_argument("--format", default="segy", metavar="FORMATS",
                         help="volume outputs, comma-separated: segy (an attribute file per question), zarr "
                         "(explanations.zarr, one variable per question on the survey's grid, for xarray), netcdf "
                         "(explanations.nc, the same as netCDF-4); default: segy")
    explain.add_argument("--zarr-bits", type=int, metavar="8|32",
                         help="with --format zarr or netcdf: 8 stores the values that lie in [0, 1] (the questions' "
                         "with --normalise volume or section, the margin) as 8-bit codes xarray decodes to within "
                         "1/508; 32 keeps every value float32 (default: 8)")
    explain.add_argument("--json", action="store_true", help="print the summary as JSON")
    explain.add_argument("--questions", metavar="LIST", help="the questions to write, separated by commas: why, "
                         "rather (every 'rather than Q'), or class names Q (default: every question)")
    explain.add_argument("--normalise", choices=SCALINGS, default=ExplainOptions.normalise,
                         help="volume: one robust factor for the whole run (no line-by-line banding); section: each "
                         "line to [0, 1] on its own; none: the raw map values")
    drawn = explain.add_mutually_exclusive_group()
    drawn.add_argument("--figures", default="all", metavar="all|none|every:N",
                       help="a figure for every line, none, or every Nth line explained")
    drawn.add_argument("--no-figures", action="store_true", help="no figures (as --figures none)")
    explain.add_argument("--no-segy", action="store_true", help="write no SEG-Y attributes")

    add_cluster_arguments(explain, blocks="blocks of lines (with --all)",
                          needs="the survey, the model")
    explain.add_argument("--block-lines", type=int, default=ExplainOptions.block_lines,
                         help="with --workers/--scheduler: inlines per block")


def _label_sources(parser: argparse.ArgumentParser) -> None:
    """--landmass, --patches, --sections: one labelled source at most."""
    sources = parser.add_mutually_exclusive_group()
    sources.add_argument("--landmass", metavar="DIR", help="a LANDMASS-1 or -2 copy (class folders of .mat files)")
    sources.add_argument("--patches", metavar="DIR", help="a folder per class of patches (.npy, .csv text matrices, "
                         ".png, .tif), any patch size; optional classes.txt gives the order")
    sources.add_argument("--sections", metavar="DIR", help="sections/NAME.(npy|tif|tiff|png|sgy) with "
                         "masks/NAME_mask.(png|npy), one class index per sample; optional classes.txt")


def label_source(args: argparse.Namespace) -> tuple[str, str] | None:
    """(source, folder) of ``_label_sources``, or None for synthetic data."""
    for source in ("landmass", "patches", "sections"):
        if getattr(args, source) is not None:
            return source, getattr(args, source)
    return None


def model_options(parser: argparse.ArgumentParser, patch: bool = True) -> None:
    """The options that name a seismic model: ``rather explain``'s (``suites.model_args``), plus the class
    names and the patch (``model_choice`` reads them)."""
    from rather.suites.model_args import add_model_arguments

    group = add_model_arguments(
        parser, naming_only=True, model_help="architecture as module:factory, with --weights (optional for rather's "
        "own checkpoints; a checkpoint file alone, as before, is read as --weights with a note)",
        weights_help=f"state dict or rather checkpoint (.pt), read with weights_only=True (default: the committed "
        f"classifier, {DEFAULT_CHECKPOINT.name})")
    group.add_argument("--classes", help="class names, one per logit, comma-separated (default: the "
                       "checkpoint's class_names)")
    if patch:
        group.add_argument("--patch", type=int, help="square window the model reads, in samples (default: the "
                           "checkpoint's patch, else 99)")


OLD_MODEL_NOTE = "note: --model {path} is read as --weights {path}; --model now names an architecture, module:factory"
"""What the command notes when ``--model`` alone names a checkpoint file (the spelling before --weights)."""


def model_choice(args: argparse.Namespace, progress=None) -> ModelChoice:
    """The ``ModelChoice`` of ``model_options``: ``--weights`` (default: the committed classifier) and
    ``--model module:factory``. ``--model FILE`` without ``--weights`` names a checkpoint, as it did before
    ``--weights`` existed: read so, with a note on ``progress``."""
    from rather.seismic.seismic_model import parse_classes
    from rather.suites.model_args import model_kwargs

    weights, factory = args.weights, args.model
    if weights is None and factory is not None:
        if not _is_checkpoint_path(factory):
            raise BadInput(f"--model {factory}: an architecture needs its weights; add --weights W (a state dict "
                           "or checkpoint)")
        weights, factory = factory, None
        if progress is not None:
            progress.note(OLD_MODEL_NOTE.format(path=weights))
    classes = parse_classes(args.classes) if args.classes is not None else None
    return ModelChoice(weights=weights or str(DEFAULT_CHECKPOINT), factory=factory,
                       kwargs=model_kwargs(args.model_kwargs), layer=args.layer, classes=classes,
                       patch=getattr(args, "patch", None))


def _is_checkpoint_path(text: str) -> bool:
    """Whether ``--model``'s value names a file rather than ``module:factory``: an existing path, a path
    separator, a checkpoint suffix, or no colon at all."""
    return (Path(text).exists() or "/" in text or "\\" in text or ":" not in text
            or Path(text).suffix.lower() in (".pt", ".pth"))


def run(args: argparse.Namespace) -> int:
    return {"info": run_info, "character": run_character, "synth": run_synth, "train": run_train,
            "evaluate": run_evaluate, "explain": run_explain}[args.seismic_command](args)


def _progress(args: argparse.Namespace):
    """Bars and notes on stderr by the command-line rule (``--progress``, a terminal, no ``--json``)."""
    from rather.common.progress import Progress

    return Progress.for_command(json=getattr(args, "json", False), asked=args.progress)


def run_info(args: argparse.Namespace) -> int:
    from rather.seismic.description import describe, format_description

    description = describe(args.file, iline=args.iline, xline=args.xline, ignore_geometry=args.unstructured)
    print(json.dumps(description, indent=2) if args.json else format_description(description))
    return 0


def run_character(args: argparse.Namespace) -> int:
    from rather.seismic.character import characters, format_character

    reports = characters(args.files, iline=args.iline, xline=args.xline)
    print(json.dumps(reports, indent=2) if args.json else format_character(reports))
    return 0


def run_synth(args: argparse.Namespace) -> int:
    from rather.common.storage import claim_outputs
    from rather.seismic.synthetic import check_segy_fields, labels_beside, make_survey, write_survey

    parameters = SurveyParameters(**{name: getattr(args, name) for name in SYNTH_SIZES})
    check_segy_fields(parameters)
    claim_outputs(files={"OUT": args.out, "the labels file": labels_beside(args.out)})
    segy_path, labels_path = write_survey(make_survey(args.seed, parameters), args.out)
    print(f"wrote {segy_path} and {labels_path}")
    return 0


def run_train(args: argparse.Namespace) -> int:
    from rather.common.storage import claim_outputs
    from rather.seismic.classifier import train_checkpoint

    source = label_source(args)
    if source is not None and (args.field_faults or args.field_hold_out):
        raise BadInput(f"--field-faults and --field-hold-out add real windows to the synthetic four-class training;"
                       f" with --{source[0]}, train on that source alone (drop them)")
    chosen = [name for name in ("recipe", "zoom", "width", "texture") if getattr(args, name) is not None]
    if source is not None and chosen:
        raise BadInput(f"--{chosen[0]} chooses how the synthetic four-class classifier is trained; with "
                       f"--{source[0]}, drop it")
    claim_outputs(files={"--out": args.out})
    started, progress = time.perf_counter(), _progress(args)
    if source is not None:
        return _train_real(args, source, started, progress)
    options = train_options(args)
    progress.note(f"training the seismic classifier ({options.recipe} recipe, seed {options.seed}, "
                  f"{options.surveys} surveys, "
                  f"{options.per_class} patches per class, {options.epochs} epochs)")
    meta = train_checkpoint(args.out, options, progress=progress)
    held = meta.get("field_held_out_balanced_accuracy")
    score = "" if held is None else (f"; held-out real sections ({', '.join(meta['field_held_out'])}): fault "
                                     f"balanced accuracy {held:.3f} on {meta['field_held_out_windows']} windows")
    print(f"training accuracy {meta['final_training_accuracy']:.3f}{score}; wrote {args.out} in "
          f"{time.perf_counter() - started:.0f} s")
    return 0


def train_options(args: argparse.Namespace) -> TrainOptions:
    """The synthetic four-class training ``rather seismic train``'s arguments ask for, defaults filled in."""
    return TrainOptions(seed=args.seed, surveys=args.surveys, per_class=_given(args.per_class, TrainOptions.per_class),
                        epochs=_given(args.epochs, TrainOptions.epochs), field_faults=args.field_faults,
                        field_hold_out=tuple(name.strip() for name in (args.field_hold_out or "").split(",")
                                             if name.strip()), recipe=_given(args.recipe, TrainOptions.recipe),
                        zoom=_zoom_range(args.zoom), width=_given(args.width, TrainOptions.width),
                        texture=bool(args.texture))


def _zoom_range(text: str | None) -> tuple[float, float]:
    """``--zoom LOW,HIGH`` as two numbers ((1, 1) when not given); anything else is refused by name."""
    if text is None:
        return TrainOptions.zoom
    parts = text.split(",")
    try:
        low, high = (float(part) for part in parts)
    except ValueError:
        raise BadInput(f"--zoom {text}: give two factors LOW,HIGH from 1 to {MAX_ZOOM:g}, e.g. --zoom 1,4") from None
    return low, high


def _given(value, default):
    """An option's value, or ``default`` when it was not given (0 is given)."""
    return default if value is None else value


def _train_real(args: argparse.Namespace, source: tuple[str, str], started: float, progress) -> int:
    """``rather seismic train`` on labels: the held-out score after the training accuracy."""
    from rather.seismic.real_training import train_real_checkpoint

    options = RealTrainOptions(source=source[0], folder=source[1], epochs=_given(args.epochs, RealTrainOptions.epochs),
                               seed=args.seed, hold_out=args.hold_out, patch=args.patch, per_class=args.per_class,
                               class_weights=args.class_weights)
    trained = train_real_checkpoint(args.out, options, progress=progress)
    held = trained.held_out
    score = ("" if not held else f"; held out: mean IoU {held['miou']:.3f}" if "miou" in held
             else f"; held out: balanced accuracy {held['balanced_accuracy']:.3f} on {held['patches']} patches")
    print(f"training accuracy {trained.log.accuracy[-1]:.3f}{score}; wrote {args.out} in "
          f"{time.perf_counter() - started:.0f} s")
    return 0


def run_evaluate(args: argparse.Namespace) -> int:
    choice, source = model_choice(args, _progress(args)), label_source(args)
    if source is None:
        from rather.seismic.classifier import evaluation, format_evaluation
        from rather.seismic.real_training import PLACEMENT_NEEDS

        if args.placement:
            raise BadInput(PLACEMENT_NEEDS)

        report = evaluation(choice, seed=args.seed, zoom=args.zoom, progress=_progress(args))
        print(json.dumps(report, indent=2) if args.json else format_evaluation(report))
        return 0
    from rather.seismic.real_training import evaluate_real, format_real_report

    report = evaluate_real(choice, *source, device=args.device, own_size=args.own_size, binary=args.binary,
                           window=args.window, placement=args.placement, zoom=args.zoom, progress=_progress(args))
    print(json.dumps(report, indent=2) if args.json else format_real_report(report))
    return 0


def _written(summary: dict) -> list[str]:
    """The outputs of ``rather seismic explain`` as its last line names them."""
    outputs = summary["outputs"]
    names = ["summary.json", outputs["explanations"]]
    if outputs.get("segy"):
        names.append(f"{len(outputs['segy'])} SEG-Y attributes")
    return names + [outputs[name] for name in ("zarr", "netcdf") if name in outputs]


def run_explain(args: argparse.Namespace) -> int:
    from rather.common.storage import claim_outputs
    from rather.seismic.survey_explanation import explain_survey

    network = model_choice(args, _progress(args))
    claim_outputs(folders={"--out": args.out},
                  inputs={"survey": args.survey, ("--model" if args.weights is None else "--weights"): network.weights})
    kind = "crossline" if args.crossline is not None or args.all_crosslines else "inline"
    formats = output_formats(args.format, args.no_segy)
    options = ExplainOptions(kind=kind, number=args.crossline if kind == "crossline" else args.inline,
                             every_line=args.all or args.all_crosslines, model=network.weights, stride=args.stride,
                             device=args.device, iline=args.iline, xline=args.xline, workers=args.workers,
                             scheduler=args.scheduler, block_lines=args.block_lines, timeout=args.timeout,
                             network=network, unstructured=args.unstructured,
                             time=tuple(args.time) if args.time else None,
                             questions=None if args.questions is None else tuple(args.questions.split(",")),
                             normalise=args.normalise, figures=0 if args.no_figures else figure_every(args.figures),
                             formats=formats, zarr_bits=zarr_bits(args.zarr_bits, formats))
    summary = explain_survey(args.survey, args.out, options, progress=_progress(args))
    figures = sum(section["figure"] is not None for section in summary["sections"])
    print(json.dumps(summary, indent=2) if args.json else
          f"wrote {Path(args.out)}: {', '.join(_written(summary))}, {figures} figure(s)")
    return 0


def output_formats(text: str, no_segy: bool) -> tuple[str, ...]:
    """``--format`` as a tuple (checked by ``ExplainOptions``), less "segy" with ``--no-segy``."""
    formats = tuple(text.split(","))
    return tuple(name for name in formats if name != "segy") if no_segy else formats


def zarr_bits(bits: Optional[int], formats: tuple[str, ...]) -> int:
    """``--zarr-bits`` (its value checked by ``ExplainOptions``; default 8), refused without a zarr or netCDF output
    in ``formats`` (checked first) to apply to."""
    if bits is None:
        return ExplainOptions.zarr_bits
    check_formats(formats)
    if not {"zarr", "netcdf"} & set(formats):
        raise BadInput(f"--zarr-bits {bits} sets the precision of the zarr and netCDF outputs; add --format zarr "
                       "(or netcdf), or drop --zarr-bits")
    return bits


def figure_every(text: str) -> int:
    """``--figures``: "all" is 1 (every line), "none" 0, "every:N" N."""
    if text in ("all", "none"):
        return int(text == "all")
    count = text.removeprefix("every:")
    if text.startswith("every:") and count.isdigit() and int(count) > 0:
        return int(count)
    raise BadInput(f"--figures {text}: give all, none, or every:N with N a positive whole number of lines, "
                   "e.g. every:10")
