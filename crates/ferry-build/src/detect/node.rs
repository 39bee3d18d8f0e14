//! Node: package.json. The package manager comes from `packageManager`, else the lock
//! file (pnpm-lock.yaml, yarn.lock, package-lock.json), else npm; a `build` script is
//! the build step; the start command is the `start` script (run as it is when it is
//! one plain command, else through the package manager), else `node <main>`.

use super::{AppDir, DetectError};
use crate::plan::BuildPlan;

pub(super) fn detect(app: &AppDir<'_>) -> Result<Option<BuildPlan>, DetectError> {
    let Some(text) = app.read("package.json")? else {
        return Ok(None);
    };
    let invalid = |message: String| DetectError::Invalid {
        file: "package.json".to_string(),
        message,
    };
    let json: serde_json::Value = serde_json::from_str(&text)
        .map_err(|err| invalid(format!("invalid JSON at line {}: {err}", err.line())))?;
    if !json.is_object() {
        return Err(invalid("expected a JSON object".to_string()));
    }
    let mut plan = BuildPlan::new("node");
    plan.env
        .insert("NODE_ENV".to_string(), "production".to_string());
    plan.language_version = json
        .pointer("/engines/node")
        .and_then(|v| v.as_str())
        .map(str::to_string);

    let declared = json
        .get("packageManager")
        .and_then(|v| v.as_str())
        .and_then(|v| v.split('@').next())
        .filter(|m| ["npm", "yarn", "pnpm"].contains(m));
    let (manager, lock) = match declared {
        Some("pnpm") => ("pnpm", Some("pnpm-lock.yaml")),
        Some("yarn") => ("yarn", Some("yarn.lock")),
        Some(_) => ("npm", Some("package-lock.json")),
        None if app.exists("pnpm-lock.yaml") => ("pnpm", Some("pnpm-lock.yaml")),
        None if app.exists("yarn.lock") => ("yarn", Some("yarn.lock")),
        None if app.exists("package-lock.json") => ("npm", Some("package-lock.json")),
        None => ("npm", None),
    };
    let lock = lock.filter(|l| app.exists(l));
    plan.notes.push(match (declared, lock) {
        (Some(m), _) => format!("package manager {m}, from packageManager"),
        (None, Some(lock)) => format!("package manager {manager}, from {lock}"),
        (None, None) => "package manager npm (no lock file, no packageManager)".to_string(),
    });

    let has_deps = ["dependencies", "devDependencies"].iter().any(|key| {
        json.get(key)
            .and_then(|d| d.as_object())
            .is_some_and(|d| !d.is_empty())
    });
    if has_deps || lock.is_some() {
        plan.install = vec![match (manager, lock.is_some()) {
            ("pnpm", true) => "pnpm install --frozen-lockfile",
            ("pnpm", false) => "pnpm install",
            ("yarn", true) => "yarn install --frozen-lockfile",
            ("yarn", false) => "yarn install",
            (_, true) => "npm ci",
            (_, false) => "npm install",
        }
        .to_string()];
        plan.cache_keys = std::iter::once("package.json")
            .chain(lock)
            .map(str::to_string)
            .collect();
    } else {
        plan.notes
            .push("no dependencies declared: no install step".to_string());
    }

    let script = |name: &str| {
        json.pointer(&format!("/scripts/{name}"))
            .and_then(|v| v.as_str())
            .is_some_and(|s| !s.trim().is_empty())
    };
    let run = |name: &str| match manager {
        "npm" => format!("npm run {name}"),
        other => format!("{other} run {name}"),
    };
    if script("build") {
        plan.build = vec![run("build")];
    }
    let main = json
        .get("main")
        .and_then(|v| v.as_str())
        .map(str::to_string)
        .or_else(|| {
            ["index.js", "server.js", "app.js"]
                .into_iter()
                .find(|f| app.exists(f))
                .map(str::to_string)
        });
    let start_script = json.pointer("/scripts/start").and_then(|v| v.as_str());
    let hooks = script("prestart") || script("poststart");
    plan.start = if let Some(direct) = start_script.filter(|_| !hooks).and_then(direct_start) {
        plan.notes
            .push("the start script runs as it is, without the package manager".to_string());
        Some(direct)
    } else if script("start") {
        // npm would stay as a parent process; `exec` keeps signals going to the app.
        Some(match manager {
            "npm" => "exec npm start".to_string(),
            other => format!("exec {other} start"),
        })
    } else {
        main.map(|main| format!("exec node {main}"))
    };
    if plan.start.is_none() {
        plan.notes
            .push("no start command: add a `start` script or `main` to package.json".to_string());
    }
    Ok(Some(plan))
}

