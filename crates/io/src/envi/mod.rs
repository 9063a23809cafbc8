//! ENVI raw rasters: header parsing ([`parse_header`]), a memory-mapped reader
//! ([`EnviCube`]) and a writer ([`write_envi`]).

pub mod header;
pub mod reader;
mod transpose;
pub mod writer;

pub use header::{parse_header, ByteOrder, DataType, EnviHeader, Interleave, MapInfo};
pub use reader::{find_data_file, find_header_file, meta_from_header, read_header, EnviCube};
pub use writer::{map_info_from_georef, output_paths, write_envi, EnviWriteOptions};
