//! The GitHub token, kept out of logs: its `Debug` and `Display` print `***`.

use std::fmt;

/// Why a token was refused. The messages never contain the token.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum TokenError {
    #[error("the GitHub token is empty")]
    Empty,
    #[error("the GitHub token contains whitespace or control characters")]
    InvalidCharacters,
}

/// A GitHub token (`GITHUB_TOKEN`, `--github-token`). Only [`GithubToken::expose_secret`]
/// reveals it, for the `Authorization` header.
#[derive(Clone, PartialEq, Eq)]
pub struct GithubToken(String);

impl GithubToken {
    /// Accepts a token that can travel in an HTTP header (trimmed of surrounding whitespace,
    /// such as the newline of a token read from a file).
    pub fn new(token: impl Into<String>) -> Result<Self, TokenError> {
        let token = token.into();
        let trimmed = token.trim();
        if trimmed.is_empty() {
            return Err(TokenError::Empty);
        }
        if !trimmed.bytes().all(|b| b.is_ascii_graphic()) {
            return Err(TokenError::InvalidCharacters);
        }
        Ok(Self(trimmed.to_owned()))
    }

    /// The token itself; use only to authenticate, never to print.
    pub fn expose_secret(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for GithubToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("***")
    }
}

impl fmt::Display for GithubToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("***")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_token_never_shows_in_debug_or_display() {
        let token = GithubToken::new("ghs_s3cr3tValue\n").expect("valid token");
        assert_eq!(format!("{token:?}"), "***");
        assert_eq!(format!("{token}"), "***");
        assert_eq!(format!("{:?}", Some(&token)), "Some(***)");
        assert_eq!(token.expose_secret(), "ghs_s3cr3tValue");
    }

    #[test]
    fn tokens_that_cannot_be_a_header_are_refused_without_echoing_them() {
        assert_eq!(GithubToken::new("  "), Err(TokenError::Empty));
        let err = GithubToken::new("abc def").expect_err("inner space");
        assert_eq!(err, TokenError::InvalidCharacters);
        assert!(!err.to_string().contains("abc"));
        assert_eq!(GithubToken::new("a\u{7f}b"), Err(TokenError::InvalidCharacters));
    }
}
