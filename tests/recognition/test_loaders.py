"""The four fine-grained layouts, on fixture trees made here."""
import numpy as np
import pytest
import scipy.io
import torch
from PIL import Image

from rather.common import BadInput
from rather.recognition.data import FileData
from rather.recognition.loaders import (load_csv, load_cub200, load_fgvc_aircraft, load_imagefolder, load_imagenet_val,
                                         load_stanford_cars)


def write_image(path, height=40, width=50, value=100, banner=0):
    path.parent.mkdir(parents=True, exist_ok=True)
    array = np.full((height, width, 3), value, np.uint8)
    if banner:
        array[-banner:] = (255, 0, 0)
    Image.fromarray(array).save(path, format="JPEG" if path.suffix.lower() in (".jpg", ".jpeg") else "PNG",
                                quality=100, subsampling=0)


def write_lines(path, lines):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(lines) + "\n")


def cub_tree(root):
    base = root / "CUB_200_2011"
    images = ["001.Black_footed_Albatross/a1.jpg", "001.Black_footed_Albatross/a2.jpg", "002.Laysan_Albatross/b1.jpg"]
    for name in images:
        write_image(base / "images" / name)
    write_lines(base / "images.txt", [f"{i + 1} {name}" for i, name in enumerate(images)])
    write_lines(base / "image_class_labels.txt", ["1 1", "2 1", "3 2"])
    write_lines(base / "train_test_split.txt", ["1 1", "2 0", "3 0"])
    write_lines(base / "bounding_boxes.txt", ["1 10.0 5.0 20.0 30.0", "2 0.0 0.0 50.0 40.0", "3 5.0 6.0 7.0 8.0"])
    write_lines(base / "classes.txt", ["1 001.Black_footed_Albatross", "2 002.Laysan_Albatross"])
    write_lines(base / "parts" / "parts.txt", ["1 back", "2 beak"])
    write_lines(base / "parts" / "part_locs.txt", ["1 1 12.0 7.0 1", "1 2 0.0 0.0 0", "2 1 3.0 4.0 1",
                                                   "2 2 9.0 9.0 1", "3 1 0.0 0.0 0", "3 2 6.0 7.0 1"])
    return root


def test_cub200_splits_boxes_and_parts(tmp_path):
    root = cub_tree(tmp_path)
    test = load_cub200(root, "test")
    assert [p.name for p in test.paths] == ["a2.jpg", "b1.jpg"]
    assert test.labels.tolist() == [0, 1]
    np.testing.assert_array_equal(test.boxes, [[0, 0, 50, 40], [5, 6, 12, 14]])  # x, y, x + w, y + h
    assert test.class_names == ("001.Black_footed_Albatross", "002.Laysan_Albatross")
    np.testing.assert_array_equal(test.points[0], [[3, 4], [9, 9]])
    assert np.isnan(test.points[1, 0]).all() and test.points[1, 1].tolist() == [6, 7]
    train = load_cub200(root / "CUB_200_2011", "train")
    assert train.labels.tolist() == [0] and np.isnan(train.points[0, 1]).all()
    assert len(load_cub200(root, "all").paths) == 3
    assert len(set(load_cub200(root, "all").ids)) == 3


def test_cub200_missing_index_file_is_one_clear_line(tmp_path):
    root = cub_tree(tmp_path)
    (root / "CUB_200_2011" / "bounding_boxes.txt").unlink()
    with pytest.raises(BadInput, match="bounding_boxes.txt' is missing"):
        load_cub200(root)


def annotations(rows, with_class=True):
    fields = ["bbox_x1", "bbox_y1", "bbox_x2", "bbox_y2"] + (["class"] if with_class else []) + ["fname"]
    array = np.zeros(len(rows), dtype=[(name, object) for name in fields])
    for i, row in enumerate(rows):
        for name, value in zip(fields, row if with_class else row[:4] + row[5:]):
            array[i][name] = value
    return array


def cars_tree(root):
    (root / "devkit").mkdir()
    scipy.io.savemat(root / "devkit" / "cars_meta.mat",
                     {"class_names": np.array(["AM General Hummer SUV 2000", "Acura RL Sedan 2012"], dtype=object)})
    scipy.io.savemat(root / "devkit" / "cars_train_annos.mat",
                     {"annotations": annotations([(1, 2, 30, 20, 2, "00001.jpg"), (5, 5, 10, 10, 1, "00002.jpg")])})
    scipy.io.savemat(root / "devkit" / "cars_test_annos.mat",
                     {"annotations": annotations([(1, 1, 50, 40, 1, "00001.jpg")], with_class=False)})
    scipy.io.savemat(root / "cars_test_annos_withlabels.mat",
                     {"annotations": annotations([(1, 1, 50, 40, 1, "00001.jpg")])})
    for folder, names in (("cars_train", ["00001.jpg", "00002.jpg"]), ("cars_test", ["00001.jpg"])):
        for name in names:
            write_image(root / folder / name)
    return root


