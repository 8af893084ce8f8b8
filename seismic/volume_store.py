"""Explanations as a volume an interpreter's tools open: a zarr store in the cloud-native seismic layout, or netCDF.

``rather seismic explain --format zarr`` (or ``netcdf``) writes the section maps of the
explained lines back onto the survey's grid, as cloud-native seismic stores lay a survey
out, so that ``xarray.open_zarr("explanations.zarr")`` shows real coordinates:

- dimensions ``inline``, ``crossline``, ``time`` (a 3D survey; a 2D or single-line file
  has its line's key, e.g. ``cdp``, and ``time``); ``time`` holds the explained samples
  in ms (metres for a depth survey stored in mm: SEG-Y does not say which);
- coordinates on the grid: ``cdp_x``, ``cdp_y`` from trace-header bytes 181 and 185 with
  the coordinate scalar (bytes 71-72) applied, NaN where no trace is; ``live_mask``,
  True where the survey has a trace;
- one variable per question written (``why``, ``rather_than_<class>``, ...: the
  attribute values every output holds, ``scaling.Scaling.apply``, NaN where not asked),
  then ``predicted_class`` (int8, int16 beyond 127 classes: the class index; -1 where
  nothing was explained) and ``margin`` (the largest class probability minus the
  runner-up). Samples not explained (other lines, dead traces) are NaN;
- values in [0, 1] (the questions' with ``--normalise volume`` or ``section``; the
  margin always) are stored packed (``Precision``, ``--zarr-bits 8``, the default), the
  CF way xarray decodes by itself: uint8 codes 0..254 with ``scale_factor`` 1/254,
  ``add_offset`` 0 and ``_FillValue`` 255 (NaN). ``open_zarr`` gives float64 values
  back, each within half a step (1/508, about 0.002) of the float32 value; a store is
  about a quarter of its float32 size before compression. Raw values (``--normalise
  none``: no known range) and every value with ``--zarr-bits 32`` stay float32;
- per variable, statistics in its attributes (``statistics_count``, ``_sum``,
  ``_sum_squares``, ``_min``, ``_max``, ``_mean``, ``_std`` over the explained samples;
  ``statistics_class_counts`` for the predicted class, in the order of ``class_names``);
  the store's attributes say what was explained with what;
- chunks of one line along the explained direction (inlines, or crosslines for
  ``--all-crosslines``), whole along the other axes, so that each line is one region
  and lines can be written in any order, from any process.

A line is written by ``VolumeStore.add`` in one process. On Dask, once every block is
explained and the run's scaling known, the workers write the lines of their block's
piece (``write_regions``, a task per block: ``regions_on_workers``) into a store that
``lay_out`` made in the parts folder; the driver's ``add`` then checks each region
against its line (rewriting one that differs), so the store ends with the same bytes
either way. Statistics are added and the metadata
consolidated by ``finish``. A netCDF file (``explanations.nc``, via h5netcdf) is the
same dataset, converted from the finished zarr store one chunk at a time.
"""
from __future__ import annotations

import os
import shutil
import uuid
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Optional

import numpy as np

from rather.common import __version__
from rather.common.progress import SILENT, Progress
from rather.common.storage import PathLike

from .options import check_zarr_bits
from .scaling import Scaling
from .sections import LineAxes, SectionExplanation, question_names, read_section
from .survey import Survey

ZARR_NAME = "explanations.zarr"
NETCDF_NAME = "explanations.nc"
NOT_EXPLAINED = -1
"""``predicted_class`` where no class was predicted: lines not explained, dead traces."""
TIME = "time"
FILL = 255
"""The code of a NaN (not asked, not explained) in a packed variable."""
STEP = 1 / (FILL - 1)
"""A packed variable's ``scale_factor``: codes 0..254 span [0, 1]; the largest error is half of it."""
BOUNDED_SCALINGS = ("volume", "section")
"""The ``--normalise`` scalings whose values lie in [0, 1] (``scaling.Scaling.apply``): packed at 8 bits."""


