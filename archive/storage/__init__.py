"""Content-addressed object storage: one interface, a local directory or S3-compatible backends."""

from __future__ import annotations

from nianbao.config import Config

from .base import IntegrityError, ObjectStore, StorageError, object_key, sha256_hex


def open_store(config: Config) -> ObjectStore:
    """The store named by ``config.storage`` (``file://PATH`` or ``s3://BUCKET[/PREFIX]``)."""
    if config.s3 is not None:
        from .s3 import S3Store

        return S3Store.from_config(config.storage, config.s3)
    from .local import LocalStore

    return LocalStore.from_url(config.storage)


__all__ = ["IntegrityError", "ObjectStore", "StorageError", "object_key", "open_store", "sha256_hex"]
