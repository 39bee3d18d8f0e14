//! The `service_scaling` table: per-service scaling overrides written by `ferry scale`
//! (no new revision) and the autoscaler's last desired instance count.

use crate::db::Store;
use crate::error::StoreError;
use ferry_types::{ScalingOverrides, ServiceId};
use rusqlite::{params, OptionalExtension};

impl Store {
    /// The knobs set for the service with `ferry scale` (empty when none).
    pub fn scaling_overrides(&self, service: &ServiceId) -> Result<ScalingOverrides, StoreError> {
        let text: Option<String> = self
            .conn()
            .query_row(
                "SELECT overrides FROM service_scaling WHERE service_id = ?1",
                [service.as_str()],
                |row| row.get(0),
            )
            .optional()?;
        match text {
            None => Ok(ScalingOverrides::default()),
            Some(text) => serde_json::from_str(&text).map_err(|err| StoreError::Corrupt {
                what: "scaling overrides",
                detail: err.to_string(),
            }),
        }
    }

    /// Replaces the service's overrides.
    pub fn set_scaling_overrides(
        &self,
        service: &ServiceId,
        overrides: &ScalingOverrides,
    ) -> Result<(), StoreError> {
        let text = serde_json::to_string(overrides).map_err(|err| StoreError::Corrupt {
            what: "scaling overrides",
            detail: err.to_string(),
        })?;
        let changed = self.conn().execute(
            "INSERT INTO service_scaling (service_id, overrides) \
             SELECT ?1, ?2 WHERE EXISTS (SELECT 1 FROM services WHERE id = ?1) \
             ON CONFLICT (service_id) DO UPDATE SET overrides = excluded.overrides",
            params![service.as_str(), text],
        )?;
        if changed == 0 {
            return Err(StoreError::NotFound {
                what: format!("service {service}"),
            });
        }
        Ok(())
    }

    /// The autoscaler's last desired count, if it ever decided one.
    pub fn autoscale_desired(&self, service: &ServiceId) -> Result<Option<u32>, StoreError> {
        let desired: Option<Option<i64>> = self
            .conn()
            .query_row(
                "SELECT desired FROM service_scaling WHERE service_id = ?1",
                [service.as_str()],
                |row| row.get(0),
            )
            .optional()?;
        Ok(desired.flatten().and_then(|d| u32::try_from(d).ok()))
    }

    /// Keeps the autoscaler's desired count (a service gone meanwhile is not an error).
    pub fn set_autoscale_desired(
        &self,
        service: &ServiceId,
        desired: u32,
    ) -> Result<(), StoreError> {
        self.conn().execute(
            "INSERT INTO service_scaling (service_id, desired) \
             SELECT ?1, ?2 WHERE EXISTS (SELECT 1 FROM services WHERE id = ?1) \
             ON CONFLICT (service_id) DO UPDATE SET desired = excluded.desired",
            params![service.as_str(), desired],
        )?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use crate::{NewService, Store};
    use ferry_types::{ScalingOverrides, ServiceId, ServiceName, SourceKind};

    #[test]
    fn overrides_and_desired_round_trip_and_need_the_service() {
        let store = Store::open_in_memory().unwrap();
        let missing = ServiceId::generate();
        let mut overrides = ScalingOverrides::default();
        overrides.values.insert("min".into(), 0);
        assert!(store.set_scaling_overrides(&missing, &overrides).is_err());
        store.set_autoscale_desired(&missing, 3).unwrap();
        assert_eq!(store.autoscale_desired(&missing).unwrap(), None);

        let web = store
            .create_service(&NewService {
                name: ServiceName::parse("web").unwrap(),
                source_kind: SourceKind::Directory,
            })
            .unwrap();
        assert_eq!(
            store.scaling_overrides(&web.id).unwrap(),
            ScalingOverrides::default()
        );
        store.set_autoscale_desired(&web.id, 0).unwrap();
        store.set_scaling_overrides(&web.id, &overrides).unwrap();
        assert_eq!(store.scaling_overrides(&web.id).unwrap(), overrides);
        assert_eq!(store.autoscale_desired(&web.id).unwrap(), Some(0));
        store.set_autoscale_desired(&web.id, 4).unwrap();
        assert_eq!(store.autoscale_desired(&web.id).unwrap(), Some(4));
        assert_eq!(store.scaling_overrides(&web.id).unwrap(), overrides);
    }
}
