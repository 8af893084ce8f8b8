"""The parameters of a synthetic survey: geometry, geology, wavelet and noise, checked when made.

Units, meanings and sources of every field are in the table of
``rather.seismic.synthetic``'s docstring; ``make_survey`` draws a survey from them.
"""
from __future__ import annotations

import math
import numbers
from dataclasses import dataclass

from rather.common.errors import BadInput

Range = tuple[float, float]
"""A (low, high) range, drawn uniformly per survey or per object."""

SALT_DRAG_VERTICAL_WEIGHT = 0.3
"""One time sample counts as 0.3 trace in the distance to salt (the drag zone's shape; bounds salt_drag_samples)."""
FAULT_DRAG_DECAY = 4.0
"""Samples (perpendicular to the plane) over which fault drag decays (bounds fault_drag)."""
_COUNTS = ("unconformities", "faults", "salt_domes", "chaotic_zones")
_POSITIVE = ("interval_ms", "bin_size_m", "bed_thickness_samples", "salt_drag_length_traces",
             "chaotic_block_traces", "chaotic_amplitude", "noise_bandwidth")
_NON_NEGATIVE = ("package_contrast", "amplitude_variation", "regional_dip", "unconformity_tilt",
                 "unconformity_relief_samples", "fault_zone_half_width", "salt_interior_reflectivity",
                 "lateral_smoothing_traces", "noise_correlation_traces", "jitter_samples")
_POSITIVE_RANGES = ("package_thickness_samples", "amplitude_correlation_traces", "fold_width_traces",
                    "salt_radius_traces", "chaotic_radius_traces", "chaotic_thickness_samples")
_RANGES = _POSITIVE_RANGES + (
    "fold_amplitude_samples", "fold_top_fraction", "dip_range_deg", "throw_range_samples",
    "strike_range_deg", "fault_drag", "salt_apex_fraction", "salt_flank_exponent", "salt_top_strength",
    "salt_drag_samples", "chaotic_dip_deg", "ricker_hz_range", "snr_db_range", "fault_dimming")


