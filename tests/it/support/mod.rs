//! Shared helpers for the integration tests (`crate::support` in each module of `main.rs`).
#![allow(dead_code)]

pub mod aws;
pub mod cli;
pub mod health_server;
pub mod manager;
pub mod moto;
pub mod oidc;
