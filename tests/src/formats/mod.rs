//! Writers of real file formats, shared by the plugins' unit tests, the end-to-end tests and
//! the bundled sample (`cargo xtask samples`): every sample stoq is tested on is built from
//! these at test time, so each one can be read, changed and regenerated.

pub mod lnk;
pub mod mime;
pub mod office;
pub mod pdf;
pub mod rtf;
pub mod zip;
