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
