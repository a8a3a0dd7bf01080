//! Helpers of the benches against the schema-checked fake authentik (`authentik`, `oidc`): they
//! include `tests/common` as `common` and this file with
//! `#[path = "common/authentik.rs"] mod bench_authentik;`.

use gatehouse::model::workload::Workload;

use crate::common::fake_authentik::FakeAuthentik;
use crate::common::provisioning::container;
pub use crate::common::provisioning::desired;

/// `n` containers `app000`, `app001`, … with `labels`, exposing port 8080.
pub fn containers(n: usize, labels: &[(&str, &str)]) -> Vec<Workload> {
    (0..n)
        .map(|i| container(&format!("app{i:03}"), labels))
        .collect()
}

/// The requests `fake` answered: (reads, writes).
pub fn counts(fake: &FakeAuthentik) -> (usize, usize) {
    let r = fake.requests();
    let writes = r.iter().filter(|r| r.is_write()).count();
    (r.len() - writes, writes)
}
