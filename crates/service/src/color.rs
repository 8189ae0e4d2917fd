//! When text for people is coloured: one definition of `--color auto|always|never` and of
//! `NO_COLOR` (<https://no-color.org>) for the four binaries, as ripgrep and kcat users expect.
//!
//! The flag wins over the variable: `--color always` colours even with `NO_COLOR=1` and even
//! when the output is not a terminal (`| less -R`); `--color never` never colours; `auto`, the
//! default, colours a terminal unless `NO_COLOR` is set to something other than the empty
//! string. It covers the log lines on stderr, clap's own help and error texts ([`parse`]) and
//! the monitor's dashboard.

use std::ffi::{OsStr, OsString};

/// The `--color` flag's values.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, clap::ValueEnum)]
pub enum ColorChoice {
    /// Colours on a terminal, unless NO_COLOR is set and not empty.
    #[default]
    Auto,
    /// Colours everywhere, even into a pipe or a file, whatever NO_COLOR says.
    Always,
    /// No colours.
    Never,
}

/// The `--color` flag, the same in every binary (flatten it into the binary's flags).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, clap::Args)]
pub struct ColorFlag {
    /// When to use colours; the flag wins over NO_COLOR
    #[arg(long, global = true, value_name = "WHEN", value_enum, default_value_t = ColorChoice::Auto)]
    pub color: ColorChoice,
}

impl ColorChoice {
    /// Whether to colour an output that `is_terminal` (or not), given the value of `NO_COLOR`
    /// (`None` when the variable is not set).
    pub fn colors(self, is_terminal: bool, no_color: Option<&OsStr>) -> bool {
        match self {
            Self::Always => true,
            Self::Never => false,
            Self::Auto => is_terminal && no_color.is_none_or(OsStr::is_empty),
        }
    }

    /// Whether to colour stderr in this process (its terminal, its `NO_COLOR`).
    pub fn colors_stderr(self) -> bool {
        use std::io::IsTerminal;
        self.colors(std::io::stderr().is_terminal(), std::env::var_os("NO_COLOR").as_deref())
    }

    /// The same choice for clap's help and error texts (clap's `auto` reads `NO_COLOR` and the
    /// terminal itself, the same way).
    fn for_clap(self) -> clap::ColorChoice {
        match self {
            Self::Auto => clap::ColorChoice::Auto,
            Self::Always => clap::ColorChoice::Always,
            Self::Never => clap::ColorChoice::Never,
        }
    }
}

/// Parses the process's arguments into `P` like `P::parse()`, except that clap's help, usage
/// and error texts follow `--color` too: clap colours them before the flag is parsed, so the
/// flag is looked up in the arguments first. Exits like `P::parse()` (2 on bad flags, 0 after
/// `--help` or `--version`).
pub fn parse<P: clap::Parser>() -> P {
    parse_from(std::env::args_os())
}

/// [`parse`] over the given arguments (the program's name first).
pub fn parse_from<P: clap::Parser>(args: impl IntoIterator<Item = impl Into<OsString>>) -> P {
    let args: Vec<OsString> = args.into_iter().map(Into::into).collect();
    let mut command = P::command().color(choice_in_args(&args).for_clap());
    let mut matches = command.clone().get_matches_from(args);
    P::from_arg_matches_mut(&mut matches).unwrap_or_else(|error| error.format(&mut command).exit())
}

/// The last valid `--color WHEN` or `--color=WHEN` before a `--`; `auto` if there is none
/// (clap reports a bad value itself, in its own words).
fn choice_in_args(args: &[OsString]) -> ColorChoice {
    use clap::ValueEnum;
    let mut choice = ColorChoice::Auto;
    let mut words = args.iter().skip(1).map(|arg| arg.to_str());
    while let Some(word) = words.next() {
        let value = match word {
            Some("--") => break,
            Some("--color") => words.next().flatten(),
            Some(word) => word.strip_prefix("--color="),
            None => None,
        };
        if let Some(parsed) = value.and_then(|value| ColorChoice::from_str(value, false).ok()) {
            choice = parsed;
        }
    }
    choice
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_flag_wins_over_no_color_and_auto_follows_it() {
        let set: Option<&OsStr> = Some(OsStr::new("1"));
        let empty: Option<&OsStr> = Some(OsStr::new(""));
        for terminal in [true, false] {
            assert!(ColorChoice::Always.colors(terminal, set), "always, even with NO_COLOR=1");
            assert!(!ColorChoice::Never.colors(terminal, None), "never, even on a terminal");
            assert!(!ColorChoice::Auto.colors(terminal, set), "NO_COLOR=1 turns auto off");
        }
        assert!(ColorChoice::Auto.colors(true, None));
        assert!(ColorChoice::Auto.colors(true, empty), "an empty NO_COLOR counts as unset");
        assert!(!ColorChoice::Auto.colors(false, None), "auto colours a terminal only");
    }

    #[test]
    fn the_flag_is_found_before_clap_parses() {
        let choice = |args: &[&str]| {
            let args: Vec<OsString> =
                std::iter::once("p").chain(args.iter().copied()).map(Into::into).collect();
            choice_in_args(&args)
        };
        assert_eq!(choice(&[]), ColorChoice::Auto);
        assert_eq!(choice(&["--color", "never", "--help"]), ColorChoice::Never);
        assert_eq!(choice(&["list", "--color=always"]), ColorChoice::Always);
        assert_eq!(choice(&["--color=never", "--color", "always"]), ColorChoice::Always, "the last wins");
        assert_eq!(choice(&["--color", "purple"]), ColorChoice::Auto, "clap reports the bad value");
        assert_eq!(choice(&["--", "--color=never"]), ColorChoice::Auto, "after --, an argument");
    }

    #[test]
    fn the_flag_parses_into_the_binary_flags() {
        #[derive(Debug, clap::Parser)]
        struct Flags {
            #[command(flatten)]
            color: ColorFlag,
        }
        let flags: Flags = parse_from(["p", "--color", "never"]);
        assert_eq!(flags.color.color, ColorChoice::Never);
        let flags: Flags = parse_from(["p"]);
        assert_eq!(flags.color.color, ColorChoice::Auto);
    }
}
