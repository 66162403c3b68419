//! Password hashing with argon2id at OWASP's parameters (19 MiB, 2 passes, 1 lane:
//! the argon2 crate's defaults). Callers run these on the hashing threads
//! (`auth::limiter`), never on the async workers.
//!
//! Each thread hashes in one reusable 19 MiB buffer. Letting argon2 allocate
//! per hash grew the process by 19 MiB per sign-in under load: the allocator
//! splits the freed block for small allocations, and the next hash no longer
//! fits in it.

use std::cell::RefCell;

use argon2::password_hash::{Output, ParamsString, PasswordHash, SaltString};
use argon2::{Algorithm, Argon2, Block, Params, Version};
use rand::rngs::OsRng;

use crate::error::AppError;

thread_local! {
    static MEMORY: RefCell<Vec<Block>> = const { RefCell::new(Vec::new()) };
}

/// Runs argon2 into `out`, in this thread's buffer.
fn compute(
    argon: &Argon2<'_>,
    params: &Params,
    password: &[u8],
    salt: &[u8],
    out: &mut [u8],
) -> argon2::Result<()> {
    MEMORY.with(|memory| {
        let mut memory = memory.borrow_mut();
        let blocks = params.block_count();
        if memory.len() < blocks {
            memory.resize(blocks, Block::default());
        }
        argon.hash_password_into_with_memory(password, salt, out, &mut memory[..blocks])
    })
}

pub fn hash_password(password: &str) -> Result<String, AppError> {
    let failed = |e: &dyn std::fmt::Display| AppError::Internal(format!("argon2: {e}"));
    let params = Params::default();
    let argon = Argon2::new(Algorithm::Argon2id, Version::V0x13, params.clone());
    let salt = SaltString::generate(&mut OsRng);
    let mut salt_buf = [0u8; 64];
    let salt_bytes = salt
        .as_salt()
        .decode_b64(&mut salt_buf)
        .map_err(|e| failed(&e))?;
    let output = Output::init_with(Params::DEFAULT_OUTPUT_LEN, |out| {
        compute(&argon, &params, password.as_bytes(), salt_bytes, out)
            .map_err(|_| argon2::password_hash::Error::Crypto)
    })
    .map_err(|e| failed(&e))?;
    let phc = PasswordHash {
        algorithm: Algorithm::Argon2id.ident(),
        version: Some(Version::V0x13.into()),
        params: ParamsString::try_from(&params).map_err(|e| failed(&e))?,
        salt: Some(salt.as_salt()),
        hash: Some(output),
    };
    Ok(phc.to_string())
}

/// False for a wrong password and for a hash we cannot read. The comparison is
/// `Output`'s, which runs in constant time.
pub fn verify_password(password: &str, hash: &str) -> bool {
    let check = || -> Option<bool> {
        let parsed = PasswordHash::new(hash).ok()?;
        let algorithm = Algorithm::try_from(parsed.algorithm).ok()?;
        let version = match parsed.version {
            Some(v) => Version::try_from(v).ok()?,
            None => Version::default(),
        };
        let params = Params::try_from(&parsed).ok()?;
        let expected = parsed.hash?;
        let mut salt_buf = [0u8; 64];
        let salt = parsed.salt?.decode_b64(&mut salt_buf).ok()?;
        let argon = Argon2::new(algorithm, version, params.clone());
        let computed = Output::init_with(expected.len(), |out| {
            compute(&argon, &params, password.as_bytes(), salt, out)
                .map_err(|_| argon2::password_hash::Error::Crypto)
        })
        .ok()?;
        Some(computed == expected)
    };
    check().unwrap_or(false)
}

/// Spends the same work as a real check, for emails that have no password, so
/// the answer's timing does not tell whether an account exists.
pub fn verify_dummy(password: &str) {
    static DUMMY: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    let hash = DUMMY
        .get_or_init(|| hash_password("gatehouse dummy password, never valid").unwrap_or_default());
    let _ = verify_password(password, hash);
}

#[cfg(test)]
mod tests {
    use super::*;
    use argon2::PasswordVerifier;

    /// The memory test reads the process's RSS: no other hashing meanwhile.
    use crate::MEMORY_HEAVY_TESTS as SERIAL;

    #[test]
    fn argon2id_round_trip() {
        let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
        let h = hash_password("correct horse").unwrap();
        assert!(h.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"), "{h}");
        assert!(verify_password("correct horse", &h));
        assert!(!verify_password("wrong horse", &h));
        assert!(!verify_password("correct horse", "not a hash"));
    }

    #[test]
    fn hashes_interoperate_with_the_argon2_crate() {
        let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
        // Ours verifies with the crate's own verifier, and the crate's with ours.
        let ours = hash_password("correct horse").unwrap();
        let parsed = PasswordHash::new(&ours).unwrap();
        assert!(
            Argon2::default()
                .verify_password(b"correct horse", &parsed)
                .is_ok()
        );
        use argon2::PasswordHasher;
        let salt = SaltString::generate(&mut OsRng);
        let theirs = Argon2::default()
            .hash_password(b"battery staple", &salt)
            .unwrap()
            .to_string();
        assert!(verify_password("battery staple", &theirs));
        assert!(!verify_password("battery stapler", &theirs));
    }

    /// RSS is per process, and other tests allocate meanwhile: the measurement
    /// runs in a child process that runs only [`rss_probe`].
    #[test]
    fn memory_stays_flat_across_hashes_on_one_thread() {
        let exe = std::env::current_exe().expect("the test binary");
        let out = std::process::Command::new(exe)
            .args([
                "--exact",
                "auth::password::tests::rss_probe",
                "--ignored",
                "--test-threads=1",
            ])
            .output()
            .expect("run the probe");
        let text = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(out.status.success(), "{text}");
        assert!(text.contains("1 passed"), "the probe did not run: {text}");
    }

    #[test]
    #[ignore = "run alone in its own process by memory_stays_flat_across_hashes_on_one_thread"]
    fn rss_probe() {
        let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
        fn rss_kb() -> u64 {
            std::fs::read_to_string("/proc/self/status")
                .ok()
                .and_then(|s| {
                    s.lines()
                        .find(|l| l.starts_with("VmRSS:"))
                        .and_then(|l| l.split_whitespace().nth(1)?.parse().ok())
                })
                .unwrap_or(0)
        }
        let h = hash_password("x").unwrap();
        std::thread::spawn(move || {
            verify_password("y", &h);
            let before = rss_kb();
            for _ in 0..5 {
                verify_password("y", &h);
                // Small allocations in between, as a server makes them.
                std::mem::forget(vec![1u8; 1000]);
            }
            let grown = rss_kb().saturating_sub(before);
            assert!(grown < 8 * 1024, "RSS grew {grown} kB over 5 hashes");
        })
        .join()
        .unwrap();
    }
}
