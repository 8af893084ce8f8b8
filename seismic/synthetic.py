"""Seeded synthetic 3-D post-stack seismic surveys with a per-sample label volume.

``make_survey(seed)`` builds a time-migrated-looking volume of shape (inlines, crosslines,
samples) together with a label per sample (``CLASS_NAMES``: 0 horizon, 1 chaotic, 2 fault,
3 salt_dome, the four classes of the LANDMASS data set of Alaudah and AlRegib, patches of the
F3 Netherlands block) and masks of the fault zones and salt bodies; ``write_survey`` writes it
as SEG-Y rev 1 with an HDF5 label file beside it. It is rather's embedded default seismic data.

How a survey is made (all in grid units: a trace spacing, a time sample):

1. Every output sample is mapped back to the depositional time ``tau`` of the sediment it
   shows, undoing the geological events youngest first: residual time jitter of the imaging,
   the upward drag of beds by the salt domes (strongest at the salt contact, decaying with
   distance from the body, which arches the overburden and turns up the flanking beds),
   the planar faults (the hanging wall, above the plane, shifted vertically by the throw,
   which varies linearly from the top to the bottom of the record; optional normal drag), the
   folding (a sum of 2-D Gaussian domes and basins whose height grows with depth, plus a
   regional dip) and the angular unconformities (older beds below an eroded surface, tilted
   and folded more).
2. A blocky log-impedance series is laid along ``tau``: gamma-distributed bed thicknesses,
   Laplacian innovations through an AR(1) filter (sparse, heavy-tailed, anti-correlated
   reflection coefficients, as measured in well logs by Walden and Hosken, Geophysical
   Prospecting 1986), grouped in packages of different strength. Averaging it over each
   sample cell places every interface at its sub-sample time; half the vertical difference
   of log-impedance is the reflectivity, multiplied by a log-normal amplitude field that
   changes along every reflector and from one reflector to the next.
3. Chaotic zones (mass-transport deposits, as described from 3-D seismic by Bull, Cartwright
   and Huuse, Marine and Petroleum Geology 2009) are lenses in depositional time with an
   erosional base and a hummocky top, whose interior is replaced by blocks of contorted,
   randomly dipping beds that do not line up across block boundaries.
4. Salt bodies are domes (a rounded, slightly lobate cap with steepening flanks, rising from
   below the record) with almost no internal reflectivity and a strong top reflection that
   fades where the top is steep (steep flanks are poorly imaged). Diapir shapes, sizes and
   drag zones follow Jackson and Hudec, Salt Tectonics (Cambridge, 2017).
5. The reflectivity is convolved with a zero-phase Ricker wavelet (Ricker, Geophysics 1953)
   whose peak frequency falls with time (absorption), smoothed laterally (the finite
   aperture of migration), and band-limited noise is added: a share of its power is
   stationary and the rest follows the local signal energy, like the scattered energy and
   residual multiples that accompany reflections, so that salt stays transparent.
6. The volume is divided by the ``clip_percentile`` percentile of its absolute values and
   clipped to [-1, 1] (about 0.5 % of the samples saturate by default), like the [-1, 1]
   patches of LANDMASS.

Labels: ``salt_dome`` inside salt (from the top down), else ``fault`` within
``fault_zone_half_width`` samples of a fault plane (perpendicular distance in grid units, so
the zone is 2 w + 1 = 5 samples wide by default), else ``chaotic`` inside a chaotic lens, else
``horizon``. Faults are geometrically planar in the coordinates of their own time (later faults
and the salt drag may offset and bend them, as in nature); ``Realisation`` records every drawn
plane, dome and lens.

Parameters (``SurveyParameters``; a pair is a range drawn uniformly per survey or per object).
The structural and wavelet ranges are those of the FaultSeg3D generator (Wu, Liang, Shi and
Fomel, "FaultSeg3D: using synthetic data sets to train an end-to-end convolutional neural
network for 3D seismic fault segmentation", Geophysics 2019) as adopted by rather's seismic
issue; where the source says "by eye", the value was tuned by comparing sections with the
real F3 block (25 m bins, 4 ms, dominant frequency about 25 Hz) and its amplitude statistics.

=============================  ==================  ==================  =================================================
parameter                      default             unit                meaning; source of the range
=============================  ==================  ==================  =================================================
inlines, crosslines, samples   64, 64, 256         count               grid size (use >= 99 crosslines and samples to
                                                                       cut 99 x 99 LANDMASS-size patches)
interval_ms                    4.0                 ms                  two-way-time sample interval; F3 and FaultSeg3D
first_inline, first_crossline  100, 300            line number         numbers of the first inline and crossline
bin_size_m                     25.0                m                   inline and crossline spacing; F3
origin_m                       (605000, 6073000)   m                   easting, northing of the first trace (fictitious,
                                                                       UTM-like)
bed_thickness_samples          2.0                 samples             mean bed thickness (gamma, shape 2): 8 ms, about
                                                                       10 m, below tuning; by eye
package_thickness_samples      (15, 60)            samples             packages of similar reflectivity; by eye
package_contrast               0.25                ln units            std of ln(reflectivity scale) per package; by eye
amplitude_variation            0.35                ln units            std of ln(amplitude) along reflectors; by eye
amplitude_correlation_traces   (4, 30)             traces              its lateral correlation lengths; by eye
fold_amplitude_samples         (4, 16)             samples             height of each Gaussian dome or basin at the
                                                                       bottom; FaultSeg3D-style Gaussian folding
fold_width_traces              (20, 60)            traces              their standard deviations (0.5-1.5 km); by eye
fold_top_fraction              (0.3, 1.0)          fraction            fold height at the top over that at the bottom
                                                                       (folding grows with depth as in FaultSeg3D)
regional_dip                   0.03                samples per trace   largest regional dip in each direction
unconformities                 1                   count               angular unconformities
unconformity_tilt              0.2                 samples per trace   largest extra dip of the beds below one; by eye
unconformity_relief_samples    4.0                 samples             std of its erosional relief; by eye
faults                         3                   count               planar faults
dip_range_deg                  (60, 82)            degrees             fault dip, 1 trace = 1 sample; FaultSeg3D
throw_range_samples            (5, 30)             samples             vertical throw (top and bottom of the record
                                                                       drawn, bottom >= top: growth faults); FaultSeg3D
strike_range_deg               (-45, 45)           degrees             from the inline-number axis: inline sections cut
                                                                       every fault at >= 45 degrees
reverse_fraction               0.3                 probability         share of reverse faults
fault_drag                     (0, 0.15)           fraction of throw   normal drag, decaying over 4 samples from the
                                                                       plane
fault_zone_half_width          2.0                 samples             half width of the fault label zone
fault_dimming                  (0, 0)              fraction            reflectivity lost in each fault's damage zone
                                                                       (fractured rock images poorly); 0: none
salt_domes                     1                   count               salt domes
salt_apex_fraction             (0.3, 0.55)         fraction of record  time of the crest
salt_radius_traces             (40, 100)           traces              radius at the record's bottom (1-2.5 km; Jackson
                                                                       and Hudec), capped at 0.3 x the longer side
salt_flank_exponent            (2, 3)              1                   top time grows as radius ** exponent
salt_top_strength              (4, 6)              x signal RMS        peak of the salt-top reflection (salt tops are
                                                                       the brightest reflectors, R ~ 0.2)
salt_interior_reflectivity     0.08                x sediment RMS      weak random reflectivity inside salt
salt_drag_samples              (6, 14)             samples             uplift of beds at the salt contact (drag zone)
salt_drag_length_traces        8.0                 traces              decay length of that uplift away from the salt
chaotic_zones                  1                   count               chaotic lenses
chaotic_radius_traces          (50, 150)           traces              lens radii (km-scale mass-transport deposits;
                                                                       Bull et al.), capped at 0.3 x the longer side
chaotic_thickness_samples      (60, 140)           samples             largest lens thickness
chaotic_dip_deg                (5, 30)             degrees             dips of the blocks' beds, 1 trace = 1 sample
chaotic_block_traces           24.0                traces              block width (height 0.6 x width)
chaotic_amplitude              1.5                 x                   reflectivity gain inside chaotic lenses; by eye
ricker_hz_range                (20, 35)            Hz                  Ricker peak frequency at the top; FaultSeg3D
frequency_loss                 0.15                fraction            fall of the peak frequency from top to bottom
snr_db_range                   (2, 5)              dB                  10 log10(signal power / noise power), both
                                                                       outside salt; FaultSeg3D-style
lateral_smoothing_traces       0.7                 traces              Gaussian std of the migration smoothing
noise_correlation_traces       0.3                 traces              lateral Gaussian std of the noise; adjacent
                                                                       traces correlate 0.5-0.7 (F3 piece: 0.44-0.53)
noise_bandwidth                1.6                 x                   noise Ricker peak / signal Ricker peak (broader;
                                                                       F3's 8 ms autocorrelation is about 0)
noise_floor                    0.5                 fraction            share of noise power that is stationary
jitter_samples                 0.5                 samples             std of residual time jitter (statics, velocity)
clip_percentile                99.5                percent             scaling percentile of |amplitude|; by eye (F3)
=============================  ==================  ==================  =================================================

Same seed and parameters, bit-identical arrays; each part of the geology has its own random
stream, so changing the number of faults leaves the layering, wavelet and noise unchanged.
Default parameters take about 0.5 s, a 16 x 400 x 300 survey about 1 s (one CPU core).
"""
from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass
from pathlib import Path

