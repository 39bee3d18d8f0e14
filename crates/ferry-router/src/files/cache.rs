//! Small files of a site kept in memory once read, keyed by the request path as sent:
//! a revision's files never change while it is served, so an entry stays right for
//! the site's whole life, and a hit answers on the router thread with no file system
//! call at all. Bounded in bytes (content and keys); once full, nothing more is added
//! — the files a site's visitors ask for first are the ones worth keeping.

use bytes::Bytes;
use std::collections::HashMap;
use std::sync::{Arc, RwLock};

use super::conditional::Validators;

/// Largest file kept.
pub(crate) const MAX_FILE_BYTES: u64 = 64 * 1024;
/// Bytes (content and keys) kept per site.
pub(crate) const SITE_BUDGET: usize = 16 * 1024 * 1024;

/// A file as it answers a GET for its path.
#[derive(Debug)]
pub(crate) struct Cached {
    pub body: Bytes,
    pub validators: Validators,
    pub content_type: &'static str,
}

#[derive(Debug)]
pub(crate) struct Cache {
    inner: RwLock<Inner>,
    budget: usize,
}

#[derive(Debug, Default)]
struct Inner {
    entries: HashMap<String, Arc<Cached>>,
    used: usize,
}

impl Cache {
    pub fn new(budget: usize) -> Self {
        Self {
            inner: RwLock::new(Inner::default()),
            budget,
        }
    }

    pub fn get(&self, path: &str) -> Option<Arc<Cached>> {
        let inner = self.inner.read().unwrap_or_else(|p| p.into_inner());
        inner.entries.get(path).cloned()
    }

    /// Keeps `cached` for `path` if the budget allows; returns it either way.
    pub fn insert(&self, path: &str, cached: Cached) -> Arc<Cached> {
        let cached = Arc::new(cached);
        let cost = path.len() + cached.body.len();
        let mut inner = self.inner.write().unwrap_or_else(|p| p.into_inner());
        if inner.entries.contains_key(path) || inner.used + cost > self.budget {
            return cached;
        }
        inner.used += cost;
        inner.entries.insert(path.to_string(), Arc::clone(&cached));
        cached
    }

    #[cfg(test)]
    pub fn used(&self) -> usize {
        self.inner.read().unwrap_or_else(|p| p.into_inner()).used
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn file(size: usize) -> Cached {
        Cached {
            body: Bytes::from(vec![b'x'; size]),
            validators: Validators {
                etag: "\"e\"".into(),
                modified: None,
            },
            content_type: "text/plain",
        }
    }

    #[test]
    fn keeps_files_until_the_budget_then_nothing_more() {
        let cache = Cache::new(100);
        cache.insert("/a", file(40));
        assert_eq!(cache.used(), 42);
        cache.insert("/b", file(40));
        assert_eq!(cache.used(), 84);
        // Over budget: answered, not kept.
        let c = cache.insert("/c", file(40));
        assert_eq!(c.body.len(), 40);
        assert!(cache.get("/c").is_none());
        assert_eq!(cache.get("/a").unwrap().body.len(), 40);
        // A second insert of a kept path changes nothing.
        cache.insert("/a", file(1));
        assert_eq!(cache.get("/a").unwrap().body.len(), 40);
        assert_eq!(cache.used(), 84);
    }
}
