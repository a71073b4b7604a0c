//! The docs cannot drift from the binary: every scaleproof command in a `sh` block of README.md
//! and docs/ parses with the real command line (clap, nothing sent), and the blocks tagged
//! `sh tested` — the ones that need no cluster and no other machine — run as written, on
//! loopback, in a scratch folder, and must exit 0.

use clap::Parser;
use clap::error::ErrorKind;
use scaleproof::cli::Cli;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

/// A fenced block of shell commands: where it starts, whether it is tagged to run, its text.
struct Block {
    file: PathBuf,
    line: usize,
    tested: bool,
    text: String,
}

/// Markdown files a reader opens: the README and every chapter of `docs/`.
fn markdown_files() -> Vec<PathBuf> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut files = vec![root.join("README.md")];
    let mut docs: Vec<PathBuf> = std::fs::read_dir(root.join("docs"))
        .expect("docs/")
        .map(|e| e.expect("entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "md"))
        .collect();
    docs.sort();
    files.extend(docs);
    files
}

/// The `sh` blocks of `file` (info string `sh`, or `sh tested`).
fn sh_blocks(file: &Path) -> Vec<Block> {
    let text = std::fs::read_to_string(file).expect("read");
    let mut blocks = Vec::new();
    // The open block, and whether it is a `sh` one.
    let mut open: Option<(Block, bool)> = None;
    for (i, line) in text.lines().enumerate() {
        match (line.trim_start().strip_prefix("```"), open.take()) {
            (Some(_), Some((block, sh))) => {
                if sh {
                    blocks.push(block);
                }
            }
            (Some(info), None) => {
                let words: Vec<&str> = info.split_whitespace().collect();
                let sh = words.first() == Some(&"sh");
                let block = Block {
                    file: file.to_path_buf(),
                    line: i + 1,
                    tested: sh && words.get(1) == Some(&"tested"),
                    text: String::new(),
                };
                open = Some((block, sh));
            }
            (None, Some((mut block, sh))) => {
                block.text.push_str(line);
                block.text.push('\n');
                open = Some((block, sh));
            }
            (None, None) => {}
        }
    }
    blocks
}

/// The scaleproof arguments of each command line of `text`: lines joined at a trailing `\`,
/// comments dropped, leading `VAR=value` assignments skipped; `cargo run --release --` and
/// `scaleproof` both name the binary. Lines running anything else are not scaleproof's.
fn scaleproof_commands(text: &str) -> Vec<Vec<String>> {
    let joined = text.replace("\\\n", " ");
    let mut commands = Vec::new();
    for line in joined.lines() {
        let Some(words) = shlex::split(line) else {
            panic!("cannot split {line:?} as the shell would");
        };
        let mut words: Vec<String> = words
            .into_iter()
            .skip_while(|w| {
                w.split_once('=').is_some_and(|(k, _)| {
                    !k.is_empty() && k.chars().all(|c| c == '_' || c.is_ascii_alphanumeric())
                })
            })
            .collect();
        if let Some(end) = words
            .iter()
            .position(|w| ["&&", "||", "|", ";"].contains(&w.as_str()))
        {
            words.truncate(end);
        }
        let args = match words.first().map(String::as_str) {
            Some("scaleproof") => words[1..].to_vec(),
            Some("cargo") if words.get(1).map(String::as_str) == Some("run") => {
                match words.iter().position(|w| w == "--") {
                    Some(dash) => words[dash + 1..].to_vec(),
                    None => Vec::new(),
                }
            }
            _ => continue,
        };
        commands.push(args);
    }
    commands
}

#[test]
fn command_lines_are_found_as_the_shell_reads_them() {
    let text = "# a comment\nTOKEN=x cargo run --release -- --host http://h \\\n  -H 'A: ${TOKEN}' # note\n\
        scaleproof merge w0/*/ --out r && echo done\nkubectl get pods\ncargo run --release\n";
    assert_eq!(
        scaleproof_commands(text),
        vec![
            vec!["--host", "http://h", "-H", "A: ${TOKEN}"],
            vec!["merge", "w0/*/", "--out", "r"],
            vec![],
        ]
    );
}

#[test]
fn every_documented_command_parses_with_the_real_command_line() {
    let mut bad = Vec::new();
    let mut checked = 0;
    for file in markdown_files() {
        for block in sh_blocks(&file) {
            for args in scaleproof_commands(&block.text) {
                checked += 1;
                let argv = std::iter::once("scaleproof".to_owned()).chain(args.iter().cloned());
                let shown = [ErrorKind::DisplayHelp, ErrorKind::DisplayVersion];
                if let Err(e) = Cli::try_parse_from(argv)
                    && !shown.contains(&e.kind())
                {
                    bad.push(format!(
                        "{}:{}: scaleproof {}\n{e}",
                        block.file.display(),
                        block.line,
                        args.join(" ")
                    ));
                }
            }
        }
    }
    assert!(
        bad.is_empty(),
        "documented commands that do not parse:\n{}",
        bad.join("\n")
    );
    // README's own block of examples alone holds more than twenty.
    assert!(checked > 20, "only {checked} documented commands found");
}

/// Runs `block` with bash in `dir`: `scaleproof` (and `cargo run --release --`) is the binary
/// under test; the scenarios folder is the repository's. Bounded: killed after `limit`.
fn run_block(block: &Block, dir: &Path, limit: Duration) -> Result<(), String> {
    let bin = dir.join(".bin");
    std::fs::create_dir_all(&bin).expect("bin");
    let exe = bin.join("scaleproof");
    if !exe.exists() {
        std::os::unix::fs::symlink(env!("CARGO_BIN_EXE_scaleproof"), &exe).expect("link");
        let root = Path::new(env!("CARGO_MANIFEST_DIR"));
        std::os::unix::fs::symlink(root.join("scenarios"), dir.join("scenarios")).expect("link");
    }
    let script = format!(
        "set -euo pipefail\ncargo() {{ shift 2; [ \"${{1:-}}\" = -- ] && shift; scaleproof \"$@\"; }}\n{}",
        block.text
    );
    let path = format!(
        "{}:{}",
        bin.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let mut child = Command::new("bash")
        .arg("-c")
        .arg(&script)
        .current_dir(dir)
        .env("PATH", path)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("bash");
    let started = Instant::now();
    loop {
        if let Some(status) = child.try_wait().expect("wait") {
            let out = child.wait_with_output().expect("output");
            return if status.success() {
                Ok(())
            } else {
                Err(format!(
                    "{}:{}: {status}\n{}",
                    block.file.display(),
                    block.line,
                    String::from_utf8_lossy(&out.stderr)
                ))
            };
        }
        if started.elapsed() > limit {
            let _ = child.kill();
            return Err(format!(
                "{}:{}: still running after {limit:?}",
                block.file.display(),
                block.line
            ));
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

#[test]
fn tagged_command_blocks_run_as_written() {
    let _one = crate::common::one_local_run_at_a_time();
    let blocks: Vec<Block> = markdown_files()
        .iter()
        .flat_map(|f| sh_blocks(f))
        .filter(|b| b.tested)
        .collect();
    // docs/run-directory.md's tour is tagged; a tag that silently disappears fails here.
    assert!(
        blocks
            .iter()
            .any(|b| b.file.ends_with("docs/run-directory.md")),
        "no tagged block in docs/run-directory.md"
    );
    let dir = tempfile::tempdir().expect("tempdir");
    for block in &blocks {
        run_block(block, dir.path(), Duration::from_secs(180)).unwrap_or_else(|e| panic!("{e}"));
    }
}