import h5py
import numpy as np
import segyio
from scipy import ndimage, signal

from rather.common.errors import BadInput
from rather.common.memory import require_memory
from rather.common.storage import PathLike, atomic_path, hdf5_file

from .classes import CHAOTIC, CLASS_NAMES, FAULT, HORIZON, SALT_DOME
from .headers import HEADERS_BYTES, MAX_COUNT_FIELD, MAX_INT32, MAX_INTERVAL_US, TRACE_HEADER_BYTES
from .section import LINE_KINDS, SeismicSection, line_of_volume
from .survey_parameters import (FAULT_DRAG_DECAY, SALT_DRAG_VERTICAL_WEIGHT, Range, SurveyParameters,
                                is_finite_number)

__all__ = [
    "CLASS_NAMES",
    "ChaoticZone",
    "FaultPlane",
    "Realisation",
    "SaltDome",
    "SurveyParameters",
    "SyntheticSurvey",
    "check_segy_fields",
    "make_survey",
    "ricker",
    "write_survey",
]

_SIZE_CAP = 0.3  # salt and chaotic radii are capped at this fraction of the longer horizontal side
_SALT_TOP_ROUGHNESS = 1.0  # samples (std) of the salt top's rugosity
_SALT_STEEP_FLANK = 4.0  # samples per trace at which the salt-top reflection has lost half its strength
_FIELD_MIXTURE = 8  # lateral random fields mixed into the amplitude and jitter fields
PEAK_BYTES_PER_SAMPLE = 140  # make_survey's peak memory per sample of the volume (tracemalloc: 132)
@dataclass(frozen=True)
class FaultPlane:
    """One planar fault as drawn, in grid units (inline index, crossline index, sample).

    The signed distance of a point ``q`` from the plane is ``dot(normal, q - anchor)`` (one trace
    spacing counting as one sample); the hanging wall, above the plane, is where it is negative.
    The throw varies linearly from ``throw_top_samples`` at sample 0 to ``throw_bottom_samples``
    at the last sample; a normal fault moves the hanging wall down (later times), a reverse one up.
    ``strike_deg`` is measured from the inline-number axis toward the crossline-number axis.
    """

    kind: str
    dip_deg: float
    strike_deg: float
    throw_top_samples: float
    throw_bottom_samples: float
    drag: float
    anchor: tuple[float, float, float]
    normal: tuple[float, float, float]


@dataclass(frozen=True)
class SaltDome:
    """One salt dome as drawn: centre (inline index, crossline index), crest sample, base radius (traces)."""

    centre: tuple[float, float]
    apex_sample: float
    radius_traces: float
    flank_exponent: float


@dataclass(frozen=True)
class ChaoticZone:
    """One chaotic lens as drawn: centre (inline index, crossline index, sample), radii (traces), thickness."""

    centre: tuple[float, float, float]
    radii_traces: tuple[float, float]
    thickness_samples: float


@dataclass(frozen=True)
class Realisation:
    """What was drawn from the parameter ranges for one survey (frequencies in Hz, SNR in dB)."""

    ricker_hz: float
    ricker_hz_bottom: float
    snr_db: float
    faults: tuple[FaultPlane, ...]
    salt_domes: tuple[SaltDome, ...]
    chaotic_zones: tuple[ChaoticZone, ...]


@dataclass(frozen=True)
class SyntheticSurvey:
    """A synthetic survey; every volume has the shape (inlines, crosslines, samples).

    ``amplitude``: float32, divided by the ``clip_percentile`` percentile of its absolute values
    and clipped to [-1, 1]. ``labels``: uint8, values index ``CLASS_NAMES``. ``fault_zone``: bool,
    samples outside salt within ``fault_zone_half_width`` samples of a fault plane. ``salt_body``:
    bool, samples inside salt. ``inlines``/``crosslines``: int32 line numbers. ``samples_ms``:
    float64 two-way times in ms, from 0.
    """

    amplitude: np.ndarray
    labels: np.ndarray
    fault_zone: np.ndarray
    salt_body: np.ndarray
    inlines: np.ndarray
    crosslines: np.ndarray
    samples_ms: np.ndarray
    parameters: SurveyParameters
    seed: int
    realisation: Realisation

    def section(self, kind: str, number: int) -> SeismicSection:
        """The amplitudes of inline or crossline ``number`` as a section (samples, traces), as ``Survey`` reads it."""
        numbers, across, key = ((self.inlines, self.crosslines, "crossline") if kind == "inline"
                                else (self.crosslines, self.inlines, "inline"))
        index = _line_index(numbers, kind, number, "the synthetic survey")
        return SeismicSection(line_of_volume(self.amplitude, kind, index), kind, int(number),
                              np.asarray(across, dtype=np.int64), key, np.asarray(self.samples_ms, dtype=np.float64))


