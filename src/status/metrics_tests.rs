use std::collections::BTreeMap;
use std::time::Duration;

use super::*;
use crate::edge::requests::{RequestCounts, NO_ANSWER};
use crate::status::board::Board;

fn board() -> Board {
    let board = Board::new(Duration::from_secs(60), true);
    let seen = crate::status::board::tests::seen(&[]);
    board.pass_done(Some(seen), None, Duration::from_millis(40), "start");
    board.pass_done(None, Some("boom".into()), Duration::from_secs(3), "x");
    board.authentik_round(1, None, 0, Some("2026.5".into()));
    board
}

/// The samples of a text-format answer, by series (`name{labels}`), checking every line's form.
fn samples(text: &str) -> BTreeMap<String, f64> {
    let mut typed = Vec::new();
    let mut out = BTreeMap::new();
    for line in text.lines() {
        if let Some(rest) = line.strip_prefix("# TYPE ") {
            let (name, kind) = rest.split_once(' ').expect("TYPE name kind");
            assert!(["counter", "gauge", "histogram"].contains(&kind), "{line}");
            typed.push(name.to_owned());
            continue;
        }
        if line.starts_with("# HELP ") {
            continue;
        }
        let (series, value) = line.rsplit_once(' ').expect("series value");
        let name = series.split('{').next().unwrap_or_default();
        assert!(
            typed.iter().any(|t| name == t
                || name
                    .strip_prefix(t.as_str())
                    .is_some_and(|s| ["_bucket", "_sum", "_count"].contains(&s))),
            "sample before its TYPE: {line}"
        );
        let value: f64 = value
            .parse()
            .unwrap_or_else(|_| panic!("bad value: {line}"));
        assert!(
            out.insert(series.to_owned(), value).is_none(),
            "duplicate series: {line}"
        );
    }
    out
}

#[test]
fn metrics_follow_the_text_format_and_count_what_happened() {
    let docker = RequestCounts::new();
    docker.add("GET", "200");
    docker.add("GET", "200");
    docker.add("POST", "409");
    let authentik = RequestCounts::new();
    authentik.add("GET", NO_ANSWER);
    let requests = Requests {
        docker: &docker,
        authentik: &authentik,
    };
    let text = render(&board().view(), &requests, Some(12_345));
    let s = samples(&text);
    let get = |k: &str| *s.get(k).unwrap_or_else(|| panic!("no {k} in\n{text}"));
    assert_eq!(get("gatehouse_passes_total{result=\"success\"}"), 1.0);
    assert_eq!(get("gatehouse_passes_total{result=\"error\"}"), 1.0);
    assert_eq!(get("gatehouse_apps{state=\"protected\"}"), 1.0);
    assert_eq!(get("gatehouse_apps{state=\"exposed\"}"), 1.0);
    assert_eq!(get("gatehouse_rejected_containers"), 1.0);
    assert_eq!(
        get("gatehouse_docker_requests_total{method=\"GET\",code=\"200\"}"),
        2.0
    );
    assert_eq!(
        get("gatehouse_docker_requests_total{method=\"POST\",code=\"409\"}"),
        1.0
    );
    assert_eq!(
        get("gatehouse_authentik_requests_total{method=\"GET\",code=\"<error>\"}"),
        1.0
    );
    assert_eq!(get("gatehouse_authentik_up"), 1.0);
    assert_eq!(get("gatehouse_authentik_info{version=\"2026.5\"}"), 1.0);
    assert_eq!(
        get("gatehouse_build_info{version=\"0.1.0\"}"
            .replace("0.1.0", env!("CARGO_PKG_VERSION"))
            .as_str()),
        1.0
    );
    assert!(get("gatehouse_last_successful_pass_timestamp_seconds") > 1.0e9);
    assert_eq!(get("process_resident_memory_bytes"), 12_345.0);
    // The histogram: cumulative, +Inf equals the count, the sum adds up.
    assert_eq!(
        get("gatehouse_pass_duration_seconds_bucket{le=\"0.025\"}"),
        0.0
    );
    assert_eq!(
        get("gatehouse_pass_duration_seconds_bucket{le=\"0.05\"}"),
        1.0
    );
    assert_eq!(
        get("gatehouse_pass_duration_seconds_bucket{le=\"2.5\"}"),
        1.0
    );
    assert_eq!(get("gatehouse_pass_duration_seconds_bucket{le=\"5\"}"), 2.0);
    assert_eq!(
        get("gatehouse_pass_duration_seconds_bucket{le=\"+Inf\"}"),
        2.0
    );
    assert_eq!(get("gatehouse_pass_duration_seconds_count"), 2.0);
    assert!((get("gatehouse_pass_duration_seconds_sum") - 3.04).abs() < 1e-9);
    assert!(text.ends_with('\n'));
}

#[test]
fn authentik_series_are_absent_when_provisioning_is_off() {
    let board = Board::new(Duration::from_secs(60), false);
    let empty = RequestCounts::new();
    let requests = Requests {
        docker: &empty,
        authentik: &empty,
    };
    let text = render(&board.view(), &requests, None);
    samples(&text);
    assert!(!text.contains("gatehouse_authentik_up"), "{text}");
    assert!(text.contains("gatehouse_last_successful_pass_timestamp_seconds 0\n"));
}

#[test]
fn label_values_are_escaped() {
    assert_eq!(escape("a\"b\\c\nd"), "a\\\"b\\\\c\\nd");
}
