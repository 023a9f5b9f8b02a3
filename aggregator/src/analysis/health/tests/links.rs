//! Health findings linked to their causes end to end: checks, then `causes::link`.

use edgeward_proto::Section;

use super::{audit, datastore, emetrics, now, pressure};
use crate::analysis::causes;
use crate::analysis::finding::{Finding, Kind};
use crate::policy::Thresholds;

fn by_kind(found: &[Finding], kind: Kind) -> &Finding {
    found
        .iter()
        .find(|f| f.kind == kind)
        .unwrap_or_else(|| panic!("no {kind} in {found:#?}"))
}

#[test]
fn slow_wal_fsync_links_to_the_slow_disk_which_links_to_io_pressure() {
    let st = super::node_state(0, |s| {
        if let Section::Data(psi) = &mut pressure(s).psi {
            psi.io.some.avg60 = 35.0;
        }
        datastore(s).disk_audit = Section::Data(audit(45_000));
        emetrics(s).wal_fsync_p99_secs = Some(0.8);
    });
    let mut found = super::super::node(&st, &Thresholds::default(), now());
    causes::link(&mut found);
    let io = by_kind(&found, Kind::IoPressure);
    let disk = by_kind(&found, Kind::DiskSlowFdatasync);
    let wal = by_kind(&found, Kind::EtcdSlowWalFsync);
    assert_eq!(disk.caused_by, vec![io.id.clone()]);
    let mut want = vec![disk.id.clone(), io.id.clone()];
    want.sort();
    assert_eq!(wal.caused_by, want);
    assert!(io.caused_by.is_empty());
}
