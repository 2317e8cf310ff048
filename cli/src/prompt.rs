//! Asking the person at the terminal.

use std::io::{self, BufRead, IsTerminal, Write};

use anyhow::{Context, Result, bail};
use zeroize::Zeroizing;

/// Asks a yes/no question on stderr; without a terminal, refuses and names the flag that
/// skips the question.
pub fn confirm(question: &str, skip_flag: &str) -> Result<bool> {
    if !io::stdin().is_terminal() {
        bail!("{question} needs confirmation, but there is no terminal to ask: add {skip_flag}");
    }
    eprint!("{question} [y/N] ");
    io::stderr().flush().ok();
    let mut answer = String::new();
    io::stdin()
        .lock()
        .read_line(&mut answer)
        .context("cannot read the answer")?;
    Ok(matches!(answer.trim(), "y" | "Y" | "yes" | "YES" | "Yes"))
}

/// Reads one line from stdin (a key, a password), without the line end.
pub fn read_stdin_line(what: &str) -> Result<Zeroizing<String>> {
    let mut line = Zeroizing::new(String::new());
    io::stdin()
        .lock()
        .read_line(&mut line)
        .with_context(|| format!("cannot read the {what} from standard input"))?;
    let trimmed = Zeroizing::new(line.trim_end_matches(['\r', '\n']).to_owned());
    if trimmed.is_empty() {
        bail!(
            "standard input held no {what}: pipe it in, e.g. `printf %s \"$KEY\" | emnify-auth …`"
        );
    }
    Ok(trimmed)
}

/// Reads all non-empty lines from stdin.
pub fn read_stdin_lines(what: &str) -> Result<Vec<Zeroizing<String>>> {
    let mut lines = Vec::new();
    for line in io::stdin().lock().lines() {
        let line = Zeroizing::new(
            line.with_context(|| format!("cannot read {what} from standard input"))?,
        );
        if !line.trim().is_empty() {
            lines.push(Zeroizing::new(line.trim().to_owned()));
        }
    }
    if lines.is_empty() {
        bail!("standard input held no {what}");
    }
    Ok(lines)
}
