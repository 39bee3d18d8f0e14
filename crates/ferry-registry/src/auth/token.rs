//! Bearer tokens that `/v2/token` issues (Docker's token flow): who authenticated and
//! until when, HMAC-SHA256 signed with the registry's key.
//!
//! A token stands for the credentials it was issued for, for its lifetime, and
//! nothing more: every request is authorized afresh against the principal's current
//! permissions (so a revoked credential stops working at once). Scopes asked for at
//! the token endpoint are not narrowed into the token: clients such as oras-py reuse
//! one token for every request of a push, and a narrowed token would fail them.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use hmac::{KeyInit, Mac};
use serde::{Deserialize, Serialize};

use super::{Action, Principal};

type HmacSha256 = hmac::Hmac<sha2::Sha256>;

/// Marks tokens this registry issued, so others go to the authorizer untouched.
const PREFIX: &str = "ferry-registry.";
/// Tokens longer than this are not ours.
const MAX_TOKEN_LEN: usize = 16 * 1024;
/// What a token says.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Claims {
    /// Who authenticated; None for an anonymous token.
    pub sub: Option<Principal>,
    /// Expiry, seconds since the epoch.
    pub exp: u64,
}

impl Serialize for Action {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for Action {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let s = String::deserialize(deserializer)?;
        Action::parse(&s).ok_or_else(|| serde::de::Error::custom("unknown action"))
    }
}

/// Why a token of ours is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TokenError {
    #[error("token is malformed")]
    Malformed,
    #[error("token signature does not verify")]
    BadSignature,
    #[error("token has expired")]
    Expired,
}

/// Signs and verifies tokens with one key.
#[derive(Clone)]
pub struct TokenSigner {
    key: [u8; 32],
}

impl std::fmt::Debug for TokenSigner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("TokenSigner(***)")
    }
}

impl TokenSigner {
    /// A signer with a given key (a server that keeps tokens valid across restarts
    /// stores one).
    pub fn new(key: [u8; 32]) -> TokenSigner {
        TokenSigner { key }
    }

    /// A signer with a fresh random key: tokens die with the process (clients then
    /// get a 401 and fetch a new one).
    pub fn random() -> Result<TokenSigner, getrandom::Error> {
        let mut key = [0u8; 32];
        getrandom::fill(&mut key)?;
        Ok(TokenSigner { key })
    }

    fn mac(&self) -> HmacSha256 {
        // HMAC takes keys of any length: this cannot fail.
        <HmacSha256 as KeyInit>::new_from_slice(&self.key).unwrap_or_else(|_| unreachable!())
    }

    pub fn issue(&self, claims: &Claims) -> String {
        let payload = URL_SAFE_NO_PAD.encode(serde_json::to_vec(claims).unwrap_or_default());
        let mut mac = self.mac();
        mac.update(payload.as_bytes());
        let signature = URL_SAFE_NO_PAD.encode(mac.finalize().into_bytes());
        format!("{PREFIX}{payload}.{signature}")
    }

    /// Whether `token` claims to be one of ours (then only `verify` decides).
    pub fn is_ours(token: &str) -> bool {
        token.starts_with(PREFIX)
    }

    pub fn verify(&self, token: &str, now: u64) -> Result<Claims, TokenError> {
        if token.len() > MAX_TOKEN_LEN {
            return Err(TokenError::Malformed);
        }
        let body = token.strip_prefix(PREFIX).ok_or(TokenError::Malformed)?;
        let (payload, signature) = body.split_once('.').ok_or(TokenError::Malformed)?;
        let signature = URL_SAFE_NO_PAD
            .decode(signature)
            .map_err(|_| TokenError::Malformed)?;
        let mut mac = self.mac();
        mac.update(payload.as_bytes());
        mac.verify_slice(&signature)
            .map_err(|_| TokenError::BadSignature)?;
        let json = URL_SAFE_NO_PAD
            .decode(payload)
            .map_err(|_| TokenError::Malformed)?;
        let claims: Claims = serde_json::from_slice(&json).map_err(|_| TokenError::Malformed)?;
        if claims.exp <= now {
            return Err(TokenError::Expired);
        }
        Ok(claims)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_verify_and_expire() {
        let signer = TokenSigner::new([7; 32]);
        let claims = Claims {
            sub: Some(Principal("admin".into())),
            exp: 1000,
        };
        let token = signer.issue(&claims);
        assert!(TokenSigner::is_ours(&token));
        assert_eq!(signer.verify(&token, 999), Ok(claims.clone()));
        assert_eq!(signer.verify(&token, 1000), Err(TokenError::Expired));
        assert_eq!(
            TokenSigner::new([8; 32]).verify(&token, 0),
            Err(TokenError::BadSignature)
        );
        // Tampering with the payload breaks the signature.
        let (head, sig) = token.rsplit_once('.').unwrap();
        let forged = format!("{}A.{sig}", head);
        assert!(signer.verify(&forged, 0).is_err());
    }
}
