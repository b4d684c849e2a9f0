//! `cargo xtask explore [OPTIONS] [SCENARIO|FILE ...]`: builds the explorer and the hooks
//! (release), then runs the
//! explorer (`rehearse explore`): every fleet event at every trigger point of each scenario, run
//! and judged, with failures written as scenario files. Options go to the explorer
//! (`--max-variants N`, `--seed S`, `--partition K/N`, `--out DIR`, `--json FILE`, `--jobs N`).
//!
//! On Linux with glibc the hooks the explorer runs are linked statically (glibc's `libc.a`) at a
//! fixed address: a variant starts about a dozen hook processes per instance and deployment, and
//! a static executable starts without the dynamic loader mapping and relocating three shared
//! libraries. The code is the same as the shipped hooks'; only the linking differs (the shipped
//! ones, `cargo xtask bundle`, stay dynamically linked against glibc, whose name service needs
//! its shared libraries on a real host).

use std::path::PathBuf;

use xshell::{cmd, Shell};

/// How the explorer's hooks are linked: glibc statically, at a fixed address.
const STATIC_RUSTFLAGS: &str = "-C target-feature=+crt-static -C relocation-model=static";

#[derive(clap::Args)]
pub struct Explore {
    /// Arguments for `rehearse explore` (see `cargo xtask explore -- --help`).
    #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
    args: Vec<String>,
}

impl Explore {
    pub fn run(self, sh: &Shell) -> anyhow::Result<()> {
        // Optimised: a variant is mostly hook processes starting and the fake answering them, and
        // the release build runs the explorer about half again as fast (happy_one_at_a_time's 424
        // variants: 46 s against 72 s on 2 cores).
        crate::run(cmd!(sh, "cargo build --quiet --release -p scenarios --bins"))?;
        let exe = crate::target_dir(sh).join("release").join("rehearse");
        let args = self.args;
        let mut explore = cmd!(sh, "{exe} explore {args...}");
        if std::env::var_os("ELB_HOOKS_BIN_DIR").is_none() {
            match static_hooks(sh) {
                Some(dir) => explore = explore.env("ELB_HOOKS_BIN_DIR", dir),
                // The hooks beside the explorer, dynamically linked.
                None => crate::run(cmd!(sh, "cargo build --quiet --release -p hooks --bins"))?,
            }
        }
        crate::run(explore)?;
        Ok(())
    }
}

/// Builds the hooks linked statically for this host (`target/<host>/release`), where that is
/// glibc Linux and its static library is installed; `None` (with the reason) otherwise.
fn static_hooks(sh: &Shell) -> Option<PathBuf> {
    let triple = crate::host_triple(sh).ok()?;
    if !triple.ends_with("-linux-gnu") {
        return None;
    }
    // With a target triple the flags reach the hooks, not build scripts and proc-macros (which
    // cannot be linked statically).
    let flags = static_rustflags(std::env::var("RUSTFLAGS").ok().as_deref());
    match crate::run(
        cmd!(sh, "cargo build --quiet --release -p hooks --bins --target {triple}").env("RUSTFLAGS", flags),
    ) {
        Ok(()) => Some(crate::target_dir(sh).join(&triple).join("release")),
        Err(e) => {
            eprintln!(
                "xtask explore: warning: the statically linked hooks did not build ({e:#}); exploring with the dynamically linked ones (slower to start; glibc's static library comes with libc6-dev)"
            );
            None
        }
    }
}

/// The static build's flags after the user's own `RUSTFLAGS` (which stay in force).
fn static_rustflags(user: Option<&str>) -> String {
    match user.map(str::trim) {
        Some(user) if !user.is_empty() => format!("{user} {STATIC_RUSTFLAGS}"),
        _ => STATIC_RUSTFLAGS.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::static_rustflags;

    #[test]
    fn the_users_rustflags_stay_before_the_static_ones() {
        assert_eq!(
            static_rustflags(None),
            "-C target-feature=+crt-static -C relocation-model=static"
        );
        assert_eq!(static_rustflags(Some("  ")), static_rustflags(None));
        assert_eq!(
            static_rustflags(Some("-C debuginfo=1")),
            "-C debuginfo=1 -C target-feature=+crt-static -C relocation-model=static"
        );
    }
}
