//! Test support for protocol 1, frozen: its synthetic generator and its canonical messages,
//! in the v1 types (`edgeward_proto::codec::legacy::v1`). They rebuild what
//! `proto/golden/v1/` was blessed from, so the committed v1 files are checked without ever
//! being re-blessed. Delete this directory with `legacy/v1.rs` when v1 leaves the supported
//! window.
#![allow(dead_code)]

pub mod canonical;
pub mod synthetic;
