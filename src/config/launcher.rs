//! Launchers: programs whose job is to run another command (`cmd /c`, `sh -c '…'`,
//! `powershell -Command`, `sudo`, `doas`, `env`, `wsl`, `nohup`). A config that starts a server
//! through one of them runs the command inside, so that command is what is linted, pinned and
//! sandboxed; a launcher must not hide a `docker run --privileged` behind a plain host command.

use super::Located;
use super::docker_args::{self, Runtime};

/// How deep launchers are unwrapped (`sudo env A=1 sh -c "wsl docker run …"`); a deeper nest is
/// left as it stands, a host command.
const MAX_DEPTH: usize = 8;

/// One launcher a command runs through.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Launcher {
    /// The launcher program as written (`sudo`, `C:\Windows\System32\cmd.exe`).
    pub program: Located<String>,
    /// Its own words as written: options (`-E`, `/c`), and the script it runs, if it runs one.
    pub words: Vec<Located<String>>,
    /// Whether the command was split out of a script among `words`, rather than following them.
    pub script: bool,
}

/// A command line with its launchers taken off.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unwrapped {
    /// The launchers, outermost first.
    pub launchers: Vec<Launcher>,
    pub command: Located<String>,
    pub args: Vec<Located<String>>,
}

/// The program a command runs, lower-cased, without its directory or Windows extension.
pub fn program_name(command: &str) -> String {
    let base = command.rsplit(['/', '\\']).next().unwrap_or(command);
    let lower = base.to_ascii_lowercase();
    for suffix in [".exe", ".cmd", ".bat", ".ps1"] {
        if let Some(stem) = lower.strip_suffix(suffix) {
            return stem.to_string();
        }
    }
    lower
}

/// Take every launcher off `command args`. Words split out of a script keep the script's
/// location.
pub fn unwrap(command: Located<String>, args: Vec<Located<String>>) -> Unwrapped {
    let mut command = command;
    let mut args = args;
    let mut launchers = Vec::new();
    for _ in 0..MAX_DEPTH {
        let Some(inner) = inner_command(&command, &args) else {
            break;
        };
        let mut words = inner.words.into_iter();
        let Some(inner_command) = words.next() else {
            break;
        };
        let own = args[..inner.own].to_vec();
        launchers.push(Launcher {
            program: std::mem::replace(&mut command, inner_command),
            words: own,
            script: inner.script,
        });
        args = words.collect();
    }
    Unwrapped {
        launchers,
        command,
        args,
    }
}

/// The command line as the config wrote it, launchers and all.
pub fn written<'a>(
    launchers: &'a [Launcher],
    command: &'a Located<String>,
    args: &'a [Located<String>],
) -> Vec<&'a Located<String>> {
    let mut line: Vec<&Located<String>> = std::iter::once(command).chain(args).collect();
    for launcher in launchers.iter().rev() {
        let inner = if launcher.script { Vec::new() } else { line };
        line = std::iter::once(&launcher.program)
            .chain(&launcher.words)
            .chain(inner)
            .collect();
    }
    line
}

/// What a launcher runs: the command's words, how many of the launcher's arguments are its own,
/// and whether the command was split out of a script.
struct Inner {
    words: Vec<Located<String>>,
    own: usize,
    script: bool,
}

impl Inner {
    /// The command follows the launcher's `own` arguments.
    fn after(rest: &[Located<String>], own: usize) -> Option<Inner> {
        Some(Inner {
            words: rest.get(own..)?.to_vec(),
            own,
            script: false,
        })
    }

    /// The command follows the launcher's `own` arguments, written as one word when it is one.
    fn line(rest: &[Located<String>], own: usize, syntax: Syntax) -> Option<Inner> {
        match rest.get(own..)? {
            [one] => Some(Inner {
                words: script_command(one, syntax)?,
                own: rest.len(),
                script: true,
            }),
            _ => Inner::after(rest, own),
        }
    }
}

