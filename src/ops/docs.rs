//! `completions SHELL` and `man`: documents rendered from the command line's own
//! definition ([`crate::cli::Cli`]), so they cannot drift from what the parser accepts.
//! They need no configuration file and no cf.

use std::io::Write;

use clap::CommandFactory;
use clap_complete::Shell;

use crate::cli::Cli;
use crate::error::Error;

/// Writes a rendered document to stdout. It is the command's result, like clap's help,
/// so it goes out whole and unframed rather than through the event sink.
pub fn print(document: &[u8]) -> Result<(), Error> {
    let mut out = std::io::stdout().lock();
    match out.write_all(document).and_then(|()| out.flush()) {
        Ok(()) => Ok(()),
        // `cf-bluegreen man | head` is not a failure.
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
        Err(e) => Err(Error::Environment {
            message: format!("could not write to stdout: {e}"),
            hint: "send it to a file: `cf-bluegreen man > cf-bluegreen.1`".into(),
        }),
    }
}

/// The completion script for `shell`.
pub fn completions(shell: Shell) -> Vec<u8> {
    let mut cli = Cli::command();
    let name = cli.get_name().to_string();
    let mut out = Vec::new();
    clap_complete::generate(shell, &mut cli, name, &mut out);
    out
}

/// The manual page, in roff: one page for the whole tool, with a section per command.
/// clap_mangen alone would refer each command to a page of its own
/// (`cf-bluegreen-deploy(1)`), which `cf-bluegreen man > cf-bluegreen.1` cannot install.
pub fn man() -> Vec<u8> {
    let cli = Cli::command();
    let page = clap_mangen::Man::new(cli.clone());
    let mut out = Vec::new();
    // Writing into a Vec cannot fail.
    let mut write = |render: &dyn Fn(&mut Vec<u8>) -> std::io::Result<()>| {
        render(&mut out).expect("render the man page into memory")
    };
    write(&|w| page.render_title(w));
    write(&|w| page.render_name_section(w));
    write(&|w| page.render_synopsis_section(w));
    write(&|w| page.render_description_section(w));
    write(&|w| page.render_options_section(w));
    for command in cli.get_subcommands() {
        let name = format!("{} {}", cli.get_name(), command.get_name());
        let section = clap_mangen::Man::new(command.clone().bin_name(&name));
        write(&|w| {
            writeln!(w, ".SH \"{}\"", name.to_uppercase())?;
            let mut body = Vec::new();
            section.render_synopsis_section(&mut body)?;
            section.render_description_section(&mut body)?;
            section.render_options_section(&mut body)?;
            w.write_all(&as_subsections(&body))
        });
    }
    // clap_mangen heads the `after_help` text EXTRA; for this tool it holds the exit codes.
    write(&|w| {
        let mut extra = Vec::new();
        page.render_extra_section(&mut extra)?;
        let extra = String::from_utf8_lossy(&extra).replace(".SH EXTRA", ".SH \"EXIT STATUS\"");
        w.write_all(extra.as_bytes())
    });
    write(&|w| page.render_version_section(w));
    out
}

/// A command's own page as part of the tool's: its synopsis and description run on under
/// the command's heading, and its option headings become subsections.
fn as_subsections(roff: &[u8]) -> Vec<u8> {
    let text = String::from_utf8_lossy(roff);
    let mut out = String::new();
    for line in text.lines() {
        match line.strip_prefix(".SH ") {
            Some("SYNOPSIS") => {}
            Some("DESCRIPTION") => out.push_str(".PP\n"),
            Some(heading) => out.push_str(&format!(".SS {heading}\n")),
            None => {
                out.push_str(line);
                out.push('\n');
            }
        }
    }
    out.into_bytes()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_shell_gets_a_script_that_knows_the_commands_and_their_flags() {
        for shell in [
            Shell::Bash,
            Shell::Zsh,
            Shell::Fish,
            Shell::PowerShell,
            Shell::Elvish,
        ] {
            let script = String::from_utf8(completions(shell)).unwrap();
            // fish names long flags without their dashes (`-l dry-run`).
            let commands: Vec<String> = crate::cli::Cli::command()
                .get_subcommands()
                .map(|c| c.get_name().to_string())
                .collect();
            for word in ["cf-bluegreen", "dry-run"]
                .into_iter()
                .chain(commands.iter().map(String::as_str))
            {
                assert!(script.contains(word), "{shell}: no {word:?} in\n{script}");
            }
        }
    }

    #[test]
    fn the_man_page_has_a_section_per_command_and_the_exit_codes() {
        let page = String::from_utf8(man()).unwrap();
        assert!(page.contains(".TH cf-bluegreen 1"), "{page}");
        // Every subcommand, as clap knows them: a new one cannot be left out.
        let commands: Vec<String> = crate::cli::Cli::command()
            .get_subcommands()
            .map(|c| c.get_name().to_uppercase())
            .collect();
        assert!(commands.len() >= 8, "{commands:?}");
        for command in commands {
            assert!(
                page.contains(&format!(".SH \"CF-BLUEGREEN {command}\"")),
                "no section for {command}:\n{page}"
            );
        }
        assert!(page.contains("\\fB\\-\\-dry\\-run\\fR"), "{page}");
        assert!(page.contains(".SH \"EXIT STATUS\""), "{page}");
        // The commands are here, not on pages that `man > cf-bluegreen.1` never installs.
        assert!(!page.contains("cf\\-bluegreen\\-deploy(1)"), "{page}");
    }
}
