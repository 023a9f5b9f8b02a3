//! Helpers shared by the agent's integration tests. Each test crate uses only some of them,
//! hence `dead_code` is allowed here.
#![allow(dead_code)]

pub mod kubelet_server;
