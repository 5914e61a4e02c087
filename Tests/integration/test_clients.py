"""The lakehouse's clients against a real node, as their users configure
them (Docs/integrations.md): pyarrow writing a hive-partitioned Parquet
dataset and reading it back with ranged reads, polars scanning it,
pyiceberg (SQL catalog, PyArrow FileIO) creating a table and appending
twice, and rclone and s3cmd multipart copies with checksum verification."""
from __future__ import annotations

import hashlib
import os
import subprocess
from pathlib import Path

import pytest

from s3_clients import boto, make_file
from test_s3_errors import node  # noqa: F401  (the one-node fixture)

pa = pytest.importorskip("pyarrow")
import pyarrow.dataset as ds  # noqa: E402
import pyarrow.fs as pafs  # noqa: E402
import pyarrow.parquet as pq  # noqa: E402

MiB = 1 << 20


def arrow_fs(node) -> "pafs.S3FileSystem":
    return pafs.S3FileSystem(access_key=node.key[0], secret_key=node.key[1], endpoint_override=f"{node.ip}:3900",
                             scheme="http", region="us-east-1")


def table(rows: int, seed: int) -> "pa.Table":
    import random
    rng = random.Random(seed)
    return pa.table({
        "year": [2025 + (i % 2) for i in range(rows)],
        "month": [1 + (i % 3) for i in range(rows)],
        "id": list(range(seed * rows, seed * rows + rows)),
        # Incompressible bytes, so the files cross pyarrow's multipart threshold.
        "payload": [rng.randbytes(64).hex() for _ in range(rows)],
    })


def test_pyarrow_polars_hive_partitioned_dataset(node):
    fs = arrow_fs(node)
    data = table(120_000, seed=1)
    ds.write_dataset(data, "data/lake/events", format="parquet", filesystem=fs,
                     partitioning=ds.partitioning(pa.schema([("year", pa.int64()), ("month", pa.int64())]), flavor="hive"))
    listed = sorted(info.path for info in fs.get_file_info(pafs.FileSelector("data/lake/events", recursive=True)) if info.type == pafs.FileType.File)
    assert len(listed) == 6 and all("year=" in p and "month=" in p for p in listed)
    back = ds.dataset("data/lake/events", filesystem=fs, format="parquet", partitioning="hive").to_table()
    assert back.num_rows == data.num_rows
    assert sorted(back.column("id").to_pylist()) == sorted(data.column("id").to_pylist())
    # Ranged reads: one column of one row group, read through the footer.
    with fs.open_input_file(listed[0]) as f:
        parquet = pq.ParquetFile(f)
        ids = parquet.read_row_group(0, columns=["id"])
        assert ids.num_rows > 0

    pl = pytest.importorskip("polars")
    options = {"aws_endpoint_url": f"http://{node.ip}:3900", "aws_access_key_id": node.key[0],
               "aws_secret_access_key": node.key[1], "aws_region": "us-east-1", "aws_allow_http": "true"}
    scanned = pl.scan_parquet("s3://data/lake/events/**/*.parquet", storage_options=options, hive_partitioning=True)
    counts = scanned.group_by("year").agg(pl.len().alias("n")).sort("year").collect()
    assert counts["n"].to_list() == [60_000, 60_000]


def test_pyiceberg_table_appended_twice(node, tmp_path):
    pytest.importorskip("pyiceberg")
    from pyiceberg.catalog.sql import SqlCatalog

    catalog = SqlCatalog("lake", **{
        "uri": f"sqlite:///{tmp_path / 'catalog.db'}", "warehouse": "s3://data/warehouse",
        "s3.endpoint": f"http://{node.ip}:3900", "s3.access-key-id": node.key[0], "s3.secret-access-key": node.key[1],
        "s3.region": "us-east-1", "py-io-impl": "pyiceberg.io.pyarrow.PyArrowFileIO",
    })
    catalog.create_namespace("analytics")
    batch = table(20_000, seed=2).drop_columns(["payload"])
    iceberg = catalog.create_table("analytics.events", schema=batch.schema)
    iceberg.append(batch)
    iceberg.append(table(20_000, seed=3).drop_columns(["payload"]))
    scanned = catalog.load_table("analytics.events").scan().to_arrow()
    assert scanned.num_rows == 40_000
    assert len(catalog.load_table("analytics.events").history()) == 2
    keys = [o["Key"] for o in boto(node, node.key).list_objects_v2(Bucket="data", Prefix="warehouse/")["Contents"]]
    assert any(k.endswith(".metadata.json") for k in keys) and any(k.endswith(".parquet") for k in keys)


