//! Helpers of the benches against the schema-checked fake authentik (`authentik`, `oidc`): they
//! include `tests/common` as `common` and this file with
//! `#[path = "common/authentik.rs"] mod bench_authentik;`.

use std::collections::BTreeMap;

use gatehouse::labels::LabelRules;
use gatehouse::model::workload::{ConfDirState, Workload};
use gatehouse::plan;
use gatehouse::plan::authentik;

use crate::common::fake_authentik::FakeAuthentik;

/// `n` containers `app000`, `app001`, … with `labels`, exposing port 8080.
pub fn containers(n: usize, labels: &[(&str, &str)]) -> Vec<Workload> {
    (0..n)
        .map(|i| Workload {
            name: format!("app{i:03}"),
            labels: labels
                .iter()
                .map(|(k, v)| ((*k).into(), (*v).into()))
                .collect(),
            exposed_tcp_ports: vec![8080],
            ..Workload::default()
        })
        .collect()
}

/// What gatehouse wants in `fake` for `cs`, with the default label rules.
pub fn desired(fake: &FakeAuthentik, cs: &[Workload]) -> authentik::Desired {
    let rules = LabelRules::default();
    let planned = plan::desired(cs, &ConfDirState::default(), &BTreeMap::new(), &rules);
    authentik::desired(&planned, cs, &rules, &fake.settings())
}

/// The requests `fake` answered: (reads, writes).
pub fn counts(fake: &FakeAuthentik) -> (usize, usize) {
    let r = fake.requests();
    let writes = r.iter().filter(|r| r.is_write()).count();
    (r.len() - writes, writes)
}
