//! Who may use ferry's registry: the admin token may do everything, a scoped registry
//! token (from the store) what its globs allow, and anyone may pull from the
//! repositories the server was told to serve anonymously. Tokens are cached in memory
//! and the cache is dropped whenever one is created or revoked, so every request is
//! checked against the current rows without a query.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, RwLock};

use async_trait::async_trait;
use ferry_api::RegistryToken;
use ferry_registry::auth::{
    constant_time_eq, Access, Action, Authentication, Authorizer, Credentials, Principal,
};
use ferry_registry::RepositoryPattern;
use ferry_store::{hash_secret, Store, StoreError, StoredToken};
use ferry_types::TokenId;

/// The principal of the admin token.
const ADMIN: &str = "admin";
/// Principals of scoped tokens are this followed by the token id.
const TOKEN_PREFIX: &str = "token:";

/// What one scoped token may do.
#[derive(Debug, Clone)]
pub struct Scope {
    pub token: RegistryToken,
    pull: Vec<RepositoryPattern>,
    push: Vec<RepositoryPattern>,
}

impl Scope {
    pub fn new(token: RegistryToken) -> Scope {
        let globs = |list: &[String]| list.iter().map(|g| RepositoryPattern::new(g)).collect();
        Scope {
            pull: globs(&token.pull),
            push: globs(&token.push),
            token,
        }
    }

    /// Push implies pull on the same repositories; deleting needs push.
    pub fn allows(&self, repository: &str, action: Action) -> bool {
        let any = |globs: &[RepositoryPattern]| globs.iter().any(|g| g.matches(repository));
        match action {
            Action::Pull => any(&self.pull) || any(&self.push),
            Action::Push | Action::Delete => any(&self.push),
        }
    }
}

#[derive(Default)]
struct Snapshot {
    by_hash: HashMap<String, TokenId>,
    by_id: HashMap<TokenId, Arc<Scope>>,
}

/// The token rows in memory. [`TokenCache::invalidate`] after every change; the next
/// request reloads them (tokens are few, so that is one short query).
pub struct TokenCache {
    store: Arc<Store>,
    snapshot: RwLock<Option<Arc<Snapshot>>>,
    /// Bumped by every invalidation, so a load that raced one is not kept.
    generation: AtomicU64,
}

impl TokenCache {
    pub fn new(store: Arc<Store>) -> TokenCache {
        TokenCache {
            store,
            snapshot: RwLock::new(None),
            generation: AtomicU64::new(0),
        }
    }

    /// Forgets the cached rows: the next check reads the store.
    pub fn invalidate(&self) {
        self.generation.fetch_add(1, Ordering::SeqCst);
        *self
            .snapshot
            .write()
            .unwrap_or_else(|poison| poison.into_inner()) = None;
    }

    fn snapshot(&self) -> Result<Arc<Snapshot>, StoreError> {
        if let Some(snapshot) = self
            .snapshot
            .read()
            .unwrap_or_else(|poison| poison.into_inner())
            .as_ref()
        {
            return Ok(Arc::clone(snapshot));
        }
        let generation = self.generation.load(Ordering::SeqCst);
        let mut snapshot = Snapshot::default();
        for StoredToken {
            token,
            secret_sha256,
        } in self.store.tokens()?
        {
            snapshot.by_hash.insert(secret_sha256, token.id.clone());
            snapshot
                .by_id
                .insert(token.id.clone(), Arc::new(Scope::new(token)));
        }
        let snapshot = Arc::new(snapshot);
        let mut slot = self
            .snapshot
            .write()
            .unwrap_or_else(|poison| poison.into_inner());
        if self.generation.load(Ordering::SeqCst) == generation {
            *slot = Some(Arc::clone(&snapshot));
        }
        Ok(snapshot)
    }

    /// The token a secret belongs to, whatever its state; None when unknown or when
    /// the store cannot be read (failing closed).
    fn by_secret(&self, secret: &str) -> Option<Arc<Scope>> {
        // A HashMap lookup is not constant-time, but it compares hashes of secrets:
        // timing tells nothing about the secret itself.
        let hash = hash_secret(secret);
        let snapshot = self.load()?;
        let id = snapshot.by_hash.get(&hash)?;
        snapshot.by_id.get(id).cloned()
    }

    fn by_id(&self, id: &str) -> Option<Arc<Scope>> {
        self.load()?.by_id.get(&TokenId::from_string(id)).cloned()
    }

    fn load(&self) -> Option<Arc<Snapshot>> {
        match self.snapshot() {
            Ok(snapshot) => Some(snapshot),
            Err(err) => {
                tracing::error!(error = %err, "cannot read registry tokens: scoped tokens are refused");
                None
            }
        }
    }
}

