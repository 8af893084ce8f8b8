"""``rather data``: the manifests, and checking local copies laid out as the publishers lay them out."""
import hashlib
import json
from pathlib import Path

import pytest

from rather.common import BadInput
from rather.suites.cli import main
from rather.suites.manifests import REQUIRED_KEYS, all_manifests, find_manifest, validate_manifest, with_counts

NAMES = ["CSIQ", "CUB-200-2011", "F3", "FGVC-Aircraft", "ImageNet-val", "KADID-10k", "LANDMASS-1", "LANDMASS-2",
         "LIVE", "Stanford-Cars", "TID2013"]


def rows(*lines: str) -> str:
    return "".join(line + "\n" for line in lines)


# Per data set: a tiny copy with the publisher's file names, and the counts that copy has
# (expectation path or glob -> number; a pair for a per-folder count).
FIXTURES = {
    "LANDMASS-1": ({"horizon/horizon_0001.mat": "", "chaotic/chaotic_0001.mat": "", "fault/fault_0001.mat": "",
                    "salt dome/saltdome_0001.mat": "", "salt dome/saltdome_0002.mat": ""},
                   {"horizon*/*.mat": 1, "chaotic*/*.mat": 1, "fault*/*.mat": 1, "salt*dome*/*.mat": 2}),
    "LANDMASS-2": ({"Horizon/horizon_0001.mat": "", "Chaotic/chaotic_0001.mat": "", "Fault/fault_0001.mat": "",
                    "Salt_Dome/saltdome_0001.mat": ""},
                   {"horizon*/*.mat": 1, "chaotic*/*.mat": 1, "fault*/*.mat": 1, "salt*dome*/*.mat": 1}),
    "F3": ({"train/train_seismic.npy": "", "train/train_labels.npy": "", "test_once/test1_seismic.npy": "",
            "test_once/test1_labels.npy": "", "test_once/test2_seismic.npy": "", "test_once/test2_labels.npy": ""},
           {}),
    "TID2013": ({"mos_with_names.txt": rows("5.51429 i01_01_1.bmp", "5.56757 i01_01_2.bmp", "4.94595 i02_24_5.bmp"),
                 "reference_images/I01.BMP": "", "reference_images/I02.BMP": "",
                 "distorted_images/i01_01_1.bmp": "", "distorted_images/i01_01_2.bmp": "",
                 "distorted_images/i02_24_5.bmp": ""},
                {"mos_with_names.txt": 3, "reference_images/i??.bmp": 2, "distorted_images/i??_??_?.bmp": 3}),
    "KADID-10k": ({"dmos.csv": rows("dist_img,ref_img,dmos,var", "I01_01_01.png,I01.png,4.57,0.496",
                                    "I02_25_05.png,I02.png,1.23,0.312"),
                   "images/I01.png": "", "images/I02.png": "", "images/I01_01_01.png": "", "images/I02_25_05.png": ""},
                  {"dmos.csv": 3, "images/i??.png": 2, "images/i??_??_??.png": 2}),
    "LIVE": ({"dmos.mat": "", "refnames_all.mat": "", "refimgs/bikes.bmp": "", "refimgs/buildings.bmp": "",
              "jp2k/img1.bmp": "", "jp2k/img2.bmp": "", "jp2k/info.txt": "", "jpeg/img1.bmp": "", "wn/img1.bmp": "",
              "gblur/img1.bmp": "", "fastfading/img1.bmp": ""},
             {"refimgs/*.bmp": 2, "jp2k/img*.bmp": 2, "jpeg/img*.bmp": 1, "wn/img*.bmp": 1, "gblur/img*.bmp": 1,
              "fastfading/img*.bmp": 1}),
    "CSIQ": ({"csiq.DMOS.xlsx": "", "src_imgs/1600.png": "", "src_imgs/aerial_city.png": "",
              "dst_imgs/AWGN/1600.AWGN.1.png": "", "dst_imgs/jpeg/1600.JPEG.1.png": "",
              "dst_imgs/jpeg2000/1600.jpeg2000.1.png": "", "dst_imgs/fnoise/1600.fnoise.1.png": "",
              "dst_imgs/BLUR/1600.BLUR.1.png": "", "dst_imgs/contrast/1600.contrast.1.png": "",
              "dst_imgs/contrast/aerial_city.contrast.1.png": ""},
             {"src_imgs/*.png": 2, "dst_imgs/awgn/*.png": 1, "dst_imgs/jpeg/*.png": 1, "dst_imgs/jpeg2000/*.png": 1,
              "dst_imgs/fnoise/*.png": 1, "dst_imgs/blur/*.png": 1, "dst_imgs/contrast/*.png": 2}),
    "CUB-200-2011": ({"images.txt": rows("1 001.Black_footed_Albatross/Black_Footed_Albatross_0046_18.jpg",
                                         "2 002.Laysan_Albatross/Laysan_Albatross_0002_1027.jpg"),
                      "image_class_labels.txt": rows("1 1", "2 2"), "train_test_split.txt": rows("1 0", "2 1"),
                      "bounding_boxes.txt": rows("1 60.0 27.0 325.0 304.0", "2 139.0 30.0 153.0 264.0"),
                      "classes.txt": rows("1 001.Black_footed_Albatross", "2 002.Laysan_Albatross"),
                      "parts/parts.txt": rows("1 back", "2 beak"), "parts/part_locs.txt": rows("1 1 0.0 0.0 0"),
                      "images/001.Black_footed_Albatross/Black_Footed_Albatross_0046_18.jpg": "",
                      "images/002.Laysan_Albatross/Laysan_Albatross_0002_1027.jpg": ""},
                     {"images.txt": 2, "image_class_labels.txt": 2, "train_test_split.txt": 2,
                      "bounding_boxes.txt": 2, "classes.txt": 2, "parts/parts.txt": 2, "parts/part_locs.txt": 1,
                      "images/*/": 2, "images/*/*.jpg": 2}),
    "Stanford-Cars": ({"cars_train/00001.jpg": "", "cars_train/00002.jpg": "", "cars_test/00001.jpg": "",
                       "devkit/cars_meta.mat": "", "devkit/cars_train_annos.mat": "", "devkit/cars_test_annos.mat": "",
                       "cars_test_annos_withlabels.mat": ""},
                      {"cars_train/*.jpg": 2, "cars_test/*.jpg": 1}),
    "FGVC-Aircraft": ({"data/images/1025794.jpg": "", "data/images/0034309.jpg": "", "data/images/0056978.jpg": "",
                       "data/variants.txt": rows("707-320", "A300B4"), "data/families.txt": rows("Boeing 707", "A300"),
                       "data/manufacturers.txt": rows("Boeing", "Airbus"),
                       "data/images_box.txt": rows("1025794 3 144 998 431", "0034309 83 155 964 462",
                                                   "0056978 6 102 1007 384"),
                       "data/images_variant_train.txt": rows("1025794 707-320"),
                       "data/images_variant_val.txt": rows("0034309 A300B4"),
                       "data/images_variant_test.txt": rows("0056978 A300B4")},
                      {"data/images/*.jpg": 3, "data/variants.txt": 2, "data/families.txt": 2,
                       "data/manufacturers.txt": 2, "data/images_box.txt": 3, "data/images_variant_train.txt": 1,
                       "data/images_variant_val.txt": 1, "data/images_variant_test.txt": 1}),
    "ImageNet-val": ({"LOC_val_solution.csv": rows("ImageId,PredictionString",
                                                   "ILSVRC2012_val_00000001,n01751748 111 108 441 342",
                                                   "ILSVRC2012_val_00000002,n09193705 30 0 500 353"),
                      "LOC_synset_mapping.txt": rows("n01751748 sea snake", "n09193705 alp"),
                      "ILSVRC/Data/CLS-LOC/val/ILSVRC2012_val_00000001.JPEG": "",
                      "ILSVRC/Data/CLS-LOC/val/ILSVRC2012_val_00000002.JPEG": "",
                      "ILSVRC/Annotations/CLS-LOC/val/ILSVRC2012_val_00000001.xml": "",
                      "ILSVRC/Annotations/CLS-LOC/val/ILSVRC2012_val_00000002.xml": ""},
                     {"LOC_val_solution.csv": 3, "LOC_synset_mapping.txt": 2, "ILSVRC/Data/CLS-LOC/val/*.JPEG": 2,
                      "ILSVRC/Annotations/CLS-LOC/val/*.xml": 2}),
}


