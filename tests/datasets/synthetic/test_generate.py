import json
from pathlib import Path

import pytest

from redbench.datasets.pts import read_pts
from redbench.datasets.synthetic import generate
from redbench.datasets.synthetic.config import SyntheticConfig
from redbench.datasets.synthetic.generate import write_dataset
from redbench.datasets.synthetic.layouts import VW_CATEGORY, VW_TRAIN

LABEL_SUFFIXES = (".pts", ".json")


def _labels(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*"))
            if p.suffix in LABEL_SUFFIXES}


def test_same_seed_same_bytes_different_seed_differs(micro_root, tmp_path):
    cfg = SyntheticConfig.micro(seed=0)
    for dataset in ("300vw", "300w", "tf"):
        write_dataset(dataset, tmp_path / "again" / dataset, cfg)
        a, b = _labels(micro_root / dataset), _labels(tmp_path / "again" / dataset)
        assert a and a == b, dataset
    write_dataset("300vw", tmp_path / "seed1", SyntheticConfig.micro(seed=1))
    c = _labels(tmp_path / "seed1")
    a = _labels(micro_root / "300vw")
    assert a.keys() == c.keys()
    assert all(a[k] != c[k] for k in a if k.endswith(".pts"))


def test_300vw_layout(micro_root):
    root = micro_root / "300vw"
    cfg = SyntheticConfig.micro()
    expected = list(VW_TRAIN[:2]) + [ids[0] for ids in VW_CATEGORY.values()]
    assert sorted(p.name for p in root.iterdir()) == sorted(expected)
    for vid in expected:
        names = sorted(p.name for p in (root / vid / "annot").iterdir())
        assert names == [f"{i:06d}.pts" for i in range(1, cfg.vw_frames + 1)]
        assert (root / vid / "vid.avi").stat().st_size > 0
        side = json.loads((root / vid / "redbench.json").read_text())
        assert side["schema"] == 1 and side["generator"] == "redbench.synthetic" and side["seed"] == 0
        assert len(side["frames"]) == cfg.vw_frames
        f = side["frames"][0]
        assert len(f["pose"]) == 3 and len(f["occluded"]) == 68 and len(f["self_occluded"]) == 68
        if vid in VW_TRAIN:
            assert side["category"] in (1, 2, 3)
        else:
            assert side["category"] == next(c for c, ids in VW_CATEGORY.items() if vid in ids)


def test_300w_and_tf_layout(micro_root):
    w = micro_root / "300w"
    for folder, ext in (("afw", ".jpg"), ("helen/trainset", ".jpg"), ("helen/testset", ".jpg"),
                        ("lfpw/trainset", ".png"), ("lfpw/testset", ".png"), ("ibug", ".jpg")):
        pts = sorted((w / folder).glob("*.pts"))
        assert len(pts) == 1
        assert pts[0].with_suffix(ext).is_file()
        assert pts[0].with_name(pts[0].stem + ".redbench.json").is_file()
    ibug = json.loads(next((w / "ibug").glob("*.redbench.json")).read_text())
    assert ibug["category"] == 3
    tf = micro_root / "tf"
    cfg = SyntheticConfig.micro()
    assert sorted(p.name for p in tf.glob("*.pts")) == [f"franck_{i:05d}.pts" for i in range(cfg.tf_frames)]
    assert len(list(tf.glob("franck_*.jpg"))) == cfg.tf_frames
    assert json.loads((tf / "redbench.json").read_text())["identity"] == "synthetic/tf-franck"


def test_pts_are_one_based_and_inside_the_frame(micro_root):
    cfg = SyntheticConfig.micro()
    for p in micro_root.rglob("*.pts"):
        pts = read_pts(p)
        assert pts.shape == (68, 2)
        # 1-based: pixel centres of a W x H image run 1..W, 1..H
        assert pts.min() >= 1.0 and pts[:, 0].max() <= cfg.frame_width and pts[:, 1].max() <= cfg.frame_height


