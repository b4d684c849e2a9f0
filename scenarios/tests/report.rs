//! The timeline report in a real browser: every page of a report over every scenario is rendered by
//! headless Chromium (Debian's `chromium`; `cargo xtask test` installs it) with its zoom script and
//! no console errors, its SVG present with one lane per instance, the legend naming every colour
//! the SVG uses (and no other), the markers laid out by the script not overlapping (their boxes
//! from the DOM), expected violations marked expected; a second report clears the first's pages
//! and, with the first as `--baseline`, lists a change made on purpose; screenshots are not
//! blank; and one page's SVG structure is held in a snapshot.

mod hooks;

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
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
    let paths = hooks::paths();
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
/// `...:INFO:CONSOLE:LINE] "message", source: ...`, errors and uncaught exceptions included). The zoom script logs nothing,
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

/// An attribute's value.
fn attr(e: &quick_xml::events::BytesStart, name: &[u8]) -> Option<String> {
    e.attributes()
        .flatten()
        .find(|a| a.key.as_ref() == name)
        .map(|a| String::from_utf8_lossy(&a.value).to_string())
}

/// The first `<svg class="timeline"` of a page, as text.
fn timeline_svg(html: &str) -> &str {
    let start = html
        .find("<svg xmlns=\"http://www.w3.org/2000/svg\" class=\"timeline\"")
        .expect("a timeline");
    let end = start + html[start..].find("</svg>").expect("svg closes") + "</svg>".len();
    &html[start..end]
}

/// The colours a timeline draws with (fill and stroke outside the legend, the axes and text) and
/// the colours its legend names.
fn colours(svg: &str) -> (BTreeSet<String>, BTreeSet<String>) {
    let mut reader = quick_xml::Reader::from_str(svg);
    let mut stack: Vec<(String, String)> = Vec::new();
    let (mut used, mut named) = (BTreeSet::new(), BTreeSet::new());
    let mut look = |e: &quick_xml::events::BytesStart, stack: &[(String, String)]| {
        let tag = String::from_utf8_lossy(e.name().as_ref()).to_string();
        let class = attr(e, b"class").unwrap_or_default();
        if class == "entry" {
            named.insert(attr(e, b"data-colour").expect("a legend entry names its colour"));
        }
        let skipped = stack
            .iter()
            .chain(std::iter::once(&(tag.clone(), class.clone())))
            .any(|(t, c)| {
                c.split(' ').any(|c| c == "legend" || c == "axis" || c == "frame")
                    || t == "text"
                    || t == "title"
                    || t == "clipPath"
            });
        if skipped {
            return;
        }
        for a in [&b"fill"[..], b"stroke"] {
            if let Some(v) = attr(e, a) {
                if v != "none" && v != "#fff" {
                    used.insert(v);
                }
            }
        }
    };
    loop {
        match reader.read_event().expect("the SVG is well-formed XML") {
            Event::Start(e) => {
                look(&e, &stack);
                stack.push((
                    String::from_utf8_lossy(e.name().as_ref()).to_string(),
                    attr(&e, b"class").unwrap_or_default(),
                ));
            }
            Event::Empty(e) => look(&e, &stack),
            Event::End(_) => {
                stack.pop();
            }
            Event::Eof => break,
            _ => {}
        }
    }
    (used, named)
}

/// The boxes of the markers shown in a rendered page (`data-box`, written by the page's script
/// from the labels' measured widths).
fn marker_boxes(dom: &str) -> Vec<[f64; 4]> {
    let mut out = Vec::new();
    for piece in dom.split("<g class=\"marker\"").skip(1) {
        let tag = &piece[..piece.find('>').unwrap_or(piece.len())];
        if !tag.contains("visibility=\"visible\"") {
            continue;
        }
        let at = tag.find("data-box=\"").expect("a shown marker has its box") + "data-box=\"".len();
        let v: Vec<f64> = tag[at..tag[at..].find('"').map_or(tag.len(), |e| at + e)]
            .split(' ')
            .map(|n| n.parse().expect("a number"))
            .collect();
        out.push([v[0], v[1], v[2], v[3]]);
    }
    out
}

