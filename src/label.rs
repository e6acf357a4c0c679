//! The version label a deploy records on the app it pushes (`cf-bluegreen/label`), so
//! that `status` says which version is live and which one waits on the idle app.
//!
//! It is `--label` (or `CF_BLUEGREEN_LABEL`) when given, checked here; otherwise the git
//! commit of what the push uploads, when that is inside a git checkout: its first 12
//! hex digits, with `-dirty` when `git status` lists a change anywhere in the checkout,
//! untracked files included (cf push uploads them). Without git, or outside a
//! checkout, there is no label, and the deploy clears any label an older version left on
//! the app.

use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::config::{Config, ConfigError};

/// The longest label, in characters: enough for a version, a commit id and a build
/// number, short enough for one line of `status`.
pub const MAX_CHARS: usize = 200;

/// Characters the records cannot hold: [`crate::metadata::sanitize`] would replace them,
/// and a label must be recorded as given.
const UNRECORDABLE: &[char] = &['"', '\\', '{', '}', ','];

/// How long git may take to answer; a checkout it cannot read in this time gets no
/// label rather than a deploy that waits.
const GIT_TIMEOUT: Duration = Duration::from_secs(20);

/// `given` (from `--label` or `CF_BLUEGREEN_LABEL`) if it can be recorded as it is, or a
/// configuration error that says why not.
pub fn check(given: &str) -> Result<String, ConfigError> {
    let refuse = |problem: String| ConfigError::Label {
        problem,
        hint: "give a short text such as a version (--label v1.2.3) or a commit id; \
               without --label and CF_BLUEGREEN_LABEL, a deploy is labelled with the git \
               commit of push.path"
            .into(),
    };
    let chars = given.chars().count();
    if given.trim().is_empty() {
        return Err(refuse(if given.is_empty() {
            "is empty".into()
        } else {
            "is only white space".into()
        }));
    }
    if chars > MAX_CHARS {
        return Err(refuse(format!(
            "is {chars} characters long; a label has at most {MAX_CHARS}"
        )));
    }
    if let Some((at, c)) = given.chars().enumerate().find(|(_, c)| c.is_control()) {
        return Err(refuse(format!(
            "{given:?} holds a control character (U+{:04X}) at character {}",
            c as u32,
            at + 1
        )));
    }
    if let Some((at, c)) = given
        .chars()
        .enumerate()
        .find(|(_, c)| UNRECORDABLE.contains(c))
    {
        return Err(refuse(format!(
            "{given:?} holds `{c}` at character {}, which the records on the app cannot hold \
             (nor any of `\"` `\\` `{{` `}}` `,`)",
            at + 1
        )));
    }
    Ok(given.to_string())
}

/// The label a deploy of `config`'s pair records: `given` (already [`check`]ed), the same
/// for every pair, or else the git commit of what this pair pushes.
pub fn for_pair(given: Option<&str>, config: &Config) -> Option<String> {
    match given {
        Some(label) => Some(label.to_string()),
        None => git_commit("git", &source_dir(config)),
    }
}

/// The directory of what `cf push` uploads: `push.path`, or the directory of the file it
/// names (a jar); without `push.path`, the manifest's directory (cf pushes the directory
/// the manifest is in, unless the manifest says otherwise); without either, the current
/// directory, which cf pushes. Relative paths in the configuration are already anchored
/// at its directory.
pub fn source_dir(config: &Config) -> PathBuf {
    let dir_of = |p: &Path| match p.parent() {
        Some(parent) if !parent.as_os_str().is_empty() => parent.to_path_buf(),
        _ => PathBuf::from("."),
    };
    match (&config.push.path, &config.push.manifest) {
        (Some(path), _) if path.is_dir() => path.clone(),
        (Some(path), _) => dir_of(path),
        (None, Some(manifest)) => dir_of(manifest),
        (None, None) => PathBuf::from("."),
    }
}

