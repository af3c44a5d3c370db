//! The hashes against the reference tools' output on the same bytes.

use super::inputs::{family, fnv1a64, input};
use crate::{ssdeep, tlsh};

/// `random_10m_plus_1` (10 MiB + 1 bytes) is checked in
/// `large_payloads_hashed_on_two_threads_give_the_same_values`, with the same tools' values.
///
/// (input (see `inputs::input`), `ssdeep -b` 2.14.1 (Debian ssdeep 2.14.1+git20180629.57fcfff-3), `tlsh.hash` of
/// py-tlsh 5.0.0 (`None`: it printed `TNULL`)).
const VECTORS: &[(&str, &str, Option<&str>)] = &[
    ("empty", "3::", None),
    ("random_1", "3:k:k", None),
    ("random_49", "3:py40ofsl+8Q0FqU:c4RIQ0YU", None),
    (
        "random_50",
        "3:vX2R+3ElzSFjq32j04xq:v2smzSF5Q4xq",
        Some("T15490024E4079949D9508785972C515D018D6E75D3701E9061450821491090164A91500"),
    ),
    (
        "random_51",
        "3:Sm51cGdSGQvYm7DvcrE:SULbmPP",
        Some("T1F6900258084C3A2920482299AD0E510550D966C361BA845802D94D46EDD015D90964C8"),
    ),
    (
        "random_4096",
        "96:buG+h26rtCgtMV763/UHNJ1DPqK5S+8zrGqnYfK6/hcMjRh5bgKP:bxQAcOw/UtyHHRYiSh3RhnP",
        Some("T13E816DA3CCD0AE351552AFD42CA03EF3F56412B96923848D4668E033C403B549366ADD"),
    ),
    (
        "random_1m",
        "24576:xH5wR0gRmyjOgWN/V7soKiOB1XzIQwU2bvnl76s73C/swQDG4hG:xLlB/V7soRIzAU+l7RfwQCCG",
        Some("T1C92533D9E533D4B84B1BF30D438F3979D78C9807A9745BDA57010C324296E8F8F2AA66"),
    ),
    ("zeros_4096", "3::", None),
    ("zeros_1m", "3::", None),
    ("ff_4096", "3:RRD:LD", None),
    (
        "ab_65536",
        "48:qLi3LfLaxLOpdLjUtddLbyH56U4GkjyFeaGauUJBMpLWEaIjG4qgd9IbTfRBLOZP:m",
        None,
    ),
    (
        "fox_90000",
        "6:FHIGiDIGiDIGiDIGiDIGiDIGiDIGiDIGiDIGiDIGiDIGiDIGiDIGiDIGiDIGiDIF:F9",
        Some("T18C93024A21181794658A18C8438D94B2D2C8C510612114116530614219082259CD8551"),
    ),
    (
        "mod10_1000",
        "24:3ggggggggggggggggggggggggggggggggggggggggggggggggggggggggggggggv:X",
        None,
    ),
    (
        "random_4096_zero_tail",
        "96:5sWDo8q2jq5SPQMggs9MSfhxwa2lkfasVZ8gKzT0YsfY:CWnJrQMggutpglarO0",
        Some("T131817D361853601BD008FE36CD4BB0A2A2A5658859F79825F99873B2568C0EED7EFC80"),
    ),
    (
        "bytes_0_255",
        "6:Iq103+54vmkCNMvWRQzaLhMvmNKzuxBJB16LO5SfG9YmorO0+7ymBADOMeLsGYba:Iq103+54vmkCNMvWRQzaLhMvmNKzuxB9",
        Some("T1DBD09524A6514D7D1F175ADC504E44DF554FCDE301C5002517F146D1C510194440ED1D"),
    ),
    (
        "ternary_64_buckets",
        "24:OIaXtrpj+aLkJE7zM7AfSkzbgKiLH5z00nw7PI35Bmkz:58trAE7zNfXqZn6w6kz",
        None,
    ),
    (
        "ternary_65_buckets",
        "24:q+Y3Te/FdSkmVOl+0va1J5NXjCfgXBCXYLjo7RICKlZtO:qXcSkmVO00iP5NXjCIfMRv6s",
        Some("T142110243BF0C0383C13E1B3000F80B08E320C0283B0B038B0028BA38FC807C22E062C8"),
    ),
    (
        "random_656",
        "12:oBpUj3usUI6nyFVXPbaT87XFvge9nRey+iPgo0ssNueSgxkbGCOL5hgJjnqidt6:oBW3KIac2T87X7RemPOssNzSgxC6gF16",
        Some("T193F0688B72FCF41F552BCDCC10B2248842A4400594F76983154B574328F3CAF7B67297"),
    ),
    (
        "random_657",
        "12:3/TzREDb8QdB1Ztt4CA26I5/eyh8w4tmmz+nNmN6pdYdiEUl4KwoGHn/Qxm7d:rzRg13t4jXIlth8y6d6pdwi4BoGHnIkB",
        Some("T1B401688171F7DE8E2883EBCA5C9CD4D02D72448761EB51F02EC24555C0B54AF28D8C7D"),
    ),
    (
        "random_3171",
        "48:9l1E/JgY35wl+4h6jpt56MT7BvR/WirfJyPPb2BwnHn7VTljIY0D8iAYzHhkyF3Q:9l1E+qw7h64MT7BLByHnpTm7fzDbfo2u",
        Some("T1B8515D46A4F795586E2D856EB22DD885658AC86CA0E4F3711C73EF7108F3D77C1C3848"),
    ),
    (
        "random_3172",
        "48:6WOdrJvLCTHAgKnSw9/SJUdR/CG+iQWQq38mB3epybvECemCUASpkgl4l7f:nuJHSw9SU3/CrtWde3CeVUA1gi",
        Some("T111616E44EC9FE264D693859F2564E2D4CAC1161F0E92E01D627185BDA9811A57C4412E"),
    ),
    (
        "random_3199",
        "48:lYGbyTmKWyoY+oWMsW+5APpSmcMUMa1VyxJgGE4U3jR/HydktZZKIO1rUGSD93U0:l3nKYRoW+mGk/6JbQ3jNHydkt/KvCh7",
        Some("T190615C83490D1BD71B60D3CB76AB4968A2CF5E7CDED0A4F20A59B9EEC090348B712275"),
    ),
    (
        "random_3200",
        "48:uV+NARmc08211+DN4/wbrNezAXUMOoqLkJF8ASFBg25LCuL+EN1vaJoU/JYTN:a+mmqMeN2wUzAEMTkdo25LjKEN1vaCUk",
        Some("T135616BFBA238EDD812A9A6AD0F6C680208145595D062BECB337C00DEDB62A9544CB40A"),
    ),
    (
        "random_190335",
        "3072:oRljoYD+cls54PD+PJ3TmI5CMYSDMQlhDygUlb7aEZCD43ys5S+xZv+m8aQrQEe4:oRamaiY5h5CMYSFy7l+DlsQY+0eQElZ",
        Some("T1C404230A24620B98D18907B118F74C11EF18D3EBC26E375FB11674B9B5F432A7AE162F"),
    ),
    (
        "random_190336",
        "3072:LaEDJQPgb1KCNmCc9gbuJKIxllPjmWmSOelSNuCWW0k3cs7AtTqKTQC/Cham33LQ:LjfkC29QtiYSlSNuk3r7iPQ8Ch13LQ",
        Some("T14B14120BB4809616DCC625999AEA37D7B39A5C364FED7BFAC004A8473B4C4D08AC55F3"),
    ),
    (
        "random_253337",
        "6144:RUZp9I/AwZv3eFOxoMsG5Hz4Ozhb4BA97vkpgDG:Gvy/AGf17sGtsOJQA975DG",
        Some("T1453422CAEBC979E41A61901698BF133BE531D1BC2083F3838B56C0A4DDE1631AB97F45"),
    ),
    (
        "random_253338",
        "6144:RvWY7xNx+OeVI/RSneTT9ffa6YBo6smHD2MZlixf:R97rkOeVWc+pPYyuHDlixf",
        Some("T1D1442343C2BC8B1E36284E379F0C6CF885B498A3119DB3A04BE79563AD73DDA49C5D25"),
    ),
];

