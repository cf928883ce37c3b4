"""ILSVRC2014 DET readers: meta_det.mat, eval lists, XML ground truth, blacklist (tiny files and real data)."""
from __future__ import annotations

import re

import numpy as np
import pytest
from support import DEVKIT, parse_val2, toy_meta, write_meta, write_xml

from repro.data.ilsvrc.det import (
    load_det_meta,
    read_annotation,
    read_annotations,
    read_blacklist,
    read_image_list,
    remap_blacklist,
)
from repro.errors import ReproError

# ---- meta_det.mat ---------------------------------------------------------------------------------

def test_real_meta_has_the_200_classes_of_the_devkit_demo_output(shared_data):
    meta = load_det_meta(shared_data(*DEVKIT, "meta_det.mat"))
    assert meta.num_classes == 200
    # readme.txt section 2.5 prints the demo's first and last five categories
    assert [c.name for c in meta.classes[:5]] == ["accordion", "airplane", "ant", "antelope", "apple"]
    assert [c.name for c in meta.classes[-5:]] == ["water bottle", "watercraft", "whale",
                                                   "wine bottle", "zebra"]
    assert meta.classes[0].wnid == "n02672831"
    assert all(re.fullmatch(r"n\d{8}", c.wnid) for c in meta.classes)


@pytest.mark.parametrize("id_field", ["ILSVRC2014_DET_ID", "ILSVRC2013_DET_ID"])
def test_small_meta_has_one_class_per_synset(tmp_path, id_field):
    meta = load_det_meta(write_meta(tmp_path / "meta_det.mat", id_field=id_field))
    assert [(c.class_id, c.wnid, c.name) for c in meta.classes] == [
        (1, "n00000001", "alpha"), (2, "n00000002", "beta"), (3, "n00000003", "gamma")]
    assert meta.wnid_to_class["n00000003"] == 3


def test_meta_with_ids_out_of_order_is_an_error(tmp_path):
    path = write_meta(tmp_path / "meta_det.mat", ids=[1, 3, 2])
    with pytest.raises(ReproError, match=r"meta_det\.mat.*synsets\(2\).*is 3, expected 2"):
        load_det_meta(path)


def test_meta_without_an_id_field_is_an_error(tmp_path):
    path = write_meta(tmp_path / "meta_det.mat", id_field="SOME_ID")
    with pytest.raises(ReproError, match="ILSVRC2014_DET_ID"):
        load_det_meta(path)


# ---- eval lists -----------------------------------------------------------------------------------

@pytest.mark.parametrize("name, count", [("val.txt", 20121), ("ilsvrc13_val2.txt", 9917),
                                         ("test.txt", 40152)])
def test_real_lists_index_equals_line_number(shared_data, name, count):
    image_list = read_image_list(shared_data(*DEVKIT, "det_lists", name))
    assert len(image_list) == count
    assert np.array_equal(image_list.indexes, np.arange(1, count + 1))


def test_val2_is_a_subset_of_val(shared_data):
    val = read_image_list(shared_data(*DEVKIT, "det_lists", "val.txt"))
    val2 = read_image_list(shared_data(*DEVKIT, "det_lists", "ilsvrc13_val2.txt"))
    assert val2.names[:2] == ("ILSVRC2012_val_00032300", "ILSVRC2012_val_00001007")
    assert set(val2.names) <= set(val.names)


TEXT_READERS = {"list": read_image_list, "blacklist": lambda path: read_blacklist(path, toy_meta())}


@pytest.mark.parametrize("reader, text, message", [
    ("list", "a 1\nb 2 extra\n", r"line 2: expected 'image_name image_index', got 3 fields"),
    ("list", "a 1\nb two\n", r"line 2: image index 'two' is not an integer"),
    ("list", "a 0\n", r"line 1: image index 0 must be >= 1"),
    ("list", "a 1\n\nb 1\n", r"line 3: image index 1 already used on line 1"),
    ("list", "a 1\na 2\n", r"line 2: image a already listed on line 1"),
    ("blacklist", "1 n00000001\n2 n09999999\n",
     r"line 2: 'n09999999' is not one of the 3 detection WNIDs"),
    ("blacklist", "1 n00000001 x\n", r"line 1: expected 'image_index WNID', got 3 fields"),
    ("blacklist", "one n00000001\n", r"line 1: image index 'one' is not an integer"),
])
def test_bad_text_lines_name_file_and_line(tmp_path, reader, text, message):
    path = tmp_path / f"{reader}.txt"
    path.write_text(text)
    with pytest.raises(ReproError, match=re.escape(str(path)) + " " + message):
        TEXT_READERS[reader](path)


