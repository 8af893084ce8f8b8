"""Section figures (``rather.seismic.figures``): what each panel's title says, and that no figure outlives its file."""
import gc

import numpy as np
from matplotlib.figure import Figure

from rather.seismic.figures import plot_section, question_title
from rather.seismic.section import SeismicSection
from rather.seismic.sections import SectionExplanation


def test_a_panel_title_names_what_p_stands_for_among_the_patches_asked():
    names = ("horizon", "chaotic", "fault")
    classes = np.array([[0, 0, 0, 1], [2, 2, 0, 0]])  # horizon 5, chaotic 1, fault 2
    assert question_title("why", names, classes) == "Why P?\nP: horizon 62 %, fault 25 %"
    assert question_title("rather_than_horizon", names, classes) == (
        "Why P, rather than horizon?\nP: fault 67 %, chaotic 33 %")  # patches predicted horizon are not asked
    assert question_title("rather_than_fault", names, np.zeros((2, 2), dtype=int)) == (
        "Why P, rather than fault?\nP: horizon 100 %")
    assert question_title("rather_than_horizon", names, np.zeros((2, 2), dtype=int)).endswith("P: never asked here")


def _figures_alive() -> int:
    return sum(type(thing) is Figure for thing in gc.get_objects())


def test_a_drawn_section_leaves_no_figure_behind_for_the_collector(tmp_path):
    """A survey draws one figure per line: each must be freed when its file is written, not at the next full
    collection (seldom with torch in the heap), or the driver's memory grows with the survey (issue #16)."""
    rng = np.random.default_rng(0)
    names, rows, columns = ("horizon", "chaotic", "fault"), 40, 60
    maps = rng.random((1 + len(names), rows, columns), dtype=np.float32)
    explained = SectionExplanation(maps=maps, raw=maps.copy(),
                                   probabilities=rng.random((len(names), rows, columns), dtype=np.float32),
                                   predicted=rng.integers(0, len(names), (rows, columns)),
                                   patch_classes=rng.integers(0, len(names), (2, 3)), rows=np.arange(2),
                                   cols=np.arange(3), patch=32, stride=10, class_names=names)
    section = SeismicSection(values=rng.standard_normal((rows, columns)).astype(np.float32), kind="inline",
                             number=7, traces=np.arange(columns), trace_key="crossline",
                             samples=np.arange(rows) * 4.0)
    gc.collect()
    held = _figures_alive()
    gc.disable()  # only what plot_section frees itself counts
    try:
        for line in range(3):
            assert plot_section(explained, section, tmp_path / f"line{line}.png").stat().st_size > 0
            assert _figures_alive() == held
    finally:
        gc.enable()
