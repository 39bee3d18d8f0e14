//! Publishes the router's table: each service worker sets its own entry and the whole
//! table is rebuilt and swapped at once, so a traffic switch is atomic for the router.

use ferry_router::{RouteTable, ServiceRoute};
use ferry_types::ServiceId;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use tokio::sync::watch;

pub struct RoutePublisher {
    sender: watch::Sender<Arc<RouteTable>>,
    entries: Mutex<HashMap<ServiceId, ServiceEntry>>,
}

struct ServiceEntry {
    hosts: Vec<String>,
    route: Arc<ServiceRoute>,
}

impl RoutePublisher {
    pub fn new() -> Self {
        let (sender, _) = watch::channel(Arc::new(RouteTable::default()));
        Self {
            sender,
            entries: Mutex::new(HashMap::new()),
        }
    }

    pub fn subscribe(&self) -> watch::Receiver<Arc<RouteTable>> {
        self.sender.subscribe()
    }

    /// Routes `hosts` (lowercased) to `route`, replacing the service's previous entry.
    pub fn set(&self, service: &ServiceId, hosts: Vec<String>, route: ServiceRoute) {
        let mut entries = self.lock();
        entries.insert(
            service.clone(),
            ServiceEntry {
                hosts: hosts.into_iter().map(|h| h.to_ascii_lowercase()).collect(),
                route: Arc::new(route),
            },
        );
        self.publish(&entries);
    }

    pub fn remove(&self, service: &ServiceId) {
        let mut entries = self.lock();
        if entries.remove(service).is_some() {
            self.publish(&entries);
        }
    }

    /// The route currently published for a service.
    pub fn current(&self, service: &ServiceId) -> Option<Arc<ServiceRoute>> {
        self.lock()
            .get(service)
            .map(|entry| Arc::clone(&entry.route))
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<ServiceId, ServiceEntry>> {
        // Entries are replaced whole, so a panic elsewhere cannot leave one half-written.
        super::driver::lock(&self.entries)
    }

    fn publish(&self, entries: &HashMap<ServiceId, ServiceEntry>) {
        let mut table = RouteTable::default();
        // The store gives each host one owner, so a host claimed twice here is a bug;
        // sorting keeps the outcome stable and the error says which services clash.
        let mut sorted: Vec<_> = entries.iter().collect();
        sorted.sort_by(|a, b| a.0.cmp(b.0));
        for (_, entry) in sorted {
            for host in &entry.hosts {
                match table.hosts.entry(host.clone()) {
                    std::collections::hash_map::Entry::Vacant(slot) => {
                        slot.insert(Arc::clone(&entry.route));
                    }
                    std::collections::hash_map::Entry::Occupied(held) => {
                        tracing::error!(
                            %host,
                            kept = %held.get().service,
                            dropped = %entry.route.service,
                            "two services route one host; the store should have refused this"
                        );
                    }
                }
            }
        }
        self.sender.send_replace(Arc::new(table));
    }
}

impl Default for RoutePublisher {
    fn default() -> Self {
        Self::new()
    }
}