/// The command a launcher runs, or `None` when `command` is no launcher (or one used in a way
/// that runs no command of the config's, like `sh script.sh`).
fn inner_command(command: &Located<String>, rest: &[Located<String>]) -> Option<Inner> {
    match program_name(&command.value).as_str() {
        "cmd" => {
            let at = rest.iter().position(|w| {
                let flag = w.value.to_ascii_lowercase();
                flag == "/c" || flag == "/k"
            })?;
            if !rest[..at].iter().all(|w| w.value.starts_with('/')) {
                return None;
            }
            Inner::line(rest, at + 1, Syntax::Windows)
        }
        "sh" | "bash" | "zsh" | "dash" | "ash" | "ksh" => {
            // `-c` may be clustered (`-lc`, `-ec`) and come after other options; the script
            // is the next word, and any words after it are its `$0`, `$1`…
            let at = rest
                .iter()
                .take_while(|w| w.value.starts_with('-'))
                .position(|w| !w.value.starts_with("--") && w.value[1..].contains('c'))?;
            Some(Inner {
                words: script_command(rest.get(at + 1)?, Syntax::Posix)?,
                own: rest.len(),
                script: true,
            })
        }
        "powershell" | "pwsh" => {
            let at = rest.iter().position(|w| {
                let flag = w.value.to_ascii_lowercase();
                flag.starts_with("-c") && "-command".starts_with(&flag)
            })?;
            Inner::line(rest, at + 1, Syntax::Windows)
        }
        "sudo" | "doas" | "pkexec" | "run0" | "gsudo" => {
            let valued = [
                "-u", "-g", "-C", "-D", "-h", "-p", "-r", "-t", "-U", "-T", "--user",
            ];
            Inner::after(rest, own_options(rest, &valued))
        }
        "env" => {
            let mut i = 0;
            while let Some(word) = rest.get(i) {
                match word.value.as_str() {
                    "-u" | "--unset" | "-C" | "--chdir" => i += 2,
                    "-S" | "--split-string" => {
                        return Some(Inner {
                            words: script_command(rest.get(i + 1)?, Syntax::Posix)?,
                            own: rest.len(),
                            script: true,
                        });
                    }
                    "--" => return Inner::after(rest, i + 1),
                    text if text.starts_with('-') || is_assignment(text) => i += 1,
                    _ => break,
                }
            }
            Inner::after(rest, i)
        }
        "wsl" => {
            let valued = ["-d", "--distribution", "-u", "--user", "--cd"];
            let mut i = 0;
            while let Some(word) = rest.get(i) {
                match word.value.as_str() {
                    "-e" | "--exec" | "--" => return Inner::after(rest, i + 1),
                    text if valued.contains(&text) => i += 2,
                    text if text.starts_with('-') => return None,
                    _ => break,
                }
            }
            Inner::line(rest, i, Syntax::Posix)
        }
        "nohup" | "exec" => Inner::after(rest, 0),
        _ => None,
    }
}

/// How many of `rest` are a launcher's own options (`sudo -E -u root …`, `VAR=value`);
/// `valued` options take the next word.
fn own_options(rest: &[Located<String>], valued: &[&str]) -> usize {
    let mut i = 0;
    while let Some(word) = rest.get(i) {
        let text = word.value.as_str();
        if text == "--" {
            return i + 1;
        }
        if valued.contains(&text) {
            i += 2;
        } else if text.starts_with('-') || is_assignment(text) {
            i += 1;
        } else {
            break;
        }
    }
    i.min(rest.len())
}

/// `NAME=value`, as a shell or `env` reads it before a command.
fn is_assignment(text: &str) -> bool {
    text.split_once('=').is_some_and(|(name, _)| {
        !name.is_empty()
            && !name.starts_with(|c: char| c.is_ascii_digit())
            && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
    })
}

#[derive(Debug, Clone, Copy)]
enum Syntax {
    Posix,
    Windows,
}

