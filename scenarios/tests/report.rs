//! The timeline report in a real browser: every page of a report over every scenario is rendered by
//! headless Chromium (Debian's `chromium`; `cargo xtask test` installs it) with no console errors, its SVG
//! present with one lane per instance; screenshots are not blank; and one page's SVG structure is
//! held in a snapshot.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;

use quick_xml::events::Event;
use scenarios::report::Outcome;

/// Headless Chromium: `$CHROMIUM`, or the usual names.
fn chromium() -> String {
    if let Ok(c) = std::env::var("CHROMIUM") {
        return c;
    }
    for c in ["chromium", "chromium-browser", "google-chrome"] {
        if Command::new(c)
            .arg("--version")
            .output()
            .is_ok_and(|o| o.status.success())
        {
            return c.to_string();
        }
    }
    panic!("headless Chromium is needed for the report test: apt-get install chromium (cargo xtask test does), or set CHROMIUM");
}

fn browser(args: &[&str], page: &Path) -> std::process::Output {
    let profile = std::env::temp_dir().join(format!("report-chromium-{}", std::process::id()));
    Command::new(chromium())
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--hide-scrollbars",
            "--no-first-run",
            "--enable-logging=stderr",
            "--v=0",
        ])
        .arg(format!("--user-data-dir={}", profile.display()))
        .args(args)
        .arg(format!("file://{}", page.display()))
        .output()
        .expect("chromium runs")
}

/// Every scenario's outcome, four at a time.
fn all_outcomes() -> Vec<(String, Outcome)> {
    let paths = scenarios::default_paths().expect("hook binaries");
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    rt.block_on(async {
        let limit = Arc::new(tokio::sync::Semaphore::new(4));
        let mut tasks = Vec::new();
        for file in scenarios::scenario_files(None).expect("files") {
            let (paths, limit) = (paths.clone(), limit.clone());
            tasks.push(tokio::spawn(async move {
                let _permit = limit.acquire_owned().await;
                let name = file.file_stem().expect("name").to_string_lossy().to_string();
                let out = scenarios::runner::run_file(&file, &paths).await.expect("scenario runs");
                (name, out)
            }));
        }
        let mut out = Vec::new();
        for t in tasks {
            out.push(t.await.expect("task"));
        }
        out
    })
}

/// Console messages Chromium logged for a page (`--enable-logging=stderr` logs each as
/// `...:INFO:CONSOLE:LINE] "message", source: ...`, errors included). The pages have no scripts,
/// so any is a fault.
fn console_errors(stderr: &str) -> Vec<String> {
    stderr
        .lines()
        .filter(|l| l.contains(":CONSOLE") || l.contains("Uncaught"))
        .map(str::to_string)
        .collect()
}

/// The filter finds what Chromium prints for `console.error("boom")`.
#[test]
fn console_messages_are_recognised() {
    let line = r#"[21488:21488:1122/125649.093797:INFO:CONSOLE:1] "boom", source: file:///tmp/err.html (1)"#;
    assert_eq!(console_errors(&format!("noise\n{line}\n")), [line]);
    assert!(console_errors("[1:1:ERROR:dbus/bus.cc:405] Failed to connect to the bus").is_empty());
}

/// `tag.class` of an element.
fn key_of(e: &quick_xml::events::BytesStart) -> String {
    let name = String::from_utf8_lossy(e.name().as_ref()).to_string();
    let class = e
        .attributes()
        .flatten()
        .find(|a| a.key.as_ref() == b"class")
        .map(|a| String::from_utf8_lossy(&a.value).to_string());
    match class {
        Some(c) => format!("{name}.{}", c.replace(' ', ".")),
        None => name,
    }
}

