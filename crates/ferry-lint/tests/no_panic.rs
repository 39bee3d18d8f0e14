//! Random input never panics the parser, the shell analysis or the rules
//! (the stable-toolchain companion of the cargo-fuzz target in `fuzz/`).

use proptest::prelude::*;

/// Pieces that exercise the tricky parts: continuations, heredocs, quotes,
/// expansions, flags, JSON forms, pragmas and escape directives.
const FRAGMENTS: &[&str] = &[
    "FROM ",
    "RUN ",
    "COPY ",
    "ADD ",
    "ENV ",
    "ARG ",
    "LABEL ",
    "EXPOSE ",
    "USER ",
    "WORKDIR ",
    "ONBUILD ",
    "HEALTHCHECK ",
    "CMD ",
    "ENTRYPOINT ",
    "SHELL ",
    "MAINTAINER ",
    "VOLUME ",
    "STOPSIGNAL ",
    "\n",
    "\\\n",
    "`\n",
    "# escape=`\n",
    "# hadolint ignore=DL3008\n",
    "# hadolint global ignore=SC2086\n",
    "# hadolint shell=pwsh\n",
    "<<EOF",
    "<<-'X'",
    "\nEOF\n",
    "\tX\n",
    "\"",
    "'",
    "$",
    "${",
    "}",
    "$(",
    ")",
    "`",
    "[\"a\", \"b\"]",
    "[",
    "]",
    "--from=",
    "--mount=type=cache,target=/x",
    "=",
    " AS ",
    ":",
    "@",
    "apt-get install -y x",
    " && ",
    " || ",
    " | ",
    ";",
    "(",
    "{",
    "if then fi",
    "case x in",
    "esac",
    "cd ..",
    "*",
    "\\",
    "é",
    "\u{feff}",
    "\r\n",
    "65536",
    "-",
    "8080-80/udp",
    "pip install",
    "$((1<<2))",
];

fn dockerfile() -> impl Strategy<Value = String> {
    prop::collection::vec(prop::sample::select(FRAGMENTS), 0..60).prop_map(|parts| parts.concat())
}

fn lint(text: &str) {
    let config = ferry_lint::LintConfig::default();
    let _ = ferry_lint::lint_str(text, "Dockerfile", &config);
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 1000, ..ProptestConfig::default() })]

    #[test]
    fn fragments_never_panic(text in dockerfile()) {
        lint(&text);
    }

    #[test]
    fn arbitrary_text_never_panics(text in "\\PC{0,300}") {
        lint(&text);
        lint(&format!("FROM a\nRUN {text}\n"));
    }

    #[test]
    fn arbitrary_bytes_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..400)) {
        lint(&String::from_utf8_lossy(&bytes));
    }
}

/// Inputs that once broke (or could break) a parser: kept as fixed cases.
#[test]
fn known_edge_cases() {
    for text in [
        "",
        "\\",
        "FROM",
        "RUN <<",
        "RUN <<EOF",
        "RUN <<-",
        "COPY <<\"A",
        "FROM a AS",
        "RUN $(",
        "RUN ${",
        "RUN `",
        "RUN '",
        "RUN \"",
        "RUN echo $((",
        "ENV A",
        "ENV =x",
        "LABEL \"",
        "EXPOSE 99999999999999999999999",
        "# escape=x\nFROM a",
        "ONBUILD ONBUILD ONBUILD RUN x",
        &"ONBUILD ".repeat(100_000),
        &format!("FROM a\nRUN {}x\n", "if a; then ".repeat(5_000)),
        &format!("FROM a\nRUN x {}\n", "--f ".repeat(50_000)),
        "HEALTHCHECK",
        "HEALTHCHECK --interval=1s",
        "ARG =",
        "USER",
        "RUN [\"a\"",
        "FROM a\nRUN x \\\n",
        "FROM a\nRUN (((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((x",
        "FROM a\nRUN echo $($($($($($($($($($($($($($($($($($($($(x))))))))))))))))))))",
        // Found by cargo-fuzz: brush-parser's unchecked fd-number parse.
        "FROM a\nRUN apt-get update && 44440000000000000000015245326<x",
        // Found by cargo-fuzz: brush-parser's tokenizer with a pending heredoc.
        "FROM a\nRUN a <<-\"X\" bash $((1<<2)# x\nnpm\n\tX\n",
    ] {
        lint(text);
    }
}

#[test]
fn long_flag_lists_parse() {
    let text = format!(
        "FROM a\nRUN {}x\n",
        "--mount=type=cache,target=/x ".repeat(20_000)
    );
    lint(&text);
}

/// The fuzz seed corpus, crash regressions included, replayed on stable.
#[test]
fn fuzz_corpus_never_panics() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz/corpus/lint");
    let entries = std::fs::read_dir(&dir).expect("fuzz corpus directory");
    let mut count = 0;
    for entry in entries {
        let path = entry.expect("corpus entry").path();
        let bytes = std::fs::read(&path).expect("corpus file");
        lint(&String::from_utf8_lossy(&bytes));
        count += 1;
    }
    assert!(count >= 10, "seed corpus looks empty: {count} files");
}
