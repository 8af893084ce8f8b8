"""Explaining lines of a SEG-Y survey into a folder: summary, HDF5 store, SEG-Y attributes, figures.

The pipeline of ``rather seismic explain`` and of the seismic suite: one line, or
every line in one process or in resumable blocks on Dask (``blocks``), as
``ExplainOptions`` says. A line is an inline or a crossline of a 3D survey, or the one
line of a 2D file: a 2D line (``line``), a file holding a single inline or crossline
(explained as that inline or crossline), or any file read in file order
(``unstructured``). The model is the user's (``seismic_model``): its class names give
the questions. The outputs are staged, so the folder is complete or absent:

- ``summary.json``: the survey, the model, its class names, and per line its kind,
  number (null for a 2D line), patch, stride, patch counts per predicted class and figure;
- ``explanations.h5``: a ``SectionStore``, one group per line;
- one SEG-Y attribute per question (``why.sgy``, ``rather_than_<class>.sgy``, ...),
  the input's headers (every trace header too) with the lines' maps and zeros elsewhere;
- a figure per line.

Lines are explained while the attribute volumes are written, in the order of the
survey's traces (``attributes.section_rows``), so memory holds one or two sections at
a time on a survey sorted along the lines explained.
"""
from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Optional

import numpy as np
import torch

from rather.common import BadInput, Explainer
from rather.common.cluster import dask_client, parts_folder
from rather.common.progress import SILENT, Progress
from rather.common.storage import PathLike, staged_folder

from .attributes import section_rows, write_attributes
from .blocks import PIECE, VolumeJob, explain_blocks
from .headers import check_byte_locations
from .lines import explain_line, figure_name
from .options import ExplainOptions
from .seismic_model import SeismicModel, load_seismic_model
from .sections import SectionExplanation, SectionStore, question_names, read_section
from .survey import Survey, open_survey
from . import volume_store

LineExplainer = Callable[[Optional[int], Path], SectionExplanation]
"""(line number, None for a 2D line; folder for its figure) -> its explanation."""


