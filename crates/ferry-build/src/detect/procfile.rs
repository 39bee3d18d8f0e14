//! Procfile: its `web:` line is the start command. It overrides a language provider's
//! start (see `mod.rs`) and is a plan on its own when nothing else matched.

use super::{AppDir, DetectError};
use crate::plan::BuildPlan;

/// The command of the `web:` line, if the app has a Procfile with one.
pub(super) fn web_command(app: &AppDir<'_>) -> Result<Option<String>, DetectError> {
    let Some(text) = app.read("Procfile")? else {
        return Ok(None);
    };
    Ok(text.lines().find_map(|line| {
        let (process, command) = line.split_once(':')?;
        let command = command.trim();
        (process.trim() == "web" && !command.is_empty()).then(|| command.to_string())
    }))
}

/// The plan of an app that only has a Procfile.
pub(super) fn plan(web: String) -> BuildPlan {
    let mut plan = BuildPlan::new("procfile");
    plan.notes
        .push("start from Procfile's web: line".to_string());
    plan.start = Some(web);
    plan
}

#[cfg(test)]
mod tests {
    use super::super::testing::app;
    use super::*;

    #[test]
    fn finds_the_web_line() {
        let dir = app(&[(
            "Procfile",
            "release: ./migrate\nweb: ./serve --port $PORT\n",
        )]);
        let web = web_command(&AppDir { dir: dir.path() }).unwrap();
        assert_eq!(web.as_deref(), Some("./serve --port $PORT"));
        let worker = app(&[("Procfile", "worker: ./work\n")]);
        assert!(web_command(&AppDir { dir: worker.path() })
            .unwrap()
            .is_none());
    }
}