/// The commit checked out in `dir`, its first 12 hex digits (as `git rev-parse
/// --short=12 HEAD` shows it), with `-dirty` when the checkout has changes; `None` when
/// `git` cannot be run, `dir` is not in a checkout (or has no commit yet), or git does not
/// answer in time. One `git status --porcelain=v2 --branch` says both, in one process
/// instead of two: a deploy's own CPU is mostly the processes it starts. `git` is the
/// program, a parameter for the tests.
pub fn git_commit(git: &str, dir: &Path) -> Option<String> {
    let status = run_git(git, dir, &["status", "--porcelain=v2", "--branch"])?;
    let oid = status
        .lines()
        .find_map(|l| l.strip_prefix("# branch.oid "))?
        .trim();
    // `(initial)`: no commit yet, nothing to name.
    if oid.len() < 12 || !oid.bytes().all(|b| b.is_ascii_hexdigit()) {
        return None;
    }
    let commit = &oid[..12];
    // Every line but the `# ` headers is a change: modified, staged, untracked (cf push
    // uploads untracked files too).
    let changed = status
        .lines()
        .any(|l| !l.starts_with("# ") && !l.is_empty());
    Some(if changed {
        format!("{commit}-dirty")
    } else {
        commit.to_string()
    })
}

/// What `git ARGS` printed on stdout in `dir`, if it ran and succeeded in time.
fn run_git(git: &str, dir: &Path, args: &[&str]) -> Option<String> {
    let handle = duct::cmd(git, args)
        .dir(dir)
        // The checkout is the one `dir` is in, whatever a calling git hook set.
        .env_remove("GIT_DIR")
        .env_remove("GIT_WORK_TREE")
        // Reading must not take the index lock from a git running beside us.
        .env("GIT_OPTIONAL_LOCKS", "0")
        .stdin_null()
        .stdout_capture()
        .stderr_null()
        .unchecked()
        .start()
        .ok()?;
    match handle.wait_timeout(GIT_TIMEOUT) {
        Ok(Some(output)) if output.status.success() => {
            Some(String::from_utf8_lossy(&output.stdout).into_owned())
        }
        Ok(Some(_)) | Err(_) => None,
        Ok(None) => {
            let _ = handle.kill();
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `git ARGS` in `dir`, which must succeed (the tests' own setup).
    fn git(dir: &Path, args: &[&str]) -> String {
        let out = duct::cmd("git", args)
            .dir(dir)
            .env("GIT_AUTHOR_NAME", "t")
            .env("GIT_AUTHOR_EMAIL", "t@example.com")
            .env("GIT_COMMITTER_NAME", "t")
            .env("GIT_COMMITTER_EMAIL", "t@example.com")
            .env_remove("GIT_DIR")
            .env_remove("GIT_WORK_TREE")
            // No signing or hooks from the machine's own git configuration.
            .env("GIT_CONFIG_GLOBAL", "/dev/null")
            .env("GIT_CONFIG_NOSYSTEM", "1")
            .stdin_null()
            .stdout_capture()
            .stderr_capture()
            .run()
            .unwrap();
        String::from_utf8(out.stdout).unwrap().trim().to_string()
    }

    fn config(dir: &Path, push: &str) -> Config {
        let text = format!(
            "[apps]\nblue = \"a\"\ngreen = \"b\"\n[routes]\ndomain = \"example.com\"\nlive = \"live\"\nstaging = \"stg\"\n{push}"
        );
        Config::parse(&text, &dir.join("deploy.toml")).unwrap()
    }

    #[test]
    fn a_checkout_gives_its_commit_then_dirty() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        git(d, &["init", "-q"]);
        // No commit yet: nothing to name.
        assert_eq!(git_commit("git", d), None);
        std::fs::write(d.join("app.rb"), "puts 1\n").unwrap();
        git(d, &["add", "app.rb"]);
        git(d, &["commit", "-q", "-m", "first"]);
        let head = git(d, &["rev-parse", "HEAD"]);
        let label = git_commit("git", d).unwrap();
        assert_eq!(label.len(), 12, "{label}");
        assert!(head.starts_with(&label), "{label} is not {head}");

        // From a subdirectory too (push.path = "build").
        std::fs::create_dir(d.join("build")).unwrap();
        assert_eq!(git_commit("git", &d.join("build")), Some(label.clone()));

        std::fs::write(d.join("app.rb"), "puts 2\n").unwrap();
        assert_eq!(git_commit("git", d), Some(format!("{label}-dirty")));
        // An untracked file counts as well.
        git(d, &["checkout", "-q", "app.rb"]);
        assert_eq!(git_commit("git", d), Some(label.clone()));
        std::fs::write(d.join("new.rb"), "").unwrap();
        assert_eq!(git_commit("git", d), Some(format!("{label}-dirty")));
    }

    #[test]
    fn no_checkout_no_git_no_label() {
        let dir = tempfile::tempdir().unwrap();
        assert_eq!(git_commit("git", dir.path()), None);
        assert_eq!(git_commit("git", &dir.path().join("missing")), None);
        // No git to start (tests/labels.rs runs the tool with a PATH without git).
        let nowhere = dir.path().join("no-such-git");
        assert_eq!(git_commit(nowhere.to_str().unwrap(), dir.path()), None);
    }

    #[test]
    fn the_source_is_what_cf_pushes() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        std::fs::create_dir(d.join("build")).unwrap();
        assert_eq!(
            source_dir(&config(d, "[push]\npath = \"build\"\n")),
            d.join("build")
        );
        assert_eq!(
            source_dir(&config(d, "[push]\npath = \"build/app.jar\"\n")),
            d.join("build")
        );
        assert_eq!(
            source_dir(&config(d, "[push]\nmanifest = \"cf/manifest.yml\"\n")),
            d.join("cf")
        );
        assert_eq!(source_dir(&config(d, "")), PathBuf::from("."));
        // A file named without a directory, in a configuration named the same way.
        let c = Config::parse(
            "[apps]\nblue = \"a\"\ngreen = \"b\"\n[routes]\ndomain = \"example.com\"\nlive = \"live\"\nstaging = \"stg\"\n[push]\npath = \"app.jar\"\n",
            Path::new("deploy.toml"),
        )
        .unwrap();
        assert_eq!(source_dir(&c), PathBuf::from("."));
    }

    #[test]
    fn a_given_label_wins_over_git() {
        let dir = tempfile::tempdir().unwrap();
        let c = config(dir.path(), "");
        assert_eq!(for_pair(Some("v1.2.3"), &c), Some("v1.2.3".into()));
        let c = config(dir.path(), "[push]\npath = \".\"\n");
        assert_eq!(for_pair(None, &c), None);
    }

    fn refused(label: &str) -> String {
        let e = check(label).unwrap_err();
        assert!(matches!(e, ConfigError::Label { .. }), "{e:?}");
        e.to_string()
    }

    #[test]
    fn given_labels_are_checked() {
        assert_eq!(check("v1.2.3").unwrap(), "v1.2.3");
        assert_eq!(
            check("release 7 (hotfix) ü").unwrap(),
            "release 7 (hotfix) ü"
        );
        let longest = "é".repeat(MAX_CHARS);
        assert_eq!(check(&longest).unwrap(), longest);

        let prefix = "the label given with --label or CF_BLUEGREEN_LABEL ";
        assert_eq!(refused(""), format!("{prefix}is empty"));
        assert_eq!(refused("  "), format!("{prefix}is only white space"));
        assert_eq!(
            refused(&"x".repeat(MAX_CHARS + 1)),
            format!("{prefix}is 201 characters long; a label has at most 200")
        );
        assert_eq!(
            refused("v1\nv2"),
            format!("{prefix}\"v1\\nv2\" holds a control character (U+000A) at character 3")
        );
        assert_eq!(
            refused("a\u{7f}"),
            format!("{prefix}\"a\\u{{7f}}\" holds a control character (U+007F) at character 2")
        );
        assert!(refused("v1, hotfix").contains("holds `,` at character 3"));
        assert!(refused("say \"hi\"").contains("holds `\"` at character 5"));
    }
}
