"""A (distorted, reference) pair of image files explained into a folder: ``rather iqa explain`` and the iqa suite.

``explain_pair`` asks a quality model (rather's, or any full- or no-reference model,
``scorers``) Why s? and Why s, rather than q? for each contrast q (``contrasts``,
patchwise or in image mode) and writes, all or nothing:

- ``explanations.h5``: the result (``rather.common.ExplanationResult.save``);
- ``figure.png``: distorted | reference | one map per question, and below each contrast its
  side map: red where the evidence pulls the score above q, blue below (``figures.plot_pair``);
- ``sides.npy``: the side maps (contrasts, H, W) in [-1, 1] (``sides``);
- ``summary.json``: the images, the model, the score, each question (kind, title, s, q,
  ``reads`` (better or worse than q), ``sides``; ``contrast: "human"`` where q is people's
  score; where ``--mos-scale`` named its published scale, ``mos``, ``mos_scale``, s on that scale
  (``score_on_mos_scale``) and ``on_both_scales``, the line the figure shows under the question:
  "0.567 on the model's scale (MOS 5.1 on TID2013's 0-9); s 0.52 (MOS 4.68)"), notes (one
  when two contrasts give the same map, and why) and, patchwise, the window scores.
"""
from __future__ import annotations

import math
import time
from dataclasses import replace
from pathlib import Path
from typing import Optional, Sequence

import numpy as np

from rather.common import BadInput, ExplanationResult
from rather.common.progress import SILENT, Progress
from rather.common.storage import PathLike, staged_folder
from rather.common.summaries import plain, question_records, write_json

from .contrasts import Stride, check_stride, explain_image, explain_patchwise, stride_text
from .datasets import SCALES, admitted_range
from .figures import plot_pair
from .options import FAST_STRIDE, MODES, MOS_SCALES, STRIDE, Contrast, ExplainOptions
from .scorers import QualityModel, load_quality, read_inputs
from .sides import region_sides, same_map_notes, silent_side_notes

FAST_NOTE = (f"mode fast: the patchwise question at {stride_text(FAST_STRIDE)} instead of {stride_text(STRIDE)} "
             "(a third of the windows, each window's map exact), an approximation of the exact patchwise map (its "
             "correlation with it: rather bench iqa)")
PEOPLE = "human"
"""How the summary names a contrast that is people's score (the command's ``--rather-than human``)."""


def explain_pair(distorted: PathLike, reference: Optional[PathLike], contrasts: Sequence[Contrast], out: PathLike,
                 options: ExplainOptions = ExplainOptions(), *,
                 recorded_as: Optional[tuple[str, Optional[str]]] = None,
                 progress: Progress = SILENT) -> tuple[dict, ExplanationResult]:
    """Why s? and Why s, rather than q? for each contrast, into the folder ``out``; the summary and the result.

    ``reference`` is None for a no-reference model. The summary names the images ``recorded_as``
    (default: their paths as given). ``progress`` shows the patchwise windows as a bar with its
    ETA, and the time taken as a note.
    """
    recorded_as = recorded_as or (str(distorted), None if reference is None else str(reference))
    if options.mode not in MODES:
        raise BadInput(f"--mode {options.mode!r}: use one of {', '.join(MODES)}")
    stride = _stride(options)
    model = load_quality(options.model)
    if model.layer is None:
        raise BadInput("--layer: name the layer of your model to explain (a convolution's dotted name, e.g. "
                       "features.8)")
    scores = model_scores(contrasts, model)
    x, distorted_image, reference_image = read_inputs(model, distorted, reference)
    model.score(x)  # a model that cannot run on these images (or gives no single score) is refused before any work
    started = time.perf_counter()
    identifier = Path(distorted).stem.replace("/", "_") or "distorted"
    where = {"layer": model.layer, "call": model.call, "inputs": model.inputs}
    if options.mode != "image":
        result, window_scores, sides = explain_patchwise(model.network, x, scores, stride=stride,
                                                         ids=[identifier], progress=progress, **where)
        if options.mode == "fast":
            result = replace(result, notes=result.notes + (FAST_NOTE,))
    else:
        result, window_scores = explain_image(model.network, x, scores, ids=[identifier], **where), None
        sides = region_sides(model.network, x, scores, model.score)
    progress.note(f"explained in {time.perf_counter() - started:.1f} s ({options.mode})")
    side_records = sides.records(scores)
    notes = (same_map_notes(result.maps[0, 1:], scores, sides.scores, sides.unit)
             + silent_side_notes(side_records, scores, sides.unit))
    result = replace(result, notes=tuple(dict.fromkeys(result.notes + tuple(notes))))
    summary = _summary(result, contrasts, scores, model, options, stride, recorded_as, window_scores)
    for record, side in zip(summary["questions"][1:], side_records):
        record["sides"] = side
    remarks = [""] + ["\n".join(filter(None, (record.get("reads"), record.get("on_both_scales"))))
                      for record in summary["questions"][1:]]
    with staged_folder(out) as stage:
        result.save(stage / "explanations.h5")
        np.save(stage / "sides.npy", sides.maps.numpy())
        plot_pair(result, distorted_image, reference_image, stage / "figure.png", remarks=remarks,
                  sides=sides.maps.numpy(), unit=sides.unit)
        write_json(stage / "summary.json", summary)
    return summary, result


