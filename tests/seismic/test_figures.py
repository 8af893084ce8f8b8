"""Section figures (``rather.seismic.figures``): what each panel's title says."""
import numpy as np

from rather.seismic.figures import question_title


def test_a_panel_title_names_what_p_stands_for_among_the_patches_asked():
    names = ("horizon", "chaotic", "fault")
    classes = np.array([[0, 0, 0, 1], [2, 2, 0, 0]])  # horizon 5, chaotic 1, fault 2
    assert question_title("why", names, classes) == "Why P?\nP: horizon 62 %, fault 25 %"
    assert question_title("rather_than_horizon", names, classes) == (
        "Why P, rather than horizon?\nP: fault 67 %, chaotic 33 %")  # patches predicted horizon are not asked
    assert question_title("rather_than_fault", names, np.zeros((2, 2), dtype=int)) == (
        "Why P, rather than fault?\nP: horizon 100 %")
    assert question_title("rather_than_horizon", names, np.zeros((2, 2), dtype=int)).endswith("P: never asked here")
