from __future__ import annotations

import dataclasses

import h5py
import numpy as np
import pytest

from redbench.benchmark.store import (
    PredictionMeta,
    StoreError,
    read_meta,
    read_predictions,
    write_predictions,
)


def _meta(**kw) -> PredictionMeta:
    base = dict(
        method="sdm", method_version="1", config_hash="abc", train_data_hash="def", box_protocol="gt",
        dataset="300vw", data_source="synthetic", test_manifest_hash="0123", seconds_per_frame=0.004,
    )
    base.update(kw)
    return PredictionMeta(**base)


def _arrays(n=5, seed=0):
    rng = np.random.default_rng(seed)
    ids = [f"clip{i // 3}" for i in range(n)]
    idx = np.array([i % 3 for i in range(n)])
    lm = rng.uniform(0, 500, size=(n, 68, 2))
    return ids, idx, lm


def test_round_trip(tmp_path):
    ids, idx, lm = _arrays()
    path = tmp_path / "predictions" / "sdm" / "300vw.h5"
    write_predictions(path, _meta(), ids, idx, lm)
    p = read_predictions(path)
    assert p.meta == _meta()
    assert p.clip_ids.tolist() == ids
    np.testing.assert_array_equal(p.frame_indices, idx)
    assert p.frame_indices.dtype == np.int64
    np.testing.assert_array_equal(p.landmarks, lm)  # float64 stored: exact
    assert p.landmarks.dtype == np.float64
    assert p.keys()[4] == ("clip1", 1)
    assert len(p) == 5
    assert read_meta(path) == _meta()


def test_write_is_atomic_on_failure(tmp_path):
    ids, idx, lm = _arrays()
    path = tmp_path / "p.h5"
    write_predictions(path, _meta(), ids, idx, lm)
    before = path.read_bytes()
    bad = lm.copy()
    bad[2, 5, 0] = np.nan
    with pytest.raises(StoreError):
        write_predictions(path, _meta(method="other"), ids, idx, bad)
    assert path.read_bytes() == before  # old file untouched
    assert sorted(q.name for q in tmp_path.iterdir()) == ["p.h5", "p.timing.json"]  # no temp file left behind


def test_interrupted_write_leaves_nothing(tmp_path, monkeypatch):
    ids, idx, lm = _arrays()
    path = tmp_path / "p.h5"

    def boom(*a, **k):
        raise KeyboardInterrupt

    monkeypatch.setattr(h5py.File, "create_dataset", boom)
    with pytest.raises(KeyboardInterrupt):
        write_predictions(path, _meta(), ids, idx, lm)
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("value", [np.nan, np.inf, -np.inf])
def test_refuses_nonfinite_on_write_and_read(tmp_path, value):
    ids, idx, lm = _arrays()
    lm[3, 10, 1] = value
    path = tmp_path / "p.h5"
    with pytest.raises(StoreError, match=r"p\.h5.*row 3.*clip1"):
        write_predictions(path, _meta(), ids, idx, lm)
    # a file written by some other tool: the reader refuses it too
    _write_raw(path, ids, idx, lm)
    with pytest.raises(StoreError, match=r"p\.h5.*NaN/inf"):
        read_predictions(path)


def _write_raw(path, ids, idx, lm, meta=None, drop=()):
    meta = meta or _meta()
    with h5py.File(path, "w") as f:
        f.attrs["schema"] = 1
        for k, v in dataclasses.asdict(meta).items():
            if k not in drop and v is not None:  # optional fields are absent when unknown
                f.attrs[k] = v
        f.create_dataset("clip_ids", data=np.asarray(ids, dtype=object), dtype=h5py.string_dtype())
        f.create_dataset("frame_indices", data=idx)
        f.create_dataset("landmarks", data=lm)


@pytest.mark.parametrize(
    "shape", [(5, 49, 2), (5, 68, 3), (4, 68, 2), (5, 136)],
)
def test_refuses_wrong_shapes(tmp_path, shape):
    ids, idx, _ = _arrays()
    lm = np.zeros(shape)
    path = tmp_path / "bad.h5"
    with pytest.raises(StoreError, match=r"bad\.h5.*landmarks has shape"):
        write_predictions(path, _meta(), ids, idx, lm)
    _write_raw(path, ids, idx, lm)
    with pytest.raises(StoreError, match=r"bad\.h5.*landmarks has shape"):
        read_predictions(path)


def test_refuses_wrong_frame_index_count(tmp_path):
    ids, idx, lm = _arrays()
    with pytest.raises(StoreError, match="frame_indices has shape"):
        write_predictions(tmp_path / "p.h5", _meta(), ids, idx[:4], lm)


def test_refuses_duplicate_keys(tmp_path):
    ids, idx, lm = _arrays()
    idx[1] = idx[0]
    with pytest.raises(StoreError, match=r"duplicate key \(clip 'clip0', frame 0\)"):
        write_predictions(tmp_path / "p.h5", _meta(), ids, idx, lm)


