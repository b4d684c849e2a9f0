//! The `fakeaws` binary: loopback by default, and a world saved on SIGTERM resumes on restart.

use std::process::Command;

mod common;

use common::BIN;

fn http(url: &str, method: &str, path: &str, body: &str) -> String {
    common::signed_http(url.trim_start_matches("http://"), method, path, body)
}

#[test]
fn refuses_non_loopback_without_allow_remote() {
    let out = Command::new(BIN).args(["--bind", "0.0.0.0:0"]).output().expect("run");
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--allow-remote"));
}

#[test]
fn world_saved_on_sigterm_is_resumed() {
    let dir = std::env::temp_dir().join(format!("fakeaws-bin-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("dir");
    let world = dir.join("world.toml");
    std::fs::write(
        &world,
        "[[target_groups]]\nname = \"web\"\nport = 80\n\n[[groups]]\nname = \"asg\"\nmin = 1\nmax = 3\ndesired = 2\navailability_zones = [\"us-east-1a\"]\ntarget_groups = [\"web\"]\n",
    )
    .expect("write");
    let saved = dir.join("state.json");
    let mut server = common::start_logged(
        None,
        &[
            "--world",
            &world.display().to_string(),
            "--save",
            &saved.display().to_string(),
        ],
    );
    let url = server.url.clone();
    let resp = http(
        &url,
        "POST",
        "/",
        "Action=SetDesiredCapacity&Version=2011-01-01&AutoScalingGroupName=asg&DesiredCapacity=3",
    );
    assert!(resp.starts_with("HTTP/1.1 200"), "{resp}");
    let status = Command::new("kill")
        .args(["-TERM", &server.child.id().to_string()])
        .status()
        .expect("kill");
    assert!(status.success());
    assert!(server.child.wait().expect("wait").success());
    let text = std::fs::read_to_string(&saved).expect("saved state");
    assert!(text.contains("fakeaws_state"));
    let resumed = common::start_logged(None, &["--world", &saved.display().to_string()]);
    let url = resumed.url.clone();
    let resp = http(&url, "POST", "/", "Action=DescribeAutoScalingGroups&Version=2011-01-01");
    assert!(resp.contains("<DesiredCapacity>3</DesiredCapacity>"), "{resp}");
    assert_eq!(resp.matches("<InstanceId>").count(), 3);
    drop(resumed);
    let _ = std::fs::remove_dir_all(dir);
}

/// Issue 28: moto-style dummy credentials get AWS's own answer, word for word, and the log says
/// once which keys the fake knows and how to turn checking off.
#[test]
fn an_unknown_key_is_answered_as_aws_does_and_explained_once_in_the_log() {
    let server = common::start_logged(None, &[]);
    let body = "Action=DescribeAutoScalingGroups&Version=2011-01-01";
    for _ in 0..2 {
        let resp = common::signed_http_as("testing", "testing", &server.addr, "POST", "/", body);
        assert!(resp.starts_with("HTTP/1.1 403"), "{resp}");
        assert!(
            resp.contains("<Code>InvalidClientTokenId</Code><Message>The security token included in the request is invalid.</Message>"),
            "{resp}"
        );
    }
    let explained = || {
        server
            .log
            .lock()
            .expect("log")
            .iter()
            .filter(|l| l.contains("signed with access key \"testing\""))
            .cloned()
            .collect::<Vec<_>>()
    };
    for _ in 0..50 {
        if !explained().is_empty() {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    let lines = explained();
    assert_eq!(lines.len(), 1, "{lines:?}");
    assert!(
        lines[0].contains("AKIAFAKEAWSDEFAULT01") && lines[0].contains("--no-verify-signatures"),
        "{}",
        lines[0]
    );
}

/// `cargo xtask bench --help` prints a copy of fakeaws-bench's help without building anything;
/// the copy is the bench's help, word for word (regenerate with `target/release/fakeaws-bench
/// --help > xtask/help/fakeaws-bench.txt`).
#[test]
fn xtasks_copy_of_the_bench_help_is_the_benchs() {
    let out = Command::new(env!("CARGO_BIN_EXE_fakeaws-bench"))
        .arg("--help")
        .output()
        .expect("fakeaws-bench --help");
    let copy = std::fs::read_to_string(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../xtask/help/fakeaws-bench.txt"),
    )
    .expect("xtask/help/fakeaws-bench.txt");
    assert_eq!(String::from_utf8_lossy(&out.stdout), copy);
}
