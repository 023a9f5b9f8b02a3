//! Pipeline fixtures for the end-to-end tests (being written).