def explain_survey(survey_path: PathLike, out: PathLike, options: ExplainOptions = ExplainOptions(), *,
                   recorded_as: str | None = None, progress: Progress = SILENT) -> dict:
    """Explain lines of a survey into the folder ``out`` (staged: complete or absent); return the summary.

    What is explained, and how, is ``options``; in blocks on Dask the outputs are the same
    bytes as in one process. The outputs name the survey ``recorded_as`` (default: its path
    as given). ``progress`` shows a bar over the lines and a note per line with its patch
    counts per predicted class (and, on Dask, a bar over the blocks); the survey's notes
    (``Survey.notes``) come first.
    """
    check_byte_locations(options.iline, options.xline, geometry=not options.unstructured)
    recorded_as = str(survey_path) if recorded_as is None else recorded_as
    network = load_seismic_model(options.model_choice, options.device)
    explainer = Explainer(network.model, layer=network.layer)
    with open_survey(survey_path, iline=options.iline, xline=options.xline,
                     ignore_geometry=options.unstructured) as survey:
        for note in survey.notes:  # what the reader decided about a questionable file
            progress.note(f"{survey.path.name}: {note}")
        window = _time_window(survey, survey_path, options.time)
        kind, numbers = _lines(survey, survey_path, options, network.patch, window)
        written = None  # the zarr store the Dask workers write into
        if options.in_blocks:
            parts = parts_folder(out)
            written = parts / volume_store.ZARR_NAME if volume_store.wanted(options.formats) else None
            explained = _from_blocks(survey, explainer, network, options, numbers, window, parts, written, progress)
        else:
            def explained(number: Optional[int], folder: Path) -> SectionExplanation:
                return explain_line(survey, explainer, kind, number, patch=network.patch, stride=options.stride,
                                    figures=folder, class_names=network.class_names, samples=window,
                                    dense=network.dense)
        with staged_folder(out) as stage:
            summary = _write_outputs(survey, stage, explained, numbers, kind, network, window, options.formats,
                                     written, progress, {
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
    if options.in_blocks:
        shutil.rmtree(parts)  # the outputs are complete: nothing is left to resume
    return summary


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


def _from_blocks(survey: Survey, explainer: Explainer, network: SeismicModel, options: ExplainOptions,
                 numbers: list[int], window: slice, parts: Path, written: Optional[Path],
                 progress: Progress) -> LineExplainer:
    """Every line explained in blocks on Dask into ``parts``; each line's explanation then read from its piece.

    With ``written``, the workers also write each line's region of that zarr store, laid out first.
    """
    choice = options.model_choice
    job = VolumeJob(survey=str(survey.path.resolve()), model=str(Path(choice.weights).resolve()),
                    model_checksum=explainer.model_checksum, layer=explainer.layer_name, kind=options.kind,
                    patch=network.patch, stride=options.stride, iline=options.iline, xline=options.xline,
                    device=options.device, block_lines=options.block_lines, threads=torch.get_num_threads(),
                    factory=choice.factory, model_kwargs=json.dumps(choice.kwargs, sort_keys=True),
                    classes=",".join(network.class_names), first_sample=window.start or 0,
                    stop_sample=window.stop, volume="" if written is None else str(written))

    def lay_out() -> None:
        volume_store.lay_out(written, volume_store.volume_grid(survey, options.kind, window), network.class_names)

    with dask_client(options.workers, options.scheduler, options.timeout) as client:
        pieces = explain_blocks(client, job, numbers, parts, timeout=options.timeout, progress=progress,
                                before=None if written is None else lay_out)

    def explained(number: int, folder: Path) -> SectionExplanation:
        figure = figure_name(options.kind, number)
        shutil.copyfile(pieces[number] / figure, folder / figure)
        return read_section(pieces[number] / PIECE, options.kind, number)

    return explained


def _write_outputs(survey: Survey, stage: Path, explained: LineExplainer, numbers: list[Optional[int]], kind: str,
                   network: SeismicModel, window: slice, formats: tuple[str, ...], written: Optional[Path],
                   progress: Progress, summary: dict) -> dict:
    """explanations.h5, the figures, summary.json (``summary`` completed) and the ``formats`` asked in ``stage``.

    A segmentation network's attributes add ``class.sgy`` (the predicted class index per
    sample) and ``margin.sgy`` (the runner-up margin) to the questions' maps. The zarr
    store and the netCDF file are ``volume_store``'s; ``written``: the zarr store the Dask
    workers wrote (None: none, it is written here).
    """
    class_names = network.class_names
    sections, questions = [], question_names(class_names)
    attributes = questions + (("class", "margin") if network.dense else ())
    with SectionStore(stage / "explanations.h5", {"survey": summary["survey"],
                                                 "model_checksum": summary["model_checksum"]},
                      class_names) as store, \
            progress.bar(total=len(numbers), desc=f"{kind}s", unit=kind) as bar:
        axes = volume_store.line_axes(survey, kind, window)
        volume = volume_store.start_volume(stage, survey, kind, window, class_names, summary, formats, written)

        def maps_of(number: Optional[int]) -> np.ndarray:
            """The section maps (1 + C, samples, traces) of one line; figure and HDF5 group written on the way."""
            section = explained(number, stage)
            store.add(kind, number, section, axes=axes)
            if volume is not None:
                volume.add(survey, kind, number, section)
            counts = section.predicted_counts()
            sections.append({"kind": kind, "number": number, "patch": section.patch, "stride": section.stride,
                             "predicted_counts": counts, "figure": figure_name(kind, number)})
            title = kind if number is None else f"{kind} {number}"
            progress.note(f"{title}: " + ", ".join(f"{name} {count}" for name, count in counts.items()))
            bar.update()
            if network.dense:
                return np.concatenate([section.maps, section.predicted[None].astype(np.float32),
                                       section.margin[None]])
            return section.maps

        if "segy" in formats:
            rows = section_rows(survey, kind, numbers, maps_of, channels=(len(attributes),), samples=window)
            write_attributes(survey, {name: stage / f"{name}.sgy" for name in attributes},
                             lambda start, stop: dict(zip(attributes, rows(start, stop))))
        else:
            for number in numbers:
                maps_of(number)
    outputs = {"explanations": "explanations.h5"}
    if "segy" in formats:
        outputs["segy"] = {name: f"{name}.sgy" for name in attributes}
    if volume is not None:
        outputs.update(volume_store.finish_volume(volume, stage, formats))
    summary = {**summary, "questions": list(questions), "sections": sections, "outputs": outputs}
    (stage / "summary.json").write_text(json.dumps(summary, indent=2, allow_nan=False) + "\n")
    return summary