/// The server's access policy for `/v2/`.
pub struct StoreAuthorizer {
    admin_token: Arc<str>,
    tokens: Arc<TokenCache>,
    anonymous_pull: Vec<RepositoryPattern>,
}

impl StoreAuthorizer {
    pub fn new(
        admin_token: Arc<str>,
        tokens: Arc<TokenCache>,
        anonymous_pull: Vec<RepositoryPattern>,
    ) -> StoreAuthorizer {
        StoreAuthorizer {
            admin_token,
            tokens,
            anonymous_pull,
        }
    }

    fn anyone_may(&self, access: &Access) -> bool {
        match access {
            Access::Repository {
                name,
                action: Action::Pull,
            } => self.anonymous_pull.iter().any(|p| p.matches(name.as_str())),
            _ => false,
        }
    }
}

#[async_trait]
impl Authorizer for StoreAuthorizer {
    async fn authenticate(&self, credentials: &Credentials) -> Authentication {
        let Some(secret) = credentials.secret() else {
            return Authentication::Anonymous;
        };
        if !self.admin_token.is_empty()
            && constant_time_eq(secret.as_bytes(), self.admin_token.as_bytes())
        {
            return Authentication::Authenticated(Principal(ADMIN.into()));
        }
        match self.tokens.by_secret(secret) {
            Some(scope) if scope.token.is_usable_at(ferry_types::now()) => {
                Authentication::Authenticated(Principal(format!(
                    "{TOKEN_PREFIX}{}",
                    scope.token.id
                )))
            }
            _ => Authentication::Invalid,
        }
    }