def test_list_skips_blank_lines_and_keeps_file_order(tmp_path):
    path = tmp_path / "list.txt"
    path.write_text("b 2\n\n  \na 1\n")
    image_list = read_image_list(path)
    assert image_list.names == ("b", "a")
    assert image_list.indexes.tolist() == [2, 1]


# ---- XML ground truth -----------------------------------------------------------------------------

def test_xml_objects_in_file_order_with_inclusive_boxes_up_to_the_last_pixel(tmp_path):
    path = write_xml(tmp_path / "img.xml", 50, 40, [("n00000002", 0, 0, 49, 39),
                                                    ("n00000001", 10, 5, 10, 5)])
    annotation = read_annotation(path, toy_meta())
    assert (annotation.name, annotation.width, annotation.height) == ("img", 50, 40)
    assert annotation.wnids == ("n00000002", "n00000001")
    assert annotation.class_ids.tolist() == [2, 1]
    assert annotation.boxes.tolist() == [[0, 0, 49, 39], [10, 5, 10, 5]]


def test_xml_without_objects_is_valid(tmp_path):
    annotation = read_annotation(write_xml(tmp_path / "empty.xml", 8, 8, []), toy_meta())
    assert annotation.wnids == ()
    assert annotation.boxes.shape == (0, 4)
    assert annotation.class_ids.shape == (0,)


@pytest.mark.parametrize("objects, message", [
    ([("n09999999", 0, 0, 5, 5)], r"object 1: <name> 'n09999999' is not one of the 3 detection WNIDs"),
    ([("n00000001", 0, 0, 5, 5), ("n00000001", 0, 0, 50, 5)], r"object 2: box \(0,0,50,5\) is outside "
                                                               r"the 50x40 image"),
    ([("n00000001", 0, 0, 5, 40)], r"object 1: box \(0,0,5,40\) is outside"),
    ([("n00000001", -1, 0, 5, 5)], r"object 1: box \(-1,0,5,5\) is outside"),
    ([("n00000001", 6, 0, 5, 5)], r"object 1: box \(6,0,5,5\) has negative width or height"),
    ([("n00000001", 0, 0, "5a", 5)], r"object 1: <xmax> is '5a', not an integer"),
    ([("n00000001", 0, 0, "5.0", 5)], r"object 1: <xmax> is '5.0', not an integer"),
])
def test_bad_xml_objects_name_the_file_and_object(tmp_path, objects, message):
    path = write_xml(tmp_path / "bad.xml", 50, 40, objects)
    with pytest.raises(ReproError, match=re.escape(str(path)) + ": " + message):
        read_annotation(path, toy_meta())


@pytest.mark.parametrize("size, message", [
    ("\t<size>\n\t\t<width>50</width>\n\t</size>\n", r"missing <size/height>"),
    ("\t<size>\n\t\t<width>w</width>\n\t\t<height>4</height>\n\t</size>\n", r"<size/width> is 'w'"),
    ("\t<size>\n\t\t<width>0</width>\n\t\t<height>4</height>\n\t</size>\n", r"size 0x4 must be positive"),
])
def test_bad_xml_size_is_an_error(tmp_path, size, message):
    path = write_xml(tmp_path / "bad.xml", 0, 0, [], raw_size=size)
    with pytest.raises(ReproError, match=re.escape(str(path)) + ".*" + message):
        read_annotation(path, toy_meta())


def test_unparsable_xml_is_an_error(tmp_path):
    path = tmp_path / "broken.xml"
    path.write_text("<annotation><size><width>3</width>")
    with pytest.raises(ReproError, match=re.escape(str(path)) + ": cannot parse this XML file"):
        read_annotation(path, toy_meta())


def test_missing_xml_for_a_listed_image_is_an_error(tmp_path):
    write_xml(tmp_path / "a.xml", 8, 8, [])
    (tmp_path / "list.txt").write_text("a 1\nb 2\n")
    image_list = read_image_list(tmp_path / "list.txt")
    with pytest.raises(ReproError, match=r"b\.xml: missing ground truth for image b of .*list\.txt"):
        read_annotations(tmp_path, image_list, toy_meta())


@pytest.fixture
def val2(shared_data):
    return parse_val2(shared_data(*DEVKIT))


