//! ShellCheck's most frequent checks on RUN scripts (SC codes).

use crate::rules::RawFinding;
use crate::shell::ParsedShell;
use crate::syntax::Dockerfile;

pub(crate) fn check(_df: &Dockerfile, _shells: &[Option<ParsedShell>]) -> Vec<RawFinding> {
    Vec::new()
}
