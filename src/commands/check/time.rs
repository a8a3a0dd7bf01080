//! RFC 3339 timestamps as authentik writes them (`2026-11-30T10:15:00.123456Z`,
//! `…+01:00`), to Unix seconds (pure; no date library needed for this one format).

/// Unix seconds of an RFC 3339 date-time; `None` when it is not one.
pub(crate) fn unix_seconds(raw: &str) -> Option<i64> {
    let raw = raw.trim();
    let (date, rest) = raw.split_once(['T', 't', ' '])?;
    let mut d = date.split('-');
    let (y, m, day): (i64, i64, i64) = (
        d.next()?.parse().ok()?,
        d.next()?.parse().ok()?,
        d.next()?.parse().ok()?,
    );
    if d.next().is_some() || !(1..=12).contains(&m) || !(1..=31).contains(&day) {
        return None;
    }
    let (clock, offset) = split_offset(rest)?;
    let mut t = clock.split(':');
    let (h, min): (i64, i64) = (t.next()?.parse().ok()?, t.next()?.parse().ok()?);
    let sec: i64 = t.next()?.split('.').next()?.parse().ok()?;
    if t.next().is_some() || h > 23 || min > 59 || sec > 60 {
        return None;
    }
    Some(days_from_civil(y, m, day) * 86_400 + h * 3600 + min * 60 + sec - offset)
}

/// The clock part and the offset east of UTC in seconds.
fn split_offset(rest: &str) -> Option<(&str, i64)> {
    if let Some(clock) = rest.strip_suffix(['Z', 'z']) {
        return Some((clock, 0));
    }
    let i = rest.rfind(['+', '-'])?;
    let (clock, off) = rest.split_at(i);
    let sign = if off.starts_with('-') { -1 } else { 1 };
    let (oh, om) = off[1..].split_once(':')?;
    let (oh, om): (i64, i64) = (oh.parse().ok()?, om.parse().ok()?);
    Some((clock, sign * (oh * 3600 + om * 60)))
}

/// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's algorithm).
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// `3 days`, `5 hours`, `12 minutes`: how far `secs` is, roughly, for a person.
pub(crate) fn roughly(secs: i64) -> String {
    let s = secs.abs();
    let (n, unit) = if s >= 2 * 86_400 {
        (s / 86_400, "days")
    } else if s >= 2 * 3600 {
        (s / 3600, "hours")
    } else {
        (s / 60, "minutes")
    };
    format!("{n} {unit}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn authentik_timestamps_parse_to_unix_seconds() {
        assert_eq!(unix_seconds("1970-01-01T00:00:00Z"), Some(0));
        assert_eq!(
            unix_seconds("2026-11-30T10:15:00.123456Z"),
            Some(1_796_033_700)
        );
        assert_eq!(
            unix_seconds("2026-11-30T11:15:00+01:00"),
            unix_seconds("2026-11-30T10:15:00Z")
        );
        assert_eq!(unix_seconds("2000-02-29T00:00:00-00:30"), Some(951_784_200));
        for bad in [
            "",
            "2026-13-01T00:00:00Z",
            "yesterday",
            "2026-11-30",
            "2026-11-30T10:15Z",
        ] {
            assert_eq!(unix_seconds(bad), None, "{bad}");
        }
    }

    #[test]
    fn durations_read_roughly() {
        assert_eq!(roughly(30 * 60), "30 minutes");
        assert_eq!(roughly(5 * 3600), "5 hours");
        assert_eq!(roughly(-3 * 86_400), "3 days");
    }
}