@dataclass(frozen=True)
class Precision:
    """How the float variables are stored: ``packed`` ones as 8-bit codes (see the module docstring), others float32.

    >>> precision = Precision.chosen(QUESTIONS, "volume", bits=8)
    >>> precision.stored("why", values)   # uint8 codes, FILL where NaN
    """

    packed: frozenset = frozenset()

    @classmethod
    def chosen(cls, questions: tuple[str, ...], normalise: str, bits: int) -> "Precision":
        """Pack at 8 ``bits`` what lies in [0, 1]: the margin, and the questions of a bounded scaling."""
        check_zarr_bits(bits)
        if bits == 32:
            return cls()
        return cls(frozenset(("margin",) + (tuple(questions) if normalise in BOUNDED_SCALINGS else ())))

    def stored(self, name: str, values: np.ndarray) -> np.ndarray:
        """``values`` (float, NaN where none) as variable ``name`` holds them: codes, or float32 as they are.

        A value outside [0, 1] cannot be packed: it is a bug upstream, and raises ValueError.
        """
        if name not in self.packed:
            return values
        codes = np.rint(np.asarray(values, dtype=np.float64) / STEP)
        asked = ~np.isnan(codes)
        if not ((codes[asked] >= 0) & (codes[asked] < FILL)).all():
            raise ValueError(f"{name}: values outside [0, 1] cannot be packed")
        return np.where(asked, codes, FILL).astype(np.uint8)

    def decoded(self, name: str, stored: np.ndarray) -> np.ndarray:
        """What ``xarray.open_zarr`` reads of variable ``name`` holding ``stored`` (CF decoding: codes x step, NaN)."""
        if name not in self.packed:
            return stored
        return np.where(stored == FILL, np.nan, stored.astype(np.float64) * STEP)

    def encoding(self, name: str) -> dict:
        """The xarray encoding of variable ``name``: the codes' dtype, scale, offset and fill (zarr's own too)."""
        if name not in self.packed:
            return {}
        return {"dtype": "uint8", "scale_factor": STEP, "add_offset": 0.0, "_FillValue": FILL, "fill_value": FILL}

    def dtype(self, name: str) -> np.dtype:
        """The dtype variable ``name`` (a float variable) is stored with."""
        return np.dtype(np.uint8 if name in self.packed else np.float32)

    def describe(self) -> str:
        """A line for the store's attributes: what is packed, and the largest error it makes."""
        if not self.packed:
            return "float32"
        return (f"{', '.join(sorted(self.packed))}: uint8, scale_factor 1/{FILL - 1}, _FillValue {FILL} (NaN); "
                f"at most {STEP / 2:.6f} from the float32 value")


def class_dtype(classes: int) -> np.dtype:
    """``predicted_class``'s dtype for ``classes`` classes and -1: int8 up to 127 classes, else int16."""
    return np.dtype(np.int8 if classes <= np.iinfo(np.int8).max else np.int16)


@dataclass(frozen=True)
class VolumeGrid:
    """Where the explained samples sit: the survey's grid axes, the time window, coordinates and live traces.

    dims: the grid's dimension names then ``time``; axes: {dimension: its numbers or times};
    cdp_x, cdp_y: float64 on the grid (NaN where no trace); live: bool on the grid;
    line_axis: the grid axis a line's position indexes (None: a one-line file, the whole grid).
    """

    dims: tuple[str, ...]
    axes: dict
    cdp_x: np.ndarray
    cdp_y: np.ndarray
    live: np.ndarray
    line_axis: Optional[int]

    @property
    def shape(self) -> tuple[int, ...]:
        return tuple(len(self.axes[name]) for name in self.dims)

    @property
    def chunks(self) -> tuple[int, ...]:
        """One line along ``line_axis``, whole along every other axis."""
        return tuple(1 if axis == self.line_axis else size for axis, size in enumerate(self.shape))


def _line_axis(survey: Survey, kind: str) -> Optional[int]:
    """The grid axis along which lines of ``kind`` follow each other (None: a one-line file)."""
    return ("inline", "crossline").index(kind) if survey.kind == "3d" else None


