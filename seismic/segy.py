"""SEG-Y surveys: read, validate, describe and write attribute volumes (with segyio).

The public entry points, gathered from the modules that implement them: ``headers``
(the file format, checked before segyio opens a file), ``geometry`` (where each trace
sits), ``survey`` (``open_survey`` and reading), ``description`` (``rather seismic
info``) and ``attributes`` (writing attribute volumes).

Conventions every function here keeps:

- Line numbers are the survey's own numbers from the trace headers (inline at
  byte 189 and crossline at byte 193 unless told otherwise), never indices.
  ``Survey.inlines`` and ``Survey.crosslines`` are sorted ascending and hold
  the numbers that occur in at least one trace.
- Arrays are float32 whatever the sample format on disk (IBM float, integers
  of 1, 2, 4 or 8 bytes, IEEE floats of 4 or 8 bytes).
- Sections are ``SeismicSection``s (``rather.seismic.section``): time (or
  depth) down the rows, traces across. ``inline(n).values`` is (n_samples,
  n_crosslines) with crosslines ascending, ``crossline(n).values`` is
  (n_samples, n_inlines) with inlines ascending; ``depth_slice(k)`` is
  (n_inlines, n_crosslines) and ``volume()`` is (n_inlines, n_crosslines,
  n_samples), the grid's axes. The order does not depend on the file's
  sorting: inline- and crossline-sorted files give the same arrays.
- Times are in milliseconds: ``samples`` and ``interval`` are segyio's sample
  positions and its interval divided by 1000. SEG-Y does not say whether a
  file is in time or depth; depth files that store the interval in
  millimetres (the usual practice) come out in metres.
- Input files are only ever opened read-only and are never modified.

>>> with open_survey("f3.sgy") as survey:
...     section = survey.inline(111)      # values (75, 18) float32: 75 samples, 18 crosslines
>>> print(format_description(describe("f3.sgy")))
"""
from __future__ import annotations

from .attributes import write_attribute, write_attributes
from .description import describe, format_description
from .headers import FORMATS, TRACE_FIELDS, SampleFormat, check_byte_location, check_byte_locations
from .survey import Survey, open_survey

__all__ = ["FORMATS", "TRACE_FIELDS", "SampleFormat", "Survey", "check_byte_location", "check_byte_locations",
           "describe", "format_description", "open_survey", "write_attribute", "write_attributes"]
