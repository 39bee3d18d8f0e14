//! Typed identifiers: a service id can never be passed where a revision id is expected.

use serde::{Deserialize, Serialize};
use std::fmt;

macro_rules! typed_id {
    ($(#[$doc:meta])* $name:ident, $prefix:literal) => {
        $(#[$doc])*
        #[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        #[serde(transparent)]
        pub struct $name(String);

        impl $name {
            /// The prefix every id of this kind starts with.
            pub const PREFIX: &'static str = $prefix;

            /// A fresh random id, e.g. `svc-3f2a9c01d4e5`.
            pub fn generate() -> Self {
                let hex = uuid::Uuid::new_v4().simple().to_string();
                Self(format!("{}-{}", $prefix, &hex[..12]))
            }

            /// Wraps an id read back from the store, a label or a URL; not validated
            /// beyond being non-empty because lookups of unknown ids simply miss.
            pub fn from_string(value: impl Into<String>) -> Self {
                Self(value.into())
            }

            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }
    };
}

typed_id!(
    /// Identifies a service for its whole life, across renames of nothing (names are fixed).
    ServiceId,
    "svc"
);
typed_id!(
    /// Identifies one immutable revision of a service.
    RevisionId,
    "rev"
);
typed_id!(
    /// Identifies an asynchronous operation (deploy, rollback, pause…).
    OperationId,
    "op"
);
typed_id!(
    /// Identifies one running copy of a revision.
    InstanceId,
    "ins"
);
typed_id!(
    /// Identifies a scoped registry token (its secret is never stored, only a hash).
    TokenId,
    "tok"
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_ids_carry_their_prefix_and_differ() {
        let a = ServiceId::generate();
        let b = ServiceId::generate();
        assert!(a.as_str().starts_with("svc-"));
        assert_eq!(a.as_str().len(), 16);
        assert_ne!(a, b);
        assert!(RevisionId::generate().as_str().starts_with("rev-"));
    }
}
