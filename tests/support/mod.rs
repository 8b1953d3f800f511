//! Shared helpers for the integration tests (`mod support;` in each test crate).
#![allow(dead_code)]

pub mod aws;
pub mod cli;
pub mod health_server;
pub mod manager;
pub mod moto;
pub mod oidc;