/// The command a one-line script runs. Of a list (`cd /srv && exec docker run …`) it is the
/// last command that starts a container; `None` for a list that starts none (it stays a shell
/// script, read as one) or a script that does not split (an unclosed quote).
fn script_command(script: &Located<String>, syntax: Syntax) -> Option<Vec<Located<String>>> {
    let words = match syntax {
        Syntax::Posix => shlex::split(&script.value)?,
        Syntax::Windows => split_windows(&script.value),
    };
    let mut commands: Vec<Vec<String>> = vec![Vec::new()];
    for word in words {
        let (word, ends_command) = match word.strip_suffix(';') {
            Some(stripped) => (stripped.to_string(), true),
            None => (word, false),
        };
        if matches!(word.as_str(), "&&" | "||" | "|" | "&" | ";") {
            commands.push(Vec::new());
            continue;
        }
        if !word.is_empty() {
            commands
                .last_mut()
                .expect("one command at least")
                .push(word);
        }
        if ends_command {
            commands.push(Vec::new());
        }
    }
    let commands: Vec<Vec<String>> = commands
        .into_iter()
        .map(|command| {
            command
                .into_iter()
                .skip_while(|w| is_assignment(w) || w == "exec")
                .collect::<Vec<_>>()
        })
        .filter(|command| !command.is_empty())
        .collect();
    let chosen = match commands.as_slice() {
        [one] => one,
        _ => commands
            .iter()
            .rev()
            .find(|command| starts_container(command))?,
    };
    Some(
        chosen
            .iter()
            .map(|word| Located {
                value: word.clone(),
                location: script.location.clone(),
            })
            .collect(),
    )
}

/// Whether a command starts a container: a runtime's `run`, behind simple launchers
/// (`sudo docker run`, `env A=1 podman run`) too. Scripts within it are not opened again, so the
/// work stays linear in the script.
fn starts_container(command: &[String]) -> bool {
    command.iter().enumerate().any(|(i, word)| {
        Runtime::from_command(word)
            .is_some_and(|runtime| docker_args::parse_run(runtime, &command[i + 1..]).is_some())
    })
}

