//! `ferry scale`: per-service scaling overrides laid over the active revision's
//! `[scaling]`, validated as a whole and taken live (no new revision).

use super::{App, AppError};
use ferry_api::{AutoscaleStatus, ScaleRequest};
use ferry_types::{ScalingOverrides, SCALING_RANGES};

impl App {
    pub fn scale(&self, name: &str, request: ScaleRequest) -> Result<AutoscaleStatus, AppError> {
        let row = self.service_row(name)?;
        let revision = match row
            .active_revision
            .as_ref()
            .or(row.desired_revision.as_ref())
        {
            Some(id) => self.store.get_revision(id)?,
            None => None,
        };
        let base = revision.map(|r| r.config.scaling).unwrap_or_default();
        let mut overrides = if request.reset {
            ScalingOverrides::default()
        } else {
            self.store.scaling_overrides(&row.id)?
        };
        overrides
            .merge(&ScalingOverrides {
                values: request.set,
            })
            .map_err(AppError::BadRequest)?;
        let effective = overrides.apply(&base);
        let problems = effective.validate();
        if !problems.is_empty() {
            let lines: Vec<String> = problems
                .iter()
                .map(|(key, message)| format!("{key}: {message}"))
                .collect();
            let ranges: Vec<String> = SCALING_RANGES
                .iter()
                .map(|(key, lo, hi)| format!("{key} {lo}–{hi}"))
                .collect();
            return Err(AppError::BadRequest(format!(
                "invalid scaling for {name}: {} (ranges: {})",
                lines.join("; "),
                ranges.join(", ")
            )));
        }
        self.store.set_scaling_overrides(&row.id, &overrides)?;
        self.background.scaling_changed(&row.id);
        Ok(self
            .background
            .autoscale(&row.id)
            .map(|mut status| {
                status.scaling = effective.clone();
                status.overrides = overrides.clone();
                status
            })
            .unwrap_or(AutoscaleStatus {
                scaling: effective,
                overrides,
                ..AutoscaleStatus::default()
            }))
    }
}