def line_region(survey: Survey, kind: str, number: Optional[int]) -> tuple[slice, ...]:
    """Where line ``number`` of ``kind`` sits in the store: one position along its axis, everything else whole."""
    axis = _line_axis(survey, kind)
    if axis is None:
        return (slice(None), slice(None))
    position = survey.position(kind, number)
    return tuple(slice(position, position + 1) if index == axis else slice(None) for index in range(3))


def volume_grid(survey: Survey, kind: str, samples: slice = slice(None)) -> VolumeGrid:
    """The ``VolumeGrid`` of lines of ``kind`` (inline or crossline) of ``survey``, samples ``samples`` only."""
    times = np.asarray(survey.samples[samples], dtype=np.float64)
    if survey.kind == "3d":
        grid_dims = ("inline", "crossline")
        axes = {"inline": np.asarray(survey.inlines), "crossline": np.asarray(survey.crosslines)}
    else:
        grid_dims = (survey.line_key,)
        axes = {survey.line_key: np.asarray(survey.line_numbers)}
    cdp_x, cdp_y = _grid_coordinates(survey)
    return VolumeGrid(dims=grid_dims + (TIME,), axes={**axes, TIME: times}, cdp_x=cdp_x, cdp_y=cdp_y,
                      live=np.asarray(survey.live), line_axis=_line_axis(survey, kind))


def line_axes(survey: Survey, kind: str, samples: slice = slice(None)) -> LineAxes:
    """The coordinates of the sections of lines of ``kind`` (samples ``samples``): what ``SectionStore`` scales."""
    if survey.kind == "3d":
        trace_key, traces = ("crossline", survey.crosslines) if kind == "inline" else ("inline", survey.inlines)
    else:
        trace_key, traces = survey.line_key, survey.line_numbers
    return LineAxes(time=np.asarray(survey.samples[samples]), trace_key=trace_key, traces=np.asarray(traces))


def _grid_coordinates(survey: Survey) -> tuple[np.ndarray, np.ndarray]:
    """``Survey.trace_coordinates`` (CDP X and Y, scalar applied) placed on the survey's grid, NaN where no trace is."""
    placed = []
    for values in survey.trace_coordinates()[1].values():
        grid = np.full(survey.shape, np.nan)
        grid.flat[survey.trace_cells()] = values
        placed.append(grid)
    return placed[0], placed[1]


def line_values(live: np.ndarray, questions: tuple[str, ...], values: np.ndarray,
                section: SectionExplanation) -> dict[str, np.ndarray]:
    """The variables of one explained line, shaped as its region (``line_region``), its dead traces masked.

    ``live``: the survey's live mask over the region's traces (``Survey.live[region[:-1]]``);
    ``values``: the ``questions``' attribute values (questions, samples, traces), scaled as every
    output holds them (``scaling.Scaling.apply``). Returns {question: float32,
    ``predicted_class``: ``class_dtype``, ``margin``: float32}, before ``Precision.stored``:
    the section's (n_samples, n_traces) become the region's (its traces on the grid, samples last).
    """
    maps = np.swapaxes(values, -1, -2).astype(np.float32).reshape(len(values), *live.shape, -1)
    predicted = section.predicted.T.astype(class_dtype(len(section.class_names))).reshape(*live.shape, -1)
    margin = np.swapaxes(line_margin(section), -1, -2).astype(np.float32).reshape(*live.shape, -1)
    dead = ~live[..., None]
    variables = {name: np.where(dead, np.float32(np.nan), array) for name, array in zip(questions, maps)}
    variables["predicted_class"] = np.where(dead, predicted.dtype.type(NOT_EXPLAINED), predicted)
    variables["margin"] = np.where(dead, np.float32(np.nan), margin)
    return variables


def line_margin(section: SectionExplanation) -> np.ndarray:
    """The largest class probability minus the runner-up, per sample: the segmentation network's, or the patches'."""
    if section.margin is not None:
        return section.margin
    top = np.sort(section.probabilities, axis=0)
    return top[-1] - top[-2] if len(top) > 1 else top[-1]


