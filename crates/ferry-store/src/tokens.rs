//! The `registry_tokens` table: scoped tokens for ferry's registry. A secret is never
//! stored, only its sha256, so a copy of the database lets nobody push.

use crate::db::{parse_ts, ts, Store};
use crate::error::StoreError;
use ferry_api::RegistryToken;
use ferry_types::TokenId;
use rusqlite::{params, OptionalExtension, Row};
use sha2::Digest as _;
use time::OffsetDateTime;

/// A token with the hash its secret is looked up by.
#[derive(Clone, Debug, PartialEq)]
pub struct StoredToken {
    pub token: RegistryToken,
    /// Lowercase hex sha256 of the secret ([`hash_secret`]).
    pub secret_sha256: String,
}

/// The hash a secret is stored and looked up by: lowercase hex sha256. Secrets are 32
/// random bytes, so a plain hash (no salt, no stretching) cannot be guessed back.
pub fn hash_secret(secret: &str) -> String {
    sha2::Sha256::digest(secret.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

const COLUMNS: &str = "id, name, secret_sha256, pull, push, created_at, expires_at, revoked_at";

fn from_row(row: &Row<'_>) -> rusqlite::Result<Result<StoredToken, StoreError>> {
    let id: String = row.get(0)?;
    let name: String = row.get(1)?;
    let secret_sha256: String = row.get(2)?;
    let pull: String = row.get(3)?;
    let push: String = row.get(4)?;
    let created: String = row.get(5)?;
    let expires: Option<String> = row.get(6)?;
    let revoked: Option<String> = row.get(7)?;
    let globs = |text: &str| {
        serde_json::from_str::<Vec<String>>(text).map_err(|err| StoreError::Corrupt {
            what: "token repositories",
            detail: err.to_string(),
        })
    };
    Ok((|| {
        Ok(StoredToken {
            token: RegistryToken {
                id: TokenId::from_string(id),
                name,
                pull: globs(&pull)?,
                push: globs(&push)?,
                created_at: parse_ts(&created)?,
                expires_at: expires.as_deref().map(parse_ts).transpose()?,
                revoked: revoked.is_some(),
            },
            secret_sha256,
        })
    })())
}

fn json(globs: &[String]) -> Result<String, StoreError> {
    serde_json::to_string(globs).map_err(|err| StoreError::Corrupt {
        what: "token repositories",
        detail: err.to_string(),
    })
}

impl Store {
    /// Stores a new token; a secret hash or id already stored is a conflict.
    pub fn create_token(&self, new: &StoredToken) -> Result<(), StoreError> {
        let t = &new.token;
        let result = self.conn().execute(
            &format!(
                "INSERT INTO registry_tokens ({COLUMNS}) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)"
            ),
            params![
                t.id.as_str(),
                t.name,
                new.secret_sha256,
                json(&t.pull)?,
                json(&t.push)?,
                ts(t.created_at),
                t.expires_at.map(ts),
                t.revoked.then(|| ts(ferry_types::now())),
            ],
        );
        match result {
            Ok(_) => Ok(()),
            Err(rusqlite::Error::SqliteFailure(err, _))
                if err.code == rusqlite::ErrorCode::ConstraintViolation =>
            {
                Err(StoreError::Conflict {
                    what: format!("token {}", t.id),
                })
            }
            Err(err) => Err(err.into()),
        }
    }

    /// Every token with its hash, oldest first (the registry's authorizer caches them).
    pub fn tokens(&self) -> Result<Vec<StoredToken>, StoreError> {
        let conn = self.conn();
        let mut stmt = conn.prepare(&format!(
            "SELECT {COLUMNS} FROM registry_tokens ORDER BY created_at, id"
        ))?;
        let rows = stmt.query_map([], from_row)?;
        let mut tokens = Vec::new();
        for row in rows {
            tokens.push(row??);
        }
        Ok(tokens)
    }

    /// The token whose secret is `secret`, whatever its state.
    pub fn token_by_secret(&self, secret: &str) -> Result<Option<StoredToken>, StoreError> {
        self.conn()
            .query_row(
                &format!("SELECT {COLUMNS} FROM registry_tokens WHERE secret_sha256 = ?1"),
                [hash_secret(secret)],
                from_row,
            )
            .optional()?
            .transpose()
    }

    /// Revokes a token (again is fine: the first revocation time stays); the token as
    /// it is now.
    pub fn revoke_token(&self, id: &TokenId) -> Result<RegistryToken, StoreError> {
        let conn = self.conn();
        conn.execute(
            "UPDATE registry_tokens SET revoked_at = COALESCE(revoked_at, ?2) WHERE id = ?1",
            params![id.as_str(), ts(ferry_types::now())],
        )?;
        conn.query_row(
            &format!("SELECT {COLUMNS} FROM registry_tokens WHERE id = ?1"),
            [id.as_str()],
            from_row,
        )
        .optional()?
        .transpose()?
        .map(|stored| stored.token)
        .ok_or_else(|| StoreError::NotFound {
            what: format!("token {id}"),
        })
    }
}

/// When a token made now with `expires_in_seconds` stops working (None: never, or a
/// lifetime past the calendar's end).
pub fn expiry_after(
    now: OffsetDateTime,
    expires_in_seconds: Option<u64>,
) -> Option<OffsetDateTime> {
    let seconds = i64::try_from(expires_in_seconds?).ok()?;
    now.checked_add(time::Duration::seconds(seconds))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn token(
        secret: &str,
        pull: &[&str],
        push: &[&str],
        expires: Option<OffsetDateTime>,
    ) -> StoredToken {
        StoredToken {
            token: RegistryToken {
                id: TokenId::generate(),
                name: "ci".into(),
                pull: pull.iter().map(|s| s.to_string()).collect(),
                push: push.iter().map(|s| s.to_string()).collect(),
                created_at: ferry_types::now(),
                expires_at: expires,
                revoked: false,
            },
            secret_sha256: hash_secret(secret),
        }
    }

    #[test]
    fn secrets_are_stored_hashed_and_found_by_their_hash() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("ferry.db");
        let store = Store::open(&path).unwrap();
        let secret = "ferry_rt_0123456789abcdef0123456789abcdef";
        let new = token(secret, &["shop/*"], &["shop/web"], None);
        store.create_token(&new).unwrap();
        // sha256 of the secret, as `printf %s SECRET | sha256sum` prints it.
        assert_eq!(
            hash_secret(secret),
            "c2243303f695c829aa5116bb92fb8c7cf927d660803ffb59d6215ce619515f0b"
        );
        assert_eq!(hash_secret(secret).len(), 64);
        assert_ne!(hash_secret(secret), hash_secret("ferry_rt_other"));
        let found = store.token_by_secret(secret).unwrap().unwrap();
        assert_eq!(found, new);
        assert_eq!(found.token.pull, ["shop/*"]);
        assert_eq!(found.token.push, ["shop/web"]);
        assert!(store.token_by_secret("wrong").unwrap().is_none());
        // The database file never holds the secret itself.
        drop(store);
        let bytes = std::fs::read(&path).unwrap();
        let wal = std::fs::read(dir.path().join("ferry.db-wal")).unwrap_or_default();
        for file in [bytes, wal] {
            assert!(!file.windows(secret.len()).any(|w| w == secret.as_bytes()));
        }
        // The same secret cannot be stored twice.
        let store = Store::open(&path).unwrap();
        assert!(matches!(
            store.create_token(&token(secret, &[], &[], None)),
            Err(StoreError::Conflict { .. })
        ));
    }

    #[test]
    fn revocation_is_stored_and_repeatable() {
        let store = Store::open_in_memory().unwrap();
        let new = token("s1", &["a"], &[], None);
        store.create_token(&new).unwrap();
        store.create_token(&token("s2", &["b"], &[], None)).unwrap();
        let revoked = store.revoke_token(&new.token.id).unwrap();
        assert!(revoked.revoked);
        assert!(!revoked.is_usable_at(ferry_types::now()));
        assert!(store.revoke_token(&new.token.id).unwrap().revoked);
        let all = store.tokens().unwrap();
        assert_eq!(all.len(), 2);
        assert_eq!(
            all.iter().map(|t| t.token.revoked).collect::<Vec<_>>(),
            [true, false]
        );
        assert!(matches!(
            store.revoke_token(&TokenId::from_string("tok-missing")),
            Err(StoreError::NotFound { .. })
        ));
    }

    #[test]
    fn expiry_is_stored_and_checked() {
        let store = Store::open_in_memory().unwrap();
        let now = ferry_types::now();
        let expires = expiry_after(now, Some(30 * 86_400)).unwrap();
        assert_eq!((expires - now).whole_days(), 30);
        assert_eq!(expiry_after(now, None), None);
        assert_eq!(expiry_after(now, Some(u64::MAX)), None);
        let new = token("s", &["a"], &[], Some(expires));
        store.create_token(&new).unwrap();
        let stored = store.token_by_secret("s").unwrap().unwrap().token;
        // Stored to the second (RFC 3339), so compare at that precision.
        assert_eq!(
            stored.expires_at.map(|t| t.unix_timestamp()),
            Some(expires.unix_timestamp())
        );
        assert!(stored.is_usable_at(now));
        assert!(stored.is_usable_at(expires - time::Duration::seconds(1)));
        assert!(!stored.is_usable_at(expires));
        assert!(!stored.is_usable_at(expires + time::Duration::days(1)));
    }
}