def _stride(options: ExplainOptions) -> Optional[Stride]:
    """The windows' stride the mode asks for, checked: ``--stride`` (default ``STRIDE``) patchwise, ``FAST_STRIDE``
    in fast mode, where a ``--stride`` is refused rather than ignored; None in image mode (no windows)."""
    if options.mode == "patchwise":
        stride = STRIDE if options.stride is None else options.stride
        check_stride(stride)
        return stride
    if options.stride is not None:
        windows = (f"has its own windows ({stride_text(FAST_STRIDE)})" if options.mode == "fast" else
                   "cuts no windows (one question about the whole image)")
        raise BadInput(f"--stride {options.stride!r}: --mode {options.mode} {windows}; leave --stride out, or use "
                       "--mode patchwise")
    return FAST_STRIDE if options.mode == "fast" else None


def model_scores(contrasts: Sequence[Contrast], model: QualityModel) -> list[float]:
    """Each contrast as a score on the model's scale, checked: BadInput naming the option it came from.

    A score given on the model's scale (``--rather-than``) must be finite and within the scale
    widened by its width on each side (a pristine pair may score a little past the top; 1e39
    would overflow float32 in (s - q)^2). People's score (``--mos``) must lie within the scale
    itself, unless ``--mos-scale`` names the scale it was published on: then it must lie within
    that scale's range and is mapped as evaluation maps it (``datasets.SCALES``: to [0, 1],
    higher is better), then linearly onto the model's range (reversed for a lower-is-better model).
    """
    low, high = model.score_range
    width = high - low
    direction = "lower is better" if model.lower_better else "higher is better"
    scores = []
    for contrast in contrasts:
        score = contrast.score
        where = "--mos (people's score)" if contrast.people else "--rather-than"
        if isinstance(score, bool) or not isinstance(score, (int, float)):
            raise BadInput(f"{where} {score!r} is not a number; give a score on the model's scale")
        if contrast.scale is not None:
            scores.append(_mapped(score, contrast.scale, model))
        elif contrast.people and not (math.isfinite(score) and low <= score <= high):
            raise BadInput(f"{where} {score:g} is outside the model's scale [{low:g}, {high:g}] ({direction}); give "
                           f"people's score on that scale, or the raw MOS/DMOS with --mos-scale "
                           f"{'|'.join(MOS_SCALES)}")
        elif not (math.isfinite(score) and low - width <= score <= high + width):
            raise BadInput(f"{where} {score:g} is not a score the model can be asked about: its scale is "
                           f"[{low:g}, {high:g}] ({direction}); give a finite score in "
                           f"[{low - width:g}, {high + width:g}]")
        else:
            scores.append(float(score))
    return scores


