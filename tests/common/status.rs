//! For tests of gatehouse's HTTP server: a plain HTTP/1.1 GET, a free port, and a parser of the
//! Prometheus text format (version 0.0.4) strict enough to catch a malformed line.

use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::Duration;

/// A port nothing listens on now (the kernel picks it; a race with another process is possible
/// but unlikely).
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

/// One answer: status code, headers (lower-case names), body.
#[derive(Debug, Clone)]
pub struct Answer {
    pub status: u16,
    pub headers: BTreeMap<String, String>,
    pub body: String,
}

/// `method path` on 127.0.0.1:`port`, with `Connection: close`; `None` when nothing answers.
pub fn request(port: u16, method: &str, path: &str) -> Option<Answer> {
    let mut s = TcpStream::connect(("127.0.0.1", port)).ok()?;
    s.set_read_timeout(Some(Duration::from_secs(30))).ok()?;
    write!(
        s,
        "{method} {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nConnection: close\r\n\r\n"
    )
    .ok()?;
    let mut raw = Vec::new();
    s.read_to_end(&mut raw).ok()?;
    let text = String::from_utf8_lossy(&raw).into_owned();
    let (head, body) = text.split_once("\r\n\r\n")?;
    let mut lines = head.lines();
    let status = lines.next()?.split(' ').nth(1)?.parse().ok()?;
    let headers = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_owned()))
        .collect();
    Some(Answer {
        status,
        headers,
        body: body.to_owned(),
    })
}

pub fn get(port: u16, path: &str) -> Option<Answer> {
    request(port, "GET", path)
}

/// One sample: metric name, labels, value.
#[derive(Debug, Clone, PartialEq)]
pub struct Sample {
    pub name: String,
    pub labels: BTreeMap<String, String>,
    pub value: f64,
}

/// Parses an exposition: every line is empty, `# HELP name text`, `# TYPE name kind`, another
/// comment, or a sample `name{label="value",…} value [timestamp]`; every sample's family was
/// typed before it (a histogram's `_bucket`, `_sum`, `_count` under its own name); no series
/// twice; histogram buckets cumulative with `+Inf` equal to `_count`. Returns the samples and
/// each family's type, or what is wrong.
pub fn parse_metrics(text: &str) -> Result<(Vec<Sample>, BTreeMap<String, String>), String> {
    let mut types = BTreeMap::new();
    let mut samples = Vec::new();
    let mut seen = std::collections::BTreeSet::new();
    for (n, line) in text.lines().enumerate() {
        let at = |why: &str| format!("line {}: {why}: {line:?}", n + 1);
        if line.is_empty() {
            continue;
        }
        if let Some(rest) = line.strip_prefix("# TYPE ") {
            let (name, kind) = rest
                .split_once(' ')
                .ok_or_else(|| at("TYPE without a kind"))?;
            if !valid_name(name) {
                return Err(at("bad metric name"));
            }
            if !["counter", "gauge", "histogram", "summary", "untyped"].contains(&kind) {
                return Err(at("unknown type"));
            }
            if types.insert(name.to_owned(), kind.to_owned()).is_some() {
                return Err(at("second TYPE"));
            }
            continue;
        }
        if let Some(rest) = line.strip_prefix("# HELP ") {
            let name = rest.split(' ').next().unwrap_or_default();
            if !valid_name(name) {
                return Err(at("bad metric name"));
            }
            continue;
        }
        if line.starts_with('#') {
            continue;
        }
        let sample = parse_sample(line).map_err(|e| at(&e))?;
        let family = family_of(&sample.name, &types).ok_or_else(|| at("sample before its TYPE"))?;
        if types[&family] == "counter" && sample.value < 0.0 {
            return Err(at("negative counter"));
        }
        if !seen.insert(format!("{}{:?}", sample.name, sample.labels)) {
            return Err(at("series twice"));
        }
        samples.push(sample);
    }
    check_histograms(&samples, &types)?;
    Ok((samples, types))
}

fn valid_name(name: &str) -> bool {
    let mut chars = name.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_' || c == ':')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_' || c == ':')
}

fn family_of(name: &str, types: &BTreeMap<String, String>) -> Option<String> {
    if types.contains_key(name) {
        return Some(name.to_owned());
    }
    ["_bucket", "_sum", "_count"].iter().find_map(|suffix| {
        let base = name.strip_suffix(suffix)?;
        matches!(
            types.get(base).map(String::as_str),
            Some("histogram" | "summary")
        )
        .then(|| base.to_owned())
    })
}