def ricker(frequency_hz: float, interval_ms: float, length_ms: float | None = None) -> np.ndarray:
    """Zero-phase Ricker wavelet of peak frequency ``frequency_hz`` sampled every ``interval_ms``.

    ``w(t) = (1 - 2 pi^2 f^2 t^2) exp(-pi^2 f^2 t^2)``, float64 of odd length, 1 at the centre
    sample. By default it spans 1.5 / f seconds each side of the centre (where the envelope is
    below 1e-9); ``length_ms`` sets the total length instead, rounded to an odd number of samples.
    Frequencies at or above half the Nyquist frequency (which would alias) are refused.
    """
    for name, value in (("frequency_hz", frequency_hz), ("interval_ms", interval_ms)):
        if not (is_finite_number(value) and value > 0):
            raise BadInput(f"ricker: {name} = {value!r}; use a finite positive number")
    nyquist = 500.0 / interval_ms
    if frequency_hz >= nyquist / 2:
        raise BadInput(f"ricker: {frequency_hz:g} Hz at {interval_ms:g} ms would alias (Nyquist {nyquist:g} Hz); "
                       f"use a peak frequency below {nyquist / 2:g} Hz or a finer interval")
    dt = interval_ms / 1000.0
    if length_ms is None:
        half = math.ceil(1.5 / (frequency_hz * dt))
    elif is_finite_number(length_ms) and length_ms > 0:
        half = max(1, round(length_ms / interval_ms / 2))
    else:
        raise BadInput(f"ricker: length_ms = {length_ms!r}; use a finite positive length in ms, or None")
    arg = (np.pi * frequency_hz * dt * np.arange(-half, half + 1)) ** 2
    return (1.0 - 2.0 * arg) * np.exp(-arg)


def _uniform(rng: np.random.Generator, bounds: Range) -> float:
    return float(rng.uniform(bounds[0], bounds[1]))


def _smooth_2d(rng: np.random.Generator, shape: tuple[int, int], sigma: float) -> np.ndarray:
    """White noise smoothed with a Gaussian of ``sigma`` traces, of unit variance; shape ``shape``.

    The variance divided out is the kernel's (sum of squared weights per axis, as scipy truncates
    it at 4 sigma), or 1 / size along an axis shorter than the kernel, so that small surveys are
    not inflated by normalising with their own, tiny, standard deviation.
    """
    half = int(4.0 * sigma + 0.5)
    weights = np.exp(-0.5 * (np.arange(-half, half + 1) / max(sigma, 1e-12)) ** 2)
    kernel_variance = float(np.sum((weights / weights.sum()) ** 2))
    variance = math.prod(max(kernel_variance, 1.0 / size) for size in shape)
    return ndimage.gaussian_filter(rng.standard_normal(shape), sigma, mode="reflect") / math.sqrt(variance)


def _layered_field(rng: np.random.Generator, coordinate: np.ndarray, correlation: Range, spacing: float
                   ) -> np.ndarray:
    """Unit Gaussian field shaped like ``coordinate`` (nx, ny, nt), laterally smooth.

    A random mixture of laterally smoothed white-noise fields (each with a correlation length in
    traces drawn from ``correlation``) whose weights change along ``coordinate`` (samples) every
    ``spacing`` samples, normalised so that the variance is 1 everywhere.
    """
    nx, ny, _ = coordinate.shape
    nodes = np.arange(coordinate.min() - 2, coordinate.max() + 2 + spacing, spacing)
    weights = rng.standard_normal((nodes.size, _FIELD_MIXTURE))
    total = np.zeros(coordinate.shape)
    norm = np.zeros(coordinate.shape)
    for k in range(_FIELD_MIXTURE):
        field = _smooth_2d(rng, (nx, ny), _uniform(rng, correlation) / 2)
        weight = np.interp(coordinate, nodes, weights[:, k])
        total += weight * field[:, :, None]
        norm += weight**2
    return total / np.sqrt(norm + 1e-12)


def _layer_series(rng: np.random.Generator, start: float, stop: float, mean_thickness: float,
                  package_range: Range, package_contrast: float) -> tuple[np.ndarray, np.ndarray]:
    """Blocky log-impedance over [start, stop] (samples): interfaces (n + 1,) and layer values (n,).

    Bed thicknesses are gamma distributed (shape 2); innovations are Laplacian and scaled per
    package; an AR(1) filter (coefficient 0.5) makes the impedance mean-reverting, so that
    successive reflection coefficients anti-correlate (the "blue" spectrum of real reflectivity).
    """
    span = stop - start
    count = int(span / mean_thickness * 1.5) + 32
    thickness = rng.gamma(2.0, mean_thickness / 2.0, count)
    while thickness.sum() < span:
        thickness = np.concatenate([thickness, rng.gamma(2.0, mean_thickness / 2.0, count)])
    bounds = start + np.concatenate([[0.0], np.cumsum(thickness)])
    bounds = bounds[: int(np.searchsorted(bounds, stop)) + 1]
    package_bounds = start + np.cumsum(rng.uniform(package_range[0], package_range[1],
                                                   int(span / package_range[0]) + 2))
    package = np.searchsorted(package_bounds, 0.5 * (bounds[:-1] + bounds[1:]))
    scale = np.exp(package_contrast * rng.standard_normal(package.max() + 1))
    offset = 0.2 * rng.standard_normal(package.max() + 1)
    innovation = rng.laplace(0.0, 1.0, package.size) * scale[package]
    return bounds, signal.lfilter([1.0], [1.0, -0.5], innovation) + offset[package] * scale[package]


def _box_average(bounds: np.ndarray, values: np.ndarray, tau: np.ndarray) -> np.ndarray:
    """The piecewise-constant series averaged over [tau - 0.5, tau + 0.5]: sub-sample interfaces."""
    cumulative = np.concatenate([[0.0], np.cumsum(values * np.diff(bounds))])
    return np.interp(tau + 0.5, bounds, cumulative) - np.interp(tau - 0.5, bounds, cumulative)


def _half_samples(tau: np.ndarray) -> np.ndarray:
    """``tau`` at times t - 0.5 for t = 0 .. n (last axis n + 1): midpoints, linear at the ends."""
    first = 1.5 * tau[..., :1] - 0.5 * tau[..., 1:2]
    last = 1.5 * tau[..., -1:] - 0.5 * tau[..., -2:-1]
    return np.concatenate([first, 0.5 * (tau[..., 1:] + tau[..., :-1]), last], axis=-1)


def _salt(rng: np.random.Generator, p: SurveyParameters, x: np.ndarray, y: np.ndarray, t: np.ndarray
          ) -> tuple[np.ndarray, np.ndarray, np.ndarray, tuple[SaltDome, ...]]:
    """Salt: body mask (nx, ny, nt), top time per trace (nx, ny; inf without salt), uplift (samples)."""
    nx, ny, nt = p.inlines, p.crosslines, p.samples
    top = np.full((nx, ny), np.inf)
    uplift = np.zeros((nx, ny, nt))
    domes = []
    for _ in range(p.salt_domes):
        cx, cy = rng.uniform(0.15, 0.85) * (nx - 1), rng.uniform(0.15, 0.85) * (ny - 1)
        apex = _uniform(rng, p.salt_apex_fraction) * (nt - 1)
        radius = min(_uniform(rng, p.salt_radius_traces), _SIZE_CAP * max(nx, ny))
        exponent = _uniform(rng, p.salt_flank_exponent)
        drag = _uniform(rng, p.salt_drag_samples)
        ellipticity, azimuth = rng.uniform(0, 0.25), rng.uniform(0, np.pi)
        lobe, lobe_phase = rng.uniform(0, 0.1), rng.uniform(0, 2 * np.pi)
        dx, dy = x[:, :, 0] - cx, y[:, :, 0] - cy
        theta = np.arctan2(dy, dx)
        rim = radius * (1 + ellipticity * np.cos(2 * (theta - azimuth)) + lobe * np.cos(3 * theta + lobe_phase))
        dome_top = (apex + (nt - 1 - apex) * (np.hypot(dx, dy) / rim) ** exponent
                    + _SALT_TOP_ROUGHNESS * _smooth_2d(rng, (nx, ny), 3.0))
        body = t >= dome_top[:, :, None]
        if body.any():
            distance = ndimage.distance_transform_edt(~body, sampling=(1.0, 1.0, SALT_DRAG_VERTICAL_WEIGHT))
            uplift = np.maximum(uplift, drag * np.exp(-distance / p.salt_drag_length_traces))
        top = np.minimum(top, dome_top)
        domes.append(SaltDome((float(cx), float(cy)), float(apex), float(radius), float(exponent)))
    if domes:
        uplift = ndimage.gaussian_filter(uplift, 1.0, mode="nearest")
    return t >= top[:, :, None], top, uplift, tuple(domes)


