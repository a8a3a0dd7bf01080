//! The edges of `init`: read and write the file, read the OS random source, ask on the terminal.

use std::fs;
use std::io::{self, BufRead, Read as _, Write as _};
use std::os::unix::fs::PermissionsExt as _;
use std::path::{Path, PathBuf};

use super::{
    desired, merge, no_compose_warning, parse_env, summary, valid_domain, valid_email, valid_tz,
    Answers, HostFacts, InitError, COMPOSE_FILES,
};

/// Options of the `init` command.
#[derive(Debug, Clone, Default)]
pub struct Options {
    /// The `.env` file to write (next to compose.yml).
    pub env_file: PathBuf,
    pub answers: Answers,
    /// Ask for what is missing when stdin is a terminal.
    pub interactive: bool,
    /// The Docker socket whose group gatehouse must join.
    pub docker_socket: PathBuf,
}

/// Runs init: reads the file, asks for what is missing, writes, and returns the summary.
pub fn run(opts: &Options) -> Result<String, InitError> {
    let path = &opts.env_file;
    let existing = match fs::read_to_string(path) {
        Ok(t) => t,
        Err(e) if e.kind() == io::ErrorKind::NotFound => String::new(),
        Err(source) => {
            return Err(InitError::Read {
                path: path.clone(),
                source,
            })
        }
    };
    let values = parse_env(&existing);
    let mut answers = Answers {
        domain: opts
            .answers
            .domain
            .as_deref()
            .map(valid_domain)
            .transpose()?,
        email: opts.answers.email.as_deref().map(valid_email).transpose()?,
        tz: opts.answers.tz.as_deref().map(valid_tz).transpose()?,
    };
    let has = |k: &str| values.get(k).is_some_and(|v| !v.is_empty());
    if answers.domain.is_none() && !has("DOMAIN") {
        if !opts.interactive {
            return Err(InitError::Missing("--domain"));
        }
        answers.domain = Some(ask(
            "Your domain (apps appear at <app>.<domain>)",
            None,
            valid_domain,
        )?);
    }
    if answers.email.is_none() && !has("EMAIL") && opts.interactive {
        answers.email = Some(ask(
            "E-mail for Let's Encrypt and akadmin",
            None,
            valid_email,
        )?);
    }
    let host = HostFacts {
        docker_gid: socket_gid(&opts.docker_socket),
        tz: host_tz(),
    };
    if answers.tz.is_none() && !has("TZ") && opts.interactive {
        let default = host.tz.clone().unwrap_or_else(|| "Etc/UTC".into());
        answers.tz = Some(ask("Time zone", Some(&default), valid_tz)?);
    }
    let mut fill = os_random()?;
    let entries = desired(&answers, &host, &values, &mut fill);
    let plan = merge(&existing, &entries, &answers);
    if plan.changed() {
        write_env(path, &plan.text)?;
    }
    let after = parse_env(&plan.text);
    let mut out = compose_check(path).unwrap_or_default();
    out.push_str(&summary(&plan, path, &after));
    Ok(out)
}

/// The warning when no compose file is next to the `.env`, naming the folder where one is
/// expected.
fn compose_check(env_path: &Path) -> Option<String> {
    let dir = match env_path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
        _ => PathBuf::from("."),
    };
    if COMPOSE_FILES.iter().any(|f| dir.join(f).is_file()) {
        return None;
    }
    let shown = fs::canonicalize(&dir).unwrap_or(dir);
    Some(no_compose_warning(env_path, &shown))
}

fn ask(
    question: &str,
    default: Option<&str>,
    check: fn(&str) -> Result<String, InitError>,
) -> Result<String, InitError> {
    let stdin = io::stdin();
    loop {
        match default {
            Some(d) => eprint!("{question} [{d}]: "),
            None => eprint!("{question}: "),
        }
        let _ = io::stderr().flush();
        let mut line = String::new();
        let n = stdin
            .lock()
            .read_line(&mut line)
            .map_err(|source| InitError::Read {
                path: PathBuf::from("<stdin>"),
                source,
            })?;
        if n == 0 {
            return Err(InitError::Missing("an answer (stdin closed)"));
        }
        let answer = match (line.trim(), default) {
            ("", Some(d)) => d.to_owned(),
            (a, _) => a.to_owned(),
        };
        match check(&answer) {
            Ok(v) => return Ok(v),
            Err(e) => eprintln!("{e}"),
        }
    }
}

/// A byte source reading the OS CSPRNG (`/dev/urandom`).
fn os_random() -> Result<impl FnMut(&mut [u8]), InitError> {
    let mut f = fs::File::open("/dev/urandom").map_err(InitError::Random)?;
    // A failing read of /dev/urandom after it opened is not something to recover from: stop
    // rather than write a weak secret.
    Ok(move |buf: &mut [u8]| {
        if let Err(e) = f.read_exact(buf) {
            eprintln!("gatehouse: cannot read /dev/urandom: {e}");
            std::process::exit(71);
        }
    })
}

fn socket_gid(socket: &Path) -> Option<u32> {
    use std::os::unix::fs::MetadataExt as _;
    fs::metadata(socket).ok().map(|m| m.gid())
}

fn host_tz() -> Option<String> {
    fs::read_to_string("/etc/timezone")
        .ok()
        .and_then(|t| valid_tz(t.trim()).ok())
}

/// Writes the file through a temp file and a rename; a new file is readable by its owner only
/// (it holds secrets), an existing one keeps its mode.
fn write_env(path: &Path, text: &str) -> Result<(), InitError> {
    let werr = |source| InitError::Write {
        path: path.to_owned(),
        source,
    };
    let mode = fs::metadata(path)
        .map(|m| m.permissions().mode() & 0o7777)
        .unwrap_or(0o600);
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| ".env".into());
    let tmp = path.with_file_name(format!(".{name}.gatehouse-init.tmp"));
    let result = (|| {
        let mut f = fs::File::create(&tmp)?;
        f.set_permissions(fs::Permissions::from_mode(mode))?;
        f.write_all(text.as_bytes())?;
        f.sync_all()?;
        fs::rename(&tmp, path)
    })();
    if let Err(e) = result {
        let _ = fs::remove_file(&tmp);
        return Err(werr(e));
    }
    Ok(())
}
