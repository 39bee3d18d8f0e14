//! Config file loading: the fixtures under `tests/fixtures/` and the error messages users
//! see (file:line:column, key), plus garbage input that must never panic.

use ferry_types::config::{
    load_dir, parse_apprunner_yaml, parse_ferry_toml, ConfigError, ConfigFormat, LoadedConfig,
};
use ferry_types::{HealthProtocol, ServiceConfig};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name)
}

fn env(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

fn toml_error(text: &str) -> String {
    match parse_ferry_toml(text, Path::new("ferry.toml")) {
        Ok(loaded) => panic!("expected an error, got {loaded:?}"),
        Err(err) => err.to_string(),
    }
}

fn yaml_error(text: &str) -> String {
    match parse_apprunner_yaml(text, Path::new("apprunner.yaml")) {
        Ok(loaded) => panic!("expected an error, got {loaded:?}"),
        Err(err) => err.to_string(),
    }
}

fn yaml(text: &str) -> LoadedConfig {
    parse_apprunner_yaml(text, Path::new("apprunner.yaml")).unwrap_or_else(|err| panic!("{err}"))
}

#[test]
fn full_ferry_toml_sets_every_field() {
    let loaded = load_dir(&fixture("ferry-full")).unwrap();
    assert_eq!(loaded.format, ConfigFormat::FerryToml);
    assert_eq!(loaded.name.as_ref().map(|n| n.as_str()), Some("hello"));
    assert!(loaded.warnings.is_empty(), "{:?}", loaded.warnings);
    let config = &loaded.config;
    assert_eq!(config.request_timeout, 300);
    assert_eq!(config.drain_timeout, 10);
    assert_eq!(
        config.domains,
        ["hello.example.test", "www.hello.example.test"]
    );
    assert_eq!(
        config.build.commands,
        ["pip install -r requirements.txt", "python3 -m compileall ."]
    );
    assert_eq!(
        config.build.env,
        env(&[("PIP_NO_CACHE_DIR", "1"), ("BUILD_NUMBER", "42")])
    );
    assert_eq!(config.run.command.as_deref(), Some("python3 app.py"));
    assert_eq!(config.run.port, 8000);
    assert_eq!(
        config.run.env,
        env(&[("GREETING", "hello"), ("DEBUG", "true")])
    );
    assert_eq!(config.instance.cpu, 0.5);
    assert_eq!(config.instance.memory_mib, 1024);
    let hc = &config.health_check;
    assert_eq!(hc.protocol, HealthProtocol::Http);
    assert_eq!(hc.path, "/healthz");
    assert_eq!(
        (
            hc.interval,
            hc.timeout,
            hc.healthy_threshold,
            hc.unhealthy_threshold
        ),
        (10, 5, 2, 3)
    );
    assert_eq!(
        (
            config.scaling.min,
            config.scaling.max,
            config.scaling.concurrency
        ),
        (2, 10, 50)
    );
    let s = &config.scaling;
    assert_eq!(
        [
            s.target_utilization,
            s.stable_window,
            s.panic_window,
            s.panic_threshold,
            s.scale_down_delay,
            s.max_scale_up_rate,
            s.max_scale_down_rate,
            s.scale_to_zero_grace,
            s.queue_size,
            s.queue_timeout
        ],
        [80, 30, 3, 300, 15, 10, 4, 45, 200, 5]
    );
    assert_eq!(
        config.security.lint_fail_on,
        Some(ferry_types::LintThreshold::Warning)
    );
    assert_eq!(
        config.security.fail_on,
        Some(ferry_types::VulnThreshold::High)
    );
    assert!(config.security.ignore_unfixed);
    assert!(config.security.image_lint_blocks);
}

#[test]
fn empty_ferry_toml_is_the_defaults() {
    let loaded = parse_ferry_toml("# nothing yet\n", Path::new("ferry.toml")).unwrap();
    assert_eq!(loaded.config, ServiceConfig::default());
    assert_eq!(loaded.name, None);
}

#[test]
fn single_build_command_and_app_runner_sizes() {
    let loaded = parse_ferry_toml(
        "[build]\ncommand = \"make\"\n[instance]\ncpu = \"1024\"\nmemory = \"512 MB\"\n",
        Path::new("ferry.toml"),
    )
    .unwrap();
    assert_eq!(loaded.config.build.commands, ["make"]);
    assert_eq!(loaded.config.instance.cpu, 1.0);
    assert_eq!(loaded.config.instance.memory_mib, 512);

    for (cpu, vcpu) in [
        ("0.25", 0.25),
        ("\"2 vCPU\"", 2.0),
        ("\"256\"", 0.25),
        ("4096", 4.0),
        ("1", 1.0),
    ] {
        let text = format!("[instance]\ncpu = {cpu}\n");
        let loaded = parse_ferry_toml(&text, Path::new("ferry.toml")).unwrap();
        assert_eq!(loaded.config.instance.cpu, vcpu, "cpu = {cpu}");
    }
    for (memory, mib) in [("\"0.5 GB\"", 512), ("\"2048\"", 2048), ("12288", 12288)] {
        let text = format!("[instance]\nmemory = {memory}\n");
        let loaded = parse_ferry_toml(&text, Path::new("ferry.toml")).unwrap();
        assert_eq!(loaded.config.instance.memory_mib, mib, "memory = {memory}");
    }
}

#[test]
fn ferry_toml_errors_name_file_line_column_and_key() {
    let cases = [
        (
            "[run]\ncommand = \"x\"\nprot = 8080\n",
            "ferry.toml:3:1: unknown key \"prot\" in [run] (expected one of: command, port, env, runtime)",
        ),
        (
            "nmae = \"x\"\n",
            "ferry.toml:1:1: unknown key \"nmae\" at the top level (expected one of: name, \
             request_timeout, drain_timeout, domains, build, run, instance, health_check, \
             scaling, security)",
        ),
        (
            "[run]\nport = \"8080\"\n",
            "ferry.toml:2:8: run.port: expected an integer, got a string",
        ),
        (
            "[run]\nport = 70000\n",
            "ferry.toml:2:8: run.port: must be between 1 and 65535, got 70000",
        ),
        (
            "request_timeout = -1\n",
            "ferry.toml:1:19: request_timeout: must not be negative, got -1",
        ),
        (
            "\n[health_check]\ninterval = 0\n",
            "ferry.toml:3:12: health_check.interval: must be between 1 and 20, got 0",
        ),
        (
            "[scaling]\nmin = 5\nmax = 3\n",
            "ferry.toml:3:7: scaling.max: must be at least scaling.min (5), got 3",
        ),
        (
            "[instance]\ncpu = 3\n",
            "ferry.toml:2:7: instance.cpu: must be one of 0.25, 0.5, 1, 2, 4 (vCPU), got 3",
        ),
        (
            "[instance]\nmemory = \"0.3 GB\"\n",
            "ferry.toml:2:10: instance.memory: must be a whole number of MiB, got 307.2 MiB",
        ),
        (
            "[instance]\nmemory = 64\n",
            "ferry.toml:2:10: instance.memory: must be between 128 and 12288, got 64",
        ),
        (
            "name = \"Hello\"\n",
            "ferry.toml:1:8: name: invalid service name \"Hello\": use only lowercase letters, \
             digits and '-'",
        ),
        (
            "[build]\ncommand = \"a\"\ncommands = [\"b\"]\n",
            "ferry.toml:3:1: build.commands: use either build.command or build.commands, not \
             both (build.command is at line 2)",
        ),
        (
            "[build]\ncommands = [\"ok\", 3]\n",
            "ferry.toml:2:19: build.commands[1]: expected a string, got an integer",
        ),
        (
            "[run]\ncommand = \"  \"\n",
            "ferry.toml:2:11: run.command: must not be empty",
        ),
        (
            "[run]\nenv = { \"1BAD\" = \"x\" }\n",
            "ferry.toml:2:9: run.env.1BAD: \"1BAD\" is not a valid environment variable name",
        ),
        (
            "[run]\nenv = { A = [1] }\n",
            "ferry.toml:2:13: run.env.A: expected a string, got an array",
        ),
        (
            "run = 5\n",
            "ferry.toml:1:7: run: expected a table, got an integer",
        ),
        (
            "[health_check]\nprotocol = \"udp\"\n",
            "ferry.toml:2:12: health_check.protocol: must be one of: tcp, http; got \"udp\"",
        ),
        (
            "[health_check]\nprotocol = \"http\"\npath = \"healthz\"\n",
            "ferry.toml:3:8: health_check.path: must start with '/', got \"healthz\"",
        ),
        (
            "[security]\nfail_on = \"severe\"\n",
            "ferry.toml:2:11: security.fail_on: must be one of: critical, high, medium, low, \
             unknown, none; got \"severe\"",
        ),
        (
            "[security]\nignore_unfixed = \"yes\"\n",
            "ferry.toml:2:18: security.ignore_unfixed: expected a boolean (true or false), got \
             a string",
        ),
        (
            "domains = [\"ok.test\", \"bad_domain\"]\n",
            "ferry.toml:1:11: domains: \"bad_domain\" is not a valid domain name",
        ),
        // Syntax errors keep the parser's position and words.
        (
            "[run\ncommand = \"x\"\n",
            "ferry.toml:1:5: unclosed table, expected `]`",
        ),
        (
            "name = \"a\"\nname = \"b\"\n",
            "ferry.toml:2:1: duplicate key \"name\"",
        ),
    ];
    for (text, expected) in cases {
        assert_eq!(toml_error(text), expected, "for:\n{text}");
    }
}

#[test]
fn errors_carry_the_key_and_location_as_data() {
    let err = parse_ferry_toml("[run]\nprot = 1\n", Path::new("app/ferry.toml")).unwrap_err();
    let ConfigError::Invalid { location, key, .. } = err else {
        panic!("expected Invalid, got {err:?}");
    };
    assert_eq!(location.file, Path::new("app/ferry.toml"));
    assert_eq!((location.line, location.column), (2, 1));
    assert_eq!(key.as_deref(), Some("run.prot"));
}

#[test]
fn first_problem_in_file_order_is_reported() {
    // validate() lists health_check before scaling; the file has scaling first.
    let text = "[scaling]\nconcurrency = 500\n[health_check]\ninterval = 99\n";
    assert_eq!(
        toml_error(text),
        "ferry.toml:2:15: scaling.concurrency: must be between 1 and 200, got 500"
    );
}

#[test]
fn full_apprunner_yaml_maps_onto_service_config() {
    let loaded = load_dir(&fixture("apprunner-full")).unwrap();
    assert_eq!(loaded.format, ConfigFormat::AppRunnerYaml);
    assert_eq!(loaded.runtime.as_deref(), Some("python3"));
    // As written: a YAML float would have made it 3.1.
    assert_eq!(loaded.runtime_version.as_deref(), Some("3.10"));
    assert_eq!(loaded.name, None);
    let config = &loaded.config;
    assert_eq!(
        config.build.commands,
        [
            "yum install -y openssl",
            "pip install pipenv",
            "pipenv install",
            "python manage.py test"
        ]
    );
    assert_eq!(
        config.build.env,
        env(&[
            ("DJANGO_SETTINGS_MODULE", "mysite.settings"),
            ("RETRIES", "3")
        ])
    );
    assert_eq!(
        config.run.command.as_deref(),
        Some("python manage.py runserver 0.0.0.0:8000")
    );
    assert_eq!(config.run.port, 8000);
    assert_eq!(config.run.port_env.as_deref(), Some("MY_APP_PORT"));
    assert_eq!(config.run.env, env(&[("GREETING", "hello")]));
    assert_eq!(loaded.warnings.len(), 1, "{:?}", loaded.warnings);
    let warning = &loaded.warnings[0];
    assert!(
        warning.contains("run.secrets (line 26)") && warning.contains("DB_PASSWORD, API_KEY"),
        "{warning}"
    );
    // Everything else keeps ferry's defaults.
    assert_eq!(config.scaling, ServiceConfig::default().scaling);
}

#[test]
fn pre_run_is_prepended_to_the_command() {
    let loaded = load_dir(&fixture("apprunner-revised")).unwrap();
    assert_eq!(loaded.runtime.as_deref(), Some("nodejs18"));
    assert_eq!(loaded.runtime_version.as_deref(), Some("18.19.0"));
    assert_eq!(
        loaded.config.run.command.as_deref(),
        Some("npm run migrate && echo ready && node server.js")
    );
    assert_eq!(loaded.config.build.commands, ["npm ci"]);
    assert_eq!(loaded.config.run.port, 3000);
    assert!(loaded.warnings.is_empty(), "{:?}", loaded.warnings);
}

#[test]
fn minimal_apprunner_yaml_and_lenient_forms() {
    let loaded = yaml("version: \"1.0\"\nruntime: go1\nrun:\n  command: ./app\n  env:\n");
    assert_eq!(loaded.config.run.command.as_deref(), Some("./app"));
    let loaded = yaml("version: 1\nruntime: python3\nrun:\n  command: |\n    python app.py\n");
    assert_eq!(loaded.config.run.command.as_deref(), Some("python app.py"));
    assert!(loaded.config.run.env.is_empty());
    assert!(loaded.config.build.commands.is_empty());

    // A plain list under build.commands, as many real files have it: the build step.
    let loaded = yaml(
        "version: 1.0\nruntime: python3\nbuild:\n  commands:\n    - pip install -r r.txt\n    - make\n",
    );
    assert_eq!(
        loaded.config.build.commands,
        ["pip install -r r.txt", "make"]
    );
    assert_eq!(loaded.warnings.len(), 1, "{:?}", loaded.warnings);
    assert!(
        loaded.warnings[0].contains("line 4")
            && loaded.warnings[0].contains("build.commands.build"),
        "{:?}",
        loaded.warnings
    );
}

#[test]
fn apprunner_yaml_unknown_runtime_is_an_error_at_its_line() {
    let message = yaml_error("version: 1.0\nruntime: ruby99\n");
    assert!(
        message.starts_with(
            "apprunner.yaml:2:10: runtime: unknown runtime \"ruby99\" (one of: python3,"
        ),
        "{message}"
    );
}

#[test]
fn apprunner_yaml_errors_name_file_line_column_and_key() {
    let head = "version: 1.0\nruntime: python3\n";
    let cases = [
        (
            format!("{head}run:\n  command: python app.py\n  network:\n    port: 70000\n"),
            "apprunner.yaml:6:11: run.network.port: must be between 1 and 65535, got 70000",
        ),
        (
            format!("{head}run:\n  comand: x\n"),
            "apprunner.yaml:4:3: unknown key \"comand\" in run (expected one of: \
             runtime-version, pre-run, command, network, env, secrets)",
        ),
        (
            format!("{head}build:\n  commands:\n    prebuild: [a]\n"),
            "apprunner.yaml:5:5: unknown key \"prebuild\" in build.commands (expected one of: \
             pre-build, build, post-build)",
        ),
        (
            format!("{head}run:\n  env:\n    - name: A\n      valu: b\n"),
            "apprunner.yaml:6:7: unknown key \"valu\" in run.env[0] (expected one of: name, \
             value)",
        ),
        (
            format!("{head}run:\n  env:\n    - name: A\n"),
            "apprunner.yaml:5:7: run.env[0]: missing key \"value\"",
        ),
        (
            format!("{head}run:\n  env:\n    - name: 1A\n      value: b\n"),
            "apprunner.yaml:5:13: run.env.1A: \"1A\" is not a valid environment variable name",
        ),
        (
            format!(
                "{head}run:\n  env:\n    - name: A\n      value: b\n    - name: A\n      value: c\n"
            ),
            "apprunner.yaml:7:13: run.env[1].name: \"A\" is already set at line 5",
        ),
        (
            format!("{head}run:\n  network:\n    env: 9PORT\n"),
            "apprunner.yaml:5:10: run.network.env: \"9PORT\" is not a valid environment \
             variable name",
        ),
        (
            format!("{head}run:\n  network:\n    port: \"8000\"\n"),
            "apprunner.yaml:5:11: run.network.port: expected an integer, got a string",
        ),
        (
            format!("{head}run:\n  env: {{A: b}}\n"),
            "apprunner.yaml:4:8: run.env: expected a list, got a mapping",
        ),
        (
            format!("{head}run:\n  pre-run: [migrate]\n"),
            "apprunner.yaml:4:12: run.pre-run: needs run.command to run after it",
        ),
        (
            "version: 2.0\nruntime: python3\n".to_string(),
            "apprunner.yaml:1:10: version: must be 1.0, got 2.0",
        ),
        (
            "runtime: python3\n".to_string(),
            "apprunner.yaml:1:1: version: is required; an App Runner config file starts with \
             `version: 1.0`",
        ),
        (
            "version: 1.0\n".to_string(),
            "apprunner.yaml:1:1: runtime: is required, for example `runtime: python3` (one \
             of: python3, python311, nodejs12, nodejs14, nodejs16, nodejs18, nodejs22, \
             corretto8, corretto11, go1, dotnet6, php81, ruby31)",
        ),
        (
            format!("{head}runtime: go1\n"),
            "apprunner.yaml:3:1: duplicate key \"runtime\" (first set at line 2)",
        ),
        (
            "- version: 1.0\n".to_string(),
            "apprunner.yaml:1:1: expected a mapping with version, runtime, build and run at \
             the top level",
        ),
        (
            format!("{head}---\n{head}"),
            "apprunner.yaml:3:1: only one YAML document is allowed in apprunner.yaml",
        ),
    ];
    for (text, expected) in cases {
        assert_eq!(yaml_error(&text), expected, "for:\n{text}");
    }
}

#[test]
fn yaml_syntax_errors_keep_the_parser_position() {
    // The parser points at the bracket left open.
    assert_eq!(
        yaml_error("version: 1.0\nruntime: [python3\n"),
        "apprunner.yaml:2:10: invalid YAML: unclosed bracket '['"
    );
    let message = yaml_error("version: 1.0\n  runtime: x\n");
    assert!(
        message.starts_with("apprunner.yaml:2:") && message.contains("invalid YAML"),
        "{message}"
    );
}

#[test]
fn yaml_aliases_work_but_cannot_explode() {
    let loaded = yaml(
        "version: 1.0\nruntime: python3\nbuild:\n  env: &vars\n    - name: A\n      value: b\n\
         run:\n  command: x\n  env: *vars\n",
    );
    assert_eq!(loaded.config.run.env, env(&[("A", "b")]));

    let mut bomb = String::from("a: &a [x, x, x, x, x, x, x, x, x, x]\n");
    for level in 1..12 {
        let prev = level - 1;
        bomb.push_str(&format!(
            "l{level}: &l{level} [*{}, *{}, *{}, *{}, *{}, *{}, *{}, *{}, *{}, *{}]\n",
            p(prev),
            p(prev),
            p(prev),
            p(prev),
            p(prev),
            p(prev),
            p(prev),
            p(prev),
            p(prev),
            p(prev)
        ));
    }
    fn p(level: usize) -> String {
        if level == 0 {
            "a".to_string()
        } else {
            format!("l{level}")
        }
    }
    let message = yaml_error(&bomb);
    assert!(message.contains("too many values"), "{message}");
}

#[test]
fn load_dir_prefers_ferry_toml_and_says_when_nothing_is_there() {
    let loaded = load_dir(&fixture("both")).unwrap();
    assert_eq!(loaded.format, ConfigFormat::FerryToml);
    assert_eq!(loaded.config.run.command.as_deref(), Some("from-toml"));
    assert_eq!(
        loaded.warnings,
        ["apprunner.yaml is ignored because ferry.toml exists"]
    );

    let err = load_dir(&fixture("no-config")).unwrap_err();
    assert!(matches!(err, ConfigError::NotFound { .. }), "{err:?}");
    assert!(err
        .to_string()
        .contains("no ferry.toml or apprunner.yaml found"));
}

#[test]
fn load_dir_reports_non_utf8_with_its_position() {
    let dir = std::env::temp_dir().join(format!("ferry-types-config-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("ferry.toml"), b"[run]\ncommand = \"caf\xe9\"\n").unwrap();
    let message = load_dir(&dir).unwrap_err().to_string();
    std::fs::remove_dir_all(&dir).unwrap();
    assert!(
        message.ends_with("ferry.toml:2:15: the file is not valid UTF-8 text"),
        "{message}"
    );
}

/// A small deterministic generator, so a failure is reproducible.
struct XorShift(u64);

impl XorShift {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

fn parse_both(text: &str) {
    // Only "does not panic" matters here; either answer is fine.
    let _ = parse_ferry_toml(text, Path::new("ferry.toml"));
    let _ = parse_apprunner_yaml(text, Path::new("apprunner.yaml"));
}

#[test]
fn garbage_in_never_panics() {
    let mut rng = XorShift(0x5eed_f00d_cafe_babe);
    let fixtures: Vec<String> = [
        "ferry-full/ferry.toml",
        "apprunner-full/apprunner.yaml",
        "apprunner-revised/apprunner.yaml",
    ]
    .iter()
    .map(|name| std::fs::read_to_string(fixture(name)).unwrap())
    .collect();

    // Every truncation of a real file.
    for text in &fixtures {
        for (end, _) in text.char_indices() {
            parse_both(&text[..end]);
        }
    }

    // Random bytes, biased towards the characters both syntaxes care about.
    const SPECIAL: &[u8] = b"[]{}:=,.-\"'#&*!|>\n \t0123456789aeZ\\%@`~?";
    for _ in 0..2000 {
        let len = rng.below(200);
        let bytes: Vec<u8> = (0..len)
            .map(|_| {
                if rng.below(3) == 0 {
                    rng.next() as u8
                } else {
                    SPECIAL[rng.below(SPECIAL.len())]
                }
            })
            .collect();
        parse_both(&String::from_utf8_lossy(&bytes));
    }

    // Real files with a few characters swapped for special ones.
    for _ in 0..2000 {
        let mut bytes = fixtures[rng.below(fixtures.len())].clone().into_bytes();
        for _ in 0..1 + rng.below(4) {
            let at = rng.below(bytes.len());
            bytes[at] = SPECIAL[rng.below(SPECIAL.len())];
        }
        parse_both(&String::from_utf8_lossy(&bytes));
    }

    // Deep nesting.
    parse_both(&"[".repeat(10_000));
    parse_both(&"a: ".repeat(10_000));
    parse_both(&"- ".repeat(10_000));
    parse_both(&"- ".repeat(200));
    parse_both(&format!("x = {}", "{a=".repeat(5_000)));
}

#[test]
fn load_dir_refuses_config_files_that_link_out_of_the_app() {
    let base = std::env::temp_dir().join(format!("ferry-types-links-{}", std::process::id()));
    let app = base.join("app");
    std::fs::create_dir_all(&app).unwrap();
    // A valid config outside the app: reading it through the link would succeed.
    std::fs::write(base.join("outside.toml"), "[run]\ncommand = \"x\"\n").unwrap();
    std::os::unix::fs::symlink("../outside.toml", app.join("ferry.toml")).unwrap();
    let outside = load_dir(&app).unwrap_err();
    std::fs::remove_file(app.join("ferry.toml")).unwrap();
    // A device: reading it would never end.
    std::os::unix::fs::symlink("/dev/zero", app.join("apprunner.yaml")).unwrap();
    let device = load_dir(&app).unwrap_err();
    std::fs::remove_dir_all(&base).unwrap();
    assert!(
        matches!(outside, ConfigError::File(_))
            && outside
                .to_string()
                .contains("ferry.toml is a symlink to ../outside.toml, outside the app directory"),
        "{outside}"
    );
    assert!(
        device
            .to_string()
            .contains("apprunner.yaml is a symlink to /dev/zero, outside the app directory"),
        "{device}"
    );
}

#[test]
fn build_base_secrets_and_runtime() {
    let loaded = parse_ferry_toml(
        "[build]\nbase = \"python:3.12-slim\"\nsecrets = [\"NPM_TOKEN\", \"PIP_INDEX\"]\n[run]\nruntime = \"Docker\"\n",
        Path::new("ferry.toml"),
    )
    .unwrap();
    let config = &loaded.config;
    assert_eq!(config.build.base.as_deref(), Some("python:3.12-slim"));
    assert_eq!(config.build.secrets, ["NPM_TOKEN", "PIP_INDEX"]);
    assert_eq!(config.run.runtime, Some(ferry_types::RuntimeKind::Docker));

    let err = toml_error("[build]\nenv = { A = \"1\" }\nsecrets = [\"OK\", \"not-a-name\"]\n");
    assert!(err.starts_with("ferry.toml:3:11: build.secrets"), "{err}");
    assert!(
        err.contains("\"not-a-name\" is not a valid secret name"),
        "{err}"
    );
    let err = toml_error("[run]\nruntime = \"kubernetes\"\n");
    assert!(err.starts_with("ferry.toml:2:11: run.runtime"), "{err}");
    assert!(err.contains("docker, process"), "{err}");
}
