//! A burst of sign-ins is queued behind the hashing limit, not dropped, and page
//! views keep being answered meanwhile.

mod common;

use common::{Backend, PASSWORD, TestApp};

on_both_backends!(concurrent_sign_ins_all_complete_while_pages_answer);

fn concurrent_sign_ins_all_complete_while_pages_answer(backend: Backend) {
    // Attempts count while they are being checked (the SPEC), and this story
    // is about the hashing queue: the limit sits above the burst, whatever the
    // number of hashing threads.
    let Some(app) = TestApp::start_with(backend, &[("RATE_LIMIT_SIGNIN", "100/15m")]) else {
        return;
    };
    let reader = app.signed_up("Ada", "ada@example.com");
    let statuses: Vec<u16> = std::thread::scope(|scope| {
        let pages = scope.spawn(move || {
            (0..50)
                .map(|_| reader.get("/").user_name())
                .filter(|n| n.as_deref() == Some("Ada"))
                .count()
        });
        let sign_ins: Vec<_> = (0..20)
            .map(|_| {
                scope.spawn(|| {
                    app.browser()
                        .submit(
                            "/signin",
                            &[("email", "ada@example.com"), ("password", PASSWORD)],
                        )
                        .status
                })
            })
            .collect();
        let statuses = sign_ins.into_iter().map(|h| h.join().unwrap()).collect();
        assert_eq!(
            pages.join().unwrap(),
            50,
            "every page view answered, signed in"
        );
        statuses
    });
    assert!(statuses.iter().all(|s| *s == 303), "{statuses:?}");
    assert_eq!(app.session_count(), 21);
}