def _mapped(raw: float, scale: str, model: QualityModel) -> float:
    """People's ``raw`` score published on ``scale`` -> the model's scale (see ``model_scores``)."""
    if scale not in SCALES:
        raise BadInput(f"--mos-scale {scale!r}: use one of {', '.join(MOS_SCALES)}")
    first, last = admitted_range(scale)
    if not (math.isfinite(raw) and first <= raw <= last):
        raise BadInput(f"--mos {raw:g} is outside {SCALES[scale].name}'s range [{first:g}, {last:g}] "
                       f"({SCALES[scale].described}); check --mos and --mos-scale")
    unit = SCALES[scale].unit(raw)
    low, high = model.score_range
    return high - unit * (high - low) if model.lower_better else low + unit * (high - low)


def on_published_scale(score: float, scale: str, model: QualityModel) -> float:
    """A score on the model's scale -> on the scale ``scale`` publishes (``_mapped`` backwards, not clipped)."""
    low, high = model.score_range
    unit = (score - low) / (high - low)
    return SCALES[scale].published(1 - unit if model.lower_better else unit)


def on_both_scales(score: float, q: float, contrast: Contrast, model: QualityModel) -> str:
    """q, and s, on the model's scale and on the scale people's score was published on: '0.567 on the model's scale
    (MOS 5.1 on TID2013's 0-9); s 0.52 (MOS 4.68)'; q quoted as given (``--mos``)."""
    published = SCALES[contrast.scale]
    return (f"{q:.3g} on the model's scale ({published.quoted(contrast.score)}); s {score:.3g} "
            f"({published.called} {on_published_scale(score, contrast.scale, model):.3g})")


def reads(score: float, q: float, lower_better: bool) -> str:
    """How s compares with q in words, by the model's direction: 's is worse than q (lower is better)'."""
    if score == q:
        return f"s equals {q:.3g}"
    better = (score < q) if lower_better else (score > q)
    return f"s is {'better' if better else 'worse'} than {q:.3g} ({'lower' if lower_better else 'higher'} is better)"


def _summary(result: ExplanationResult, contrasts: Sequence[Contrast], scores: Sequence[float], model: QualityModel,
             options: ExplainOptions, stride: Optional[Stride], recorded_as: tuple[str, Optional[str]],
             window_scores) -> dict:
    """What ``summary.json`` holds (see the module docstring); ``window_scores`` (R, K) patchwise, else None."""
    questions = question_records(result, 0)
    score = float(result.scores[0])
    for record, contrast, q in zip(questions[1:], contrasts, scores):
        record["reads"] = reads(score, q, model.lower_better)
        if contrast.people:
            record["contrast"] = PEOPLE
            record["title"] += " (people's score)"
        if contrast.scale is not None:
            record.update(mos=contrast.score, mos_scale=contrast.scale,
                          score_on_mos_scale=on_published_scale(score, contrast.scale, model),
                          on_both_scales=on_both_scales(score, q, contrast, model))
    summary = {
        "command": "iqa explain", "distorted": recorded_as[0], "reference": recorded_as[1],
        "model": model.name, "weights": str(options.model.weights), "model_checksum": result.model_checksum,
        "full_reference": model.full_reference, "higher_is_better": not model.lower_better,
        "score_range": list(model.score_range), "layer": result.layer, "call": result.call, "method": result.method,
        "mode": options.mode, "score": plain(result.scores[0]), "questions": questions, "notes": list(result.notes),
        "outputs": {"explanations": "explanations.h5", "figure": "figure.png", "sides": "sides.npy"},
    }
    if window_scores is not None:
        summary["stride"] = list(stride) if isinstance(stride, tuple) else stride
        summary["windows"] = {"count": int(window_scores.size), "score_min": plain(window_scores.min()),
                              "score_mean": plain(window_scores.mean()), "score_max": plain(window_scores.max())}
    return summary
