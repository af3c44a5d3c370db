//! ELF and Mach-O (thin and fat) parsing on arbitrary bytes, as is and behind each format's
//! magic (so every input reaches the parsers' insides).
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = stoq_plugin_unix_exec::elf::inspect(data);
    let _ = stoq_plugin_unix_exec::macho::inspect(data);
    let Some((&selector, rest)) = data.split_first() else {
        return;
    };
    let magic: &[u8] = match selector % 6 {
        0 => b"\x7fELF\x02\x01\x01\x00",
        1 => b"\x7fELF\x01\x02\x01\x00",
        2 => &[0xcf, 0xfa, 0xed, 0xfe],
        3 => &[0xce, 0xfa, 0xed, 0xfe],
        4 => &[0xca, 0xfe, 0xba, 0xbe],
        _ => &[0xca, 0xfe, 0xba, 0xbf],
    };
    let input = [magic, rest].concat();
    let _ = stoq_plugin_unix_exec::elf::inspect(&input);
    let _ = stoq_plugin_unix_exec::macho::inspect(&input);
});
