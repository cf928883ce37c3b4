"""The results schema: writers that emit other columns (or percentages where fractions belong) fail
before writing, readers of an older file get one line naming it, the column and the command, the
rendering conventions (percent, pp) hold in one place, and results/README.md lists every artefact."""
from __future__ import annotations

import math
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from support import PROJECT

from protocols import paper
from protocols.tables import paper_table, write_paper_table
from repro import results_schema as schema
from repro.cli import main
from repro.report.cells import FORMATS, MISSING, CsvCells, render
from repro.report.tables import artefact_markdown, difference, value


def test_every_artefact_is_complete_and_every_unit_has_a_format():
    assert {u.fmt for u in schema.UNITS.values()} <= set(FORMATS)
    files = []
    for artefact in schema.declared():
        assert artefact.kind in ("csv", "figure", "markdown", "json", "html", "directory")
        assert artefact.what and artefact.command.startswith(("repro ", "python ")) and artefact.version >= 1
        assert (artefact.kind in ("csv", "figure")) == bool(artefact.columns), artefact.id
        assert len(set(artefact.names)) == len(artefact.names), artefact.id
        files += artefact.files()
    assert len(files) == len(set(files))  # no two artefacts claim the same file


def test_a_writer_emitting_another_column_fails_before_writing(tmp_path):
    old_form = paper_table(3).rename(columns={"top5_err": "top5_err_pct"})
    with pytest.raises(schema.SchemaError) as error:
        schema.write_frame(schema.TABLE3_PAPER, old_form, tmp_path)
    message = str(error.value)
    assert "\n" not in message and str(tmp_path / "table3_classification_paper.csv") in message
    assert "missing column top5_err" in message and "unexpected column top5_err_pct" in message
    assert not list(tmp_path.iterdir())  # nothing written, not even a temporary file


def test_a_writer_storing_percentages_where_fractions_belong_fails(tmp_path):
    as_printed = paper.TABLE4.rename(columns={"map_pct": "map"})  # 43.9 in a fraction column
    with pytest.raises(schema.SchemaError, match=r"column map: 22\.6 is outside \[0, 1\] of unit fraction"):
        schema.write_frame(schema.TABLE4_PAPER, as_printed, tmp_path)
    words = paper_table(2).assign(top5_err="low")
    with pytest.raises(schema.SchemaError, match="column top5_err: 'low' is not a number"):
        schema.write_frame(schema.TABLE2_PAPER, words, tmp_path)


def test_written_tables_read_back_equal_in_schema_order(tmp_path):
    for number in (2, 3, 4, 5):
        write_paper_table(number, tmp_path)
        artefact = schema.get(f"table{number}_paper")
        back = schema.read_frame(artefact, tmp_path)
        assert list(back.columns) == artefact.names
        pd.testing.assert_frame_equal(back, paper_table(number), check_dtype=False)
    assert paper_table(3)["top5_err"].tolist() == [0.1007, 0.0915, 0.0789, 0.0809, 0.0762, 0.0667]
    assert paper_table(4).set_index("team").loc["GoogLeNet", "map"] == 0.439


def test_a_reader_of_an_older_file_gets_one_line_naming_file_column_and_command(tmp_path, capsys):
    # how `repro table 4` wrote the paper's Table 4 before the schema: mAP printed as a percentage
    paper.TABLE4.to_csv(tmp_path / "table4_detection_paper.csv", index=False)
    with pytest.raises(schema.SchemaError) as error:
        schema.read_frame(schema.TABLE4_PAPER, tmp_path)
    message = str(error.value)
    assert message.startswith(str(tmp_path / "table4_detection_paper.csv") + ": ")
    assert "missing column map;" in message and "unexpected column map_pct" in message
    assert "`repro table 4 --out results`" in message and "\n" not in message
    # the report stops on an older measured table the same way, as a one-line CLI error
    paper.TABLE3.to_csv(tmp_path / "table3_classification.csv", index=False)
    assert main(["report", "--results", str(tmp_path), "--out", str(tmp_path / "report")]) == 2
    err = capsys.readouterr().err.strip()
    assert "\n" not in err and str(tmp_path / "table3_classification.csv") in err
    assert "repro table 3 --store STORE" in err and "missing column" in err