def test_test_identities_disjoint_from_training(micro_root):
    ids = {"train": set(), "test": set()}
    for side in micro_root.rglob("*.json"):
        d = json.loads(side.read_text())
        rel = side.relative_to(micro_root).as_posix()
        if rel.startswith("tf/"):
            split = "test"
        elif rel.startswith("300vw/"):
            split = "train" if rel.split("/")[1] in VW_TRAIN else "test"
        else:
            split = "train" if ("trainset" in rel or rel.startswith("300w/afw")) else "test"
        ids[split].add(d["identity"])
    assert ids["train"] and ids["test"] and not ids["train"] & ids["test"]


def test_identity_pool_sizes_and_item_independence():
    cfg = SyntheticConfig.micro()
    items = generate.vw_items(cfg)
    assert {it.split for it in items} == {"train", "test"}
    # An item's draws depend only on (seed, its name): generating more videos leaves the first ones unchanged.
    bigger = generate.vw_items(cfg.replace(vw_train_videos=4, vw_test_videos_per_category=3))
    assert [i for i in bigger if i.video_id in {j.video_id for j in items}] == items


def test_write_is_atomic(tmp_path, monkeypatch):
    cfg = SyntheticConfig.micro()
    out = tmp_path / "tf"
    write_dataset("tf", out, cfg)
    before = _labels(out)

    def boom(*args, **kwargs):
        raise RuntimeError("disk full")

    monkeypatch.setattr(generate.writers, "write_tf", boom)
    with pytest.raises(RuntimeError):
        write_dataset("tf", out, cfg)
    assert _labels(out) == before  # the old complete copy is untouched
    with pytest.raises(RuntimeError):
        write_dataset("tf", tmp_path / "fresh", cfg)
    assert not (tmp_path / "fresh").exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["tf"]  # no temporary folders left behind


def test_replaces_an_existing_dataset(tmp_path):
    out = tmp_path / "tf"
    out.mkdir()
    (out / "stale.txt").write_text("old")
    write_dataset("tf", out, SyntheticConfig.micro())
    assert not (out / "stale.txt").exists() and (out / "redbench.json").exists()


def test_unknown_dataset_and_bad_config(tmp_path):
    with pytest.raises(ValueError, match="unknown dataset"):
        write_dataset("cofw", tmp_path / "x", SyntheticConfig.micro())
    with pytest.raises(ValueError):
        SyntheticConfig(face_height_max=150.0)
    with pytest.raises(ValueError):
        SyntheticConfig(scale=0.0)


def test_scale_multiplies_counts():
    cfg = SyntheticConfig.micro(scale=3.0)
    assert len([i for i in generate.vw_items(cfg) if i.split == "train"]) == 6
    assert cfg.scaled(cfg.vw_frames) == 24
    assert len(generate.w300_items(cfg)) == 18
    huge = SyntheticConfig(scale=100.0)
    assert len(generate.vw_items(huge)) == 144  # capped at the real ids and the 30 reserved ones


def test_a_video_does_not_depend_on_how_many_are_generated(micro_root, tmp_path):
    write_dataset("300vw", tmp_path / "more", SyntheticConfig.micro(vw_train_videos=3, vw_test_videos_per_category=2))
    for vid in ("001", "114", "203", "410"):
        assert _labels(micro_root / "300vw" / vid) == _labels(tmp_path / "more" / vid), vid


def test_more_test_videos_than_a_real_category_has_take_the_reserved_ids_with_distinct_people():
    from redbench.datasets.splits import vw300_subset

    default = generate.vw_items(SyntheticConfig())
    wide = generate.vw_items(SyntheticConfig(vw_test_videos_per_category=16, n_identities_test=96))
    by_cat = {c: [it for it in wide if it.split == "test" and it.category == c] for c in (1, 2, 3)}
    assert [len(v) for v in by_cat.values()] == [16, 16, 16]
    assert [it.video_id for it in by_cat[3]][-2:] == ["930", "931"]  # category 3 has 14 real ids
    assert all(vw300_subset(it.video_id) == f"category{it.category}" for v in by_cat.values() for it in v)
    people = [it.identity for v in by_cat.values() for it in v]
    assert len(set(people)) == 48  # every test video its own person
    # the default's videos, categories and people are unchanged
    first = {it.video_id: it for it in wide}
    assert all(first[it.video_id].category == it.category for it in default)
    assert [it.video_id for it in default if it.split == "test"] == [
        v for ids in VW_CATEGORY.values() for v in ids[:6]]
