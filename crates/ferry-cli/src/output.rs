//! Human output: tables, colours only on a terminal, relative times; and `--json`.

use comfy_table::presets::NOTHING;
use comfy_table::{Cell, Color, ContentArrangement, Table};
use serde::Serialize;
use std::io::IsTerminal;
use time::OffsetDateTime;

/// Whether stdout is a terminal that wants colours (honours NO_COLOR).
pub fn color_enabled() -> bool {
    std::io::stdout().is_terminal() && std::env::var_os("NO_COLOR").is_none()
}

pub fn table(headers: &[&str]) -> Table {
    let mut table = Table::new();
    table
        .load_style(NOTHING)
        .set_content_arrangement(ContentArrangement::Disabled)
        .set_header(headers.iter().map(Cell::new));
    if !color_enabled() {
        table.force_no_tty();
    }
    table
}

/// A status word coloured by meaning when colours are on.
pub fn status_cell(status: &str) -> Cell {
    let cell = Cell::new(status);
    if !color_enabled() {
        return cell;
    }
    let color = match status {
        "RUNNING" | "SUCCEEDED" | "ACTIVE" | "ready" | "serving" => Color::Green,
        "FAILED" | "CREATE_FAILED" | "ROLLBACK_FAILED" | "failed" => Color::Red,
        "PAUSED" | "INACTIVE" | "SUPERSEDED" | "PRUNED" | "draining" | "stopped" => Color::Yellow,
        _ => Color::Cyan,
    };
    cell.fg(color)
}

pub fn paint(text: &str, ansi: &str) -> String {
    if color_enabled() {
        format!("\x1b[{ansi}m{text}\x1b[0m")
    } else {
        text.to_string()
    }
}

pub fn green(text: &str) -> String {
    paint(text, "32")
}

pub fn red(text: &str) -> String {
    paint(text, "31")
}

pub fn dim(text: &str) -> String {
    paint(text, "2")
}

/// "5s ago", "3m ago", "2h ago", "4d ago".
pub fn ago(at: OffsetDateTime) -> String {
    let seconds = (OffsetDateTime::now_utc() - at).whole_seconds().max(0);
    match seconds {
        0..=59 => format!("{seconds}s ago"),
        60..=3599 => format!("{}m ago", seconds / 60),
        3600..=86_399 => format!("{}h ago", seconds / 3600),
        _ => format!("{}d ago", seconds / 86_400),
    }
}

pub fn print_json<T: Serialize>(value: &T) -> anyhow::Result<()> {
    outln!("{}", serde_json::to_string_pretty(value)?);
    Ok(())
}

/// Exit code when stdout is closed early (`ferry ls | head -1`): 128 + SIGPIPE, what a
/// shell reports for coreutils and git in the same pipeline.
pub const CLOSED_PIPE_EXIT: i32 = 141;

/// `println!` that ends the process quietly when stdout is closed instead of panicking:
/// Rust ignores SIGPIPE, so the write fails with EPIPE and `println!` would panic.
macro_rules! outln {
    () => {
        $crate::output::write_line(format_args!(""))
    };
    ($($arg:tt)*) => {
        $crate::output::write_line(format_args!($($arg)*))
    };
}
pub(crate) use outln;

/// One line to stdout (line-buffered, so a closed pipe shows up here, not at exit).
pub fn write_line(args: std::fmt::Arguments) {
    use std::io::Write;
    let mut out = std::io::stdout().lock();
    if let Err(err) = out.write_fmt(args).and_then(|()| out.write_all(b"\n")) {
        stdout_failed(&err);
    }
}

/// Ends the process after a failed write to stdout: quietly for a closed pipe (the
/// reader has all it wanted), with a message otherwise.
pub fn stdout_failed(err: &std::io::Error) -> ! {
    if err.kind() == std::io::ErrorKind::BrokenPipe {
        std::process::exit(CLOSED_PIPE_EXIT);
    }
    eprintln!("error: cannot write to stdout: {err}");
    std::process::exit(1)
}
