import "math"

// stoq's bundled dispatch rules: route payloads to the plugins that unpack or parse them.
// A matching rule's meta `plugin = "a, b"` names the workers; `save = "false"` keeps the
// payload out of destination archivers. Replace them with the `dispatch_rules` option.
//
// Every rule here scans any input in time linear in its size (plugins/yara/src/tests.rs
// checks it on adversarial inputs): no regular expression with unbounded repetition, which
// YARA-X tries at every offset; strings only as literals; structure checked with byte tests
// at fixed offsets, bounded loops and `filesize`.

rule zip_file {
    meta: plugin = "decompress" description = "zip archive"
    condition: uint32(0) == 0x04034b50 or uint32(0) == 0x06054b50
}

rule gzip_file {
    meta: plugin = "decompress" description = "gzip stream"
    condition: uint16(0) == 0x8b1f
}

rule bzip2_file {
    meta: plugin = "decompress" description = "bzip2 stream"
    condition: uint16(0) == 0x5a42 and uint8(2) == 0x68
}

rule xz_file {
    meta: plugin = "decompress" description = "xz stream"
    condition: uint32(0) == 0x587a37fd and uint16(4) == 0x005a
}

rule zstd_file {
    meta: plugin = "decompress" description = "zstd stream"
    condition: uint32(0) == 0xfd2fb528
}

rule sevenzip_file {
    meta: plugin = "decompress" description = "7z archive"
    condition: uint32(0) == 0xafbc7a37 and uint16(4) == 0x1c27
}

rule tar_file {
    meta: plugin = "decompress" description = "tar archive"
    condition: filesize > 262 and uint32(257) == 0x61747375 and uint8(261) == 0x72
}

rule pe_file {
    meta: plugin = "peinfo" description = "Windows PE executable"
    condition: uint16(0) == 0x5a4d and filesize > 0x40 and uint32(0x3c) < filesize - 4
        and uint32(uint32(0x3c)) == 0x00004550
}

rule email_file {
    meta: plugin = "smtp" description = "RFC 5322 email"
    strings:
        // The first line: an mbox "From " line or a header. These are used only `at 0`, so
        // YARA-X compares them at offset 0 alone instead of searching the payload.
        $first_mbox = "From "
        $first_from = "From:" nocase
        $first_received = "Received:" nocase
        $first_return_path = "Return-Path:" nocase
        $first_message_id = "Message-ID:" nocase
        $first_date = "Date:" nocase
        $first_mime = "MIME-Version:" nocase
        $first_delivered = "Delivered-To:" nocase
        // Header names anywhere: literals, so each occurrence costs constant time (and a
        // dispatcher, which scans in fast mode, stops looking for each after its first one).
        $from = "From:" nocase
        $received = "Received:" nocase
        $return_path = "Return-Path:" nocase
        $message_id = "Message-ID:" nocase
        $date = "Date:" nocase
        $subject = "Subject:" nocase
        $to = "To:" nocase
        $mime = "MIME-Version:" nocase
        $delivered = "Delivered-To:" nocase
    condition:
        ($first_mbox at 0 or $first_from at 0 or $first_received at 0 or $first_return_path at 0
            or $first_message_id at 0 or $first_date at 0 or $first_mime at 0
            or $first_delivered at 0)
        and 3 of ($from, $received, $return_path, $message_id, $date, $subject, $to, $mime, $delivered)
}