def chosen_values(scaling: Scaling, section: SectionExplanation, questions: tuple[str, ...]) -> np.ndarray:
    """The values of ``questions`` (some of the section's, in its order), scaled as every output holds them."""
    every = question_names(section.class_names)
    return scaling.apply(section)[[every.index(name) for name in questions]]


def write_regions(path: str, survey_path: str, kind: str, iline: int, xline: int, piece: str, numbers: list[int],
                  scaling: Scaling, questions: tuple[str, ...], precision: Precision) -> int:
    """The Dask task of the second pass: lines ``numbers`` of the block's ``piece`` into the store ``path``.

    Each line's values are scaled as the driver scales them (``chosen_values``), stored as
    ``precision`` says and written into its own region (``line_region``): only the line's
    chunks are touched, so workers writing other lines never meet. Returns the number of lines written.
    """
    import zarr

    from .blocks import worker_survey

    group = zarr.open_group(path, mode="r+")
    with worker_survey(survey_path, iline, xline) as survey:
        for number in numbers:
            section = read_section(piece, kind, number)
            region = line_region(survey, kind, number)
            values = line_values(survey.live[region[:-1]], questions, chosen_values(scaling, section, questions),
                                 section)
            for name, array in values.items():
                group[name][region] = precision.stored(name, array)
    return len(numbers)


def regions_on_workers(client, path: Path, job, pieces: dict[int, Path], scaling: Scaling,
                       questions: tuple[str, ...], precision: Precision, timeout: float,
                       progress: Progress = SILENT) -> None:
    """Every explained line written into the store ``path`` by the Dask workers, a task per block's piece.

    ``job``: the run's ``blocks.VolumeJob`` (survey, kind, byte locations); ``pieces``: {line
    number: its piece file}. Rewriting a region gives the same bytes, so a rerun after a crash
    rewrites them all: the explanations (the blocks) are what it resumes from. Waits are bounded
    as ``rather.common.cluster.finished`` says.
    """
    from rather.common.cluster import RETRIES, cluster_name, finished

    by_piece: dict[Path, list[int]] = {}
    for number, piece in pieces.items():
        by_piece.setdefault(piece, []).append(number)
    futures = [client.submit(write_regions, str(path), job.survey, job.kind, job.iline, job.xline, str(piece), numbers,
                             scaling, questions, precision, pure=False, retries=RETRIES) for piece, numbers in by_piece.items()]
    with progress.bar(total=len(futures), unit="block", desc="zarr regions") as bar:
        for future in finished(client, futures, timeout, cluster_name(client)):
            future.result(timeout=timeout)
            bar.update()


class Statistics:
    """Running statistics of one variable over the lines in the order they come: the same sums in any process."""

    def __init__(self) -> None:
        self.count, self.sum, self.sum_squares = 0, 0.0, 0.0
        self.min, self.max = np.inf, -np.inf

    def add(self, values: np.ndarray) -> None:
        finite = values[np.isfinite(values)].astype(np.float64)
        if finite.size:
            self.count += int(finite.size)
            self.sum += float(finite.sum())
            self.sum_squares += float(np.square(finite).sum())
            self.min, self.max = min(self.min, float(finite.min())), max(self.max, float(finite.max()))

    def attributes(self) -> dict:
        """``statistics_count``, ``_sum``, ``_sum_squares``, ``_min``, ``_max``, ``_mean``, ``_std`` (only the count
        when nothing was explained): flat, as netCDF attributes must be."""
        if not self.count:
            return {"statistics_count": 0}
        mean = self.sum / self.count
        figures = {"count": self.count, "sum": self.sum, "sum_squares": self.sum_squares, "min": self.min,
                   "max": self.max, "mean": mean, "std": max(self.sum_squares / self.count - mean * mean, 0.0) ** 0.5}
        return {f"statistics_{name}": value for name, value in figures.items()}


