//! authentik provisioning in process (no Docker) against the schema-checked fake authentik: the
//! containers, what gatehouse wants for them, and one round of [`Provisioner::sync`].

use std::collections::BTreeMap;
use std::time::Duration;

use gatehouse::labels::LabelRules;
use gatehouse::model::workload::{ConfDirState, Workload};
use gatehouse::plan;
use gatehouse::plan::authentik::{self, Desired};
use gatehouse::reconcile::authentik::{Provisioner, SyncReport};

use super::fake_authentik::FakeAuthentik;

/// A container `name` with `labels`, exposing port 8080.
pub fn container(name: &str, labels: &[(&str, &str)]) -> Workload {
    Workload {
        name: name.into(),
        labels: labels
            .iter()
            .map(|(k, v)| ((*k).into(), (*v).into()))
            .collect::<BTreeMap<_, _>>(),
        exposed_tcp_ports: vec![8080],
        ..Workload::default()
    }
}

/// What gatehouse wants in `fake` for `containers`, with the default label rules.
pub fn desired(fake: &FakeAuthentik, containers: &[Workload]) -> Desired {
    let rules = LabelRules::default();
    let planned = plan::desired(
        containers,
        &ConfDirState::default(),
        &BTreeMap::new(),
        &rules,
    );
    authentik::desired(&planned, containers, &rules, &fake.settings())
}

/// A runtime for one blocking call.
pub fn rt() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}

/// One round of `prov` for `containers`; it must succeed.
pub fn sync(fake: &FakeAuthentik, prov: &mut Provisioner, containers: &[Workload]) -> SyncReport {
    let d = desired(fake, containers);
    rt().block_on(prov.sync(&d, Duration::ZERO)).expect("sync")
}
