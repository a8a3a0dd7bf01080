//! The command line: parse the subcommand, build Settings, call into the library, map errors to
//! exit codes.

// No function over 80 lines (clippy.toml sets the threshold).
#![warn(clippy::too_many_lines)]

use std::io::Write as _;
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use gatehouse::config::Settings;
use gatehouse::edge::docker::BollardEngine;
use gatehouse::exit;
use gatehouse::reconcile::{self, Context, Mode, PassReport, Reconciler};

#[derive(Parser)]
#[command(
    name = "gatehouse",
    version,
    about = "Docker labels -> SWAG proxy-confs with authentik in front"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Watch the Docker engine and keep the proxy-confs in line with the labels.
    Run {
        /// One full pass, then exit: non-zero if any container's labels were rejected.
        #[arg(long)]
        once: bool,
    },
    /// Dry run: print every change a pass would make (confs, networks, authentik); change nothing.
    Render,
    /// Exit 0 when the running `gatehouse run` finished a good pass recently (for HEALTHCHECK).
    Health,
    /// Write the stack's .env (settings and generated secrets); never changes a value already set.
    Init(InitArgs),
    /// authentik's admins.
    #[command(subcommand)]
    Admin(AdminCommand),
    /// The doctor: check Docker, SWAG, the apps' networks and authentik; one line per check.
    Check,
    /// authentik's database: dump it to a file, or restore a dump (see docs/migrate.md).
    Db {
        #[command(subcommand)]
        command: gatehouse::commands::db::DbCommand,
    },
    /// Single sign-on: what an app needs to log its users in with authentik.
    #[command(subcommand)]
    Sso(SsoCommand),
}

#[derive(Subcommand)]
enum SsoCommand {
    /// Print an app's issuer, discovery URL, client id, redirect URIs and credential files (reads
    /// authentik and the files; writes nothing).
    Show {
        /// The application slug (auth.slug; by default the app's subdomain).
        app: String,
        /// Print the client secret too.
        #[arg(long)]
        reveal: bool,
        /// Print JSON, for scripts.
        #[arg(long)]
        json: bool,
    },
}

#[derive(Subcommand)]
enum AdminCommand {
    /// Create a personal authentik admin (prints a one-time link or password); with
    /// --deactivate-akadmin, deactivate akadmin once that admin has a second factor.
    Create {
        /// The username.
        name: String,
        #[arg(long)]
        email: String,
        /// Deactivate akadmin, once it is safe (the new admin has a confirmed second factor and
        /// gatehouse's token is not akadmin's; else say what is left).
        #[arg(long)]
        deactivate_akadmin: bool,
    },
}

#[derive(clap::Args)]
struct InitArgs {
    /// The .env file to write, next to compose.yml.
    #[arg(long, default_value = ".env")]
    env_file: std::path::PathBuf,
    /// Your domain: apps appear at <subdomain>.<domain>, authentik at auth.<domain>.
    #[arg(long)]
    domain: Option<String>,
    /// E-mail for Let's Encrypt (SWAG) and akadmin.
    #[arg(long)]
    email: Option<String>,
    /// Time zone, e.g. Europe/Berlin (default: the host's, else Etc/UTC).
    #[arg(long, visible_alias = "timezone")]
    tz: Option<String>,
    /// Never ask; fail when --domain is needed and missing.
    #[arg(long)]
    no_input: bool,
    /// The Docker socket whose group gatehouse's container must join.
    #[arg(long, default_value = "/var/run/docker.sock")]
    docker_socket: std::path::PathBuf,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    if let Command::Init(args) = &cli.command {
        return init(args);
    }
    let (settings, warnings) = match Settings::from_env() {
        Ok(s) => s,
        Err(e) => {
            eprintln!("gatehouse: {e}");
            return ExitCode::from(exit::USAGE);
        }
    };
    if let Command::Sso(SsoCommand::Show { app, reveal, json }) = &cli.command {
        return sso_show(&settings, app, *reveal, *json);
    }
    if let Command::Health = cli.command {
        let verdict = gatehouse::status::health::check(&settings.health_file);
        println!("{verdict}");
        return if verdict.is_healthy() {
            ExitCode::SUCCESS
        } else {
            ExitCode::from(exit::FAILED)
        };
    }
    init_logging(&settings);
    for w in warnings {
        tracing::warn!("{w}");
    }
    if let Command::Admin(AdminCommand::Create {
        name,
        email,
        deactivate_akadmin,
    }) = &cli.command
    {
        let code = gatehouse::commands::admin::main(&settings, name, email, *deactivate_akadmin);
        return ExitCode::from(code);
    }
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            eprintln!("gatehouse: cannot start the runtime: {e}");
            return ExitCode::from(exit::OS);
        }
    };
    if let Command::Db { command } = cli.command {
        return db(&runtime, command, &settings);
    }
    match runtime.block_on(run(cli.command, settings)) {
        Ok(code) => code,
        Err(e) => {
            tracing::error!("{e}");
            ExitCode::from(e.exit_code())
        }
    }
}

