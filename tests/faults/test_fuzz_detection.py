"""Property-based fuzzing (hypothesis) of the detection inputs and the evaluator: the submission and XML
readers either parse or raise ReproError naming the file (and line); AP stays in [0, 1] (NaN only without
positives), does not depend on the order of lines with distinct scores, and is never raised by a
duplicated detection where the devkit's matching cannot give the copy an object of its own."""
from __future__ import annotations

import re
import warnings
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from support import toy_meta, write_xml

from repro.data.ilsvrc.det import ImageAnnotation, read_annotation
from repro.errors import ReproError
from repro.metrics.det_eval import Detections, DetGroundTruth, evaluate, load_submission

pytestmark = [pytest.mark.faults,
              pytest.mark.filterwarnings("ignore::repro.metrics.det_eval.UndefinedAPWarning")]

# derandomize: CI sees the same examples every run; the database would make runs depend on history
FUZZ = settings(max_examples=150, derandomize=True, deadline=None, database=None,
                suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
SIZE, CLASSES, IMAGES = 60, 3, 3

# ---- the submission parser ----------------------------------------------------------------------------

_FIELD = st.one_of(st.integers(-5, 2**70).map(str), st.floats(allow_nan=True, allow_infinity=True).map(repr),
                   st.sampled_from(["", "1e999", "-0", "0x10", "1_0", "nan", "inf", "\u0661", "1.5e-3",
                                    "9" * 30, "\x00", "#"]),
                   st.text(max_size=6))
_LINE = st.lists(_FIELD, min_size=0, max_size=9).map(" ".join)
_SUBMISSION = st.one_of(st.lists(_LINE, max_size=8).map("\n".join).map(str.encode),
                        st.text(max_size=200).map(lambda t: t.encode("utf-8", "surrogatepass")),
                        st.binary(max_size=200))


@FUZZ
@given(content=_SUBMISSION)
def test_submission_parser_parses_or_names_the_file_and_line(tmp_path: Path, content: bytes):
    path = tmp_path / "sub.txt"
    path.write_bytes(content)
    try:
        detections = load_submission(path)
    except ReproError as exc:
        message = str(exc)
        assert str(path) in message
        assert re.search(r"line \d+:", message) or "cannot read" in message, message
        return
    lines = content.decode("utf-8").splitlines()
    assert len(detections) == sum(1 for line in lines if line.split())
    assert np.isfinite(detections.scores).all() and np.isfinite(detections.boxes).all()


def test_a_bad_field_is_reported_on_its_own_line(tmp_path):
    path = tmp_path / "sub.txt"
    path.write_text("1 1 0.5 0 0 9 9\n\n1 1 0.4 0 0 9 x\n")
    with pytest.raises(ReproError, match=r"sub\.txt line 3: ymax 'x' is not a number"):
        load_submission(path)


# ---- the XML reader ---------------------------------------------------------------------------------

def _valid_xml(tmp_path: Path) -> str:
    return write_xml(tmp_path / "base.xml", 50, 40, [("n00000001", 0, 0, 49, 39),
                                                      ("n00000002", 5, 6, 20, 30)]).read_text()


_MUTATION = st.tuples(st.integers(0, 400), st.integers(0, 40),
                      st.one_of(st.text(max_size=12), st.sampled_from(
                          ["<", ">", "</object>", "<name>n00000009</name>", "-1", "99999", "1e3", "&x;",
                           "<!DOCTYPE a [<!ENTITY x 'y'>]>", "\x00", "\u00e9", "9" * 5000])))


@FUZZ
@given(mutations=st.lists(_MUTATION, min_size=1, max_size=4), raw=st.none() | st.binary(max_size=120))
def test_xml_reader_parses_or_names_the_file(tmp_path: Path, mutations, raw):
    if raw is None:
        text = _valid_xml(tmp_path)
        for start, length, insert in mutations:
            text = text[:start] + insert + text[start + length:]
        content = text.encode("utf-8", "surrogatepass")
    else:
        content = raw
    path = tmp_path / "x.xml"
    path.write_bytes(content)
    try:
        annotation = read_annotation(path, toy_meta())
    except ReproError as exc:
        assert str(path) in str(exc)
        return
    boxes = annotation.boxes
    assert annotation.width >= 1 and annotation.height >= 1
    assert ((boxes[:, 0] >= 0) & (boxes[:, 2] < annotation.width) & (boxes[:, 0] <= boxes[:, 2])).all()
    assert ((boxes[:, 1] >= 0) & (boxes[:, 3] < annotation.height) & (boxes[:, 1] <= boxes[:, 3])).all()
    assert set(annotation.class_ids.tolist()) <= {1, 2, 3}


# ---- the evaluator ----------------------------------------------------------------------------------

@st.composite
def _box(draw) -> tuple[int, int, int, int]:
    x0, y0 = draw(st.integers(0, SIZE - 2)), draw(st.integers(0, SIZE - 2))
    return x0, y0, draw(st.integers(x0, SIZE - 1)), draw(st.integers(y0, SIZE - 1))


_OBJECT = st.tuples(st.integers(1, IMAGES), st.integers(1, CLASSES), _box())


@st.composite
def _case(draw, one_object_per_class: bool = False):
    """Ground truth of IMAGES images and detections with distinct scores, many near the objects."""
    objects = draw(st.lists(_OBJECT, max_size=8))
    if one_object_per_class:
        objects = list({(image, cls): (image, cls, box) for image, cls, box in objects}.values())
    annotations = []
    for image in range(1, IMAGES + 1):
        mine = [(cls, box) for i, cls, box in objects if i == image]
        annotations.append(ImageAnnotation(f"im{image}", SIZE, SIZE, tuple("n" for _ in mine),
                                           np.array([c for c, _ in mine], np.int64),
                                           np.array([b for _, b in mine], np.int64).reshape(-1, 4)))
    truth = DetGroundTruth.from_annotations(np.arange(1, IMAGES + 1), annotations, CLASSES)
    # half of the detections jitter an object (likely true positives), the rest are anywhere
    near = [(image, cls, tuple(int(np.clip(v + d, 0, SIZE - 1)) for v, d in zip(box, jitter)))
            for (image, cls, box), jitter in zip(objects, draw(st.lists(
                st.tuples(*[st.integers(-4, 4)] * 4), min_size=len(objects), max_size=len(objects))))]
    anywhere = draw(st.lists(_OBJECT, max_size=8))
    rows = [(i, c, (min(b[0], b[2]), min(b[1], b[3]), max(b[0], b[2]), max(b[1], b[3])))
            for i, c, b in near + anywhere]
    scores = draw(st.lists(st.integers(0, 10**6), min_size=len(rows), max_size=len(rows), unique=True))
    return truth, rows, [s / 10**6 for s in scores]


def _detections(rows, scores) -> Detections:
    return Detections([r[0] for r in rows], [r[1] for r in rows], scores,
                      np.array([r[2] for r in rows], np.float64).reshape(-1, 4))


def _ap(truth: DetGroundTruth, rows, scores) -> np.ndarray:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return evaluate(_detections(rows, scores), truth).ap


@FUZZ
@given(case=_case(), permutation_seed=st.integers(0, 2**32 - 1))
def test_ap_is_a_probability_and_does_not_depend_on_the_order_of_lines(case, permutation_seed):
    truth, rows, scores = case
    ap = _ap(truth, rows, scores)
    n_pos = np.bincount(truth.object_class, minlength=CLASSES + 1)[1:]
    assert np.array_equal(np.isnan(ap), n_pos == 0)
    assert ((ap[n_pos > 0] >= 0) & (ap[n_pos > 0] <= 1)).all()
    order = np.random.default_rng(permutation_seed).permutation(len(rows))
    shuffled = _ap(truth, [rows[i] for i in order], [scores[i] for i in order])
    np.testing.assert_array_equal(shuffled, ap)


@FUZZ
@given(case=_case(one_object_per_class=True), data=st.data())
def test_duplicating_a_detection_never_raises_any_ap(case, data):
    truth, rows, scores = case
    if not rows:
        return
    copied = data.draw(st.integers(0, len(rows) - 1), label="copied row")
    at = data.draw(st.integers(0, len(rows)), label="inserted at")
    ap = _ap(truth, rows, scores)
    doubled = _ap(truth, rows[:at] + [rows[copied]] + rows[at:], scores[:at] + [scores[copied]] + scores[at:])
    defined = ~np.isnan(ap)
    assert (doubled[defined] <= ap[defined]).all()
    assert np.array_equal(np.isnan(doubled), ~defined)


def test_under_the_devkit_rule_a_duplicate_can_take_a_second_object():
    """Why the duplicate property above needs one object per (image, class): the devkit matches a
    detection whose best object is taken to the next object over the threshold, so a copy of a box that
    overlaps two objects is a second true positive (AP 0.5 -> 1)."""
    objects = np.array([[0, 0, 29, 29], [0, 3, 29, 32]])
    annotation = ImageAnnotation("im1", SIZE, SIZE, ("n", "n"), np.array([1, 1]), objects)
    truth = DetGroundTruth.from_annotations([1], [annotation], 1)
    row = (1, 1, (0, 1, 29, 30))
    assert _ap(truth, [row], [0.9])[0] == pytest.approx(0.5)
    assert _ap(truth, [row, row], [0.9, 0.9])[0] == pytest.approx(1.0)
