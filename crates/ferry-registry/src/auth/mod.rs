//! Who may do what: request credentials (Basic, Bearer), the access a request needs,
//! the [`Authorizer`] the server implements, and [`StaticAuthorizer`], one admin
//! token plus anonymous pull for some repositories, for tests and standalone use.

pub mod token;

use async_trait::async_trait;
use base64::Engine as _;
use http::HeaderMap;

use crate::name::{RepositoryName, RepositoryPattern};

/// What a request presented.
#[derive(Clone, PartialEq, Eq)]
pub enum Credentials {
    Anonymous,
    /// `Authorization: Basic` (what `docker login` stores).
    Basic {
        username: String,
        password: String,
    },
    /// `Authorization: Bearer`: a token of the server's (admin or scoped) or one that
    /// `/v2/token` issued.
    Bearer(String),
}

impl std::fmt::Debug for Credentials {
    // Secrets stay out of logs.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Credentials::Anonymous => f.write_str("Anonymous"),
            Credentials::Basic { username, .. } => write!(f, "Basic({username:?}, ***)"),
            Credentials::Bearer(_) => f.write_str("Bearer(***)"),
        }
    }
}

/// An `Authorization` header that is present but unreadable.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("malformed Authorization header: {0}")]
pub struct CredentialsError(&'static str);

/// The longest Authorization header read (tokens are far shorter).
const MAX_AUTHORIZATION_LEN: usize = 16 * 1024;

impl Credentials {
    pub fn from_headers(headers: &HeaderMap) -> Result<Credentials, CredentialsError> {
        let Some(value) = headers.get(http::header::AUTHORIZATION) else {
            return Ok(Credentials::Anonymous);
        };
        if value.len() > MAX_AUTHORIZATION_LEN {
            return Err(CredentialsError("too long"));
        }
        let value = value.to_str().map_err(|_| CredentialsError("not ASCII"))?;
        Credentials::parse(value)
    }

    pub fn parse(value: &str) -> Result<Credentials, CredentialsError> {
        let (scheme, rest) = value.trim().split_once(' ').unwrap_or((value.trim(), ""));
        let rest = rest.trim();
        if scheme.eq_ignore_ascii_case("basic") {
            let decoded = base64::engine::general_purpose::STANDARD
                .decode(rest)
                .map_err(|_| CredentialsError("Basic credentials are not base64"))?;
            let decoded = String::from_utf8(decoded)
                .map_err(|_| CredentialsError("Basic credentials are not UTF-8"))?;
            let (username, password) = decoded
                .split_once(':')
                .ok_or(CredentialsError("Basic credentials have no ':'"))?;
            Ok(Credentials::Basic {
                username: username.to_string(),
                password: password.to_string(),
            })
        } else if scheme.eq_ignore_ascii_case("bearer") {
            if rest.is_empty() {
                return Err(CredentialsError("empty Bearer token"));
            }
            Ok(Credentials::Bearer(rest.to_string()))
        } else {
            Err(CredentialsError(
                "unsupported scheme (Basic and Bearer are)",
            ))
        }
    }

    /// The secret presented: the Bearer token, or the Basic password (docker login
    /// sends a token as the password; the user name is free).
    pub fn secret(&self) -> Option<&str> {
        match self {
            Credentials::Anonymous => None,
            Credentials::Basic { password, .. } => Some(password),
            Credentials::Bearer(token) => Some(token),
        }
    }
}

/// What a repository request does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Action {
    Pull,
    Push,
    Delete,
}

impl Action {
    pub fn as_str(self) -> &'static str {
        match self {
            Action::Pull => "pull",
            Action::Push => "push",
            Action::Delete => "delete",
        }
    }

    pub fn parse(s: &str) -> Option<Action> {
        match s {
            "pull" => Some(Action::Pull),
            "push" => Some(Action::Push),
            "delete" => Some(Action::Delete),
            _ => None,
        }
    }
}

/// What a request needs to be allowed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Access {
    /// `GET /v2/` and `docker login`: may these credentials use the registry at all.
    Registry,
    Repository {
        name: RepositoryName,
        action: Action,
    },
    /// `GET /v2/_catalog`.
    Catalog,
}

/// Someone the authorizer recognised; opaque to the registry (an admin, a token id…).
/// Tokens issued by `/v2/token` carry it, and every request with such a token asks
/// the authorizer again, so revoking a credential takes effect at once.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Principal(pub String);

/// The answer to "who is this".
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Authentication {
    Anonymous,
    Authenticated(Principal),
    /// Credentials were presented and are wrong, expired or revoked.
    Invalid,
}

/// The answer to one request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decision {
    Allow,
    /// Known, and not allowed: 403 DENIED.
    Deny,
    /// Unknown (no or bad credentials): 401 UNAUTHORIZED with a challenge.
    Unauthenticated,
}

