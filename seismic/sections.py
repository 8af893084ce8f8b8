"""Explaining a seismic section patch by patch, stitched back into section maps.

Every patch position of a section (see ``patches.patch_grid``) is classified and
asked 1 + C questions: Why P? and Why P, rather than Q? for each of the model's C
classes Q (the four LANDMASS classes for the default classifier; a user's model
brings its own class names). The per-patch raw maps (ReLU(sum_k alpha_k A_k), upsampled to the patch,
not normalised: a patch with little evidence must not shout as loud as one with
much) are stitched by weighted overlap-add into one section map per question, which
is then normalised on its own to [0, 1].

"Why P, rather than Q?" asked of a patch predicted Q is "why not more confidently
Q?": a different question, so those patches are left out of the stitched "rather
than Q" map, which is 0 where every covering patch was predicted Q.

With the default classifier (valid convolutions) the patches' activations are crops of
one trunk pass over the section per phase (``rather.common.sliding``); other models get
their patches a few rows at a time. The stitching never makes a map at the patch's
resolution (see ``explain_section``): memory is bounded by a group of patch rows plus
the section maps, whatever the survey.
"""
from __future__ import annotations

from contextlib import ExitStack
from dataclasses import dataclass
from typing import Optional
from typing import Iterator

import h5py
import numpy as np
import torch

from rather.common import Explainer, Kind, Rather, Why
from rather.common.maps import grid_matrix, normalise
from rather.common.results import ExplanationResult
from rather.common.sliding import SlidingWindows
from rather.common.storage import hdf5_output
from rather.common.windows import placement_matrix, taper_weights

from .classes import CLASS_NAMES
from .patches import extract_patches, patch_grid, reflect_pad



def question_names(class_names: tuple[str, ...]) -> tuple[str, ...]:
    """The section questions for these classes, in the order of the maps: why, rather_than_<class>, ..."""
    return (Kind.WHY.value,) + tuple(f"rather_than_{name}" for name in class_names)


QUESTIONS = question_names(CLASS_NAMES)
"""The five section questions of the four-class default classifier."""


def line_name(kind: str, number: int | None) -> str:
    """How outputs name a line: ``inline_120``, ``crossline_7``, or ``line`` for a 2D line without a number."""
    return kind if number is None else f"{kind}_{number}"


@dataclass(frozen=True)
class SectionExplanation:
    """The answers for one section of H samples (rows, time down) by W traces.

    maps: (1 + C, H, W) float32 in [0, 1], one per ``questions``, each normalised on its own;
    raw: (1 + C, H, W) float32, the stitched raw maps before normalising;
    probabilities: (C, H, W) float32, stitched class probabilities; predicted: (H, W) int64,
    their argmax; patch_classes: (len(rows), len(cols)) int64, the class of each patch;
    rows, cols: patch positions (top-left corners); patch, stride: in samples;
    class_names: the C classes, in the order of the probabilities; margin: (H, W) float32,
    for a segmentation network, the largest probability minus the second (None for a
    patch classifier); asked: (1 + C, H, W) bool, where each question was asked (False where
    every patch covering the sample predicted Q, whose "rather than Q" map is 0 there; None:
    derived from ``predicted``, see ``scaling.asked_mask``).
    """

    maps: np.ndarray
    raw: np.ndarray
    probabilities: np.ndarray
    predicted: np.ndarray
    patch_classes: np.ndarray
    rows: np.ndarray
    cols: np.ndarray
    patch: int
    stride: int
    class_names: tuple[str, ...] = CLASS_NAMES
    margin: Optional[np.ndarray] = None
    asked: Optional[np.ndarray] = None

    @property
    def questions(self) -> tuple[str, ...]:
        """The names of the maps, in order (``question_names``)."""
        return question_names(self.class_names)

    def predicted_counts(self) -> dict[str, int]:
        """Number of patch positions predicted as each class."""
        counts = np.bincount(self.patch_classes.ravel(), minlength=len(self.class_names))
        return {name: int(count) for name, count in zip(self.class_names, counts)}