def make_tree(root: Path, files: dict[str, str]) -> Path:
    for name, text in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text)
    return root


def scaled_manifest(folder: Path, name: str, counts: dict) -> Path:
    """The named manifest with the counts of a small copy, written where `rather data check` can read it."""
    path = folder / f"{name}.json"
    path.write_text(json.dumps(with_counts(find_manifest(name), counts)))
    return path


def check(name: str, root: Path, capsys) -> tuple[int, list[str]]:
    capsys.readouterr()
    status = main(["data", "check", name, str(root)])
    return status, capsys.readouterr().out.splitlines()


def test_every_manifest_parses_and_has_the_required_keys():
    manifests = all_manifests()
    assert sorted(m["name"] for m in manifests) == NAMES
    for manifest in manifests:
        assert all(manifest[key] for key in REQUIRED_KEYS), manifest["name"]
        assert manifest["citation"].lstrip().startswith("@") and manifest["obtain"]["url"].startswith("http")
        assert manifest["domain"] in {"seismic", "iqa", "recognition"} and manifest["checksums"]["note"]
        for archive in manifest["checksums"]["archives"]:  # recorded only with where it is published
            assert archive["source"].startswith("https://") and len(archive["md5"]) == 32
        for layout in manifest["layouts"]:
            for entry in layout["expect"]:
                assert not entry.get("sha256") and not entry.get("md5"), "no index file's checksum is published"


