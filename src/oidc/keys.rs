//! The issuer's signing keys: a JWKS document read into the RSA keys [`verify`] may use.
//!
//! [`verify`]: super::verify()

use jsonwebtoken::DecodingKey;
use serde::Deserialize;
use serde_json::Value;

use super::{OidcError, shown};

/// A key set with more keys than this is refused.
const MAX_KEYS: usize = 64;

/// The issuer's signing keys: RSA keys by `kid`, from a JWKS document.
#[derive(Clone)]
pub struct Jwks {
    keys: Vec<(String, DecodingKey)>,
}

impl Jwks {
    /// Reads a JWKS document (`{"keys": [...]}`). RSA signature keys with a `kid` are kept
    /// (`use` absent or `sig`, `alg` absent or `RS256`); others are skipped. A set with no
    /// usable key is an error.
    pub fn from_json(json: &str) -> Result<Self, OidcError> {
        #[derive(Deserialize)]
        struct Set {
            keys: Vec<Value>,
        }
        let set: Set =
            serde_json::from_str(json).map_err(|e| OidcError::InvalidJwks(format!("not a JWKS document: {e}")))?;
        if set.keys.len() > MAX_KEYS {
            return Err(OidcError::InvalidJwks(format!("{} keys; at most {MAX_KEYS} are accepted", set.keys.len())));
        }
        let text = |key: &Value, name: &str| key.get(name).and_then(Value::as_str).map(str::to_owned);
        let mut keys = Vec::new();
        for key in &set.keys {
            let usable = text(key, "kty").as_deref() == Some("RSA")
                && text(key, "use").is_none_or(|u| u == "sig")
                && text(key, "alg").is_none_or(|a| a == "RS256");
            let (Some(kid), Some(n), Some(e)) = (text(key, "kid"), text(key, "n"), text(key, "e")) else { continue };
            if !usable {
                continue;
            }
            let decoding = DecodingKey::from_rsa_components(&n, &e)
                .map_err(|e| OidcError::InvalidJwks(format!("key `{}`: {e}", shown(&kid))))?;
            keys.push((kid, decoding));
        }
        if keys.is_empty() {
            return Err(OidcError::InvalidJwks("it lists no RSA signing key with a `kid`".to_owned()));
        }
        Ok(Self { keys })
    }

    /// The key ids, in the order listed.
    pub fn key_ids(&self) -> Vec<&str> {
        self.keys.iter().map(|(kid, _)| kid.as_str()).collect()
    }

    pub(super) fn with_kid<'a>(&'a self, kid: &'a str) -> impl Iterator<Item = &'a DecodingKey> + 'a {
        self.keys.iter().filter(move |(id, _)| id == kid).map(|(_, key)| key)
    }
}

impl std::fmt::Debug for Jwks {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Jwks").field("kids", &self.key_ids()).finish()
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn key_sets_keep_rsa_signing_keys_and_refuse_empty_ones() {
        let rsa = |kid: &str, extra: Value| {
            let mut key = json!({"kty": "RSA", "kid": kid, "n": "sXchDaQebHnPiGvyDOAT4saGEUetSyo9MKLOoWFsueri23bOdgWp4Dy1WlUzewbgBHod5pcM9H95GQRV3JDXboIRROSBigeC5yjU1hGzHHyXss8UDprecbAYxknTcQkhslANGRUZmdTOQ5qTRsLAt6BTYuyvVRdhS8exSZEy_c4gs_7svlJJQ4H9_NxsiIoLwAEk7-Q3UXERGYw_75IDrGA84-lA_-Ct4eTlXHBIY2EaV7t7LjJaynVJCpkv4LKjTTAumiGUIuQhrNhZLuF_RJLqHpM2kgWFLU7-VTdL1VbC2tejvcI2BlMkEpk1BzBZI0KQB0GaDWFLN-aEAw3vRw", "e": "AQAB"});
            if let (Value::Object(key), Value::Object(extra)) = (&mut key, extra) {
                key.extend(extra);
            }
            key
        };
        let set = json!({"keys": [
            rsa("sig", json!({"use": "sig", "alg": "RS256"})),
            rsa("plain", json!({})),
            rsa("enc", json!({"use": "enc"})),
            rsa("ps256", json!({"alg": "PS256"})),
            {"kty": "EC", "kid": "ec", "crv": "P-256", "x": "AA", "y": "AA"},
            {"kty": "RSA", "n": "AA", "e": "AQAB"},
        ]});
        let jwks = Jwks::from_json(&set.to_string()).expect("usable keys");
        assert_eq!(jwks.key_ids(), ["sig", "plain"]);
        assert_eq!(format!("{jwks:?}"), r#"Jwks { kids: ["sig", "plain"] }"#);
        for bad in [json!({"keys": []}), json!({"keys": [{"kty": "EC", "kid": "ec"}]}), json!({"nokeys": 1})] {
            assert!(matches!(Jwks::from_json(&bad.to_string()), Err(OidcError::InvalidJwks(_))), "{bad}");
        }
    }
}