/// The server's access policy. The registry parses credentials and asks; it keeps no
/// users or tokens of its own.
#[async_trait]
pub trait Authorizer: Send + Sync + 'static {
    /// Who `credentials` belong to.
    async fn authenticate(&self, credentials: &Credentials) -> Authentication;

    /// Whether `principal` (None: anonymous) may have `access`. Asked on every
    /// request, so it must be cheap.
    async fn allows(&self, principal: Option<&Principal>, access: &Access) -> bool;

    /// Both questions for one request.
    async fn authorize(&self, credentials: &Credentials, access: &Access) -> Decision {
        let principal = match self.authenticate(credentials).await {
            Authentication::Invalid => return Decision::Unauthenticated,
            Authentication::Anonymous => None,
            Authentication::Authenticated(p) => Some(p),
        };
        match (self.allows(principal.as_ref(), access).await, principal) {
            (true, _) => Decision::Allow,
            (false, Some(_)) => Decision::Deny,
            (false, None) => Decision::Unauthenticated,
        }
    }
}

/// One admin token (as Bearer, or as the Basic password with any user name) that may
/// do everything, and anonymous pull from the repositories matching some globs.
pub struct StaticAuthorizer {
    admin_token: String,
    anonymous_pull: Vec<RepositoryPattern>,
}

impl StaticAuthorizer {
    pub fn new(admin_token: impl Into<String>) -> StaticAuthorizer {
        StaticAuthorizer {
            admin_token: admin_token.into(),
            anonymous_pull: Vec::new(),
        }
    }

    /// Lets anyone pull from repositories matching `pattern`.
    pub fn with_anonymous_pull(mut self, pattern: RepositoryPattern) -> StaticAuthorizer {
        self.anonymous_pull.push(pattern);
        self
    }
}

/// Compares secrets in time independent of where they differ.
pub fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

#[async_trait]
impl Authorizer for StaticAuthorizer {
    async fn authenticate(&self, credentials: &Credentials) -> Authentication {
        match credentials.secret() {
            None => Authentication::Anonymous,
            Some(secret)
                if !self.admin_token.is_empty()
                    && constant_time_eq(secret.as_bytes(), self.admin_token.as_bytes()) =>
            {
                Authentication::Authenticated(Principal("admin".into()))
            }
            Some(_) => Authentication::Invalid,
        }
    }

    async fn allows(&self, principal: Option<&Principal>, access: &Access) -> bool {
        if principal.is_some() {
            return true;
        }
        match access {
            Access::Repository {
                name,
                action: Action::Pull,
            } => self.anonymous_pull.iter().any(|p| p.matches(name.as_str())),
            _ => false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn header(value: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert(http::header::AUTHORIZATION, value.parse().unwrap());
        h
    }

    #[test]
    fn parses_credentials() {
        assert_eq!(
            Credentials::from_headers(&HeaderMap::new()),
            Ok(Credentials::Anonymous)
        );
        // "ferry:s3:cret" — the password may contain ':'.
        assert_eq!(
            Credentials::from_headers(&header("Basic ZmVycnk6czM6Y3JldA==")),
            Ok(Credentials::Basic {
                username: "ferry".into(),
                password: "s3:cret".into()
            })
        );
        assert_eq!(
            Credentials::from_headers(&header("bearer abc")),
            Ok(Credentials::Bearer("abc".into()))
        );
        for bad in ["Basic !!!", "Basic Zm9v", "Bearer", "Digest x", ""] {
            assert!(Credentials::parse(bad).is_err(), "{bad:?}");
        }
        assert!(!format!("{:?}", Credentials::Bearer("secret".into())).contains("secret"));
    }

    #[tokio::test]
    async fn static_authorizer() {
        let auth =
            StaticAuthorizer::new("tok").with_anonymous_pull(RepositoryPattern::new("public/*"));
        let repo = |n: &str, action| Access::Repository {
            name: n.parse().unwrap(),
            action,
        };
        let admin = Credentials::Basic {
            username: "x".into(),
            password: "tok".into(),
        };
        let wrong = Credentials::Bearer("nope".into());
        assert_eq!(
            auth.authorize(&admin, &repo("a", Action::Push)).await,
            Decision::Allow
        );
        assert_eq!(
            auth.authorize(&wrong, &repo("public/a", Action::Pull))
                .await,
            Decision::Unauthenticated
        );
        assert_eq!(
            auth.authorize(&Credentials::Anonymous, &repo("public/a", Action::Pull))
                .await,
            Decision::Allow
        );
        assert_eq!(
            auth.authorize(&Credentials::Anonymous, &repo("public/a", Action::Push))
                .await,
            Decision::Unauthenticated
        );
        assert_eq!(
            auth.authorize(&Credentials::Anonymous, &Access::Registry)
                .await,
            Decision::Unauthenticated
        );
        assert!(constant_time_eq(b"abc", b"abc"));
        assert!(!constant_time_eq(b"abc", b"abd"));
        assert!(!constant_time_eq(b"abc", b"ab"));
    }
}
