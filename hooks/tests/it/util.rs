//! Helpers: a fake with a standard world, and a driver that runs hook processes to completion on
//! the simulated clock.

use std::collections::BTreeSet;
use std::path::PathBuf;
use std::process::Stdio;
use std::sync::Arc;

use fakeaws::{ClockMode, Fake, Fault, Options, Running};

pub const DEREGISTER: &str = env!("CARGO_BIN_EXE_deregister-from-elb");
pub const REGISTER: &str = env!("CARGO_BIN_EXE_register-with-elb");

pub struct Env {
    pub r: Running,
    pub state_dir: PathBuf,
    pub deployment: String,
    pub extra: Vec<(String, String)>,
    /// The largest file the hooks may write (RLIMIT_FSIZE): a write past it kills the hook with
    /// SIGXFSZ inside the write, as a crash mid-write would.
    pub file_size_limit: Option<u64>,
}

#[derive(Debug)]
pub struct Out {
    pub code: i32,
    /// The signal that ended the hook, if one did.
    pub signal: Option<i32>,
    pub stdout: String,
    pub stderr: String,
}

impl Out {
    pub fn ok(&self) -> &Self {
        assert_eq!(self.code, 0, "hook failed:\n{}\n{}", self.stdout, self.stderr);
        self
    }
}

impl Env {
    pub async fn new() -> Env {
        let fake = Fake::new(Options {
            clock: ClockMode::Manual,
            ..Options::default()
        });
        let r = Running::start(fake).await.expect("fake");
        let state_dir = std::env::temp_dir().join(format!("elb-hooks-it-{}-{}", std::process::id(), fastrand_u64()));
        Env {
            r,
            state_dir,
            deployment: "d-1".into(),
            extra: Vec::new(),
            file_size_limit: None,
        }
    }

    pub fn fake(&self) -> &Arc<Fake> {
        &self.r.fake
    }

