//! `ferry completions <shell>`: completion scripts for bash, zsh, fish, elvish, powershell.

use clap::CommandFactory;
use clap_complete::Shell;

pub fn run<C: CommandFactory>(shell: Shell) {
    let mut command = C::command();
    clap_complete::generate(shell, &mut command, "ferry", &mut std::io::stdout());
}
