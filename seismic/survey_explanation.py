"""Explaining lines of a SEG-Y survey into a folder: summary, HDF5 store, SEG-Y attributes, figures.

The pipeline of ``rather seismic explain`` and of the seismic suite: one line, or
every line in one process or in resumable blocks on Dask (``blocks``), as
``ExplainOptions`` says. The outputs are staged, so the folder is complete or absent:

- ``summary.json``: the survey, the model, and per line its kind, number, patch,
  stride, patch counts per predicted class and figure;
- ``explanations.h5``: a ``SectionStore``, one group per line;
- one SEG-Y attribute volume per question (``why.sgy``, ``rather_than_horizon.sgy``,
  ...), the survey's headers with the lines' maps and zeros elsewhere;
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

import numpy as np
import torch

from rather.common import BadInput, Explainer
from rather.common.progress import SILENT, Progress
from rather.common.storage import PathLike, staged_folder

from . import classifier
from .attributes import section_rows, write_attributes
from .blocks import PIECE, VolumeJob, dask_client, explain_blocks, parts_folder
from .headers import check_byte_locations
from .lines import explain_line, figure_name
from .options import ExplainOptions
from .sections import QUESTIONS, SectionExplanation, SectionStore, read_section
from .survey import Survey, open_survey

LineExplainer = Callable[[int, Path], SectionExplanation]
"""(line number, folder for its figure) -> its explanation."""


def explain_survey(survey_path: PathLike, out: PathLike, options: ExplainOptions = ExplainOptions(), *,
                   recorded_as: str | None = None, progress: Progress = SILENT) -> dict:
    """Explain lines of a survey into the folder ``out`` (staged: complete or absent); return the summary.

    What is explained, and how, is ``options``; in blocks on Dask the outputs are the same
    bytes as in one process. The outputs name the survey ``recorded_as`` (default: its path
    as given). ``progress`` shows a bar over the lines and a note per line with its patch
    counts per predicted class (and, on Dask, a bar over the blocks).
    """
    check_byte_locations(options.iline, options.xline)
    recorded_as = str(survey_path) if recorded_as is None else recorded_as
    model, meta = classifier.load_classifier(options.model, options.device)
    explainer = Explainer(model, layer=meta.get("layer", classifier.LAYER))
    patch = int(meta.get("patch", classifier.PATCH))
    with open_survey(survey_path, iline=options.iline, xline=options.xline) as survey:
        numbers = _lines(survey, survey_path, options, patch)
        if options.in_blocks:
            parts = parts_folder(out)
            explained = _from_blocks(survey_path, explainer, patch, options, numbers, parts, progress)
        else:
            def explained(number: int, folder: Path) -> SectionExplanation:
                return explain_line(survey, explainer, options.kind, number, patch=patch, stride=options.stride,
                                    figures=folder)
        with staged_folder(out) as stage:
            summary = _write_outputs(survey, stage, explained, numbers, options.kind, progress, {
                "command": "seismic explain",
                "survey": recorded_as,
                "model": str(options.model),
                "model_checksum": explainer.model_checksum,
                "layer": explainer.layer_name,
            })
    if options.in_blocks:
        shutil.rmtree(parts)  # the outputs are complete: nothing is left to resume
    return summary


def _lines(survey: Survey, survey_path: PathLike, options: ExplainOptions, patch: int) -> list[int]:
    """The numbers of the lines to explain, once the survey is known to hold them and to be large enough."""
    kind = options.kind
    if survey.kind != "3d":
        raise BadInput(f"{survey_path}: is a {survey.kind} file; explaining lines needs a 3D survey")
    survey.validate()
    lines, across = (survey.inlines, survey.crosslines) if kind == "inline" else (survey.crosslines, survey.inlines)
    if options.every_line:
        numbers = lines.tolist()
    else:
        numbers = [int(lines[len(lines) // 2]) if options.number is None else options.number]  # 0 is a number
        if numbers[0] not in lines:
            raise BadInput(f"{survey_path}: {kind} {numbers[0]} is not in the survey "
                           f"({kind}s {lines[0]}..{lines[-1]}); choose one of its {kind}s")
    smallest = patch // 2 + 1  # reflect padding mirrors real samples only
    if min(len(across), len(survey.samples)) < smallest:
        raise BadInput(
            f"{survey_path}: each {kind} has {len(across)} traces of {len(survey.samples)} samples; the classifier "
            f"reads {patch} x {patch} patches and needs at least {smallest} of each — explain a larger survey"
        )
    return numbers


def _from_blocks(survey_path: PathLike, explainer: Explainer, patch: int, options: ExplainOptions,
                 numbers: list[int], parts: Path, progress: Progress) -> LineExplainer:
    """Every line explained in blocks on Dask into ``parts``; each line's explanation then read from its piece."""
    job = VolumeJob(survey=str(Path(survey_path).resolve()), model=str(Path(options.model).resolve()),
                    model_checksum=explainer.model_checksum, layer=explainer.layer_name, kind=options.kind,
                    patch=patch, stride=options.stride, iline=options.iline, xline=options.xline,
                    device=options.device, block_lines=options.block_lines, threads=torch.get_num_threads())
    with dask_client(options.workers, options.scheduler, options.timeout) as client:
        pieces = explain_blocks(client, job, numbers, parts, timeout=options.timeout, progress=progress)

    def explained(number: int, folder: Path) -> SectionExplanation:
        figure = figure_name(options.kind, number)
        shutil.copyfile(pieces[number] / figure, folder / figure)
        return read_section(pieces[number] / PIECE, options.kind, number)

    return explained


def _write_outputs(survey: Survey, stage: Path, explained: LineExplainer, numbers: list[int], kind: str,
                   progress: Progress, summary: dict) -> dict:
    """explanations.h5, the SEG-Y attributes, the figures and summary.json (``summary`` completed) in ``stage``."""
    sections = []
    with SectionStore(stage / "explanations.h5", {"survey": summary["survey"],
                                                 "model_checksum": summary["model_checksum"]}) as store, \
            progress.bar(total=len(numbers), desc=f"{kind}s", unit=kind) as bar:

        def maps_of(number: int) -> np.ndarray:
            """The section maps (5, samples, traces) of one line; figure and HDF5 group written on the way."""
            section = explained(number, stage)
            store.add(kind, number, section)
            counts = section.predicted_counts()
            sections.append({"kind": kind, "number": number, "patch": section.patch, "stride": section.stride,
                             "predicted_counts": counts, "figure": figure_name(kind, number)})
            progress.note(f"{kind} {number}: " + ", ".join(f"{name} {count}" for name, count in counts.items()))
            bar.update()
            return section.maps

        rows = section_rows(survey, kind, numbers, maps_of, channels=(len(QUESTIONS),))
        write_attributes(survey, {question: stage / f"{question}.sgy" for question in QUESTIONS},
                         lambda start, stop: dict(zip(QUESTIONS, rows(start, stop))))
    summary = {**summary, "questions": list(QUESTIONS), "sections": sections,
               "outputs": {"explanations": "explanations.h5",
                           "segy": {question: f"{question}.sgy" for question in QUESTIONS}}}
    (stage / "summary.json").write_text(json.dumps(summary, indent=2, allow_nan=False) + "\n")
    return summary
