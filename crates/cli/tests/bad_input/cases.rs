//! The bad-input catalogue: one entry per way of getting an input wrong, across every
//! command. Each is run by `catalogue` in `bad_input.rs` against the failure contract
//! of `harness::check`.

use super::harness::{case, edit, fifo, put, radiance, write_cube, Case, BANDS, LINES, SAMPLES};
use std::path::Path;

/// Replaces the base cube by one of `dims` with values from `value`.
fn cube(
    dims: (usize, usize, usize),
    value: fn(usize, usize, usize) -> f32,
) -> impl Fn(&Path) + Send + Sync {
    move |d: &Path| write_cube(d, "cube", dims, value)
}

const BASE: (usize, usize, usize) = (LINES, SAMPLES, BANDS);

/// Header edits: (name, from, to, words the message must hold).
const HEADER_EDITS: &[(&str, &str, &str, &[&str])] = &[
    (
        "header without samples",
        "samples = 8\n",
        "",
        &["cube.hdr", "samples"],
    ),
    (
        "header with zero lines",
        "lines = 64",
        "lines = 0",
        &["cube.hdr", "lines"],
    ),
    (
        "header with negative bands",
        "bands = 48",
        "bands = -3",
        &["cube.hdr", "bands"],
    ),
    (
        "header with text samples",
        "samples = 8",
        "samples = eight",
        &["cube.hdr", "samples"],
    ),
    (
        "header with complex data type",
        "data type = 4",
        "data type = 6",
        &["cube.hdr", "data type"],
    ),
    (
        "header with unknown data type",
        "data type = 4",
        "data type = 99",
        &["cube.hdr", "data type"],
    ),
    (
        "header with byte order 7",
        "byte order = 0",
        "byte order = 7",
        &["cube.hdr", "byte order"],
    ),
    (
        "header with unknown interleave",
        "interleave = bil",
        "interleave = xyz",
        &["cube.hdr", "interleave"],
    ),
    (
        "header without interleave",
        "interleave = bil\n",
        "",
        &["cube.hdr", "interleave"],
    ),
    (
        "header with duplicate key",
        "lines = 64\n",
        "lines = 64\nlines = 32\n",
        &["cube.hdr", "lines"],
    ),
    (
        "header with one wavelength too many",
        "wavelength = {",
        "wavelength = {2000.0, ",
        &["cube.hdr", "wavelength"],
    ),
    (
        "header with one fwhm too few",
        "fwhm = {8.5, ",
        "fwhm = {",
        &["cube.hdr", "fwhm"],
    ),
    (
        "header with a NaN wavelength",
        "2100.0, 2108.0",
        "nan, 2108.0",
        &["cube.hdr", "wavelength"],
    ),
    (
        "header with a text wavelength",
        "2100.0, 2108.0",
        "two, 2108.0",
        &["cube.hdr", "wavelength"],
    ),
    (
        "header with a 6000 nm fwhm",
        "fwhm = {8.5",
        "fwhm = {6000",
        &["cube.hdr", "fwhm"],
    ),
    (
        "header with a zero fwhm",
        "fwhm = {8.5",
        "fwhm = {0",
        &["cube.hdr", "fwhm"],
    ),
    (
        "header with a negative fwhm",
        "fwhm = {8.5",
        "fwhm = {-8.5",
        &["cube.hdr", "fwhm"],
    ),
    (
        "header in micrometres with nm fwhm",
        "wavelength units = Nanometers",
        "wavelength units = Micrometers",
        &["cube.hdr", "fwhm"],
    ),
    (
        "header offset past the data",
        "header offset = 0",
        "header offset = 1000000",
        &["cube.img"],
    ),
    (
        "header with negative offset",
        "header offset = 0",
        "header offset = -4",
        &["cube.hdr", "header offset"],
    ),
    (
        "header that is not ENVI",
        "ENVI\n",
        "NOT ENVI\n",
        &["cube.hdr", "ENVI"],
    ),
    (
        "header with an unterminated list",
        "fwhm = {8.5, ",
        "fwhm = 8.5, ",
        &["cube.hdr"],
    ),
    (
        "header with absurd dimensions",
        "samples = 8",
        "samples = 4000000000000",
        &["cube.hdr"],
    ),
    (
        "header with bad data ignore value",
        "byte order = 0\n",
        "byte order = 0\ndata ignore value = none\n",
        &["cube.hdr", "data ignore value"],
    ),
    (
        "header with malformed map info",
        "byte order = 0\n",
        "byte order = 0\nmap info = {UTM, 1}\n",
        &["cube.hdr", "map info"],
    ),
    (
        "header with zero pixel size",
        "byte order = 0\n",
        "byte order = 0\nmap info = {UTM, 1, 1, 600000, 3500000, 0, 30, 13, North, WGS-84}\n",
        &["cube.hdr", "map info"],
    ),
];

/// A GDAL virtual raster that claims 10⁶ × 10⁶ pixels of a one-pixel source: opening
/// it costs nothing, allocating for it would abort.
const HUGE_VRT: &str = r#"<VRTDataset rasterXSize="1000000" rasterYSize="1000000">
  <VRTRasterBand dataType="Float32" band="1">
    <SimpleSource><SourceFilename relativeToVRT="1">cube.img</SourceFilename><SourceBand>1</SourceBand></SimpleSource>
  </VRTRasterBand>
