"""Writes mag1c 1.2.0's CH4 unit absorption (x1e5) at the drone presets' bands.

The band grids are those of `plumewatch_io::sensor::{DRONE_SWIR, DRONE_INGAAS}`
(first + step * k, one FWHM). mag1c's own `generate_template_from_bands` is run
unchanged: it is taken from the installed package's source with `ast` so that its
module-level torch import is not needed (the function uses numpy, spectral and the
package's bundled ch4.hdr/ch4.lut only).

    pip install mag1c==1.2.0 numpy spectral   # torch not needed
    python data/reference/targets/make_drone_targets.py
"""

import ast
import importlib.util
import os
import sys

import numpy as np
import spectral

spec = importlib.util.find_spec("mag1c")
pkg = os.path.dirname(spec.origin) if spec and spec.origin else None
if pkg is None:
    sys.exit("mag1c is not installed (pip install mag1c==1.2.0)")
src_path = os.path.join(pkg, "mag1c.py")
tree = ast.parse(open(src_path).read())
fn = next(n for n in tree.body if isinstance(n, ast.FunctionDef) and n.name == "generate_template_from_bands")
module = ast.Module(body=[fn], type_ignores=[])
namespace = {"np": np, "spectral": spectral, "os": os, "Union": __import__("typing").Union, "List": list}
# __file__ of the exec'd code must be mag1c.py so that the function finds ch4.hdr beside it.
namespace["__file__"] = src_path
exec(compile(module, src_path, "exec"), namespace)
generate = namespace["generate_template_from_bands"]

CLASSES = {
    "drone-swir": (900.0, 6.0, 267, 9.0),
    "drone-ingaas": (900.0, 800.0 / 223.0, 224, 8.0),
}
here = os.path.dirname(os.path.abspath(__file__))
for name, (first, step, n, fwhm) in CLASSES.items():
    centers = np.array([first + step * k for k in range(n)])
    target = generate(centers, np.full(n, fwhm))
    with open(os.path.join(here, f"{name}.csv"), "w") as f:
        f.write("wavelength_nm,target\n")
        for w, t in target:
            f.write(f"{float(w)!r},{float(t)!r}\n")
    print(name, n, "bands written")