@dataclass(frozen=True)
class SurveyParameters:
    """Geometry, geology, wavelet and noise of a synthetic survey.

    Units, meanings and sources of every field are in the table of ``rather.seismic.synthetic``.
    Pairs are (low, high) ranges drawn uniformly per survey or per object. Construction
    refuses unusable values with ``BadInput``.
    """

    inlines: int = 64
    crosslines: int = 64
    samples: int = 256
    interval_ms: float = 4.0
    first_inline: int = 100
    first_crossline: int = 300
    bin_size_m: float = 25.0
    origin_m: tuple[float, float] = (605_000.0, 6_073_000.0)
    bed_thickness_samples: float = 2.0
    package_thickness_samples: Range = (15.0, 60.0)
    package_contrast: float = 0.25
    amplitude_variation: float = 0.35
    amplitude_correlation_traces: Range = (4.0, 30.0)
    fold_amplitude_samples: Range = (4.0, 16.0)
    fold_width_traces: Range = (20.0, 60.0)
    fold_top_fraction: Range = (0.3, 1.0)
    regional_dip: float = 0.03
    unconformities: int = 1
    unconformity_tilt: float = 0.2
    unconformity_relief_samples: float = 4.0
    faults: int = 3
    dip_range_deg: Range = (60.0, 82.0)
    throw_range_samples: Range = (5.0, 30.0)
    strike_range_deg: Range = (-45.0, 45.0)
    reverse_fraction: float = 0.3
    fault_drag: Range = (0.0, 0.15)
    fault_zone_half_width: float = 2.0
    fault_dimming: Range = (0.0, 0.0)
    salt_domes: int = 1
    salt_apex_fraction: Range = (0.3, 0.55)
    salt_radius_traces: Range = (40.0, 100.0)
    salt_flank_exponent: Range = (2.0, 3.0)
    salt_top_strength: Range = (4.0, 6.0)
    salt_interior_reflectivity: float = 0.08
    salt_drag_samples: Range = (6.0, 14.0)
    salt_drag_length_traces: float = 8.0
    chaotic_zones: int = 1
    chaotic_radius_traces: Range = (50.0, 150.0)
    chaotic_thickness_samples: Range = (60.0, 140.0)
    chaotic_dip_deg: Range = (5.0, 30.0)
    chaotic_block_traces: float = 24.0
    chaotic_amplitude: float = 1.5
    ricker_hz_range: Range = (20.0, 35.0)
    frequency_loss: float = 0.15
    snr_db_range: Range = (2.0, 5.0)
    lateral_smoothing_traces: float = 0.7
    noise_correlation_traces: float = 0.3
    noise_bandwidth: float = 1.6
    noise_floor: float = 0.5
    jitter_samples: float = 0.5
    clip_percentile: float = 99.5

    def __post_init__(self) -> None:
        for name in ("inlines", "crosslines", "samples"):
            _check_int(self, name, 1)
        for name in ("first_inline", "first_crossline") + _COUNTS:
            _check_int(self, name, 0)
        _require(self.samples >= 16, "samples", self.samples, "use at least 16 samples per trace")
        _require(self.first_inline + self.inlines < 2**31 and self.first_crossline + self.crosslines < 2**31,
                 "first_inline/first_crossline", (self.first_inline, self.first_crossline),
                 "line numbers must fit SEG-Y's 32-bit fields")
        for name in _POSITIVE:
            _check_number(self, name, positive=True)
        for name in _NON_NEGATIVE + ("reverse_fraction", "frequency_loss", "noise_floor", "clip_percentile"):
            _check_number(self, name, positive=False)
        for name in _RANGES:
            _check_range(self, name, positive=name in _POSITIVE_RANGES)
        _require(isinstance(self.origin_m, (tuple, list)) and len(self.origin_m) == 2
                 and all(is_finite_number(v) for v in self.origin_m), "origin_m", self.origin_m,
                 "use a pair (easting, northing) of finite numbers in metres")
        _require(0 < self.dip_range_deg[0] and self.dip_range_deg[1] < 90, "dip_range_deg", self.dip_range_deg,
                 "fault dips must lie strictly between 0 and 90 degrees")
        _require(self.throw_range_samples[0] >= 0, "throw_range_samples", self.throw_range_samples,
                 "throws are non-negative; reverse faults come from reverse_fraction")
        _require(self.reverse_fraction <= 1, "reverse_fraction", self.reverse_fraction, "use a probability")
        _require(self.fault_drag[0] >= 0 and self.fault_drag[1] * self.throw_range_samples[1]
                 * math.cos(math.radians(self.dip_range_deg[0])) < 0.8 * FAULT_DRAG_DECAY, "fault_drag",
                 self.fault_drag, "use non-negative fractions of the throw with drag * largest throw * "
                 f"cos(smallest dip) below {0.8 * FAULT_DRAG_DECAY:g} samples, so that dragged beds never overturn")
        _require(0 <= self.fault_dimming[0] and self.fault_dimming[1] <= 1, "fault_dimming", self.fault_dimming,
                 "use fractions of the reflectivity in [0, 1]")
        _require(0 < self.fold_top_fraction[0] and self.fold_top_fraction[1] <= 1, "fold_top_fraction",
                 self.fold_top_fraction, "use fractions in (0, 1]")
        _require(0 < self.salt_apex_fraction[0] and self.salt_apex_fraction[1] < 1, "salt_apex_fraction",
                 self.salt_apex_fraction, "use fractions of the record length strictly between 0 and 1")
        _require(self.salt_flank_exponent[0] >= 1, "salt_flank_exponent", self.salt_flank_exponent,
                 "use exponents of at least 1 (1 is a cone, 2 a paraboloid)")
        _require(self.salt_top_strength[0] >= 0, "salt_top_strength", self.salt_top_strength,
                 "use non-negative multiples of the signal RMS")
        _require(self.salt_drag_samples[0] >= 0
                 and self.salt_drag_samples[1] * SALT_DRAG_VERTICAL_WEIGHT < 0.8 * self.salt_drag_length_traces,
                 "salt_drag_samples", self.salt_drag_samples, f"keep drag * {SALT_DRAG_VERTICAL_WEIGHT} below "
                 "0.8 * salt_drag_length_traces, so that dragged beds never overturn")
        _require(0 <= self.chaotic_dip_deg[0] and self.chaotic_dip_deg[1] < 70, "chaotic_dip_deg",
                 self.chaotic_dip_deg, "use dips from 0 to below 70 degrees")
        nyquist = 500.0 / self.interval_ms
        _require(self.ricker_hz_range[0] > 0 and self.ricker_hz_range[1] < nyquist / 2, "ricker_hz_range",
                 self.ricker_hz_range, f"peak frequencies must be positive and below half the Nyquist "
                 f"frequency ({nyquist / 2:g} Hz at {self.interval_ms:g} ms)")
        _require(self.frequency_loss < 1, "frequency_loss", self.frequency_loss, "use a fraction in [0, 1)")
        _require(self.noise_floor <= 1, "noise_floor", self.noise_floor, "use a fraction in [0, 1]")
        _require(50 < self.clip_percentile <= 100, "clip_percentile", self.clip_percentile,
                 "use a percentile in (50, 100]")


def _require(ok: bool, name: str, value: object, advice: str) -> None:
    if not ok:
        raise BadInput(f"SurveyParameters.{name} = {value!r} is not usable: {advice}")


def is_finite_number(value: object) -> bool:
    """Whether ``value`` is a finite real number (Python's or NumPy's), not a bool."""
    return (isinstance(value, numbers.Real) and not isinstance(value, bool)
            and math.isfinite(value))


def _check_int(parameters: SurveyParameters, name: str, minimum: int) -> None:
    value = getattr(parameters, name)
    _require(isinstance(value, numbers.Integral) and not isinstance(value, bool) and value >= minimum,
             name, value, f"use an integer >= {minimum}")


def _check_number(parameters: SurveyParameters, name: str, positive: bool) -> None:
    value = getattr(parameters, name)
    _require(is_finite_number(value) and (value > 0 if positive else value >= 0), name, value,
             "use a finite number " + ("> 0" if positive else ">= 0"))


def _check_range(parameters: SurveyParameters, name: str, positive: bool) -> None:
    value = getattr(parameters, name)
    ok = (isinstance(value, (tuple, list)) and len(value) == 2 and all(is_finite_number(v) for v in value)
          and value[0] <= value[1] and (value[0] > 0 or not positive))
    _require(ok, name, value, "use a pair (low, high) of finite numbers with low <= high"
             + (" and low > 0" if positive else ""))