/// A Windows command line split at spaces outside double or single quotes; quotes removed.
fn split_windows(line: &str) -> Vec<String> {
    let mut words = Vec::new();
    let mut word = String::new();
    let mut quote: Option<char> = None;
    let mut started = false;
    for c in line.chars() {
        match (quote, c) {
            (Some(q), c) if c == q => quote = None,
            (None, '"' | '\'') => {
                quote = Some(c);
                started = true;
            }
            (None, c) if c.is_whitespace() => {
                if started {
                    words.push(std::mem::take(&mut word));
                    started = false;
                }
            }
            (_, c) => {
                word.push(c);
                started = true;
            }
        }
    }
    if started {
        words.push(word);
    }
    words
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::finding::Location;

    fn line(words: &[&str]) -> (Located<String>, Vec<Located<String>>) {
        let mut located = words.iter().enumerate().map(|(i, w)| Located {
            value: w.to_string(),
            location: Location::at("mcp.json", 1, i as u32 + 1),
        });
        let command = located.next().expect("a command");
        (command, located.collect())
    }

    /// The unwrapped command line, and the launchers' names.
    fn unwrapped(words: &[&str]) -> (Vec<String>, Vec<String>) {
        let (command, args) = line(words);
        let inner = unwrap(command, args);
        let mut argv = vec![inner.command.value];
        argv.extend(inner.args.into_iter().map(|a| a.value));
        let launchers = inner
            .launchers
            .into_iter()
            .map(|l| l.program.value)
            .collect();
        (argv, launchers)
    }

    fn argv(words: &[&str]) -> String {
        unwrapped(words).0.join(" ")
    }

    #[test]
    fn launchers_are_taken_off_down_to_the_command() {
        let run = "docker run --privileged img";
        assert_eq!(
            argv(&["cmd", "/c", "docker", "run", "--privileged", "img"]),
            run
        );
        assert_eq!(argv(&["C:\\Windows\\System32\\cmd.exe", "/C", run]), run);
        assert_eq!(argv(&["cmd", "/d", "/s", "/c", run]), run);
        assert_eq!(argv(&["sh", "-c", run]), run);
        assert_eq!(argv(&["/bin/bash", "-lc", &format!("exec {run}")]), run);
        assert_eq!(argv(&["powershell", "-NoProfile", "-Command", run]), run);
        assert_eq!(
            argv(&["pwsh", "-c", "docker", "run", "--privileged", "img"]),
            run
        );
        assert_eq!(
            argv(&[
                "sudo",
                "-E",
                "-u",
                "root",
                "docker",
                "run",
                "--privileged",
                "img"
            ]),
            run
        );
        assert_eq!(
            argv(&["env", "-i", "A=1", "docker", "run", "--privileged", "img"]),
            run
        );
        assert_eq!(argv(&["env", "-S", run]), run);
        assert_eq!(
            argv(&[
                "wsl",
                "-d",
                "Ubuntu",
                "-e",
                "docker",
                "run",
                "--privileged",
                "img"
            ]),
            run
        );
        assert_eq!(argv(&["wsl", "docker", "run", "--privileged", "img"]), run);
        assert_eq!(argv(&["wsl.exe", run]), run);
        assert_eq!(
            argv(&["nohup", "docker", "run", "--privileged", "img"]),
            run
        );
        let (nested, launchers) =
            unwrapped(&["sudo", "env", "A=1", "sh", "-c", &format!("wsl {run}")]);
        assert_eq!(nested.join(" "), run);
        assert_eq!(launchers, ["sudo", "env", "sh", "wsl"]);
    }

    #[test]
    fn a_script_runs_the_container_it_starts_else_its_last_command() {
        assert_eq!(
            argv(&["sh", "-c", "cd /srv && docker run -v /:/h img | tee log"]),
            "docker run -v /:/h img"
        );
        assert_eq!(
            argv(&["sh", "-c", "true; sudo docker run img"]),
            "docker run img"
        );
        assert_eq!(
            argv(&["bash", "-c", "TOKEN=x exec npx -y pkg@1.0.0"]),
            "npx -y pkg@1.0.0"
        );
        let list = ["sh", "-c", "curl -s https://x.example/i | sh"];
        assert_eq!(
            unwrapped(&list).0,
            list,
            "a list that starts no container stays a script"
        );
        assert_eq!(
            argv(&["sh", "-c", "docker run 'img with space'"]),
            "docker run img with space"
        );
        assert_eq!(
            argv(&[
                "cmd",
                "/c",
                "\"C:\\Program Files\\Docker\\docker.exe\" run img"
            ]),
            "C:\\Program Files\\Docker\\docker.exe run img"
        );
    }

    #[test]
    fn the_written_line_is_rebuilt_from_the_launchers() {
        for words in [
            &["sudo", "-E", "env", "A=1", "docker", "run", "img"][..],
            &["cmd", "/c", "docker run --rm img"],
            &["sh", "-c", "cd /srv && docker run img", "name"],
            &["npx", "-y", "pkg"],
        ] {
            let (command, args) = line(words);
            let inner = unwrap(command, args);
            let written = written(&inner.launchers, &inner.command, &inner.args);
            let line: Vec<&str> = written.iter().map(|w| w.value.as_str()).collect();
            assert_eq!(line, words);
        }
    }

    #[test]
    fn words_split_from_a_script_keep_the_scripts_location() {
        let (command, args) = line(&["sh", "-c", "docker run img"]);
        let inner = unwrap(command, args);
        assert_eq!(inner.command.location, Location::at("mcp.json", 1, 3));
        assert!(
            inner
                .args
                .iter()
                .all(|a| a.location == Location::at("mcp.json", 1, 3))
        );
    }

    #[test]
    fn what_is_no_launcher_or_runs_no_command_stays_as_written() {
        for words in [
            &["npx", "-y", "pkg"][..],
            &["sh", "server.sh"],
            &["bash", "-c"],
            &["sh", "-c", "docker run 'unclosed"],
            &["cmd", "start.bat"],
            &["powershell", "-File", "start.ps1"],
            &["wsl", "--install"],
            &["sudo"],
            &["env"],
        ] {
            let (argv, launchers) = unwrapped(words);
            assert_eq!(argv, words, "{words:?}");
            assert!(launchers.is_empty(), "{words:?}");
        }
    }

    #[test]
    fn a_nest_deeper_than_the_bound_stops_there() {
        let mut words = vec!["nohup"; MAX_DEPTH + 3];
        words.extend(["docker", "run", "img"]);
        let (argv, launchers) = unwrapped(&words);
        assert_eq!(launchers.len(), MAX_DEPTH);
        assert_eq!(argv.len(), words.len() - MAX_DEPTH);
    }
}
