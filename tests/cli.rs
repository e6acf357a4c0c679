use crate::support::*;

#[test]
fn help_lists_commands_and_exit_codes() {
    let t = Test::new();
    t.run(&["--help"])
        .expect_code(0)
        .stdout_has("deploy")
        .stdout_has("status")
        .stdout_has("Exit codes")
        .stdout_has("130 interrupted")
        .stdout_has("rollback");
    t.run(&["deploy", "--help"])
        .expect_code(0)
        .stdout_has("--dry-run");
}

#[test]
fn usage_errors_exit_2() {
    let t = Test::new();
    t.run(&["deploy", "--bogus"]).expect_code(2);
    t.run(&[]).expect_code(2);
    t.run(&["-v", "-q", "status"]).expect_code(2);
}

/// Runs cf-bluegreen in an empty directory (no deploy.toml) with a cf that does not
/// exist: whatever needs either fails.
fn run_bare(args: &[&str]) -> std::process::Output {
    let dir = tempfile::tempdir().unwrap();
    std::process::Command::new(env!("CARGO_BIN_EXE_cf-bluegreen"))
        .args(["--cf", "/nonexistent"])
        .args(args)
        .current_dir(dir.path())
        .env_remove("CF_BLUEGREEN_CONFIG")
        .env_remove("CF_BIN")
        .env("HOME", dir.path())
        .env("CF_HOME", dir.path())
        .output()
        .unwrap()
}

#[test]
fn completions_need_no_config_and_no_cf() {
    for shell in ["bash", "zsh", "fish", "powershell", "elvish"] {
        let out = run_bare(&["completions", shell]);
        let stdout = String::from_utf8(out.stdout).unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(0), "{shell}: {stderr}");
        assert!(stderr.is_empty(), "{shell}: {stderr}");
        // fish names long flags without their dashes (`-l dry-run`).
        for word in ["deploy", "dry-run"] {
            assert!(stdout.contains(word), "{shell}: no {word:?} in\n{stdout}");
        }
    }
}

#[test]
fn the_bash_completion_script_is_valid_bash() {
    let dir = tempfile::tempdir().unwrap();
    let script = dir.path().join("cf-bluegreen.bash");
    let out = run_bare(&["completions", "bash"]);
    assert_eq!(out.status.code(), Some(0));
    std::fs::write(&script, &out.stdout).unwrap();
    let check = std::process::Command::new("bash")
        .arg("-n")
        .arg(&script)
        .output()
        .unwrap();
    assert!(
        check.status.success(),
        "{}",
        String::from_utf8_lossy(&check.stderr)
    );
    // Sourced, it registers the completion under the binary's name.
    let sourced = std::process::Command::new("bash")
        .arg("-c")
        .arg(format!(
            "source {} && complete -p cf-bluegreen",
            script.display()
        ))
        .output()
        .unwrap();
    assert!(
        String::from_utf8_lossy(&sourced.stdout).contains("cf-bluegreen"),
        "{}",
        String::from_utf8_lossy(&sourced.stderr)
    );
}

#[test]
fn an_unknown_shell_is_a_usage_error() {
    let out = run_bare(&["completions", "tcsh"]);
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("invalid value 'tcsh'"), "{stderr}");
    assert!(
        stderr.contains("bash, elvish, fish, powershell, zsh"),
        "{stderr}"
    );
    assert!(out.stdout.is_empty());
}

#[test]
fn the_man_page_needs_no_config_and_no_cf() {
    let out = run_bare(&["man"]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    assert!(stderr.is_empty(), "{stderr}");
    let page = String::from_utf8(out.stdout).unwrap();
    assert!(page.contains(".TH cf-bluegreen 1"), "{page}");
    for command in [
        "deploy",
        "rollback",
        "promote",
        "abort",
        "status",
        "init",
        "completions",
        "man",
    ] {
        assert!(
            page.contains(&format!("\\fBcf\\-bluegreen {command}\\fR")),
            "no synopsis of {command}:\n{page}"
        );
    }
}

#[test]
fn a_command_that_needs_the_config_still_says_so() {
    // The same bare directory makes `status` fail on the missing file, before any cf call.
    let out = run_bare(&["status"]);
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("cannot read the configuration deploy.toml"),
        "{stderr}"
    );
}

#[test]
fn color_is_asked_for_or_left_out() {
    let t = Test::blue_live();
    // Not a terminal: no colour by default, so CI logs stay plain.
    let plain = t.run(&["deploy"]);
    plain.expect_code(0);
    assert!(!plain.stderr.contains('\x1b'), "{}", plain.stderr);
    let t = Test::blue_live();
    t.run(&["--color", "always", "deploy"])
        .expect_code(0)
        .stderr_has("\x1b[32mok\x1b[0m   push the new version to sinatra_b");
    // --color always wins over NO_COLOR (auto gives way to it: see cli.rs).
    let t = Test::blue_live().broken_router();
    t.run_with(&["deploy", "--color=always"], &[("NO_COLOR", "1")])
        .expect_code(1)
        .stderr_has("\x1b[31merror\x1b[0m: ")
        .stderr_has("\x1b[31mFAIL\x1b[0m check");
    t.run(&["--color", "sometimes", "status"])
        .expect_code(2)
        .stderr_has("sometimes");
}
