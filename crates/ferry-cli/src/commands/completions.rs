//! `ferry completions <shell>`: completion scripts for bash, zsh, fish, elvish, powershell.

use clap::CommandFactory;
use clap_complete::Shell;

pub fn run<C: CommandFactory>(shell: Shell) {
    let mut command = C::command();
    // Generated into memory first: clap_complete panics when its writer fails, and a
    // closed stdout (`ferry completions bash | head`) must end quietly instead.
    let mut script = Vec::new();
    clap_complete::generate(shell, &mut command, "ferry", &mut script);
    if let Err(err) = std::io::Write::write_all(&mut std::io::stdout().lock(), &script) {
        crate::output::stdout_failed(&err);
    }
}