def test_real_val2_counts_agree_with_a_plain_text_count(val2):
    meta, image_list, annotations, gt_dir = val2
    assert len(annotations) == 9917
    texts = [(gt_dir / f"{name}.xml").read_text() for name in image_list.names]
    assert sum(len(a.wnids) for a in annotations) == sum(t.count("<object>") for t in texts)
    assert sum(len(a.wnids) == 0 for a in annotations) == sum("<object>" not in t for t in texts)
    for tag, column in (("xmin", 0), ("ymin", 1), ("xmax", 2), ("ymax", 3)):
        from_text = [int(v) for t in texts for v in re.findall(rf"<{tag}>(\d+)</{tag}>", t)]
        assert np.concatenate([a.boxes[:, column] for a in annotations]).tolist() == from_text
    wnids_in_text = {w for t in texts for w in re.findall(r"<name>(n\d+)</name>", t)}
    assert wnids_in_text == {c.wnid for c in meta.classes}  # every DET class occurs in val2
    assert all(a.name == name for a, name in zip(annotations, image_list.names))


def test_real_val2_first_listed_image(val2):
    # data/det_lists/ilsvrc13_val2.txt line 1 is ILSVRC2012_val_00032300; its XML read by hand
    _, image_list, annotations, gt_dir = val2
    text = (gt_dir / "ILSVRC2012_val_00032300.xml").read_text()
    first = annotations[0]
    assert first.name == image_list.names[0] == "ILSVRC2012_val_00032300"
    assert (first.width, first.height) == (int(re.search(r"<width>(\d+)", text).group(1)),
                                           int(re.search(r"<height>(\d+)", text).group(1)))
    assert list(first.wnids) == re.findall(r"<name>(n\d+)</name>", text)


def test_det_val_sample_matches_its_source_notes(shared_data):
    folder = shared_data("det-val-sample", "annotations")
    meta = load_det_meta(shared_data(*DEVKIT, "meta_det.mat"))
    annotations = [read_annotation(path, meta) for path in sorted(folder.glob("*.xml"))]
    # SOURCE.txt: 41 images, 120 objects, 30 DET WNIDs, max 18 objs/img, 1 image with zero objects
    counts = [len(a.wnids) for a in annotations]
    assert (len(annotations), sum(counts), max(counts), counts.count(0)) == (41, 120, 18, 1)
    assert len({w for a in annotations for w in a.wnids}) == 30


# ---- blacklist ------------------------------------------------------------------------------------

def test_real_blacklist_and_none_of_it_concerns_val2(shared_data):
    data = shared_data(*DEVKIT)
    meta = load_det_meta(data / "meta_det.mat")
    blacklist = read_blacklist(data / "ILSVRC2014_det_validation_blacklist.txt", meta)
    assert len(blacklist) == 409
    # first line "46 n00007846"; n00007846 is the DET class 'person'
    assert blacklist.image_indexes[0] == 46
    assert meta.classes[blacklist.class_ids[0] - 1].name == "person"
    val = read_image_list(data / "det_lists" / "val.txt")
    val2 = read_image_list(data / "det_lists" / "ilsvrc13_val2.txt")
    on_val2, unlisted = remap_blacklist(blacklist, val, val2)
    assert (len(on_val2), unlisted) == (0, 409)  # PAPER.md: no val2 image is blacklisted
    on_val, unlisted = remap_blacklist(blacklist, val, val)
    assert unlisted == 0
    assert np.array_equal(on_val.image_indexes, blacklist.image_indexes)


def test_remap_blacklist_by_image_name(tmp_path):
    (tmp_path / "full.txt").write_text("a 1\nb 2\nc 3\n")
    (tmp_path / "part.txt").write_text("c 1\na 2\n")
    (tmp_path / "blacklist.txt").write_text("3 n00000002\n2 n00000001\n1 n00000003\n")
    blacklist = read_blacklist(tmp_path / "blacklist.txt", toy_meta())
    remapped, unlisted = remap_blacklist(blacklist, read_image_list(tmp_path / "full.txt"),
                                         read_image_list(tmp_path / "part.txt"))
    assert unlisted == 1  # image b is not in part.txt
    assert remapped.image_indexes.tolist() == [1, 2]  # c -> 1, a -> 2
    assert remapped.class_ids.tolist() == [2, 3]
    assert remapped.describe(1).endswith("blacklist.txt line 3")