fn parse_sample(line: &str) -> Result<Sample, String> {
    let name_end = line.find(['{', ' ']).ok_or("no value")?;
    let name = &line[..name_end];
    if !valid_name(name) {
        return Err("bad metric name".into());
    }
    let mut rest = &line[name_end..];
    let mut labels = BTreeMap::new();
    if let Some(inner) = rest.strip_prefix('{') {
        let mut i = 0;
        loop {
            if let Some(after) = inner[i..].strip_prefix('}') {
                rest = after;
                break;
            }
            let eq = inner[i..].find('=').ok_or("label without =")? + i;
            let key = &inner[i..eq];
            if !valid_name(key) || key.contains(':') {
                return Err(format!("bad label name {key:?}"));
            }
            if !inner[eq + 1..].starts_with('"') {
                return Err("label value not quoted".into());
            }
            let mut j = eq + 2;
            let mut value = String::new();
            loop {
                let c = inner[j..]
                    .chars()
                    .next()
                    .ok_or("unterminated label value")?;
                j += c.len_utf8();
                match c {
                    '\\' => {
                        let e = inner[j..].chars().next().ok_or("dangling escape")?;
                        j += e.len_utf8();
                        value.push(match e {
                            'n' => '\n',
                            '\\' => '\\',
                            '"' => '"',
                            _ => return Err(format!("bad escape \\{e}")),
                        });
                    }
                    '"' => break,
                    '\n' => return Err("newline in label value".into()),
                    c => value.push(c),
                }
            }
            if labels.insert(key.to_owned(), value).is_some() {
                return Err(format!("label {key} twice"));
            }
            if inner[j..].starts_with(',') {
                j += 1;
            } else if !inner[j..].starts_with('}') {
                return Err("expected , or } after a label".into());
            }
            i = j;
        }
    }
    let mut fields = rest.split(' ').filter(|f| !f.is_empty());
    let raw = fields.next().ok_or("no value")?;
    let value = match raw {
        "+Inf" => f64::INFINITY,
        "-Inf" => f64::NEG_INFINITY,
        "NaN" => f64::NAN,
        v => v.parse().map_err(|_| format!("bad value {v:?}"))?,
    };
    if let Some(ts) = fields.next() {
        ts.parse::<i64>()
            .map_err(|_| format!("bad timestamp {ts:?}"))?;
    }
    if fields.next().is_some() {
        return Err("trailing fields".into());
    }
    Ok(Sample {
        name: name.to_owned(),
        labels,
        value,
    })
}

fn check_histograms(samples: &[Sample], types: &BTreeMap<String, String>) -> Result<(), String> {
    for (family, _) in types.iter().filter(|(_, k)| *k == "histogram") {
        let bucket = format!("{family}_bucket");
        let mut buckets: Vec<(f64, f64)> = Vec::new();
        for s in samples.iter().filter(|s| s.name == bucket) {
            let le = s.labels.get("le").ok_or(format!("{bucket} without le"))?;
            let le = if le == "+Inf" {
                f64::INFINITY
            } else {
                le.parse().map_err(|_| format!("{bucket}: bad le {le:?}"))?
            };
            buckets.push((le, s.value));
        }
        if buckets
            .windows(2)
            .any(|w| w[0].0 >= w[1].0 || w[0].1 > w[1].1)
        {
            return Err(format!(
                "{family}: buckets not increasing and cumulative: {buckets:?}"
            ));
        }
        let inf = buckets
            .last()
            .filter(|b| b.0.is_infinite())
            .ok_or(format!("{family}: no +Inf bucket"))?;
        let count = samples
            .iter()
            .find(|s| s.name == format!("{family}_count"))
            .ok_or(format!("{family}: no _count"))?;
        if inf.1 != count.value {
            return Err(format!(
                "{family}: +Inf bucket {} != count {}",
                inf.1, count.value
            ));
        }
        if !samples.iter().any(|s| s.name == format!("{family}_sum")) {
            return Err(format!("{family}: no _sum"));
        }
    }
    Ok(())
}

/// The value of the series `name` with exactly `labels`.
pub fn value(samples: &[Sample], name: &str, labels: &[(&str, &str)]) -> Option<f64> {
    let want: BTreeMap<String, String> = labels
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect();
    samples
        .iter()
        .find(|s| s.name == name && s.labels == want)
        .map(|s| s.value)
}