class VolumeStore:
    """A zarr store of explained lines on the survey's grid (see the module docstring), written line by line.

    ``create`` lays it out (coordinates, empty variables: one per question of ``questions``,
    ``predicted_class``, ``margin``, the float ones stored as ``precision`` says); ``add`` puts one line in (in a store ``from_workers``,
    checks the region a worker wrote); ``finish`` adds the attributes and statistics and
    consolidates the metadata.

    >>> store = VolumeStore.create("explanations.zarr", volume_grid(survey, "inline"), QUESTIONS, CLASS_NAMES, {})
    >>> store.add(survey, "inline", 120, chosen_values(scaling, section, QUESTIONS), section)
    >>> store.finish()
    """

    def __init__(self, path: PathLike, grid: VolumeGrid, questions: tuple[str, ...], class_names: tuple[str, ...],
                 attributes: dict, precision: Precision = Precision(), *, from_workers: bool = False):
        self.path, self.grid, self.class_names = Path(path), grid, tuple(class_names)
        self.attributes, self.precision, self.from_workers = attributes, precision, from_workers
        self.questions = tuple(questions)
        self.variables = self.questions + ("predicted_class", "margin")
        self._statistics = {name: Statistics() for name in self.variables if name != "predicted_class"}
        self._class_counts = np.zeros(len(self.class_names), dtype=np.int64)

    @classmethod
    def create(cls, path: PathLike, grid: VolumeGrid, questions: tuple[str, ...], class_names: tuple[str, ...],
               attributes: dict, precision: Precision = Precision()) -> "VolumeStore":
        """Lay the store out at ``path`` (which must not exist): coordinates and empty variables, no line yet."""
        store = cls(path, grid, questions, class_names, attributes, precision)
        store._layout().to_zarr(str(path), mode="w-", compute=False, consolidated=False,
                                encoding=store._encoding())
        return store

    def _layout(self):
        """The xarray Dataset of the empty store: dask arrays of fill values, written as metadata only."""
        import dask.array
        import xarray

        grid, dims = self.grid, self.grid.dims
        grid_dims = dims[:-1]
        coords = {name: (name, values) for name, values in grid.axes.items()}
        coords[TIME] = (TIME, grid.axes[TIME], {"units": "ms", "long_name": "two-way time (or depth in m)"})
        coords["cdp_x"] = (grid_dims, grid.cdp_x, {"long_name": "CDP X, coordinate scalar applied",
                                                   "source": "trace header bytes 181 and 71"})
        coords["cdp_y"] = (grid_dims, grid.cdp_y, {"long_name": "CDP Y, coordinate scalar applied",
                                                   "source": "trace header bytes 185 and 71"})
        coords["live_mask"] = (grid_dims, grid.live, {"long_name": "a trace is present in the survey"})
        data = {}
        for name in self.variables:
            dtype = class_dtype(len(self.class_names)) if name == "predicted_class" else np.float32
            fill = NOT_EXPLAINED if name == "predicted_class" else np.nan
            empty = dask.array.full(grid.shape, fill, dtype=dtype, chunks=grid.chunks)
            data[name] = (dims, empty, self._variable_attributes(name))
        return xarray.Dataset(data, coords=coords)

    def _variable_attributes(self, name: str) -> dict:
        if name == "predicted_class":
            return {"long_name": "predicted class", "flag_values": list(range(NOT_EXPLAINED, len(self.class_names))),
                    "flag_meanings": " ".join(("not_explained",) + self.class_names)}
        if name == "margin":
            return {"long_name": "largest class probability minus the runner-up"}
        if name == "why":
            return {"long_name": "Why P? (P: the predicted class)"}
        return {"long_name": f"Why P, rather than {name[len('rather_than_'):]}?"}

    def _encoding(self) -> dict:
        """Chunks of one line; zstd after a byte shuffle (smooth float maps: about 7 % smaller than zstd alone);
        the float variables stored as ``precision`` says."""
        from zarr.codecs import BloscCodec

        compressor = BloscCodec(cname="zstd", clevel=5, shuffle="shuffle")
        encoding = {name: {"chunks": self.grid.chunks, "compressors": (compressor,), **self.precision.encoding(name)}
                    for name in self.variables}
        encoding["predicted_class"]["fill_value"] = NOT_EXPLAINED  # zarr's own: the class stays an integer in xarray
        return encoding

    def add(self, survey: Survey, kind: str, number: Optional[int], values: np.ndarray,
            section: SectionExplanation) -> None:
        """Put the line (``values``: its questions' attribute values, ``chosen_values``) into the store and statistics.

        In a store ``from_workers``, a worker wrote the region already (``write_regions``): it
        is read back and rewritten only when it differs from the line (a region lost or damaged).
        The statistics describe the values as xarray decodes them (``Precision.decoded``).
        """
        import zarr

        region = line_region(survey, kind, number)
        values = line_values(survey.live[region[:-1]], self.questions, values, section)
        group = zarr.open_group(str(self.path), mode="r+")
        for name, array in values.items():
            stored = self.precision.stored(name, array)
            if not (self.from_workers and _same_region(group[name], region, stored)):
                group[name][region] = stored
            if name == "predicted_class":
                self._class_counts += np.bincount(array[array >= 0].ravel(), minlength=len(self.class_names))
            else:
                self._statistics[name].add(self.precision.decoded(name, stored))

    def finish(self) -> None:
        """The store's attributes, each variable's statistics; then one consolidated metadata for xarray."""
        import zarr

        group = zarr.open_group(str(self.path), mode="r+")
        group.attrs.update(_json_ready({**self.attributes, "precision": self.precision.describe()}))
        for name, statistics in self._statistics.items():
            group[name].attrs.update(statistics.attributes())
        group["predicted_class"].attrs["statistics_class_counts"] = self._class_counts.tolist()
        with warnings.catch_warnings():  # zarr's remark that format 3 has no consolidated metadata yet: xarray reads it
            warnings.filterwarnings("ignore", message="Consolidated metadata is currently not part")
            zarr.consolidate_metadata(str(self.path))


