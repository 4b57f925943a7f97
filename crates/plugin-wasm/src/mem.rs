//! `memcmp` and `bcmp` for the wasm32-unknown-unknown modules, eight bytes at a time.
//!
//! There is no C library on that target, so Rust's own runtime supplies these functions, and
//! its versions compare one byte per loop iteration. Every string comparison goes through
//! them: the keys of every `BTreeMap<String, _>` a render builds, names, paths. A callgrind
//! profile of `matrix-render render` put `memcmp` first among the core's functions, at 1.26 M
//! instructions per render (5,700 calls, 221 instructions each), ahead of SHA-256: keys such
//! as `app.kubernetes.io/name` and `app.kubernetes.io/instance` share long prefixes. The
//! runtime's definitions are weak, so these take their place. The WASI build links a C
//! library that has its own.

/// The sign of the first difference between `len` bytes at `a` and at `b`, as C's `memcmp`:
/// negative, zero or positive.
///
/// # Safety
/// `a` and `b` must be valid for reads of `len` bytes.
#[expect(unsafe_code, reason = "reads through the raw pointers memcmp is given")]
pub(crate) unsafe fn compare(a: *const u8, b: *const u8, len: usize) -> i32 {
    let mut at = 0;
    while at + 8 <= len {
        // SAFETY: `at + 8 <= len`, within both ranges; unaligned reads are allowed.
        let (x, y) = unsafe {
            (
                a.add(at).cast::<u64>().read_unaligned(),
                b.add(at).cast::<u64>().read_unaligned(),
            )
        };
        if x != y {
            // Little-endian: the lowest differing byte is the first in memory.
            let shift = (x ^ y).trailing_zeros() & !7;
            return i32::from((x >> shift) as u8) - i32::from((y >> shift) as u8);
        }
        at += 8;
    }
    while at < len {
        // SAFETY: `at < len`, within both ranges.
        let (x, y) = unsafe { (*a.add(at), *b.add(at)) };
        if x != y {
            return i32::from(x) - i32::from(y);
        }
        at += 1;
    }
    0
}

#[cfg(all(target_arch = "wasm32", target_os = "unknown"))]
mod exports {
    /// C's `memcmp` (see the module documentation).
    ///
    /// # Safety
    /// `a` and `b` must be valid for reads of `len` bytes.
    #[expect(unsafe_code, reason = "the C ABI function the compiler calls")]
    #[unsafe(no_mangle)]
    pub unsafe extern "C" fn memcmp(a: *const u8, b: *const u8, len: usize) -> i32 {
        // SAFETY: the caller's contract, passed on.
        unsafe { super::compare(a, b, len) }
    }

    /// C's `bcmp`: zero when the bytes are equal (LLVM calls it for `==` on byte slices).
    ///
    /// # Safety
    /// `a` and `b` must be valid for reads of `len` bytes.
    #[expect(unsafe_code, reason = "the C ABI function the compiler calls")]
    #[unsafe(no_mangle)]
    pub unsafe extern "C" fn bcmp(a: *const u8, b: *const u8, len: usize) -> i32 {
        // SAFETY: the caller's contract, passed on.
        unsafe { super::compare(a, b, len) }
    }
}

#[cfg(test)]
mod tests {
    use super::compare;

    #[expect(unsafe_code, reason = "calls the function under test on two slices")]
    fn sign(a: &[u8], b: &[u8]) -> i32 {
        assert_eq!(a.len(), b.len());
        // SAFETY: both slices are `a.len()` bytes long.
        unsafe { compare(a.as_ptr(), b.as_ptr(), a.len()) }.signum()
    }

    fn expected(a: &[u8], b: &[u8]) -> i32 {
        match a.cmp(b) {
            std::cmp::Ordering::Less => -1,
            std::cmp::Ordering::Equal => 0,
            std::cmp::Ordering::Greater => 1,
        }
    }

    /// Every length from 0 to 40, every position of a first difference, both directions,
    /// differences in every bit, and unaligned starts.
    #[test]
    fn agrees_with_slice_ordering() {
        let base: Vec<u8> = (0..48_u8).map(|i| i.wrapping_mul(37) ^ 0x5a).collect();
        for offset in 0..8 {
            for len in 0..=40 {
                let a = &base[offset..offset + len];
                assert_eq!(sign(a, a), 0);
                for at in 0..len {
                    for bit in 0..8 {
                        let mut b = a.to_vec();
                        b[at] ^= 1 << bit;
                        // A later difference must not matter.
                        if at + 1 < len {
                            b[len - 1] ^= 0x80;
                        }
                        assert_eq!(sign(a, &b), expected(a, &b), "{len} {at} {bit}");
                        assert_eq!(sign(&b, a), expected(&b, a), "{len} {at} {bit}");
                    }
                }
            }
        }
        assert_eq!(sign(&[0x00], &[0xff]), -1);
        assert_eq!(sign(&[0xff; 9], &[0x00; 9]), 1);
    }
}
