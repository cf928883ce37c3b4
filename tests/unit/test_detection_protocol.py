"""A detection protocol runs selective search at its own scale, under its own cache id."""
from __future__ import annotations

import dataclasses

import pytest

import protocols  # noqa: F401 (registrations)
from repro.detect.proposals import selective_search_source
from repro.detect.specs import DETECTION_PROTOCOLS, SELECTIVE_SEARCH
from repro.errors import ReproError


def test_the_paper_protocol_runs_the_registered_configurations():
    paper = DETECTION_PROTOCOLS.get("paper")
    assert paper.selective_search("paper-doubled") == SELECTIVE_SEARCH.get("paper-doubled")


def test_the_mini_protocol_halves_width_and_minimum_side_and_caches_apart():
    mini, registered = DETECTION_PROTOCOLS.get("mini"), SELECTIVE_SEARCH.get("rcnn-fast")
    scaled = mini.selective_search("rcnn-fast")
    assert mini.proposal_scale == 0.5
    assert (scaled.canonical_width, scaled.min_side) == (250, 10)
    assert (scaled.ks, scaled.strategies, scaled.color_spaces) == (registered.ks, registered.strategies,
                                                                   registered.color_spaces)
    assert selective_search_source(scaled).key != selective_search_source(registered).key


@pytest.mark.parametrize("scale", [0.0, -1.0, 5.0])
def test_a_scale_out_of_range_is_refused_naming_the_protocol(scale):
    with pytest.raises(ReproError, match="'mini'.*proposal_scale"):
        dataclasses.replace(DETECTION_PROTOCOLS.get("mini"), proposal_scale=scale)
