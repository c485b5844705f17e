"""The .pts reader: values as written, tolerant of real-world formatting, strict about malformed files."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from redbench.datasets.pts import PtsError, format_pts, read_pts, to_one_based, to_zero_based, write_pts


def _write(tmp_path, text: str, name: str = "face.pts", newline: str = "\n"):
    path = tmp_path / name
    path.write_bytes(text.replace("\n", newline).encode())
    return path


GOOD = "version: 1\nn_points: 3\n{\n10.5 20.25\n1 2\n300.125 0.5\n}\n"
GOOD_VALUES = np.array([[10.5, 20.25], [1.0, 2.0], [300.125, 0.5]])


def test_reads_values_as_written(tmp_path):
    points = read_pts(_write(tmp_path, GOOD))
    assert points.dtype == np.float64 and points.shape == (3, 2)
    np.testing.assert_array_equal(points, GOOD_VALUES)


@pytest.mark.parametrize(
    "text, newline",
    [
        (GOOD.replace("version: 1", "version: 1.0"), "\n"),  # menpo writes 1.0 in some releases
        (GOOD, "\r\n"),  # CRLF, as in files from Windows
        (GOOD.replace("\n", "   \n"), "\n"),  # trailing blanks on every line
        (GOOD.replace("{\n", "{\n\n").replace("}\n", "}\n\n\n"), "\n"),  # blank lines
        (GOOD.replace("10.5 20.25", "  10.5\t20.25"), "\n"),  # leading space, tab separator
        (GOOD.rstrip("\n"), "\n"),  # no final newline
        ("\ufeff" + GOOD, "\n"),  # UTF-8 byte order mark
    ],
    ids=["version-1.0", "crlf", "trailing-blanks", "blank-lines", "tabs", "no-final-newline", "bom"],
)
def test_accepts_real_world_formatting(tmp_path, text, newline):
    np.testing.assert_array_equal(read_pts(_write(tmp_path, text, newline=newline)), GOOD_VALUES)


@pytest.mark.parametrize(
    "text, line, what",
    [
        ("version: 1\nn_points: 4\n{\n1 2\n3 4\n5 6\n}\n", 2, "n_points says 4 but 3"),
        ("version: 1\nn_points: 2\n{\n1 2\n3 4\n5 6\n}\n", 2, "n_points says 2 but 3"),
        ("version: 1\nn_points: 2\n{\n1 2\nx 4\n}\n", 5, "not a number"),
        ("version: 1\nn_points: 2\n{\n1 2\n3 nan\n}\n", 5, "non-finite"),
        ("version: 1\nn_points: 2\n{\n1 inf\n3 4\n}\n", 4, "non-finite"),
        ("version: 1\nn_points: 2\n{\n1 2\n3 4 5\n}\n", 5, "two coordinates"),
        ("version: 1\nn_points: 2\n1 2\n3 4\n}\n", 3, "expected 'version:', 'n_points:' or '{'"),
        ("version: 1\nn_points: 2\n{\n1 2\n3 4\n", 5, "missing closing brace"),
        ("version: 1\nn_points: two\n{\n1 2\n3 4\n}\n", 2, "not an integer"),
        ("version: 1\n{\n1 2\n}\n", 2, "missing 'n_points:'"),
        ("version: 1\nn_points: 1\n{\n1 2\n}\n7 8\n", 6, "after the closing brace"),
    ],
    ids=[
        "too-few", "too-many", "not-a-number", "nan", "inf", "three-values", "no-opening-brace",
        "no-closing-brace", "bad-count", "no-count", "content-after-brace",
    ],
)
def test_rejects_malformed_files_naming_file_and_line(tmp_path, text, line, what):
    path = _write(tmp_path, text)
    with pytest.raises(PtsError) as e:
        read_pts(path)
    message = str(e.value)
    assert f"{path}:{line}:" in message, message
    assert what in message


def test_rejects_empty_and_binary_files(tmp_path):
    with pytest.raises(PtsError, match="empty.pts"):
        read_pts(_write(tmp_path, "", name="empty.pts"))
    binary = tmp_path / "binary.pts"
    binary.write_bytes(b"\xff\xfe\x00\x81")
    with pytest.raises(PtsError, match="binary.pts"):
        read_pts(binary)


def test_one_based_shift_is_exactly_one_pixel():
    points = np.array([[1.0, 1.0], [10.5, 3.25]])
    np.testing.assert_array_equal(to_zero_based(points), [[0.0, 0.0], [9.5, 2.25]])
    np.testing.assert_array_equal(to_one_based(to_zero_based(points)), points)


finite = st.floats(min_value=-1e4, max_value=1e4, allow_nan=False, allow_infinity=False)


@settings(max_examples=40, deadline=None)
@given(st.lists(st.tuples(finite, finite), min_size=0, max_size=70))
def test_write_read_round_trip(tmp_path_factory, pts):
    points = np.array(pts, dtype=np.float64).reshape(-1, 2)
    path = tmp_path_factory.mktemp("pts") / "round.pts"
    write_pts(path, points)
    # format_pts writes 3 decimals: the round trip is exact up to that rounding.
    np.testing.assert_allclose(read_pts(path), np.round(points, 3), atol=1e-9)


def test_format_refuses_non_finite_and_bad_shapes():
    with pytest.raises(ValueError, match="NaN"):
        format_pts(np.array([[1.0, np.nan]]))
    with pytest.raises(ValueError, match="shape"):
        format_pts(np.zeros((3, 3)))