fn init_logging(settings: &Settings) {
    gatehouse::status::logs::init(settings);
}

async fn run(command: Command, settings: Settings) -> Result<ExitCode, gatehouse::Error> {
    if let Command::Check = command {
        return Ok(check(&settings).await);
    }
    let engine = BollardEngine::from_env(settings.scope_label.clone())?;
    tracing::info!(
        swag_config = %settings.swag_config.display(),
        label_prefix = %settings.labels.prefix,
        "gatehouse {} starting", env!("CARGO_PKG_VERSION")
    );
    let status_settings = settings.clone();
    let mut rec = Reconciler::new(Context::new(settings, std::sync::Arc::new(engine)));
    match command {
        Command::Run { once: false } => {
            serve_status(&status_settings, &rec);
            match reconcile::watch(rec, shutdown_signal()).await {
                reconcile::WatchEnd::Shutdown => Ok(ExitCode::SUCCESS),
                // EX_SOFTWARE: an internal error; the container's restart policy starts it again.
                reconcile::WatchEnd::EventsLost => Ok(ExitCode::from(exit::SOFTWARE)),
            }
        }
        Command::Run { once: true } => {
            let report = rec.pass(Mode::Once).await?;
            tracing::info!(
                apps = report.desired.apps.len(),
                written = report.written,
                removed = report.removed,
                rejected = report.rejected(),
                docker_requests = rec.context().engines.local().requests_made(),
                "pass done"
            );
            Ok(exit_for(&report))
        }
        Command::Render => {
            let report = rec.dry_run().await?;
            print_dry_run(&report);
            // authentik not answering counts as a failure, as it does for `run --once`.
            if report.dry_run.as_ref().is_some_and(|d| d.incomplete()) {
                return Ok(ExitCode::from(exit::FAILED));
            }
            Ok(exit_for(&report))
        }
        Command::Health
        | Command::Init(_)
        | Command::Check
        | Command::Sso(_)
        | Command::Db { .. }
        | Command::Admin(_) => Ok(ExitCode::SUCCESS),
    }
}

/// `gatehouse check`: every check's line on stdout; 1 when one failed. An engine client that
/// cannot even be set up is the Docker check's failure, not an error: the other checks run.
async fn check(settings: &Settings) -> ExitCode {
    use gatehouse::commands::check;
    let checks = match BollardEngine::from_env(settings.scope_label.clone()) {
        Ok(engine) => check::run_checks(settings, &engine).await,
        Err(e) => check::run_checks_without_engine(settings, e.to_string()).await,
    };
    let _ = std::io::stdout()
        .lock()
        .write_all(check::report(&checks).as_bytes());
    if check::any_failed(&checks) {
        ExitCode::from(exit::FAILED)
    } else {
        ExitCode::SUCCESS
    }
}

/// Starts the status page and `/metrics` on `listen` (`GATEHOUSE_LISTEN`). An address that
/// cannot be bound is logged and the page stays off: keeping the confs right matters more.
fn serve_status(settings: &Settings, rec: &Reconciler) {
    let Some(addr) = settings.listen else {
        tracing::info!("status page and /metrics are off (GATEHOUSE_LISTEN=off)");
        return;
    };
    let server = gatehouse::status::server::bind(addr).and_then(|listener| {
        let addr = listener.local_addr().unwrap_or(addr);
        // Runs until the process exits.
        gatehouse::status::server::spawn(listener, rec.board()).map(|_| addr)
    });
    match server {
        Ok(addr) => {
            tracing::info!(address = %addr, "status page at http://{addr}/ (also /api/status, /metrics, /healthz, /readyz)");
            follow_checks(settings.clone(), rec);
        }
        Err(e) => tracing::error!(
            address = %addr,
            error = %e,
            "cannot listen for the status page; it and /metrics stay off (set GATEHOUSE_LISTEN to a free address, or off)"
        ),
    }
}

