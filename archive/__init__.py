"""The archive keeps what the crawler fetched: bodies in object storage, facts in the catalog."""
