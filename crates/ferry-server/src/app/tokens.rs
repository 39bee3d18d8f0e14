//! Scoped registry tokens: create (the secret is made here and shown once), list,
//! revoke. Every change drops the registry authorizer's cache, so it applies to the
//! next request.

use super::{App, AppError};
use crate::registry::check_glob;
use ferry_api::{CreateTokenRequest, CreatedToken, RegistryToken};
use ferry_store::{expiry_after, hash_secret, StoredToken};
use ferry_types::TokenId;

/// Most repository patterns in one token's pull or push list.
const MAX_GLOBS: usize = 64;
/// Longest token name.
const MAX_NAME: usize = 100;
/// Longest lifetime: ten years.
const MAX_LIFETIME_SECONDS: u64 = 10 * 366 * 86_400;

impl App {
    pub fn create_token(&self, request: CreateTokenRequest) -> Result<CreatedToken, AppError> {
        let name = request.name.unwrap_or_default().trim().to_string();
        if name.len() > MAX_NAME || name.chars().any(char::is_control) {
            return Err(AppError::BadRequest(format!(
                "a token name is at most {MAX_NAME} bytes, without control characters"
            )));
        }
        if request.pull.is_empty() && request.push.is_empty() {
            return Err(AppError::BadRequest(
                "a token needs at least one repository pattern to pull from or push to (--pull, --push)".into(),
            ));
        }
        for list in [&request.pull, &request.push] {
            if list.len() > MAX_GLOBS {
                return Err(AppError::BadRequest(format!(
                    "at most {MAX_GLOBS} repository patterns per list"
                )));
            }
            for glob in list {
                check_glob(glob).map_err(AppError::BadRequest)?;
            }
        }
        let now = ferry_types::now();
        let expires_at = match request.expires_in_seconds {
            None => None,
            Some(0) => {
                return Err(AppError::BadRequest(
                    "an expiry must be in the future".into(),
                ))
            }
            Some(seconds) if seconds > MAX_LIFETIME_SECONDS => {
                return Err(AppError::BadRequest(
                    "an expiry is at most ten years away (leave it out for a token that does not expire)".into(),
                ))
            }
            // Whole seconds: what the CLI shows and what anyone compares against.
            seconds => expiry_after(now, seconds).and_then(|at| at.replace_nanosecond(0).ok()),
        };
        let secret = new_secret()?;
        let token = RegistryToken {
            id: TokenId::generate(),
            name,
            pull: request.pull,
            push: request.push,
            created_at: now,
            expires_at,
            revoked: false,
        };
        self.store.create_token(&StoredToken {
            token: token.clone(),
            secret_sha256: hash_secret(&secret),
        })?;
        self.registry.tokens.invalidate();
        tracing::info!(id = %token.id, pull = ?token.pull, push = ?token.push, "registry token created");
        Ok(CreatedToken { token, secret })
    }

    pub fn list_tokens(&self) -> Result<Vec<RegistryToken>, AppError> {
        Ok(self
            .store
            .tokens()?
            .into_iter()
            .map(|stored| stored.token)
            .collect())
    }

    pub fn revoke_token(&self, id: &str) -> Result<RegistryToken, AppError> {
        let token = self.store.revoke_token(&TokenId::from_string(id));
        // Dropped even on error: the cache must never outlive a write attempt.
        self.registry.tokens.invalidate();
        let token = token?;
        tracing::info!(id = %token.id, "registry token revoked");
        Ok(token)
    }
}

/// `ferry_rt_` and 32 random bytes in hex.
fn new_secret() -> Result<String, AppError> {
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes)
        .map_err(|err| AppError::Internal(format!("no randomness for a token: {err}")))?;
    let hex: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
    Ok(format!("ferry_rt_{hex}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_are_random_and_long() {
        let a = new_secret().unwrap();
        let b = new_secret().unwrap();
        assert_ne!(a, b);
        assert!(a.starts_with("ferry_rt_"));
        assert_eq!(a.len(), "ferry_rt_".len() + 64);
    }
}
