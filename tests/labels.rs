//! Version labels (`deploy --label`, `CF_BLUEGREEN_LABEL`, the git commit of the push's
//! source): recorded with the deploy record, shown by `status`, the dry run and the
//! summary, cleared by a deploy without one.

use std::path::Path;

use crate::support::*;

/// `git ARGS` in `dir`, isolated from the machine's git configuration; its stdout.
fn git(dir: &Path, args: &[&str]) -> String {
    let out = std::process::Command::new("git")
        .args(args)
        .current_dir(dir)
        .env("GIT_AUTHOR_NAME", "t")
        .env("GIT_AUTHOR_EMAIL", "t@example.com")
        .env("GIT_COMMITTER_NAME", "t")
        .env("GIT_COMMITTER_EMAIL", "t@example.com")
        .env("GIT_CONFIG_GLOBAL", "/dev/null")
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .env_remove("GIT_DIR")
        .env_remove("GIT_WORK_TREE")
        .output()
        .expect("run git");
    assert!(out.status.success(), "git {args:?}: {out:?}");
    String::from_utf8(out.stdout).unwrap().trim().to_string()
}

/// A git checkout at `dir` with one commit; its commit as the tool labels it.
fn checkout(dir: &Path) -> String {
    std::fs::create_dir_all(dir).unwrap();
    git(dir, &["init", "-q"]);
    std::fs::write(dir.join("app.rb"), "puts 'hi'\n").unwrap();
    git(dir, &["add", "app.rb"]);
    git(dir, &["commit", "-q", "-m", "first"]);
    git(dir, &["rev-parse", "--short=12", "HEAD"])
}

/// The PATCH calls of a run that set or clear the label.
fn label_writes(run: &Run) -> Vec<String> {
    run.calls
        .iter()
        .filter(|c| c.argv[0] == "curl" && c.argv.iter().any(|a| a.contains(LABEL)))
        .map(Call::line)
        .collect()
}

