//! `gatehouse db` without an engine and with bad settings: the exit codes README's command table
//! lists (`gatehouse::EXIT_CODES`), before anything is touched.

use std::process::Command;

fn gatehouse(env: &[(&str, &str)], args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_gatehouse"))
        .args(args)
        .envs(env.iter().copied())
        .output()
        .expect("run gatehouse")
}

fn listed(command: &str, code: Option<i32>) -> u8 {
    let code = u8::try_from(code.expect("exited")).expect("an exit code");
    let (_, codes) = gatehouse::EXIT_CODES
        .iter()
        .find(|(c, _)| *c == command)
        .expect("listed command");
    assert!(codes.contains(&code), "{command} exited {code}, not listed");
    code
}

#[test]
fn db_commands_without_an_engine_or_with_bad_settings_exit_with_the_listed_codes() {
    let dir = tempfile::tempdir().expect("tempdir");
    let gone = format!("unix://{}/gone.sock", dir.path().display());
    let dump = dir.path().join("a.dump").display().to_string();
    for (command, args) in [
        ("db dump", vec!["db", "dump", "--out", dump.as_str()]),
        ("db restore", vec!["db", "restore", "--yes", dump.as_str()]),
    ] {
        let out = gatehouse(&[("DOCKER_HOST", gone.as_str())], &args);
        assert_eq!(listed(command, out.status.code()), 69, "{out:?}");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(stderr.contains("gone.sock"), "names the socket: {stderr}");
        let out = gatehouse(&[("GATEHOUSE_DB_CONTAINER", "no such/name")], &args);
        assert_eq!(listed(command, out.status.code()), 64, "{out:?}");
    }
    assert!(!dir.path().join("a.dump").exists(), "no file written");
}
