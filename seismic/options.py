"""What the seismic pipelines are asked to do: frozen options, checked when made.

``rather seismic`` builds these from its arguments and hands them to one pipeline
function each (``survey_explanation.explain_survey``, ``classifier.train_checkpoint``,
``classifier.evaluation``); a suite or a notebook builds the same. This module
imports nothing heavy, so the command can show its defaults without loading torch.
Messages name the command's options (``--stride`` ...), which these fields mirror.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Optional

from rather.common.cluster import DEFAULT_TIMEOUT, ClusterChoice
from rather.common.errors import BadInput

from .scaling import DEFAULT_SCALING, SCALINGS

DEFAULT_CHECKPOINT = Path(__file__).with_name("models") / "classifier.pt"
"""The committed four-class classifier (``rather seismic train`` makes it)."""
OUTPUT_FORMATS = ("segy", "zarr", "netcdf")
"""What ``--format`` may ask for besides the summary and the HDF5 store: SEG-Y attributes, a zarr store, netCDF."""
ZARR_BITS = (8, 32)
"""The values of ``--zarr-bits`` (``volume_store.Precision``); the first is the default."""


@dataclass(frozen=True)
class ModelChoice:
    """The seismic model a command is given (``seismic_model.load_seismic_model`` loads it).

    weights: a checkpoint (rather's, or a state dict); factory: its architecture as
    ``module:factory`` (None: the one a rather checkpoint records, if it is rather's own);
    kwargs: the factory's keyword arguments (added to the checkpoint's); layer: the layer
    to explain; classes: the class names, one per logit; patch: the square window the
    model reads. None: what the checkpoint records (see ``seismic_model``).
    """

    weights: str = str(DEFAULT_CHECKPOINT)
    factory: Optional[str] = None
    kwargs: dict = field(default_factory=dict)
    layer: Optional[str] = None
    classes: Optional[tuple[str, ...]] = None
    patch: Optional[int] = None

    def __post_init__(self) -> None:
        if self.patch is not None and not 2 <= self.patch <= 1024:
            raise BadInput(f"--patch must be a whole number of samples from 2 to 1024; got {self.patch}")


@dataclass(frozen=True)
class ExplainOptions:
    """Which lines of a survey to explain, with which model, and where.

    kind: "inline" or "crossline"; number: that line (None: the middle one), or
    every_line: all lines of ``kind`` (a file holding one line, 2D or a single inline,
    has just that line). model: a classifier checkpoint, or with network the model in
    full (``ModelChoice``; network wins); stride: of the patch grid, in samples;
    device: torch's. iline, xline: byte locations of the line numbers. With workers (a local Dask cluster of that many processes) or scheduler
    (an existing cluster's address), every line is explained in resumable blocks of
    block_lines lines, each wait on the cluster bounded by timeout seconds.
    unstructured: read the traces in file order as one line, whatever their headers say.
    time: (first, last) in ms: explain only the samples in that window (None: all); the
    attributes are NaN outside it. What is written: questions, the names of the questions to
    write (``survey_explanation.chosen_questions``: "why", "rather", class names; None: all);
    normalise, the scaling (``scaling.SCALINGS``); figures, a figure for every Nth line
    explained (0: none); formats, the volume outputs besides the summary and the HDF5 store,
    some of ``OUTPUT_FORMATS`` (SEG-Y attributes by default; ``volume_store`` for zarr and
    netCDF; none at all is allowed); zarr_bits, one of ``ZARR_BITS``: 8 stores the zarr and
    netCDF values that lie in [0, 1] packed to within 1/508, 32 keeps them float32
    (``volume_store.Precision``).
    """

    kind: str = "inline"
    number: Optional[int] = None
    every_line: bool = False
    model: str = str(DEFAULT_CHECKPOINT)
    stride: int = 10
    device: str = "cpu"
    iline: int = 189
    xline: int = 193
    workers: Optional[int] = None
    scheduler: Optional[str] = None
    block_lines: int = 8
    timeout: float = DEFAULT_TIMEOUT
    network: Optional[ModelChoice] = None
    unstructured: bool = False
    time: Optional[tuple[float, float]] = None
    questions: Optional[tuple[str, ...]] = None
    normalise: str = DEFAULT_SCALING
    figures: int = 1
    formats: tuple[str, ...] = ("segy",)
    zarr_bits: int = ZARR_BITS[0]

    def __post_init__(self) -> None:
        check_formats(self.formats)
        check_zarr_bits(self.zarr_bits)
        if self.kind not in ("inline", "crossline"):
            raise BadInput(f"lines are inlines or crosslines, not {self.kind!r}")
        if self.stride < 1:
            raise BadInput(f"--stride must be a positive number of samples; got {self.stride}")
        if self.in_blocks and not self.every_line:
            raise BadInput("--workers and --scheduler explain a whole survey in blocks of inlines; add --all")
        ClusterChoice(self.workers, self.scheduler, self.timeout)  # checks --workers and --timeout
        if self.time is not None and not (math.isfinite(self.time[0]) and self.time[0] < self.time[1] < math.inf):
            raise BadInput(f"--time must be two times in ms, the first smaller; got {self.time[0]:g} {self.time[1]:g}")
        if self.block_lines < 1:
            raise BadInput(f"--block-lines must be a positive number of inlines; got {self.block_lines}")
        if self.normalise not in SCALINGS:
            raise BadInput(f"--normalise {self.normalise}: not a scaling; give one of {', '.join(SCALINGS)}")
        if self.figures < 0:
            raise BadInput(f"--figures every:{self.figures}: give a positive number of lines, e.g. every:10")
        if self.questions is not None and not any(question.strip() for question in self.questions):
            raise BadInput("--questions is empty; give why, rather, or class names separated by commas")

    @property
    def model_choice(self) -> ModelChoice:
        """The model to explain with: ``network``, or the checkpoint ``model`` with what it records."""
        return self.network if self.network is not None else ModelChoice(weights=self.model)

    @property
    def segy(self) -> bool:
        """Whether the SEG-Y attributes are written (``--no-segy`` takes "segy" out of ``formats``)."""
        return "segy" in self.formats

    @property
    def in_blocks(self) -> bool:
        """Whether the lines are explained in blocks on Dask."""
        return self.workers is not None or self.scheduler is not None


def check_formats(formats: tuple[str, ...]) -> None:
    """Refuse ``--format`` values that are not ``OUTPUT_FORMATS``, or one given twice (none at all is allowed)."""
    unknown = [name for name in formats if name not in OUTPUT_FORMATS]
    if unknown or len(set(formats)) != len(formats):
        problem = f"'{unknown[0]}' is not one of them" if unknown else "one is given twice"
        raise BadInput(f"--format takes some of {','.join(OUTPUT_FORMATS)} separated by commas ({problem}); "
                       "e.g. --format segy,zarr")


def check_zarr_bits(bits: int) -> None:
    """Refuse a ``--zarr-bits`` value that is not one of ``ZARR_BITS``."""
    if bits not in ZARR_BITS:
        raise BadInput(f"--zarr-bits {bits}: give 8 (values in [0, 1] packed to within 1/508, the default) or 32 "
                       "(float32)")


MAX_ZOOM = 8.0
"""The largest zoom accepted (``rather.seismic.zoom``): beyond it a 45-sample window holds less than one
period of a 6-sample wavelet."""


def check_zoom(zoom: float) -> float:
    """``zoom`` as a float, refused unless 1 <= zoom <= ``MAX_ZOOM``."""
    zoom = float(zoom)
    if not 1.0 <= zoom <= MAX_ZOOM:
        raise BadInput(f"--zoom {zoom:g}: a zoom resamples sections onto a finer grid, from 1 (as they are) to "
                       f"{MAX_ZOOM:g}; give a factor in that range")
    return zoom


MAX_WIDTH = 256
"""The widest first block ``rather seismic train --width`` builds (the last two blocks have four times as many)."""
RECIPES = ("joint", "plain")
"""How ``rather seismic train`` trains the four-class classifier (``TrainOptions.recipe``)."""


@dataclass(frozen=True)
class TrainOptions:
    """How the classifier is trained.

    On the clear patches of ``surveys`` synthetic surveys from seed ``seed`` on,
    ``per_class`` patches of every class, for ``epochs`` epochs; with ``field_faults`` (a
    ``--sections`` folder whose masks mark faults) also on fault and horizon windows of its
    real sections, except those named in ``field_hold_out``, which score the model.
    ``recipe`` (one of ``RECIPES``): "joint", field-styled surveys, 99 and 45 sample patches
    trained together; "plain", the generator's plain surveys and 99 x 99 patches only (how
    the committed classifier of 2026-11-26 was trained). ``zoom`` (low, high): the joint
    recipe's 45-sample patches come from inlines zoomed by a factor drawn per inline from
    that range, and the real windows from the sections zoomed by four factors from low to
    high (``rather.seismic.zoom``); (1, 1), the default, zooms nothing. ``width``: channels
    of the network's first block (the others 2, 4 and 4 times as many). ``texture``: the
    joint recipe blurs every patch and adds noise to it, each by an amount drawn per patch
    (``classifier.vary_texture``), so that fine texture cannot stand for a class.
    """

    seed: int = 0
    surveys: int = 36
    per_class: int = 5000
    epochs: int = 10
    field_faults: Optional[str] = None
    field_hold_out: tuple[str, ...] = ()
    recipe: str = "joint"
    zoom: tuple[float, float] = (1.0, 1.0)
    width: int = 16
    texture: bool = False

    def __post_init__(self) -> None:
        for name in ("surveys", "per_class", "epochs", "width"):
            if getattr(self, name) < 1:
                raise BadInput(f"--{name.replace('_', '-')} must be a positive number; got {getattr(self, name)}")
        if self.width > MAX_WIDTH:
            raise BadInput(f"--width {self.width}: give at most {MAX_WIDTH} channels")
        if self.field_hold_out and self.field_faults is None:
            raise BadInput("--field-hold-out names sections of --field-faults; give --field-faults DIR too")
        if self.recipe not in RECIPES:
            raise BadInput(f"--recipe must be one of {', '.join(RECIPES)}; got {self.recipe!r}")
        if self.recipe == "plain" and self.field_faults is not None:
            raise BadInput("--field-faults adds 45-sample windows, which only --recipe joint trains on; "
                           "drop --field-faults or use --recipe joint")
        low, high = (check_zoom(value) for value in self.zoom)
        if low > high:
            raise BadInput(f"--zoom {low:g},{high:g}: give the smaller zoom first, LOW,HIGH")
        if high > 1 and self.recipe != "joint":
            raise BadInput("--zoom resamples the 45-sample patches, which only --recipe joint trains on; "
                           "drop --zoom or use --recipe joint")
        if self.texture and self.recipe != "joint":
            raise BadInput("--texture varies the patches of --recipe joint; drop --texture or use --recipe joint")


CLASS_WEIGHTS = ("inverse", "sqrt", "none")
"""Cross-entropy class weights of segmentation training: 1 / frequency, 1 / sqrt(frequency), or none."""
REAL_SOURCES = ("landmass", "patches", "sections")
"""Labelled data ``rather seismic train`` and ``evaluate`` read (``--landmass``, ``--patches``, ``--sections``)."""


@dataclass(frozen=True)
class RealTrainOptions:
    """Training on a user's labels (``real_training.train_real``).

    source: one of ``REAL_SOURCES``; folder: where it is; epochs; seed; hold_out: the
    share held out (per class for patches, whole sections for sections); patch: the
    patch or window size (None: the data's patch size; 64 for sections); per_class:
    training patches per class (None: the largest class's count); class_weights: how sections'
    classes are weighted in the loss (``CLASS_WEIGHTS``; patches are balanced by sampling instead).
    """

    source: str
    folder: str
    epochs: int = 20
    seed: int = 0
    hold_out: float = 0.2
    patch: Optional[int] = None
    per_class: Optional[int] = None
    class_weights: str = "inverse"

    def __post_init__(self) -> None:
        if self.class_weights not in CLASS_WEIGHTS:
            raise BadInput(f"--class-weights must be one of {', '.join(CLASS_WEIGHTS)}; got {self.class_weights!r}")
        if self.source not in REAL_SOURCES:
            raise BadInput(f"labelled data come as {', '.join(REAL_SOURCES)}, not {self.source!r}")
        for name in ("epochs", "per_class"):
            value = getattr(self, name)
            if value is not None and value < 1:
                raise BadInput(f"--{name.replace('_', '-')} must be a positive number; got {value}")
        if not 0 <= self.hold_out < 1:
            raise BadInput(f"--hold-out must be a share from 0 to below 1; got {self.hold_out:g}")
        if self.patch is not None and not 8 <= self.patch <= 1024:
            raise BadInput(f"--patch must be a whole number of samples from 8 to 1024; got {self.patch}")
