//! Static sites: `index.html` at the root, else in `public/` or `dist/`. Served as
//! files by ferry's router: no install, no build, no start command.

use super::{AppDir, DetectError};
use crate::plan::{BuildPlan, PlanKind};

/// Where an index.html is looked for, in order.
const ROOTS: &[&str] = &[".", "public", "dist"];

pub(super) fn detect(app: &AppDir<'_>) -> Result<Option<BuildPlan>, DetectError> {
    let Some(root) = ROOTS
        .iter()
        .find(|root| app.exists(&format!("{root}/index.html")))
    else {
        return Ok(None);
    };
    let mut plan = BuildPlan::new("static");
    plan.kind = PlanKind::Static;
    plan.static_root = Some(root.to_string());
    // No start command: ferry's router serves the files itself (no process, no
    // container); `merge.rs` carries `static_root` into the config's `run.static_root`.
    plan.notes.push(format!(
        "index.html in {root}: served as static files by ferry's router"
    ));
    Ok(Some(plan))
}

#[cfg(test)]
mod tests {
    use super::super::testing::app;
    use super::*;

    #[test]
    fn root_public_or_dist() {
        for (file, root) in [
            ("index.html", "."),
            ("public/index.html", "public"),
            ("dist/index.html", "dist"),
        ] {
            let dir = app(&[(file, "<p>hi</p>")]);
            let plan = detect(&AppDir { dir: dir.path() }).unwrap().unwrap();
            assert_eq!(plan.static_root.as_deref(), Some(root));
            assert_eq!(plan.kind, PlanKind::Static);
            assert_eq!(plan.start, None);
        }
        let none = app(&[("public/about.html", "")]);
        assert!(detect(&AppDir { dir: none.path() }).unwrap().is_none());
    }
}
