//! Static sites: `index.html` at the root, else in `public/` or `dist/`. Served as
//! files: no install, no build.

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
    // Ferry's own file server: the process runtime sets FERRY_BIN to the running
    // ferry, so a static site needs nothing installed beside it.
    plan.start = Some(format!("exec \"$FERRY_BIN\" static-serve {root}"));
    plan.notes
        .push(format!("index.html in {root}: served as static files"));
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
        }
        let none = app(&[("public/about.html", "")]);
        assert!(detect(&AppDir { dir: none.path() }).unwrap().is_none());
    }
}