    async fn allows(&self, principal: Option<&Principal>, access: &Access) -> bool {
        if self.anyone_may(access) {
            return true;
        }
        let Some(Principal(who)) = principal else {
            return false;
        };
        if who == ADMIN {
            return true;
        }
        let Some(id) = who.strip_prefix(TOKEN_PREFIX) else {
            return false;
        };
        // Looked up again on every request (tokens from /v2/token name the principal
        // only), so a revocation or an expiry takes effect at once.
        let Some(scope) = self.tokens.by_id(id) else {
            return false;
        };
        if !scope.token.is_usable_at(ferry_types::now()) {
            return false;
        }
        match access {
            Access::Registry => true,
            // The catalog names every repository: the admin's.
            Access::Catalog => false,
            Access::Repository { name, action } => scope.allows(name.as_str(), *action),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ferry_registry::auth::Decision;

    fn stored(secret: &str, pull: &[&str], push: &[&str]) -> StoredToken {
        StoredToken {
            token: RegistryToken {
                id: TokenId::generate(),
                name: "test".into(),
                pull: pull.iter().map(|s| s.to_string()).collect(),
                push: push.iter().map(|s| s.to_string()).collect(),
                created_at: ferry_types::now(),
                expires_at: None,
                revoked: false,
            },
            secret_sha256: hash_secret(secret),
        }
    }

    fn repo(name: &str, action: Action) -> Access {
        Access::Repository {
            name: name.parse().unwrap(),
            action,
        }
    }

    fn basic(password: &str) -> Credentials {
        Credentials::Basic {
            username: "anyone".into(),
            password: password.into(),
        }
    }

    fn setup(tokens: &[StoredToken]) -> (Arc<Store>, Arc<TokenCache>, StoreAuthorizer) {
        let store = Arc::new(Store::open_in_memory().unwrap());
        for token in tokens {
            store.create_token(token).unwrap();
        }
        let cache = Arc::new(TokenCache::new(Arc::clone(&store)));
        let auth = StoreAuthorizer::new(
            "admin-secret".into(),
            Arc::clone(&cache),
            vec![RepositoryPattern::new("public/*")],
        );
        (store, cache, auth)
    }

    #[tokio::test]
    async fn scoped_tokens_get_their_globs_push_implies_pull_delete_needs_push() {
        let ci = stored("ci-secret", &["shop/*"], &["shop/web"]);
        let (_store, _cache, auth) = setup(&[ci]);
        let ci = basic("ci-secret");
        let bearer = Credentials::Bearer("ci-secret".into());
        for (access, expected) in [
            (repo("shop/web", Action::Push), Decision::Allow),
            (repo("shop/web", Action::Pull), Decision::Allow),
            (repo("shop/web", Action::Delete), Decision::Allow),
            (repo("shop/other", Action::Pull), Decision::Allow),
            (repo("shop/a/b", Action::Pull), Decision::Allow),
            (repo("shop/other", Action::Push), Decision::Deny),
            (repo("shop/other", Action::Delete), Decision::Deny),
            (repo("shopping", Action::Pull), Decision::Deny),
            (repo("shop/webx", Action::Push), Decision::Deny),
            (repo("public/x", Action::Pull), Decision::Allow),
            (repo("public/x", Action::Push), Decision::Deny),
            (Access::Registry, Decision::Allow),
            (Access::Catalog, Decision::Deny),
        ] {
            assert_eq!(auth.authorize(&ci, &access).await, expected, "{access:?}");
            assert_eq!(
                auth.authorize(&bearer, &access).await,
                expected,
                "{access:?}"
            );
        }
    }

    #[tokio::test]
    async fn admin_anonymous_and_wrong_secrets() {
        let (_store, _cache, auth) = setup(&[stored("s", &["a"], &[])]);
        let admin = basic("admin-secret");
        for access in [
            repo("anything/at/all", Action::Delete),
            Access::Catalog,
            Access::Registry,
        ] {
            assert_eq!(auth.authorize(&admin, &access).await, Decision::Allow);
        }
        let anonymous = Credentials::Anonymous;
        assert_eq!(
            auth.authorize(&anonymous, &repo("public/site", Action::Pull))
                .await,
            Decision::Allow
        );
        for access in [
            repo("public/site", Action::Push),
            repo("private/site", Action::Pull),
            Access::Registry,
            Access::Catalog,
        ] {
            assert_eq!(
                auth.authorize(&anonymous, &access).await,
                Decision::Unauthenticated,
                "{access:?}"
            );
        }
        for wrong in [
            basic("wrong"),
            basic(""),
            Credentials::Bearer("admin".into()),
        ] {
            assert_eq!(
                auth.authorize(&wrong, &repo("a", Action::Pull)).await,
                Decision::Unauthenticated
            );
        }
        // A principal that is neither the admin nor a known token may do nothing.
        for who in ["token:tok-unknown", "someone", "token:"] {
            assert!(
                !auth
                    .allows(Some(&Principal(who.into())), &repo("a", Action::Pull))
                    .await
            );
        }
    }

    #[tokio::test]
    async fn revocation_and_creation_take_effect_once_the_cache_is_dropped() {
        let first = stored("one", &["a"], &[]);
        let (store, cache, auth) = setup(std::slice::from_ref(&first));
        let principal = match auth.authenticate(&basic("one")).await {
            Authentication::Authenticated(p) => p,
            other => panic!("{other:?}"),
        };
        assert!(
            auth.allows(Some(&principal), &repo("a", Action::Pull))
                .await
        );
        store.revoke_token(&first.token.id).unwrap();
        cache.invalidate();
        assert_eq!(
            auth.authenticate(&basic("one")).await,
            Authentication::Invalid
        );
        // A principal named by an earlier /v2/token answer is refused as well.
        assert!(
            !auth
                .allows(Some(&principal), &repo("a", Action::Pull))
                .await
        );

        assert_eq!(
            auth.authenticate(&basic("two")).await,
            Authentication::Invalid
        );
        store.create_token(&stored("two", &[], &["b"])).unwrap();
        cache.invalidate();
        assert_eq!(
            auth.authorize(&basic("two"), &repo("b", Action::Push))
                .await,
            Decision::Allow
        );
    }

    #[tokio::test]
    async fn expired_tokens_are_refused() {
        let mut expired = stored("old", &["a"], &[]);
        expired.token.expires_at = Some(ferry_types::now() - time::Duration::seconds(1));
        let mut later = stored("new", &["a"], &[]);
        later.token.expires_at = Some(ferry_types::now() + time::Duration::hours(1));
        let (_store, _cache, auth) = setup(&[expired.clone(), later]);
        assert_eq!(
            auth.authenticate(&basic("old")).await,
            Authentication::Invalid
        );
        let principal = Principal(format!("{TOKEN_PREFIX}{}", expired.token.id));
        assert!(
            !auth
                .allows(Some(&principal), &repo("a", Action::Pull))
                .await
        );
        assert_eq!(
            auth.authorize(&basic("new"), &repo("a", Action::Pull))
                .await,
            Decision::Allow
        );
    }

    #[test]
    fn rows_are_cached_until_invalidated() {
        let store = Arc::new(Store::open_in_memory().unwrap());
        let cache = TokenCache::new(Arc::clone(&store));
        assert!(cache.by_secret("x").is_none());
        store.create_token(&stored("x", &["a"], &[])).unwrap();
        // Still the cached (empty) rows until invalidated.
        assert!(cache.by_secret("x").is_none());
        cache.invalidate();
        assert!(cache.by_secret("x").is_some());
    }
}
