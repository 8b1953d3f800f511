//! The local store (placeholder).
