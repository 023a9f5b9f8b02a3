//! Opening a store: what is created, and what is refused rather than repaired.

use super::*;
use crate::store::StoreError;
use crate::store::keys;

#[test]
fn opening_creates_the_data_directory() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("a/b/store");
    let store = open_at(&path, 10);
    assert!(path.is_dir());
    assert_eq!(store.path(), path);
    assert_eq!(store.stats().unwrap().nodes, 0);
}

#[test]
fn a_data_directory_that_cannot_be_created_is_a_create_dir_error() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("not-a-dir");
    std::fs::write(&file, b"x").unwrap();
    let err = SledStore::open(&file.join("store"), options(10)).unwrap_err();
    assert!(matches!(err, StoreError::CreateDir { .. }), "{err:?}");
    assert!(err.to_string().contains("not-a-dir"), "{err}");
}

#[test]
fn a_store_already_open_is_an_open_error_not_shared() {
    let (dir, _store) = store();
    let err = SledStore::open(dir.path(), options(10)).unwrap_err();
    assert!(matches!(err, StoreError::Open { .. }), "{err:?}");
}

#[test]
fn a_store_of_another_layout_version_is_refused_and_kept() {
    let dir = tempfile::tempdir().unwrap();
    {
        let db = sled::open(dir.path()).unwrap();
        db.insert(keys::SCHEMA, postcard::to_allocvec(&99u32).unwrap())
            .unwrap();
        db.insert(b"Nkeep-me\0", b"data").unwrap();
        db.flush().unwrap();
    }
    // sled's background flusher can hold the directory lock for a moment after the last
    // handle is dropped; wait for it rather than racing it (an `Open` error is the lock).
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
    let err = loop {
        match SledStore::open(dir.path(), options(10)) {
            Err(StoreError::Open { .. }) if std::time::Instant::now() < deadline => {
                std::thread::sleep(std::time::Duration::from_millis(20));
            }
            other => break other.unwrap_err(),
        }
    };
    assert!(
        matches!(
            err,
            StoreError::Schema {
                found: 99,
                expected: 1,
                ..
            }
        ),
        "{err:?}"
    );
    let db = sled::open(dir.path()).unwrap();
    assert!(
        db.contains_key(b"Nkeep-me\0").unwrap(),
        "data must not be deleted"
    );
}

#[test]
fn a_sled_directory_without_a_layout_version_is_refused_as_foreign() {
    let dir = tempfile::tempdir().unwrap();
    {
        let db = sled::open(dir.path()).unwrap();
        db.insert(b"other", b"application").unwrap();
        db.flush().unwrap();
    }
    // sled's background flusher can hold the directory lock for a moment after the last
    // handle is dropped; wait for it rather than racing it (an `Open` error is the lock).
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
    let err = loop {
        match SledStore::open(dir.path(), options(10)) {
            Err(StoreError::Open { .. }) if std::time::Instant::now() < deadline => {
                std::thread::sleep(std::time::Duration::from_millis(20));
            }
            other => break other.unwrap_err(),
        }
    };
    assert!(matches!(err, StoreError::Foreign { .. }), "{err:?}");
}
