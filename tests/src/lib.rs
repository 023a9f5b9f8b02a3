//! Test-only crate: see `tests/` for the end-to-end tests that drive the real binaries.
