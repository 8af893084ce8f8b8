"""A (distorted, reference) pair of image files explained into a folder: ``rather iqa explain`` and the iqa suite.

``explain_pair`` asks the quality model Why s? and Why s, rather than q? for each contrast
q (``contrasts``, patchwise or in image mode) and writes, all or nothing:

- ``explanations.h5``: the result (``rather.common.ExplanationResult.save``);
- ``figure.png``: distorted | reference | one map per question (``figures.plot_pair``);
- ``summary.json``: the images, the model, the score, each question (kind, title, s, q;
  ``contrast: "human"`` where q is people's score) and, patchwise, the window scores.
"""
from __future__ import annotations

import time
from pathlib import Path
from typing import Optional, Sequence

from rather.common import BadInput, ExplanationResult
from rather.common.progress import SILENT, Progress
from rather.common.storage import PathLike, staged_folder
from rather.common.summaries import plain, question_records, write_json

from .contrasts import check_stride, explain_image, explain_patchwise
from .figures import plot_pair
from .options import MODES, Contrast, ExplainOptions
from .quality_model import load_quality_model, model_input, read_pair

PEOPLE = "human"
"""How the summary names a contrast that is people's score (the command's ``--rather-than human``)."""


def explain_pair(distorted: PathLike, reference: PathLike, contrasts: Sequence[Contrast], out: PathLike,
                 options: ExplainOptions = ExplainOptions(), *, recorded_as: Optional[tuple[str, str]] = None,
                 progress: Progress = SILENT) -> tuple[dict, ExplanationResult]:
    """Why s? and Why s, rather than q? for each contrast, into the folder ``out``; the summary and the result.

    The summary names the images ``recorded_as`` (default: their paths as given). ``progress``
    shows the patchwise windows as a bar and the time taken as a note.
    """
    recorded_as = recorded_as or (str(distorted), str(reference))
    if options.mode not in MODES:
        raise BadInput(f"--mode {options.mode!r}: use one of {', '.join(MODES)}")
    if options.mode == "patchwise":
        check_stride(options.stride)
    model, _ = load_quality_model(options.model, options.device)
    distorted_image, reference_image = read_pair(distorted, reference)
    x = model_input(model, distorted_image[None], reference_image[None])
    started = time.perf_counter()
    identifier = Path(distorted).stem.replace("/", "_") or "distorted"
    scores = [contrast.score for contrast in contrasts]
    if options.mode == "patchwise":
        result, window_scores = explain_patchwise(model, x, scores, stride=options.stride, ids=[identifier],
                                                  progress=progress)
    else:
        result, window_scores = explain_image(model, x, scores, ids=[identifier]), None
    progress.note(f"explained in {time.perf_counter() - started:.1f} s ({options.mode})")
    summary = _summary(result, contrasts, options, recorded_as, window_scores)
    remarks = [""] + ["people's score" if contrast.people else "" for contrast in contrasts]
    with staged_folder(out) as stage:
        result.save(stage / "explanations.h5")
        plot_pair(result, distorted_image, reference_image, stage / "figure.png", remarks=remarks)
        write_json(stage / "summary.json", summary)
    return summary, result


def _summary(result: ExplanationResult, contrasts: Sequence[Contrast], options: ExplainOptions,
             recorded_as: tuple[str, str], window_scores) -> dict:
    """What ``summary.json`` holds (see the module docstring); ``window_scores`` (R, K) patchwise, else None."""
    questions = question_records(result, 0)
    for record, contrast in zip(questions[1:], contrasts):
        if contrast.people:
            record["contrast"] = PEOPLE
            record["title"] += " (people's score)"
    summary = {
        "command": "iqa explain", "distorted": recorded_as[0], "reference": recorded_as[1],
        "model": str(options.model), "model_checksum": result.model_checksum, "layer": result.layer,
        "call": result.call, "method": result.method, "mode": options.mode, "score": plain(result.scores[0]),
        "questions": questions, "notes": list(result.notes),
        "outputs": {"explanations": "explanations.h5", "figure": "figure.png"},
    }
    if window_scores is not None:
        summary["stride"] = options.stride
        summary["windows"] = {"count": int(window_scores.size), "score_min": plain(window_scores.min()),
                              "score_mean": plain(window_scores.mean()), "score_max": plain(window_scores.max())}
    return summary
