//! GitHub's pagination: the `rel="next"` target of a `Link` header.
//!
//! `<https://api.github.com/repositories/1/issues/7/comments?page=2>; rel="next", <...>; rel="last"`

/// The URL of the `rel="next"` link, if any.
pub(crate) fn next_link(header: &str) -> Option<String> {
    links(header).into_iter().find(|(_, rels)| rels.split_ascii_whitespace().any(|r| r == "next")).map(|(url, _)| url)
}

/// `(url, rel)` pairs. URLs are delimited by `<>`, so commas inside them are harmless.
fn links(header: &str) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let mut rest = header;
    while let Some(start) = rest.find('<') {
        let Some(len) = rest[start + 1..].find('>') else { break };
        let url = rest[start + 1..start + 1 + len].trim().to_owned();
        let after = &rest[start + 2 + len..];
        let params_end = after.find('<').unwrap_or(after.len());
        let rel = after[..params_end]
            .split(';')
            .filter_map(|param| param.trim().trim_end_matches(',').trim().strip_prefix("rel="))
            .map(|value| value.trim().trim_matches('"').to_owned())
            .next()
            .unwrap_or_default();
        out.push((url, rel));
        rest = &after[params_end..];
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_of_link_headers() {
        let cases = [
            (
                r#"<https://api.github.com/repositories/1300192/issues/7/comments?page=2>; rel="next", <https://api.github.com/repositories/1300192/issues/7/comments?page=5>; rel="last""#,
                Some("https://api.github.com/repositories/1300192/issues/7/comments?page=2"),
            ),
            (
                r#"<http://x/c?per_page=100&page=1>; rel="prev", <http://x/c?per_page=100&page=3>; rel="next", <http://x/c?per_page=100&page=3>; rel="last", <http://x/c?per_page=100&page=1>; rel="first""#,
                Some("http://x/c?per_page=100&page=3"),
            ),
            (r#"<http://x/c?page=2>; rel="prev", <http://x/c?page=1>; rel="first""#, None),
            (r#"<http://x/c?labels=a,b&page=2>; rel="next""#, Some("http://x/c?labels=a,b&page=2")),
            (r#"<http://x/c?page=2>;rel=next"#, Some("http://x/c?page=2")),
            ("", None),
            ("garbage", None),
        ];
        for (header, expected) in cases {
            assert_eq!(next_link(header).as_deref(), expected, "{header}");
        }
    }
}