#[test]
fn boxes_and_colours_are_read() {
    let svg = r##"<svg xmlns="http://www.w3.org/2000/svg" class="timeline"><g class="axis"><line stroke="#e4e4e4"/></g><rect fill="#111111"/><text fill="#222222">x</text><g class="legend"><g class="entry" data-colour="#111111"><rect fill="#111111"/></g></g></svg>"##;
    let (used, named) = colours(svg);
    assert_eq!(used, BTreeSet::from(["#111111".to_string()]));
    assert_eq!(named, used);
    let dom = r#"<g class="marker" data-t="1" visibility="visible" data-box="1 2 3 4"></g><g class="marker" visibility="hidden" data-box="9 9 9 9"></g>"#;
    assert_eq!(marker_boxes(dom), [[1.0, 2.0, 3.0, 4.0]]);
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

/// An SVG, checked for well-formedness: `tag.class` -> how many.
fn svg_outline(svg: &str) -> BTreeMap<String, usize> {
    let mut reader = quick_xml::Reader::from_str(svg);
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
    let base = std::env::temp_dir().join(format!("scenario-report-test-{}", std::process::id()));
    let (dir, before) = (base.join("now"), base.join("before"));
    let _ = std::fs::remove_dir_all(&base);

    // An earlier report: every scenario, one of them changed on purpose (a failed request more),
    // and a page of a scenario this run no longer has.
    let mut earlier = outcomes.clone();
    let (changed, o) = earlier
        .iter_mut()
        .find(|(n, _)| n == "happy_one_at_a_time")
        .expect("happy_one_at_a_time");
    let entrance = o.traffic.keys().next().expect("an entrance").clone();
    o.traffic
        .get_mut(&entrance)
        .expect("traffic")
        .failed
        .insert("503 no target".into(), 7);
    let changed = changed.clone();
    scenarios::html::write_report(&before, &earlier, None).expect("earlier report written");
    scenarios::html::write_report(&dir, &earlier[..3], None).expect("a first report into the same folder");
    std::fs::write(
        dir.join("gone_scenario.html"),
        std::fs::read(dir.join(format!("{}.html", earlier[0].0))).expect("page"),
    )
    .expect("a stale page");
    let index = scenarios::html::write_report(&dir, &outcomes, Some(&before)).expect("report written");
    assert!(
        !dir.join("gone_scenario.html").exists(),
        "a page of an earlier run is cleared"
    );

    // The index lists every scenario, each with its picture.
    let out = browser(&["--dump-dom"], &index);
    let dom = String::from_utf8_lossy(&out.stdout);
    for (name, _) in &outcomes {
        assert!(dom.contains(&format!("href=\"{name}.html\"")), "index lacks {name}");
    }
    assert_eq!(
        dom.matches("class=\"spark\"").count(),
        outcomes.len(),
        "a sparkline per scenario"
    );
    assert!(console_errors(&String::from_utf8_lossy(&out.stderr)).is_empty());

    // The baseline page lists the change, first.
    let out = browser(&["--dump-dom"], &dir.join("baseline.html"));
    let dom = String::from_utf8_lossy(&out.stdout);
    assert!(console_errors(&String::from_utf8_lossy(&out.stderr)).is_empty());
    let first_row = dom.split("<tr class=\"changed\">").nth(1).expect("a changed row");
    assert!(
        first_row.contains(&changed),
        "the changed scenario comes first: {first_row}"
    );
    assert!(
        first_row.contains("failed requests") && first_row.contains("7 \u{2192} <b>0</b>"),
        "{first_row}"
    );
    assert_eq!(dom.matches("<tr class=\"changed\">").count(), 1, "nothing else changed");

    // Every page: rendered with its script, no console errors, one lane per instance, a legend of
    // exactly the colours used, markers apart, expected violations marked.
    for (name, o) in &outcomes {
        let page = dir.join(format!("{name}.html"));
        let out = browser(&["--dump-dom"], &page);
        assert!(out.status.success(), "{name}: chromium failed");
        let dom = String::from_utf8_lossy(&out.stdout);
        let errors = console_errors(&String::from_utf8_lossy(&out.stderr));
        assert!(errors.is_empty(), "{name}: console errors {errors:?}");
        assert!(dom.contains("<svg"), "{name}: no SVG in the rendered page");
        assert!(!dom.contains("class=\"view-now\"></span>"), "{name}: the script ran");
        let lanes = timeline_svg(&dom).matches("class=\"lane\"").count();
        assert_eq!(lanes, o.timeline.lanes.len(), "{name}: lanes");
        assert!(lanes > 0, "{name}: no instance lane");
        let file = std::fs::read_to_string(&page).expect("page");
        let outline = svg_outline(timeline_svg(&file));
        assert_eq!(outline.get("g.lane"), Some(&lanes), "{name}");
        let (used, named) = colours(timeline_svg(&file));
        assert_eq!(used, named, "{name}: the legend names exactly the colours drawn");
        let (used, named) = colours(timeline_svg(&dom));
        assert_eq!(used, named, "{name}: after the script too");
        let boxes = marker_boxes(timeline_svg(&dom));
        assert_eq!(
            boxes.len(),
            o.timeline
                .markers
                .iter()
                .filter(|(t, _)| {
                    let (a, b) = o.timeline.deployments_span();
                    *t >= a && *t <= b
                })
                .count(),
            "{name}: every marker in the window is shown"
        );
        for (i, a) in boxes.iter().enumerate() {
            for b in &boxes[i + 1..] {
                let apart = a[2] <= b[0] || b[2] <= a[0] || a[3] <= b[1] || b[3] <= a[1];
                assert!(apart, "{name}: markers overlap: {a:?} {b:?}");
            }
        }
        for v in &o.violations {
            if o.expected.contains(&v.kind) {
                let reason = o.expected_because.as_deref().expect("a reason");
                assert!(
                    dom.contains("class=\"expected\">expected</span>"),
                    "{name}: {v} not marked expected"
                );
                assert!(
                    file.contains(&scenarios::html::esc(reason)),
                    "{name}: the reason is shown"
                );
            }
        }
    }

    // Screenshots of the index and of a page with every kind of mark are not blank.
    for page in [index.clone(), dir.join("maintenance_all_at_once.html")] {
        let shot = page.with_extension("png");
        let out = browser(
            &["--window-size=1200,900", &format!("--screenshot={}", shot.display())],
            &page,
        );
        assert!(out.status.success(), "screenshot of {}", page.display());
        png_is_not_blank(&shot);
    }

    // One page's SVG structure.
    let page = std::fs::read_to_string(dir.join("maintenance_all_at_once.html")).expect("page");
    insta::with_settings!({snapshot_path => "snapshots", prepend_module_to_snapshot => false}, {
        insta::assert_yaml_snapshot!("report_svg_outline_maintenance_all_at_once", svg_outline(timeline_svg(&page)));
    });
    let _ = std::fs::remove_dir_all(&base);
}