def explain_section(
    explainer: Explainer,
    amplitude: np.ndarray,
    *,
    patch: int = 99,
    stride: int = 10,
    batch: int = 64,
    shared: bool = True,
    class_names: tuple[str, ...] = CLASS_NAMES,
) -> SectionExplanation:
    """Explain a section (H, W) of amplitudes already scaled to [-1, 1] (``patches.scale_to_unit``).

    ``explainer`` wraps a patch classifier (input (N, 1, patch, patch), one logit per class of
    ``class_names``; by default the four-class classifier). When the
    model's explained layer is a shift-equivariant trunk (``SmallCNN(padding=0)``, the default
    classifier) and ``shared`` is on, the patches' activations are crops of one trunk pass over
    the section per phase (``rather.common.sliding``): the same answers, without recomputing the
    90 % that neighbouring patches share. Otherwise whole patch rows go through the model
    together, about ``batch`` patches at a time (on a CPU, batches beyond a few dozen patches
    only add memory traffic).

    Upsampling a raw map m (h, w) to the patch is R_h m R_w^T (``grid_matrix``, on the
    explainer's feature grid), and the Hann window (``rather.common.windows.taper_weights``)
    is separable, so the weighted overlap-add of all upsampled maps is ``P_rows M P_cols^T``:
    M holds the raw maps of all patches side by side (n_rows h, n_cols w), and P places the
    tapered interpolation matrices at the patch positions
    (``rather.common.windows.placement_matrix``). Nothing at the patch's resolution is ever
    made; patch rows are added group by group. The same sums with constant maps give the
    weights and probabilities.
    """
    height, width = amplitude.shape
    rows, cols = patch_grid(height, width, patch=patch, stride=stride)
    taper = torch.from_numpy(taper_weights("hann", patch))[:, None]
    place_rows, place_cols = placement_matrix(rows, height, taper), placement_matrix(cols, width, taper)
    n_classes = len(class_names)
    questions = 1 + n_classes
    total = torch.zeros(questions, height, width, dtype=torch.float64)
    valid = torch.empty(len(rows), len(cols), questions, dtype=torch.float64)
    probabilities = torch.empty(len(rows), len(cols), n_classes, dtype=torch.float64)
    patch_classes = np.empty((len(rows), len(cols)), dtype=np.int64)
    spread_rows = spread_cols = None
    for row_index, col_index, result in _patch_answers(explainer, amplitude, rows, cols, patch, batch, shared):
        (k, m), (h, w) = (len(row_index), len(col_index)), result.raw.shape[-2:]
        if spread_rows is None:  # (H, n_rows h) and (W, n_cols w)
            spread_rows = placement_matrix(rows, height, taper * grid_matrix(patch, h, explainer.grid, 0))
            spread_cols = placement_matrix(cols, width, taper * grid_matrix(patch, w, explainer.grid, 1))
        predicted = result.p[:, 0].cpu()
        answered = torch.ones(len(predicted), questions, dtype=torch.float64)
        answered[:, 1:] = (result.q[:, 1:].cpu() != predicted[:, None]).double()  # "rather than P" is not asked
        raw = result.raw.cpu().double() * answered[:, :, None, None]
        side_by_side = raw.reshape(k, m, questions, h, w).permute(2, 0, 3, 1, 4).reshape(questions, k * h, m * w)
        map_rows = torch.as_tensor(row_index[:, None] * h + np.arange(h)).ravel()
        map_cols = torch.as_tensor(col_index[:, None] * w + np.arange(w)).ravel()
        total += spread_rows[:, map_rows] @ side_by_side @ spread_cols[:, map_cols].T
        at = np.ix_(row_index, col_index)
        valid[at] = answered.reshape(k, m, questions)
        probabilities[at] = result.probs.cpu().double().reshape(k, m, n_classes)
        patch_classes[at] = predicted.reshape(k, m).numpy()
    weights = place_rows @ valid.permute(2, 0, 1) @ place_cols.T
    raw_maps = torch.where(weights > 0, total / torch.where(weights > 0, weights, 1.0), 0.0).float()
    coverage = place_rows @ torch.ones(len(rows), len(cols), dtype=torch.float64) @ place_cols.T
    stitched = (place_rows @ probabilities.permute(2, 0, 1) @ place_cols.T / coverage).float()
    return SectionExplanation(
        maps=normalise(raw_maps[None])[0].numpy(),
        raw=raw_maps.numpy(),
        probabilities=stitched.numpy(),
        predicted=stitched.argmax(0).numpy(),
        patch_classes=patch_classes,
        rows=rows,
        cols=cols,
        patch=patch,
        stride=stride,
        class_names=tuple(class_names),
        asked=(weights > 0).numpy(),
    )


