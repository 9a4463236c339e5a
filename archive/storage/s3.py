"""Objects in S3-compatible storage (MinIO, SeaweedFS, AWS S3, Ceph …) through the minio SDK."""

from __future__ import annotations

import hashlib
from urllib.parse import urlsplit

import urllib3
from minio import Minio
from minio.commonconfig import ENABLED
from minio.error import MinioException, S3Error
from minio.versioningconfig import VersioningConfig

from nianbao.config import ARCHIVE_TIMEOUT, S3Credentials

from .base import IntegrityError, MissingObject, ObjectStore, StorageError, object_key
from .blob import Blob

#: Bodies larger than this go up in parts; the ETag check below knows how S3 computes theirs.
PART_SIZE = 16 * 1024 * 1024
_MISSING = {"NoSuchKey", "NoSuchObject", "NoSuchBucket", "ResourceNotFound"}


def expected_etag(blob: Blob) -> str:
    """The ETag S3 gives the blob's bytes uploaded by ``put_object`` with PART_SIZE parts."""
    parts = blob.part_md5s(PART_SIZE)
    if len(parts) <= 1:
        return (parts[0] if parts else hashlib.md5(b"").digest()).hex()
    return f"{hashlib.md5(b''.join(parts)).hexdigest()}-{len(parts)}"


class S3Store(ObjectStore):
    def __init__(self, client: Minio, bucket: str, prefix: str, endpoint: str, create: bool = True,
                 versioning: bool = True, timeout: float = ARCHIVE_TIMEOUT) -> None:
        self.client, self.bucket, self.prefix = client, bucket, prefix
        self.location = f"s3://{bucket}/{prefix}" + (f" at {endpoint}" if endpoint else "")
        try:
            if not client.bucket_exists(bucket):
                if not create:
                    raise StorageError(f"no archive storage at {self.location}: bucket {bucket!r} does not exist")
                try:
                    client.make_bucket(bucket)
                except S3Error as exc:  # machines starting together: one of them made it first, just now
                    if exc.code != "BucketAlreadyOwnedByYou":
                        raise
                if versioning:  # nianbao never overwrites; versioning keeps even others' overwrites undoable
                    client.set_bucket_versioning(bucket, VersioningConfig(ENABLED))
        except (urllib3.exceptions.TimeoutError, urllib3.exceptions.MaxRetryError) as exc:
            if not _timed_out(exc):
                raise StorageError(f"cannot open bucket {bucket!r} at {endpoint}: {_reason(exc)}") from exc
            raise StorageError(f"S3 endpoint {endpoint} did not answer within {timeout:g} s "
                               "(NIANBAO_ARCHIVE_TIMEOUT)") from None
        except (MinioException, urllib3.exceptions.HTTPError, ValueError) as exc:
            raise StorageError(f"cannot open bucket {bucket!r} at {endpoint}: {_reason(exc)}") from exc

    @classmethod
    def from_config(cls, url: str, creds: S3Credentials, create: bool = True) -> S3Store:
        parts = urlsplit(url)
        if not parts.netloc:
            raise StorageError(f"NIANBAO_STORAGE={url!r} names no bucket: expected s3://BUCKET[/PREFIX]")
        endpoint = creds.endpoint
        secure = creds.secure
        if "://" in endpoint:
            ep = urlsplit(endpoint)
            endpoint, secure = ep.netloc, ep.scheme == "https"
        # Bounded waits: a connection refused or reset is tried again, an endpoint that accepts and then
        # says nothing is not (a read timeout repeated is the same silence, several times as long).
        http = urllib3.PoolManager(
            timeout=urllib3.Timeout(connect=creds.timeout, read=creds.timeout),
            retries=urllib3.Retry(total=3, connect=2, read=0, backoff_factor=0.2,
                                  status_forcelist=[500, 502, 503, 504]),
            maxsize=16,
        )
        try:
            client = Minio(
                endpoint, access_key=creds.access_key, secret_key=creds.secret_key, secure=secure, http_client=http
            )
        except ValueError as exc:
            raise StorageError(f"NIANBAO_S3_ENDPOINT={creds.endpoint!r}: {exc}") from None
        prefix = parts.path.strip("/")
        return cls(client, parts.netloc, f"{prefix}/" if prefix else "", endpoint, create, creds.versioning,
                   creds.timeout)

    def _name(self, key: str) -> str:
        return self.prefix + key

    def _stat(self, key: str):
        try:
            return self.client.stat_object(self.bucket, self._name(key))
        except S3Error as exc:
            if exc.code in _MISSING:
                return None
            raise StorageError(f"cannot look up {key} in {self.location}: {_reason(exc)}") from exc
        except (MinioException, urllib3.exceptions.HTTPError) as exc:
            raise StorageError(f"cannot look up {key} in {self.location}: {_reason(exc)}") from exc

    def has(self, sha256: str, size: int | None = None) -> bool:
        stat = self._stat(object_key(sha256))
        return stat is not None and (size is None or stat.size == size)

    def _intact(self, key: str, blob: Blob) -> bool:
        stat = self._stat(key)  # the server's MD5 (ETag) tells without downloading the object
        return stat is not None and stat.size == blob.size and (stat.etag or "").strip('"') == expected_etag(blob)

    def _write(self, key: str, blob: Blob) -> None:
        sha256 = blob.sha256
        try:
            result = self.client.put_object(
                self.bucket,
                self._name(key),
                blob.reader(),
                blob.size,
                content_type="application/octet-stream",
                metadata={"sha256": sha256},
                part_size=PART_SIZE,
            )
        except (MinioException, urllib3.exceptions.HTTPError) as exc:
            raise StorageError(f"cannot store object {sha256} in {self.location}: {_reason(exc)}") from exc
        if result.etag and result.etag.strip('"') != expected_etag(blob):
            raise IntegrityError(f"object {sha256}: {self.location} acknowledged different bytes (ETag mismatch)")

    def _verify(self, key: str, blob: Blob) -> None:
        # The ETag checked in _write is the server's own MD5 of what it received; the stat
        # proves the object is now visible with that size and digest under its key.
        stat = self._stat(key)
        if stat is None:
            raise IntegrityError(f"object {blob.sha256} is not in {self.location} after it was stored")
        if stat.size != blob.size or (stat.etag or "").strip('"') != expected_etag(blob):
            raise IntegrityError(f"object {blob.sha256} in {self.location} does not match what was written")

    def _read(self, key: str) -> bytes:
        response = None
        try:
            response = self.client.get_object(self.bucket, self._name(key))
            return response.read()
        except S3Error as exc:
            if exc.code in _MISSING:
                raise MissingObject(f"object {key} is missing from {self.location}") from None
            raise StorageError(f"cannot read {key} from {self.location}: {_reason(exc)}") from exc
        except (MinioException, urllib3.exceptions.HTTPError) as exc:
            raise StorageError(f"cannot read {key} from {self.location}: {_reason(exc)}") from exc
        finally:
            if response is not None:
                response.close()
                response.release_conn()


def _timed_out(exc: Exception) -> bool:
    reason = exc.reason if isinstance(exc, urllib3.exceptions.MaxRetryError) else exc
    return isinstance(reason, urllib3.exceptions.TimeoutError)


def _reason(exc: Exception) -> str:
    if isinstance(exc, S3Error):
        return f"{exc.code}: {exc.message}"
    if _timed_out(exc):
        return "no answer within NIANBAO_ARCHIVE_TIMEOUT"
    if isinstance(exc, urllib3.exceptions.MaxRetryError):
        return f"server unreachable ({exc.reason})"
    return str(exc) or type(exc).__name__