def run(*args: str, env: dict[str, str] | None = None, cwd: Path | None = None) -> str:
    # A machine-wide AWS_CA_BUNDLE makes rclone's AWS SDK refuse its own HTTP transport; plain HTTP needs none.
    base = {k: v for k, v in os.environ.items() if k != "AWS_CA_BUNDLE"}
    result = subprocess.run(args, capture_output=True, text=True, timeout=300, env={**base, **(env or {})}, cwd=cwd)
    assert result.returncode == 0, f"{' '.join(args)} failed ({result.returncode}):\n{result.stdout}\n{result.stderr}"
    return result.stdout + result.stderr


@pytest.mark.skipif(subprocess.run(["which", "rclone"], capture_output=True).returncode != 0, reason="rclone is not installed")
def test_rclone_multipart_copy_and_check(node, tmp_path):
    env = {"RCLONE_CONFIG_SHALE_TYPE": "s3", "RCLONE_CONFIG_SHALE_PROVIDER": "Other",
           "RCLONE_CONFIG_SHALE_ENDPOINT": f"http://{node.ip}:3900", "RCLONE_CONFIG_SHALE_ACCESS_KEY_ID": node.key[0],
           "RCLONE_CONFIG_SHALE_SECRET_ACCESS_KEY": node.key[1], "RCLONE_CONFIG_SHALE_REGION": "us-east-1",
           "RCLONE_CONFIG_SHALE_FORCE_PATH_STYLE": "true", "RCLONE_CONFIG": "/dev/null"}
    (tmp_path / "tree").mkdir()
    make_file(tmp_path / "tree" / "big.bin", 23 * MiB + 7, seed=5)
    make_file(tmp_path / "tree" / "small.bin", 1000, seed=6)
    run("rclone", "copy", str(tmp_path / "tree"), "shale:data/rclone", "--s3-upload-cutoff", "5M", "--s3-chunk-size", "5M", env=env)
    head = boto(node, node.key).head_object(Bucket="data", Key="rclone/big.bin")
    assert head["ETag"].strip('"').endswith("-5"), head["ETag"]  # uploaded in parts
    run("rclone", "check", str(tmp_path / "tree"), "shale:data/rclone", "--download", env=env)
    run("rclone", "copy", "shale:data/rclone", str(tmp_path / "back"), env=env)
    assert (tmp_path / "back" / "big.bin").read_bytes() == (tmp_path / "tree" / "big.bin").read_bytes()


@pytest.mark.skipif(subprocess.run(["which", "s3cmd"], capture_output=True).returncode != 0, reason="s3cmd is not installed")
def test_s3cmd_multipart_put_and_get(node, tmp_path):
    config = tmp_path / "s3cfg"
    config.write_text(f"""[default]
access_key = {node.key[0]}
secret_key = {node.key[1]}
host_base = {node.ip}:3900
host_bucket = {node.ip}:3900
use_https = False
signature_v2 = False
bucket_location = us-east-1
""")
    digest = make_file(tmp_path / "big.bin", 17 * MiB + 3, seed=8)
    run("s3cmd", "-c", str(config), "put", "--multipart-chunk-size-mb=5", str(tmp_path / "big.bin"), "s3://data/s3cmd/big.bin")
    head = boto(node, node.key).head_object(Bucket="data", Key="s3cmd/big.bin")
    assert head["ETag"].strip('"').endswith("-4"), head["ETag"]  # uploaded in four parts
    run("s3cmd", "-c", str(config), "get", "s3://data/s3cmd/big.bin", str(tmp_path / "back.bin"))
    assert hashlib.md5((tmp_path / "back.bin").read_bytes()).hexdigest() == digest
    info = run("s3cmd", "-c", str(config), "info", "s3://data/s3cmd/big.bin")
    assert digest in info  # s3cmd's own MD5 of the file, kept in its metadata and checked by get