#[test]
fn ssdeep_and_tlsh_equal_the_reference_tools() {
    for &(name, want_ssdeep, want_tlsh) in VECTORS {
        let data = input(name);
        assert_eq!(
            ssdeep::hash(&data).as_deref(),
            Ok(want_ssdeep),
            "ssdeep of {name}"
        );
        assert_eq!(
            tlsh::hash(&data).ok().as_deref(),
            want_tlsh,
            "tlsh of {name}"
        );
    }
}

/// The TLSH header's length byte (the third and fourth hex digits, nibbles swapped) across
/// boundaries of the length encoding, as py-tlsh 5.0.0 printed it for the inputs above.
#[test]
fn tlsh_length_byte_follows_the_reference_table() {
    for (len, byte) in [
        (50, 0x09),
        (656, 0x0f),
        (657, 0x10),
        (3171, 0x15),
        (3172, 0x16),
        (3199, 0x16),
        (3200, 0x16),
        (190_335, 0x40),
        (190_336, 0x41),
        (253_337, 0x43),
        (253_338, 0x44),
    ] {
        let hash = tlsh::hash(&input(&format!("random_{len}"))).expect("a hash");
        let swapped = u8::from_str_radix(&hash[4..6], 16).expect("hex");
        assert_eq!(swapped.rotate_left(4), byte, "length {len}: {hash}");
    }
}