def test_refuses_missing_fields(tmp_path):
    ids, idx, lm = _arrays()
    path = tmp_path / "m.h5"
    _write_raw(path, ids, idx, lm, drop=("box_protocol",))
    with pytest.raises(StoreError, match=r"m\.h5.*missing metadata field.*box_protocol"):
        read_predictions(path)
    with h5py.File(path, "w") as f:
        f.attrs["schema"] = 1
        for k, v in dataclasses.asdict(_meta()).items():
            if v is None:
                continue
            f.attrs[k] = v
        f.create_dataset("frame_indices", data=idx)
    with pytest.raises(StoreError, match=r"m\.h5.*missing dataset 'clip_ids'"):
        read_predictions(path)


def test_refuses_unknown_schema_and_non_hdf5(tmp_path):
    ids, idx, lm = _arrays()
    path = tmp_path / "s.h5"
    write_predictions(path, _meta(), ids, idx, lm)
    with h5py.File(path, "a") as f:
        f.attrs["schema"] = 99
    with pytest.raises(StoreError, match=r"s\.h5.*schema 99"):
        read_predictions(path)
    junk = tmp_path / "junk.h5"
    junk.write_text("not hdf5")
    with pytest.raises(StoreError, match="junk.h5"):
        read_predictions(junk)
    with pytest.raises(FileNotFoundError, match="absent.h5"):
        read_predictions(tmp_path / "absent.h5")


def test_refuses_non_integer_frame_indices(tmp_path):
    ids, _, lm = _arrays()
    with pytest.raises(StoreError, match="integers"):
        write_predictions(tmp_path / "p.h5", _meta(), ids, np.array([0, 1.5, 2, 0, 1]), lm)


def test_equal_content_gives_equal_bytes_with_the_timing_in_a_sidecar(tmp_path):
    ids, idx, lm = _arrays()
    write_predictions(tmp_path / "a.h5", _meta(seconds_per_frame=0.004), ids, idx, lm)
    write_predictions(tmp_path / "b.h5", _meta(seconds_per_frame=0.009), ids, idx, lm)
    assert (tmp_path / "a.h5").read_bytes() == (tmp_path / "b.h5").read_bytes()
    assert read_meta(tmp_path / "a.h5").seconds_per_frame == 0.004
    assert read_predictions(tmp_path / "b.h5").meta.seconds_per_frame == 0.009
    (tmp_path / "b.timing.json").unlink()
    assert read_meta(tmp_path / "b.h5").seconds_per_frame is None
    (tmp_path / "a.timing.json").write_text('{"seconds_per_frame": "fast"}')
    with pytest.raises(StoreError, match=r"a\.timing\.json"):
        read_meta(tmp_path / "a.h5")


@pytest.mark.parametrize("value", [1e30, -2e5])
def test_refuses_coordinates_no_image_has(tmp_path, value):
    ids, idx, lm = _arrays()
    lm[4, 0, 0] = value
    path = tmp_path / "p.h5"
    with pytest.raises(StoreError, match=r"p\.h5.*beyond.*row 4.*clip1.*frame 1"):
        write_predictions(path, _meta(), ids, idx, lm)
    _write_raw(path, ids, idx, lm)
    with pytest.raises(StoreError, match=r"p\.h5.*beyond"):
        read_predictions(path)


def test_training_flops_round_trip_and_are_optional(tmp_path):
    ids, idx, lm = _arrays()
    write_predictions(tmp_path / "a.h5", dataclasses.replace(_meta(), train_flops=1.5e12), ids, idx, lm)
    assert read_meta(tmp_path / "a.h5").train_flops == 1.5e12
    write_predictions(tmp_path / "b.h5", _meta(), ids, idx, lm)  # a pretrained method: no training cost
    assert read_meta(tmp_path / "b.h5").train_flops is None


def test_read_landmarks_into_a_reused_array(tmp_path):
    from redbench.benchmark.store import read_keys, read_landmarks

    ids, idx, lm = _arrays(n=7)
    a, b = tmp_path / "a.h5", tmp_path / "b.h5"
    write_predictions(a, _meta(), ids, idx, lm)
    write_predictions(b, _meta(), ids, idx, lm + 1.5)
    buffer = read_landmarks(a, *read_keys(a)[1:])
    again = read_landmarks(b, *read_keys(b)[1:], out=buffer)
    assert again is buffer  # the same memory, now holding b's landmarks
    np.testing.assert_array_equal(buffer, lm + 1.5)
    short = tmp_path / "short.h5"
    write_predictions(short, _meta(), ids[:4], idx[:4], lm[:4])
    other = read_landmarks(short, *read_keys(short)[1:], out=buffer)  # another shape: a new array
    assert other is not buffer and other.shape == (4, 68, 2)
    np.testing.assert_array_equal(buffer, lm + 1.5)
    with h5py.File(b, "r+") as f:  # a bad value is still refused when read into the buffer
        f["landmarks"][2, 5, 0] = np.nan
    with pytest.raises(StoreError, match=r"NaN/inf landmarks, first at row 2 \(clip 'clip0', frame 2\)"):
        read_landmarks(b, *read_keys(b)[1:], out=buffer)
