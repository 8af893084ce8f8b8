"""Explaining lines of a SEG-Y survey into a folder: summary, HDF5 store, SEG-Y attributes, figures.

The pipeline of ``rather seismic explain`` and of the seismic suite: one line, or
every line in one process or in resumable blocks on Dask (``blocks``), as
``ExplainOptions`` says. A line is an inline or a crossline of a 3D survey, or the one
line of a 2D file: a 2D line (``line``), a file holding a single inline or crossline
(explained as that inline or crossline), or any file read in file order
(``unstructured``). The model is the user's (``seismic_model``): its class names give
the questions. The outputs are staged, so the folder is complete or absent:

- ``summary.json``: the survey, the model, its class names, the questions written, the
  scaling and its factor (``scaling``), and per line its kind, number (null for a 2D line),
  patch, stride, patch counts per predicted class and figure (null when not drawn);
- ``explanations.h5``: a ``SectionStore``, one group per line, every question; its ``maps``
  are the scaled values the attributes hold (NaN where not asked), its ``raw`` the raw maps;
- one SEG-Y attribute per question written (``why.sgy``, ``rather_than_<class>.sgy``, ...)
  holding the explained lines' traces only, each with its trace header from the survey (one
  inline writes one inline's traces; ``--all`` the whole volume), NaN where a question was
  not asked, and a textual header that keeps the survey's lines and says what the file holds;
- a figure per line explained, or per Nth line (``ExplainOptions.figures``).

It runs in two passes. First every line is explained into an HDF5 scratch store (on Dask:
the blocks' pieces), one section in memory at a time, its raw values counted in a
``scaling.RawHistogram`` (the same counts whatever the order of the lines). Then, with the
scaling's factor known, the outputs are written in the order of the survey's traces
(``attributes.section_rows``), each line read back once.
"""
from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Optional

import numpy as np
import torch

from rather.common import BadInput, BadQuestion, Explainer, __version__
from rather.common.cluster import dask_client, parts_folder
from rather.common.progress import SILENT, Progress
from rather.common.storage import PathLike, staged_folder

from .attributes import line_traces, section_rows, write_attributes
from .blocks import PIECE, VolumeJob, explain_blocks
from .figures import plot_section
from .headers import check_byte_locations
from .lines import explain_line, figure_name, line_amplitude
from .options import ExplainOptions
from .scaling import NAN_MEANS, PERCENTILE, RawHistogram, Scaling, asked_mask
from .seismic_model import SeismicModel, load_seismic_model
from .sections import SectionExplanation, SectionStore, question_names, read_section
from .survey import Survey, open_survey
from .synthetic import labels_beside, read_label_section
from . import volume_store

LineExplainer = Callable[[Optional[int]], SectionExplanation]
"""Line number (None for a 2D line) -> its explanation, read back from the first pass."""
SCRATCH = ".lines.h5"
"""The first pass's store in the staging folder, removed before the outputs appear."""


