//! `bundle` (run by `cargo xtask bundle`): writes or checks a CodeDeploy revision archive. Its flags
//! are declared here only; `cargo xtask bundle` builds the hooks it names and forwards them.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Parser;
use scenarios::bundle::{self, Format, Input};

/// Builds a reproducible CodeDeploy revision with the hook binaries, or checks one.
#[derive(Parser)]
#[command(name = "cargo xtask bundle", bin_name = "cargo xtask bundle", version)]
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
    /// Output: a folder (cleared first, if it holds nothing but revisions), or a file name ending in
    /// `.zip` / `.tgz` (the format then follows the name).
    #[arg(long, default_value = "dist")]
    out: PathBuf,
    /// zip or tgz (default zip, or what `--out FILE` ends with).
    #[arg(long)]
    format: Option<String>,
    /// Pack debug builds of the hooks (faster to build; for rehearsals only).
    #[arg(long)]
    debug: bool,
    /// Pack the hooks built for this target triple (e.g. aarch64-unknown-linux-gnu).
    #[arg(long)]
    target: Option<String>,
    /// Folder with the built hook binaries (default: the cargo target folder for --target / --debug).
    #[arg(long)]
    hooks_dir: Option<PathBuf>,
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
    let out = Out::parse(&a.out, a.format.as_deref())?;
    let format = out.format;
    let app = match (&a.app, a.example) {
        (Some(app), _) => app.clone(),
        (None, _) => scenarios::scenarios_dir().join("revisions").join("sample"),
    };
    let hooks_dir = a.hooks_dir.clone().unwrap_or_else(|| default_hooks_dir(&a));
    let entries = bundle::collect(&Input {
        app: app.clone(),
        appspec: a.appspec,
        config: a.config,
        hooks_dir,
    })?;
    for w in bundle::validate(&entries)? {
        println!("warning: {w}");
    }
    let bytes = bundle::write(&entries, format)?;
    let name = app
        .file_name()
        .map(|n| n.to_string_lossy().to_string())
        .unwrap_or_else(|| "revision".into());
    let path = out.prepare(&name)?;
    std::fs::write(&path, &bytes)?;
    println!("{}", path.display());
    println!("  size    {} bytes", bytes.len());
    println!("  files   {}", entries.len());
    println!("  sha256  {}", bundle::sha256(&bytes));
    let needs = bundle::glibc_requirements(&entries);
    for e in entries.iter().filter(|e| needs.contains_key(&e.path)) {
        println!("  {} needs {}, {} bytes", e.path, needs[&e.path], e.data.len());
    }
    Ok(())
}

/// Where the archive goes.
struct Out {
    /// `Some`: this file; `None`: `<dir>/<app>.<ext>`.
    file: Option<PathBuf>,
    dir: PathBuf,
    format: Format,
}

impl Out {
    fn parse(out: &std::path::Path, format: Option<&str>) -> anyhow::Result<Out> {
        let named = match out.extension().and_then(|e| e.to_str()) {
            Some("zip") => Some(Format::Zip),
            Some("tgz") => Some(Format::Tgz),
            _ => None,
        };
        let asked = match format {
            None => None,
            Some("zip") => Some(Format::Zip),
            Some("tgz") => Some(Format::Tgz),
            Some(other) => anyhow::bail!("--format must be zip or tgz, not {other}"),
        };
        if let (Some(n), Some(f)) = (named, asked) {
            anyhow::ensure!(
                n == f,
                "--out {} names a {} file but --format asks for {}",
                out.display(),
                ext(n),
                ext(f)
            );
        }
        Ok(match named {
            Some(n) => Out {
                file: Some(out.to_path_buf()),
                dir: out.parent().map(PathBuf::from).unwrap_or_default(),
                format: n,
            },
            None => Out {
                file: None,
                dir: out.to_path_buf(),
                format: asked.unwrap_or(Format::Zip),
            },
        })
    }

    /// Makes room and returns the archive's path. A folder is cleared first, but only if it holds
    /// nothing but earlier revisions; a named file is replaced.
    fn prepare(&self, app: &str) -> anyhow::Result<PathBuf> {
        if let Some(f) = &self.file {
            anyhow::ensure!(!f.is_dir(), "--out {} is a folder, not a file", f.display());
            if !self.dir.as_os_str().is_empty() {
                std::fs::create_dir_all(&self.dir)?;
            }
            return Ok(f.clone());
        }
        if self.dir.exists() {
            for e in std::fs::read_dir(&self.dir)? {
                let p = e?.path();
                let name = p
                    .file_name()
                    .map(|n| n.to_string_lossy().to_string())
                    .unwrap_or_default();
                if p.is_dir() || !(name.ends_with(".zip") || name.ends_with(".tgz")) {
                    anyhow::bail!(
                        "--out {} holds {name}, which is not a revision; refusing to clear it",
                        self.dir.display()
                    );
                }
                std::fs::remove_file(&p)?;
            }
        }
        std::fs::create_dir_all(&self.dir)?;
        Ok(self.dir.join(format!("{app}.{}", ext(self.format))))
    }
}

fn ext(f: Format) -> &'static str {
    if f == Format::Zip {
        "zip"
    } else {
        "tgz"
    }
}

/// The cargo target folder's build of the hooks for `--target` / `--debug`.
fn default_hooks_dir(a: &Args) -> PathBuf {
    let mut dir = match std::env::var_os("CARGO_TARGET_DIR") {
        Some(d) => PathBuf::from(d),
        None => scenarios::scenarios_dir()
            .parent()
            .map(|p| p.join("target"))
            .unwrap_or_else(|| PathBuf::from("target")),
    };
    if let Some(t) = &a.target {
        dir.push(t);
    }
    dir.push(if a.debug { "debug" } else { "release" });
    dir
}
