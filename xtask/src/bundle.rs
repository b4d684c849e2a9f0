//! `cargo xtask bundle ARGS...`: builds the hook binaries the arguments ask for, then runs the
//! scenarios crate's `bundle` tool with the same arguments (the flags are declared once, by that
//! tool: `cargo xtask bundle --help`).
//!
//! By default the hooks are built for shipping: the `dist` profile (size-minded, LTO, no symbols)
//! against glibc 2.17 with `cargo zigbuild` (zig from the `ziglang` pip package), so that they start
//! on every Linux a CodeDeploy fleet still runs (Amazon Linux 2, Ubuntu 20.04, Debian 11, RHEL 7
//! and 8). Without cargo-zigbuild or zig they are built against this machine's glibc, with a
//! warning saying what that means. The Rust standard library comes precompiled with unwind tables
//! (`.eh_frame`, about 0.6 MB) that a binary whose panics abort never reads: `objcopy` removes them
//! (a warning says so when it is missing). `--debug` packs the workspace's debug build (rehearsals
//! only).

use xshell::{cmd, Shell};

/// The oldest glibc the shipped hooks need.
pub const GLIBC: &str = "2.17";

/// Flags of the shipped build: no unwind tables for our code (panics abort) and a non-PIE
/// executable (no dynamic relocations), both for size.
const DIST_RUSTFLAGS: &str = "-C force-unwind-tables=no -C relocation-model=static";

#[derive(clap::Args)]
#[command(disable_help_flag = true)]
pub struct Bundle {
    /// Arguments of the bundle tool: --app, --appspec, --config, --out, --format, --debug, --target,
    /// --check, --example (see `cargo xtask bundle --help`).
    #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
    args: Vec<String>,
}

fn zigbuild_available(sh: &Shell) -> bool {
    let zigbuild = cmd!(sh, "cargo-zigbuild --version")
        .quiet()
        .ignore_stdout()
        .ignore_stderr()
        .run()
        .is_ok();
    let zig = cmd!(sh, "zig version")
        .quiet()
        .ignore_stdout()
        .ignore_stderr()
        .run()
        .is_ok()
        || cmd!(sh, "python3 -m ziglang version")
            .quiet()
            .ignore_stdout()
            .ignore_stderr()
            .run()
            .is_ok();
    zigbuild && zig
}

impl Bundle {
    pub fn run(self, sh: &Shell) -> anyhow::Result<()> {
        if self.args.iter().any(|a| a == "--help" || a == "-h") {
            // The tool's own help, kept beside xtask (a test holds it equal): no build for it.
            print!("{}", include_str!("../help/bundle.txt"));
            return Ok(());
        }
        let mut args = self.args;
        let has = |args: &[String], flag: &str| args.iter().any(|a| a == flag);
        let target = args
            .iter()
            .enumerate()
            .find_map(|(i, a)| match a.strip_prefix("--target=") {
                Some(t) => Some(t.to_string()),
                None if a == "--target" => args.get(i + 1).cloned(),
                None => None,
            });
        // The tool itself, with the workspace's one feature resolution (no rebuild when switching).
        crate::run(cmd!(sh, "cargo build --quiet --workspace --all-targets"))?;
        let building = !has(&args, "--check") && !has(&args, "--help") && !has(&args, "-h");
        // Debug hooks for this host were just built with the workspace.
        if building && !has(&args, "--debug") && !args.iter().any(|a| a.starts_with("--hooks-dir")) {
            // Always with a target triple: RUSTFLAGS then reach the hooks, not build scripts and
            // proc-macros.
            let triple = match &target {
                Some(t) => t.clone(),
                None => crate::host_triple(sh)?,
            };
            let dir = crate::target_dir(sh).join(&triple).join("dist");
            if zigbuild_available(sh) {
                let zig_target = format!("{triple}.{GLIBC}");
                crate::run(
                    cmd!(
                        sh,
                        "cargo zigbuild --quiet --profile dist --package hooks --features shipped --bins --target {zig_target}"
                    )
                    .env("RUSTFLAGS", DIST_RUSTFLAGS),
                )?;
            } else {
                eprintln!(
                    "xtask bundle: warning: cargo-zigbuild or zig is missing, so the hooks are built against this machine's glibc and may not start on older hosts (Amazon Linux 2 has glibc 2.26). Install them with `cargo install --locked cargo-zigbuild` and `pip install ziglang` to build against glibc {GLIBC}."
                );
                crate::run(
                    cmd!(
                        sh,
                        "cargo build --quiet --profile dist --package hooks --features shipped --bins --target {triple}"
                    )
                    .env("RUSTFLAGS", DIST_RUSTFLAGS),
                )?;
            }
            for bin in ["deregister-from-elb", "register-with-elb"] {
                drop_unwind_tables(sh, &dir.join(bin));
            }
            args.push(format!("--hooks-dir={}", dir.display()));
        }
        let tool = crate::target_dir(sh).join("debug").join("bundle");
        crate::run(cmd!(sh, "{tool} {args...}"))?;
        Ok(())
    }
}

/// Removes `.eh_frame` and `.eh_frame_hdr` from a shipped hook, and `.gcc_except_table` (the
/// language-specific data only the unwinder reads, through `.eh_frame`): with `panic = "abort"`
/// nothing unwinds, and a backtrace (only ever printed for a panic, with RUST_BACKTRACE) just comes
/// out empty. Missing or failing `objcopy` (a foreign architecture) keeps the binary as built.
fn drop_unwind_tables(sh: &Shell, bin: &std::path::Path) {
    let tool = ["objcopy", "llvm-objcopy"].into_iter().find(|t| {
        cmd!(sh, "{t} --version")
            .quiet()
            .ignore_stdout()
            .ignore_stderr()
            .run()
            .is_ok()
    });
    let Some(tool) = tool else {
        eprintln!(
            "xtask bundle: warning: objcopy is missing (binutils), so {} keeps the standard library's unwind tables (about 0.6 MB more)",
            bin.display()
        );
        return;
    };
    if cmd!(
        sh,
        "{tool} --remove-section .eh_frame --remove-section .eh_frame_hdr --remove-section .gcc_except_table {bin}"
    )
    .quiet()
    .run()
    .is_err()
    {
        eprintln!(
            "xtask bundle: warning: {tool} could not remove the unwind tables of {} (kept as built)",
            bin.display()
        );
    }
}