/// The SVG of a page, checked for well-formedness: `tag.class` -> how many.
fn svg_outline(html: &str) -> BTreeMap<String, usize> {
    let start = html.find("<svg").expect("an svg");
    let end = html.rfind("</svg>").expect("svg closes") + "</svg>".len();
    let mut reader = quick_xml::Reader::from_str(&html[start..end]);
    let mut outline = BTreeMap::new();
    let mut depth = 0i64;
    loop {
        match reader.read_event().expect("the SVG is well-formed XML") {
            Event::Start(e) => {
                depth += 1;
                *outline.entry(key_of(&e)).or_default() += 1;
            }
            Event::Empty(e) => *outline.entry(key_of(&e)).or_default() += 1,
            Event::End(_) => depth -= 1,
            Event::Eof => break,
            _ => {}
        }
    }
    assert_eq!(depth, 0, "every SVG element closes");
    outline
}

fn png_is_not_blank(path: &Path) {
    let decoder = png::Decoder::new(std::io::BufReader::new(std::fs::File::open(path).expect("screenshot")));
    let mut reader = decoder.read_info().expect("a PNG");
    let mut buf = vec![0; reader.output_buffer_size().expect("size")];
    let info = reader.next_frame(&mut buf).expect("frame");
    let px = info.color_type.samples();
    let pixels: Vec<&[u8]> = buf[..info.buffer_size()].chunks(px).collect();
    let colours: std::collections::BTreeSet<&[u8]> = pixels.iter().copied().collect();
    let inked = pixels.iter().filter(|p| p.iter().take(3).any(|c| *c < 200)).count();
    assert!(colours.len() > 8, "{}: only {} colours", path.display(), colours.len());
    assert!(
        inked * 100 > pixels.len(),
        "{}: {inked} of {} pixels are not near-white",
        path.display(),
        pixels.len()
    );
}

#[test]
fn every_report_page_renders_in_headless_chromium() {
    let outcomes = all_outcomes();
    let dir: PathBuf = std::env::temp_dir().join(format!("scenario-report-test-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let index = scenarios::html::write_report(&dir, &outcomes).expect("report written");

    // The index lists every scenario.
    let out = browser(&["--dump-dom"], &index);
    let dom = String::from_utf8_lossy(&out.stdout);
    for (name, _) in &outcomes {
        assert!(dom.contains(&format!("href=\"{name}.html\"")), "index lacks {name}");
    }
    assert!(console_errors(&String::from_utf8_lossy(&out.stderr)).is_empty());

    // Every page: rendered, no console errors, the SVG there with one lane per instance.
    for (name, o) in &outcomes {
        let page = dir.join(format!("{name}.html"));
        let out = browser(&["--dump-dom"], &page);
        assert!(out.status.success(), "{name}: chromium failed");
        let dom = String::from_utf8_lossy(&out.stdout);
        let errors = console_errors(&String::from_utf8_lossy(&out.stderr));
        assert!(errors.is_empty(), "{name}: console errors {errors:?}");
        assert!(dom.contains("<svg"), "{name}: no SVG in the rendered page");
        let lanes = dom.matches("class=\"lane\"").count();
        assert_eq!(lanes, o.timeline.lanes.len(), "{name}: lanes");
        assert!(lanes > 0, "{name}: no instance lane");
        let file = std::fs::read_to_string(&page).expect("page");
        let outline = svg_outline(&file);
        assert_eq!(outline.get("g.lane"), Some(&lanes), "{name}");
    }

    // Screenshots of the index and of a page with every kind of mark are not blank.
    for page in [index.clone(), dir.join("maintenance_all_at_once.html")] {
        let shot = page.with_extension("png");
        let out = browser(
            &["--window-size=1150,900", &format!("--screenshot={}", shot.display())],
            &page,
        );
        assert!(out.status.success(), "screenshot of {}", page.display());
        png_is_not_blank(&shot);
    }

    // One page's SVG structure.
    let page = std::fs::read_to_string(dir.join("maintenance_all_at_once.html")).expect("page");
    insta::with_settings!({snapshot_path => "snapshots", prepend_module_to_snapshot => false}, {
        insta::assert_yaml_snapshot!("report_svg_outline_maintenance_all_at_once", svg_outline(&page));
    });
    let _ = std::fs::remove_dir_all(&dir);
}
