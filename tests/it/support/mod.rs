//! Shared helpers for the integration tests (`crate::support` in each module of `main.rs`).
#![allow(dead_code)]

pub(crate) mod aws;
pub(crate) mod browser;
pub(crate) mod cli;
pub(crate) mod health_server;
pub(crate) mod manager;
pub(crate) mod moto;
pub(crate) mod netns;
pub(crate) mod oidc;
pub(crate) mod unversioned;
pub(crate) mod webhook;
