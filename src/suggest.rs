//! "Did you mean …?" suggestions for misspelt keys and names.

/// The candidate closest to `input`, if it is close enough to be a likely typo.
pub fn did_you_mean<'a>(input: &str, candidates: impl IntoIterator<Item = &'a str>) -> Option<&'a str> {
    candidates
        .into_iter()
        .map(|c| (strsim::jaro_winkler(input, c), c))
        .filter(|(score, _)| *score >= 0.8)
        .max_by(|a, b| a.0.total_cmp(&b.0))
        .map(|(_, c)| c)
}

#[cfg(test)]
mod tests {
    use super::did_you_mean;

    #[test]
    fn close_typos_get_a_suggestion_and_unrelated_words_do_not() {
        let keys = ["project_name", "cloud_provider", "environments", "networking", "tags"];
        assert_eq!(did_you_mean("project_nme", keys), Some("project_name"));
        assert_eq!(did_you_mean("enviroments", keys), Some("environments"));
        assert_eq!(did_you_mean("tag", keys), Some("tags"));
        assert_eq!(did_you_mean("zzz", keys), None);
    }
}
