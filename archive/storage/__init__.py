"""Content-addressed object storage: one interface, a local directory or S3-compatible backends."""

from __future__ import annotations

from nianbao.config import Config

from .base import IntegrityError, MissingObject, ObjectStore, StorageError, object_key, sha256_hex


def open_store(config: Config, create: bool = True) -> ObjectStore:
    """The store named by ``config.storage`` (``file:///PATH`` or ``s3://BUCKET[/PREFIX]``).

    ``create=False`` is for commands that only read: a store that is not there is an error,
    not something to make (a mistyped NIANBAO_HOME must not look like an empty archive).
    """
    if config.s3 is not None:
        from .s3 import S3Store

        return S3Store.from_config(config.storage, config.s3, create)
    from .local import LocalStore

    return LocalStore.from_url(config.storage, create)


__all__ = ["IntegrityError", "MissingObject", "ObjectStore", "StorageError", "object_key", "open_store", "sha256_hex"]
