//! The process-wide rustls crypto provider: ring, for GitHub (octocrab) and AWS alike.

use std::sync::Once;

/// Installs rustls' ring provider as the process default, once. Call it at start-up,
/// before any HTTPS client is built; later calls do nothing. When another provider was
/// installed first, that one stays.
pub fn install_crypto_provider() {
    static INSTALL: Once = Once::new();
    INSTALL.call_once(|| {
        if rustls::crypto::CryptoProvider::get_default().is_none() {
            // Losing a race with another installer is fine: a provider is installed either way.
            let _ = rustls::crypto::ring::default_provider().install_default();
        }
    });
}

#[cfg(test)]
mod tests {
    #[test]
    fn installing_twice_is_harmless_and_leaves_a_provider() {
        super::install_crypto_provider();
        super::install_crypto_provider();
        assert!(rustls::crypto::CryptoProvider::get_default().is_some());
    }
}