def test_every_manifest_file_ships_in_the_package():
    folder = Path(__file__).resolve().parents[2] / "data_manifests"
    assert len(list(folder.glob("*.json"))) == len(NAMES)


def test_the_fixtures_cover_every_manifest():
    assert sorted(FIXTURES) == NAMES


@pytest.mark.parametrize("name", sorted(FIXTURES))
def test_a_small_copy_with_its_own_counts_is_valid(name, tmp_path, capsys):
    files, counts = FIXTURES[name]
    root = make_tree(tmp_path / "copy", files)
    manifest = scaled_manifest(tmp_path, name, counts)
    status, out = check(str(manifest), root, capsys)
    layouts = find_manifest(name)["layouts"]
    assert status == 0, out
    assert out[0].startswith(f"{name} at {root}: a valid copy (") and len(out) == 1
    assert f"layout {layouts[0]['name']!r}" in out[0]
    if counts:  # the same copy against the real counts is not a valid copy
        status, out = check(name, root, capsys)
        assert status == 1 and out[0].startswith(f"{name} at {root}: not a valid copy")


@pytest.fixture
def tid(tmp_path):
    files, counts = FIXTURES["TID2013"]
    return make_tree(tmp_path / "tid2013", files), counts


def test_missing_index_file_and_wrong_counts_one_line_each(tid, tmp_path, capsys):
    root, counts = tid
    (root / "mos_with_names.txt").unlink()
    (root / "distorted_images" / "i01_01_2.bmp").unlink()
    status, out = check(str(scaled_manifest(tmp_path, "TID2013", counts)), root, capsys)
    assert status == 1
    assert out == [
        f"TID2013 at {root}: not a valid copy (2 problems, layout 'published')",
        "missing: mos_with_names.txt (the MOS and file name of each distorted image)",
        "wrong count: distorted_images/i??_??_?.bmp matches 2 files, expected 3 (distorted images iRR_DD_L)",
    ]


def test_an_index_file_of_the_wrong_length(tid, tmp_path, capsys):
    root, counts = tid
    with open(root / "mos_with_names.txt", "a") as index:
        index.write("4.2 i02_24_4.bmp\n\n")  # one more entry; blank lines do not count
    status, out = check(str(scaled_manifest(tmp_path, "TID2013", counts)), root, capsys)
    assert status == 1
    assert out[1:] == ["wrong length: mos_with_names.txt has 4 lines, expected 3 "
                       "(the MOS and file name of each distorted image)"]


