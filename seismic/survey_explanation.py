"""Explaining lines of a SEG-Y survey into a folder: summary, HDF5 store, SEG-Y attributes, figures.

The pipeline of ``rather seismic explain`` (and of the seismic suite): one line, or
every line in one process or in resumable blocks on Dask; the outputs are staged, so
the folder is complete or absent.
"""
from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import torch

from rather.common import BadInput, Explainer, load_model
from rather.common.storage import staged_folder

from . import classifier
from .blocks import DEFAULT_TIMEOUT, PIECE, VolumeJob, dask_client, explain_blocks, parts_folder
from .lines import explain_line, figure_name
from .sections import QUESTIONS, SectionExplanation, SectionStore, read_section
from .attributes import section_rows, write_attributes
from .headers import check_byte_locations
from .survey import open_survey


def explain_survey(survey_path: str | Path, out: str | Path, *, kind: str = "inline", number: int | None = None,
                   every_line: bool = False, model: str | Path = classifier.DEFAULT_CHECKPOINT, stride: int = 10,
                   device: str = "cpu", iline: int = 189, xline: int = 193, workers: int | None = None,
                   scheduler: str | None = None, block_lines: int = 8, timeout: float = DEFAULT_TIMEOUT,
                   recorded_as: str | None = None, progress=print) -> dict:
    """Explain lines of a survey into the folder ``out`` (staged: complete or absent); return the summary.

    ``kind`` "inline" or "crossline"; ``number`` that line (default: the middle one), or
    ``every_line`` for all of them, in one process or, with ``workers`` or ``scheduler``, in
    resumable blocks of ``block_lines`` inlines on Dask (same bytes; ``timeout`` bounds every wait
    on the cluster, see ``blocks.finished``). Writes summary.json,
    explanations.h5, one SEG-Y attribute per question and a figure per line. The outputs name
    the survey ``recorded_as`` (default: its path as given).
    """
    check_byte_locations(iline, xline)
    recorded_as = str(survey_path) if recorded_as is None else recorded_as
    in_blocks = workers is not None or scheduler is not None
    weights = model
    model, meta = load_model(weights=weights, device=device)
    explainer = Explainer(model, layer=meta.get("layer", classifier.LAYER))
    patch = int(meta.get("patch", classifier.PATCH))
    with open_survey(survey_path, iline=iline, xline=xline) as survey:
        if survey.kind != "3d":
            raise BadInput(f"{survey_path}: is a {survey.kind} file; explaining lines needs a 3D survey")
        survey.validate()
        lines, across = (survey.inlines, survey.crosslines) if kind == "inline" else (survey.crosslines, survey.inlines)
        if every_line:
            numbers = lines.tolist()
        else:
            numbers = [int(lines[len(lines) // 2]) if number is None else number]  # line 0 is a valid number
            if numbers[0] not in lines:
                raise BadInput(f"{survey_path}: {kind} {numbers[0]} is not in the survey "
                               f"({kind}s {lines[0]}..{lines[-1]}); choose one of its {kind}s")
        smallest = patch // 2 + 1  # reflect padding mirrors real samples only
        if min(len(across), len(survey.samples)) < smallest:
            raise BadInput(
                f"{survey_path}: each {kind} has {len(across)} traces of {len(survey.samples)} samples; the classifier "
                f"reads {patch} x {patch} patches and needs at least {smallest} of each — explain a larger survey"
            )
        if in_blocks:
            parts = parts_folder(out)
            job = VolumeJob(survey=str(Path(survey_path).resolve()), model=str(Path(weights).resolve()),
                            model_checksum=explainer.model_checksum, layer=explainer.layer_name, kind=kind,
                            patch=patch, stride=stride, iline=iline, xline=xline, device=device,
                            block_lines=block_lines, threads=torch.get_num_threads())
            with dask_client(workers, scheduler, timeout) as client:
                pieces = explain_blocks(client, job, numbers, parts, timeout=timeout)

            def section_of(number: int, stage: Path) -> SectionExplanation:
                shutil.copyfile(pieces[number] / figure_name(kind, number), stage / figure_name(kind, number))
                return read_section(pieces[number] / PIECE, kind, number)
        else:
            def section_of(number: int, stage: Path) -> SectionExplanation:
                return explain_line(survey, explainer, kind, number, patch=patch, stride=stride, figures=stage)

        with staged_folder(out) as stage, SectionStore(
            stage / "explanations.h5", {"survey": recorded_as, "model_checksum": explainer.model_checksum}
        ) as store:
            sections = []

            def explained_line(number: int) -> np.ndarray:
                """The section maps (5, samples, traces) of one line; figure and HDF5 group written on the way."""
                section = section_of(number, stage)
                store.add(kind, number, section)
                sections.append({"kind": kind, "number": number, "patch": section.patch, "stride": section.stride,
                                 "predicted_counts": section.predicted_counts(), "figure": figure_name(kind, number)})
                progress(f"{kind} {number}: " + ", ".join(f"{k} {v}" for k, v in section.predicted_counts().items()))
                return section.maps

            rows = section_rows(survey, kind, numbers, explained_line, channels=(len(QUESTIONS),))
            write_attributes(survey, {question: stage / f"{question}.sgy" for question in QUESTIONS},
                             lambda start, stop: dict(zip(QUESTIONS, rows(start, stop))))
            summary = {
                "command": "seismic explain",
                "survey": recorded_as,
                "model": str(weights),
                "model_checksum": explainer.model_checksum,
                "layer": explainer.layer_name,
                "questions": list(QUESTIONS),
                "sections": sections,
                "outputs": {"explanations": "explanations.h5",
                            "segy": {question: f"{question}.sgy" for question in QUESTIONS}},
            }
            (stage / "summary.json").write_text(json.dumps(summary, indent=2, allow_nan=False) + "\n")
    if in_blocks:
        shutil.rmtree(parts)  # the outputs are complete: nothing is left to resume
    return summary