def test_a_missing_file_names_the_command_that_makes_it(tmp_path):
    with pytest.raises(schema.SchemaError, match=r"det_eval_single\.csv does not exist; regenerate it "
                                                 r"with `repro det-eval"):
        schema.read_frame(schema.DET_EVAL, tmp_path, "single")
    with pytest.raises(schema.SchemaError, match="table3_classification.csv is not a readable CSV"):
        (tmp_path / "table3_classification.csv").write_bytes(b"\xff\xfe\x00bad")
        schema.read_frame(schema.TABLE3, tmp_path)


def test_rows_may_omit_a_column_but_never_add_one():
    frame = schema.frame_of(schema.BENCH_PEERS, [{"peer": "torchvision", "model": "m", "note": "not run"}])
    assert list(frame.columns) == schema.BENCH_PEERS.names and math.isnan(frame.at[0, "images_per_s"])
    with pytest.raises(schema.SchemaError, match="undeclared column.*images_s"):
        schema.frame_of(schema.BENCH_PEERS, [{"peer": "x", "images_s": 3.0}])
    with pytest.raises(schema.ReproError, match="Did you mean table3"):
        schema.get("tabel3")


def test_rendering_conventions_percent_pp_and_missing():
    assert render(0.1234, "pct") == "12.34%"
    assert render(-0.0067, "pp") == "-0.67 pp" and render(0.0, "pp") == "+0.00 pp"
    assert render(2.5081, "pct_signed") == "+250.8%"
    assert render(1.144, "times") == "1.14x"
    assert render(1234567, "int") == "1,234,567" and render(-338432, "int_signed") == "-338,432"
    assert render(12345.6, "number") == "12,346" and render(102.25, "number") == "102.2"
    assert render(2700, "si") == "2.7K" and render(118013952, "si") == "118M"
    for missing in (None, float("nan"), "", pd.NA, np.nan):
        assert render(missing, "pct") == MISSING
    frame = pd.DataFrame({"top5_err": [0.1007], "paper_top5_err": [0.05], "vs_base": [-0.0092],
                          "cost": [1008], "n_images": [300], "n_evaluated": [290]})
    cells = CsvCells("run", "table3_classification.csv", frame, schema.TABLE3)
    assert cells.value(0, "top5_err").text == "10.07%"  # the unit decides: a fraction prints as percent
    assert cells.value(0, "vs_base").text == "-0.92 pp"
    assert cells.diff(0, "top5_err", "paper_top5_err").text == "+5.07 pp"  # a difference of rates: pp
    assert cells.diff(0, "n_evaluated", "n_images").text == "-10"  # of counts: a signed count
    assert cells.value(0, "cost").text == "1,008"


def test_the_writers_markdown_uses_the_one_renderer(tmp_path):
    write_paper_table(3, tmp_path)
    text = (tmp_path / "table3_classification_paper.md").read_text()
    assert "|        1 |       1 |      1 |        10.07% |  +0.00 pp |" in text
    assert "-3.45 pp" in text and not re.search(r"[+-]\d+\.\d+%", text)  # no signed percent for pp
    grid = artefact_markdown(schema.TABLE3_PAPER, paper_table(3),
                             [value("top-5", "top5_err"), difference("itself", "top5_err", "top5_err")])
    assert [c.strip() for c in grid.splitlines()[2].split("|")[1:-1]] == ["10.07%", "+0.00 pp"]
    assert grid.splitlines()[1] == "|--------:|---------:|"  # numbers aligned right


def test_results_readme_is_generated_from_the_schema_and_lists_every_artefact(tmp_path):
    readme = PROJECT / "results" / "README.md"
    assert readme.read_text() == schema.readme_markdown(), (
        f"results/README.md is out of date: run `{schema.README_COMMAND}`")
    for artefact in schema.declared():
        for name in (f"`{artefact.file}.{{png,svg,csv}}`",) if artefact.kind == "figure" else \
                [f"`{f}`" for f in artefact.files()]:
            assert name in readme.read_text(), name
        assert f"`{artefact.command}`" in readme.read_text()
    assert schema.main([str(tmp_path / "README.md")]) == 0
    assert (tmp_path / "README.md").read_text() == readme.read_text()


def test_committed_results_follow_the_schema():
    results = PROJECT / "results"
    for artefact in schema.declared():
        if artefact.kind not in ("csv", "figure") or "*" in artefact.file:
            continue
        path = artefact.csv_path(results)
        if path.is_file():
            schema.read_frame_at(artefact, path)
    for path in sorted(results.glob("det_eval_*.csv")):
        schema.read_frame_at(schema.DET_EVAL, path)
    assert Path(schema.TABLE4.path(results)).is_file()