// A file that is base64 text: wrapped lines of 60-76 characters from offset 0, or one run of
// base64 from offset 0 to the end (then at most two `=` and one line break). No strings: the
// first 60 bytes and the first two lines are byte tests (constant time), and the one-run form
// counts the alphabet's bytes with `math.count` (64 linear passes, only on payloads whose
// first 60 bytes are base64).
rule base64_text {
    meta: plugin = "b64decode" description = "base64-encoded data"
    condition:
        filesize >= 64
        and for all i in (0..59) : (
            with c = uint8(i) : (
                (c >= 0x41 and c <= 0x5a) or (c >= 0x61 and c <= 0x7a) or (c >= 0x30 and c <= 0x39)
                    or c == 0x2b or c == 0x2f
            )
        )
        and (
            // Wrapped: line 1 is [0, a), line 2 is [s, b), each ending in "\n" or "\r\n".
            for any a in (60..76) : (
                (uint8(a) == 0x0a or uint16be(a) == 0x0d0a)
                and for all i in (0..a - 1) : (
                    with c = uint8(i) : (
                        (c >= 0x41 and c <= 0x5a) or (c >= 0x61 and c <= 0x7a) or (c >= 0x30 and c <= 0x39)
                            or c == 0x2b or c == 0x2f
                    )
                )
                and with s = a + 1 + math.to_number(uint8(a) == 0x0d) : (
                    for any b in (s + 60..s + 76) : (
                        (uint8(b) == 0x0a or uint16be(b) == 0x0d0a)
                        and for all i in (s..b - 1) : (
                            with c = uint8(i) : (
                                (c >= 0x41 and c <= 0x5a) or (c >= 0x61 and c <= 0x7a) or (c >= 0x30 and c <= 0x39)
                                    or c == 0x2b or c == 0x2f
                            )
                        )
                    )
                )
            )
            // One run: t line-break bytes at the end, e `=` before them, n base64 bytes before
            // those (every byte of [0, n) is one of the 64 characters).
            or with
                t = math.to_number(uint8(filesize - 1) == 0x0a)
                    + math.to_number(uint16be(filesize - 2) == 0x0d0a),
                e = math.to_number(uint8(filesize - t - 1) == 0x3d)
                    + math.to_number(uint16be(filesize - t - 2) == 0x3d3d),
                n = filesize - t - e : (
                n >= 64
                and math.count(0x41, 0, n) + math.count(0x42, 0, n) + math.count(0x43, 0, n) + math.count(0x44, 0, n) +
                    math.count(0x45, 0, n) + math.count(0x46, 0, n) + math.count(0x47, 0, n) + math.count(0x48, 0, n) +
                    math.count(0x49, 0, n) + math.count(0x4a, 0, n) + math.count(0x4b, 0, n) + math.count(0x4c, 0, n) +
                    math.count(0x4d, 0, n) + math.count(0x4e, 0, n) + math.count(0x4f, 0, n) + math.count(0x50, 0, n) +
                    math.count(0x51, 0, n) + math.count(0x52, 0, n) + math.count(0x53, 0, n) + math.count(0x54, 0, n) +
                    math.count(0x55, 0, n) + math.count(0x56, 0, n) + math.count(0x57, 0, n) + math.count(0x58, 0, n) +
                    math.count(0x59, 0, n) + math.count(0x5a, 0, n) + math.count(0x61, 0, n) + math.count(0x62, 0, n) +
                    math.count(0x63, 0, n) + math.count(0x64, 0, n) + math.count(0x65, 0, n) + math.count(0x66, 0, n) +
                    math.count(0x67, 0, n) + math.count(0x68, 0, n) + math.count(0x69, 0, n) + math.count(0x6a, 0, n) +
                    math.count(0x6b, 0, n) + math.count(0x6c, 0, n) + math.count(0x6d, 0, n) + math.count(0x6e, 0, n) +
                    math.count(0x6f, 0, n) + math.count(0x70, 0, n) + math.count(0x71, 0, n) + math.count(0x72, 0, n) +
                    math.count(0x73, 0, n) + math.count(0x74, 0, n) + math.count(0x75, 0, n) + math.count(0x76, 0, n) +
                    math.count(0x77, 0, n) + math.count(0x78, 0, n) + math.count(0x79, 0, n) + math.count(0x7a, 0, n) +
                    math.count(0x30, 0, n) + math.count(0x31, 0, n) + math.count(0x32, 0, n) + math.count(0x33, 0, n) +
                    math.count(0x34, 0, n) + math.count(0x35, 0, n) + math.count(0x36, 0, n) + math.count(0x37, 0, n) +
                    math.count(0x38, 0, n) + math.count(0x39, 0, n) + math.count(0x2b, 0, n) + math.count(0x2f, 0, n) == n
            )
        )
}