def _faults(rng: np.random.Generator, p: SurveyParameters, x: np.ndarray, y: np.ndarray, t_stage: np.ndarray
            ) -> tuple[np.ndarray, np.ndarray, tuple[FaultPlane, ...]]:
    """Undo the faults, youngest first: times before faulting, fault-zone mask, the planes."""
    nx, ny, nt = p.inlines, p.crosslines, p.samples
    planes = []
    for _ in range(p.faults):
        dip = math.radians(_uniform(rng, p.dip_range_deg))
        strike = _uniform(rng, p.strike_range_deg)
        azimuth = math.radians(strike) + (math.pi if rng.uniform() < 0.5 else 0.0)
        throws = np.sort(rng.uniform(p.throw_range_samples[0], p.throw_range_samples[1], 2))
        kind = "reverse" if rng.uniform() < p.reverse_fraction else "normal"
        drag = _uniform(rng, p.fault_drag)
        anchor = (rng.uniform(0.2, 0.8) * (nx - 1), rng.uniform(0.2, 0.8) * (ny - 1), 0.5 * (nt - 1))
        normal = (-math.sin(azimuth) * math.sin(dip), math.cos(azimuth) * math.sin(dip), math.cos(dip))
        planes.append(FaultPlane(kind, math.degrees(dip), strike, float(throws[0]), float(throws[1]), drag,
                                 tuple(float(a) for a in anchor), normal))
    zone = np.zeros(t_stage.shape, dtype=bool)
    for plane in reversed(planes):
        distance = (plane.normal[0] * (x - plane.anchor[0]) + plane.normal[1] * (y - plane.anchor[1])
                    + plane.normal[2] * (t_stage - plane.anchor[2]))
        zone |= np.abs(distance) <= p.fault_zone_half_width
        throw = plane.throw_top_samples + (plane.throw_bottom_samples - plane.throw_top_samples) * np.clip(
            t_stage / (nt - 1), 0.0, 1.0)
        bend = plane.drag * np.exp(-np.abs(distance) / FAULT_DRAG_DECAY)
        shift = throw * np.where(distance < 0, 1.0 - bend, bend)
        t_stage = t_stage - (shift if plane.kind == "normal" else -shift)
    return t_stage, zone, tuple(planes)


def _bumps(rng: np.random.Generator, p: SurveyParameters, xs: np.ndarray, ys: np.ndarray) -> np.ndarray:
    """A sum of 2-D Gaussian domes and basins, in samples, shape (nx, ny); count scales with the area."""
    nx, ny = xs.shape
    width = 0.5 * (p.fold_width_traces[0] + p.fold_width_traces[1])
    count = max(2, round((nx + 2 * width) * (ny + 2 * width) / (2.5 * width) ** 2))
    cx = rng.uniform(-width, nx - 1 + width, count)[:, None, None]
    cy = rng.uniform(-width, ny - 1 + width, count)[:, None, None]
    sigma = rng.uniform(p.fold_width_traces[0], p.fold_width_traces[1], count)[:, None, None]
    height = rng.uniform(p.fold_amplitude_samples[0], p.fold_amplitude_samples[1], count)[:, None, None]
    sign = np.where(rng.uniform(size=count) < 0.5, -1.0, 1.0)[:, None, None]
    return (sign * height * np.exp(-((xs - cx) ** 2 + (ys - cy) ** 2) / (2 * sigma**2))).sum(axis=0)


