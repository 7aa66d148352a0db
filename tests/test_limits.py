"""Bounded memory: row limits, the inputs archive, the size of every simulation, and CR-only CSV.

Each limit refuses before the work it guards, with one message naming the limit and
how to change it (an environment variable, or the parameter that lowers the need).
"""

from __future__ import annotations

import stat
import struct
import time
import zipfile
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from honorcalc.data.archive import archive_inputs, extract_inputs
from honorcalc.data.read import (
    DEFAULT_MAX_ROWS,
    MAX_ROWS_VARIABLE,
    load_dataset,
    max_table_rows,
    read_table,
)
from honorcalc.errors import InputError, ParamError

from .conftest import run_cli, set_cell, tiny_tables, write_tables

PARAMS = "dataset: data\nround: C2026Q1\n"


# --------------------------------------------------------------------------- rows


def _dictionary_parquet(path: Path, n_rows: int) -> Path:
    """Seven dictionary-encoded columns of one repeated value each: a few KB on disk, any number of rows."""
    chunk = pa.DictionaryArray.from_arrays(pa.array(np.zeros(1_000_000, dtype=np.int32)), pa.array(["C2026Q1"]))
    column = pa.chunked_array([chunk] * (n_rows // 1_000_000))
    names = ["round_id", "unit_id", "indicator_id", "rater_id", "source", "points", "visit"]
    pq.write_table(pa.table([column] * len(names), names=names), path)
    return path


def test_the_row_limit_is_documented_and_read_from_the_environment(monkeypatch):
    assert DEFAULT_MAX_ROWS == 20_000_000 and MAX_ROWS_VARIABLE == "HONORCALC_MAX_ROWS"
    monkeypatch.delenv(MAX_ROWS_VARIABLE, raising=False)
    assert max_table_rows() == DEFAULT_MAX_ROWS
    monkeypatch.setenv(MAX_ROWS_VARIABLE, "1000")
    assert max_table_rows() == 1000
    for bad in ("lots", "0", "-5", "2.5", "inf", "nan", "1e308"):
        monkeypatch.setenv(MAX_ROWS_VARIABLE, bad)
        with pytest.raises(InputError, match=MAX_ROWS_VARIABLE):
            max_table_rows()


@pytest.mark.parametrize("value", ["1e308", "inf", "1e400"])
def test_a_size_limit_too_large_to_be_a_size_is_refused(monkeypatch, value):
    from honorcalc.data.read import max_file_bytes

    monkeypatch.setenv("HONORCALC_MAX_FILE_MB", value)
    with pytest.raises(InputError, match="HONORCALC_MAX_FILE_MB"):
        max_file_bytes()


def test_a_small_parquet_of_millions_of_rows_is_refused_from_its_footer(tmp_path, monkeypatch):
    """3 M dictionary-encoded rows in a file of a few KB: its footer's row count is above the limit,
    so the file is refused before a single column is read (reading it would need gigabytes)."""
    path = _dictionary_parquet(tmp_path / "scores.parquet", 3_000_000)
    assert path.stat().st_size < 200_000
    monkeypatch.setenv(MAX_ROWS_VARIABLE, "1000000")

    def never(*args, **kwargs):
        raise AssertionError("the file was read")

    monkeypatch.setattr(pq.ParquetFile, "read", never)
    monkeypatch.setattr(pq.ParquetFile, "iter_batches", never)
    monkeypatch.setattr(pq, "read_table", never)
    start = time.perf_counter()
    with pytest.raises(InputError) as info:
        read_table(path)
    assert time.perf_counter() - start < 2
    message = str(info.value)
    assert "scores.parquet" in message and "3,000,000 rows" in message and "1,000,000" in message, message
    assert MAX_ROWS_VARIABLE in message


@pytest.mark.parametrize("fmt", ["csv", "xlsx", "parquet"])
def test_every_format_keeps_to_the_row_limit(tmp_path, monkeypatch, fmt):
    """The tiny dataset's scores (12 rows) with a limit of 11 rows: refused, naming the file; 12 pass."""
    write_tables(tmp_path / "data", tiny_tables(), fmt=fmt)
    monkeypatch.setenv(MAX_ROWS_VARIABLE, "12")
    load_dataset(tmp_path / "data")
    monkeypatch.setenv(MAX_ROWS_VARIABLE, "11")
    with pytest.raises(InputError) as info:
        load_dataset(tmp_path / "data")
    message = str(info.value)
    assert f"scores.{fmt}" in message and "12 rows" in message and "limit of 11 rows" in message, message


def test_a_quoted_line_break_is_one_row_not_two(tmp_path, monkeypatch):
    """The CSV count is of records, not lines: a note with a line break in it is one row."""
    tables = tiny_tables()
    tables["deductions"].loc[0, "note"] = "占道经营\n第二行"
    write_tables(tmp_path / "data", tables)
    monkeypatch.setenv(MAX_ROWS_VARIABLE, "12")
    assert load_dataset(tmp_path / "data").deductions.loc[0, "note"] == "占道经营\n第二行"


def test_the_row_limit_through_the_command_line(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    write_tables(tmp_path / "data", tiny_tables())
    (tmp_path / "p.yaml").write_text(PARAMS, encoding="utf-8")
    monkeypatch.setenv(MAX_ROWS_VARIABLE, "5")
    code, out, err = run_cli(["run", tmp_path / "p.yaml", "--out", tmp_path / "reports"], capsys)
    assert code == 2, err
    assert err.startswith("Error: ") and "Traceback" not in err and out == ""
    assert "above the limit of 5 rows" in err and MAX_ROWS_VARIABLE in err, err
    assert not (tmp_path / "reports").exists() or not any((tmp_path / "reports").rglob("*"))


# --------------------------------------------------------------------------- CR-only CSV


def _with_endings(directory: Path, ending: bytes) -> None:
    for path in directory.glob("*.csv"):
        path.write_bytes(path.read_bytes().replace(b"\r\n", b"\n").replace(b"\n", ending))


@pytest.mark.parametrize("ending", [b"\r", b"\r\n"])
def test_csv_with_mac_line_endings_loads_as_with_newlines(tmp_path, ending):
    """Excel for Mac's "CSV (Macintosh)" ends its lines with CR alone: the same dataset as with LF."""
    write_tables(tmp_path / "lf", tiny_tables())
    write_tables(tmp_path / "cr", tiny_tables())
    _with_endings(tmp_path / "cr", ending)
    assert b"\n" not in (tmp_path / "cr" / "scores.csv").read_bytes() or ending == b"\r\n"
    want, got = load_dataset(tmp_path / "lf"), load_dataset(tmp_path / "cr")
    for table in ("units", "indicators", "rounds", "scores", "deductions", "surveys"):
        pd.testing.assert_frame_equal(getattr(got, table), getattr(want, table))
    assert got.notices == want.notices


def test_cr_only_csv_keeps_a_quoted_line_break_and_the_row_numbers(tmp_path):
    """A line break inside a quoted note stays in the note; a bad cell further down is named by its row."""
    tables = tiny_tables()
    tables["deductions"].loc[0, "note"] = "占道经营\n第二行"
    set_cell("deductions", 1, "points", "缺")(tables)
    write_tables(tmp_path / "data", tables)
    path = tmp_path / "data" / "deductions.csv"
    raw = path.read_bytes()
    head, quoted, tail = raw.split(b'"')
    path.write_bytes(head.replace(b"\n", b"\r") + b'"' + quoted + b'"' + tail.replace(b"\n", b"\r"))
    with pytest.raises(InputError) as info:
        load_dataset(tmp_path / "data")
    assert "deductions.csv:3: column 'points'" in str(info.value), str(info.value)
    set_cell("deductions", 1, "points", "1")(tables)
    (tmp_path / "data" / "deductions.csv").unlink()
    write_tables(tmp_path / "data", {"deductions": tables["deductions"]})
    raw = path.read_bytes()
    head, quoted, tail = raw.split(b'"')
    path.write_bytes(head.replace(b"\n", b"\r") + b'"' + quoted + b'"' + tail.replace(b"\n", b"\r"))
    assert load_dataset(tmp_path / "data").deductions["note"].tolist() == ["占道经营\n第二行", "占道经营 (连带)"]


def test_cr_only_gbk_csv_names_the_line_of_a_mixed_encoding(tmp_path):
    """Line numbers in the encoding check count CR-only lines too."""
    write_tables(tmp_path / "data", tiny_tables())
    path = tmp_path / "data" / "units.csv"
    lines = path.read_bytes().split(b"\n")
    lines[3] = lines[3].decode("utf-8").encode("gb18030")
    path.write_bytes(b"\r".join(lines))
    with pytest.raises(InputError, match=r"units.csv:4: mixes two text encodings: line 2 is UTF-8 but line 4"):
        load_dataset(tmp_path / "data")


# --------------------------------------------------------------------------- the inputs archive


def _zip(path: Path, members: dict[str, bytes], *, links: tuple[str, ...] = ()) -> Path:
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        for name, data in members.items():
            info = zipfile.ZipInfo(name, date_time=(1980, 1, 1, 0, 0, 0))
            info.compress_type = zipfile.ZIP_DEFLATED
            mode = (stat.S_IFLNK | 0o777) if name in links else (stat.S_IFREG | 0o644)
            info.external_attr = mode << 16
            zf.writestr(info, data)
    return path


def _rows(n: int) -> bytes:
    return b"round_id,unit_id,indicator_id,rater_id,source,points,visit\n" + b"C2026Q1,001,I01,R01,field,30,open\n" * n


def test_the_inputs_archive_round_trips(tmp_path):
    data = write_tables(tmp_path / "data", tiny_tables())
    files = {p.stem: p for p in data.glob("*.csv")}
    archive = archive_inputs(files, tmp_path / "inputs.zip")
    out = extract_inputs(archive, tmp_path / "out")
    for path in files.values():
        assert (out / path.name).read_bytes() == path.read_bytes()


def test_a_member_declared_above_the_size_limit_is_refused_before_reading(tmp_path, monkeypatch):
    """A 60 KB archive holding a 5 MB scores.csv, with a limit of 1 MB: refused, nothing written."""
    archive = _zip(tmp_path / "inputs.zip", {"scores.csv": _rows(150_000)})
    assert archive.stat().st_size < 100_000
    monkeypatch.setenv("HONORCALC_MAX_FILE_MB", "1")
    with pytest.raises(InputError) as info:
        extract_inputs(archive, tmp_path / "out")
    message = str(info.value)
    assert "scores.csv" in message and "above the limit of 1 MB" in message and "HONORCALC_MAX_FILE_MB" in message
    assert not any((tmp_path / "out").glob("*"))


def test_a_zip_bomb_is_refused_by_its_compression_ratio(tmp_path):
    """50 MB of one repeated line compress about 1000 to 1: no table compresses like that."""
    archive = _zip(tmp_path / "inputs.zip", {"units.csv": b"unit_id,name,kind,group\n" + b"," * 50_000_000})
    with pytest.raises(InputError, match=r"units.csv.*compressed .* to 1"):
        extract_inputs(archive, tmp_path / "out")
    assert not any((tmp_path / "out").glob("*"))


def _lie_about_size(archive: Path, declared: int) -> None:
    """Rewrite the uncompressed size of the archive's only member, in its local and central headers."""
    raw = bytearray(archive.read_bytes())
    local = raw.index(b"PK\x03\x04")
    struct.pack_into("<I", raw, local + 22, declared)
    central = raw.index(b"PK\x01\x02")
    struct.pack_into("<I", raw, central + 24, declared)
    archive.write_bytes(bytes(raw))


def test_a_member_that_expands_beyond_its_declared_size_is_refused_while_streaming(tmp_path, monkeypatch):
    """The header says 100 KB, the data inflate to 5 MB: the running count stops it at the declared size."""
    archive = _zip(tmp_path / "inputs.zip", {"scores.csv": _rows(150_000)})
    _lie_about_size(archive, 100_000)
    monkeypatch.setenv("HONORCALC_MAX_FILE_MB", "1")
    with pytest.raises(InputError, match="scores.csv"):
        extract_inputs(archive, tmp_path / "out")
    written = list((tmp_path / "out").glob("*"))
    assert not written


@pytest.mark.parametrize("name, links, words", [
    ("../scores.csv", (), "unexpected member"),
    ("/tmp/scores.csv", (), "unexpected member"),
    ("sub/scores.csv", (), "unexpected member"),
    ("..\\scores.csv", (), "unexpected member"),
    ("scores.csv", ("scores.csv",), "link"),
    ("notes.txt", (), "unexpected member"),
    (".scores.csv", (), "unexpected member"),
    ("scores\x1b.csv", (), "unexpected member"),
    ("scores.csv/", (), "unexpected member"),
])
def test_unexpected_members_are_refused(tmp_path, name, links, words):
    archive = tmp_path / "inputs.zip"
    try:
        _zip(archive, {name: b"x"}, links=links)
    except ValueError:
        pytest.skip("zipfile refuses to write this name")
    with pytest.raises(InputError, match=words):
        extract_inputs(archive, tmp_path / "out")
    assert not (tmp_path / "tmp" / "scores.csv").exists() and not (tmp_path / "scores.csv").exists()


def test_a_member_given_twice_is_refused(tmp_path):
    archive = tmp_path / "inputs.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        zf.writestr("scores.csv", b"a")
        with pytest.warns(UserWarning):
            zf.writestr("scores.csv", b"b")
    with pytest.raises(InputError, match="table 'scores' is given twice"):
        extract_inputs(archive, tmp_path / "out")
    _zip(archive, {"scores.csv": b"a", "Scores.parquet": b"b"})
    with pytest.raises(InputError, match="table 'scores' is given twice"):
        extract_inputs(archive, tmp_path / "out")


def test_an_archive_that_is_not_a_zip_is_refused(tmp_path):
    (tmp_path / "inputs.zip").write_bytes(b"not a zip")
    with pytest.raises(InputError, match="not a readable ZIP archive"):
        extract_inputs(tmp_path / "inputs.zip", tmp_path / "out")


# --------------------------------------------------------------------------- memory


@pytest.fixture(scope="module")
def small_city(tmp_path_factory):
    """A province city of 40 units and its year: every simulation of the fairness tables runs."""
    from honorcalc.datasets.province import make_city

    directory = tmp_path_factory.mktemp("city")
    for table, frame in make_city(5, 40).items():
        frame.to_parquet(directory / f"{table}.parquet", index=False)
    dataset = load_dataset(directory)
    rounds = dataset.rounds.sort_values("date")
    last = rounds.loc[rounds["kind"] == "comprehensive", "round_id"].iloc[-1]
    return dataset, str(last)


def _params(round_id: str, **fairness):
    from honorcalc.params import params_from_mapping

    return params_from_mapping({"dataset": ".", "round": round_id, "fairness": fairness})


def test_a_simulation_that_would_not_fit_names_its_parameter(small_city, monkeypatch):
    """100,000 null cities for 40 units need about 450 MB; with 200 MB at hand the laggard null is
    refused before anything is computed, naming the parameter and how far to lower it."""
    from honorcalc.fairness import fairness_tables

    dataset, round_id = small_city
    monkeypatch.setenv("HONORCALC_MAX_MEMORY_MB", "200")
    with pytest.raises(ParamError) as info:
        fairness_tables(dataset, _params(round_id, null_cities=100_000))
    message = str(info.value)
    assert message.startswith("parameter 'fairness.null_cities': "), message
    assert "laggard null" in message and "200 MB" in message and "HONORCALC_MAX_MEMORY_MB" in message, message
    assert "lower fairness.null_cities to " in message, message


def test_tiny_memory_refuses_every_simulation_in_one_message(small_city, monkeypatch):
    from honorcalc.fairness import fairness_tables

    dataset, round_id = small_city
    monkeypatch.setenv("HONORCALC_MAX_MEMORY_MB", "0.01")
    with pytest.raises(InputError) as info:
        fairness_tables(dataset, _params(round_id))
    message = str(info.value)
    for parameter in ("fairness.null_cities", "fairness.replicates", "fairness.gstudy_bootstrap",
                      "fairness.permutations", "fairness.rank_max_units"):
        assert parameter in message, message


def test_a_million_units_are_refused_up_front(monkeypatch):
    """The issue's city of 1,000,000 units: the laggard null alone needs tens of GB."""
    from honorcalc.fairness.memory import SimulationSizes, check_memory, memory_needs

    sizes = SimulationSizes(window_units=1_000_000, window_rounds=6, judged_units=1_000_000,
                            round_units=1_000_000, round_rows=1_000_000, rank_groups=(2_000,) * 500,
                            sources=((1_000_000, 40, 20),), cell_raters=(0, 0, 0, 20_000_000), scopes=25,
                            group_units=1_000_000)
    needs = {need.parameter: need for need in memory_needs(sizes, _params("R"))}
    assert needs["fairness.null_cities"].bytes > 40e9
    monkeypatch.setenv("HONORCALC_MAX_MEMORY_MB", "16000")
    with pytest.raises(InputError) as info:
        check_memory(memory_needs(sizes, _params("R")))
    message = str(info.value)
    assert "fairness.null_cities" in message and "16,000 MB" in message, message


def test_the_demo_city_fits_in_a_small_machine(demo_data):
    """The demo's largest simulation needs well under 1 GB: any laptop runs it."""
    from honorcalc.fairness.memory import fairness_sizes, memory_needs
    from honorcalc.params import params_from_mapping
    from honorcalc.rules.evaluate import evaluate_rounds

    demo = load_dataset(demo_data)
    params = params_from_mapping({"dataset": ".", "round": "C2026Q2"})
    evaluation = evaluate_rounds(demo.units, demo.indicators, demo.rounds, demo.scores, demo.deductions,
                                 demo.surveys, params)
    sizes = fairness_sizes(evaluation.results, params, "C2026Q2", scores=demo.scores, indicators=demo.indicators,
                           units=demo.units)
    needs = memory_needs(sizes, params)
    assert {need.analysis for need in needs} == {"agreement", "gstudy", "laggards", "stability", "ranks", "groups"}
    assert max(need.bytes for need in needs) < 500e6, needs


def test_the_run_tables_check_memory_first(small_city, monkeypatch):
    """An annual run sizes its laggard null too."""
    from honorcalc.params import params_from_mapping
    from honorcalc.runs.pipeline import run_tables

    dataset, round_id = small_city
    params = params_from_mapping({"dataset": ".", "round": round_id, "report": "annual",
                                  "fairness": {"null_cities": 100_000}})
    monkeypatch.setenv("HONORCALC_MAX_MEMORY_MB", "200")
    with pytest.raises(ParamError, match="fairness.null_cities"):
        run_tables(params, dataset)


@pytest.mark.parametrize("value", ["lots", "0", "-1", "inf"])
def test_a_memory_limit_that_is_not_a_number_is_refused(monkeypatch, value):
    from honorcalc.fairness.memory import available_memory

    monkeypatch.setenv("HONORCALC_MAX_MEMORY_MB", value)
    with pytest.raises(InputError, match="HONORCALC_MAX_MEMORY_MB"):
        available_memory()


def test_the_memory_at_hand_is_measured_without_the_variable(monkeypatch):
    from honorcalc.fairness.memory import available_memory

    monkeypatch.delenv("HONORCALC_MAX_MEMORY_MB", raising=False)
    size, source = available_memory()
    assert size > 50 << 20 and source


def test_the_estimates_bound_what_the_simulations_allocate(small_city):
    """Measured with tracemalloc (NumPy reports its allocations to it): every analysis's peak is
    below the estimate of the simulation it runs, plus the data it works on."""
    import tracemalloc

    from honorcalc.fairness import (
        flag_laggards,
        group_fairness,
        list_stability,
        rater_consistency,
        rater_severity,
        variance_components,
    )
    from honorcalc.fairness.memory import fairness_sizes, memory_needs
    from honorcalc.rules.evaluate import evaluate_rounds

    dataset, round_id = small_city
    params = _params(round_id, null_cities=4000, replicates=4000, gstudy_bootstrap=4000, permutations=40_000,
                     rank_draws=4000, rater_slots=3)
    evaluation = evaluate_rounds(dataset.units, dataset.indicators, dataset.rounds, dataset.scores,
                                 dataset.deductions, dataset.surveys, params)
    results = evaluation.results
    this = dataset.scores[dataset.scores["round_id"] == round_id]
    raters = rater_severity(this, dataset.indicators, params)
    sizes = fairness_sizes(results, params, round_id, scores=dataset.scores, indicators=dataset.indicators,
                           units=dataset.units)
    needs = {n.parameter: n.bytes for n in memory_needs(sizes, params)}
    # the replicates and the rank sets run in one analysis
    needs["fairness.replicates"] = max(needs["fairness.replicates"], needs.pop("fairness.rank_max_units"))
    data = 16 << 20  # what the estimates leave out: small frames, the interpreter's own
    runs = {
        "fairness.null_cities": lambda: flag_laggards(results, params, round_id),
        "fairness.gstudy_bootstrap": lambda: variance_components(this, dataset.indicators, params),
        "fairness.replicates": lambda: list_stability(dataset.scores, dataset.indicators, results, params, round_id),
        "fairness.permutations": lambda: group_fairness(dataset.units, results[results["round_id"] == round_id],
                                                        this, raters, params),
        "fairness.rater_slots": lambda: rater_consistency(this, dataset.indicators, params),
    }
    for parameter, run in runs.items():
        tracemalloc.start()
        try:
            run()
            peak = tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()
        assert peak < needs[parameter] + data, (parameter, peak, needs[parameter])
        assert needs[parameter] < 4 * peak + data, (parameter, peak, needs[parameter])


def test_a_memory_error_left_over_is_a_clean_refusal(small_city, monkeypatch):
    """Whatever the estimates miss: a MemoryError while computing the tables becomes an InputError."""
    from honorcalc.fairness import tables
    from honorcalc.runs.pipeline import run_tables

    dataset, round_id = small_city

    def exhausted(*args, **kwargs):
        raise MemoryError

    monkeypatch.setattr(tables, "visit_gap", exhausted)
    with pytest.raises(InputError, match="memory"):
        run_tables(_params(round_id), dataset)
