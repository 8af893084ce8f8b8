"""The Z3 salt patches written as a ``--patches`` folder (``rather.seismic.z3``)."""
import numpy as np
import pytest

from rather.common.errors import BadInput
from rather.seismic.labelled import load_patch_folder
from rather.seismic.z3 import write_z3_patches
from real_seismic import REAL_SEISMIC

Z3 = REAL_SEISMIC / "z3-salt-patches"


def z3_copy(root, labels=(0, 1, 1, 0, 1)):
    """A small Z3-like split 'test': patch i is filled with the grey level 10 * i."""
    root.mkdir()
    patches = np.stack([np.full((28, 28), 10 * index, np.uint8) for index in range(len(labels))])
    np.save(root / "patches_test.npy", patches)
    np.save(root / "labels_test.npy", np.array(labels))
    return patches


def test_each_patch_goes_to_its_class_folder_as_grey_minus_mid_grey(tmp_path):
    patches = z3_copy(tmp_path / "z3")
    out = write_z3_patches(tmp_path / "z3", tmp_path / "out", "test")
    assert sorted(path.name for path in (out / "salt_dome").iterdir()) == ["p1.npy", "p2.npy", "p4.npy"]
    assert sorted(path.name for path in (out / "background").iterdir()) == ["p0.npy", "p3.npy"]
    np.testing.assert_array_equal(np.load(out / "salt_dome" / "p2.npy"), patches[2].astype(np.float32) - 127.5)
    data = load_patch_folder(out)
    assert data.class_names == ("background", "salt_dome") and data.counts == {"background": 2, "salt_dome": 3}


@pytest.mark.parametrize("split, labels, says", [
    ("valid", (0, 1), "Z3 split 'valid': give one of train, test"),
    ("train", (0, 1), "needs patches_train.npy and labels_train.npy"),
    ("test", (0, 2), "labels_test.npy holding N labels of 0 (background) or 1 (salt)"),
])
def test_a_split_it_cannot_read_is_refused_by_name(tmp_path, split, labels, says):
    z3_copy(tmp_path / "z3", labels)
    with pytest.raises(BadInput, match=says.replace("(", r"\(").replace(")", r"\)")):
        write_z3_patches(tmp_path / "z3", tmp_path / "out", split)
    assert not (tmp_path / "out").exists()


@pytest.mark.skipif(not Z3.is_dir(), reason="the shared Z3 salt patches are absent")
def test_the_real_z3_test_split_holds_123_salt_and_236_background_patches(tmp_path):
    data = load_patch_folder(write_z3_patches(Z3, tmp_path / "z3-test", "test"))
    assert data.counts == {"background": 236, "salt_dome": 123} and data.patches.shape[1:] == (28, 28)
