//! The emitter's byte-class questions, answered for eight ASCII bytes at once.
//!
//! The emitter asks of every key and value whether it may stay plain, and of every embedded
//! config file whether a literal block carries it exactly. A byte at a time that was the
//! emitter's largest cost in wasm, where every turn of a loop also checks the time limit.
//! Eight bytes are read as one little-endian `u64`, so byte `i` is bits `8i..8i+8`, and each
//! question yields a mask with the high bit of every byte that answers yes.
//!
//! All of it assumes ASCII (every byte below 0x80): then adding a constant below 0x80 to a
//! byte never carries into the next one.

const ONES: u64 = 0x0101_0101_0101_0101;
const HIGH: u64 = 0x8080_8080_8080_8080;

/// The high bit of each byte of `word` that lies in `lo..=hi` (`hi` below 0x80).
const fn in_range(word: u64, lo: u8, hi: u8) -> u64 {
    // A byte `b` plus `0x80 - lo` reaches 0x80 when `b >= lo`; plus `0x7f - hi` when `b > hi`.
    let from_lo = word.wrapping_add(ONES.wrapping_mul(0x80 - lo as u64));
    let past_hi = word.wrapping_add(ONES.wrapping_mul(0x7f - hi as u64));
    from_lo & !past_hi & HIGH
}

/// Up to eight bytes as a word; missing bytes are `pad`. Eight bytes are one load; fewer
/// are shifted in one by one (copying them into a buffer would call `memcpy`, which in wasm
/// leaves the module).
fn word(bytes: &[u8], pad: u8) -> u64 {
    if let Ok(eight) = <[u8; 8]>::try_from(bytes) {
        return u64::from_le_bytes(eight);
    }
    let filled = 8 * bytes.len();
    let mut w = (ONES * u64::from(pad)) & (u64::MAX << filled);
    for (i, &b) in bytes.iter().enumerate() {
        w |= u64::from(b) << (8 * i);
    }
    w
}

/// Whether every byte is a letter, a digit, `_`, `.`, `/`, `-` or a space, and no two spaces
/// follow each other: the bytes a plain scalar may hold after its first.
pub fn plain_bytes(bytes: &[u8]) -> bool {
    let mut space_before = 0;
    for chunk in bytes.chunks(8) {
        // A short last chunk is padded with letters.
        let w = word(chunk, b'a');
        if w & HIGH != 0 {
            return false;
        }
        let allowed = in_range(w | (ONES * 0x20), b'a', b'z')
            | in_range(w, b'-', b'9')
            | in_range(w, b'_', b'_')
            | in_range(w, b' ', b' ');
        let spaces = in_range(w, b' ', b' ');
        if allowed != HIGH || spaces & ((spaces << 8) | space_before) != 0 {
            return false;
        }
        space_before = spaces >> 56;
    }
    true
}

/// Whether ASCII text has a byte a literal block cannot carry: a control character other
/// than `\n` (a tab too), DEL, or a space right before a line break. (A space at the very end
/// is the caller's to check.)
pub fn literal_breakers(ascii: &[u8]) -> bool {
    let mut space_before = 0;
    for chunk in ascii.chunks(8) {
        let w = word(chunk, b'a');
        let newlines = in_range(w, b'\n', b'\n');
        let controls = !in_range(w, b' ', b'~') & HIGH;
        let spaces = in_range(w, b' ', b' ');
        if (controls & !newlines) | (newlines & ((spaces << 8) | space_before)) != 0 {
            return true;
        }
        space_before = spaces >> 56;
    }
    false
}

#[cfg(test)]
mod tests {
    use super::{literal_breakers, plain_bytes};

    fn plain_reference(bytes: &[u8]) -> bool {
        bytes
            .iter()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b'/' | b'-' | b' '))
            && !bytes.windows(2).any(|pair| pair == b"  ")
    }

    fn literal_reference(ascii: &[u8]) -> bool {
        let mut previous = b'\n';
        ascii.iter().any(|&b| {
            let bad = (b < 0x20 && b != b'\n') || b == 0x7f || (b == b'\n' && previous == b' ');
            previous = b;
            bad
        })
    }

    /// Every byte value at every position of strings of 1 to 19 bytes, with and without a
    /// space or a line break before it (so across word boundaries too).
    #[test]
    fn every_byte_at_every_position_agrees_with_the_byte_rules() {
        for len in 1..20 {
            for at in 0..len {
                for byte in 0..=u8::MAX {
                    for before in [b'a', b' ', b'\n'] {
                        let mut text = vec![b'x'; len];
                        text[at] = byte;
                        if at > 0 {
                            text[at - 1] = before;
                        }
                        assert_eq!(plain_bytes(&text), plain_reference(&text), "plain {text:?}");
                        if text.is_ascii() {
                            assert_eq!(
                                literal_breakers(&text),
                                literal_reference(&text),
                                "literal {text:?}"
                            );
                        }
                    }
                }
            }
        }
    }

    /// Text made of the bytes that matter most (spaces, line breaks, letters, tabs).
    #[test]
    fn random_text_agrees_with_the_byte_rules() {
        let alphabet = b"a Z9_./-\n\t:\x7f ";
        let mut state = 0x2545_f491_4f6c_dd1d_u64;
        for _ in 0..20_000 {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            let len = (state % 40) as usize;
            let text: Vec<u8> = (0..len)
                .map(|i| alphabet[((state >> (i % 8 * 8)) as usize + i) % alphabet.len()])
                .collect();
            assert_eq!(plain_bytes(&text), plain_reference(&text), "{text:?}");
            assert_eq!(
                literal_breakers(&text),
                literal_reference(&text),
                "{text:?}"
            );
        }
    }
}
