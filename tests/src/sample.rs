//! The bundled sample, `samples/invoice-4471.eml`: a harmless phishing-style message built
//! from the writers in [`crate::formats`], so it can be read here, changed and regenerated
//! (`cargo xtask samples`; a test checks the committed file is what this builds).
//!
//! Every address in it is reserved for documentation (`example.net`, `example.org`,
//! 198.51.100.0/24, RFC 2606 and RFC 5737): nothing in it resolves. The macro opens one such
//! address and does nothing else; the PDF's script shows a message box; the shortcut starts
//! `cmd.exe` to open the same address. What makes it look like phishing is its shape:
//!
//! ```text
//! invoice-4471.eml                      multipart/mixed
//! ├── text/plain, text/html             a link whose text and address differ
//! ├── Invoice_4471.zip                  deflated, as mailed archives are
//! │   ├── Invoice_4471.docm             ThisDocument runs on open (Document_Open)
//! │   │   └── word/vbaProject.bin       the macro, holding a URL
//! │   └── Scan_4471.lnk                 cmd.exe, minimised, with a URL in its arguments
//! └── Remittance_4471.pdf               /OpenAction JavaScript and a /URI link
//! ```

use crate::formats::lnk::{
    MARCH_2024, Shortcut, block, environment_block, file_item, guid_bytes, link_info, my_computer,
    root_item, tracker_block, uuid_v1, volume_item,
};
use crate::formats::office::{VbaProject, docm_parts, entries, module, this_document};
use crate::formats::pdf::{Writer, flate};
use crate::formats::{mime, zip};

/// Where the sample lives, from the repository's root.
pub const PATH: &str = "samples/invoice-4471.eml";

/// The address the macro, the PDF and the shortcut point at.
const PORTAL: &str = "https://portal.example.net/invoice/4471/view";

/// The macro: on open, it follows one hyperlink.
const MACRO: &str = "Private Sub Document_Open()\r\n    Dim portal As String\r\n    ' Made by stoq's sample script (tests/src/sample.rs): it opens a reserved\r\n    ' example address and does nothing else.\r\n    portal = \"https://portal.example.net/invoice/4471/view\"\r\n    ActiveDocument.FollowHyperlink portal\r\nEnd Sub\r\n";

/// A macro-enabled Word document: its package (deflated, as Word writes it) holds
/// `word/vbaProject.bin` with ThisDocument and one empty module.
pub fn docm() -> Vec<u8> {
    let project = VbaProject::new(&[
        ("ThisDocument", &this_document(MACRO), true),
        ("NewMacros", &module("NewMacros", ""), false),
    ]);
    zip::deflated_zip(&entries(&docm_parts(&project.bin(), None)))
}

/// A one-page PDF: a JavaScript `/OpenAction` that shows a message, and a link annotation
/// whose `/URI` action opens the portal.
pub fn pdf() -> Vec<u8> {
    let page = b"BT /F1 18 Tf 72 700 Td (Remittance advice 4471) Tj ET\nBT /F1 12 Tf 72 660 Td (Open the payment portal to view the remittance.) Tj ET\n";
    let script = b"app.alert({cMsg: \"Remittance 4471: open the payment portal to view it.\", cTitle: \"Remittance\"});\n";
    let mut w = Writer::new("1.7");
    w.obj(1, "<< /Type /Catalog /Pages 2 0 R /OpenAction 5 0 R >>")
        .obj(2, "<< /Type /Pages /Kids [3 0 R] /Count 1 >>")
        .obj(
            3,
            "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R /Annots [6 0 R] /Resources << /Font << /F1 7 0 R >> >> >>",
        )
        .stream(4, "/Filter /FlateDecode", &flate(page))
        .obj(5, "<< /Type /Action /S /JavaScript /JS 8 0 R >>")
        .obj(
            6,
            &format!(
                "<< /Type /Annot /Subtype /Link /Rect [72 640 400 680] /Border [0 0 0] /A << /Type /Action /S /URI /URI ({PORTAL}) >> >>"
            ),
        )
        .obj(7, "<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>")
        .stream(8, "/Filter /FlateDecode", &flate(script));
    w.finish(1)
}

