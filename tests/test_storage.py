"""Both backends behind one interface, against a real directory and a real S3 server."""

from __future__ import annotations

import hashlib
import io
import os
from pathlib import Path

import pytest

from archive.storage import IntegrityError, StorageError, object_key, open_store
from archive.storage.blob import Blob
from archive.storage.local import LocalStore
from archive.storage.s3 import PART_SIZE, S3Store
from nianbao.config import Config, ConfigError, check_proxy_url


@pytest.fixture(params=["local", "s3"])
def store(request, tmp_path):
    if request.param == "local":
        return open_store(Config.from_env({}, home=str(tmp_path)))
    return open_store(Config.from_env(request.getfixturevalue("s3_env")))


def test_put_get_roundtrip_and_dedupe(store):
    body = "万载县人民政府2023年政府信息公开工作年度报告".encode() * 100
    digest = store.put(body)
    assert digest == hashlib.sha256(body).hexdigest()
    assert store.has(digest, len(body)) and not store.has(digest, len(body) + 1)
    assert store.get(digest) == body
    assert store.put(body) == digest  # stored once


def test_missing_object_is_an_integrity_error(store):
    with pytest.raises(IntegrityError, match="missing"):
        store.get("0" * 64)


def test_multipart_upload_is_verified(s3_env):
    store = open_store(Config.from_env(s3_env))
    body = os.urandom(PART_SIZE + 12345)
    digest = store.put(body)
    assert store.get(digest) == body


def test_corrupted_local_object_is_never_returned(tmp_path):
    store = LocalStore(tmp_path / "objects")
    digest = store.put(b"original report")
    (tmp_path / "objects" / object_key(digest)).write_bytes(b"tampered report")
    with pytest.raises(IntegrityError, match="corrupt"):
        store.get(digest)


def test_corrupted_s3_object_is_never_returned(s3_env, s3_server):
    import io

    store = open_store(Config.from_env(s3_env))
    digest = store.put(b"original report")
    client = s3_server.client()
    bucket = s3_env["NIANBAO_STORAGE"].removeprefix("s3://")
    client.put_object(bucket, object_key(digest), io.BytesIO(b"tampered"), 8)
    with pytest.raises(IntegrityError, match="corrupt"):
        store.get(digest)


def test_full_disk_leaves_no_partial_object(tmp_path, monkeypatch):
    store = LocalStore(tmp_path / "objects")

    def no_space(*_args, **_kwargs):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "fsync", no_space)
    with pytest.raises(StorageError, match="No space left on device"):
        store.put(b"a report body")
    leftovers = [p for p in (tmp_path / "objects").rglob("*") if p.is_file()]
    assert leftovers == []


def test_flush_fsyncs_every_directory_given_an_entry_and_retries_them_after_a_failure(tmp_path, monkeypatch):
    store = LocalStore(tmp_path / "objects")
    digests = [store.put(f"report {n}".encode()) for n in range(5)]
    real_fsync, synced, failing = os.fsync, [], []

    def fsync(fd):
        path = Path(os.readlink(f"/proc/self/fd/{fd}"))
        if failing and path.is_dir():
            raise OSError(5, "Input/output error")
        synced.append(path)
        real_fsync(fd)

    monkeypatch.setattr(os, "fsync", fsync)
    root = tmp_path / "objects"
    expected = {root, root / "sha256"} | {(root / object_key(d)).parent for d in digests} \
        | {(root / object_key(d)).parent.parent for d in digests}
    failing.append(True)
    with pytest.raises(StorageError, match="cannot make .* durable: Input/output error"):
        store.flush()
    failing.clear()
    store.flush()  # what the failed flush could not make durable, this one does
    assert set(synced) == expected and len(synced) == len(expected)
    synced.clear()
    store.flush()
    assert synced == []  # nothing new since


def test_a_blob_is_read_once_for_its_s3_parts(tmp_path):
    class CountingFile(io.BytesIO):
        reads = 0

        def read(self, size=-1):
            self.reads += 1
            return super().read(size)

    body = os.urandom(3 * 1024 + 7)
    file = CountingFile(body)
    blob = Blob(file)
    before = file.reads
    parts = blob.part_md5s(1024)
    assert parts == tuple(hashlib.md5(body[i:i + 1024]).digest() for i in range(0, len(body), 1024))
    assert blob.part_md5s(1024) is parts and file.reads - before == 5  # 4 parts and the end, once
    assert blob.part_md5s(2048) == tuple(hashlib.md5(body[i:i + 2048]).digest() for i in range(0, len(body), 2048))


def test_wrong_credentials_and_unreachable_server_are_clear(s3_env):
    bad = {**s3_env, "NIANBAO_S3_SECRET_KEY": "wrong"}
    with pytest.raises(StorageError, match="SignatureDoesNotMatch|AccessDenied"):
        open_store(Config.from_env(bad))
    down = {**s3_env, "NIANBAO_S3_ENDPOINT": "http://127.0.0.1:9"}
    with pytest.raises(StorageError, match="127.0.0.1:9"):
        open_store(Config.from_env(down))


def test_config_errors_name_the_setting():
    with pytest.raises(ConfigError, match="NIANBAO_S3_ENDPOINT"):
        Config.from_env({"NIANBAO_STORAGE": "s3://bucket"})
    with pytest.raises(ConfigError, match="NIANBAO_STORAGE"):
        Config.from_env({"NIANBAO_STORAGE": "ftp://somewhere"})
    for proxy in ("socks5://127.0.0.1:1080", "http://u:secret@h:abc", "https://[::1", "http://h"):
        with pytest.raises(ConfigError, match="proxy") as err:
            check_proxy_url(proxy)
        assert "secret" not in str(err.value)


def test_secrets_stay_out_of_descriptions(s3_env):
    config = Config.from_env(s3_env)
    store = open_store(config)
    assert isinstance(store, S3Store)
    for text in (repr(config), store.location):
        assert s3_env["NIANBAO_S3_SECRET_KEY"] not in text and s3_env["NIANBAO_S3_ACCESS_KEY"] not in text


def test_a_bucket_nianbao_creates_keeps_every_version(s3_env, s3_server):
    import io

    store = open_store(Config.from_env(s3_env))
    digest = store.put(b"original report")
    client, bucket = s3_server.client(), s3_env["NIANBAO_STORAGE"].removeprefix("s3://")
    assert client.get_bucket_versioning(bucket).status == "Enabled"
    client.put_object(bucket, object_key(digest), io.BytesIO(b"tampered"), 8)  # someone else overwrites it
    versions = list(client.list_objects(bucket, prefix=object_key(digest), include_version=True))
    assert len(versions) == 2  # the original is still there to restore
    kept = {client.get_object(bucket, object_key(digest), version_id=v.version_id).read() for v in versions}
    assert kept == {b"original report", b"tampered"}