def explain_survey(survey_path: PathLike, out: PathLike, options: ExplainOptions = ExplainOptions(), *,
                   recorded_as: str | None = None, progress: Progress = SILENT) -> dict:
    """Explain lines of a survey into the folder ``out`` (staged: complete or absent); return the summary.

    What is explained, and how, is ``options``; in blocks on Dask the outputs are the same
    bytes as in one process. The outputs name the survey ``recorded_as`` (default: its path
    as given). ``progress`` shows a bar over the lines and a note per line with its patch
    counts per predicted class (on Dask, a bar over the blocks); the survey's notes
    (``Survey.notes``) come first.
    """
    check_byte_locations(options.iline, options.xline, geometry=not options.unstructured)
    recorded_as = str(survey_path) if recorded_as is None else recorded_as
    network = load_seismic_model(options.model_choice, options.device)
    explainer = Explainer(network.model, layer=network.layer)
    questions = chosen_questions(options.questions, network.class_names)
    with open_survey(survey_path, iline=options.iline, xline=options.xline,
                     ignore_geometry=options.unstructured) as survey:
        for note in survey.notes:  # what the reader decided about a questionable file
            progress.note(f"{survey.path.name}: {note}")
        window = _time_window(survey, survey_path, options.time)
        kind, numbers = _lines(survey, survey_path, options, network.patch, window)
        histogram = RawHistogram()
        with staged_folder(out) as stage:
            written = None  # the zarr store the Dask workers wrote
            if options.in_blocks:
                parts = parts_folder(out)
                explained, written = _from_blocks(survey, explainer, network, options, questions, numbers, window,
                                                  parts, histogram, progress)
            else:
                explained = _explain_lines(survey, explainer, network, options, kind, numbers, window,
                                           stage / SCRATCH, histogram, progress)
            scaling = run_scaling(options.normalise, histogram)
            summary = _write_outputs(survey, stage, explained, numbers, kind, network, options, questions, window,
                                     scaling, written, progress, {
                "command": "seismic explain",
                "survey": recorded_as,
                "survey_kind": survey.kind,
                "model": str(options.model_choice.weights),
                "factory": options.model_choice.factory,
                "model_checksum": explainer.model_checksum,
                "layer": explainer.layer_name,
                "class_names": list(network.class_names),
                "segmentation": network.dense,
                "time": None if options.time is None else [float(survey.samples[window][0]),
                                                           float(survey.samples[window][-1])],
            })
            (stage / SCRATCH).unlink(missing_ok=True)
    if options.in_blocks:
        shutil.rmtree(parts)  # the outputs are complete: nothing is left to resume
    return summary


def chosen_questions(asked: Optional[tuple[str, ...]], class_names: tuple[str, ...]) -> tuple[str, ...]:
    """The questions to write, in the order of the maps, from ``--questions`` (None: every question).

    Each entry is ``why``, ``rather`` (every "rather than Q"), a class name Q or
    ``rather_than_Q``. Anything else is refused, naming the model's classes.
    """
    every = question_names(class_names)
    if asked is None:
        return every
    wanted = set()
    for entry in asked:
        entry = entry.strip()
        if entry == "rather":
            wanted.update(every[1:])
        elif entry in every:
            wanted.add(entry)
        elif f"rather_than_{entry}" in every:
            wanted.add(f"rather_than_{entry}")
        else:
            raise BadQuestion(f"--questions {','.join(asked)}: {entry!r} is not a question of this model; give why, "
                              f"rather, or class names of the model ({', '.join(class_names)}) separated by commas")
    return tuple(name for name in every if name in wanted)


def _time_window(survey: Survey, survey_path: PathLike, time: Optional[tuple[float, float]]) -> slice:
    """The sample indices of the times ``time`` (first, last in ms; None: every sample)."""
    if time is None:
        return slice(None)
    first, stop = np.searchsorted(survey.samples, time[0]), np.searchsorted(survey.samples, time[1], side="right")
    if stop <= first:
        raise BadInput(f"{survey_path}: no sample between {time[0]:g} and {time[1]:g} ms (samples run from "
                       f"{survey.samples[0]:g} to {survey.samples[-1]:g} ms); give a --time window inside them")
    return slice(int(first), int(stop))


