use super::*;

const TOKEN: &str = "s3cr3t-T0ken-abcdef";

#[test]
fn the_token_is_redacted_wherever_it_stands() {
    let r = Redactor::new([TOKEN.to_owned(), "tiny".to_owned()], false);
    let line = format!("authentik answered 401: {{\"detail\":\"Bearer {TOKEN} is invalid\"}}\n");
    let clean = r.clean(&line);
    assert!(!clean.contains(TOKEN), "{clean}");
    assert!(clean.contains("Bearer [redacted] is invalid"), "{clean}");
    // Too short to search for without blanking ordinary words.
    assert_eq!(r.clean("a tiny line\n"), "a tiny line\n");
}

#[test]
fn a_secret_is_redacted_in_its_json_escaped_form_too() {
    let secret = "ab\"cd\\ef";
    let r = Redactor::new([secret.to_owned()], false);
    let json = format!("{{\"error\":{}}}\n", serde_json::to_string(secret).unwrap());
    let clean = r.clean(&json);
    assert_eq!(clean, "{\"error\":\"[redacted]\"}\n");
}

#[test]
fn url_credentials_are_hidden() {
    assert_eq!(
        hide_url_credentials("GATEHOUSE_AUTHENTIK_URL=\"http://admin:hunter2@ak:9000/x\" bad"),
        "GATEHOUSE_AUTHENTIK_URL=\"http://[redacted]@ak:9000/x\" bad"
    );
    assert_eq!(
        hide_url_credentials("see https://a.example/p?q=x@y and ftp://u@h"),
        "see https://a.example/p?q=x@y and ftp://[redacted]@h"
    );
    assert_eq!(
        hide_url_credentials("no url here @ all"),
        "no url here @ all"
    );
}

#[test]
fn control_characters_cannot_forge_a_line() {
    let forged =
        "rejected key \"x\n2026-11-30T00:00:00Z  INFO wrote gatehouse.bank.subdomain.conf\"\n";
    let clean = escape_controls(forged, false);
    assert_eq!(clean.matches('\n').count(), 1, "{clean}");
    assert!(clean.ends_with('\n'));
    assert!(clean.contains("\\u{a}2026"), "{clean}");
    let bidi = escape_controls("name \u{202e}fdp.exe \u{1b}[2J\r", false);
    assert!(!bidi.contains('\u{202e}') && !bidi.contains('\u{1b}') && !bidi.contains('\r'));
}

#[test]
fn colour_codes_stay_on_a_terminal_other_escapes_do_not() {
    let line = "\u{1b}[32m INFO\u{1b}[0m wrote x \u{1b}]0;title\u{7}\n";
    let clean = escape_controls(line, true);
    assert!(
        clean.starts_with("\u{1b}[32m INFO\u{1b}[0m wrote x "),
        "{clean:?}"
    );
    assert!(clean.contains("\\u{1b}]0;title\\u{7}"), "{clean:?}");
    let plain = escape_controls(line, false);
    assert!(!plain.contains('\u{1b}'), "{plain:?}");
}

#[test]
fn the_writer_cleans_each_event_whole() {
    use std::sync::Mutex;

    #[derive(Clone, Default)]
    struct Sink(Arc<Mutex<Vec<u8>>>);
    impl Write for Sink {
        fn write(&mut self, b: &[u8]) -> io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(b);
            Ok(b.len())
        }
        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }
    impl<'a> MakeWriter<'a> for Sink {
        type Writer = Sink;
        fn make_writer(&'a self) -> Sink {
            self.clone()
        }
    }

    let sink = Sink::default();
    let make = CleanLogs::new(sink.clone(), Redactor::new([TOKEN.to_owned()], false));
    {
        // The token split over two writes is still found.
        let mut w = make.make_writer();
        w.write_all(b"token s3cr3t-T0").unwrap();
        w.write_all(b"ken-abcdef leaked\n").unwrap();
    }
    let got = String::from_utf8(sink.0.lock().unwrap().clone()).unwrap();
    assert_eq!(got, "token [redacted] leaked\n");
}