def test_recorded_checksums_are_checked(tid, tmp_path, capsys):
    root, counts = tid
    actual = hashlib.sha256((root / "mos_with_names.txt").read_bytes()).hexdigest()
    manifest = with_counts(find_manifest("TID2013"), counts)
    entry = manifest["layouts"][0]["expect"][0]
    assert entry["path"] == "mos_with_names.txt"
    entry["sha256"] = actual
    (tmp_path / "right.json").write_text(json.dumps(manifest))
    assert check(str(tmp_path / "right.json"), root, capsys)[0] == 0
    entry["sha256"] = "0" * 64
    (tmp_path / "wrong.json").write_text(json.dumps(manifest))
    status, out = check(str(tmp_path / "wrong.json"), root, capsys)
    assert status == 1
    assert out[1:] == [f"wrong checksum: mos_with_names.txt has sha256 {actual}, expected {'0' * 64}"]


def class_folders(root: Path, per_class: dict[str, int]) -> Path:
    for wnid, count in per_class.items():
        (root / "val" / wnid).mkdir(parents=True)
        for i in range(count):
            (root / "val" / wnid / f"ILSVRC2012_val_{wnid[-4:]}{i:04d}.JPEG").touch()
    return root


def test_per_class_counts(tmp_path, capsys):
    manifest = scaled_manifest(tmp_path, "ImageNet-val", {"val/n*/": (3, 2)})
    good = class_folders(tmp_path / "good", {"n01440764": 2, "n01443537": 2, "n15075141": 2})
    status, out = check(str(manifest), good, capsys)
    assert status == 0 and "layout 'class-folders'" in out[0]
    bad = class_folders(tmp_path / "bad", {"n01440764": 2, "n01443537": 1, "n15075141": 0})
    status, out = check(str(manifest), bad, capsys)
    assert status == 1
    assert out == [f"ImageNet-val at {bad}: not a valid copy (2 problems, layout 'class-folders')",
                   "wrong count: val/n01443537/ holds 1 file matching *.JPEG, expected 2",
                   "wrong count: val/n15075141/ holds 0 files matching *.JPEG, expected 2"]


@pytest.mark.parametrize("name, files", [
    ("LIVE", {"dmos.mat": 1, "refnames_all.mat": 1, "refimgs/r{}.bmp": 29, "jp2k/img{}.bmp": 227,
              "jpeg/img{}.bmp": 233, "wn/img{}.bmp": 174, "gblur/img{}.bmp": 174, "fastfading/img{}.bmp": 174}),
    ("CSIQ", {"csiq.DMOS.xlsx": 1, "src_imgs/s{}.png": 30, "dst_imgs/awgn/a{}.png": 150, "dst_imgs/jpeg/j{}.png": 150,
              "dst_imgs/jpeg2000/k{}.png": 150, "dst_imgs/fnoise/f{}.png": 150, "dst_imgs/blur/b{}.png": 150,
              "dst_imgs/contrast/c{}.png": 116}),
])
def test_a_copy_with_the_published_counts_is_valid(name, files, tmp_path, capsys):
    root = make_tree(tmp_path, {pattern.format(i): "" for pattern, n in files.items() for i in range(1, n + 1)})
    status, out = check(name, root, capsys)
    assert status == 0, out
    (root / "refimgs" / "r1.bmp" if name == "LIVE" else root / "src_imgs" / "s1.png").unlink()
    assert check(name, root, capsys)[0] == 1


def test_the_best_layout_is_reported(tmp_path, capsys):
    root = make_tree(tmp_path, {"survey/F3_entire.segy": ""})
    assert check("F3", root / "survey", capsys) == (0, [f"F3 at {root / 'survey'}: a valid copy "
                                                           "(1 check, layout 'segy-survey')"])
    (root / "train").mkdir()
    (root / "train" / "train_seismic.npy").touch()
    status, out = check("F3", root, capsys)
    assert status == 1 and "layout 'facies-benchmark'" in out[0]
    assert out[1] == "missing: train/train_labels.npy (training facies labels)"