def _patch_answers(
    explainer: Explainer, amplitude: np.ndarray, rows: np.ndarray, cols: np.ndarray, patch: int, batch: int,
    shared: bool,
) -> Iterator[tuple[np.ndarray, np.ndarray, ExplanationResult]]:
    """(patch row indices, column indices, the five answers for those patches, row-major), group by group."""
    asked = [Why(), Rather.all()]
    windows = SlidingWindows.of(explainer) if shared else None
    if windows is not None:
        image = torch.from_numpy(np.ascontiguousarray(reflect_pad(amplitude, patch), dtype=np.float32))[None]
        yield from windows.explain(image, rows, cols, patch, asked)
        return
    block_rows, every_col = max(1, batch // len(cols)), np.arange(len(cols))
    for first in range(0, len(rows), block_rows):
        block = extract_patches(amplitude, rows[first:first + block_rows], cols, patch)
        row_index = np.arange(first, first + len(block) // len(cols))
        yield row_index, every_col, explainer(torch.from_numpy(block).unsqueeze(1).to(explainer.device), asked)


class SectionStore:
    """Section explanations written to HDF5 one by one, atomically (the file appears when the store closes).

    Layout: root attrs ``format="rather.seismic.sections"``, ``questions``, ``class_names`` and
    ``attributes``; one group ``/sections/<kind>_<number>`` (``line_name``) per section with
    datasets ``maps`` (1 + C, H, W), ``raw`` (1 + C, H, W), ``probabilities`` (C, H, W), ``predicted`` (H, W),
    ``margin`` (H, W, segmentation networks only), ``asked`` (1 + C, H, W, bool; patch classifiers),
    ``patch_classes``, ``rows``, ``cols`` and attrs ``kind``, ``number`` (none for a 2D line), ``patch``,
    ``stride``. Sections added with their ``LineAxes`` also hold ``question``, ``class``, ``time``
    and the traces' numbers (``crossline`` along an inline, ...) as HDF5 dimension scales
    attached to those datasets' axes (``attach_scales``): xarray with h5netcdf then reads a
    group with real coordinates.

    >>> with SectionStore("explanations.h5", {"survey": "f3.sgy"}) as store:
    ...     store.add("inline", 120, explain_section(explainer, amplitude))
    """

    def __init__(self, path, attributes: dict, class_names: tuple[str, ...] = CLASS_NAMES):
        self.path, self.attributes, self.class_names = path, attributes, tuple(class_names)

    def __enter__(self) -> "SectionStore":
        self._stack = ExitStack()  # closes the file, then renames it into place (or removes it on error)
        self._file = self._stack.enter_context(hdf5_output(self.path))  # a full disk: one BadInput, no crash
        strings = h5py.string_dtype()
        self._file.attrs["format"] = "rather.seismic.sections"
        self._file.attrs.create("questions", np.array(question_names(self.class_names), dtype=object),
                                dtype=strings)
        self._file.attrs.create("class_names", np.array(self.class_names, dtype=object), dtype=strings)
        self._file.attrs.update(self.attributes)
        self._sections = self._file.create_group("sections")
        return self

    def add(self, kind: str, number: int | None, section: SectionExplanation,
            axes: Optional[LineAxes] = None) -> None:
        """Write the section's group; with ``axes``, its coordinates as dimension scales (``attach_scales``)."""
        group = self._sections.create_group(line_name(kind, number))
        for name in ("maps", "raw", "probabilities", "predicted", "patch_classes", "rows", "cols", "margin", "asked"):
            if getattr(section, name) is not None:
                group.create_dataset(name, data=getattr(section, name), compression="gzip", shuffle=True)
        group.attrs.update({"kind": kind, "patch": section.patch, "stride": section.stride,
                            **({} if number is None else {"number": number})})
        if axes is not None:
            attach_scales(group, section, axes)
        self._file.flush()  # HDF5 otherwise keeps every section's chunks in memory until the file closes

    def __exit__(self, *exc) -> None:
        self._stack.__exit__(*exc)


@dataclass(frozen=True)
class LineAxes:
    """The coordinates of a section's axes: ``time`` (ms, one per row), ``traces`` (one per column) named ``trace_key``.

    ``trace_key`` is what numbers the traces: "crossline" along an inline, "inline" along a
    crossline, the line's key ("cdp", "trace", ...) for a 2D or single-line file.
    """

    time: np.ndarray
    trace_key: str
    traces: np.ndarray


SCALED = {"maps": ("question", "time", None), "raw": ("question", "time", None), "asked": ("question", "time", None),
          "probabilities": ("class", "time", None), "predicted": ("time", None), "margin": ("time", None),
          "patch_classes": ("rows", "cols")}
"""Each dataset's dimensions, by the scales' names (None: the traces, named by ``LineAxes.trace_key``)."""


def attach_scales(group: h5py.Group, section: SectionExplanation, axes: LineAxes) -> None:
    """HDF5 dimension scales in a section's group, so xarray (h5netcdf) reads real coordinates.

    Adds ``question``, ``class``, ``time`` and the traces' dataset (``axes.trace_key``), makes
    them and ``rows``, ``cols`` dimension scales, and attaches them to the datasets' axes
    (``SCALED``). The datasets themselves are unchanged.
    """
    strings = h5py.string_dtype()
    group.create_dataset("question", data=np.array(section.questions, dtype=object), dtype=strings)
    group.create_dataset("class", data=np.array(section.class_names, dtype=object), dtype=strings)
    group.create_dataset("time", data=np.asarray(axes.time, dtype=np.float64))
    group.create_dataset(axes.trace_key, data=np.asarray(axes.traces))
    group["time"].attrs["units"] = "ms"
    for name in ("question", "class", "time", axes.trace_key, "rows", "cols"):
        group[name].make_scale(name)
    for name, dims in SCALED.items():
        if name in group:
            for axis, scale in enumerate(dims):
                group[name].dims[axis].attach_scale(group[scale or axes.trace_key])


def read_section(path, kind: str, number: int | None) -> SectionExplanation:
    """The section ``line_name(kind, number)`` of a ``SectionStore`` file, as it was added (arrays bit for bit)."""
    with h5py.File(path, "r") as file:
        group = file[f"sections/{line_name(kind, number)}"]
        class_names = tuple(str(name) for name in file.attrs["class_names"])
        arrays = {name: group[name][()] for name in ("maps", "raw", "probabilities", "predicted", "patch_classes",
                                                      "rows", "cols", "margin", "asked") if name in group}
        return SectionExplanation(**arrays, patch=int(group.attrs["patch"]), stride=int(group.attrs["stride"]),
                                  class_names=class_names)
