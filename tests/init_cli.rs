//! `gatehouse init` as users type it (issue 9, item 9).

use std::process::Command;

fn init(dir: &std::path::Path, args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_gatehouse"))
        .arg("init")
        .args(["--no-input", "--domain", "example.com"])
        .args(args)
        .current_dir(dir)
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .output()
        .expect("run gatehouse init")
}

#[test]
fn timezone_is_an_alias_of_tz() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("compose.yml"), "services: {}\n").unwrap();
    let out = init(dir.path(), &["--timezone", "Europe/Berlin"]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let env = std::fs::read_to_string(dir.path().join(".env")).unwrap();
    assert!(env.contains("\nTZ=Europe/Berlin\n"), "{env}");
    assert!(!stdout.contains("warning"), "{stdout}");
}

#[test]
fn init_in_a_folder_without_a_compose_file_warns_and_names_the_folder() {
    let dir = tempfile::tempdir().unwrap();
    let out = init(dir.path(), &["--tz", "Etc/UTC"]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{stdout}");
    let folder = std::fs::canonicalize(dir.path()).unwrap();
    assert!(
        stdout.starts_with(&format!(
            "warning: no compose file next to .env: expected compose.example.yml (or compose.yml, compose.yaml, docker-compose.yml, docker-compose.yaml) in {}",
            folder.display()
        )),
        "{stdout}"
    );
    assert!(dir.path().join(".env").exists());
}
