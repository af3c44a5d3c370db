//! The test inputs, generated here (the reference values were computed on the same bytes,
//! written by the same generator in Python).

pub use stoq_tests::random::splitmix64 as random;

pub const FOX: &[u8] = b"The quick brown fox jumps over the lazy dog.\n";

/// The named inputs of the reference vectors.
pub fn input(name: &str) -> Vec<u8> {
    match name {
        "empty" => Vec::new(),
        "random_1" => random(1, 1),
        "random_49" => random(49, 49),
        "random_50" => random(50, 50),
        "random_51" => random(51, 51),
        "random_4096" => random(4096, 4096),
        "random_1m" => random(1 << 20, 1 << 20),
        "random_10m_plus_1" => random((10 << 20) + 1, 10),
        "zeros_4096" => vec![0; 4096],
        "zeros_1m" => vec![0; 1 << 20],
        "ff_4096" => vec![0xff; 4096],
        "ab_65536" => random(65536, 7).iter().map(|b| b'a' + (b & 1)).collect(),
        "fox_90000" => FOX.repeat(2000),
        "mod10_1000" => (0..1000u32).map(|i| (i % 10) as u8).collect(),
        "random_4096_zero_tail" => {
            let mut data = random(4096, 11);
            data.extend_from_slice(&[0; 64]);
            data
        }
        "bytes_0_255" => (0..=255).collect(),
        // Found by searching: 64 and 65 of TLSH's 128 buckets hit (it needs more than 64).
        "ternary_64_buckets" => ternary_with_head(1, 3, 100),
        "ternary_65_buckets" => ternary_with_head(0, 3, 99),
        // Lengths on both sides of boundaries of TLSH's length encoding (656, 3171; 3199, where
        // its formula changes; 190335, 253337, where floating-point evaluations of the formula
        // miss the table).
        other => match other.strip_prefix("random_").and_then(|n| n.parse().ok()) {
            Some(n) => random(n, n as u64),
            None => panic!("no input {other}"),
        },
    }
}

/// 1000 bytes in 0..3 (`random(1000, seed)` modulo 3), the first `head` replaced by
/// `random(head, head_seed)`.
fn ternary_with_head(seed: u64, head: usize, head_seed: u64) -> Vec<u8> {
    let mut data: Vec<u8> = random(1000, seed).iter().map(|b| b % 3).collect();
    data[..head].copy_from_slice(&random(head, head_seed));
    data
}

/// Families of inputs of many sizes, hashed in bulk against the reference outputs' digest.
pub fn family(name: &str) -> Vec<Vec<u8>> {
    match name {
        "random" => (0..=1200).map(|n| random(n, n as u64)).collect(),
        "text" => {
            let text = FOX.repeat(300);
            (0..=6000).step_by(10).map(|n| text[..n].to_vec()).collect()
        }
        "ternary" => (0..=3000)
            .step_by(5)
            .map(|n| random(n, n as u64 + 7).iter().map(|b| b % 3).collect())
            .collect(),
        "nibbles" => (0..=3000)
            .step_by(6)
            .map(|n| random(n, n as u64 + 3).iter().map(|b| b & 0x0f).collect())
            .collect(),
        "sparse" => (0..=20000)
            .step_by(197)
            .map(|n| {
                random(n, n as u64 + 5)
                    .iter()
                    .map(|&b| if b < 8 { b } else { 0 })
                    .collect()
            })
            .collect(),
        // Every byte value repeated 2000 times, then every pair (b, 7b + 1) 1000 times: constant
        // rolling hashes, so a trigger point at every byte for some of them.
        "constant" => (0..=255u8)
            .map(|b| vec![b; 2000])
            .chain((0..=255u8).map(|b| [b, b.wrapping_mul(7).wrapping_add(1)].repeat(1000)))
            .collect(),
        other => panic!("no family {other}"),
    }
}

/// FNV-1a, 64 bits: the digest of a family's hashes, one a line.
pub fn fnv1a64(text: &str) -> u64 {
    text.bytes().fold(0xcbf2_9ce4_8422_2325, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01b3)
    })
}
