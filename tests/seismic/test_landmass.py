"""LANDMASS loaders on small fixture trees laid out like the published data set."""
from pathlib import Path

import h5py
import numpy as np
import pytest
import scipy.io

from rather.common.errors import BadInput
from rather.seismic.landmass import (
    CLASS_NAMES, PatchSet, class_index, expected_counts, load_landmass, read_mat_array,
)


def image(seed, shape=(99, 99), scale=0.9):
    rng = np.random.default_rng(seed)
    return (scale * np.tanh(rng.standard_normal(shape))).astype(np.float64)


def write_v5(path, **arrays):
    path.parent.mkdir(parents=True, exist_ok=True)
    scipy.io.savemat(path, arrays)


def write_v73(path, **arrays):
    """A MATLAB 7.3 file as MATLAB writes it: HDF5 behind a 512-byte header, arrays stored transposed."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with h5py.File(path, "w", userblock_size=512) as handle:
        for name, value in arrays.items():
            value = np.asarray(value)
            dataset = handle.create_dataset(name, data=value.T)
            dataset.attrs["MATLAB_class"] = np.bytes_("char" if value.dtype == np.uint16 else "double")
    text = b"MATLAB 7.3 MAT-file, Platform: GLNXA64, Created on: Mon Jan  1 00:00:00 2018 HDF5 schema 1.00 ."
    header = text.ljust(116, b" ") + b"\0" * 8 + b"\x00\x02" + b"IM"
    with open(path, "r+b") as handle:
        handle.write(header)


@pytest.fixture
def landmass1(tmp_path):
    """LANDMASS-1-like tree: folder spellings from the wild, v5 and v7.3 files, odd variable names."""
    root = tmp_path / "LANDMASS1"
    images = {}
    for seed, (folder, name, writer, variable) in enumerate([
        ("Horizon", "horizon_0002.mat", write_v5, "img"),
        ("Horizon", "horizon_0010.mat", write_v73, "patch"),
        ("Horizon", "horizon_0001.mat", write_v5, "data"),
        ("chaotic", "chaotic_1.mat", write_v73, "x"),
        ("Salt Dome", "saltdome_0001.mat", write_v5, "saltdome_0001"),
        ("Salt Dome", "saltdome_0002.mat", write_v5, "im"),
    ]):
        images[f"{folder}/{name}"] = image(seed)
        writer(root / folder / name, **{variable: images[f"{folder}/{name}"]})
    (root / "Fault").mkdir()
    (root / "Fault" / "notes.txt").write_text("no patches here")
    (root / "Horizon" / "._horizon_0001.mat").write_bytes(b"\0\5\26\7 AppleDouble")
    (root / "__MACOSX").mkdir()
    return root, images


def test_loads_a_landmass1_tree_in_class_then_file_order(landmass1):
    root, images = landmass1
    data = load_landmass(root)
    assert isinstance(data, PatchSet) and len(data) == 6
    assert data.files == (
        "Horizon/horizon_0001.mat", "Horizon/horizon_0002.mat", "Horizon/horizon_0010.mat",
        "chaotic/chaotic_1.mat", "Salt Dome/saltdome_0001.mat", "Salt Dome/saltdome_0002.mat",
    )
    assert data.patches.dtype == np.float32 and data.patches.shape == (6, 99, 99)
    assert data.labels.dtype == np.int64 and data.labels.tolist() == [0, 0, 0, 1, 3, 3]
    for patch, name in zip(data.patches, data.files):
        np.testing.assert_array_equal(patch, images[name].astype(np.float32))
    assert data.version == 1 and data.class_names == CLASS_NAMES
    assert data.counts == {"horizon": 3, "chaotic": 1, "fault": 0, "salt_dome": 2}


def test_limit_per_class_keeps_the_first_files(landmass1):
    root, _ = landmass1
    data = load_landmass(root, version=1, limit_per_class=2)
    assert data.files == ("Horizon/horizon_0001.mat", "Horizon/horizon_0002.mat", "chaotic/chaotic_1.mat",
                          "Salt Dome/saltdome_0001.mat", "Salt Dome/saltdome_0002.mat")
    for limit in (0, -1, 1.5, True):
        with pytest.raises(BadInput, match="limit_per_class"):
            load_landmass(root, limit_per_class=limit)


def test_file_names_sort_with_numbers_compared_as_numbers(tmp_path):
    for name in ("fault_10.mat", "fault_2.mat", "Fault_1b.mat", "fault_1.mat"):
        write_v5(tmp_path / "fault" / name, x=image(0))
    assert load_landmass(tmp_path).files == (
        "fault/fault_1.mat", "fault/Fault_1b.mat", "fault/fault_2.mat", "fault/fault_10.mat")


def test_the_published_top_level_is_entered_for_the_version_asked(landmass1):
    root, _ = landmass1
    write_v5(root.parent / "LANDMASS2" / "fault" / "fault_0001.mat", im=image(7, (150, 300)))
    (root.parent / "SAMPLES").mkdir()
    data = load_landmass(root.parent, version=2)
    assert data.files == ("LANDMASS2/fault/fault_0001.mat",) and data.version == 2
    assert data.patches.shape == (1, 150, 300) and data.labels.tolist() == [2]
    assert load_landmass(root.parent, version=1).files[0] == "LANDMASS1/Horizon/horizon_0001.mat"
    with pytest.raises(BadInput, match="pass version=1 or 2"):
        load_landmass(root.parent)


def test_landmass2_is_inferred_from_the_shape(tmp_path):
    expected = image(1, (150, 300))
    write_v73(tmp_path / "salt_dome" / "a.mat", saltdome=expected)
    write_v5(tmp_path / "HORIZON" / "b.mat", horizon=image(2, (150, 300)))
    data = load_landmass(tmp_path)
    assert data.version == 2 and data.patches.shape == (2, 150, 300)
    np.testing.assert_array_equal(data.patches[1], expected.astype(np.float32))  # v7.3 transposed back
    with pytest.raises(BadInput, match="LANDMASS-1 images are 99x99"):
        load_landmass(tmp_path, version=1)


@pytest.mark.parametrize("name,label", [("Horizon", 0), ("horizons", 0), ("CHAOTIC", 1), ("Fault", 2),
                                        ("faults", 2), ("Salt Dome", 3), ("Salt_Dome", 3), ("saltdome", 3),
                                        ("salt dome", 3), ("salt-dome", 3), ("SaltDome", 3), ("rock", None)])
def test_class_folder_spellings(name, label):
    assert class_index(name) == label


def test_expected_counts_are_the_published_ones():
    assert expected_counts(1) == {"horizon": 9385, "chaotic": 5140, "fault": 1251, "salt_dome": 1891}
    assert sum(expected_counts(1).values()) == 17667
    assert expected_counts(2) == dict.fromkeys(CLASS_NAMES, 1000)
    for version in (0, 3, "1", True):
        with pytest.raises(BadInput, match="version"):
            expected_counts(version)


# --- read_mat_array --------------------------------------------------------------------------

def test_read_v5_ignores_scalars_vectors_and_text(tmp_path):
    expected = image(0, (12, 17))
    write_v5(tmp_path / "a.mat", patch=expected, label=np.array(2.0), trace=np.arange(5.0), note="fault")
    array = read_mat_array(tmp_path / "a.mat")
    np.testing.assert_array_equal(array, expected)


def test_read_v73_detects_hdf5_behind_the_header_and_transposes_back(tmp_path):
    expected = image(0, (12, 17))
    path = tmp_path / "a.mat"
    write_v73(path, data=expected, name=np.frombuffer(b"f\0a\0", dtype=np.uint16).reshape(2, 1).repeat(2, 1))
    assert path.read_bytes()[:10] == b"MATLAB 7.3" and path.read_bytes()[512:516] == b"\x89HDF"
    with pytest.raises(NotImplementedError):
        scipy.io.loadmat(path)  # scipy cannot: the loader must recognise the HDF5 signature itself
    array = read_mat_array(path)
    assert array.shape == (12, 17)
    np.testing.assert_array_equal(array, expected)


def test_read_refuses_several_or_no_images(tmp_path):
    write_v5(tmp_path / "two.mat", first=image(0), second=image(1, (5, 5)))
    with pytest.raises(BadInput, match=r"found 2 \(first 99x99, second 5x5\)"):
        read_mat_array(tmp_path / "two.mat")
    write_v73(tmp_path / "two73.mat", a=image(0), b=image(1))
    with pytest.raises(BadInput, match=r"found 2 \(a 99x99, b 99x99\)"):
        read_mat_array(tmp_path / "two73.mat")
    write_v5(tmp_path / "none.mat", label=np.array(3.0), note="horizon")
    with pytest.raises(BadInput, match=r"found 0 \(none\)"):
        read_mat_array(tmp_path / "none.mat")


def test_read_refuses_foreign_and_missing_files(tmp_path):
    (tmp_path / "fake.mat").write_bytes(b"not a MATLAB file at all" * 20)
    with pytest.raises(BadInput, match="fake.mat is not a readable MATLAB file"):
        read_mat_array(tmp_path / "fake.mat")
    with pytest.raises(BadInput, match="does not exist"):
        read_mat_array(tmp_path / "missing.mat")


# --- refusals --------------------------------------------------------------------------------

def test_mixed_shapes_are_refused_naming_the_file(tmp_path):
    write_v5(tmp_path / "horizon" / "a.mat", x=image(0))
    write_v5(tmp_path / "fault" / "b.mat", x=image(1, (99, 98)))
    with pytest.raises(BadInput, match=r"fault[/\\]b\.mat is 99x98 but .*a\.mat is 99x99"):
        load_landmass(tmp_path)


def test_nan_is_refused_naming_the_file(tmp_path):
    broken = image(0)
    broken[4, 5] = np.nan
    write_v5(tmp_path / "horizon" / "a.mat", x=image(1))
    write_v5(tmp_path / "chaotic" / "bad.mat", x=broken)
    with pytest.raises(BadInput, match=r"bad\.mat contains NaN"):
        load_landmass(tmp_path)


def test_values_outside_the_unit_range_are_refused_and_rounding_is_clipped(tmp_path):
    write_v5(tmp_path / "horizon" / "a.mat", x=image(0) * 255)
    with pytest.raises(BadInput, match=r"a\.mat has values in .* lie in \[-1, 1\]: rescale"):
        load_landmass(tmp_path)
    nearly = image(0)
    nearly[0, 0], nearly[0, 1] = 1.0004, -1.0002
    write_v5(tmp_path / "horizon" / "a.mat", x=nearly)
    data = load_landmass(tmp_path)
    assert data.patches[0, 0, 0] == 1 and data.patches[0, 0, 1] == -1


def test_unknown_and_duplicate_class_folders_are_refused(tmp_path):
    write_v5(tmp_path / "horizon" / "a.mat", x=image(0))
    (tmp_path / "rock").mkdir()
    with pytest.raises(BadInput, match="unknown class folder .*rock"):
        load_landmass(tmp_path)
    (tmp_path / "rock").rmdir()
    (tmp_path / "Salt Dome").mkdir()
    (tmp_path / "salt_dome").mkdir()
    with pytest.raises(BadInput, match="'Salt Dome' and 'salt_dome' .* both the salt_dome class"):
        load_landmass(tmp_path)


def test_empty_trees_and_unknown_shapes_are_refused(tmp_path):
    with pytest.raises(BadInput, match="does not exist"):
        load_landmass(tmp_path / "nowhere")
    with pytest.raises(BadInput, match="no class folders"):
        load_landmass(tmp_path)
    (tmp_path / "fault").mkdir()
    with pytest.raises(BadInput, match="no .mat files"):
        load_landmass(tmp_path)
    write_v5(tmp_path / "fault" / "a.mat", x=image(0, (64, 64)))
    with pytest.raises(BadInput, match="neither LANDMASS-1 .* nor LANDMASS-2"):
        load_landmass(tmp_path)
    with pytest.raises(BadInput, match="version must be 1 or 2"):
        load_landmass(tmp_path, version=3)


def test_patch_sets_check_their_parts():
    patches = np.zeros((2, 99, 99), np.float32)
    with pytest.raises(BadInput, match="one label and one file per patch"):
        PatchSet(patches, np.zeros(3, np.int64), ("a", "b"))
    with pytest.raises(BadInput, match="labels must lie in 0..3"):
        PatchSet(patches, np.array([0, 4]), ("a", "b"))
    assert PatchSet(patches, np.array([2, 2]), ("a", "b")).counts == {
        "horizon": 0, "chaotic": 0, "fault": 2, "salt_dome": 0}


def test_relative_paths_are_posix(landmass1):
    root, _ = landmass1
    assert all("\\" not in name and not Path(name).is_absolute() for name in load_landmass(root).files)
