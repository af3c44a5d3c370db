//! Reproducible pseudo-random bytes for tests: splitmix64, the generator the fuzzy hashes'
//! reference vectors were computed on (the same generator, written in Python, fed ssdeep and
//! py-tlsh the same bytes).

/// `len` bytes of splitmix64 output from `seed`, each 64-bit word little-endian.
pub fn splitmix64(len: usize, seed: u64) -> Vec<u8> {
    let mut state = seed;
    let mut out = Vec::with_capacity(len + 8);
    while out.len() < len {
        state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = state;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^= z >> 31;
        out.extend_from_slice(&z.to_le_bytes());
    }
    out.truncate(len);
    out
}