/// How often `run` repeats `gatehouse check`'s checks for the status page.
const CHECKS_EVERY: std::time::Duration = std::time::Duration::from_secs(300);

/// Runs `gatehouse check`'s checks (the read-only variant: nothing written to SWAG's folder) for
/// the status page: a few seconds after start, then every [`CHECKS_EVERY`]. A request to the
/// page only reads their latest results.
fn follow_checks(settings: Settings, rec: &Reconciler) {
    let board = rec.board();
    let engine = rec.context().engines.local().clone();
    // Runs until the process exits.
    drop(tokio::spawn(async move {
        tokio::time::sleep(std::time::Duration::from_secs(5)).await;
        loop {
            let checks =
                gatehouse::commands::check::run_checks_read_only(&settings, engine.as_ref()).await;
            board.set_checks(checks);
            tokio::time::sleep(CHECKS_EVERY).await;
        }
    }));
}

/// 74 when a conf could not be written or removed (the file system's trouble), 1 when labels
/// were rejected (for the conf or for authentik) or anything else failed, else 0.
fn exit_for(report: &PassReport) -> ExitCode {
    if report.conf_failures > 0 {
        ExitCode::from(exit::IO)
    } else if report.rejected() > 0 || report.failed > 0 {
        ExitCode::from(exit::FAILED)
    } else {
        ExitCode::SUCCESS
    }
}

fn print_dry_run(report: &PassReport) {
    let Some(dry) = &report.dry_run else {
        return;
    };
    let text = gatehouse::render::dryrun::print(&report.desired, &report.changes, dry);
    let _ = std::io::stdout().lock().write_all(text.as_bytes());
}

async fn shutdown_signal() {
    use tokio::signal::unix::{signal, SignalKind};
    let term = signal(SignalKind::terminate());
    let ctrl_c = tokio::signal::ctrl_c();
    match term {
        Ok(mut term) => {
            tokio::select! {
                _ = term.recv() => {}
                _ = ctrl_c => {}
            }
        }
        Err(_) => {
            let _ = ctrl_c.await;
        }
    }
}

fn db(
    runtime: &tokio::runtime::Runtime,
    command: gatehouse::commands::db::DbCommand,
    settings: &Settings,
) -> ExitCode {
    match runtime.block_on(gatehouse::commands::db::run(command, settings)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("gatehouse db: {e}");
            ExitCode::from(e.exit_code())
        }
    }
}

fn init(args: &InitArgs) -> ExitCode {
    use gatehouse::commands::init::{self, Answers, InitError, Options};
    let opts = Options {
        env_file: args.env_file.clone(),
        answers: Answers {
            domain: args.domain.clone(),
            email: args.email.clone(),
            tz: args.tz.clone(),
        },
        interactive: !args.no_input && std::io::IsTerminal::is_terminal(&std::io::stdin()),
        docker_socket: args.docker_socket.clone(),
    };
    match init::run(&opts) {
        Ok(summary) => {
            print!("{summary}");
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("gatehouse init: {e}");
            ExitCode::from(match e {
                InitError::Invalid { .. } | InitError::Missing(_) => exit::USAGE,
                InitError::Read { .. } | InitError::Write { .. } => exit::IO,
                InitError::Random(_) => exit::OS,
            })
        }
    }
}

/// `gatehouse sso show`: reads authentik and the credentials folder, writes nothing.
fn sso_show(settings: &Settings, app: &str, reveal: bool, json: bool) -> ExitCode {
    use gatehouse::commands::sso;
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            eprintln!("gatehouse: cannot start the runtime: {e}");
            return ExitCode::from(exit::OS);
        }
    };
    match runtime.block_on(sso::show(settings, app, reveal)) {
        Ok(shown) if json => match serde_json::to_string_pretty(&shown) {
            Ok(text) => {
                println!("{text}");
                ExitCode::SUCCESS
            }
            Err(e) => {
                eprintln!("gatehouse: {e}");
                ExitCode::from(exit::FAILED)
            }
        },
        Ok(shown) => {
            print!("{}", sso::text(&shown));
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("gatehouse: {e}");
            ExitCode::from(e.exit_code())
        }
    }
}