def test_stanford_cars_devkit_annotations(tmp_path):
    root = cars_tree(tmp_path)
    train = load_stanford_cars(root, "train")
    assert train.labels.tolist() == [1, 0]  # 1-based classes
    np.testing.assert_array_equal(train.boxes[0], [0, 1, 30, 20])  # 1-based inclusive -> pixel edges
    assert [p.parent.name for p in train.paths] == ["cars_train"] * 2
    test = load_stanford_cars(root, "test")
    assert test.labels.tolist() == [0] and test.paths[0].parent.name == "cars_test"
    assert test.class_names[1] == "Acura RL Sedan 2012"
    assert len(load_stanford_cars(root, "all").labels) == 3
    (root / "cars_test_annos_withlabels.mat").unlink()
    with pytest.raises(BadInput, match="cars_test_annos_withlabels.mat' is missing"):
        load_stanford_cars(root, "test")


def aircraft_tree(root):
    data = root / "fgvc-aircraft-2013b" / "data"
    write_lines(data / "variants.txt", ["707-320", "Cessna 172", "DHC-1"])
    write_lines(data / "images_variant_trainval.txt", ["0034309 Cessna 172", "0034958 707-320"])
    write_lines(data / "images_variant_test.txt", ["1514522 DHC-1"])
    write_lines(data / "images_box.txt", ["0034309 1 1 50 20", "0034958 11 21 40 30", "1514522 2 3 4 5"])
    for name in ("0034309", "0034958", "1514522"):
        write_image(data / "images" / f"{name}.jpg", height=68, width=48, banner=20)
    return root


def test_fgvc_aircraft_first_space_and_banner(tmp_path):
    root = aircraft_tree(tmp_path)
    train = load_fgvc_aircraft(root, "train")
    assert train.labels.tolist() == [1, 0]  # "Cessna 172" keeps its space
    np.testing.assert_array_equal(train.boxes, [[0, 0, 50, 20], [10, 20, 40, 30]])  # 1-based inclusive
    assert train.crop_bottom == 20
    assert load_fgvc_aircraft(root, "test").labels.tolist() == [2]
    shown, boxes = FileData(train, (48, 48)).load([0, 1])
    assert shown.shape == (2, 3, 48, 48)
    assert (shown[:, 0] - shown[:, 1]).abs().max() < 0.05  # grey: the red banner is gone
    torch.testing.assert_close(boxes[1], torch.tensor([10.0, 20.0, 40.0, 30.0]))


def test_fgvc_aircraft_unknown_variant(tmp_path):
    root = aircraft_tree(tmp_path)
    write_lines(root / "fgvc-aircraft-2013b" / "data" / "images_variant_test.txt", ["1514522 Spitfire"])
    with pytest.raises(BadInput, match="variant 'Spitfire'"):
        load_fgvc_aircraft(root, "test")


def imagenet_common(root):
    write_lines(root / "LOC_synset_mapping.txt", ["n01440764 tench, Tinca tinca", "n01443537 goldfish, Carassius"])
    for name in ("ILSVRC2012_val_00000001", "ILSVRC2012_val_00000002"):
        write_image(root / "ILSVRC" / "Data" / "CLS-LOC" / "val" / f"{name}.JPEG")


def test_imagenet_val_from_the_solution_csv(tmp_path):
    imagenet_common(tmp_path)
    write_lines(tmp_path / "LOC_val_solution.csv", [
        "ImageId,PredictionString",
        "ILSVRC2012_val_00000002,n01443537 1 2 10 12 n01443537 5 0 20 8 ",
        "ILSVRC2012_val_00000001,n01440764 3 4 30 35 ",
    ])
    data = load_imagenet_val(tmp_path)
    assert [p.stem for p in data.paths] == ["ILSVRC2012_val_00000001", "ILSVRC2012_val_00000002"]
    assert data.labels.tolist() == [0, 1]
    np.testing.assert_array_equal(data.boxes, [[3, 4, 30, 35], [1, 0, 20, 12]])  # union of the class's boxes
    assert data.class_names[1] == "goldfish, Carassius"
    assert all(path.is_file() for path in data.paths)
    with pytest.raises(BadInput, match="validation images only"):
        load_imagenet_val(tmp_path, "train")


def test_imagenet_val_from_xml(tmp_path):
    imagenet_common(tmp_path)
    folder = tmp_path / "Annotations" / "CLS-LOC" / "val"
    folder.mkdir(parents=True)
    for name, wnid, box in (("ILSVRC2012_val_00000001", "n01443537", (1, 2, 3, 4)),
                            ("ILSVRC2012_val_00000002", "n01440764", (5, 6, 7, 8))):
        (folder / f"{name}.xml").write_text(
            f"<annotation><filename>{name}</filename><object><name>{wnid}</name><bndbox><xmin>{box[0]}</xmin>"
            f"<ymin>{box[1]}</ymin><xmax>{box[2]}</xmax><ymax>{box[3]}</ymax></bndbox></object></annotation>")
    data = load_imagenet_val(tmp_path)
    assert data.labels.tolist() == [1, 0]
    np.testing.assert_array_equal(data.boxes, [[1, 2, 3, 4], [5, 6, 7, 8]])
    (tmp_path / "LOC_synset_mapping.txt").unlink()
    with pytest.raises(BadInput, match="LOC_synset_mapping.txt' is missing"):
        load_imagenet_val(tmp_path)