def test_json_report(tid, tmp_path, capsys):
    root, counts = tid
    capsys.readouterr()
    assert main(["data", "check", str(scaled_manifest(tmp_path, "TID2013", counts)), str(root), "--json"]) == 0
    assert json.loads(capsys.readouterr().out) == {"name": "TID2013", "path": str(root), "valid": True,
                                                   "layout": "published", "checks": 3, "problems": [],
                                                   "hint": ""}


@pytest.mark.parametrize("arguments, message", [
    (["kadid10", "{tmp}"], "unknown data set 'kadid10'; close matches: KADID-10k (see `rather data list`)"),
    (["landmass", "{tmp}"], "close matches: LANDMASS-1, LANDMASS-2"),
    (["TID2013", "{tmp}/absent"], "{tmp}/absent: does not exist; pass the folder that holds the copy of TID2013"),
    (["TID2013", "{tmp}/file.txt"], "{tmp}/file.txt: is a file, not a folder"),
    (["{tmp}/absent.json", "{tmp}"], "manifest file {tmp}/absent.json: does not exist"),
    (["{tmp}/file.txt.json", "{tmp}"], "cannot be read as JSON"),
])
def test_bad_input_is_one_line_with_status_2(arguments, message, tmp_path, capsys):
    (tmp_path / "file.txt").touch()
    (tmp_path / "file.txt.json").write_text("{not json")
    capsys.readouterr()
    assert main(["data", "check", *[a.format(tmp=tmp_path) for a in arguments]]) == 2
    captured = capsys.readouterr()
    assert captured.out == "" and captured.err.startswith("rather data: error: ")
    assert message.format(tmp=tmp_path) in captured.err and captured.err.count("\n") == 1


def test_names_ignore_case_and_punctuation():
    assert find_manifest("kadid10k")["name"] == "KADID-10k"
    assert find_manifest("Stanford Cars")["name"] == "Stanford-Cars"
    assert find_manifest("imagenet_val")["name"] == "ImageNet-val"


def test_list(capsys):
    capsys.readouterr()
    assert main(["data", "list"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert [line.split()[0] for line in lines] == NAMES
    assert main(["data", "list", "--json"]) == 0
    listed = json.loads(capsys.readouterr().out)
    assert [item["name"] for item in listed] == NAMES
    assert set(listed[0]) == {"name", "title", "domain", "task", "summary", "url"}


@pytest.mark.parametrize("change, message", [
    (lambda m: m.pop("licence"), "lacks licence"),
    (lambda m: m["layouts"][0]["expect"].append({"glob": "x/*"}), "exactly one of 'count' and 'min'"),
    (lambda m: m["layouts"][0]["expect"].append({"path": "x/*.txt"}), "'path' names one file"),
    (lambda m: m["layouts"][0]["expect"].append({"glob": "x/*", "count": 1, "each": {"glob": "*", "count": 1}}),
     "'each' applies to a folder pattern"),
    (lambda m: m["layouts"][0]["expect"].append({"path": "x.txt", "sha256": "ABC"}), "lower-case hexadecimal"),
])
def test_malformed_manifests_are_refused(change, message):
    manifest = find_manifest("TID2013")
    change(manifest)
    with pytest.raises(BadInput, match=message):
        validate_manifest(manifest, "tid2013.json")



@pytest.mark.parametrize("arguments", [["data", "--debug", "check", "kadid10", "."],
                                       ["data", "check", "kadid10", ".", "--debug"]])
def test_debug_shows_the_traceback_wherever_it_is_given(arguments):
    with pytest.raises(BadInput, match="unknown data set"):
        main(arguments)


def test_a_copy_one_folder_down_is_pointed_at(tmp_path, capsys):
    files, counts = FIXTURES["LANDMASS-1"]
    make_tree(tmp_path / "LANDMASS" / "LANDMASS1", files)
    (tmp_path / "LANDMASS" / "README").touch()
    status, out = check(str(scaled_manifest(tmp_path, "LANDMASS-1", counts)), tmp_path / "LANDMASS", capsys)
    assert status == 1 and len(out) == 1 + 8 + 1
    assert out[-1] == (f"hint: {tmp_path / 'LANDMASS' / 'LANDMASS1'} looks like the copy (8 of 8 expectations met "
                       "there); check that folder")
