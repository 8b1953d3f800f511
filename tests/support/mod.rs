//! Shared test harness: run the real binary in a sandboxed environment.
#![allow(dead_code)]

pub mod cli;
