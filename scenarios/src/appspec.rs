//! `appspec.yml` for EC2/on-premises deployments: parsed with yaml-rust2 into the few things the
//! agent needs (hooks per lifecycle event, files), with errors that name the field.

use std::collections::BTreeMap;

use anyhow::{anyhow, bail};
use fakeaws::model::codedeploy::LifecycleEvent;
use yaml_rust2::{Yaml, YamlLoader};

/// One hook script.
#[derive(Debug, Clone, PartialEq)]
pub struct Script {
    pub location: String,
    pub timeout_s: u64,
    pub runas: Option<String>,
}

/// The parts of an appspec the simulated agent uses.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct AppSpec {
    pub os: String,
    pub files: Vec<(String, String)>,
    pub hooks: BTreeMap<LifecycleEvent, Vec<Script>>,
}

fn str_of(y: &Yaml) -> Option<String> {
    match y {
        Yaml::String(s) => Some(s.clone()),
        Yaml::Integer(i) => Some(i.to_string()),
        Yaml::Real(r) => Some(r.clone()),
        _ => None,
    }
}

/// Parses and checks an appspec.
pub fn parse(text: &str) -> anyhow::Result<AppSpec> {
    let docs = YamlLoader::load_from_str(text).map_err(|e| anyhow!("appspec.yml is not valid YAML: {e}"))?;
    let doc = docs.first().ok_or_else(|| anyhow!("appspec.yml is empty"))?;
    let map = doc.as_hash().ok_or_else(|| anyhow!("appspec.yml must be a mapping"))?;
    match map.get(&Yaml::String("version".into())) {
        Some(Yaml::Real(r)) if r == "0.0" => {}
        Some(Yaml::String(s)) => bail!("appspec version must be the number 0.0, not the string \"{s}\""),
        Some(other) => bail!("appspec version must be 0.0, not {other:?}"),
        None => bail!("appspec is missing `version: 0.0`"),
    }
    let os = map
        .get(&Yaml::String("os".into()))
        .and_then(str_of)
        .ok_or_else(|| anyhow!("appspec is missing `os` (linux or windows)"))?;
    if os != "linux" && os != "windows" {
        bail!("appspec os must be linux or windows, not {os}");
    }
    let mut spec = AppSpec {
        os,
        ..Default::default()
    };
    if let Some(files) = map.get(&Yaml::String("files".into())) {
        for (i, f) in files
            .as_vec()
            .ok_or_else(|| anyhow!("appspec files must be a list"))?
            .iter()
            .enumerate()
        {
            let src = f["source"]
                .as_str()
                .ok_or_else(|| anyhow!("files[{i}].source is missing"))?;
            let dst = f["destination"]
                .as_str()
                .ok_or_else(|| anyhow!("files[{i}].destination is missing"))?;
            spec.files.push((src.to_string(), dst.to_string()));
        }
    }
    if let Some(hooks) = map.get(&Yaml::String("hooks".into())) {
        let hooks = hooks
            .as_hash()
            .ok_or_else(|| anyhow!("appspec hooks must be a mapping of event names"))?;
        for (event, scripts) in hooks {
            let event = event
                .as_str()
                .ok_or_else(|| anyhow!("appspec hooks: event names must be strings"))?;
            let Some(name) = LifecycleEvent::parse(event).filter(|e| e.takes_scripts()) else {
                bail!("appspec hooks: unknown lifecycle event {event}");
            };
            let list = scripts
                .as_vec()
                .ok_or_else(|| anyhow!("hooks.{event} must be a list of scripts"))?;
            let mut out = Vec::new();
            for (i, s) in list.iter().enumerate() {
                let location = s["location"]
                    .as_str()
                    .ok_or_else(|| anyhow!("hooks.{event}[{i}].location is missing"))?
                    .to_string();
                if location.starts_with('/') {
                    bail!("hooks.{event}[{i}].location must be relative to the revision root: {location}");
                }
                let timeout_s = match &s["timeout"] {
                    Yaml::BadValue => 3600,
                    Yaml::Integer(t) if (1..=3600).contains(t) => *t as u64,
                    other => bail!("hooks.{event}[{i}].timeout must be 1 to 3600 seconds, not {other:?}"),
                };
                out.push(Script {
                    location,
                    timeout_s,
                    runas: s["runas"].as_str().map(str::to_string),
                });
            }
            spec.hooks.insert(name, out);
        }
    }
    Ok(spec)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_hooks_and_rejects_mistakes() {
        let spec = parse(
            "version: 0.0\nos: linux\nfiles:\n  - source: app\n    destination: /opt/app\nhooks:\n  BeforeInstall:\n    - location: bin/deregister-from-elb\n      timeout: 400\n",
        )
        .expect("valid");
        assert_eq!(spec.hooks[&LifecycleEvent::BeforeInstall][0].timeout_s, 400);
        assert!(format!("{:#}", parse("version: '0.0'\nos: linux\n").unwrap_err()).contains("number 0.0"));
        assert!(format!(
            "{:#}",
            parse("version: 0.0\nos: linux\nhooks:\n  BeforeInstal: []\n").unwrap_err()
        )
        .contains("BeforeInstal"));
        assert!(format!(
            "{:#}",
            parse("version: 0.0\nos: linux\nhooks:\n  BeforeInstall:\n    - location: x\n      timeout: 0\n")
                .unwrap_err()
        )
        .contains("timeout"));
    }
}