#[test]
fn a_given_label_is_recorded_with_the_deploy_and_shown_by_status() {
    let t = Test::blue_live();
    let run = t.run(&["deploy", "--label", "v1.2.3"]);
    run.expect_code(0)
        .stderr_has("live: sinatra_a; the new version goes to sinatra_b, label v1.2.3\n")
        .stderr_has("sinatra_b is live at https://sinatralive.de.a9sapp.eu, label v1.2.3; sinatra_a stopped");
    assert_eq!(t.annotation(GREEN, LABEL).as_deref(), Some("v1.2.3"));
    // In the deploy record's own PATCH: no cf call of its own.
    let writes = label_writes(&run);
    assert_eq!(writes.len(), 1, "{writes:?}");
    assert!(writes[0].contains(DEPLOY), "{}", writes[0]);
    assert!(
        writes[0].contains(r#""cf-bluegreen/label":"v1.2.3""#),
        "{}",
        writes[0]
    );

    let status = t.run(&["status"]);
    status
        .expect_code(0)
        .stdout_has("sinatra_b  started 1/1  sinatralive.de.a9sapp.eu  <- live\n")
        .stdout_has("sinatra_b: label v1.2.3; deployed ")
        .expect_no_mutation();
    // The idle app was never labelled.
    assert!(
        !status.stdout.contains("sinatra_a: label"),
        "{}",
        status.stdout
    );
}

#[test]
fn the_environment_variable_gives_the_label() {
    let t = Test::blue_live();
    t.run_with(&["deploy"], &[("CF_BLUEGREEN_LABEL", "build-42")])
        .expect_code(0)
        .stderr_has(", label build-42;");
    assert_eq!(t.annotation(GREEN, LABEL).as_deref(), Some("build-42"));
    // The flag wins over the variable.
    t.run_with(
        &["deploy", "--label", "build-43"],
        &[("CF_BLUEGREEN_LABEL", "build-42")],
    )
    .expect_code(0);
    assert_eq!(t.annotation(BLUE, LABEL).as_deref(), Some("build-43"));
}

#[test]
fn a_label_with_spaces_and_punctuation_round_trips() {
    let t = Test::blue_live();
    let label = "release 7 (hotfix): 'eu' $HOME ü/2";
    t.run(&["deploy", "--label", label]).expect_code(0);
    assert_eq!(t.annotation(GREEN, LABEL).as_deref(), Some(label));
    t.run(&["status"])
        .expect_code(0)
        .stdout_has(&format!("sinatra_b: label {label}; deployed "));
}

#[test]
fn a_deploy_without_a_label_clears_the_one_an_older_version_left() {
    let t = Test::blue_live();
    t.run(&["deploy", "--label", "v1"]).expect_code(0);
    t.run(&["deploy", "--label", "v2"]).expect_code(0);
    assert_eq!(t.annotation(GREEN, LABEL).as_deref(), Some("v1"));
    assert_eq!(t.annotation(BLUE, LABEL).as_deref(), Some("v2"));
    // The test's directory is no git checkout: no label, and green's v1 goes.
    let run = t.run(&["deploy"]);
    run.expect_code(0)
        .stderr_has("sinatra_b is live at https://sinatralive.de.a9sapp.eu; sinatra_a stopped");
    assert_eq!(t.annotation(GREEN, LABEL), None);
    assert_eq!(t.annotation(BLUE, LABEL).as_deref(), Some("v2"));
    let writes = label_writes(&run);
    assert_eq!(writes.len(), 1, "{writes:?}");
    assert!(
        writes[0].contains(r#""cf-bluegreen/label":null"#),
        "{}",
        writes[0]
    );
    let status = t.run(&["status"]);
    status.expect_code(0).stdout_has("sinatra_a: label v2;");
    assert!(
        !status.stdout.contains("sinatra_b: label"),
        "{}",
        status.stdout
    );
}

#[test]
fn a_dry_run_shows_the_label_and_records_nothing() {
    let t = Test::blue_live();
    let run = t.run(&["deploy", "--dry-run", "--label", "v1.2.3"]);
    run.expect_code(0)
        .stderr_has("the new version goes to sinatra_b, label v1.2.3\n")
        .stderr_has("record deploy, label on sinatra_b, clearing checked, live-since")
        .stdout_has(r#""cf-bluegreen/label":"v1.2.3""#)
        .expect_no_mutation();
    assert_eq!(t.annotation(GREEN, LABEL), None);
    assert!(label_writes(&run).is_empty());
}

#[test]
fn by_default_the_label_is_the_git_commit_of_push_path() {
    let t = Test::blue_live();
    let commit = checkout(&t.dir.path().join("app"));
    assert_eq!(commit.len(), 12);
    let t = t.with("[push]\npath = \"app\"");
    t.run(&["deploy"])
        .expect_code(0)
        .stderr_has(&format!(", label {commit};"));
    assert_eq!(t.annotation(GREEN, LABEL), Some(commit.clone()));

    // A change not committed yet.
    std::fs::write(t.dir.path().join("app/app.rb"), "puts 'changed'\n").unwrap();
    t.run(&["deploy"]).expect_code(0);
    assert_eq!(t.annotation(BLUE, LABEL), Some(format!("{commit}-dirty")));

    // Without git on PATH, no label, no warning: the deploy clears green's.
    let bin = t.dir.path().join("bin-without-git");
    path_without_git(&bin);
    let run = t.run_with(&["deploy"], &[("PATH", bin.to_str().unwrap())]);
    run.expect_code(0)
        .stderr_has("sinatra_b is live at https://sinatralive.de.a9sapp.eu; sinatra_a stopped");
    assert!(!run.stderr.contains("warning"), "{}", run.stderr);
    assert_eq!(t.annotation(GREEN, LABEL), None);
}

/// A directory of links to every program on PATH but git, to stand for PATH (the fake cf
/// needs bash and its tools).
fn path_without_git(bin: &Path) {
    std::fs::create_dir_all(bin).unwrap();
    let path = std::env::var_os("PATH").unwrap();
    for dir in std::env::split_paths(&path) {
        let Ok(entries) = std::fs::read_dir(&dir) else {
            continue;
        };
        for e in entries.flatten() {
            let name = e.file_name();
            if name.to_string_lossy().starts_with("git") || bin.join(&name).exists() {
                continue;
            }
            let _ = std::os::unix::fs::symlink(e.path(), bin.join(&name));
        }
    }
    assert!(!bin.join("git").exists());
    assert!(bin.join("bash").exists());
}

#[test]
fn a_label_that_cannot_be_recorded_is_a_configuration_error() {
    let t = Test::blue_live();
    let long = "x".repeat(201);
    for (args, env, message) in [
        (
            vec!["deploy", "--label", ""],
            vec![],
            "error: the label given with --label or CF_BLUEGREEN_LABEL is empty\n",
        ),
        (
            vec!["deploy", "--label", long.as_str()],
            vec![],
            "is 201 characters long; a label has at most 200\n",
        ),
        (
            vec!["deploy"],
            vec![("CF_BLUEGREEN_LABEL", "v1\nv2")],
            "\"v1\\nv2\" holds a control character (U+000A) at character 3\n",
        ),
        (
            vec!["deploy", "--dry-run", "--label", "v1, hotfix"],
            vec![],
            "holds `,` at character 3",
        ),
    ] {
        let run = t.run_with(&args, &env);
        run.expect_code(2)
            .stderr_has(message)
            .stderr_has("hint: give a short text such as a version");
        assert!(run.calls.is_empty(), "{}", run.dump());
    }
    // A rollback takes no label at all.
    t.run(&["rollback", "--label", "v1"])
        .expect_code(2)
        .stderr_has("unexpected argument '--label'");
}

#[test]
fn a_rollback_keeps_the_labels_and_names_the_one_going_live() {
    let t = Test::rollback_ready()
        .annotate(BLUE, LABEL, "v1")
        .annotate(GREEN, LABEL, "v2");
    let run = t.run_with(&["rollback"], &[("CF_BLUEGREEN_LABEL", "ignored")]);
    run.expect_code(0)
        .stderr_has("rolling back to the previous version on sinatra_a, label v1\n")
        .stderr_has("sinatra_a is live at https://sinatralive.de.a9sapp.eu, label v1; ");
    assert!(label_writes(&run).is_empty());
    assert_eq!(t.annotation(BLUE, LABEL).as_deref(), Some("v1"));
    assert_eq!(t.annotation(GREEN, LABEL).as_deref(), Some("v2"));
}

/// Two pairs, `web` and `api`, each pushing its own directory.
fn two_pairs(t: Test) -> Test {
    let mut text = "[smoke]\nenabled = false\n[switch]\ndrain = \"0s\"\n".to_string();
    let mut t = t;
    for name in ["web", "api"] {
        text.push_str(&format!(
            "\n[[deployments]]\nname = \"{name}\"\napps = {{ blue = \"{name}_a\", green = \"{name}_b\" }}\n\
             routes = {{ domain = \"de.a9sapp.eu\", live = \"{name}\", staging = \"{name}-staging\" }}\n\
             push = {{ path = \"{name}\" }}\n"
        ));
        t = t
            .app(
                &format!("{name}_a"),
                "started",
                &[&format!("{name}.de.a9sapp.eu")],
            )
            .app(&format!("{name}_b"), "stopped", &[]);
    }
    t.config(&text)
}

#[test]
fn in_a_suite_a_given_label_is_every_pairs_and_git_is_each_pairs_own() {
    let t = two_pairs(Test::new());
    let web = checkout(&t.dir.path().join("web"));
    // api's directory is no checkout.
    std::fs::create_dir_all(t.dir.path().join("api")).unwrap();
    t.run(&["deploy", "--label", "release-7"]).expect_code(0);
    assert_eq!(t.annotation("web_b", LABEL).as_deref(), Some("release-7"));
    assert_eq!(t.annotation("api_b", LABEL).as_deref(), Some("release-7"));

    t.run(&["deploy"]).expect_code(0);
    assert_eq!(t.annotation("web_a", LABEL), Some(web));
    assert_eq!(t.annotation("api_a", LABEL), None);
    let status = t.run(&["status"]);
    status
        .expect_code(0)
        .stdout_has("web_b: label release-7;")
        .stdout_has("api_b: label release-7;");
}
