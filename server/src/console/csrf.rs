//! CSRF tokens: an HMAC-SHA256 of the session's token under a secret drawn from the OS when the
//! server starts. Each form carries it in a hidden field; a POST is acted on only when the field
//! matches its session (compared in constant time). A page of another site can neither read the
//! token (it never leaves the console's pages) nor compute it (it lacks the secret).

use hmac::{digest::KeyInit, Hmac, Mac};
use rand::RngCore;
use sha2::Sha256;

/// The form field that carries the token.
pub(crate) const FIELD: &str = "csrf";

/// Bytes of the server's secret: SHA-256's block, the longest key HMAC uses as it is.
const SECRET_BYTES: usize = 64;

/// The server's CSRF secret; never leaves the process.
pub(crate) struct Secret([u8; SECRET_BYTES]);

impl Secret {
    /// A new secret from the thread's CSPRNG (seeded from the OS).
    pub(crate) fn generate() -> Secret {
        let mut bytes = [0u8; SECRET_BYTES];
        rand::rng().fill_bytes(&mut bytes);
        Secret(bytes)
    }

    fn mac(&self, session: &str) -> Hmac<Sha256> {
        let mut mac = <Hmac<Sha256> as KeyInit>::new(&self.0.into());
        mac.update(b"distributary console csrf\0");
        mac.update(session.as_bytes());
        mac
    }

    /// The token of a session's forms.
    pub(crate) fn token(&self, session: &str) -> String {
        hex::encode(self.mac(session).finalize().into_bytes())
    }

    /// Whether `given` is the token of `session`.
    pub(crate) fn verify(&self, session: &str, given: Option<&str>) -> bool {
        let Some(given) = given.and_then(|text| hex::decode(text).ok()) else {
            return false;
        };
        self.mac(session).verify_slice(&given).is_ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_token_verifies_only_for_its_session_and_secret() {
        let secret = Secret::generate();
        let token = secret.token("dst_a");
        assert!(secret.verify("dst_a", Some(&token)));
        assert!(!secret.verify("dst_b", Some(&token)));
        assert!(!secret.verify("dst_a", None));
        assert!(!secret.verify("dst_a", Some("")));
        assert!(!secret.verify("dst_a", Some("zz")));
        assert!(!Secret::generate().verify("dst_a", Some(&token)));
    }
}
