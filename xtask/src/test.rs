//! `cargo xtask test [NEXTEST ARGS...]`: makes sure of every tool the tests use, installing what is
//! missing with the ordinary package tools (and saying what and why), then runs the whole suite with
//! `cargo nextest run --workspace --no-fail-fast`; arguments after the task go to nextest (a filter,
//! `-E 'test(report)'`, `--no-capture` ...).
//!
//! This is the one place the set-up lives: the README's test command, and `.ci/run` calls it. A tool
//! that cannot be installed here (no root, no package manager) stops the run with one line naming it
//! and the command that installs it: no test is skipped silently.

use std::process::Command;

use anyhow::bail;
use xshell::{cmd, Shell};

#[derive(clap::Args)]
pub struct Test {
    /// Only check (and install) the tools, do not run the tests.
    #[arg(long)]
    tools_only: bool,
    /// Passed to `cargo nextest run` (for example a test-name filter).
    #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
    nextest: Vec<String>,
}

/// How a missing tool is installed.
#[derive(Clone, Copy)]
enum Via {
    /// `python3 -m pip install PACKAGE`.
    Pip(&'static str),
    /// `cargo install --locked CRATE`.
    Cargo(&'static str),
    /// `apt-get install -y PACKAGE` (as root, or through `sudo -n`).
    Apt(&'static str),
}

impl Via {
    fn command(self) -> String {
        match self {
            Via::Pip(p) => format!("python3 -m pip install {p}"),
            Via::Cargo(c) => format!("cargo install --locked {c}"),
            Via::Apt(p) => format!("apt-get install -y {p}"),
        }
    }
}

/// How the presence of a tool is checked.
#[derive(Clone, Copy)]
enum Probe {
    /// A command on the PATH (any of these names).
    Command(&'static [&'static str]),
    /// `python3 -c "import MODULE"` succeeds.
    PyModule(&'static str),
    /// `python3 -m MODULE version` succeeds.
    PyRun(&'static str),
    /// `cargo SUBCOMMAND --version` succeeds.
    CargoSub(&'static str),
}

pub struct Tool {
    name: &'static str,
    why: &'static str,
    probe: Probe,
    via: Via,
}

const TOOLS: &[Tool] = &[
    Tool {
        name: "cargo-nextest",
        why: "runs the test suite",
        probe: Probe::CargoSub("nextest"),
        via: Via::Cargo("cargo-nextest"),
    },
    Tool {
        name: "boto3",
        why: "the botocore tests drive fakeaws with boto3",
        probe: Probe::PyModule("boto3"),
        via: Via::Pip("boto3"),
    },
    Tool {
        name: "aws (the AWS CLI)",
        why: "the botocore tests drive fakeaws with the AWS CLI",
        probe: Probe::Command(&["aws"]),
        via: Via::Pip("awscli"),
    },
    Tool {
        name: "ziglang",
        why: "the bundle test builds the shipped hooks against glibc 2.17 with zig",
        probe: Probe::PyRun("ziglang"),
        via: Via::Pip("ziglang"),
    },
    Tool {
        name: "cargo-zigbuild",
        why: "the bundle test cross-links the shipped hooks with cargo-zigbuild",
        probe: Probe::Command(&["cargo-zigbuild"]),
        via: Via::Cargo("cargo-zigbuild"),
    },
    Tool {
        name: "objcopy",
        why: "the bundle drops the standard library's unwind tables with GNU objcopy",
        probe: Probe::Command(&["objcopy"]),
        via: Via::Apt("binutils"),
    },
    Tool {
        name: "prlimit",
        why: "the kill-inside-the-state-write test runs the hooks under util-linux's prlimit",
        probe: Probe::Command(&["prlimit"]),
        via: Via::Apt("util-linux"),
    },
    Tool {
        name: "unzip",
        why: "the bundle tests open revision zips with Info-ZIP's unzip",
        probe: Probe::Command(&["unzip"]),
        via: Via::Apt("unzip"),
    },
    CURL,
    Tool {
        name: "chromium",
        why: "the report test renders every page in headless Chromium",
        probe: Probe::Command(&["chromium", "chromium-browser", "google-chrome"]),
        via: Via::Apt("chromium"),
    },
];

impl Test {
    pub fn run(self, sh: &Shell) -> anyhow::Result<()> {
        ensure_tools()?;
        if self.tools_only {
            return Ok(());
        }
        let args = self.nextest;
        crate::run(cmd!(sh, "cargo nextest run --workspace --no-fail-fast {args...}"))?;
        Ok(())
    }
}

/// Every tool of [`TOOLS`] present afterwards, or an error naming the first that could not be
/// installed and the command that installs it.
pub fn ensure_tools() -> anyhow::Result<()> {
    ensure("xtask test", TOOLS)
}

/// moto's server, which `cargo xtask bench` compares fakeaws with.
/// The scenario whose start script polls its app runs curl, as users' start scripts do.
pub const CURL: Tool = Tool {
    name: "curl",
    why: "a scenario's start script polls its app with curl (start_script_polls_its_app)",
    probe: Probe::Command(&["curl"]),
    via: Via::Apt("curl"),
};

pub const MOTO: Tool = Tool {
    name: "moto_server",
    why: "the benchmark measures fakeaws beside moto's server",
    probe: Probe::Command(&["moto_server"]),
    via: Via::Pip("moto[server]"),
};

/// Each of `tools` present afterwards (installed if missing, saying so as `task`), or an error
/// naming the first that could not be installed and the command that installs it.
pub fn ensure(task: &str, tools: &[Tool]) -> anyhow::Result<()> {
    let mut apt_updated = false;
    for tool in tools {
        if present(tool.probe) {
            continue;
        }
        eprintln!(
            "{task}: installing {} ({}): {}",
            tool.name,
            tool.why,
            tool.via.command()
        );
        let installed = match tool.via {
            Via::Pip(p) => quiet(Command::new("python3").args(["-m", "pip", "install", "--quiet", p])),
            // A cold `cargo install` takes minutes: its progress stays on screen.
            Via::Cargo(c) => {
                let mut install = Command::new("cargo");
                install.args(["install", "--quiet", "--locked", c]);
                crate::forget_cargo_run_env(&mut install);
                install.status().is_ok_and(|s| s.success())
            }
            Via::Apt(p) => apt_install(p, &mut apt_updated),
        };
        if !installed || !present(tool.probe) {
            bail!(
                "{} is missing and could not be installed here ({}); install it with `{}` and run again",
                tool.name,
                tool.why,
                tool.via.command()
            );
        }
    }
    Ok(())
}

fn present(probe: Probe) -> bool {
    match probe {
        Probe::Command(names) => names.iter().any(|n| on_path(n)),
        Probe::PyModule(m) => quiet(Command::new("python3").args(["-c", &format!("import {m}")])),
        Probe::PyRun(m) => quiet(Command::new("python3").args(["-m", m, "version"])),
        Probe::CargoSub(s) => quiet(Command::new("cargo").args([s, "--version"])),
    }
}

fn on_path(name: &str) -> bool {
    std::env::var_os("PATH").is_some_and(|path| {
        std::env::split_paths(&path).any(|dir| {
            let p = dir.join(name);
            std::fs::metadata(&p).is_ok_and(|m| m.is_file())
        })
    })
}

/// Runs a command with its output hidden; true when it succeeded.
fn quiet(c: &mut Command) -> bool {
    c.stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

/// `apt-get install` as root, or through `sudo -n` when that works without a password; false when
/// neither is possible (the caller names the command).
fn apt_install(package: &str, updated: &mut bool) -> bool {
    if !on_path("apt-get") {
        return false;
    }
    let root = quiet(Command::new("sh").args(["-c", "[ \"$(id -u)\" = 0 ]"]));
    let sudo = !root && on_path("sudo") && quiet(Command::new("sudo").args(["-n", "true"]));
    if !root && !sudo {
        return false;
    }
    let run = |args: &[&str]| {
        let mut c = if sudo {
            let mut c = Command::new("sudo");
            c.arg("-n").arg("apt-get");
            c
        } else {
            Command::new("apt-get")
        };
        c.env("DEBIAN_FRONTEND", "noninteractive");
        quiet(c.args(args))
    };
    if !*updated {
        *updated = run(&["update", "-qq"]);
    }
    run(&["install", "-y", "-qq", package])
}