/// Why TLSH has no value, for the inputs the reference gave `TNULL`.
#[test]
fn tlsh_null_says_why() {
    for (name, why) in [
        ("empty", tlsh::Null::TooShort(0)),
        ("random_49", tlsh::Null::TooShort(49)),
        ("zeros_4096", tlsh::Null::TooUniform { buckets_hit: 2 }),
        (
            "ternary_64_buckets",
            tlsh::Null::TooUniform { buckets_hit: 64 },
        ),
    ] {
        assert_eq!(tlsh::hash(&input(name)), Err(why), "{name}");
    }
    assert_eq!(
        tlsh::Null::TooShort(10).to_string(),
        "TNULL: 10 bytes, TLSH needs at least 50"
    );
    assert_eq!(
        tlsh::Null::TooUniform { buckets_hit: 64 }.to_string(),
        "TNULL: too little variety, 64 of 128 buckets hit, TLSH needs more than 64"
    );
    let mut hasher = tlsh::Tlsh::new();
    hasher.update(&input("ternary_65_buckets"));
    assert_eq!(hasher.buckets_hit(), 65);
}

/// Families of inputs of many sizes, each hashed and the hashes (`TNULL` for no TLSH) joined
/// with newlines: FNV-1a 64 of that text, as computed from `ssdeep -b` 2.14.1 on the same
/// files and py-tlsh 5.0.0 on the same bytes.
#[test]
fn families_of_inputs_equal_the_reference_tools() {
    for (name, count, want_ssdeep, want_tlsh, want_tnull) in [
        (
            "random",
            1201,
            0xeefd_18d5_8bc6_13bd_u64,
            0x8d6e_c0a9_fc9c_3ea3_u64,
            50,
        ),
        ("text", 601, 0xb783_db9d_2ce2_17cc, 0x0127_a6bb_f3f1_92ae, 5),
        (
            "ternary",
            601,
            0x1f45_388d_971c_3d8a,
            0x8de6_b2e1_86f6_b196,
            601,
        ),
        (
            "nibbles",
            501,
            0xc2e8_add4_3b2d_7e36,
            0x2ad1_7721_df4b_4445,
            9,
        ),
        (
            "sparse",
            102,
            0x24b6_59aa_73f0_f564,
            0xa8d7_8e24_80a7_817a,
            20,
        ),
        (
            "constant",
            512,
            0xcd1b_889a_ffea_f8f4,
            0x2be2_55fa_277f_4bcd,
            512,
        ),
    ] {
        let inputs = family(name);
        assert_eq!(inputs.len(), count, "{name}");
        let ssdeep: Vec<String> = inputs
            .iter()
            .map(|data| ssdeep::hash(data).expect("small input"))
            .collect();
        let tlsh: Vec<String> = inputs
            .iter()
            .map(|data| tlsh::hash(data).unwrap_or_else(|_| "TNULL".into()))
            .collect();
        let tnull = tlsh.iter().filter(|h| *h == "TNULL").count();
        assert_eq!(tnull, want_tnull, "{name}: TNULLs");
        assert_eq!(fnv1a64(&ssdeep.join("\n")), want_ssdeep, "{name}: ssdeep");
        assert_eq!(fnv1a64(&tlsh.join("\n")), want_tlsh, "{name}: tlsh");
    }
}