</VRTDataset>
"#;

/// Writes `g.hdr/.img`: a 16 × 16 GLT of `bands` bands with values from `value` and a
/// UTM map grid.
fn glt(d: &Path, bands: usize, value: fn(usize, usize, usize) -> f32) {
    write_cube(d, "g", (16, 16, bands), value);
    edit(
        d,
        "g.hdr",
        "byte order = 0\n",
        "byte order = 0\nmap info = {UTM, 1, 1, 600000, 3500000, 30, 30, 13, North, WGS-84}\n",
    );
}

/// The catalogue.
pub fn all() -> Vec<Case> {
    let mut v = Vec::new();

    // ---- info: header and data file problems, each on its own.
    for &(name, from, to, expect) in HEADER_EDITS {
        v.push(case(name, "info cube.hdr", expect).setup(move |d| edit(d, "cube.hdr", from, to)));
    }
    v.extend([
        case("info of a missing file", "info nope.hdr", &["nope.hdr"]),
        case("info of an empty header", "info cube.hdr", &["cube.hdr"])
            .setup(|d| put(d, "cube.hdr", "")),
        case("info of a binary header", "info cube.hdr", &["cube.hdr"])
            .setup(|d| std::fs::write(d.join("cube.hdr"), [0xffu8, 0xfe, 0, 1, 2, 0x80]).unwrap()),
        case("info of a 17 MiB header", "info cube.hdr", &["cube.hdr"]).setup(|d| {
            let mut h = std::fs::read_to_string(d.join("cube.hdr")).unwrap();
            h.push_str(&format!("description = {{{}}}\n", "x".repeat(17 << 20)));
            put(d, "cube.hdr", &h)
        }),
        case(
            "info of a folder named like a header",
            "info dir.hdr",
            &["dir.hdr", "directory"],
        )
        .setup(|d| std::fs::create_dir(d.join("dir.hdr")).unwrap()),
        case("info of a FIFO header", "info pipe.hdr", &["pipe.hdr"])
            .setup(|d| fifo(d, "pipe.hdr")),
        case("info with a FIFO data file", "info cube.hdr", &["cube.img"])
            .setup(|d| fifo(d, "cube.img")),
        case(
            "info with a short data file",
            "info cube.hdr",
            &["cube.img"],
        )
        .setup(|d| {
            let b = std::fs::read(d.join("cube.img")).unwrap();
            std::fs::write(d.join("cube.img"), &b[..b.len() - 3]).unwrap()
        }),
        case(
            "info with an empty data file",
            "info cube.hdr",
            &["cube.img"],
        )
        .setup(|d| std::fs::write(d.join("cube.img"), b"").unwrap()),
        case("info without a data file", "info cube.hdr", &["cube"])
            .setup(|d| std::fs::remove_file(d.join("cube.img")).unwrap()),
        case("info of /dev/zero", "info /dev/zero", &["/dev/zero"]),
        case("info of a text file", "info notes.txt", &["notes.txt"])
            .setup(|d| put(d, "notes.txt", "hello\n")),
        case("info of a name with a newline", "", &["cu\\nbe.hdr"]).args(&["info", "cu\nbe.hdr"]),
        case(
            "info of a name with an escape sequence",
            "",
            &["\\u{1b}[31mred.hdr"],
        )
        .args(&["info", "\u{1b}[31mred.hdr"]),
    ]);

    // ---- detect.
    v.extend([
        case(
            "detect on an all-zero cube",
            "detect cube.hdr -o out.tif",
            &["cube.hdr", "radiance"],
        )
        .setup(cube(BASE, |_, _, _| 0.0)),
        case(
            "detect on an all-NaN cube",
            "detect cube.hdr -o out.tif",
            &["cube.hdr", "radiance"],
        )
        .setup(cube(BASE, |_, _, _| f32::NAN)),
        case(
            "detect on a constant cube",
            "detect cube.hdr -o out.tif",
            &["cube.hdr", "radiance"],
        )
        .setup(cube(BASE, |_, _, _| 0.5)),
        case(
            "detect on an all-negative cube",
            "detect cube.hdr -o out.tif",
            &["cube.hdr", "radiance"],
        )
        .setup(cube(BASE, |l, s, b| -radiance(l, s, b))),
        case(
            "detect on a one-line cube",
            "detect cube.hdr -o out.tif",
            &["cube.hdr", "lines"],
        )
        .setup(cube((1, SAMPLES, BANDS), radiance)),
        case(
            "detect on fewer lines than bands",
            "detect cube.hdr -o out.tif",
            &["cube.hdr", "lines"],
        )
        .setup(cube((20, SAMPLES, BANDS), radiance)),
        case(
            "detect on a cube without wavelengths",
            "detect cube.hdr -o out.tif",
            &["cube.hdr", "wavelength"],
        )
        .setup(|d| {
            let h = std::fs::read_to_string(d.join("cube.hdr")).unwrap();
            let h: String = h
                .lines()
                .filter(|l| !l.starts_with("wavelength ="))
                .map(|l| format!("{l}\n"))
                .collect();
            put(d, "cube.hdr", &h)
        }),
        case(
            "detect on decreasing wavelengths",
            "detect cube.hdr -o out.tif",
            &["cube.hdr", "wavelength", "below"],
        )
        .setup(|d| edit(d, "cube.hdr", "2100.0, 2108.0", "2400.0, 2108.0")),
        case(
            "detect on a repeated wavelength",
            "detect cube.hdr -o out.tif",
            &["cube.hdr", "wavelength", "both"],
        )
        .setup(|d| edit(d, "cube.hdr", "2100.0, 2108.0", "2108.0, 2108.0")),
        case(
            "scan of decreasing wavelengths",
            "scan cube.hdr --gsd 30 --limit-runs 0 -o out",
            &["cube.hdr", "wavelength", "below"],
        )
        .setup(|d| edit(d, "cube.hdr", "2100.0, 2108.0", "2400.0, 2108.0")),
        case(
            "inject into a repeated wavelength",
            "simulate inject --cube cube.hdr --sources sources.json --gsd 30 -o out",
            &["cube.hdr", "wavelength", "both"],
        )
        .setup(|d| edit(d, "cube.hdr", "2100.0, 2108.0", "2108.0, 2108.0")),
        case(
            "target of a header with decreasing wavelengths",
            "target --sensor cube.hdr -o t.csv",
            &["cube.hdr", "wavelength", "below"],
        )
        .setup(|d| edit(d, "cube.hdr", "2100.0, 2108.0", "2400.0, 2108.0")),
        case(
            "detect on a VRT of a trillion pixels",
            "detect huge.vrt -o out.tif",
            &["huge.vrt", "dimensions", "memory"],
        )
        .setup(|d| put(d, "huge.vrt", HUGE_VRT)),
        case(
            "inject into a VRT of a trillion pixels",
            "simulate inject --cube huge.vrt --sources sources.json --gsd 30 -o out",
            &["huge.vrt", "dimensions", "memory"],
        )
        .setup(|d| put(d, "huge.vrt", HUGE_VRT)),
        case(
            "detect with a window outside the cube",
            "detect cube.hdr --window 1000,1100 -o out.tif",
            &["window"],
        ),
        case(
            "detect with an inverted window",
            "detect cube.hdr --window 2400,2200 -o out.tif",
            &["window"],
        )
        .clap(),
        case(
            "detect with an unknown gas",
            "detect cube.hdr --gas xenon -o out.tif",
            &["xenon"],
        ),
        case(
            "detect with a missing gas sidecar",
            "detect cube.hdr --gas nope.json -o out.tif",
            &["nope.json"],
        ),
        case(
            "detect with a malformed gas sidecar",
            "detect cube.hdr --gas gas.json -o out.tif",
            &["gas.json"],
        )
        .setup(|d| put(d, "gas.json", "{\"gas\": ")),
        case(
            "detect with a malformed target",
            "detect cube.hdr --target t.csv -o out.tif",
            &["t.csv"],
        )
        .setup(|d| put(d, "t.csv", "wavelength_nm,target\n2100,abc\n")),
        case(
            "detect with a target of the wrong bands",
            "detect cube.hdr --target t.csv -o out.tif",
            &["t.csv"],
        )
        .setup(|d| put(d, "t.csv", "wavelength_nm,target\n2100,1.0\n2108,2.0\n")),
        case(
            "detect onto /dev/null",
            "detect cube.hdr -o /dev/null",
            &["/dev/null"],
        ),
        case(
            "detect onto a FIFO",
            "detect cube.hdr -o out.fifo",
            &["out.fifo"],
        )
        .setup(|d| fifo(d, "out.fifo")),
        case(
            "detect onto a folder",
            "detect cube.hdr -o outdir",
            &["outdir"],
        )
        .setup(|d| std::fs::create_dir(d.join("outdir")).unwrap()),
        case(
            "detect into a missing folder",
            "detect cube.hdr -o nodir/out.tif",
            &["nodir"],
        ),
        case(
            "detect ENVI onto its input data file",
            "detect cube.hdr --format envi -o cube.img",
            &["cube", "input"],
        ),
        case(
            "detect ENVI onto its input header",
            "detect cube.hdr --format envi -o cube.hdr",
            &["cube", "input"],
        ),
        case(
            "detect with blend weight 2",
            "detect cube.hdr --regularization blend --alpha 2 -o out.tif",
            &["alpha"],
        ),
        case(
            "detect with zero iterations",
            "detect cube.hdr --iter 0 -o out.tif",
            &["iter"],
        ),
        case(
            "detect with zero-column groups",
            "detect cube.hdr --group 0 -o out.tif",
            &["group"],
        ),
        case(
            "detect with a NaN saturation threshold",
            "detect cube.hdr --saturation-threshold NaN -o out.tif",
            &["saturation"],
        ),
        case(
            "detect with a NaN exclusion z",
            "detect cube.hdr --exclude-z NaN -o out.tif",
            &["exclude"],
        ),
        case(
            "detect mag1c with Ledoit-Wolf",
            "detect cube.hdr --regularization ledoit-wolf -o out.tif",
            &["cube.hdr", "Ledoit-Wolf"],
        ),
        case(
            "detect on a truncated cube",
            "detect cube.hdr -o out.tif",
            &["cube.img"],
        )
        .setup(|d| {
            let b = std::fs::read(d.join("cube.img")).unwrap();
            std::fs::write(d.join("cube.img"), &b[..b.len() / 2]).unwrap()
        }),
        case(
            "detect with global statistics of 16 pixels",
            "detect cube.hdr --global -o out.tif",
            &["cube.hdr", "lines"],
        )
        .setup(cube((4, 4, BANDS), radiance)),
    ]);

    // ---- scan.
    let scan = "scan cube.hdr --gsd 30 --limit-runs 0 -o out";
    v.extend([
        case(
            "scan config with an unknown field",
            "scan --config config.json -o out",
            &["config.json", "bogus"],
        )
        .setup(|d| edit(d, "config.json", "{", "{\"bogus\": 1, ")),
        case(
            "scan config that is not JSON",
            "scan --config config.json -o out",
            &["config.json"],
        )
        .setup(|d| put(d, "config.json", "flight_lines: [cube.hdr]")),
        case(
            "scan config with far 2",
            "scan --config config.json -o out",
            &["config.json", "far"],
        )
        .setup(|d| edit(d, "config.json", "\"far\": 0.0001", "\"far\": 2")),
        case(
            "scan config with a missing cube",
            "scan --config config.json -o out",
            &["missing.hdr"],
        )
        .setup(|d| edit(d, "config.json", "\"cube.hdr\"", "\"missing.hdr\"")),
        case(
            "scan config with zero gsd",
            "scan --config config.json -o out",
            &["config.json", "gsd_m"],
        )
        .setup(|d| edit(d, "config.json", "\"gsd_m\": 30.0", "\"gsd_m\": 0.0")),
        case(
            "scan with zero gsd",
            "scan cube.hdr --gsd 0 --limit-runs 0 -o out",
            &["gsd"],
        ),
        case(
            "scan with negative gsd",
            "scan cube.hdr --gsd=-5 --limit-runs 0 -o out",
            &["gsd"],
        ),
        case(
            "scan with a calm wind",
            "scan cube.hdr --gsd 30 --wind 0,270 -o out",
            &["wind", "speed"],
        )
        .clap(),
        case(
            "scan with an absurd wind",
            "scan cube.hdr --gsd 30 --wind 1e30,270 -o out",
            &["wind", "speed"],
        )
        .clap(),
        case(
            "scan with a wind from 400 degrees",
            "scan cube.hdr --gsd 30 --wind 3,400 -o out",
            &["wind", "from_deg"],
        )
        .clap(),
        case(
            "scan with a wind file of unknown keys",
            "scan cube.hdr --gsd 30 --wind-file wind.json -o out",
            &["wind.json", "speed"],
        )
        .setup(|d| put(d, "wind.json", r#"{"speed": 3, "direction": 270}"#)),
        case(
            "scan with a wind file of zero speed",
            "scan cube.hdr --gsd 30 --wind-file wind.json -o out",
            &["wind.json", "speed_m_s"],
        )
        .setup(|d| put(d, "wind.json", r#"{"speed_m_s": 0, "from_deg": 270}"#)),
        case(
            "scan with a wind file that is an array",
            "scan cube.hdr --gsd 30 --wind-file wind.json -o out",
            &["wind.json"],
        )
        .setup(|d| put(d, "wind.json", "[3, 270]")),
        case(
            "scan with a wind file for another cube",
            "scan cube.hdr --gsd 30 --wind-file wind.json -o out",
            &["wind.json", "other.hdr"],
        )
        .setup(|d| {
            put(
                d,
                "wind.json",
                r#"{"passes": {"other.hdr": {"speed_m_s": 3, "from_deg": 270}}}"#,
            )
        }),
        case(
            "scan with a FIFO wind file",
            "scan cube.hdr --gsd 30 --wind-file w.fifo -o out",
            &["w.fifo"],
        )
        .setup(|d| fifo(d, "w.fifo")),
        case(
            "scan of the same cube twice",
            "scan cube.hdr cube.hdr --gsd 30 --limit-runs 0 -o out",
            &["cube.hdr", "same"],
        ),
        case(
            "scan of the same cube by header and data",
            "scan cube.hdr cube.img --gsd 30 --limit-runs 0 -o out",
            &["cube", "same"],
        ),
        case(
            "scan of the same cube through a link",
            "scan cube.hdr twin.hdr --gsd 30 --limit-runs 0 -o out",
            &["twin.hdr", "same"],
        )
        .setup(|d| {
            std::os::unix::fs::symlink("cube.hdr", d.join("twin.hdr")).unwrap();
            std::os::unix::fs::symlink("cube.img", d.join("twin.img")).unwrap()
        }),
        case("scan of an all-zero cube", scan, &["cube.hdr", "radiance"])
            .setup(cube(BASE, |_, _, _| 0.0)),
        case("scan of a constant cube", scan, &["cube.hdr", "radiance"])
            .setup(cube(BASE, |_, _, _| 1.0)),
        case("scan of an all-NaN cube", scan, &["cube.hdr", "radiance"])
            .setup(cube(BASE, |_, _, _| f32::NAN)),
        case("scan of a two-line cube", scan, &["cube.hdr", "lines"])
            .setup(cube((2, SAMPLES, BANDS), radiance)),
        case(
            "scan with a GLT per cube missing",
            "scan cube.hdr cube2.hdr --glt g.hdr --gsd 30 -o out",
            &["glt"],
        )
        .setup(|d| {
            write_cube(d, "cube2", BASE, radiance);
            write_cube(d, "g", (4, 4, 2), |_, _, _| 1.0)
        }),
        case(
            "scan with a GLT without georeferencing",
            "scan cube.hdr --glt g.hdr --gsd 30 --limit-runs 0 -o out",
            &["g.hdr", "map info"],
        )
        .setup(|d| write_cube(d, "g", (4, 4, 3), |_, _, _| 1.0)),
        case(
            "scan with a one-band GLT",
            "scan cube.hdr --glt g.hdr --limit-runs 0 -o out",
            &["g.hdr", "bands"],
        )
        .setup(|d| glt(d, 1, |_, _, _| 1.0)),
        case(
            "scan with a GLT pointing past the cube",
            "scan cube.hdr --glt g.hdr --limit-runs 0 -o out",
            &["g.hdr", "GLT values"],
        )
        .setup(|d| {
            glt(d, 2, |l, s, b| {
                if b == 0 {
                    100.0 + s as f32
                } else {
                    1.0 + l as f32
                }
            })
        }),
        case("scan into a file", scan, &["out"]).setup(|d| put(d, "out", "a file")),
        case(
            "scan into a folder of other things",
            scan,
            &["out", "scan.json"],
        )
        .setup(|d| {
            std::fs::create_dir(d.join("out")).unwrap();
            put(&d.join("out"), "thesis.tex", "years of work")
        }),
        case(
            "scan onto /dev/null",
            "scan cube.hdr --gsd 30 --limit-runs 0 -o /dev/null",
            &["/dev/null"],
        ),
        case(
            "scan with far 0.7",
            "scan cube.hdr --gsd 30 --far 0.7 -o out",
            &["far"],
        ),
        case(
            "scan with a window outside the cube",
            "scan cube.hdr --gsd 30 --window 1000,1100 --limit-runs 0 -o out",
            &["cube.hdr", "window"],
        ),
        case(
            "scan of a missing cube",
            "scan missing.hdr --gsd 30 -o out",
            &["missing.hdr"],
        ),
        case(
            "scan with a negative merge distance",
            "scan cube.hdr --gsd 30 --merge-distance=-1 -o out",
            &["merge"],
        ),
        case(
            "scan with a missing gas sidecar",
            "scan cube.hdr --gsd 30 --gas nope.json --limit-runs 0 -o out",
            &["nope.json"],
        ),
        case(
            "scan of a cube without georeferencing or gsd",
            "scan cube.hdr --limit-runs 0 -o out",
            &["cube.hdr", "gsd"],
        ),
        case("scan of a cube named with a newline", "", &["cu\\nbe.hdr"]).args(&[
            "scan",
            "cu\nbe.hdr",
            "--gsd",
            "30",
            "-o",
            "out",
        ]),
    ]);

    // ---- simulate scene.
    let scene = |extra: &str| {
        format!("simulate scene --sensor emit --lines 40 --samples 20 --gsd 60 {extra} -o out")
    };
    let leak = |s: String| -> &'static str { Box::leak(s.into_boxed_str()) };
    v.extend([
        case(
            "scene of zero lines",
            "simulate scene --sensor emit --lines 0 --samples 20 --gsd 60 -o out",
            &["--lines"],
        ),
        case(
            "scene of a trillion pixels",
            "simulate scene --sensor emit --lines 1000000 --samples 1000000 --gsd 60 -o out",
            &["--lines", "memory"],
        ),
        case(
            "scene with zero gsd",
            "simulate scene --sensor emit --lines 40 --samples 20 --gsd 0 -o out",
            &["--gsd"],
        ),
        case(
            "scene with negative gsd",
            "simulate scene --sensor emit --lines 40 --samples 20 --gsd=-1 -o out",
            &["--gsd"],
        ),
        case(
            "scene with NaN gsd",
            "simulate scene --sensor emit --lines 40 --samples 20 --gsd NaN -o out",
            &["--gsd"],
        ),
        case(
            "scene of an unknown sensor",
            "simulate scene --sensor hyperion9 --lines 40 --samples 20 --gsd 60 -o out",
            &["hyperion9"],
        ),
        case(
            "scene of a malformed band table",
            "simulate scene --sensor bands.csv --lines 40 --samples 20 --gsd 60 -o out",
            &["bands.csv"],
        )
        .setup(|d| edit(d, "bands.csv", "1,1400.0,10.0", "1,fourteen hundred,10.0")),
        case(
            "scene of a band table without noise",
            "simulate scene --sensor bands.csv --lines 40 --samples 20 --gsd 60 -o out",
            &["bands.csv", "--noise"],
        ),
        case(
            "scene with a malformed noise table",
            leak(scene("--noise noise.txt")),
            &["noise.txt"],
        )
        .setup(|d| put(d, "noise.txt", "not a noise table\n")),
        case(
            "scene with a malformed library",
            leak(scene("--library lib.hdr")),
            &["lib.hdr"],
        )
        .setup(|d| put(d, "lib.hdr", "ENVI\nsamples = x\n")),
        case(
            "scene with a source outside",
            leak(scene("--sources sources.json")),
            &["sources.json", "sources[0]", "outside"],
        )
        .setup(|d| edit(d, "sources.json", "\"row\": 30", "\"row\": 500")),
        case(
            "scene with a source of zero wind",
            leak(scene("--sources sources.json")),
            &["sources.json", "wind_speed_m_s"],
        )
        .setup(|d| {
            edit(
                d,
                "sources.json",
                "\"wind_speed_m_s\": 3",
                "\"wind_speed_m_s\": 0",
            )
        }),
        case(
            "scene with a source of absurd wind",
            leak(scene("--sources sources.json")),
            &["sources.json", "wind_speed_m_s"],
        )
        .setup(|d| {
            edit(
                d,
                "sources.json",
                "\"wind_speed_m_s\": 3",
                "\"wind_speed_m_s\": 1e30",
            )
        }),
        case(
            "scene with a wind from 400 degrees",
            leak(scene("--sources sources.json")),
            &["sources.json", "wind_dir_deg"],
        )
        .setup(|d| {
            edit(
                d,
                "sources.json",
                "\"wind_dir_deg\": 270",
                "\"wind_dir_deg\": 400",
            )
        }),
        case(
            "scene with malformed sources",
            leak(scene("--sources sources.json")),
            &["sources.json"],
        )
        .setup(|d| put(d, "sources.json", "[{\"row\": 3,")),
        case(
            "scene with no sources",
            leak(scene("--sources sources.json")),
            &["sources.json", "empty"],
        )
        .setup(|d| put(d, "sources.json", "[]")),
        case(
            "scene with a negative rate",
            leak(scene("--sources sources.json")),
            &["sources.json", "rate_kg_h"],
        )
        .setup(|d| edit(d, "sources.json", "\"rate_kg_h\": 500", "\"rate_kg_h\": -5")),
        case(
            "scene with a source without position",
            leak(scene("--sources sources.json")),
            &["sources.json", "position"],
        )
        .setup(|d| edit(d, "sources.json", "\"row\": 30, \"col\": 4, ", "")),
        case(
            "scene with stability Z",
            leak(scene("--sources sources.json")),
            &["sources.json", "stability"],
        )
        .setup(|d| {
            edit(
                d,
                "sources.json",
                "\"rate_kg_h\"",
                "\"stability\": \"Z\", \"rate_kg_h\"",
            )
        }),
        case(
            "scene with an unknown source field",
            leak(scene("--sources sources.json")),
            &["sources.json", "rate_kgh"],
        )
        .setup(|d| {
            edit(
                d,
                "sources.json",
                "\"rate_kg_h\"",
                "\"rate_kgh\": 3, \"rate_kg_h\"",
            )
        }),
        case(
            "scene with an inverted rate range",
            leak(scene("--random-sources 2 --rate-range 10,5")),
            &["rate"],
        )
        .clap(),
        case("scene into a file", leak(scene("")), &["out"]).setup(|d| put(d, "out", "a file")),
        case(
            "scene onto /dev/null",
            "simulate scene --sensor emit --lines 40 --samples 20 --gsd 60 -o /dev/null",
            &["/dev/null"],
        ),
    ]);

    // ---- simulate inject.
    let inject =
        |extra: &str| format!("simulate inject --cube cube.hdr --sources sources.json {extra}");
    v.extend([
        case(
            "inject in place",
            "simulate inject --cube radiance.hdr --sources sources.json --gsd 30 -o .",
            &["radiance", "input"],
        )
        .setup(|d| write_cube(d, "radiance", BASE, radiance)),
        case(
            "inject in place through a link",
            "simulate inject --cube radiance.hdr --sources sources.json --gsd 30 -o same",
            &["radiance", "input"],
        )
        .setup(|d| {
            write_cube(d, "radiance", BASE, radiance);
            std::os::unix::fs::symlink(".", d.join("same")).unwrap()
        }),
        case(
            "inject in place by the data file",
            "simulate inject --cube radiance.img --sources sources.json --gsd 30 -o .",
            &["radiance", "input"],
        )
        .setup(|d| write_cube(d, "radiance", BASE, radiance)),
        case(
            "inject without gsd or georeferencing",
            leak(inject("-o out")),
            &["cube.hdr", "--gsd"],
        ),
        case(
            "inject with zero gsd",
            leak(inject("--gsd 0 -o out")),
            &["--gsd"],
        ),
        case(
            "inject with a source outside",
            leak(inject("--gsd 30 -o out")),
            &["sources.json", "sources[0]", "outside"],
        )
        .setup(|d| edit(d, "sources.json", "\"col\": 4", "\"col\": -40")),
        case(
            "inject by map position without georeferencing",
            leak(inject("--gsd 30 -o out")),
            &["sources.json", "easting"],
        )
        .setup(|d| {
            edit(
                d,
                "sources.json",
                "\"row\": 30, \"col\": 4",
                "\"easting\": 600000, \"northing\": 3500000",
            )
        }),
        case(
            "inject with a negative meander",
            leak(inject("--gsd 30 --meander-deg=-5 -o out")),
            &["meander"],
        ),
        case(
            "inject into a cube without fwhm",
            leak(inject("--gsd 30 -o out")),
            &["cube.hdr", "fwhm"],
        )
        .setup(|d| {
            let h = std::fs::read_to_string(d.join("cube.hdr")).unwrap();
            let h: String = h
                .lines()
                .filter(|l| !l.starts_with("fwhm ="))
                .map(|l| format!("{l}\n"))
                .collect();
            put(d, "cube.hdr", &h)
        }),
        case(
            "inject into a missing cube",
            "simulate inject --cube none.hdr --sources sources.json --gsd 30 -o out",
            &["none.hdr"],
        ),
        case(
            "inject into a file",
            leak(inject("--gsd 30 -o out")),
            &["out"],
        )
        .setup(|d| put(d, "out", "a file")),
        case(
            "inject with a FIFO for sources",
            "simulate inject --cube cube.hdr --sources s.fifo --gsd 30 -o out",
            &["s.fifo"],
        )
        .setup(|d| fifo(d, "s.fifo")),
    ]);

    // ---- limit.
    let limit = |extra: &str| format!("limit --cube cube.hdr --gsd 30 {extra} -o out");
    v.extend([
        case("limit of zero runs", leak(limit("--runs 0")), &["--runs"]),
        case(
            "limit with a calm wind",
            leak(limit("--wind 0")),
            &["--wind"],
        ),
        case(
            "limit with an absurd wind",
            leak(limit("--wind 1e30")),
            &["--wind"],
        ),
        case(
            "limit from zero kg/h",
            leak(limit("--q-range 0,10")),
            &["q-range"],
        )
        .clap(),
        case(
            "limit with an inverted range",
            leak(limit("--q-range 100,10")),
            &["q"],
        )
        .clap(),
        case("limit with far 2", leak(limit("--far 2")), &["far"]),
        case(
            "limit with a NaN z",
            leak(limit("--z-detect NaN")),
            &["z-detect"],
        ),
        case(
            "limit without gsd",
            "limit --cube cube.hdr -o out",
            &["cube.hdr", "--gsd"],
        ),
        case(
            "limit with zero gsd",
            "limit --cube cube.hdr --gsd 0 -o out",
            &["--gsd"],
        ),
        case(
            "limit of an all-zero cube",
            leak(limit("--runs 1")),
            &["cube.hdr", "radiance"],
        )
        .setup(cube(BASE, |_, _, _| 0.0)),
        case("limit into a file", leak(limit("--runs 1")), &["out"])
            .setup(|d| put(d, "out", "a file")),
    ]);

    // ---- eval.
    v.extend([
        case(
            "eval of a missing truth",
            "eval --truth none --enhancement det.tif -o out",
            &["none"],
        ),
        case(
            "eval of malformed truth",
            "eval --truth truth --enhancement det.tif -o out",
            &["truth_sources.json"],
        )
        .setup(|d| put(&d.join("truth"), "truth_sources.json", "{\"sources\": [")),
        case(
            "eval of truth without gsd",
            "eval --truth truth --enhancement det.tif -o out",
            &["truth_sources.json", "gsd_m"],
        )
        .setup(|d| {
            edit(
                &d.join("truth"),
                "truth_sources.json",
                "\"gsd_m\"",
                "\"gsd\"",
            )
        }),
        case(
            "eval of truth without its mask",
            "eval --truth truth --enhancement det.tif -o out",
            &["truth_mask"],
        )
        .setup(|d| std::fs::remove_file(d.join("truth/truth_mask.tif")).unwrap()),
        case(
            "eval of a map of another size",
            "eval --truth truth --enhancement cube.img -o out",
            &["cube.img", "10"],
        )
        .setup(|d| write_cube(d, "cube", (10, 10, 4), radiance)),
        case(
            "eval of a missing map",
            "eval --truth truth --enhancement none.tif -o out",
            &["none.tif"],
        ),
        case(
            "eval with zero bins",
            "eval --truth truth --enhancement det.tif --bins 0 -o out",
            &["bins"],
        ),
        case(
            "eval with a negative match distance",
            "eval --truth truth --sites s.geojson --match-distance=-1 -o out",
            &["match"],
        )
        .setup(|d| {
            std::fs::copy(d.join("scanout/scan.json"), d.join("s.geojson"))
                .map(|_| ())
                .unwrap()
        }),
        case(
            "eval of malformed sites",
            "eval --truth truth --sites s.geojson -o out",
            &["s.geojson"],
        )
        .setup(|d| {
            put(
                d,
                "s.geojson",
                "{\"type\": \"FeatureCollection\", \"features\": 3}",
            )
        }),
        case(
            "eval into a file",
            "eval --truth truth --enhancement det.tif -o out",
            &["out"],
        )
        .setup(|d| put(d, "out", "a file")),
    ]);

    // ---- target.
    v.extend([
        case(
            "target of an unknown sensor",
            "target --sensor hyperion9 -o t.csv",
            &["hyperion9"],
        ),
        case(
            "target of a malformed band table",
            "target --sensor bands.csv -o t.csv",
            &["bands.csv"],
        )
        .setup(|d| edit(d, "bands.csv", "2,1410.0", "2,abc")),
        case(
            "target of decreasing bands",
            "target --sensor bands.csv -o t.csv",
            &["bands.csv", "wavelength"],
        )
        .setup(|d| edit(d, "bands.csv", "2,1410.0", "2,1100.0")),
        case(
            "target of a repeated band",
            "target --sensor bands.csv -o t.csv",
            &["bands.csv", "wavelength"],
        )
        .setup(|d| edit(d, "bands.csv", "2,1410.0", "2,1400.0")),
        case(
            "target with zero fwhm",
            "target --sensor emit --fwhm 0 -o t.csv",
            &["fwhm"],
        ),
        case(
            "target with NaN fwhm",
            "target --sensor emit --fwhm NaN -o t.csv",
            &["fwhm"],
        ),
        case(
            "target with a window outside the LUT",
            "target --sensor emit --window 500,600 -o t.csv",
            &["window"],
        ),
        case(
            "target of a missing gas sidecar",
            "target --sensor emit --gas nope.json -o t.csv",
            &["nope.json"],
        ),
        case(
            "target onto /dev/null",
            "target --sensor emit -o /dev/null",
            &["/dev/null"],
        ),
        case(
            "target onto a folder",
            "target --sensor emit -o outdir",
            &["outdir"],
        )
        .setup(|d| std::fs::create_dir(d.join("outdir")).unwrap()),
        case(
            "target onto a FIFO",
            "target --sensor emit -o t.fifo",
            &["t.fifo"],
        )
        .setup(|d| fifo(d, "t.fifo")),
    ]);

    // ---- server commands that take files.
    let db = &["db.sqlite"][..];
    v.extend([
        case(
            "ingest of a missing folder",
            "ingest none --campaign c --db db.sqlite",
            &["none"],
        )
        .volatile(db),
        case(
            "ingest of a folder without scan.json",
            "ingest scanout --campaign c --db db.sqlite",
            &["scanout", "scan.json"],
        )
        .setup(|d| std::fs::remove_file(d.join("scanout/scan.json")).unwrap())
        .volatile(db),
        case(
            "ingest of a malformed scan.json",
            "ingest scanout --campaign c --db db.sqlite",
            &["scan.json"],
        )
        .setup(|d| put(&d.join("scanout"), "scan.json", "{\"version\": "))
        .volatile(db),
        case(
            "ingest of a set missing a raster",
            "ingest scanout --campaign c --db db.sqlite",
            &["scanout"],
        )
        .setup(|d| {
            let tif = std::fs::read_dir(d.join("scanout"))
                .unwrap()
                .map(|e| e.unwrap().path())
                .find(|p| p.extension().is_some_and(|e| e == "tif"))
                .unwrap();
            std::fs::remove_file(tif).unwrap()
        })
        .volatile(db),
        case(
            "ingest of a FIFO scan.json",
            "ingest scanout --campaign c --db db.sqlite",
            &["scan.json"],
        )
        .setup(|d| fifo(&d.join("scanout"), "scan.json"))
        .volatile(db),
        case(
            "users add with an unknown role",
            "users add bob --role wizard --db db.sqlite",
            &["wizard"],
        )
        .volatile(db),
        case("users add with a control character", "", &["bob\\u{1b}"])
            .args(&[
                "users",
                "add",
                "bob\u{1b}",
                "--role",
                "analyst",
                "--db",
                "db.sqlite",
            ])
            .volatile(db),
        case(
            "audit export onto /dev/null",
            "audit export --db db.sqlite -o /dev/null",
            &["/dev/null"],
        )
        .volatile(db),
        case(
            "audit export onto a folder",
            "audit export --db db.sqlite -o outdir",
            &["outdir"],
        )
        .setup(|d| std::fs::create_dir(d.join("outdir")).unwrap())
        .volatile(db),
        case(
            "audit of a database that is a text file",
            "audit verify --db notes.txt",
            &["notes.txt"],
        )
        .setup(|d| put(d, "notes.txt", "not a database\n")),
        case(
            "serve with a missing TLS certificate",
            "serve --db db.sqlite --listen 127.0.0.1:0 --tls-cert no.pem --tls-key no.key",
            &["no.pem"],
        )
        .volatile(db),
        case(
            "serve with a missing data folder",
            "serve --db db.sqlite --listen 127.0.0.1:0 --insecure-http --data-dir nowhere",
            &["nowhere"],
        )
        .volatile(db),
        case(
            "serve with a missing basemap",
            "serve --db db.sqlite --listen 127.0.0.1:0 --insecure-http --basemap none.pmtiles",
            &["none.pmtiles"],
        )
        .volatile(db),
    ]);
    v
}
