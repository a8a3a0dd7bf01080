use super::*;

#[test]
fn versions_compare_as_numbers() {
    assert_eq!(compare("2026.8.3", "2026.10.1"), Some(Ordering::Less));
    assert_eq!(compare("2026.10.1", "2026.8.3"), Some(Ordering::Greater));
    assert_eq!(compare("2026.8.3", "2026.8.3"), Some(Ordering::Equal));
    assert_eq!(compare("2026.8.3-rc1", "2026.8.3"), Some(Ordering::Equal));
    assert_eq!(compare("latest", "2026.8.3"), None);
    assert_eq!(compare(UNKNOWN, "2026.8.3"), None);
}

#[test]
fn dates_are_utc() {
    assert_eq!(utc(0), "1970-01-01T00:00:00Z");
    assert_eq!(utc(1_795_944_940), "2026-11-29T09:35:40Z");
    assert_eq!(utc(951_782_400), "2000-02-29T00:00:00Z");
}

#[test]
fn the_default_name_never_takes_an_existing_file() {
    let dir = Path::new("/d");
    let secs = 1_795_944_940;
    let first = default_name(dir, "2026.8.3", secs, |_| false);
    assert_eq!(first, Path::new("/d/authentik-2026.8.3-2026-11-29.dump"));
    let taken = first.clone();
    let second = default_name(dir, "2026.8.3", secs, |p| p == taken);
    assert_eq!(second, Path::new("/d/authentik-2026.8.3-2026-11-29-2.dump"));
    let odd = default_name(dir, "../x y", secs, |_| false);
    assert_eq!(odd, Path::new("/d/authentik-.._x_y-2026-11-29.dump"));
}
