//! `deregister-from-elb`: see the `hooks` crate.

fn main() -> std::process::ExitCode {
    hooks::run::main(hooks::run::Hook::Deregister)
}