def lay_out(path: Path, grid: VolumeGrid, questions: tuple[str, ...], class_names: tuple[str, ...],
            precision: Precision = Precision()) -> None:
    """The empty store the Dask workers write their regions into, at ``path`` in the job's parts folder.

    A store already there that fits (a rerun of the same job: the ledger kept its blocks) is
    kept with the regions written so far; anything else at ``path`` (a link, a
    file, a store of another shape or precision, one half made) is removed, never followed, and a new
    one is made under a temporary name and renamed into place.
    """
    if _fits(path, grid, questions, class_names, precision):
        return
    if path.is_symlink() or path.is_file():
        path.unlink()
    elif path.exists():
        shutil.rmtree(path)
    temporary = path.with_name(f".{path.name}.{uuid.uuid4().hex}")
    VolumeStore.create(temporary, grid, questions, class_names, {}, precision)
    os.rename(temporary, path)


def _fits(path: Path, grid: VolumeGrid, questions: tuple[str, ...], class_names: tuple[str, ...],
          precision: Precision) -> bool:
    """Whether ``path`` is a store (a folder of its own, no link) with every variable of ``grid``'s shape and chunks,
    and of the dtype ``precision`` (and the class count) gives it."""
    import zarr

    if path.is_symlink() or not path.is_dir():
        return False
    dtypes = {name: precision.dtype(name) for name in questions + ("margin",)}
    dtypes["predicted_class"] = class_dtype(len(class_names))
    try:
        group = zarr.open_group(str(path), mode="r")
        arrays = {name: group[name] for name in dtypes}
    except (OSError, ValueError, KeyError, zarr.errors.BaseZarrError):
        return False
    return all(array.shape == grid.shape and array.chunks == grid.chunks and array.dtype == dtypes[name]
               for name, array in arrays.items())


def _same_region(array, region: tuple[slice, ...], values: np.ndarray) -> bool:
    """Whether ``array[region]`` holds ``values`` (NaN equal to NaN); a region that cannot be read differs."""
    try:
        held = array[region]
    except (ValueError, RuntimeError, OSError):  # a damaged chunk: its codec's error
        return False
    return np.array_equal(held, values, equal_nan=values.dtype.kind == "f")


