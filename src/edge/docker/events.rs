//! The engine's events as gatehouse reads them: what happened, to what, and whether it is
//! history replayed from before the subscription; and the engine's clock.

use std::collections::BTreeMap;

/// How far back, by the engine's clock, a new event subscription starts: the engine replays
/// these seconds before following live events.
pub const EVENT_REPLAY_SECS: i64 = 5;

/// What happened on the engine, from the event stream.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EngineEvent {
    pub(crate) kind: String,
    pub action: String,
    /// The container or network id.
    pub(crate) id: String,
    /// The container or network name, when the event carries one.
    pub name: String,
    /// The event's attributes: a container's labels; a network event's `container` id.
    pub(crate) attributes: BTreeMap<String, String>,
    /// The engine replayed it from before the subscription: history, not news. It may wake a
    /// pass, but says nothing of a container's state now (the pass's listing does).
    pub replayed: bool,
}

/// An event as bollard decodes it, made plain; replayed when it happened before `live_from` (Unix
/// nanoseconds, the engine's clock).
pub(super) fn from_bollard(
    e: bollard::models::EventMessage,
    live_from: Option<i64>,
) -> EngineEvent {
    let actor = e.actor.unwrap_or_default();
    let attributes: BTreeMap<String, String> =
        actor.attributes.unwrap_or_default().into_iter().collect();
    let at = e
        .time_nano
        .or_else(|| e.time.and_then(|t| t.checked_mul(1_000_000_000)));
    EngineEvent {
        replayed: matches!((at, live_from), (Some(at), Some(live)) if at < live),
        kind: e.typ.map(|t| t.to_string()).unwrap_or_default(),
        action: e.action.unwrap_or_default(),
        id: actor.id.unwrap_or_default(),
        name: attributes.get("name").cloned().unwrap_or_default(),
        attributes,
    }
}

/// Whether an event passes the scope label (`key`, `value`). Checked here, not by the engine: a
/// label filter there would drop every network event (they carry no labels), and with them an
/// app's late attachment to the network its labels name.
pub(super) fn in_scope(ev: &EngineEvent, scope: Option<&(String, String)>) -> bool {
    match scope {
        Some((k, v)) if ev.kind == "container" => ev.attributes.get(k) == Some(v),
        _ => true,
    }
}

/// Unix nanoseconds of an RFC 3339 time as the engine prints it
/// (`2026-11-22T22:11:07.674010123Z`, or with an offset such as `+01:00`). `None` for anything
/// else, including years outside 1970..=2200 and offsets of a day or more: the text comes from
/// the network.
pub fn unix_nanos(text: &str) -> Option<i64> {
    fn num(s: &[u8]) -> Option<i64> {
        if s.is_empty() || s.len() > 9 || !s.iter().all(u8::is_ascii_digit) {
            return None;
        }
        s.iter().try_fold(0i64, |n, d| {
            n.checked_mul(10)?.checked_add(i64::from(d - b'0'))
        })
    }
    let t = text.as_bytes();
    // YYYY-MM-DDTHH:MM:SS, then an optional fraction, then the zone.
    if t.len() < 20 || [t[4], t[7], t[10], t[13], t[16]] != [b'-', b'-', b'T', b':', b':'] {
        return None;
    }
    let (y, mo, day) = (num(&t[0..4])?, num(&t[5..7])?, num(&t[8..10])?);
    let (h, mi, sec) = (num(&t[11..13])?, num(&t[14..16])?, num(&t[17..19])?);
    let mut rest = &t[19..];
    let mut nanos = 0;
    if let Some(frac) = rest.strip_prefix(b".") {
        let digits = frac.iter().take_while(|b| b.is_ascii_digit()).count();
        nanos = num(&frac[..digits])? * 10i64.pow(9 - u32::try_from(digits).ok()?);
        rest = &frac[digits..];
    }
    let offset = match rest {
        b"Z" | b"z" => 0,
        [sign @ (b'+' | b'-'), h1, h2, b':', m1, m2] => {
            let (oh, om) = (num(&[*h1, *h2])?, num(&[*m1, *m2])?);
            if oh > 23 || om > 59 {
                return None;
            }
            (oh * 3600 + om * 60) * if *sign == b'-' { -1 } else { 1 }
        }
        _ => return None,
    };
    if !(1970..=2200).contains(&y)
        || !(1..=12).contains(&mo)
        || !(1..=31).contains(&day)
        || h > 23
        || mi > 59
        || sec > 60
    {
        return None;
    }
    // Days from 1970-01-01 to the civil date (Howard Hinnant's algorithm).
    let y = if mo <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (mo + 9) % 12;
    let doy = (153 * mp + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    let secs = days * 86_400 + h * 3600 + mi * 60 + sec - offset;
    secs.checked_mul(1_000_000_000)?.checked_add(nanos)
}

#[cfg(test)]
mod tests {
    use super::unix_nanos;

    const S: i64 = 1_000_000_000;

    #[test]
    fn engine_times_become_unix_nanoseconds() {
        assert_eq!(unix_nanos("1970-01-01T00:00:00Z"), Some(0));
        assert_eq!(
            unix_nanos("2026-11-22T22:11:07.674010123Z"),
            Some(1_795_385_467 * S + 674_010_123)
        );
        assert_eq!(
            unix_nanos("2026-11-22T23:11:07.5+01:00"),
            Some(1_795_385_467 * S + 500_000_000)
        );
        assert_eq!(
            unix_nanos("2026-11-22T17:11:07-05:00"),
            Some(1_795_385_467 * S)
        );
        assert_eq!(unix_nanos("2024-02-29T12:00:00Z"), Some(1_709_208_000 * S));
        for bad in [
            "",
            "2026-11-22",
            "2026-11-22T22:11Z",
            "2026-13-01T00:00:00Z",
            "2026-11-22T22:11:07",
            "2026-11-22T22:11:07.Z",
            "2026-11-22T22:11:07.1234567891Z",
            "2026-11-22T22:11:07+0100",
            "2026-11-22T22:11:07+99:99",
            "2026-11-22T22:11:07x",
            // From the network: never a panic, whatever the bytes.
            "2026-11-22T22:11:0\u{e9}7Z",
            "\u{e9}\u{e9}\u{e9}\u{e9}\u{e9}\u{e9}\u{e9}\u{e9}\u{e9}\u{e9}\u{e9}",
            "9000000000000000000-01-01T00:00:00Z",
            "9999-01-01T00:00:00Z",
            "-001-01-01T00:00:00Z",
            "+123-01-01T00:00:00Z",
        ] {
            assert_eq!(unix_nanos(bad), None, "{bad}");
        }
    }
}
