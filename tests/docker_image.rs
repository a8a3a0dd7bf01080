//! The container image, built the way this machine allows (no registry): a static binary from the
//! host, `scripts/build-image.sh`, `FROM scratch`. The image must start, reach the engine through
//! the mounted socket as its non-root user, write a conf into a mounted SWAG config volume, and
//! report healthy through its own HEALTHCHECK.

mod common;

use std::os::unix::fs::{MetadataExt as _, PermissionsExt as _};
use std::path::Path;
use std::process::Command;
use std::time::Duration;

use common::docker::{after, docker_ok, react, swag_config, wait_for, Scope};

/// The image under test; removed when dropped (after the containers using it).
struct Image(String);

impl Drop for Image {
    fn drop(&mut self) {
        let _ = Command::new("docker").args(["rmi", "-f", &self.0]).output();
    }
}

fn build_image() -> Image {
    let tag = format!("gatehouse-test-image:{}", std::process::id());
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("scripts/build-image.sh");
    let out = Command::new(&script)
        .arg(&tag)
        .output()
        .unwrap_or_else(|e| panic!("cannot run {}: {e}", script.display()));
    assert!(
        out.status.success(),
        "scripts/build-image.sh failed:\n{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    Image(tag)
}

#[test]
fn docker_image_from_host_binary_publishes_a_labelled_app_and_reports_healthy() {
    let image = build_image();
    let scope = Scope::new("image");

    let size: u64 = docker_ok(&["image", "inspect", "--format", "{{.Size}}", &image.0])
        .parse()
        .expect("image size");
    assert!(size < 15_000_000, "image is {size} bytes, over 15 MB");
    let user = docker_ok(&["image", "inspect", "--format", "{{.Config.User}}", &image.0]);
    assert!(
        !user.is_empty() && !user.starts_with("0") && !user.starts_with("root"),
        "the image runs as {user:?}, not as a non-root user"
    );

    // SWAG's /config, writable for the image's user (SWAG's PUID 1000 in real life).
    let swag = swag_config();
    let proxy_confs = swag.path().join("nginx/proxy-confs");
    for dir in [swag.path().to_owned(), swag.path().join("nginx")] {
        std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o755)).expect("chmod");
    }
    std::fs::set_permissions(&proxy_confs, std::fs::Permissions::from_mode(0o777))
        .expect("chmod proxy-confs");
    let socket_gid = std::fs::metadata("/var/run/docker.sock")
        .expect("the Docker socket /var/run/docker.sock")
        .gid()
        .to_string();

    let net = scope.network("net");
    let config_volume = format!("{}:/config", swag.path().display());
    let gatehouse = scope
        .container("gatehouse")
        .image(&image.0)
        .option(["--group-add", &socket_gid])
        .option(["-v", "/var/run/docker.sock:/var/run/docker.sock"])
        .option(["-v", &config_volume])
        .env("GATEHOUSE_SCOPE_LABEL", &scope.scope_label)
        .env("GATEHOUSE_RESYNC_SECS", "2")
        .env("GATEHOUSE_LOG_LEVEL", "debug")
        .option(["--health-interval", "1s", "--health-start-period", "1s"])
        .start();

    let subdomain = format!("img{}", std::process::id());
    scope
        .container("app")
        .labels(&[("auth.expose", "true"), ("auth.subdomain", &subdomain)])
        .network(&net)
        .start();

    let conf = proxy_confs.join(format!("gatehouse.{subdomain}.subdomain.conf"));
    let logs = || docker_ok(&["logs", &gatehouse]);
    let appeared = wait_for(react(), || conf.exists());
    assert!(
        appeared,
        "no conf for the labelled app in the mounted volume; gatehouse's log:\n{}",
        logs()
    );
    let text = std::fs::read_to_string(&conf).expect("read conf");
    assert!(text.starts_with("## Managed by gatehouse."), "{text}");
    assert!(
        text.contains(&format!("server_name {subdomain}.*;")),
        "{text}"
    );
    assert_eq!(
        std::fs::metadata(&conf).expect("conf metadata").uid(),
        1000,
        "the conf should belong to the image's user (SWAG's PUID)"
    );

    // The command the HEALTHCHECK runs, and Docker's own verdict from it.
    // A good pass comes every GATEHOUSE_RESYNC_SECS (2 s).
    let healthy = wait_for(after(Duration::from_secs(2)), || {
        let out = Command::new("docker")
            .args(["exec", &gatehouse, "/gatehouse", "health"])
            .output()
            .expect("docker exec");
        out.status.success() && String::from_utf8_lossy(&out.stdout).starts_with("healthy:")
    });
    assert!(
        healthy,
        "gatehouse health never said healthy; log:\n{}",
        logs()
    );
    // Docker runs the HEALTHCHECK every --health-interval (1 s); one success flips the status.
    let status = wait_for(after(Duration::from_secs(1)), || {
        docker_ok(&[
            "inspect",
            "--format",
            "{{.State.Health.Status}}",
            &gatehouse,
        ]) == "healthy"
    });
    assert!(
        status,
        "Docker's HEALTHCHECK status is {:?}",
        docker_ok(&["inspect", "--format", "{{json .State.Health}}", &gatehouse])
    );
}
