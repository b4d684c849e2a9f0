//! Helpers of the tests that drive `rehearse serve` with the AWS CLI.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};

pub struct Server(Child);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Starts `rehearse serve` on a free loopback port; its URL once it listens.
pub fn serve(dir: &Path, world_text: &str) -> (Server, String) {
    let world = dir.join("world.toml");
    std::fs::write(&world, world_text).expect("world");
    // A free port: bind, read it, let go (the server takes it right after).
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("port")
        .port();
    let mut child = Command::new(env!("CARGO_BIN_EXE_rehearse"))
        .args(["serve", "--bind", &format!("127.0.0.1:{port}"), "--world"])
        .arg(&world)
        .arg("--s3-dir")
        .arg(dir.join("s3"))
        .arg("--logs")
        .arg(dir.join("logs"))
        .stderr(Stdio::piped())
        .spawn()
        .expect("rehearse serve starts");
    let stderr = child.stderr.take().expect("stderr");
    let mut lines = BufReader::new(stderr).lines();
    let first = lines.next().and_then(Result::ok).unwrap_or_default();
    assert!(first.contains("deployments run as they are created"), "{first}");
    // Keep reading (and echoing) what the server says, so it never blocks on a full pipe.
    std::thread::spawn(move || {
        for l in lines.map_while(Result::ok) {
            eprintln!("{l}");
        }
    });
    (Server(child), format!("http://127.0.0.1:{port}"))
}

/// The environment that points the AWS CLI at the server, and at nothing of this machine's.
pub fn with_aws_env<'a>(cmd: &'a mut Command, url: &str) -> &'a mut Command {
    cmd.env("AWS_ACCESS_KEY_ID", fakeaws::protocol::sigv4::DEFAULT_ACCESS_KEY_ID)
        .env(
            "AWS_SECRET_ACCESS_KEY",
            fakeaws::protocol::sigv4::DEFAULT_SECRET_ACCESS_KEY,
        )
        .env("AWS_DEFAULT_REGION", "us-east-1")
        .env("AWS_ENDPOINT_URL", url)
        .env("AWS_CONFIG_FILE", "/nonexistent/fakeaws-config")
        .env("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent/fakeaws-credentials")
        .env("AWS_PAGER", "")
        .env_remove("AWS_PROFILE")
}

pub fn aws(url: &str, cwd: &Path, args: &[&str]) -> (bool, String, String) {
    let out = with_aws_env(Command::new("aws").args(args).current_dir(cwd), url)
        .output()
        .expect("the AWS CLI runs (pip install awscli)");
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).trim().to_string(),
        String::from_utf8_lossy(&out.stderr).to_string(),
    )
}

pub fn ok(url: &str, cwd: &Path, args: &[&str]) -> String {
    let (ok, out, err) = aws(url, cwd, args);
    assert!(ok, "aws {}: {err}", args.join(" "));
    out
}

/// A fresh folder for one test, under the system's temporary folder.
pub fn fresh_dir(name: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("dir");
    dir
}

/// Application `web` and its deployment group `web-dg` over the group `web-asg`, with `extra`
/// arguments of create-deployment-group.
pub fn web_deployment_group(url: &str, dir: &Path, extra: &[&str]) {
    ok(url, dir, &["deploy", "create-application", "--application-name", "web"]);
    let mut args = vec![
        "deploy",
        "create-deployment-group",
        "--application-name",
        "web",
        "--deployment-group-name",
        "web-dg",
        "--service-role-arn",
        "arn:aws:iam::123456789012:role/CodeDeployServiceRole",
        "--auto-scaling-groups",
        "web-asg",
    ];
    args.extend_from_slice(extra);
    ok(url, dir, &args);
}
