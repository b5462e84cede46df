"""The ground floor's file contracts: atomic writers, the token-shard reader, table reader, paths."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest

from r1interp.artifacts.paths import ModelPaths, layer_dir
from r1interp.artifacts.shards import SCHEMA, ShardFileError, read_docs, read_shard, read_stream_hash, stream_sha256, write_shard
from r1interp.artifacts.tables import ArtifactFileError, read_table
from r1interp.artifacts.write import atomic_path, write_json, write_parquet


def test_atomic_file_appears_only_when_the_write_succeeds(tmp_path):
    out = tmp_path / "sub" / "a.json"
    write_json({"x": np.float32(0.5), "n": np.int64(3), "v": np.arange(2)}, out)
    assert out.read_text() == '{\n  "x": 0.5,\n  "n": 3,\n  "v": [\n    0,\n    1\n  ]\n}\n'
    with pytest.raises(RuntimeError):
        with atomic_path(tmp_path / "b.txt") as tmp:
            tmp.write_text("half")
            raise RuntimeError("killed")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["sub"]  # no target, no temp left behind
    write_json([1], tmp_path / "c.json", indent=None, newline=False)
    assert (tmp_path / "c.json").read_text() == "[1]"


def test_a_directory_output_is_replaced_whole(tmp_path):
    dest = tmp_path / "features"
    (dest).mkdir()
    (dest / "stale.json").write_text("{}")
    with atomic_path(dest) as tmp:
        tmp.mkdir()
        (tmp / "new.json").write_text("{}")
    assert [p.name for p in dest.iterdir()] == ["new.json"]
    assert [p.name for p in tmp_path.iterdir()] == ["features"]


def _shard(path, ids, segs, kind="toy"):
    table = pa.table({"doc_id": list(range(len(ids))), "kind": [kind] * len(ids), "input_ids": ids, "segment": segs}, schema=SCHEMA)
    write_shard(table, path)
    return table


def test_shard_reader_checks_the_contract(tmp_path):
    good = _shard(tmp_path / "good.parquet", [[1, 2, 3], [4]], [[1, 2, 3], [0]])
    assert read_stream_hash(tmp_path / "good.parquet") == stream_sha256(good)
    docs = read_docs(tmp_path / "good.parquet")
    assert [d.tolist() for d in docs] == [[1, 2, 3], [4]] and docs[0].dtype == np.int64
    with pytest.raises(FileNotFoundError, match="token shard not found"):
        read_shard(tmp_path / "nope.parquet")
    with pytest.raises(ShardFileError, match=r"missing column\(s\) \['tokens'\]"):
        read_shard(tmp_path / "good.parquet", ("tokens",))
    _shard(tmp_path / "long.parquet", [[1, 2]], [[1]])
    with pytest.raises(ShardFileError, match="lengths differ"):
        read_shard(tmp_path / "long.parquet", ("input_ids", "segment"))
    _shard(tmp_path / "code.parquet", [[1, 2]], [[1, 7]])
    with pytest.raises(ShardFileError, match=r"codes must be in 0\.\.3, found 1\.\.7"):
        read_shard(tmp_path / "code.parquet", ("input_ids", "segment"))


def test_table_reader_names_file_column_and_filter(tmp_path):
    path = tmp_path / "plan.parquet"
    write_parquet(pd.DataFrame({"prompt_id": ["a", "b", "b"], "x": [1, 2, 3]}), path)
    assert read_table(path, ["x"], "graph plan", {"prompt_id": "b"})["x"].tolist() == [2, 3]
    with pytest.raises(ArtifactFileError, match="graph plan not found"):
        read_table(tmp_path / "none.parquet", ["x"], "graph plan")
    with pytest.raises(ArtifactFileError, match=r"lacks columns \['y'\]"):
        read_table(path, ["y"], "graph plan")
    with pytest.raises(ArtifactFileError, match="no rows with prompt_id == 'c'"):
        read_table(path, ["x"], "graph plan", {"prompt_id": "c"})


def test_paths_match_the_architecture_table():
    p = ModelPaths.of("results", "toy-base")
    assert str(p.shard("train")) == "results/toy-base/data/train.parquet"
    assert str(p.transcoder(3)) == "results/toy-base/transcoders/L3" == str(layer_dir("results/toy-base/transcoders", 3))
    assert str(p.eval_layer(0)) == "results/toy-base/eval/L0.json" and str(p.labels_layer(2)) == "results/toy-base/labels/L2.json"
    assert str(p.graph_metadata) == "results/toy-base/graphs/graph-metadata.json"