def _lines(survey: Survey, survey_path: PathLike, options: ExplainOptions, patch: int,
           window: slice) -> tuple[str, list[Optional[int]]]:
    """The kind and numbers of the lines to explain, once the survey is known to hold them and to be large enough."""
    survey.validate()
    if survey.kind == "3d":
        kind = options.kind
        lines, across = (survey.inlines, survey.crosslines) if kind == "inline" else (survey.crosslines,
                                                                                      survey.inlines)
        if options.every_line:
            numbers = lines.tolist()
        else:
            numbers = [int(lines[len(lines) // 2]) if options.number is None else options.number]  # 0 is a number
            if numbers[0] not in lines:
                raise BadInput(f"{survey_path}: {kind} {numbers[0]} is not in the survey "
                               f"({kind}s {lines[0]}..{lines[-1]}); choose one of its {kind}s")
        traces = len(across)
    else:
        kind, number = _the_line(survey)
        if options.in_blocks:
            raise BadInput(f"{survey_path}: is a {survey.kind} file, a single line; explain it without --workers "
                           "and --scheduler")
        if options.number is not None and (options.kind, options.number) != (kind, number):
            held = "a 2D line" if number is None else f"a single line, {kind} {number}"
            raise BadInput(f"{survey_path}: holds {held}, not {options.kind} {options.number}; drop --inline and "
                           "--crossline to explain the line it holds")
        numbers, traces = [number], survey.trace_count
    smallest = patch // 2 + 1  # reflect padding mirrors real samples only
    samples = len(survey.samples[window])
    if min(traces, samples) < smallest:
        raise BadInput(
            f"{survey_path}: each {kind} has {traces} traces of {samples} samples; the classifier "
            f"reads {patch} x {patch} patches and needs at least {smallest} of each — explain a larger survey"
            + (" or a longer --time window" if options.time is not None else "")
        )
    return kind, numbers


def _the_line(survey: Survey) -> tuple[str, Optional[int]]:
    """What the one line of a 2D or unstructured file is: ("inline", n) for a file of inline n, ...

    A file whose traces share one non-zero inline number (and run along crosslines) is
    that inline, and likewise for a crossline; anything else (a 2D line numbered by CDP,
    traces in file order, line numbers left at 0) is a "line" without a number.
    """
    if survey.line_key == "crossline" and len(survey.inlines) == 1 and survey.inlines[0] != 0:
        return "inline", int(survey.inlines[0])
    if survey.line_key == "inline" and len(survey.crosslines) == 1 and survey.crosslines[0] != 0:
        return "crossline", int(survey.crosslines[0])
    return "line", None


def _explain_lines(survey: Survey, explainer: Explainer, network: SeismicModel, options: ExplainOptions, kind: str,
                   numbers: list[Optional[int]], window: slice, scratch: Path, histogram: RawHistogram,
                   progress: Progress) -> LineExplainer:
    """The first pass in this process: every line explained into ``scratch`` (``_first_pass``), then read back."""
    with SectionStore(scratch, {}, network.class_names) as store, \
            progress.bar(total=len(numbers), desc=f"{kind}s", unit=kind) as bar:
        for number in numbers:
            section = explain_line(survey, explainer, kind, number, patch=network.patch, stride=options.stride,
                                   class_names=network.class_names, samples=window, dense=network.dense)
            store.add(kind, number, section)
            _first_pass(kind, number, section, histogram, progress)
            bar.update()
    return lambda number: read_section(scratch, kind, number)


def _first_pass(kind: str, number: Optional[int], section: SectionExplanation, histogram: RawHistogram,
                progress: Progress) -> None:
    """What the first pass keeps of a line: its raw values in ``histogram``, and a note of its patch counts."""
    histogram.add(section.raw, asked_mask(section))
    title = kind if number is None else f"{kind} {number}"
    progress.note(f"{title}: " + ", ".join(f"{name} {count}" for name, count in section.predicted_counts().items()))


def _from_blocks(survey: Survey, explainer: Explainer, network: SeismicModel, options: ExplainOptions,
                 questions: tuple[str, ...], numbers: list[int], window: slice, parts: Path, histogram: RawHistogram,
                 progress: Progress) -> tuple[LineExplainer, Optional[Path]]:
    """Every line explained in blocks on Dask into ``parts`` (``_first_pass`` as each piece is read): each line's
    explanation (read back from its piece), and the zarr store in ``parts`` the workers then wrote (None: not asked).

    The scaling needs every line, so the workers write the zarr regions in a second round of
    tasks (``volume_store.regions_on_workers``), once it is known.
    """
    choice = options.model_choice
    job = VolumeJob(survey=str(survey.path.resolve()), model=str(Path(choice.weights).resolve()),
                    model_checksum=explainer.model_checksum, layer=explainer.layer_name, kind=options.kind,
                    patch=network.patch, stride=options.stride, iline=options.iline, xline=options.xline,
                    device=options.device, block_lines=options.block_lines, threads=torch.get_num_threads(),
                    factory=choice.factory, model_kwargs=json.dumps(choice.kwargs, sort_keys=True),
                    classes=",".join(network.class_names), first_sample=window.start or 0,
                    stop_sample=window.stop)
    with dask_client(options.workers, options.scheduler, options.timeout) as client:
        pieces = explain_blocks(client, job, numbers, parts, timeout=options.timeout, progress=progress)
        for number in numbers:
            _first_pass(options.kind, number, read_section(pieces[number] / PIECE, options.kind, number), histogram,
                        progress)

        def explained(number: int) -> SectionExplanation:
            return read_section(pieces[number] / PIECE, options.kind, number)

        if not volume_store.wanted(options.formats):
            return explained, None
        written = parts / volume_store.ZARR_NAME
        precision = volume_store.Precision.chosen(questions, options.normalise, options.zarr_bits)
        volume_store.lay_out(written, volume_store.volume_grid(survey, options.kind, window), questions,
                             network.class_names, precision)
        volume_store.regions_on_workers(client, written, job, {number: pieces[number] / PIECE for number in numbers},
                                        run_scaling(options.normalise, histogram), questions, precision,
                                        options.timeout, progress)
    return explained, written


def run_scaling(how: str, histogram: RawHistogram) -> Scaling:
    """The scaling ``how`` of the run; for ``volume``, its factor from the ``histogram`` of every line's raw maps.

    Every question counts, whichever are written (``--questions`` trims the outputs, never
    changes their values).
    """
    return Scaling(how, histogram.percentile(PERCENTILE)) if how == "volume" else Scaling(how)


def _write_outputs(survey: Survey, stage: Path, explained: LineExplainer, numbers: list[Optional[int]], kind: str,
                   network: SeismicModel, options: ExplainOptions, questions: tuple[str, ...], window: slice,
                   scaling: Scaling, written: Optional[Path], progress: Progress, summary: dict) -> dict:
    """explanations.h5, the SEG-Y attributes, the figures and summary.json (``summary`` completed) in ``stage``.

    A segmentation network's attributes add ``class.sgy`` (the predicted class index per
    sample) and ``margin.sgy`` (the runner-up margin) to the questions' maps. The zarr store
    and netCDF file of ``options.formats`` are ``volume_store``'s (``written``: the store the
    Dask workers wrote; None: written here).
    """
    class_names = network.class_names
    precision = volume_store.Precision.chosen(questions, options.normalise, options.zarr_bits)
    volume = volume_store.start_volume(stage, survey, kind, window, questions, class_names,
                                       {**summary, **_hdf5_scaling(scaling)}, options.formats, precision, written)
    axes = volume_store.line_axes(survey, kind, window)
    summary = {**summary, "scaling": scaling.record()}
    chosen = [question_names(class_names).index(name) for name in questions]
    attributes = questions + (("class", "margin") if network.dense else ())
    labels = _labels(survey, progress)
    sections = []
    with SectionStore(stage / "explanations.h5", {"survey": summary["survey"], "model_checksum":
                                                 summary["model_checksum"], **_hdf5_scaling(scaling)},
                      class_names) as store, \
            progress.bar(total=len(numbers), desc="writing", unit=kind) as bar:

        def values_of(number: Optional[int]) -> np.ndarray:
            """The attribute values (attributes, samples, traces) of one line; figure and HDF5 group on the way."""
            section = explained(number)
            values = scaling.apply(section)
            store.add(kind, number, replace(section, maps=values), axes=axes)
            if volume is not None:
                volume.add(survey, kind, number, values[chosen], section)
            figure = None
            if options.figures and len(sections) % options.figures == 0:
                figure = figure_name(kind, number)
                plot_section(section, line_amplitude(survey, kind, number, window), stage / figure,
                             values=values, questions=questions, scaling=scaling,
                             labels=labels(kind, number, window, section.predicted.shape))
            sections.append({"kind": kind, "number": number, "patch": section.patch, "stride": section.stride,
                             "predicted_counts": section.predicted_counts(), "figure": figure})
            bar.update()
            values = values[chosen]
            if network.dense:
                return np.concatenate([values, section.predicted[None].astype(np.float32), section.margin[None]])
            return values

        segy = {name: f"{name}.sgy" for name in attributes} if options.segy else {}
        if segy:
            rows = section_rows(survey, kind, numbers, values_of, channels=(len(attributes),), samples=window,
                                fill=np.nan)
            traces = ("every trace of the survey" if options.every_line or survey.kind != "3d" else
                      f"the traces of {kind} {numbers[0]} only")
            texts = {name: _header_lines(name, summary, scaling, traces) for name in attributes}
            write_attributes(survey, {name: stage / path for name, path in segy.items()},
                             lambda picked: dict(zip(attributes, rows(picked))),
                             traces=line_traces(survey, kind, numbers), texts=texts)
        else:
            for number in numbers:
                values_of(number)
    outputs = {"explanations": "explanations.h5", "segy": segy}
    if volume is not None:
        outputs.update(volume_store.finish_volume(volume, stage, options.formats))
    summary = {**summary, "questions": list(questions), "sections": sections, "outputs": outputs}
    (stage / "summary.json").write_text(json.dumps(summary, indent=2, allow_nan=False) + "\n")
    return summary


def _hdf5_scaling(scaling: Scaling) -> dict:
    """The scaling as HDF5 attributes: ``normalise``, ``scale_factor`` (volume only), ``nan``."""
    return {"normalise": scaling.how, "nan": NAN_MEANS,
            **({} if scaling.factor is None else {"scale_factor": scaling.factor, "percentile": PERCENTILE})}


def _header_lines(name: str, summary: dict, scaling: Scaling, traces: str) -> list[str]:
    """What an attribute file holds, in lines for its textual header (``attributes.textual_header``)."""
    if name == "why":
        what = "Why P? (P: the class predicted for each patch)"
    elif name.startswith("rather_than_"):
        what = f"Why P, rather than {name.removeprefix('rather_than_')}? (P: each patch's predicted class)"
    elif name == "class":
        what = "predicted class index: " + " ".join(f"{i}={c}" for i, c in enumerate(summary["class_names"]))
    else:
        what = "margin: largest class probability minus the runner-up's"
    return [f"RATHER {__version__} ATTRIBUTE {name}", what, f"MODEL {summary['model_checksum']}",
            f"LAYER {summary['layer']}", f"SCALING {scaling.describe()}" if name not in ("class", "margin")
            else "SCALING none", NAN_MEANS, f"TRACES {traces}"]


LabelsOf = Callable[[str, Optional[int], slice, tuple], Optional[np.ndarray]]
"""(kind, number, samples, section shape) -> the line's class labels (samples, traces), or None."""


def _labels(survey: Survey, progress: Progress) -> LabelsOf:
    """The labels of each line from the ``*.labels.h5`` beside the survey, for the figures; None where there are none.

    A labels file that cannot be read, or whose lines do not match the survey's, is noted
    once and left out: the figures are drawn without it.
    """
    path = labels_beside(survey.path)
    usable = [path.is_file() and survey.kind == "3d"]

    def labels_of(kind: str, number: Optional[int], samples: slice, shape: tuple) -> Optional[np.ndarray]:
        if not usable[0]:
            return None
        try:
            labels = read_label_section(path, kind, number)[0][samples]
        except BadInput:  # its message names the file by its full path, and the HDF5 library's words
            labels, problem = None, (f"{path.name}: not a labels file of `rather seismic synth`, or without "
                                     f"{kind} {number}")
        else:
            problem = None if labels.shape == shape else (
                f"{path.name}: its {kind} {number} is {labels.shape[0]} x {labels.shape[1]}, the survey's "
                f"{shape[0]} x {shape[1]}")
        if problem:
            progress.note(f"labels left out of the figures: {problem}")
            usable[0] = False
            return None
        return labels

    return labels_of
