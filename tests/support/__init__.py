"""Real servers for the tests: SeaweedFS for S3, the CLI as a subprocess."""
