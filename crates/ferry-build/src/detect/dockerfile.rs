//! Dockerfile: the app's own build. The plan says so (kind `dockerfile`) and carries
//! the first EXPOSE'd port; building it is the Docker back end's job.

use super::{AppDir, DetectError};
use crate::plan::{BuildPlan, PlanKind};

pub(super) fn detect(app: &AppDir<'_>) -> Result<Option<BuildPlan>, DetectError> {
    let Some(text) = app.read("Dockerfile")? else {
        return Ok(None);
    };
    let mut plan = BuildPlan::new("dockerfile");
    plan.kind = PlanKind::Dockerfile;
    plan.port = text.lines().find_map(|line| {
        let mut words = line.split_whitespace();
        let instruction = words.next()?;
        if !instruction.eq_ignore_ascii_case("expose") {
            return None;
        }
        words.find_map(|w| w.split('/').next()?.parse::<u16>().ok())
    });
    plan.notes
        .push("Dockerfile: the image is built from it as it is".to_string());
    Ok(Some(plan))
}

#[cfg(test)]
mod tests {
    use super::super::testing::app;
    use super::*;

    #[test]
    fn reads_the_exposed_port() {
        let dir = app(&[("Dockerfile", "FROM scratch\nexpose 3000/tcp 9000\n")]);
        let plan = detect(&AppDir { dir: dir.path() }).unwrap().unwrap();
        assert_eq!((plan.kind, plan.port), (PlanKind::Dockerfile, Some(3000)));
    }
}
