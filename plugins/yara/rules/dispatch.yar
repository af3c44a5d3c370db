// stoq's bundled dispatch rules: route payloads to the plugins that unpack or parse them.
// A matching rule's meta `plugin = "a, b"` names the workers; `save = "false"` keeps the
// payload out of destination archivers. Replace them with the `dispatch_rules` option.

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
        $mbox = "From "
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
        ($mbox at 0 or $from at 0 or $received at 0 or $return_path at 0 or $message_id at 0
            or $date at 0 or $mime at 0 or $delivered at 0)
        and 3 of ($from, $received, $return_path, $message_id, $date, $subject, $to, $mime, $delivered)
}

rule base64_text {
    meta: plugin = "b64decode" description = "base64-encoded data"
    strings:
        $lines = /[A-Za-z0-9+\/]{60,76}\r?\n[A-Za-z0-9+\/]{60,76}\r?\n/
        $single = /[A-Za-z0-9+\/]{64,}={0,2}/
    condition:
        $lines at 0 or ($single at 0 and !single[1] >= filesize - 2)
}
