"""nianbao's test suite (a regular package: pywb installs a top-level ``tests`` that would shadow a namespace one)."""
