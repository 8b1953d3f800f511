//! The docs the CLI keeps true: every `infra-manager …` command line in a fenced code block
//! of the README and of `docs/` is parsed with the real CLI definition, so a renamed or
//! removed flag fails this test instead of a reader.

use std::path::{Path, PathBuf};

use clap::Parser;
use clap::error::ErrorKind;
use infra_manager::cli::Cli;

/// One `infra-manager` command found in a code block, with where it was.
#[derive(Debug)]
struct Found {
    file: String,
    line: usize,
    args: Vec<String>,
}

/// Tokens that end the command: what follows belongs to the shell, not to clap.
fn is_shell_operator(token: &str) -> bool {
    matches!(token, "|" | "||" | "&&" | ";" | "&" | "<" | ")")
        || token.starts_with('>')
        || token.starts_with("2>")
        || token.starts_with("1>")
}

/// Every `infra-manager` invocation in the fenced code blocks of `text` (a Markdown file
/// named `file`): continuation lines joined, a `$ ` prompt and trailing comments dropped,
/// the arguments cut at the first shell operator.
fn commands_in(file: &str, text: &str) -> Vec<Found> {
    let mut found = Vec::new();
    let mut fence: Option<String> = None;
    let mut pending: Option<(usize, String)> = None;
    for (index, line) in text.lines().enumerate() {
        let trimmed = line.trim_start();
        if let Some(marker) = &fence {
            if trimmed.starts_with(marker.as_str()) && trimmed.trim_end() == marker {
                fence = None;
                pending = None;
                continue;
            }
        } else {
            if trimmed.starts_with("```") || trimmed.starts_with("~~~") {
                let marker: String = trimmed.chars().take_while(|c| *c == '`' || *c == '~').collect();
                fence = Some(marker);
            }
            continue;
        }
        let (start, mut joined) = pending.take().unwrap_or((index + 1, String::new()));
        joined.push_str(trimmed.strip_prefix("$ ").unwrap_or(trimmed));
        if let Some(head) = joined.strip_suffix('\\') {
            pending = Some((start, format!("{head} ")));
            continue;
        }
        found.extend(invocations(&joined).into_iter().map(|args| Found { file: file.to_owned(), line: start, args }));
    }
    found
}

/// The argument lists of the `infra-manager` commands on one shell line: a command is
/// the first word of the line, of what follows a shell operator, or of a `$(…)`, after
/// any `NAME=value` assignments.
fn invocations(line: &str) -> Vec<Vec<String>> {
    // shlex drops a `#` comment; a line it cannot split (an unbalanced quote in prose
    // inside a block) holds no command we could check.
    let Some(tokens) = shlex::split(line) else { return Vec::new() };
    let mut out = Vec::new();
    let mut current: Option<Vec<String>> = None;
    let mut at_command_start = true;
    for token in tokens {
        if is_shell_operator(&token) {
            out.extend(current.take());
            at_command_start = true;
            continue;
        }
        if let Some(args) = current.as_mut() {
            // The `)` closing a `$(…)` ends the command too.
            match token.strip_suffix(')') {
                Some(last) => {
                    if !last.is_empty() {
                        args.push(last.to_owned());
                    }
                    out.extend(current.take());
                }
                None => args.push(usage_brackets_removed(&token)),
            }
            continue;
        }
        // `out=$(infra-manager …`: the command starts inside the token.
        let word = token.rsplit_once("$(").map_or(token.as_str(), |(_, command)| command);
        if word != token || at_command_start {
            if word == "infra-manager" || word.ends_with("/infra-manager") {
                current = Some(Vec::new());
                continue;
            }
            at_command_start = is_assignment(word);
        }
    }
    out.extend(current);
    out
}

/// `NAME=value` before a command.
fn is_assignment(word: &str) -> bool {
    word.split_once('=')
        .is_some_and(|(name, _)| !name.is_empty() && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_'))
}

/// A usage line's optional part, `[--env staging]`, is checked as if given.
fn usage_brackets_removed(token: &str) -> String {
    let token = token.strip_prefix('[').unwrap_or(token);
    token.strip_suffix(']').unwrap_or(token).to_owned()
}

/// Parses one found command; `Err` says why it is not a command line the CLI takes.
fn check(found: &Found) -> Result<(), String> {
    let argv = std::iter::once("infra-manager".to_owned()).chain(found.args.iter().cloned());
    match Cli::try_parse_from(argv) {
        Ok(_) => Ok(()),
        Err(e) if matches!(e.kind(), ErrorKind::DisplayHelp | ErrorKind::DisplayVersion) => Ok(()),
        Err(e) => Err(format!(
            "{}:{}: `infra-manager {}`: {}",
            found.file,
            found.line,
            found.args.join(" "),
            e.render().to_string().lines().next().unwrap_or_default()
        )),
    }
}

/// The README, the example fleet's walk and every Markdown file below `docs/`.
fn documents(root: &Path) -> Vec<PathBuf> {
    let mut files = vec![root.join("README.md"), root.join("examples/README.md")];
    let mut dirs = vec![root.join("docs")];
    while let Some(dir) = dirs.pop() {
        for entry in std::fs::read_dir(&dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display())) {
            let path = entry.expect("directory entry").path();
            if path.is_dir() {
                dirs.push(path);
            } else if path.extension().is_some_and(|e| e == "md") {
                files.push(path);
            }
        }
    }
    files.sort();
    files
}

#[test]
fn every_documented_command_line_parses() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut checked = 0;
    let mut failures = Vec::new();
    for path in documents(root) {
        let name = path.strip_prefix(root).unwrap_or(&path).display().to_string();
        let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{name}: {e}"));
        for found in commands_in(&name, &text) {
            checked += 1;
            if let Err(e) = check(&found) {
                failures.push(e);
            }
        }
    }
    assert!(checked > 25, "only {checked} documented command lines found: is the extraction broken?");
    assert!(
        failures.is_empty(),
        "{} of {checked} documented command lines do not parse:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

#[test]
fn a_planted_wrong_flag_is_found_at_its_line() {
    let doc = "# Title\n\nSome prose naming `infra-manager plan --bogus` inline.\n\n```sh\n\
               infra-manager validate infra/variables.yml   # fine\n\
               target/debug/infra-manager plan --env staging \\\n  --no-such-flag | tee out\n\
               ```\n";
    let found = commands_in("planted.md", doc);
    assert_eq!(found.len(), 2, "{found:?}");
    assert!(check(&found[0]).is_ok());
    let error = check(&found[1]).expect_err("the planted flag is refused");
    assert!(
        error.starts_with("planted.md:7: `infra-manager plan --env staging --no-such-flag`: error: unexpected argument '--no-such-flag'"),
        "{error}"
    );
}

#[test]
fn shell_around_the_command_is_not_taken_for_arguments() {
    assert_eq!(
        invocations("out=$(infra-manager targets --all --json) && echo \"$out\""),
        vec![vec!["targets".to_owned(), "--all".to_owned(), "--json".to_owned()]]
    );
    assert_eq!(
        invocations("infra-manager schema > variables.schema.json  # for editors"),
        vec![vec!["schema".to_owned()]]
    );
    assert_eq!(
        invocations("AWS_REGION=eu-west-1 target/debug/infra-manager catalog [--json]"),
        vec![vec!["catalog".to_owned(), "--json".to_owned()]]
    );
    // An argument that names the binary is not a command.
    assert!(invocations("objdump -T target/release/infra-manager | grep GLIBC").is_empty());
}
