//! A stateful fake of the GitHub REST API subset that infra-manager calls (placeholder).
