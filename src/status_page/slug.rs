//! The file name of a target's page. Names are validated before they become targets, but a
//! file name is a path, so it is made here from a closed alphabet whatever the name holds:
//! `a-z`, `0-9` and `-` are kept, every other byte is written `_` and its two hex digits
//! (`_` itself too), and the parts are joined by `.`, which the encoding never writes. The
//! encoding is one-to-one, so two targets never share a page; the owner's part is its key
//! (`Owner::key`), which tells a customer `tenants/x` from the tenant `x`.

use crate::identity::Target;

/// The folder of the target pages, below the site.
pub const DIR: &str = "targets";

/// `acme_2fweb.staging.html`: the page of `target`, in [`DIR`].
pub fn file_name(target: &Target) -> String {
    format!("{}.{}.html", encode(&target.owner.key()), encode(target.env.as_str()))
}

/// `targets/acme_2fweb.staging.html`: the page, relative to the site.
pub fn path(target: &Target) -> String {
    format!("{DIR}/{}", file_name(target))
}

fn encode(part: &str) -> String {
    let mut out = String::with_capacity(part.len());
    for byte in part.bytes() {
        match byte {
            b'a'..=b'z' | b'0'..=b'9' | b'-' => out.push(char::from(byte)),
            other => out.push_str(&format!("_{other:02x}")),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::identity::{EnvName, Owner, RepoId, TenantName};

    fn customer(repo: &str, env: &str) -> Target {
        Target { owner: Owner::Customer(RepoId::parse(repo).expect("repo")), env: EnvName::parse(env).expect("env") }
    }

    #[test]
    fn file_names_come_from_a_closed_alphabet_and_never_meet() {
        assert_eq!(file_name(&customer("acme/web", "staging")), "acme_2fweb.staging.html");
        assert_eq!(file_name(&customer("acme/my_repo.v2", "prod-eu")), "acme_2fmy_5frepo_2ev2.prod-eu.html");
        let tenant = Target {
            owner: Owner::Tenant(TenantName::parse("billing").expect("tenant")),
            env: EnvName::parse("staging").expect("env"),
        };
        assert_eq!(path(&tenant), "targets/tenants_2fbilling.staging.html");
        // A customer whose owner is `tenants` is not the tenant: its key is escaped.
        assert_ne!(file_name(&customer("tenants/billing", "staging")), file_name(&tenant));
        // Names that would meet under a looser rule (`_` against `.`, `-`, `/`).
        let names: Vec<String> = [
            customer("a/b.c", "x"),
            customer("a/b_c", "x"),
            customer("a/b-c", "x"),
            customer("a.b/c", "x"),
            customer("a_2fb/c", "x"),
            customer("a/b", "c-x"),
            customer("a/b.c", "x-y"),
        ]
        .iter()
        .map(file_name)
        .collect();
        let unique: std::collections::BTreeSet<&String> = names.iter().collect();
        assert_eq!(unique.len(), names.len(), "{names:?}");
        for name in &names {
            let stem = name.strip_suffix(".html").expect("html");
            assert!(
                stem.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b"-_.".contains(&b)),
                "{name}"
            );
            assert_eq!(stem.matches('.').count(), 1, "{name}");
        }
    }

    #[test]
    fn any_byte_is_encoded_into_the_alphabet() {
        // The encoding holds even for text no validated name can be.
        assert_eq!(encode("../<x>/é"), "_2e_2e_2f_3cx_3e_2f_c3_a9");
    }
}