def _json_ready(attributes: dict) -> dict:
    """Attributes as both zarr (JSON) and netCDF take them: tuples as lists, yes/no as 1/0, None dropped."""
    return {key: list(value) if isinstance(value, tuple) else int(value) if isinstance(value, bool) else value
            for key, value in attributes.items() if value is not None}


def write_netcdf(zarr_path: PathLike, target: PathLike) -> None:
    """The finished zarr store as netCDF-4 (``h5netcdf``), one chunk at a time: the same variables, values and chunks.

    Each variable keeps its dtype, fill value and packing (``scale_factor``, ``add_offset``);
    zarr's codecs give way to gzip with shuffle.
    The coordinates (loaded: one value per trace) and attributes are written first, then one
    variable after the other in the order of their names, each chunk by chunk with Dask's
    synchronous scheduler: the file places chunks in the order they are written, and that
    order must not change from run to run for the same explanation to give the same bytes.
    """
    import dask
    import xarray

    with xarray.open_zarr(str(zarr_path)) as dataset, dask.config.set(scheduler="synchronous"):
        for variable in dataset.variables.values():
            variable.encoding = {key: value for key, value in variable.encoding.items()
                                 if key in ("dtype", "_FillValue", "scale_factor", "add_offset")}
        names = sorted(dataset.data_vars)
        dataset.drop_vars(names).load().to_netcdf(str(target), engine="h5netcdf")  # grid-sized, no samples
        coordinates = " ".join(name for name in dataset.coords if name not in dataset.dims)
        for name in names:
            variable = dataset[name].variable
            variable.encoding.update(coordinates=coordinates, chunksizes=dataset[name].data.chunksize,
                                     compression="gzip", compression_opts=4, shuffle=True)
            xarray.Dataset({name: variable}).to_netcdf(str(target), mode="a", engine="h5netcdf")


def wanted(formats: tuple[str, ...]) -> bool:
    """Whether ``formats`` need the zarr store: for itself, or to convert it to netCDF."""
    return bool({"zarr", "netcdf"} & set(formats))


def start_volume(stage: Path, survey: Survey, kind: str, samples: slice, questions: tuple[str, ...],
                 class_names: tuple[str, ...], facts: dict, formats: tuple[str, ...], precision: Precision,
                 written: Optional[Path] = None) -> Optional[VolumeStore]:
    """The run's zarr store in ``stage`` when ``formats`` asks for zarr or netCDF, else None; ``precision``: how
    its float variables are stored.

    ``written``: a store the Dask workers filled (``write_regions``), moved into ``stage``;
    otherwise a new one. ``facts`` (flat: the run's summary, its scaling) become its attributes.
    """
    if not wanted(formats):
        return None
    grid = volume_grid(survey, kind, samples)
    attributes = {"format": "rather.seismic.volume", "rather_version": __version__, **facts,
                  "questions": list(questions), "lines": kind}
    if written is not None:
        shutil.move(written, stage / ZARR_NAME)
        return VolumeStore(stage / ZARR_NAME, grid, questions, class_names, attributes, precision, from_workers=True)
    return VolumeStore.create(stage / ZARR_NAME, grid, questions, class_names, attributes, precision)


def finish_volume(volume: VolumeStore, stage: Path, formats: tuple[str, ...]) -> dict[str, str]:
    """``VolumeStore.finish``; then the netCDF copy when asked, and the zarr store dropped when not asked.

    Returns the outputs written, as the summary lists them: {"zarr": name, "netcdf": name}.
    """
    volume.finish()
    outputs = {}
    if "zarr" in formats:
        outputs["zarr"] = ZARR_NAME
    if "netcdf" in formats:
        write_netcdf(volume.path, stage / NETCDF_NAME)
        outputs["netcdf"] = NETCDF_NAME
    if "zarr" not in formats:
        shutil.rmtree(volume.path)
    return outputs
