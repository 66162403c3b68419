//! The two migration folders stay in step: same names, both with up and down.

use std::collections::BTreeSet;
use std::path::Path;

fn names(dir: &str) -> BTreeSet<String> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join(dir);
    std::fs::read_dir(&root)
        .unwrap_or_else(|e| panic!("{}: {e}", root.display()))
        .map(|e| e.unwrap())
        .filter(|e| e.file_type().unwrap().is_dir())
        .map(|e| {
            for f in ["up.sql", "down.sql"] {
                assert!(
                    e.path().join(f).is_file(),
                    "{} lacks {f}",
                    e.path().display()
                );
            }
            e.file_name().to_string_lossy().into_owned()
        })
        .collect()
}

#[test]
fn sqlite_and_postgres_migrations_have_the_same_names() {
    let sqlite = names("migrations/sqlite");
    let postgres = names("migrations/postgres");
    assert!(!sqlite.is_empty());
    assert_eq!(sqlite, postgres);
}