def _unfold(rng: np.random.Generator, p: SurveyParameters, x: np.ndarray, y: np.ndarray, t_stage: np.ndarray
            ) -> np.ndarray:
    """Undo folding, regional dip and unconformities: the depositional time (samples) of every point."""
    nx, ny, nt = p.inlines, p.crosslines, p.samples
    xs = np.broadcast_to(x[:, :, 0], (nx, ny))
    ys = np.broadcast_to(y[:, :, 0], (nx, ny))
    top_fraction = _uniform(rng, p.fold_top_fraction)
    growth = top_fraction + (1 - top_fraction) * t_stage / (nt - 1)
    dip = rng.uniform(-p.regional_dip, p.regional_dip, 2)
    tau = t_stage - _bumps(rng, p, xs, ys)[:, :, None] * growth - (dip[0] * xs + dip[1] * ys)[:, :, None]
    below = np.ones(tau.shape, dtype=bool)
    for level in np.sort(rng.uniform(0.3, 0.75, p.unconformities)):
        centre_trace = tau[(nx - 1) // 2, (ny - 1) // 2]
        surface = float(np.quantile(centre_trace, level)) + p.unconformity_relief_samples * _smooth_2d(
            rng, (nx, ny), 6.0)
        below &= tau > surface[:, :, None]
        azimuth = rng.uniform(0, 2 * np.pi)
        tilt = rng.uniform(0.5, 1.0) * p.unconformity_tilt
        older = _bumps(rng, p, xs, ys) + tilt * (np.cos(azimuth) * xs + np.sin(azimuth) * ys)
        tau = np.where(below, tau - older[:, :, None] + rng.uniform(10.0, 40.0), tau)
    return tau


class _Warp:
    """A smooth random displacement: a sum of plane sinusoids in (x, y, tau).

    Each term has a random horizontal direction, a horizontal wavelength (traces) drawn from
    ``wavelength`` and a vertical wavelength of at least ``vertical`` samples.
    """

    def __init__(self, rng: np.random.Generator, amplitude: float, wavelength: Range, vertical: float,
                 terms: int = 3) -> None:
        azimuth = rng.uniform(0, 2 * np.pi, terms)
        lateral = 2 * np.pi / rng.uniform(wavelength[0], wavelength[1], terms)
        self.wavenumber = np.stack([lateral * np.cos(azimuth), lateral * np.sin(azimuth),
                                    2 * np.pi / vertical * rng.uniform(-1, 1, terms)], axis=1)
        self.amplitude = amplitude * rng.uniform(0.5, 1.0, terms) / np.sqrt(terms)
        self.phase = rng.uniform(0, 2 * np.pi, terms)

    def __call__(self, x: np.ndarray, y: np.ndarray, tau: np.ndarray) -> np.ndarray:
        total = np.zeros(np.broadcast_shapes(x.shape, y.shape, tau.shape))
        for (kx, ky, kt), amplitude, phase in zip(self.wavenumber, self.amplitude, self.phase):
            total += amplitude * np.sin(kx * x + ky * y + kt * tau + phase)
        return total


@dataclass(frozen=True)
class _Lens:
    """A chaotic lens in depositional coordinates, with the block texture of its interior.

    ``blocks`` holds, per block kind (rows), the beds' dip components along x and y (samples per
    trace), a time offset (samples) and a reflectivity gain; a block picks its row by hashing its
    (column, slab, row) cell indices.
    """

    zone: ChaoticZone
    rotation: float
    outline: np.ndarray
    relief: np.ndarray
    centre_tau: float
    block_width: float
    block_warp: tuple[_Warp, _Warp, _Warp]
    bed_warp: _Warp
    blocks: np.ndarray

    def inside(self, x: np.ndarray, y: np.ndarray, tau: np.ndarray) -> np.ndarray:
        """Whether each point lies in the lens; x (nx, 1, 1), y (1, ny, 1), tau (nx, ny, n)."""
        cx, cy, _ = self.zone.centre
        c, s = math.cos(self.rotation), math.sin(self.rotation)
        u = ((x - cx) * c + (y - cy) * s)[:, :, 0] / self.zone.radii_traces[0]
        v = (-(x - cx) * s + (y - cy) * c)[:, :, 0] / self.zone.radii_traces[1]
        height = np.clip(1.0 - (u**2 + v**2 + self.outline), 0.0, None)
        top = self.centre_tau - 0.35 * self.zone.thickness_samples * height + self.relief * (height > 0)
        base = self.centre_tau + 0.65 * self.zone.thickness_samples * height
        return (height > 0)[:, :, None] & (tau >= top[:, :, None]) & (tau <= base[:, :, None])

    def texture(self, x: np.ndarray, y: np.ndarray, tau: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """For points (flat arrays): the time along the contorted beds of their block, the block's gain."""
        row = np.floor((tau + self.block_warp[2](x, y, tau)) / (0.6 * self.block_width))
        stagger = 0.5 * (row % 2)
        column = np.floor((x + self.block_warp[0](x, y, tau)) / self.block_width + stagger)
        slab = np.floor((y + self.block_warp[1](x, y, tau)) / self.block_width + stagger)
        key = ((column.astype(np.int64) * 73856093) ^ (slab.astype(np.int64) * 19349663)
               ^ (row.astype(np.int64) * 83492791))
        block = self.blocks[key % len(self.blocks)]
        along = (tau + block[:, 0] * (x - self.zone.centre[0]) + block[:, 1] * (y - self.zone.centre[1])
                 + block[:, 2] + self.bed_warp(x, y, tau))
        return along, block[:, 3]


def _chaotic_lenses(rng: np.random.Generator, p: SurveyParameters, tau: np.ndarray) -> tuple[_Lens, ...]:
    """Draw the chaotic lenses; each is centred at the depositional time of a random sample."""
    nx, ny, nt = p.inlines, p.crosslines, p.samples
    width = p.chaotic_block_traces
    lenses = []
    for _ in range(p.chaotic_zones):
        cx, cy = rng.uniform(0.2, 0.8) * (nx - 1), rng.uniform(0.2, 0.8) * (ny - 1)
        sample = rng.uniform(0.2, 0.7) * (nt - 1)
        radii = tuple(min(_uniform(rng, p.chaotic_radius_traces), _SIZE_CAP * max(nx, ny)) for _ in range(2))
        zone = ChaoticZone((float(cx), float(cy), float(sample)), radii, _uniform(rng, p.chaotic_thickness_samples))
        kinds = 1024
        dip = np.tan(np.radians(rng.uniform(p.chaotic_dip_deg[0], p.chaotic_dip_deg[1], kinds)))
        azimuth = rng.uniform(0, 2 * np.pi, kinds)
        blocks = np.stack([dip * np.cos(azimuth), dip * np.sin(azimuth), rng.uniform(0, 200, kinds),
                           np.exp(0.4 * rng.standard_normal(kinds))], axis=1)
        lenses.append(_Lens(
            zone=zone,
            rotation=rng.uniform(0, np.pi),
            outline=0.1 * _smooth_2d(rng, (nx, ny), 10.0),
            relief=2.0 * _smooth_2d(rng, (nx, ny), 2.0),
            centre_tau=float(tau[round(cx), round(cy), round(sample)]),
            block_width=width,
            block_warp=tuple(_Warp(rng, 0.3 * width, (2 * width, 4 * width), 2 * width) for _ in range(3)),
            bed_warp=_Warp(rng, 5.0, (0.5 * width, 1.5 * width), 60.0, terms=6),
            blocks=blocks,
        ))
    return tuple(lenses)


def _chaotic_texture(rng: np.random.Generator, p: SurveyParameters, lenses: tuple[_Lens, ...], x: np.ndarray,
                     y: np.ndarray, tau: np.ndarray, tau_half: np.ndarray, log_impedance: np.ndarray
                     ) -> tuple[np.ndarray, np.ndarray]:
    """Fill every lens with its block texture: ``log_impedance`` (at half samples) replaced in place.

    Returns the reflectivity gain per sample (``chaotic_amplitude`` times the block's gain inside
    lenses, 1 elsewhere) and the mask of samples inside a lens, both shaped like ``tau``.
    """
    gain = np.ones(tau.shape)
    chaotic = np.zeros(tau.shape, dtype=bool)
    for lens in lenses:
        for coordinate, at_half in ((tau_half, True), (tau, False)):
            inside = lens.inside(x, y, coordinate)
            if not inside.any():
                continue
            along, block_gain = lens.texture(np.broadcast_to(x, inside.shape)[inside],
                                             np.broadcast_to(y, inside.shape)[inside], coordinate[inside])
            if at_half:
                bounds, values = _layer_series(rng, float(along.min()) - 2, float(along.max()) + 2,
                                               p.bed_thickness_samples, (5.0, 15.0), 0.3)
                log_impedance[inside] = _box_average(bounds, values, along)
            else:
                gain[inside] = p.chaotic_amplitude * block_gain
                chaotic |= inside
    return gain, chaotic


def _add_salt_top(spikes: np.ndarray, top: np.ndarray) -> None:
    """Add a unit salt-top reflection at its sub-sample time, weaker where the top is steep, in place."""
    nt = spikes.shape[-1]
    present = top <= nt - 1
    if not present.any():
        return
    finite_top = np.where(np.isfinite(top), top, nt)
    slopes = [np.gradient(finite_top, axis=a) for a in (0, 1) if finite_top.shape[a] > 1]
    slope = np.sqrt(sum(s**2 for s in slopes)) if slopes else np.zeros(top.shape)
    amplitude = 1.0 / (1.0 + (slope / _SALT_STEEP_FLANK) ** 2)
    i, j = np.nonzero(present)
    k = np.floor(top[i, j]).astype(np.int64)
    fraction = top[i, j] - k
    spikes[i, j, k] += amplitude[i, j] * (1 - fraction)
    below = k + 1 < nt
    spikes[i[below], j[below], k[below] + 1] += amplitude[i, j][below] * fraction[below]


def _convolve(data: np.ndarray, wavelet: np.ndarray) -> np.ndarray:
    """Convolve along the last axis with a centred odd-length wavelet (output shaped like ``data``)."""
    return signal.fftconvolve(data, wavelet[None, None, :], mode="same", axes=-1)


def _mean(volume: np.ndarray, where: np.ndarray) -> float:
    """Mean of ``volume`` over ``where`` (over everything when ``where`` is empty)."""
    return float(np.mean(volume[where])) if where.any() else float(np.mean(volume))


def make_survey(seed: int, parameters: SurveyParameters = SurveyParameters()) -> SyntheticSurvey:
    """Make the synthetic survey of ``seed``; volumes of shape (inlines, crosslines, samples).

    The same seed and parameters give bit-identical arrays. See the module docstring for the
    geology, the labels and the parameters.
    """
    if not isinstance(seed, (int, np.integer)) or isinstance(seed, bool) or seed < 0:
        raise BadInput(f"make_survey: seed = {seed!r}; use a non-negative integer")
    if not isinstance(parameters, SurveyParameters):
        raise BadInput(f"make_survey: parameters is a {type(parameters).__name__}; pass SurveyParameters(...)")
    p = parameters
    require_memory(p.inlines * p.crosslines * p.samples * PEAK_BYTES_PER_SAMPLE,
                   f"a synthetic survey of {p.inlines} x {p.crosslines} x {p.samples} samples",
                   "ask for fewer inlines, crosslines or samples")
    (rng_layers, rng_fold, rng_faults, rng_salt, rng_chaos, rng_amplitude, rng_jitter, rng_wavelet,
     rng_noise, rng_damage) = (np.random.default_rng(s) for s in np.random.SeedSequence(int(seed)).spawn(10))
    nx, ny, nt = p.inlines, p.crosslines, p.samples
    x = np.arange(nx, dtype=np.float64)[:, None, None]
    y = np.arange(ny, dtype=np.float64)[None, :, None]
    t = np.arange(nt, dtype=np.float64)[None, None, :]

    salt, top, uplift, domes = _salt(rng_salt, p, x, y, t)
    jitter = p.jitter_samples * _layered_field(rng_jitter, np.broadcast_to(t, salt.shape), (2.0, 6.0), 20.0)
    t_stage, fault_zone, planes = _faults(rng_faults, p, x, y, t + uplift + jitter)
    tau = _unfold(rng_fold, p, x, y, t_stage)
    tau_half = _half_samples(tau)

    bounds, values = _layer_series(rng_layers, float(tau_half.min()) - 2, float(tau_half.max()) + 2,
                                   p.bed_thickness_samples, p.package_thickness_samples, p.package_contrast)
    log_impedance = _box_average(bounds, values, tau_half)
    lenses = _chaotic_lenses(rng_chaos, p, tau)
    chaotic_gain, chaotic = _chaotic_texture(rng_chaos, p, lenses, x, y, tau, tau_half, log_impedance)
    sigma = p.amplitude_variation
    modulation = np.exp(sigma * _layered_field(rng_amplitude, tau, p.amplitude_correlation_traces, 1.5)
                        - 0.5 * sigma**2)
    reflectivity = 0.5 * np.diff(log_impedance, axis=-1) * modulation * chaotic_gain
    reflectivity *= _damage(rng_damage, p, fault_zone)
    sediment = ~salt
    rms = math.sqrt(_mean(reflectivity**2, sediment))
    reflectivity[salt] = p.salt_interior_reflectivity * rms * rng_salt.standard_normal(int(salt.sum()))
    salt_top = np.zeros(salt.shape)
    _add_salt_top(salt_top, top)

    frequency = _uniform(rng_wavelet, p.ricker_hz_range)
    frequency_bottom = frequency * (1 - p.frequency_loss)
    shallow, deep = ricker(frequency, p.interval_ms), ricker(frequency_bottom, p.interval_ms)
    blend = t / (nt - 1)
    lateral = (p.lateral_smoothing_traces, p.lateral_smoothing_traces, 0.0)

    def image(spikes: np.ndarray) -> np.ndarray:
        """Time-variant wavelet (peak frequency falling with time), then migration's lateral smoothing."""
        return ndimage.gaussian_filter((1 - blend) * _convolve(spikes, shallow) + blend * _convolve(spikes, deep),
                                       lateral)

    trace = image(reflectivity)
    signal_power = _mean(trace**2, sediment)
    trace += _uniform(rng_salt, p.salt_top_strength) * math.sqrt(signal_power) * image(salt_top)

    snr_db = _uniform(rng_noise, p.snr_db_range)
    noise_hz = min(frequency * p.noise_bandwidth, 0.48 * 500.0 / p.interval_ms)  # below half the Nyquist
    noise = _convolve(rng_noise.standard_normal(trace.shape), ricker(noise_hz, p.interval_ms))
    noise = ndimage.gaussian_filter(noise, (p.noise_correlation_traces, p.noise_correlation_traces, 0.0))
    energy = ndimage.gaussian_filter(trace**2, (4.0, 4.0, 12.0))
    energy /= max(_mean(energy, sediment), 1e-30)
    noise *= np.sqrt(p.noise_floor + (1 - p.noise_floor) * energy)
    noise *= math.sqrt(signal_power / 10 ** (snr_db / 10) / max(_mean(noise**2, sediment), 1e-30))
    data = trace + noise
    scale = max(float(np.percentile(np.abs(data), p.clip_percentile)), 1e-30)
    amplitude = np.clip(data / scale, -1.0, 1.0).astype(np.float32)

    fault_zone &= sediment
    labels = np.full(salt.shape, HORIZON, dtype=np.uint8)
    labels[chaotic] = CHAOTIC
    labels[fault_zone] = FAULT
    labels[salt] = SALT_DOME
    return SyntheticSurvey(
        amplitude=amplitude,
        labels=labels,
        fault_zone=fault_zone,
        salt_body=salt,
        inlines=np.arange(p.first_inline, p.first_inline + nx, dtype=np.int32),
        crosslines=np.arange(p.first_crossline, p.first_crossline + ny, dtype=np.int32),
        samples_ms=np.arange(nt, dtype=np.float64) * p.interval_ms,
        parameters=p,
        seed=int(seed),
        realisation=Realisation(frequency, frequency_bottom, snr_db, planes, domes,
                                tuple(lens.zone for lens in lenses)),
    )


def _damage(rng: np.random.Generator, p: SurveyParameters, fault_zone: np.ndarray) -> np.ndarray | float:
    """The share of reflectivity kept around the faults: 1 - d, d drawn from ``fault_dimming``, in the zone,
    with a smooth (1-sample Gaussian) rim; 1 (nothing drawn) when the range is (0, 0)."""
    if p.fault_dimming[1] == 0:
        return 1.0
    dimming = _uniform(rng, p.fault_dimming)
    return 1.0 - dimming * np.clip(ndimage.gaussian_filter(fault_zone.astype(np.float64), 1.0), 0.0, 1.0)


def _check_survey(survey: SyntheticSurvey) -> None:
    """Refuse, before anything is written, a survey whose arrays do not fit together."""
    if not isinstance(survey, SyntheticSurvey):
        raise BadInput(f"write_survey: got a {type(survey).__name__}; "
                       "pass the SyntheticSurvey that make_survey returned")
    shape = np.shape(survey.amplitude)
    if len(shape) != 3 or min(shape) < 1:
        raise BadInput(f"write_survey: amplitude has shape {shape}; expected (inlines, crosslines, samples)")
    for name in ("labels", "fault_zone", "salt_body"):
        if np.shape(getattr(survey, name)) != shape:
            raise BadInput(f"write_survey: {name} has shape {np.shape(getattr(survey, name))}; amplitude {shape}")
    for name, size in (("inlines", shape[0]), ("crosslines", shape[1]), ("samples_ms", shape[2])):
        if np.shape(getattr(survey, name)) != (size,):
            raise BadInput(f"write_survey: {name} has shape {np.shape(getattr(survey, name))}; expected ({size},)")
    if not np.isfinite(survey.amplitude).all():
        raise BadInput("write_survey: amplitude holds NaN or Inf; make the survey again with make_survey")
    if shape[2] > 1 and not np.allclose(np.diff(survey.samples_ms), survey.parameters.interval_ms):
        raise BadInput("write_survey: samples_ms is not regular at parameters.interval_ms")
    if not -2**15 <= round(float(survey.samples_ms[0])) < 2**15:
        raise BadInput(f"write_survey: samples_ms starts at {survey.samples_ms[0]:g} ms, outside SEG-Y's 16-bit "
                       "delay recording time (trace header bytes 109-110)")
    if shape[0] * shape[1] > MAX_INT32:
        raise BadInput(f"write_survey: {shape[0]:,} x {shape[1]:,} traces do not fit SEG-Y's 32-bit trace and CDP "
                       f"numbers; write at most {MAX_INT32:,} traces")
    check_segy_fields(survey.parameters, shape)


def _centimetres(parameters: SurveyParameters, n_il: int, n_xl: int) -> tuple[np.ndarray, np.ndarray]:
    """CDP X of the crosslines and CDP Y of the inlines in cm, refused when they do not fit the 32-bit fields."""
    east = np.round((parameters.origin_m[0] + parameters.bin_size_m * np.arange(n_xl)) * 100)
    north = np.round((parameters.origin_m[1] + parameters.bin_size_m * np.arange(n_il)) * 100)
    if min(east.min(), north.min()) < -MAX_INT32 - 1 or max(east.max(), north.max()) > MAX_INT32:
        raise BadInput(f"write_survey: coordinates from origin_m {parameters.origin_m} do not fit SEG-Y's 32-bit "
                       "centimetre fields; use an origin within +-21,000 km")
    return east, north


def check_segy_fields(parameters: SurveyParameters, shape: tuple[int, int, int] | None = None) -> None:
    """Refuse a survey of ``shape`` (default: the parameters') whose numbers overflow a SEG-Y header field.

    ``write_survey`` writes the sample count in 16 unsigned bits (binary header bytes
    3221-3222, trace header 115-116), the interval in microseconds in 16 bits that segyio
    reads signed (3217-3218, 117-118), line numbers (``SurveyParameters`` checks those) and
    coordinates in 32 signed bits; segyio would wrap a larger value silently into a corrupt
    file. Cheap: ``rather seismic synth`` calls it before making the survey. (Trace and CDP
    numbers, 32 bits too, overflow only past 2**31 traces, a survey whose making the memory
    check refuses; ``write_survey`` checks them on the survey it is given.)
    """
    n_il, n_xl, n_t = (parameters.inlines, parameters.crosslines, parameters.samples) if shape is None else shape
    interval_us = round(parameters.interval_ms * 1000)
    if n_t > MAX_COUNT_FIELD:
        raise BadInput(f"{n_t:,} samples per trace do not fit SEG-Y's 16-bit sample count (binary header bytes "
                       f"3221-3222); ask for at most {MAX_COUNT_FIELD:,} samples")
    if not 0 < interval_us <= MAX_INTERVAL_US:
        raise BadInput(f"an interval of {parameters.interval_ms:g} ms does not fit SEG-Y's 16-bit interval in "
                       f"microseconds (binary header bytes 3217-3218); use 0.001 to {MAX_INTERVAL_US / 1000:g} ms")
    _centimetres(parameters, n_il, n_xl)


def _coordinates(survey: SyntheticSurvey) -> tuple[np.ndarray, np.ndarray]:
    """CDP X (east, along crosslines) and Y (north, along inlines) in cm, shape (inlines, crosslines)."""
    n_il, n_xl = survey.amplitude.shape[:2]
    east, north = _centimetres(survey.parameters, n_il, n_xl)
    return (np.broadcast_to(east[None, :], (n_il, n_xl)).astype(np.int64),
            np.broadcast_to(north[:, None], (n_il, n_xl)).astype(np.int64))


def _textual_header(survey: SyntheticSurvey, labels_name: str) -> bytes:
    """The 3200-byte textual header: 40 lines of 80 ASCII characters describing the survey."""
    p, r = survey.parameters, survey.realisation
    n_il, n_xl, n_t = survey.amplitude.shape
    normal = sum(f.kind == "normal" for f in r.faults)
    lines = [
        "rather synthetic 3D post-stack seismic survey - NOT REAL DATA",
        f"made by rather.seismic.synthetic.make_survey, seed {survey.seed}",
        f"inlines {survey.inlines[0]}-{survey.inlines[-1]} ({n_il}), "
        f"crosslines {survey.crosslines[0]}-{survey.crosslines[-1]} ({n_xl})",
        f"{n_t} samples at {p.interval_ms:g} ms, two-way time from {survey.samples_ms[0]:g} ms",
        "time-migrated look; IEEE floats (format 5) scaled to [-1, 1]",
        f"unrotated grid, {p.bin_size_m:g} m bins: X east along crosslines, Y north along inlines",
        f"first inline and crossline at X {p.origin_m[0]:.2f} m, Y {p.origin_m[1]:.2f} m",
        "coordinates in metres with scalar -100 (centimetres), bytes 71-72",
        "bytes: inline 189, crossline 193, CDP X 181, CDP Y 185, CDP 21",
        f"Ricker {r.ricker_hz:.1f} Hz at the top to {r.ricker_hz_bottom:.1f} Hz at the bottom",
        f"band-limited noise at SNR {r.snr_db:.2f} dB",
        f"faults {len(r.faults)} ({normal} normal, {len(r.faults) - normal} reverse), "
        f"salt domes {len(r.salt_domes)}, chaotic zones {len(r.chaotic_zones)}",
        f"labels: {labels_name}",
        "classes 0 horizon, 1 chaotic, 2 fault, 3 salt_dome",
    ]
    lines += [""] * (38 - len(lines)) + ["SEG Y REV1", "END TEXTUAL HEADER"]
    text = "".join(f"C{n:2d} {line}"[:80].ljust(80) for n, line in enumerate(lines, start=1))
    return text.encode("ascii", errors="replace")


def _create_segy(survey: SyntheticSurvey, path: Path, labels_name: str) -> None:
    """Write the amplitudes as SEG-Y rev 1, IEEE floats, inline-sorted, with full trace headers."""
    p = survey.parameters
    n_il, n_xl, n_t = survey.amplitude.shape
    interval_us = round(p.interval_ms * 1000)
    x_cm, y_cm = _coordinates(survey)
    spec = segyio.spec()
    spec.iline = segyio.TraceField.INLINE_3D
    spec.xline = segyio.TraceField.CROSSLINE_3D
    spec.format = 5
    spec.sorting = segyio.TraceSortingFormat.INLINE_SORTING
    spec.samples = survey.samples_ms
    spec.ilines = survey.inlines
    spec.xlines = survey.crosslines
    amplitude = np.asarray(survey.amplitude, dtype=np.float32)
    delay = round(float(survey.samples_ms[0]))
    with segyio.create(str(path), spec) as f:
        f.text[0] = _textual_header(survey, labels_name)
        f.bin.update({
            segyio.BinField.JobID: 1,
            segyio.BinField.Traces: 1,
            segyio.BinField.Interval: interval_us,
            segyio.BinField.IntervalOriginal: interval_us,
            segyio.BinField.Samples: n_t,
            segyio.BinField.SamplesOriginal: n_t,
            segyio.BinField.Format: 5,
            segyio.BinField.EnsembleFold: 1,
            segyio.BinField.SortingCode: 4,  # horizontally stacked
            segyio.BinField.MeasurementSystem: 1,  # metres
            segyio.BinField.SEGYRevision: 1,
            segyio.BinField.SEGYRevisionMinor: 0,
            segyio.BinField.TraceFlag: 1,  # fixed-length traces
        })
        for i in range(n_il):
            for j in range(n_xl):
                index = i * n_xl + j
                f.header[index] = {
                    segyio.TraceField.TRACE_SEQUENCE_LINE: index + 1,
                    segyio.TraceField.TRACE_SEQUENCE_FILE: index + 1,
                    segyio.TraceField.FieldRecord: int(survey.inlines[i]),
                    segyio.TraceField.TraceNumber: j + 1,
                    segyio.TraceField.CDP: index + 1,
                    segyio.TraceField.CDP_TRACE: 1,
                    segyio.TraceField.TraceIdentificationCode: 1,
                    segyio.TraceField.NStackedTraces: 1,
                    segyio.TraceField.DataUse: 1,
                    segyio.TraceField.SourceGroupScalar: -100,
                    segyio.TraceField.SourceX: int(x_cm[i, j]),
                    segyio.TraceField.SourceY: int(y_cm[i, j]),
                    segyio.TraceField.GroupX: int(x_cm[i, j]),
                    segyio.TraceField.GroupY: int(y_cm[i, j]),
                    segyio.TraceField.CoordinateUnits: 1,
                    segyio.TraceField.DelayRecordingTime: delay,
                    segyio.TraceField.TRACE_SAMPLE_COUNT: n_t,
                    segyio.TraceField.TRACE_SAMPLE_INTERVAL: interval_us,
                    segyio.TraceField.CDP_X: int(x_cm[i, j]),
                    segyio.TraceField.CDP_Y: int(y_cm[i, j]),
                    segyio.TraceField.INLINE_3D: int(survey.inlines[i]),
                    segyio.TraceField.CROSSLINE_3D: int(survey.crosslines[j]),
                }
                f.trace[index] = amplitude[i, j]


def _write_labels(survey: SyntheticSurvey, path: Path, segy_name: str) -> None:
    """Write the label volume, masks, axes and the survey's description as HDF5."""
    with hdf5_file(path) as f:  # a full disk: one BadInput, no crash of the HDF5 library
        f.create_dataset("labels", data=np.asarray(survey.labels, dtype=np.uint8), compression="gzip")
        f.create_dataset("fault_zone", data=np.asarray(survey.fault_zone, dtype=bool), compression="gzip")
        f.create_dataset("salt_body", data=np.asarray(survey.salt_body, dtype=bool), compression="gzip")
        f.create_dataset("inlines", data=np.asarray(survey.inlines, dtype=np.int32))
        f.create_dataset("crosslines", data=np.asarray(survey.crosslines, dtype=np.int32))
        f.create_dataset("samples_ms", data=np.asarray(survey.samples_ms, dtype=np.float64))
        f.attrs["seed"] = survey.seed
        f.attrs["parameters"] = json.dumps(asdict(survey.parameters))
        f.attrs["realisation"] = json.dumps(asdict(survey.realisation))
        f.attrs["class_names"] = list(CLASS_NAMES)
        f.attrs["axes"] = "inline, crossline, sample"
        f.attrs["segy_file"] = segy_name


def _segy_bytes(survey: SyntheticSurvey) -> int:
    """The size of ``survey``'s SEG-Y file: the headers, and per trace its header and 4-byte IEEE samples."""
    inlines, crosslines, samples = survey.amplitude.shape
    return HEADERS_BYTES + inlines * crosslines * (TRACE_HEADER_BYTES + 4 * samples)


def labels_beside(segy_path: PathLike) -> Path:
    """Where a survey's labels are kept by default: the SEG-Y's stem + ``.labels.h5``, in its folder."""
    segy_path = Path(segy_path)
    return segy_path.with_name(segy_path.stem + ".labels.h5")


def write_survey(survey: SyntheticSurvey, segy_path: PathLike,
                 labels_path: PathLike | None = None) -> tuple[Path, Path]:
    """Write ``survey`` as SEG-Y rev 1 and its labels as HDF5; return (SEG-Y path, labels path).

    SEG-Y: IEEE floats (format 5), inline-sorted, a textual header describing the survey and its
    seed, the binary header (sample count, interval in microseconds, format, revision 1), and per
    trace: inline (bytes 189) and crossline (193) numbers, CDP X/Y (181/185, repeated as source and
    group X/Y, 73-87) in centimetres with scalar -100 (71), sample count (115) and interval (117),
    CDP (21) and trace sequence numbers (1, 5) counting traces from 1. The grid is unrotated with
    ``bin_size_m`` bins: X grows east along crosslines, Y north along inlines, from ``origin_m``
    at the first trace.

    HDF5 (default: the SEG-Y's stem + ``.labels.h5`` in the same folder): datasets ``labels``
    (uint8), ``fault_zone`` and ``salt_body`` (bool), all (inlines, crosslines, samples), and
    ``inlines``, ``crosslines``, ``samples_ms``; attributes ``seed``, ``parameters`` and
    ``realisation`` (JSON), ``class_names``, ``axes``, ``segy_file``.

    Both files are written under temporary names and renamed once both are complete: after a
    failure neither exists, and files already there under those names are left as they were.
    """
    segy_path = Path(segy_path)
    labels_path = labels_beside(segy_path) if labels_path is None else Path(labels_path)
    _check_survey(survey)
    if segy_path.resolve() == labels_path.resolve():
        raise BadInput(f"write_survey: the SEG-Y and the labels would both be {segy_path}; give another labels_path")
    for path in (segy_path, labels_path):
        if path.is_dir():
            raise BadInput(f"write_survey: {path} is a folder; give a file name")
    with atomic_path(segy_path, size=_segy_bytes(survey)) as segy_tmp, atomic_path(labels_path) as labels_tmp:
        _create_segy(survey, segy_tmp, labels_path.name)
        _write_labels(survey, labels_tmp, segy_path.name)
    return segy_path, labels_path


def _line_index(numbers: np.ndarray, kind: str, number: int, source: str) -> int:
    """The position of inline or crossline ``number`` among ``numbers``; refused when ``source`` has no such line."""
    if kind not in LINE_KINDS:
        raise BadInput(f"kind {kind!r}: a section follows an 'inline' or a 'crossline'")
    where = np.flatnonzero(numbers == number)
    if not len(where):
        raise BadInput(f"{kind} {number} is not in {source} ({kind}s {numbers[0]}..{numbers[-1]}); "
                       f"give one of its {kind} numbers")
    return int(where[0])


def read_label_section(path: PathLike, kind: str, number: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """One inline or crossline of a labels file written by ``write_survey``: labels, fault zone, salt body.

    Each (samples, traces), time down the rows like a section's amplitudes; only that line is read.
    """
    path = Path(path)
    try:
        with h5py.File(path, "r") as f:
            numbers = f["inlines" if kind == "inline" else "crosslines"][:]
            index = _line_index(numbers, kind, number, f"the labels {path}")
            return tuple(line_of_volume(f[name], kind, index) for name in ("labels", "fault_zone", "salt_body"))
    except (OSError, KeyError) as error:
        raise BadInput(f"{path}: not a labels file of `rather seismic synth` ({error}); "
                       "give the .labels.h5 written beside the survey") from None
