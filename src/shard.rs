//! Shards of the fleet: `--shard K/N` keeps the targets whose key hashes to shard K of N,
//! so N jobs of a workflow matrix each take a part of the one target list and together
//! take all of it, every target in exactly one. The assignment depends only on the
//! target's key (`acme/web`, `tenants/billing`) and environment and on N: a target stays
//! in its shard from run to run, whatever else is registered.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::identity::Target;

/// The most shards a run may be split into (a matrix of GitHub Actions jobs is at most
/// 256 entries).
pub const MAX_SHARDS: u32 = 256;

/// Shard `index` (1-based) of `count`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Shard {
    pub index: u32,
    pub count: u32,
}

impl Shard {
    /// Whether `target` is in this shard.
    pub fn contains(&self, target: &Target) -> bool {
        shard_of(target, self.count) == self.index
    }
}

/// The shard (1-based) of `count` that `target` belongs to.
pub fn shard_of(target: &Target, count: u32) -> u32 {
    // FNV-1a, 64 bits: stable across builds and platforms (std's hasher is not).
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for byte in target.owner.key().bytes().chain([b'\n']).chain(target.env.as_str().bytes()) {
        hash ^= u64::from(byte);
        hash = hash.wrapping_mul(0x0000_0100_0000_01b3);
    }
    u32::try_from(hash % u64::from(count.max(1))).unwrap_or(0) + 1
}

impl fmt::Display for Shard {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.index, self.count)
    }
}

impl FromStr for Shard {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let usage = || {
            format!(
                "`{}` is not a shard: write K/N, e.g. 2/4 (1 ≤ K ≤ N ≤ {MAX_SHARDS})",
                crate::diagnostic::shown(text)
            )
        };
        let (k, n) = text.split_once('/').ok_or_else(usage)?;
        let parse = |s: &str| s.parse::<u32>().ok().filter(|_| s.bytes().all(|b| b.is_ascii_digit()));
        let (Some(index), Some(count)) = (parse(k), parse(n)) else { return Err(usage()) };
        if index == 0 || index > count || count > MAX_SHARDS {
            return Err(usage());
        }
        Ok(Self { index, count })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::identity::{EnvName, Owner, RepoId, TenantName};

    fn targets() -> Vec<Target> {
        let mut out = Vec::new();
        for i in 0..500 {
            for env in ["staging", "production"] {
                let owner = if i % 5 == 0 {
                    Owner::Tenant(TenantName::parse(&format!("t{i}")).expect("tenant"))
                } else {
                    Owner::Customer(RepoId::parse(&format!("acme/app{i}")).expect("repo"))
                };
                out.push(Target { owner, env: EnvName::parse(env).expect("env") });
            }
        }
        out
    }

    #[test]
    fn every_target_is_in_exactly_one_shard_and_the_shards_are_near_even() {
        let all = targets();
        for count in [1, 2, 3, 7, 16] {
            let shards: Vec<Shard> = (1..=count).map(|index| Shard { index, count }).collect();
            for t in &all {
                assert_eq!(shards.iter().filter(|s| s.contains(t)).count(), 1, "{t:?} in {count} shards");
            }
            let even = all.len() / count as usize;
            for s in &shards {
                let n = all.iter().filter(|t| s.contains(t)).count();
                assert!(n * 10 >= even * 7 && n * 10 <= even * 13, "shard {s}: {n} of {} (even: {even})", all.len());
            }
        }
    }

    #[test]
    fn a_targets_shard_depends_only_on_its_key_and_the_count() {
        let all = targets();
        let before: Vec<u32> = all.iter().map(|t| shard_of(t, 4)).collect();
        // More targets registered: the earlier ones stay where they were.
        let mut more = all.clone();
        more.reverse();
        more.truncate(700);
        for t in &more {
            let i = all.iter().position(|a| a == t).expect("known");
            assert_eq!(shard_of(t, 4), before[i]);
        }
        // A fixed value: the hash is FNV-1a, the same on every platform and build.
        let web = Target {
            owner: Owner::Customer(RepoId::parse("acme/web").expect("repo")),
            env: EnvName::parse("staging").expect("env"),
        };
        let shards: Vec<u32> = [1, 2, 3, 4, 7, 16].iter().map(|n| shard_of(&web, *n)).collect();
        assert_eq!(shards, [1, 2, 3, 2, 7, 6]);
    }

    #[test]
    fn shards_parse_as_k_of_n_and_bad_ones_say_how_to_write_them() {
        assert_eq!("2/4".parse::<Shard>(), Ok(Shard { index: 2, count: 4 }));
        assert_eq!("1/1".parse::<Shard>().map(|s| s.to_string()), Ok("1/1".to_owned()));
        for bad in ["0/4", "5/4", "4", "a/b", "-1/4", "+1/4", "1/257", "1/0", " 1/4", ""] {
            let error = bad.parse::<Shard>().expect_err(bad);
            assert!(error.contains("write K/N"), "{bad}: {error}");
        }
    }
}