/// A shortcut to `cmd.exe`, minimised, whose arguments open the portal, with a document's
/// icon and the name of the machine it was made on.
pub fn lnk() -> Vec<u8> {
    let droid_volume = guid_bytes(0x4471_0001, 0x4471, 0x4471, [4, 4, 7, 1, 4, 4, 7, 1]);
    let droid_file = uuid_v1(MARCH_2024, [0x00, 0x0c, 0x29, 0x44, 0x71, 0x01]);
    Shortcut {
        attributes: 0x20,
        show: 7,
        file_size: 289_792,
        id_list: Some(vec![
            root_item(my_computer()),
            volume_item("C:\\"),
            file_item(true, "Windows", "Windows", 0),
            file_item(true, "System32", "System32", 0),
            file_item(false, "cmd.exe", "cmd.exe", 289_792),
        ]),
        link_info: Some(link_info(
            Some(("C:\\Windows\\System32\\cmd.exe", "OS", 0x4471_abcd)),
            None,
            "",
        )),
        unicode: true,
        name: Some("Scanned receipt 4471".into()),
        relative_path: Some("..\\..\\..\\Windows\\System32\\cmd.exe".into()),
        working_dir: Some("%TEMP%".into()),
        arguments: Some(format!("/c start \"\" {PORTAL}")),
        icon_location: Some("%SystemRoot%\\System32\\imageres.dll".into()),
        blocks: vec![
            environment_block("%windir%\\System32\\cmd.exe"),
            tracker_block("desktop-4471", droid_volume, droid_file),
            block(0xa000_0009, &[0; 4]),
        ],
        ..Default::default()
    }
    .build()
}

/// The message: a short text and HTML body, the zip, and the PDF.
pub fn phishing_email() -> Vec<u8> {
    let archive = zip::deflated_zip(&[("Invoice_4471.docm", &docm()), ("Scan_4471.lnk", &lnk())]);
    let plain = "Dear customer,\n\nInvoice 4471 is 30 days overdue. The invoice and a scan of the receipt are\nattached; the remittance advice is in the PDF. Pay today at\nhttps://www.example.com/billing to avoid a late fee.\n\nAccounts Payable\n";
    let html = format!(
        "<html><body>\n<p>Dear customer,</p>\n<p>Invoice 4471 is 30 days overdue. The invoice and a scan of the receipt are attached;\nthe remittance advice is in the PDF.</p>\n<p>Pay today at <a href=\"{PORTAL}\">https://www.example.com/billing</a> to avoid a late fee.</p>\n<p>Accounts Payable</p>\n</body></html>\n"
    );
    let body = mime::multipart(
        "mixed",
        "=_mixed_4471",
        &[
            mime::multipart(
                "alternative",
                "=_alternative_4471",
                &[mime::text("plain", plain), mime::text("html", &html)],
            ),
            mime::attachment("application/zip", "Invoice_4471.zip", &archive),
            mime::attachment("application/pdf", "Remittance_4471.pdf", &pdf()),
        ],
    );
    mime::message(
        &[
            (
                "Received",
                "from mail.billing.example.net (mail.billing.example.net [198.51.100.23])\r\n\tby mx.example.org with ESMTPS id 4Q7x9Z; Fri, 01 Mar 2024 09:31:12 +0000",
            ),
            ("Return-Path", "<bounce@billing.example.net>"),
            (
                "From",
                "\"Accounts Payable\" <accounts@billing.example.net>",
            ),
            ("Reply-To", "<payments@billing.example.net>"),
            ("To", "\"J. Doe\" <j.doe@example.org>"),
            ("Subject", "Overdue invoice 4471 - final notice"),
            ("Date", "Fri, 01 Mar 2024 09:31:05 +0000"),
            ("Message-ID", "<20240301093105.4471@billing.example.net>"),
        ],
        body,
    )
}
