//! `clock-sleep`: `sleep` for a revision's own scripts in a rehearsal. The scenario runner puts it
//! first on the scripts' `PATH` under the name `sleep`: with `ELB_HOOKS_CLOCK_URL` set, it sleeps
//! on fakeaws' simulated clock as the hooks' waits do (a `sleep 40` in a start script takes 40
//! simulated seconds and no real ones); without it, it sleeps real time. Arguments as GNU
//! `sleep`'s: one or more numbers with an optional unit (`s`, `m`, `h`, `d`), added up.

use std::process::ExitCode;
use std::time::Duration;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let total = match hooks::clock::parse_sleep(&args) {
        Ok(d) => d,
        Err(e) => {
            eprintln!("sleep: {e}");
            return ExitCode::FAILURE;
        }
    };
    let env = |k: &str| std::env::var(k).ok();
    let clock = hooks::clock::Clock::from_env(&env, "sleep");
    if let hooks::clock::Clock::System { .. } = clock {
        std::thread::sleep(total);
        return ExitCode::SUCCESS;
    }
    let rt = match tokio::runtime::Builder::new_current_thread().enable_all().build() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("sleep: {e}");
            return ExitCode::FAILURE;
        }
    };
    match rt.block_on(clock.sleep(total.min(Duration::from_secs(u32::MAX as u64)))) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("sleep: {e:#}");
            ExitCode::FAILURE
        }
    }
}
