//! `bundle` (run by `cargo xtask bundle`): writes or checks a CodeDeploy revision archive.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Parser;
use scenarios::bundle::{self, Format, Input};

/// Builds a reproducible CodeDeploy revision with the hook binaries, or checks one.
#[derive(Parser)]
#[command(name = "cargo xtask bundle")]
struct Args {
    /// Application folder (becomes the revision root).
    #[arg(long, required_unless_present_any = ["check", "example"])]
    app: Option<PathBuf>,
    /// appspec.yml to use (default: the app's own, else a generated one).
    #[arg(long)]
    appspec: Option<PathBuf>,
    /// elb-hooks.toml to ship beside the binaries (validated).
    #[arg(long)]
    config: Option<PathBuf>,
    /// Output folder, cleared first.
    #[arg(long, default_value = "dist")]
    out: PathBuf,
    /// zip or tgz.
    #[arg(long, default_value = "zip")]
    format: String,
    /// Folder with the built hook binaries.
    #[arg(long)]
    hooks_dir: PathBuf,
    /// Check an existing revision archive instead of building one.
    #[arg(long)]
    check: Option<PathBuf>,
    /// Build the sample web app revision (scenarios/revisions/sample).
    #[arg(long)]
    example: bool,
}

fn main() -> ExitCode {
    match run(Args::parse()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("bundle: {e:#}");
            ExitCode::FAILURE
        }
    }
}

fn run(a: Args) -> anyhow::Result<()> {
    if let Some(path) = &a.check {
        let bytes = std::fs::read(path)?;
        let entries = bundle::read(&bytes)?;
        for w in bundle::validate(&entries)? {
            println!("warning: {w}");
        }
        println!(
            "{}: valid revision, {} files, sha256 {}",
            path.display(),
            entries.len(),
            bundle::sha256(&bytes)
        );
        return Ok(());
    }
    let format = match a.format.as_str() {
        "zip" => Format::Zip,
        "tgz" => Format::Tgz,
        other => anyhow::bail!("--format must be zip or tgz, not {other}"),
    };
    let app = match (&a.app, a.example) {
        (Some(app), _) => app.clone(),
        (None, _) => scenarios::scenarios_dir().join("revisions").join("sample"),
    };
    let entries = bundle::collect(&Input {
        app: app.clone(),
        appspec: a.appspec,
        config: a.config,
        hooks_dir: a.hooks_dir,
    })?;
    for w in bundle::validate(&entries)? {
        println!("warning: {w}");
    }
    let bytes = bundle::write(&entries, format)?;
    // Clear the output folder, but only if it holds nothing but earlier revisions.
    if a.out.exists() {
        for e in std::fs::read_dir(&a.out)? {
            let p = e?.path();
            let name = p
                .file_name()
                .map(|n| n.to_string_lossy().to_string())
                .unwrap_or_default();
            if p.is_dir() || !(name.ends_with(".zip") || name.ends_with(".tgz")) {
                anyhow::bail!(
                    "--out {} holds {name}, which is not a revision; refusing to clear it",
                    a.out.display()
                );
            }
            std::fs::remove_file(&p)?;
        }
    }
    std::fs::create_dir_all(&a.out)?;
    let name = app
        .file_name()
        .map(|n| n.to_string_lossy().to_string())
        .unwrap_or_else(|| "revision".into());
    let path = a
        .out
        .join(format!("{name}.{}", if format == Format::Zip { "zip" } else { "tgz" }));
    std::fs::write(&path, &bytes)?;
    println!("{}", path.display());
    println!("  size    {} bytes", bytes.len());
    println!("  files   {}", entries.len());
    println!("  sha256  {}", bundle::sha256(&bytes));
    for (bin, need) in bundle::glibc_requirements(&entries, &a.out)? {
        println!("  {bin} needs {need}");
    }
    Ok(())
}