def image_folder(root, splits=("train", "test")):
    """Two classes (b_wren, a_finch) under each split folder, a stray text file and a hidden image."""
    for split in splits:
        base = root / split if split else root
        write_image(base / "b_wren" / "w1.png", value=30)
        write_image(base / "a_finch" / "f1.jpg", value=200)
        write_image(base / "a_finch" / "nested" / "f2.PNG", value=220)
        write_image(base / "a_finch" / ".hidden.png")
        (base / "a_finch" / "notes.txt").write_text("not an image")
    return root


def test_imagefolder_classes_are_sorted_folder_names_and_splits_are_folders(tmp_path):
    root = image_folder(tmp_path / "data")
    test = load_imagefolder(root, "test")
    assert test.class_names == ("a_finch", "b_wren")
    assert [p.relative_to(root).as_posix() for p in test.paths] == [
        "test/a_finch/f1.jpg", "test/a_finch/nested/f2.PNG", "test/b_wren/w1.png"]
    assert test.labels.tolist() == [0, 0, 1] and np.isnan(test.boxes).all()
    assert len(load_imagefolder(root, "all").paths) == 6 and len(set(load_imagefolder(root, "all").ids)) == 6
    ordered = load_imagefolder(root, "train", classes=("b_wren", "a_finch", "c_tit"))
    assert ordered.labels.tolist() == [1, 1, 0] and ordered.class_names[2] == "c_tit"


def test_imagefolder_without_split_folders_is_the_test_split(tmp_path):
    root = image_folder(tmp_path / "data", splits=("",))
    assert len(load_imagefolder(root, "test").paths) == 3 == len(load_imagefolder(root, "all").paths)
    with pytest.raises(BadInput, match="has no split folders .* use --split test"):
        load_imagefolder(root, "train")


def test_imagefolder_val_stands_for_test(tmp_path):
    root = image_folder(tmp_path / "data", splits=("train", "val"))
    assert all("val" in p.parts for p in load_imagefolder(root, "test").paths)


def write_csv(path, lines):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(lines) + "\n")
    return path


def test_csv_paths_labels_splits_and_boxes(tmp_path):
    write_image(tmp_path / "img" / "a.png")
    write_image(tmp_path / "img" / "b.png")
    table = write_csv(tmp_path / "labels.csv", ["path,label,split,x0,y0,x1,y1", "img/a.png,wren,test,1,2,30,20",
                                                "img/b.png,finch,train,,,,", f"{tmp_path / 'img' / 'b.png'},wren,test,,,,"])
    test = load_csv(table, "test")
    assert test.class_names == ("finch", "wren") and test.labels.tolist() == [1, 1]
    np.testing.assert_array_equal(test.boxes[0], [1, 2, 30, 20])
    assert np.isnan(test.boxes[1]).all()
    assert load_csv(table, "train").labels.tolist() == [0]
    assert len(load_csv(table, "all").paths) == 3


def test_csv_whole_number_labels_are_class_indices(tmp_path):
    write_image(tmp_path / "a.png")
    table = write_csv(tmp_path / "labels.csv", ["path,label", "a.png,3", "a.png,0"])
    listed = load_csv(table, "test")
    assert listed.labels.tolist() == [3, 0] and listed.class_names == ("0", "1", "2", "3")


@pytest.mark.parametrize("lines, message", [
    (["file,label", "a.png,x"], "has no 'path' column"),
    (["path,label,x0,y0", "a.png,x,1,2"], "a box needs all four columns"),
    (["path,label"], "has a header but no rows"),
    (["path,label", "b.png,x"], "line 2: image"),
    (["path,label,split", "a.png,x,val"], "line 2: split 'val' is neither train nor test"),
    (["path,label", "a.png,"], "line 2: the path or the label is empty"),
    (["path,label,x0,y0,x1,y1", "a.png,x,5,5,2,9"], "is not x0 < x1, y0 < y1"),
    (["path,label,x0,y0,x1,y1", "a.png,x,a,b,c,d"], "is not four numbers"),
    (["path,label,split", "a.png,x,train"], "lists no image in the test split"),
])
def test_csv_mistakes_name_the_line(tmp_path, lines, message):
    write_image(tmp_path / "a.png")
    with pytest.raises(BadInput, match=message):
        load_csv(write_csv(tmp_path / "labels.csv", lines), "test")
