"""The Cunha et al. 2020 real data (skipped where the shared copy is absent): where GSB traces sit, fault masks."""
import numpy as np
import pytest
from PIL import Image

from rather.seismic.cunha import GSB_SECTIONS, GSB_TRACES, gsb_fault_mask, read_trace_rows, write_gsb_sections
from rather.seismic.labelled import load_sections
from real_seismic import REAL_SEISMIC

DATA = REAL_SEISMIC / "f3-faults-cunha2020/data"
pytestmark = pytest.mark.skipif(not DATA.is_dir(), reason="the shared real Cunha et al. data are not here")


def test_crossing_gsb_sections_share_the_trace_the_table_places_there():
    sections = {name: read_trace_rows(DATA / f"{name}.csv") for name in GSB_SECTIONS}
    for crossline_section in (name for name in GSB_SECTIONS if "_crl_" in name):
        crossline = int(crossline_section.rsplit("_", 1)[1])
        for inline_section in (name for name in GSB_SECTIONS if "_inl_" in name):
            inline = int(inline_section.rsplit("_", 1)[1])
            _, first, step = GSB_TRACES[crossline_section]
            along_crossline = sections[crossline_section][:, (inline - first) // step]
            _, first, step = GSB_TRACES[inline_section]
            along_inline = sections[inline_section][:, (crossline - first) // step]
            np.testing.assert_array_equal(along_crossline, along_inline)


def test_gsb_sections_become_a_sections_folder(tmp_path):
    write_gsb_sections(DATA, tmp_path)
    data = load_sections(tmp_path)
    assert data.names == GSB_SECTIONS and data.class_names == ("background", "fault")
    assert [a.shape for a in data.amplitudes][:2] == [(76, 484), (76, 484)]
    shares = [float(mask.mean()) for mask in data.labels]
    assert all(0.02 < share < 0.15 for share in shares)  # thin bands around the picked segments
    mask = np.array(Image.open(tmp_path / "masks" / "gsb_inl_1791_mask.png"))
    assert np.array_equal(mask, gsb_fault_mask(DATA / "gsb_inl_1791_mask.ascii", "gsb_inl_1791", (76, 498)))
