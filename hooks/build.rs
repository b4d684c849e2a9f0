//! Links the hook binaries at a fixed address (`-no-pie`) on Linux, in every profile, as the
//! shipped `dist` build already is (`xtask bundle` compiles it with `-C relocation-model=static`).
//! A position-independent executable spends its first milliseconds applying tens of thousands of
//! relocations, touching (and copying) the pages they land on: a rehearsal starts hundreds of hook
//! processes per deployment, and `rehearse explore` thousands: its variants of a three-instance
//! scenario took 9% less wall time (docs/scenarios.md). A static build (`+crt-static`, which
//! `cargo xtask explore` makes) chooses its own way of linking and is left alone.
fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    let linux = std::env::var("CARGO_CFG_TARGET_OS").as_deref() == Ok("linux");
    let crt_static = std::env::var("CARGO_CFG_TARGET_FEATURE").is_ok_and(|f| f.split(',').any(|f| f == "crt-static"));
    if linux && !crt_static {
        println!("cargo:rustc-link-arg-bins=-no-pie");
    }
}