/// The `start` script as the start command itself, when it is one plain command
/// (words of letters, digits and `-_./:@,+%=`, no shell syntax, no leading variable
/// assignment): the app then runs without the package manager in front of it, one
/// process and some 0.3 s of start-up fewer, as buildpacks do. The package manager's
/// `node_modules/.bin` goes first on PATH, as it would for the script. `None` for
/// anything else (the package manager runs the script).
fn direct_start(script: &str) -> Option<String> {
    let script = script.trim();
    let mut words = script.split_ascii_whitespace();
    let program = words.next()?;
    let plain = |word: &str| {
        word.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-_./:@,+%=".contains(&b))
    };
    if program.contains('=') || !plain(program) || !words.all(plain) {
        return None;
    }
    let command = script
        .split_ascii_whitespace()
        .collect::<Vec<_>>()
        .join(" ");
    Some(if program == "node" {
        format!("exec {command}")
    } else {
        format!("PATH=\"$PWD/node_modules/.bin:$PATH\" exec {command}")
    })
}

#[cfg(test)]
mod tests {
    use super::super::testing::app;
    use super::*;

    fn plan(files: &[(&str, &str)]) -> BuildPlan {
        let dir = app(files);
        detect(&AppDir { dir: dir.path() }).unwrap().unwrap()
    }

    #[test]
    fn manager_from_lock_file_or_package_manager() {
        let pkg = r#"{"dependencies":{"express":"4"},"scripts":{"build":"tsc","start":"node dist/a.js"}}"#;
        let npm = plan(&[("package.json", pkg), ("package-lock.json", "{}")]);
        assert_eq!(npm.install, ["npm ci"]);
        assert_eq!(npm.build, ["npm run build"]);
        assert_eq!(npm.start.as_deref(), Some("exec node dist/a.js"));
        assert_eq!(npm.cache_keys, ["package.json", "package-lock.json"]);
        let yarn = plan(&[("package.json", pkg), ("yarn.lock", "")]);
        assert_eq!(yarn.install, ["yarn install --frozen-lockfile"]);
        let pnpm = plan(&[(
            "package.json",
            r#"{"packageManager":"pnpm@9.1.0","dependencies":{"a":"1"}}"#,
        )]);
        assert_eq!(pnpm.install, ["pnpm install"]);
        assert_eq!(pnpm.cache_keys, ["package.json"]);
    }

    #[test]
    fn a_plain_start_script_runs_without_the_package_manager() {
        let start = |script: &str, extra: &str| {
            let pkg = format!(r#"{{"scripts":{{"start":"{script}"{extra}}}}}"#);
            plan(&[("package.json", &pkg), ("yarn.lock", "")])
                .start
                .unwrap()
        };
        assert_eq!(start("node server.js", ""), "exec node server.js");
        assert_eq!(
            start(" node  --enable-source-maps dist/main.js --port=3000 ", ""),
            "exec node --enable-source-maps dist/main.js --port=3000"
        );
        assert_eq!(
            start("next start -p 3000", ""),
            r#"PATH="$PWD/node_modules/.bin:$PATH" exec next start -p 3000"#
        );
        // Shell syntax, a variable assignment, quoting or hooks: the package manager
        // runs the script, as it would.
        for script in [
            "NODE_ENV=x node a.js",
            "node a.js && echo done",
            "node $ENTRY",
            "node a.js > log",
            r"node 'a b.js'",
            "node a.js; node b.js",
        ] {
            assert_eq!(start(script, ""), "exec yarn start", "{script}");
        }
        assert_eq!(
            start("node a.js", r#","prestart":"node migrate.js""#),
            "exec yarn start"
        );
    }

    #[test]
    fn main_when_no_start_script_and_no_install_without_deps() {
        let node = plan(&[(
            "package.json",
            r#"{"main":"srv.js","engines":{"node":">=18"}}"#,
        )]);
        assert!(node.install.is_empty());
        assert_eq!(node.start.as_deref(), Some("exec node srv.js"));
        assert_eq!(node.language_version.as_deref(), Some(">=18"));
    }

    #[test]
    fn bad_json_names_the_line() {
        let dir = app(&[("package.json", "{\n  \"a\": ,\n}")]);
        let err = detect(&AppDir { dir: dir.path() }).unwrap_err().to_string();
        assert!(
            err.starts_with("package.json: invalid JSON at line 2"),
            "{err}"
        );
    }
}