    fn command(&self, bin: &str, instance: &str) -> tokio::process::Command {
        let mut c = match self.file_size_limit {
            // util-linux's prlimit sets the limits and execs the hook (no unsafe pre_exec here).
            Some(limit) => {
                let mut c = tokio::process::Command::new("prlimit");
                c.arg(format!("--fsize={limit}")).args(["--core=0", "--", bin]);
                c
            }
            None => tokio::process::Command::new(bin),
        };
        c.env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .env("AWS_ENDPOINT_URL", &self.r.url)
            .env("AWS_EC2_METADATA_SERVICE_ENDPOINT", self.fake().imds_endpoint(instance))
            .env("AWS_CONFIG_FILE", "/nonexistent/config")
            .env("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent/credentials")
            .env("ELB_HOOKS_CLOCK_URL", format!("{}/_fakeaws", self.r.url))
            .env("ELB_HOOKS_STATE_DIR", self.state_dir.join(instance))
            .env("ELB_HOOKS_JITTER_SEED", "7")
            .env("DEPLOYMENT_GROUP_ID", "dg-1111")
            .env("DEPLOYMENT_ID", &self.deployment)
            .env("LIFECYCLE_EVENT", "BeforeInstall")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true);
        for (k, v) in &self.extra {
            c.env(k, v);
        }
        c
    }

    /// Runs one hook for one instance to completion.
    pub async fn run(&self, bin: &str, instance: &str) -> Out {
        self.run_many(&[(bin, instance)]).await.remove(0)
    }

    /// Runs several hooks at once; advances the clock whenever every one of them is asleep on it.
    pub async fn run_many(&self, runs: &[(&str, &str)]) -> Vec<Out> {
        self.run_many_with(runs, |_, _| {}).await
    }

    /// Like [`Env::run_many`], calling `meanwhile(env, wake_ms)` each time every hook is asleep,
    /// just before the clock moves to `wake_ms`: what another actor does while the hooks wait.
    pub async fn run_many_with(&self, runs: &[(&str, &str)], mut meanwhile: impl FnMut(&Env, i64)) -> Vec<Out> {
        let mut rx = self.fake().clock.subscribe();
        let (tx, mut done) = tokio::sync::mpsc::unbounded_channel();
        let mut live: BTreeSet<String> = BTreeSet::new();
        for (i, (bin, instance)) in runs.iter().enumerate() {
            let child = self.command(bin, instance).spawn().expect("spawn hook");
            live.insert(instance.to_string());
            let tx = tx.clone();
            let instance = instance.to_string();
            tokio::spawn(async move {
                let out = child.wait_with_output().await.expect("wait");
                let _ = tx.send((i, instance, out));
            });
        }
        let mut outs: Vec<Option<Out>> = (0..runs.len()).map(|_| None).collect();
        while !live.is_empty() {
            let sleeping: BTreeSet<String> = self
                .fake()
                .clock
                .sleepers()
                .iter()
                .filter_map(|s| s.who.split(':').next().map(str::to_string))
                .collect();
            if live.iter().all(|i| sleeping.contains(i)) {
                // Only jump when nobody is already due: a due sleeper is waking up right now.
                let now = self.fake().clock.now_ms();
                if let Some(first) = self.fake().clock.sleepers().first().filter(|s| s.wake_ms > now) {
                    meanwhile(self, first.wake_ms);
                    self.fake().clock.advance_to(first.wake_ms);
                }
            }
            tokio::select! {
                _ = rx.changed() => {}
                Some((i, instance, out)) = done.recv() => {
                    live.remove(&instance);
                    outs[i] = Some(Out {
                        code: out.status.code().unwrap_or(-1),
                        signal: std::os::unix::process::ExitStatusExt::signal(&out.status),
                        stdout: String::from_utf8_lossy(&out.stdout).into(),
                        stderr: String::from_utf8_lossy(&out.stderr).into(),
                    });
                }
            }
        }
        outs.into_iter().map(|o| o.expect("every hook finished")).collect()
    }

    /// Runs a hook until its `k`-th AWS call (from 1), which the fake never answers, and SIGKILLs
    /// it there (what ScriptTimedOut or a reboot does mid-call). `false`: the hook finished first,
    /// having made fewer than `k` calls.
    pub async fn kill_at_call(&self, bin: &str, instance: &str, k: usize) -> bool {
        let fake = self.fake();
        fake.faults.clear();
        if k > 1 {
            fake.faults.inject("*", Fault::Pass, k - 1);
        }
        fake.faults.inject("*", Fault::Hold, 1);
        let mut held = fake.faults.held();
        let before = *held.borrow_and_update();
        let mut rx = fake.clock.subscribe();
        let mut child = self.command(bin, instance).spawn().expect("spawn hook");
        let killed = loop {
            let now = fake.clock.now_ms();
            let asleep = fake
                .clock
                .sleepers()
                .into_iter()
                .find(|s| s.who.split(':').next() == Some(instance));
            if let Some(s) = asleep.filter(|s| s.wake_ms > now) {
                fake.clock.advance_to(s.wake_ms);
            }
            let step = tokio::select! {
                _ = rx.changed() => None,
                _ = held.changed() => (*held.borrow_and_update() > before).then_some(true),
                _ = child.wait() => Some(false),
            };
            match step {
                Some(true) => {
                    child.kill().await.expect("kill hook");
                    break true;
                }
                Some(false) => break false,
                None => {}
            }
        };
        fake.faults.clear();
        killed
    }

    pub fn settle(&self, secs: i64) {
        self.fake().clock.advance_ms(secs * 1000);
    }

    /// An ALB + target group (delay 60 s, 3 x 10 s health checks) + an ASG; returns the group name.
    pub fn asg_world(&self, min: i64, max: i64, desired: i64) -> String {
        self.asg_world_with(min, max, desired, "")
    }

    /// [`Env::asg_world`] with more settings of the group (TOML lines of its `[[groups]]` table),
    /// without the settling (a launch hook or a warm pool holds instances).
    pub fn asg_world_unsettled(&self, min: i64, max: i64, desired: i64, group: &str) -> String {
        let spec = format!(
            r#"
[[target_groups]]
name = "web"
port = 80
deregistration_delay = 60
health_check = {{ interval = 10, healthy_threshold = 3, unhealthy_threshold = 2, timeout = 5 }}

[[load_balancers]]
name = "alb"
listeners = [{{ port = 80, target_group = "web" }}]

[[groups]]
name = "web-asg"
min = {min}
max = {max}
desired = {desired}
availability_zones = ["us-east-1a", "us-east-1b"]
target_groups = ["web"]
health_check_type = "ELB"
health_check_grace_period = 300
{group}
"#
        );
        self.apply(&spec);
        "web-asg".into()
    }

    /// [`Env::asg_world_unsettled`], then two minutes for the instances to come into service.
    pub fn asg_world_with(&self, min: i64, max: i64, desired: i64, group: &str) -> String {
        let g = self.asg_world_unsettled(min, max, desired, group);
        self.settle(120);
        g
    }

    pub fn apply(&self, spec: &str) -> Vec<String> {
        let fakeaws::spec::WorldFile::Spec(spec) = fakeaws::spec::parse(spec, "w.toml").expect("spec") else {
            panic!("spec expected")
        };
        let mut w = self.fake().world();
        fakeaws::spec::apply(&mut w, &spec).expect("apply")
    }

    pub fn members(&self, group: &str) -> Vec<String> {
        self.fake().world().groups()[group].instances.to_vec()
    }

    pub fn lifecycle(&self, id: &str) -> String {
        self.fake().world().instances()[id].lifecycle.as_str().to_string()
    }

    pub fn sizes(&self, group: &str) -> (i64, i64, i64) {
        let w = self.fake().world();
        let g = &w.groups()[group];
        (g.min, g.desired, g.max)
    }

    pub fn suspended(&self, group: &str) -> Vec<String> {
        self.fake().world().groups()[group]
            .suspended
            .keys()
            .map(|p| p.to_string())
            .collect()
    }

    pub fn tags(&self, group: &str) -> Vec<String> {
        self.fake().world().groups()[group].tags.keys().cloned().collect()
    }

    /// Target health of an instance in the named target group.
    pub fn health(&self, tg: &str, id: &str) -> String {
        let w = self.fake().world();
        let t = w.target_groups().values().find(|t| t.name == tg).expect("tg");
        match t.targets.iter().find(|x| x.id == id) {
            Some(x) => w.target_health(t, x).state.to_string(),
            None => "unused".into(),
        }
    }

    /// The group is as the hooks found it: these sizes, nothing suspended, no hook tags left.
    pub fn assert_restored(&self, group: &str, sizes: (i64, i64, i64)) {
        assert_eq!(self.sizes(group), sizes);
        assert!(
            self.suspended(group).is_empty(),
            "suspended: {:?}",
            self.suspended(group)
        );
        assert!(self.tags(group).is_empty(), "tags: {:?}", self.tags(group));
    }

    pub fn state_file(&self, instance: &str) -> PathBuf {
        self.state_dir.join(instance).join("dg-1111.json")
    }
}

impl Drop for Env {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.state_dir);
    }
}

fn fastrand_u64() -> u64 {
    use std::hash::{BuildHasher, Hasher};
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u64(1);
    h.finish()
}
